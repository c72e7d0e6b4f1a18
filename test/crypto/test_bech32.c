/* test_bech32.c - Bech32 (BIP 173 vectors, age's relaxed length and strict padding) and age key
 * encoding: the two known-answer keys from the notes, case rules, post-quantum keys refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/age.h"
#include "crypto/age_internal.h"
#include "crypto/bech32.h"

static void test_bip173_valid(void **state)
{
        static const char *const valid[] = {
            "A12UEL5L",
            "a12uel5l",
            "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(valid); i++) {
                _cleanup_buf_ struct ap_buf hrp = AP_BUF_INIT, data = AP_BUF_INIT;
                const char *why = NULL;
                /* data parts of these vectors are not all whole bytes; only the checksum matters here, so
                 * accept the padding errors but never a checksum error */
                int r = ap_bech32_decode(valid[i], strlen(valid[i]), &hrp, &data, &why);
                if (r < 0)
                        assert_true(strstr(why, "padding") != NULL);
        }
}

static void test_bip173_invalid(void **state)
{
        static const char *const invalid[] = {
            "\x20"
            "1nwldj5",
            "\x7f"
            "1axkwrx",
            "pzry9x0s0muk",                                  /* no separator */
            "1pzry9x0s0muk",                                 /* empty hrp */
            "x1b4n0q5v",                                     /* invalid data character */
            "li1dgmt3",                                      /* checksum too short */
            "de1lg7wt\xff",                                  /* invalid character in checksum */
            "A1G7SGD8",                                      /* checksum computed with an upper-case hrp */
            "10a06t8",                                       /* empty hrp */
            "1qzzfhee",                                      /* empty hrp */
            "a12UEL5L",                                      /* mixed case */
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx", /* bad checksum */
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(invalid); i++) {
                _cleanup_buf_ struct ap_buf hrp = AP_BUF_INIT, data = AP_BUF_INIT;
                assert_int_equal(ap_bech32_decode(invalid[i], strlen(invalid[i]), &hrp, &data, NULL),
                                 -EINVAL);
                assert_int_equal(hrp.len, 0);
                assert_int_equal(data.len, 0);
        }
}

/* A Bech32 string with hrp "a" from raw 5-bit groups (test-only encoder, to reach padding cases the
 * byte-oriented encoder never produces). */
static uint32_t polymod(const uint8_t *v, size_t n)
{
        static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
        uint32_t chk = 1;
        for (size_t i = 0; i < n; i++) {
                uint32_t top = chk >> 25;
                chk = (chk & 0x1ffffff) << 5 ^ v[i];
                for (int j = 0; j < 5; j++)
                        if (top >> j & 1)
                                chk ^= gen[j];
        }
        return chk;
}

static void from_groups(struct ap_buf *out, const uint8_t *groups, size_t n)
{
        static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        uint8_t v[64] = {'a' >> 5, 0, 'a' & 31};
        size_t k = 3;
        for (size_t i = 0; i < n; i++)
                v[k++] = groups[i];
        for (int i = 0; i < 6; i++)
                v[k++] = 0;
        uint32_t chk = polymod(v, k) ^ 1;
        ap_buf_addstr(out, "a1");
        for (size_t i = 0; i < n; i++)
                ap_buf_addch(out, charset[groups[i]]);
        for (int i = 0; i < 6; i++)
                ap_buf_addch(out, charset[chk >> (5 * (5 - i)) & 31]);
}

