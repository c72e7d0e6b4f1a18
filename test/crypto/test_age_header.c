/* test_age_header.c - the header serialiser's exact layout (bodies at 48-byte boundaries end with a
 * short, possibly empty, line) and the strict incremental parser: round trips fed in any split, the MAC
 * input boundary, and the malformed headers age refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/age_internal.h"

#define MAC_LINE "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"

/* Parse text fed in pieces of step bytes. Returns 1 when complete, 0 when it needs more, or an error. */
static int parse(const char *text, size_t n, size_t step, struct ap_age_header_parser *p, size_t *ret_used)
{
        struct ap_error err = AP_ERROR_INIT;
        size_t total = 0;
        for (size_t off = 0; off < n; off += step) {
                size_t used = 0;
                int r = ap_age_header_parser_feed(p, text + off, AP_MIN(step, n - off), &used, &err);
                total += used;
                if (r != 0) {
                        *ret_used = total;
                        return r;
                }
        }
        *ret_used = total;
        return ap_age_header_parser_eof(p, &err);
}

static void test_round_trip(void **state)
{
        static const size_t body_sizes[] = {0, 1, 32, 47, 48, 49, 95, 96, 97, 200};
        uint8_t body[200];
        for (size_t i = 0; i < sizeof(body); i++)
                body[i] = (uint8_t)(i * 13 + 5);
        for (size_t k = 0; k < AP_ARRAY_SIZE(body_sizes); k++) {
                struct ap_age_header h = {0};
                const char *args[] = {"test-type", "arg1", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"};
                assert_int_equal(ap_age_header_add(&h, args, 3, body, body_sizes[k]), 0);
                const char *args2[] = {"X25519", "x"};
                assert_int_equal(ap_age_header_add(&h, args2, 2, body, 32), 0);
                _cleanup_buf_ struct ap_buf text = AP_BUF_INIT;
                assert_int_equal(ap_age_header_write_without_mac(&h, &text), 0);
                size_t mac_input = text.len;
                ap_buf_addstr(&text, MAC_LINE + 3);
                ap_buf_addstr(&text, "payload");
                /* the body ends with a short line: empty exactly when its size is a multiple of 48 */
                if (body_sizes[k] % 48 == 0)
                        assert_non_null(strstr(text.data, "\n\n-> X25519"));
                for (size_t step = 1; step <= text.len; step = step * 2 + 1) {
                        struct ap_age_header_parser p;
                        ap_age_header_parser_init(&p);
                        size_t used = 0;
                        assert_int_equal(parse(text.data, text.len, step, &p, &used), 1);
                        assert_int_equal(used, text.len - strlen("payload"));
                        assert_int_equal(p.mac_input_len, mac_input);
                        assert_int_equal(p.hdr.n, 2);
                        assert_int_equal(p.hdr.stanzas[0].n_args, 3);
                        assert_string_equal(p.hdr.stanzas[0].args[2], args[2]);
                        assert_int_equal(p.hdr.stanzas[0].body_len, body_sizes[k]);
                        assert_memory_equal(p.hdr.stanzas[0].body, body, body_sizes[k]);
                        ap_age_header_parser_release(&p);
                }
                ap_age_header_release(&h);
        }
}

static void test_rejects(void **state)
{
        static const char *const bad[] = {
            "",
            "age-encryption.org/v1",
            "age-encryption.org/v2\n-> X 1\n\n" MAC_LINE,
            "age-encryption.org/v1\r\n-> X 1\n\n" MAC_LINE,
            "age-encryption.org/v1\n-> X 1\r\n\n" MAC_LINE,
            "age-encryption.org/v1\n-> X 1\n\r\n" MAC_LINE,
            "age-encryption.org/v1\n->\n\n" MAC_LINE,            /* no arguments */
            "age-encryption.org/v1\n-> \n\n" MAC_LINE,           /* empty argument */
            "age-encryption.org/v1\n-> X  1\n\n" MAC_LINE,       /* doubled space */
            "age-encryption.org/v1\n-> X 1 \n\n" MAC_LINE,       /* trailing space */
            "age-encryption.org/v1\n->X 1\n\n" MAC_LINE,         /* no space after the arrow */
            "age-encryption.org/v1\n-> X \xc3\xa9\n\n" MAC_LINE, /* non-ASCII */
            "age-encryption.org/v1\n-- X 1\n\n" MAC_LINE,        /* bad start */
            "age-encryption.org/v1\n-> X 1\n" MAC_LINE,          /* missing body line */
            "age-encryption.org/v1\n-> X 1\nAA==\n" MAC_LINE,    /* padding */
            "age-encryption.org/v1\n-> X 1\nAB\n" MAC_LINE,      /* not canonical */
            "age-encryption.org/v1\n-> X 1\n"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\n" MAC_LINE, /* 68 */
            "age-encryption.org/v1\n-> X 1\n"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" MAC_LINE, /* no final line */
            "age-encryption.org/v1\n-> X 1\nAA\nAA\n" MAC_LINE, /* two short lines */
            "age-encryption.org/v1\n-> X 1\n\n---  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
            "age-encryption.org/v1\n-> X 1\n\n---AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
            "age-encryption.org/v1\n-> X 1\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \n",
            "age-encryption.org/v1\n-> X 1\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\n",
            "age-encryption.org/v1\n-> X 1\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
            "age-encryption.org/v1\n-> X 1\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "age-encryption.org/v1\n-> X 1\n\n",
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++) {
                for (size_t step = 1; step <= 1000; step += 999) {
                        struct ap_age_header_parser p;
                        ap_age_header_parser_init(&p);
                        size_t used = 0;
                        int r = parse(bad[i], strlen(bad[i]), step, &p, &used);
                        if (r != AP_E_CORRUPT)
                                fail_msg("case %zu (step %zu) gave %d", i, step, r);
                        ap_age_header_parser_release(&p);
                }
        }
}

static void test_unknown_and_empty(void **state)
{
        /* unknown stanza types, an empty header and VCHAR-only arguments parse fine */
        static const char ok[] = "age-encryption.org/v1\n-> grease\n\n-> x25519 Zm9v\nZm9v\n" MAC_LINE;
        static const char none[] = "age-encryption.org/v1\n" MAC_LINE;
        struct ap_age_header_parser p;
        size_t used = 0;
        ap_age_header_parser_init(&p);
        assert_int_equal(parse(ok, strlen(ok), 5, &p, &used), 1);
        assert_int_equal(p.hdr.n, 2);
        ap_age_header_parser_release(&p);
        ap_age_header_parser_init(&p);
        assert_int_equal(parse(none, strlen(none), 5, &p, &used), 1);
        assert_int_equal(p.hdr.n, 0);
        ap_age_header_parser_release(&p);
}

static void test_size_cap(void **state)
{
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT;
        ap_buf_addstr(&text, "age-encryption.org/v1\n-> big\n");
        while (text.len <= AP_AGE_HEADER_MAX)
                ap_buf_addstr(&text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
        struct ap_age_header_parser p;
        size_t used = 0;
        ap_age_header_parser_init(&p);
        assert_int_equal(parse(text.data, text.len, 65536, &p, &used), AP_E_TOO_LARGE);
        ap_age_header_parser_release(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_rejects),
            cmocka_unit_test(test_unknown_and_empty),
            cmocka_unit_test(test_size_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
