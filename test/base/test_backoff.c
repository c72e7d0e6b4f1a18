/* test_backoff.c - the retry backoff's range and the token bucket's waits, reservations and refill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/backoff.h"

#define S ((int64_t)1000000000)

static void test_backoff_doubles_caps_and_jitters(void **state)
{
        for (int i = 0; i < 50; i++) {
                int64_t d0 = ap_backoff_ms(0, 100, 1000), d3 = ap_backoff_ms(3, 100, 1000),
                        d9 = ap_backoff_ms(9, 100, 1000);
                assert_in_range(d0, 50, 100);
                assert_in_range(d3, 400, 800);
                assert_in_range(d9, 500, 1000);
        }
}

static void test_bucket_burst_then_rate(void **state)
{
        struct ap_token_bucket b;
        ap_token_bucket_init(&b, 10, 3, 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 0);
                ap_token_bucket_take(&b);
        }
        /* empty: the next token comes in 1/qps */
        assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 100);
        ap_token_bucket_take(&b); /* reserved: the one after waits behind it */
        assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 200);
        /* 150 ms later: the reservation is paid, half a token more */
        assert_int_equal(ap_token_bucket_wait_ms(&b, S * 15 / 100), 50);
        /* refill never passes burst */
        assert_int_equal(ap_token_bucket_wait_ms(&b, 60 * S), 0);
        assert_true(b.tokens <= 3.0);
}

static void test_bucket_unlimited_and_default_burst(void **state)
{
        struct ap_token_bucket b;
        ap_token_bucket_init(&b, 0, 0, 0);
        for (int i = 0; i < 1000; i++) {
                assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 0);
                ap_token_bucket_take(&b);
        }
        ap_token_bucket_init(&b, 0.5, 0, 0); /* burst: max(1, qps) */
        assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 0);
        ap_token_bucket_take(&b);
        assert_int_equal(ap_token_bucket_wait_ms(&b, 0), 2000);
        ap_token_bucket_init(&b, 50, 0, 0); /* burst: qps */
        assert_true(b.burst == 50.0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_backoff_doubles_caps_and_jitters),
            cmocka_unit_test(test_bucket_burst_then_rate),
            cmocka_unit_test(test_bucket_unlimited_and_default_burst),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