static void test_round_trip_and_padding(void **state)
{
        uint8_t bytes[200];
        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t)(i * 37 + 11);
        for (size_t n = 0; n <= sizeof(bytes); n += 7) {
                _cleanup_buf_ struct ap_buf s = AP_BUF_INIT, hrp = AP_BUF_INIT, data = AP_BUF_INIT;
                assert_int_equal(ap_bech32_encode(&s, "test", bytes, n, n % 2), 0);
                assert_int_equal(ap_bech32_decode(s.data, s.len, &hrp, &data, NULL), 0);
                assert_string_equal(hrp.data, n % 2 ? "TEST" : "test");
                assert_int_equal(data.len, n);
                assert_memory_equal(data.data, bytes, n);
        }
        /* hand-built strings: padding of 5+ bits, and non-zero padding bits, are refused */
        static const uint8_t zero_pad_ok[] = {0, 0}; /* 10 bits: 1 byte + 2 zero bits */
        static const uint8_t nonzero_pad[] = {0, 1}; /* 1 byte + padding bits "01" */
        static const uint8_t long_pad[] = {0, 0, 0}; /* 15 bits: 1 byte + 7 bits */
        _cleanup_buf_ struct ap_buf a = AP_BUF_INIT, b = AP_BUF_INIT, c = AP_BUF_INIT;
        from_groups(&a, zero_pad_ok, 2);
        from_groups(&b, nonzero_pad, 2);
        from_groups(&c, long_pad, 3);
        _cleanup_buf_ struct ap_buf hrp = AP_BUF_INIT, data = AP_BUF_INIT;
        const char *why = NULL;
        assert_int_equal(ap_bech32_decode(a.data, a.len, &hrp, &data, &why), 0);
        assert_int_equal(data.len, 1);
        assert_int_equal(ap_bech32_decode(b.data, b.len, &hrp, &data, &why), -EINVAL);
        assert_string_equal(why, "non-zero padding");
        assert_int_equal(ap_bech32_decode(c.data, c.len, &hrp, &data, &why), -EINVAL);
        assert_string_equal(why, "illegal zero padding");
}

#define KEY42_SECRET "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
#define KEY42_PUBLIC "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
#define CCTV_SECRET  "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
#define CCTV_PUBLIC  "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"

static void check_key(const char *secret, const char *public, const uint8_t scalar[32])
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identity *id = NULL;
        assert_int_equal(ap_age_identity_parse(secret, strlen(secret), &id, &err), 0);
        assert_memory_equal(id->secret, scalar, 32);
        _cleanup_buf_ struct ap_buf s = AP_BUF_INIT_SECRET, p = AP_BUF_INIT, rp = AP_BUF_INIT;
        assert_int_equal(ap_age_identity_format(id, &s), 0);
        assert_string_equal(s.data, secret);
        assert_int_equal(ap_age_identity_recipient_format(id, &p), 0);
        assert_string_equal(p.data, public);
        struct ap_age_recipient *r = NULL;
        assert_int_equal(ap_age_recipient_parse(public, strlen(public), &r, &err), 0);
        assert_int_equal(ap_age_recipient_format(r, &rp), 0);
        assert_string_equal(rp.data, public);
        ap_age_recipient_free(r);
        ap_age_identity_free(id);
}

static void test_known_keys(void **state)
{
        uint8_t s42[32], cctv[32];
        memset(s42, 0x42, 32);
        static const char hex[] = "ca1626252c53cf1a4dc46695e7fcc46594cb4ccadedb6712dfda0753f3ae355e";
        for (int i = 0; i < 32; i++) {
                char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
                cctv[i] = (uint8_t)strtoul(b, NULL, 16);
        }
        check_key(KEY42_SECRET, KEY42_PUBLIC, s42);
        check_key(CCTV_SECRET, CCTV_PUBLIC, cctv);
}

