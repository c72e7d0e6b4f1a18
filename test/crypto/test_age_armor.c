/* test_age_armor.c - the armor encoder's exact layout at line-boundary sizes, and the strict streaming
 * decoder: round trips with any split of the input, and the rejections age makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

#define BEGIN "-----BEGIN AGE ENCRYPTED FILE-----\n"
#define END   "-----END AGE ENCRYPTED FILE-----\n"

static int to_buf(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return ap_buf_add(ctx, p, n);
}

static void encode(const void *p, size_t n, struct ap_buf *out)
{
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_armor *a = ap_age_armor_new(true, &sink);
        assert_non_null(a);
        assert_int_equal(ap_age_armor_update(a, p, n, NULL), 0);
        assert_int_equal(ap_age_armor_final(a, NULL), 0);
        ap_age_armor_free(a);
}

/* Decode text fed in pieces of `step` bytes; returns the result code. */
static int decode(const char *text, size_t n, size_t step, struct ap_buf *out)
{
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_armor *a = ap_age_armor_new(false, &sink);
        struct ap_error err = AP_ERROR_INIT;
        int r = 0;
        for (size_t off = 0; r == 0 && off < n; off += step)
                r = ap_age_armor_update(a, text + off, AP_MIN(step, n - off), &err);
        if (r == 0)
                r = ap_age_armor_final(a, &err);
        ap_age_armor_free(a);
        return r;
}

static void test_layout(void **state)
{
        uint8_t data[200];
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)(i * 7);
        static const size_t sizes[] = {0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 144, 200};
        for (size_t k = 0; k < AP_ARRAY_SIZE(sizes); k++) {
                size_t n = sizes[k];
                _cleanup_buf_ struct ap_buf out = AP_BUF_INIT, want = AP_BUF_INIT, b64 = AP_BUF_INIT;
                encode(data, n, &out);
                assert_int_equal(ap_base64_encode(&b64, data, n, AP_B64_STD), 0);
                ap_buf_addstr(&want, BEGIN);
                for (size_t off = 0; off < b64.len; off += 64) {
                        ap_buf_add(&want, b64.data + off, AP_MIN((size_t)64, b64.len - off));
                        ap_buf_addch(&want, '\n');
                }
                ap_buf_addstr(&want, END);
                assert_string_equal(out.data, want.data);
                for (size_t step = 1; step <= out.len; step = step * 3 + 1) {
                        _cleanup_buf_ struct ap_buf back = AP_BUF_INIT;
                        assert_int_equal(decode(out.data, out.len, step, &back), 0);
                        assert_int_equal(back.len, n);
                        assert_memory_equal(back.data, data, n);
                }
        }
}

static void test_accepts(void **state)
{
        static const char *const good[] = {
            BEGIN "Zm9v\n" END,
            "\n \t\r\n" BEGIN "Zm9v\n" END, /* whitespace lines before */
            BEGIN "Zm9v\n" END "\n  \n",    /* whitespace after */
            "-----BEGIN AGE ENCRYPTED FILE-----\r\nZm9v\r\n-----END AGE ENCRYPTED FILE-----\r\n",
            BEGIN "Zm9v\n-----END AGE ENCRYPTED FILE-----", /* no final newline */
            BEGIN END,                                      /* empty payload is valid armor */
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(good); i++) {
                _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
                assert_int_equal(decode(good[i], strlen(good[i]), 1, &out), 0);
        }
}

static void test_rejects(void **state)
{
        static const char *const bad[] = {
            "",
            "garbage\n" BEGIN "Zm9v\n" END,
            "-----begin age encrypted file-----\nZm9v\n-----end age encrypted file-----\n",
            "-----BEGIN AGE ENCRYPTED FILE----- \nZm9v\n" END,
            "-----BEGIN PGP MESSAGE-----\nZm9v\n-----END PGP MESSAGE-----\n",
            BEGIN "\nZm9v\n" END,             /* empty line */
            BEGIN "Zm9v\n\n" END,             /* empty line before END */
            BEGIN "Zm9v \n" END,              /* trailing space */
            BEGIN " Zm9v\n" END,              /* leading space */
            BEGIN "Zm9v",                     /* no END */
            BEGIN "Zm9v\n",                   /* no END */
            BEGIN "Zm8\n" END,                /* no padding */
            BEGIN "Zm9=\n" END,               /* not canonical */
            BEGIN "Zg==\nZm9v\n" END,         /* short line not last */
            BEGIN "Zm9v\n=ABC\n" END,         /* PGP checksum line */
            BEGIN "Version: 1\n\nZm9v\n" END, /* PEM headers */
            BEGIN "Zm9v\n" END "x\n",         /* trailing garbage */
            BEGIN "Zm9v\n" END BEGIN "Zm9v\n" END,
            BEGIN "Zm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9v\n" END, /* 68 cols */
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++) {
                for (size_t step = 1; step < 200; step += 198) {
                        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
                        int r = decode(bad[i], strlen(bad[i]), step, &out);
                        if (r != AP_E_CORRUPT)
                                fail_msg("case %zu accepted (r=%d): %s", i, r, bad[i]);
                }
        }
}

static void test_whitespace_limits(void **state)
{
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT, out = AP_BUF_INIT;
        ap_buf_addstr(&text, BEGIN "Zm9v\n" END);
        for (int i = 0; i < 1023; i++)
                ap_buf_addch(&text, ' ');
        assert_int_equal(decode(text.data, text.len, 4096, &out), 0);
        ap_buf_addch(&text, ' ');
        assert_int_equal(decode(text.data, text.len, 4096, &out), AP_E_CORRUPT);
        ap_buf_reset(&text);
        for (int i = 0; i < 1100; i++)
                ap_buf_addstr(&text, "\n");
        ap_buf_addstr(&text, BEGIN "Zm9v\n" END);
        assert_int_equal(decode(text.data, text.len, 100, &out), AP_E_CORRUPT);
}

static void test_detect(void **state)
{
        bool decided = false;
        assert_true(ap_age_armor_detect(BEGIN, strlen(BEGIN), false, &decided));
        assert_true(decided);
        assert_false(ap_age_armor_detect("age-encryption.org/v1\n", 22, false, &decided));
        assert_true(decided);
        assert_false(ap_age_armor_detect("  \n-----BEG", 11, false, &decided));
        assert_false(decided);
        assert_true(ap_age_armor_detect("  \n" BEGIN, 3 + strlen(BEGIN), false, &decided));
        assert_true(decided);
        assert_false(ap_age_armor_detect("-----BEG", 8, true, &decided));
        assert_true(decided);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_layout),  cmocka_unit_test(test_accepts),
            cmocka_unit_test(test_rejects), cmocka_unit_test(test_whitespace_limits),
            cmocka_unit_test(test_detect),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
