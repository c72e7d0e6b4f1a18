/* authelia_hash.c - PBKDF2-SHA512 digests in Authelia's crypt encoding and random client secrets (see
 * authelia_hash.h). The adapted base64 is the standard alphabet with one character swapped, so it maps
 * onto src/base's strict unpadded base64. */
#include "crypto/authelia_hash.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

#include "base/base64.h"

int ap_crypt_base64_encode(struct ap_buf *out, const void *in, size_t n)
{
        size_t from = out->len;
        int r = ap_base64_encode(out, in, n, AP_B64_STD_RAW);
        if (r < 0)
                return r;
        for (size_t i = from; i < out->len; i++)
                if (out->data[i] == '+')
                        out->data[i] = '.';
        return 0;
}

int ap_crypt_base64_decode(struct ap_buf *out, const char *in, size_t n)
{
        char tmp[256];
        if (n > sizeof(tmp))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (in[i] == '+')
                        return -EINVAL; /* not in the adapted alphabet */
                tmp[i] = in[i] == '.' ? '+' : in[i];
        }
        int r = ap_base64_decode(out, tmp, n, AP_B64_STD_RAW);
        OPENSSL_cleanse(tmp, n);
        return r;
}

int ap_pbkdf2_sha512_digest(const void *secret, size_t n, unsigned iterations, const uint8_t *salt,
                            size_t salt_len, struct ap_buf *out)
{
        if (iterations == 0 || iterations > INT_MAX || salt_len == 0 || salt_len > AP_PBKDF2_SALT_MAX ||
            n > INT_MAX)
                return -EINVAL;
        uint8_t key[AP_PBKDF2_KEY_LEN];
        if (PKCS5_PBKDF2_HMAC(n ? secret : "", (int)n, salt, (int)salt_len, (int)iterations, EVP_sha512(),
                              (int)sizeof(key), key) != 1)
                return -EIO;
        size_t from = out->len;
        int r = ap_buf_printf(out, AP_PBKDF2_SHA512_PREFIX "%u$", iterations);
        if (r == 0)
                r = ap_crypt_base64_encode(out, salt, salt_len);
        if (r == 0)
                r = ap_buf_addch(out, '$');
        if (r == 0)
                r = ap_crypt_base64_encode(out, key, sizeof(key));
        OPENSSL_cleanse(key, sizeof(key));
        if (r < 0)
                ap_buf_truncate(out, from);
        return r;
}

int ap_pbkdf2_sha512_hash(const void *secret, size_t n, unsigned iterations, struct ap_buf *out)
{
        uint8_t salt[AP_PBKDF2_SALT_LEN];
        ssize_t got = getrandom(salt, sizeof(salt), 0);
        if (got != (ssize_t)sizeof(salt))
                return -EIO;
        return ap_pbkdf2_sha512_digest(secret, n, iterations, salt, sizeof(salt), out);
}

/* Decode one '$'-terminated field into dst (1..max bytes). */
static int field(const char **p, const char *end, bool last, uint8_t *dst, size_t max, size_t *ret_len)
{
        const char *f = *p;
        const char *e = last ? end : memchr(f, '$', (size_t)(end - f));
        if (!e || e == f)
                return -EINVAL;
        struct ap_buf b = AP_BUF_INIT;
        ap_buf_init(&b, max);
        int r = ap_crypt_base64_decode(&b, f, (size_t)(e - f));
        if (r == 0 && (b.len == 0 || b.len > max))
                r = -EINVAL;
        if (r == 0) {
                memcpy(dst, b.data, b.len);
                *ret_len = b.len;
                *p = last ? e : e + 1;
        }
        ap_buf_release(&b);
        return r < 0 ? -EINVAL : 0;
}

int ap_pbkdf2_sha512_parse(const char *digest, size_t n, struct ap_pbkdf2_digest *ret)
{
        const size_t plen = strlen(AP_PBKDF2_SHA512_PREFIX);
        if (n <= plen || n > AP_PBKDF2_DIGEST_MAX || memcmp(digest, AP_PBKDF2_SHA512_PREFIX, plen) != 0)
                return -EINVAL;
        const char *p = digest + plen, *end = digest + n;
        unsigned long it = 0;
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9') {
                it = it * 10 + (unsigned long)(*p - '0');
                if (it > INT_MAX)
                        return -EINVAL;
                p++;
        }
        if (p == start || p >= end || *p != '$' || it == 0 || (*start == '0'))
                return -EINVAL;
        p++;
        struct ap_pbkdf2_digest d = {.iterations = (unsigned)it};
        if (field(&p, end, false, d.salt, sizeof(d.salt), &d.salt_len) < 0 ||
            field(&p, end, true, d.key, sizeof(d.key), &d.key_len) < 0)
                return -EINVAL;
        *ret = d;
        return 0;
}

int ap_pbkdf2_sha512_verify(const char *digest, size_t n, const void *secret, size_t secret_len,
                            bool *ret_match)
{
        struct ap_pbkdf2_digest d;
        if (ap_pbkdf2_sha512_parse(digest, n, &d) < 0 || secret_len > INT_MAX)
                return -EINVAL;
        uint8_t key[AP_PBKDF2_KEY_LEN];
        int ok = PKCS5_PBKDF2_HMAC(secret_len ? secret : "", (int)secret_len, d.salt, (int)d.salt_len,
                                   (int)d.iterations, EVP_sha512(), (int)d.key_len, key);
        if (ok == 1)
                *ret_match = CRYPTO_memcmp(key, d.key, d.key_len) == 0;
        OPENSSL_cleanse(key, sizeof(key));
        OPENSSL_cleanse(&d, sizeof(d));
        return ok == 1 ? 0 : -EIO;
}

int ap_random_urlsafe(char *out, size_t len)
{
        uint8_t raw[192];
        size_t need = (len * 3 + 3) / 4;
        if (need > sizeof(raw))
                return -EINVAL;
        for (size_t got = 0; got < need;) {
                ssize_t r = getrandom(raw + got, need - got, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        OPENSSL_cleanse(raw, sizeof(raw));
                        return -EIO;
                }
                got += (size_t)r;
        }
        struct ap_buf b = AP_BUF_INIT_SECRET;
        int r = ap_base64_encode(&b, raw, need, AP_B64_URL_RAW);
        OPENSSL_cleanse(raw, sizeof(raw));
        if (r == 0 && b.len < len)
                r = -EIO;
        if (r == 0) {
                memcpy(out, b.data, len);
                out[len] = '\0';
        }
        ap_buf_release(&b);
        return r;
}