static void test_key_rules(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identity *id = NULL;
        struct ap_age_recipient *r = NULL;
        char lower[] = KEY42_SECRET, upper[] = KEY42_PUBLIC, bad[] = KEY42_SECRET;
        for (char *c = lower; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        for (char *c = upper; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        bad[20] = bad[20] == 'Q' ? 'P' : 'Q';
        assert_int_equal(ap_age_identity_parse(lower, strlen(lower), &id, &err), -EINVAL);
        assert_int_equal(ap_age_identity_parse(bad, strlen(bad), &id, &err), -EINVAL);
        assert_int_equal(ap_age_identity_parse(" " KEY42_SECRET, strlen(KEY42_SECRET) + 1, &id, &err),
                         -EINVAL);
        assert_int_equal(ap_age_identity_parse(KEY42_SECRET " ", strlen(KEY42_SECRET) + 1, &id, &err),
                         -EINVAL);
        assert_int_equal(ap_age_recipient_parse(upper, strlen(upper), &r, &err), -EINVAL);
        assert_int_equal(ap_age_recipient_parse(KEY42_SECRET, strlen(KEY42_SECRET), &r, &err), -EINVAL);
        assert_null(id);
        assert_null(r);
}

static void test_post_quantum_refused(void **state)
{
        /* the hybrid identity of the CCTV vectors, then synthetic ones */
        static const char pq[] =
            "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG";
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identity *id = NULL;
        _cleanup_buf_ struct ap_buf s = AP_BUF_INIT;
        int r = ap_age_identity_parse(pq, strlen(pq), &id, &err);
        assert_int_equal(r, AP_E_UNSUPPORTED);
        uint8_t seed[32] = {1};
        assert_int_equal(ap_bech32_encode(&s, "AGE-SECRET-KEY-PQ-", seed, 32, true), 0);
        assert_int_equal(ap_age_identity_parse(s.data, s.len, &id, &err), AP_E_UNSUPPORTED);
        assert_non_null(strstr(ap_error_message(&err), "post-quantum identities are not supported"));
        ap_buf_reset(&s);
        assert_int_equal(ap_bech32_encode(&s, "age1pq", seed, 32, false), 0);
        struct ap_age_recipient *rc = NULL;
        assert_int_equal(ap_age_recipient_parse(s.data, s.len, &rc, &err), AP_E_UNSUPPORTED);
        assert_null(id);
        assert_null(rc);
}

static void test_key_files(void **state)
{
        static const char text[] = "# created: 2021-01-02T15:30:45+01:00\r\n"
                                   "# public key: " KEY42_PUBLIC "\r\n"
                                   "\r\n" KEY42_SECRET "\r\n" CCTV_SECRET;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        assert_int_equal(ap_age_identities_parse(&ids, text, strlen(text), "keys.txt", &err), 0);
        assert_int_equal(ids.n, 2);
        ap_age_identities_release(&ids);
        static const char bad[] = "# comment\n  " KEY42_SECRET "\n";
        assert_int_equal(ap_age_identities_parse(&ids, bad, strlen(bad), "keys.txt", &err), -EINVAL);
        assert_non_null(strstr(ap_error_message(&err), "key file 'keys.txt', line 2"));
        ap_age_identities_release(&ids);

        struct ap_age_recipients rs = AP_AGE_RECIPIENTS_INIT;
        static const char rtext[] = "# team\n" KEY42_PUBLIC "\n\n" CCTV_PUBLIC "\n";
        assert_int_equal(ap_age_recipients_parse(&rs, rtext, strlen(rtext), "r.txt", &err), 0);
        assert_int_equal(rs.n, 2);
        ap_age_recipients_release(&rs);

        /* the age-keygen layout */
        struct ap_age_identity *id = NULL;
        assert_int_equal(ap_age_identity_parse(KEY42_SECRET, strlen(KEY42_SECRET), &id, &err), 0);
        _cleanup_buf_ struct ap_buf kf = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_age_keyfile_format(id, 1609597845, &kf), 0);
        assert_true(strncmp(kf.data, "# created: 2021-01-02T", 22) == 0);
        assert_non_null(strstr(kf.data, "\n# public key: " KEY42_PUBLIC "\n" KEY42_SECRET "\n"));
        ap_age_identity_free(id);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bip173_valid),
            cmocka_unit_test(test_bip173_invalid),
            cmocka_unit_test(test_round_trip_and_padding),
            cmocka_unit_test(test_known_keys),
            cmocka_unit_test(test_key_rules),
            cmocka_unit_test(test_post_quantum_refused),
            cmocka_unit_test(test_key_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
