/* age_primitives.c - the OpenSSL 3 calls age is built from: HKDF-SHA-256, one-shot ChaCha20-Poly1305
 * with a zero nonce (stanza bodies), the header HMAC, X25519 and scrypt. Every temporary secret is
 * wiped before return. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#include "crypto/age_internal.h"

/* Derive 32 bytes with the named OpenSSL KDF. */
static int kdf_derive(const char *name, const OSSL_PARAM *params, uint8_t out[32])
{
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
        if (!kdf)
                return -ENOSYS;
        EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
        EVP_KDF_free(kdf);
        if (!ctx)
                return -ENOMEM;
        int r = EVP_KDF_derive(ctx, out, 32, params) == 1 ? 0 : -ENOMEM;
        EVP_KDF_CTX_free(ctx);
        return r;
}

int ap_age_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len, const char *info,
                size_t info_len, uint8_t out[32])
{
        OSSL_PARAM params[5], *p = params;
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
        /* An empty salt is HMAC with an all-zero key, which is what OpenSSL does without one. */
        if (salt_len)
                *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
        *p = OSSL_PARAM_construct_end();
        return kdf_derive("HKDF", params, out);
}

static int aead_oneshot(const uint8_t key[32], const uint8_t *in, size_t len, uint8_t *out, bool enc)
{
        static const uint8_t zero_nonce[12];
        if (len > INT32_MAX)
                return -E2BIG;
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;
        int r = -EIO, outl = 0, finl = 0;
        uint8_t tag[AP_AGE_TAG_LEN];
        size_t plen = enc ? len : len - AP_AGE_TAG_LEN;
        if (EVP_CipherInit_ex2(ctx, EVP_chacha20_poly1305(), key, zero_nonce, enc ? 1 : 0, NULL) != 1)
                goto out;
        if (!enc) {
                memcpy(tag, in + plen, AP_AGE_TAG_LEN);
                if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AP_AGE_TAG_LEN, tag) != 1)
                        goto out;
        }
        if (plen && EVP_CipherUpdate(ctx, out, &outl, in, (int)plen) != 1)
                goto out;
        if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1) {
                r = enc ? -EIO : -EBADMSG;
                OPENSSL_cleanse(out, plen);
                goto out;
        }
        if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AP_AGE_TAG_LEN, out + plen) != 1)
                goto out;
        r = 0;
out:
        EVP_CIPHER_CTX_free(ctx);
        return r;
}

int ap_age_aead_seal(const uint8_t key[32], const void *in, size_t len, uint8_t *out)
{
        return aead_oneshot(key, in, len, out, true);
}

int ap_age_aead_open(const uint8_t key[32], const uint8_t *in, size_t len, uint8_t *out)
{
        if (len < AP_AGE_TAG_LEN)
                return -EBADMSG;
        return aead_oneshot(key, in, len, out, false);
}

int ap_age_header_mac(const uint8_t file_key[AP_AGE_FILE_KEY_LEN], const void *hdr, size_t len,
                      uint8_t mac[32])
{
        uint8_t key[32];
        int r = ap_age_hkdf(file_key, AP_AGE_FILE_KEY_LEN, NULL, 0, "header", 6, key);
        if (r == 0) {
                size_t outl = 0;
                if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key), hdr, len, mac, 32,
                               &outl) ||
                    outl != 32)
                        r = -EIO;
        }
        OPENSSL_cleanse(key, sizeof(key));
        return r;
}

int ap_age_payload_key(const uint8_t file_key[AP_AGE_FILE_KEY_LEN], const uint8_t nonce[AP_AGE_NONCE_LEN],
                       uint8_t key[32])
{
        return ap_age_hkdf(file_key, AP_AGE_FILE_KEY_LEN, nonce, AP_AGE_NONCE_LEN, "payload", 7, key);
}

int ap_age_random(void *p, size_t n)
{
        if (n > INT32_MAX)
                return -E2BIG;
        return RAND_bytes(p, (int)n) == 1 ? 0 : -EIO;
}

int ap_age_x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32])
{
        static const uint8_t zero[32];
        EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
        EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, 32);
        EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
        size_t outl = 32;
        int r = -EIO;
        if (!ctx || !peer || EVP_PKEY_derive_init(ctx) != 1)
                goto out;
        /* OpenSSL refuses an all-zero shared secret (low-order point) at derive time. */
        if (EVP_PKEY_derive_set_peer(ctx, peer) != 1 || EVP_PKEY_derive(ctx, out, &outl) != 1 || outl != 32) {
                r = -EINVAL;
                goto out;
        }
        r = CRYPTO_memcmp(out, zero, 32) == 0 ? -EINVAL : 0;
        if (r < 0)
                OPENSSL_cleanse(out, 32);
out:
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(peer);
        EVP_PKEY_free(priv);
        return r;
}

int ap_age_x25519_base(const uint8_t scalar[32], uint8_t out[32])
{
        EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
        size_t outl = 32;
        int r = priv && EVP_PKEY_get_raw_public_key(priv, out, &outl) == 1 && outl == 32 ? 0 : -EIO;
        EVP_PKEY_free(priv);
        return r;
}

int ap_age_scrypt(const char *pass, size_t pass_len, const void *salt, size_t salt_len, int log_n,
                  uint8_t out[32])
{
        if (log_n < 1 || log_n > 30)
                return -EINVAL;
        uint64_t n = (uint64_t)1 << log_n;
        uint32_t rr = 8, pp = 1;
        /* OpenSSL's default cap (about 1 GiB) would refuse work factors age accepts; the work factor limit
         * of the identity is what bounds memory here (128 * r * N bytes). */
        uint64_t maxmem = 128 * (uint64_t)rr * (n + 2) + ((uint64_t)1 << 20);
        OSSL_PARAM params[7], *p = params;
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, pass_len);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
        *p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr);
        *p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
        *p = OSSL_PARAM_construct_end();
        return kdf_derive("SCRYPT", params, out);
}
