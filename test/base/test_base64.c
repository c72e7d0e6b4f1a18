/* test_base64.c - RFC 4648 vectors and the strictness rules (padding, alphabet, canonical bits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base64.h"

static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const std_enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const raw_enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static void test_rfc4648_vectors(void **state)
{
        for (size_t i = 0; i < 7; i++) {
                _cleanup_buf_ struct ap_buf e = AP_BUF_INIT, r = AP_BUF_INIT, d = AP_BUF_INIT;
                assert_int_equal(ap_base64_encode(&e, plain[i], strlen(plain[i]), AP_B64_STD), 0);
                assert_string_equal(e.data, std_enc[i]);
                assert_int_equal(ap_base64_encode(&r, plain[i], strlen(plain[i]), AP_B64_STD_RAW), 0);
                assert_string_equal(r.data, raw_enc[i]);
                assert_int_equal(ap_base64_decode(&d, std_enc[i], strlen(std_enc[i]), AP_B64_STD), 0);
                assert_string_equal(d.data, plain[i]);
                ap_buf_reset(&d);
                assert_int_equal(ap_base64_decode(&d, raw_enc[i], strlen(raw_enc[i]), AP_B64_STD_RAW), 0);
                assert_string_equal(d.data, plain[i]);
        }
}

static void test_rejects(void **state)
{
        static const char *const bad_std[] = {"Zg=", "Zg", "Zh==", "Z===", "Zm9v\n", " Zm9v", "Zm=v", "Zg=a"};
        static const char *const bad_raw[] = {"Zg==", "Zh", "Z", "Zm9v=", "Zm-v", "Zm9\r"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad_std); i++) {
                _cleanup_buf_ struct ap_buf d = AP_BUF_INIT;
                assert_int_equal(ap_base64_decode(&d, bad_std[i], strlen(bad_std[i]), AP_B64_STD), -EINVAL);
                assert_int_equal(d.len, 0);
        }
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad_raw); i++) {
                _cleanup_buf_ struct ap_buf d = AP_BUF_INIT;
                assert_int_equal(ap_base64_decode(&d, bad_raw[i], strlen(bad_raw[i]), AP_B64_STD_RAW),
                                 -EINVAL);
        }
}

static void test_url_and_exact(void **state)
{
        unsigned char bytes[3] = {0xfb, 0xff, 0xbf};
        _cleanup_buf_ struct ap_buf e = AP_BUF_INIT;
        assert_int_equal(ap_base64_encode(&e, bytes, 3, AP_B64_URL_RAW), 0);
        assert_string_equal(e.data, "-_-_");
        unsigned char out[3];
        assert_int_equal(ap_base64_decode_exact(out, 3, "-_-_", 4, AP_B64_URL_RAW), 0);
        assert_memory_equal(out, bytes, 3);
        assert_int_equal(ap_base64_decode_exact(out, 2, "-_-_", 4, AP_B64_URL_RAW), -EINVAL);
        assert_int_equal(ap_base64_decode_exact(out, 3, "+/+/", 4, AP_B64_URL_RAW), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc4648_vectors),
            cmocka_unit_test(test_rejects),
            cmocka_unit_test(test_url_and_exact),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
