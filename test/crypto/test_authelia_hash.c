/* test_authelia_hash.c - Authelia's '$pbkdf2-sha512$' digests (src/crypto/authelia_hash.c): the known
 * answer from Authelia's OIDC client documentation (clients.md: 'insecure_secret'), recomputation with
 * OpenSSL directly, the adapted base64, refused encodings, random salts and client secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/authelia_hash.h"

/* From docs/content/configuration/identity-providers/openid-connect/clients.md (v4.39.20). */
static const char known[] =
    "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiH"
    "rD0YKtZaR/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng";

static void test_known_answer(void **state)
{
        bool match = false;
        assert_int_equal(ap_pbkdf2_sha512_verify(known, strlen(known), "insecure_secret", 15, &match), 0);
        assert_true(match);
        assert_int_equal(ap_pbkdf2_sha512_verify(known, strlen(known), "insecure_secreT", 15, &match), 0);
        assert_false(match);
        /* the same salt and iterations give the same bytes */
        struct ap_pbkdf2_digest d;
        assert_int_equal(ap_pbkdf2_sha512_parse(known, strlen(known), &d), 0);
        assert_int_equal(d.iterations, 310000);
        assert_int_equal(d.salt_len, 16);
        assert_int_equal(d.key_len, 64);
        struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(ap_pbkdf2_sha512_digest("insecure_secret", 15, 310000, d.salt, d.salt_len, &out), 0);
        assert_string_equal(out.data, known);
        ap_buf_release(&out);
}

/* The key recomputed with OpenSSL's PKCS5_PBKDF2_HMAC and encoded by hand ('+' -> '.', no padding). */
static void test_recompute_with_openssl(void **state)
{
        const char secret[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789ab";
        struct ap_buf dig = AP_BUF_INIT;
        assert_int_equal(ap_pbkdf2_sha512_hash(secret, strlen(secret), 1000, &dig), 0);
        struct ap_pbkdf2_digest d;
        assert_int_equal(ap_pbkdf2_sha512_parse(dig.data, dig.len, &d), 0);
        assert_int_equal(d.iterations, 1000);
        assert_int_equal(d.salt_len, AP_PBKDF2_SALT_LEN);
        uint8_t key[64];
        assert_int_equal(PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), d.salt, (int)d.salt_len, 1000,
                                           EVP_sha512(), 64, key),
                         1);
        assert_memory_equal(key, d.key, 64);
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_base64_encode(&b, key, 64, AP_B64_STD_RAW), 0);
        for (size_t i = 0; i < b.len; i++)
                if (b.data[i] == '+')
                        b.data[i] = '.';
        assert_int_equal(b.len, 86);
        assert_string_equal(strrchr(dig.data, '$') + 1, b.data);
        /* layout: prefix, iterations, 22-character salt, 86-character key */
        assert_int_equal(strncmp(dig.data, "$pbkdf2-sha512$1000$", 20), 0);
        assert_int_equal(dig.len, 20 + 22 + 1 + 86);
        ap_buf_release(&b);
        ap_buf_release(&dig);
}

static void test_random_salts(void **state)
{
        struct ap_buf a = AP_BUF_INIT, b = AP_BUF_INIT;
        assert_int_equal(ap_pbkdf2_sha512_hash("x", 1, 1000, &a), 0);
        assert_int_equal(ap_pbkdf2_sha512_hash("x", 1, 1000, &b), 0);
        assert_string_not_equal(a.data, b.data);
        bool m1 = false, m2 = false;
        assert_int_equal(ap_pbkdf2_sha512_verify(a.data, a.len, "x", 1, &m1), 0);
        assert_int_equal(ap_pbkdf2_sha512_verify(b.data, b.len, "x", 1, &m2), 0);
        assert_true(m1 && m2);
        ap_buf_release(&a);
        ap_buf_release(&b);
}

static void test_adapted_base64(void **state)
{
        const uint8_t in[] = {0xfb, 0xff, 0xbf}; /* standard base64 "+/+/" */
        struct ap_buf b = AP_BUF_INIT, back = AP_BUF_INIT;
        assert_int_equal(ap_crypt_base64_encode(&b, in, 3), 0);
        assert_string_equal(b.data, "././");
        assert_int_equal(ap_crypt_base64_decode(&back, b.data, b.len), 0);
        assert_int_equal(back.len, 3);
        assert_memory_equal(back.data, in, 3);
        ap_buf_release(&back);
        assert_int_equal(ap_crypt_base64_decode(&back, "+/+/", 4), -EINVAL); /* '+' is not adapted */
        assert_int_equal(ap_crypt_base64_decode(&back, "AA==", 4), -EINVAL); /* no padding */
        assert_int_equal(ap_crypt_base64_decode(&back, "AB", 2), -EINVAL);   /* trailing bits */
        ap_buf_release(&b);
        ap_buf_release(&back);
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
            "",
            "$pbkdf2-sha256$310000$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$0$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$0310000$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$99999999999$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q",
            "$pbkdf2-sha512$310000$$JNRB",
            "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$",
            "$pbkdf2-sha512$310000$c8p78n7p+Mln0jzvd4aK4Q$JNRB",
            "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRB$x",
            "$pbkdf2-sha512$31x000$c8p78n7pUMln0jzvd4aK4Q$JNRB",
            "insecure_secret",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct ap_pbkdf2_digest d;
                bool m = true;
                if (ap_pbkdf2_sha512_parse(bad[i], strlen(bad[i]), &d) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
                assert_int_equal(ap_pbkdf2_sha512_verify(bad[i], strlen(bad[i]), "x", 1, &m), -EINVAL);
        }
        struct ap_buf out = AP_BUF_INIT;
        uint8_t salt[65] = {0};
        assert_int_equal(ap_pbkdf2_sha512_digest("x", 1, 0, salt, 16, &out), -EINVAL);
        assert_int_equal(ap_pbkdf2_sha512_digest("x", 1, 1, salt, 0, &out), -EINVAL);
        assert_int_equal(ap_pbkdf2_sha512_digest("x", 1, 1, salt, 65, &out), -EINVAL);
        assert_int_equal(out.len, 0);
}

static void test_random_secret(void **state)
{
        char a[73], b[73];
        assert_int_equal(ap_random_urlsafe(a, 72), 0);
        assert_int_equal(ap_random_urlsafe(b, 72), 0);
        assert_int_equal(strlen(a), 72);
        assert_string_not_equal(a, b);
        assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 72);
        char c[66];
        assert_int_equal(ap_random_urlsafe(c, 65), 0);
        assert_int_equal(strlen(c), 65);
        char big[300];
        assert_int_equal(ap_random_urlsafe(big, 299), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_known_answer), cmocka_unit_test(test_recompute_with_openssl),
            cmocka_unit_test(test_random_salts), cmocka_unit_test(test_adapted_base64),
            cmocka_unit_test(test_refused),      cmocka_unit_test(test_random_secret),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
