/* test_buf.c - struct ap_buf: growth, cap, printf, detach, secret handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/buf.h"

static void test_empty_is_never_null(void **state)
{
        struct ap_buf b = AP_BUF_INIT;
        assert_non_null(b.data);
        assert_string_equal(b.data, "");
        ap_buf_release(&b);
        assert_non_null(b.data);
}

static void test_add_and_printf(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_buf_addstr(&b, "hello"), 0);
        assert_int_equal(ap_buf_printf(&b, " %d %s", 42, "x"), 0);
        assert_string_equal(b.data, "hello 42 x");
        assert_int_equal(b.len, 10);
        ap_buf_truncate(&b, 5);
        assert_string_equal(b.data, "hello");
}

static void test_cap_is_enforced(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        ap_buf_init(&b, 8);
        assert_int_equal(ap_buf_addstr(&b, "12345678"), 0);
        assert_int_equal(ap_buf_addch(&b, '9'), -E2BIG);
        assert_string_equal(b.data, "12345678");
        assert_int_equal(ap_buf_printf(&b, "%s", "more"), -E2BIG);
}

static void test_grow_many(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET;
        for (int i = 0; i < 10000; i++)
                assert_int_equal(ap_buf_addch(&b, (char)('a' + i % 26)), 0);
        assert_int_equal(b.len, 10000);
        assert_int_equal(b.data[26], 'a');
        ap_buf_reset(&b);
        assert_int_equal(b.len, 0);
        assert_string_equal(b.data, "");
}

static void test_detach(void **state)
{
        struct ap_buf b = AP_BUF_INIT;
        size_t n;
        char *s = ap_buf_detach(&b, &n);
        assert_string_equal(s, "");
        free(s);
        ap_buf_addstr(&b, "abc");
        s = ap_buf_detach(&b, &n);
        assert_int_equal(n, 3);
        assert_string_equal(s, "abc");
        assert_int_equal(b.len, 0);
        free(s);
}

static int frees;
static void *counted_free(void *p)
{
        frees++;
        free(p);
        return NULL;
}
AP_DEFINE_CLEANUP(void *, counted_free)

/* The cleanup functions leave NULL behind, so running one twice frees once. */
static void test_cleanup_resets_the_pointer(void **state)
{
        char *p = malloc(8);
        assert_non_null(p);
        ap_freep(&p);
        assert_null(p);
        ap_freep(&p); /* a second cleanup is harmless */
        void *q = malloc(8);
        counted_freep(&q);
        assert_null(q);
        counted_freep(&q);
        assert_int_equal(frees, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_empty_is_never_null),
            cmocka_unit_test(test_add_and_printf),
            cmocka_unit_test(test_cap_is_enforced),
            cmocka_unit_test(test_grow_many),
            cmocka_unit_test(test_detach),
            cmocka_unit_test(test_cleanup_resets_the_pointer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
