/* sops_enc.c - ENC[AES256_GCM,...] strings: parse, format, and AES-256-GCM with 32-byte IVs through
 * OpenSSL (a non-96-bit IV is GHASHed into J0 exactly as Go's NewGCMWithNonceSize does). */
#include "sops_enc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

#define PREFIX "ENC[AES256_GCM,data:"

struct ap_sops_cipher {
        EVP_CIPHER_CTX *enc, *dec;
        size_t enc_iv_len, dec_iv_len;
        uint8_t key[AP_SOPS_KEY_LEN];
};

static int is_b64(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/' || c == '=';
}

int ap_sops_enc_looks_encrypted(const char *s, size_t n)
{
        return n >= strlen(PREFIX) && memcmp(s, PREFIX, strlen(PREFIX)) == 0;
}

/* Read a base64 field ending at the separator sep; advance *p past the separator. */
static int field(const char **p, const char *end, const char *sep, const char **ret, size_t *ret_len)
{
        const char *start = *p, *q = start;
        while (q < end && is_b64(*q))
                q++;
        size_t seplen = strlen(sep);
        if (q == start || (size_t)(end - q) < seplen || memcmp(q, sep, seplen) != 0)
                return -EINVAL;
        *ret = start;
        *ret_len = (size_t)(q - start);
        *p = q + seplen;
        return 0;
}

int ap_sops_enc_parse(const char *s, size_t n, struct ap_sops_enc *ret)
{
        if (!ap_sops_enc_looks_encrypted(s, n))
                return -EINVAL;
        const char *p = s + strlen(PREFIX), *end = s + n;
        struct ap_sops_enc e;
        if (field(&p, end, ",iv:", &e.data, &e.data_len) < 0 ||
            field(&p, end, ",tag:", &e.iv, &e.iv_len) < 0 || field(&p, end, ",type:", &e.tag, &e.tag_len) < 0)
                return -EINVAL;
        e.type = p;
        while (p < end && *p >= 'a' && *p <= 'z')
                p++;
        e.type_len = (size_t)(p - e.type);
        if (e.type_len == 0 || p + 1 != end || *p != ']')
                return -EINVAL;
        *ret = e;
        return 0;
}

int ap_sops_cipher_new(const uint8_t key[AP_SOPS_KEY_LEN], struct ap_sops_cipher **ret)
{
        struct ap_sops_cipher *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        memcpy(c->key, key, AP_SOPS_KEY_LEN);
        c->enc = EVP_CIPHER_CTX_new();
        c->dec = EVP_CIPHER_CTX_new();
        if (!c->enc || !c->dec || !EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
            !EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, NULL, NULL)) {
                ap_sops_cipher_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

struct ap_sops_cipher *ap_sops_cipher_free(struct ap_sops_cipher *c)
{
        if (!c)
                return NULL;
        EVP_CIPHER_CTX_free(c->enc);
        EVP_CIPHER_CTX_free(c->dec);
        OPENSSL_cleanse(c, sizeof(*c));
        free(c);
        return NULL;
}

/* Set the IV (and its length when it changed) and the key on a GCM context. */
static int gcm_start(EVP_CIPHER_CTX *ctx, size_t *cur_len, const uint8_t *key, const uint8_t *iv,
                     size_t iv_len, int enc)
{
        if (iv_len == 0 || iv_len > 1024)
                return -EINVAL;
        if (*cur_len != iv_len) {
                if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL))
                        return -EINVAL;
                *cur_len = iv_len;
                return EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) ? 0 : -EINVAL;
        }
        return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) ? 0 : -EINVAL;
}

int ap_sops_cipher_seal(struct ap_sops_cipher *c, const uint8_t *iv, size_t iv_len, const char *aad,
                        size_t aad_len, const void *pt, size_t n, const char *type, struct ap_buf *out)
{
        if (n > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX)
                return -E2BIG;
        _cleanup_free_ uint8_t *ct = malloc(n ? n : 1);
        if (!ct)
                return -ENOMEM;
        uint8_t tag[AP_SOPS_TAG_LEN];
        int len = 0, fin = 0;
        int r = gcm_start(c->enc, &c->enc_iv_len, c->key, iv, iv_len, 1);
        if (r < 0)
                return r;
        if ((aad_len && !EVP_EncryptUpdate(c->enc, NULL, &len, (const uint8_t *)aad, (int)aad_len)) ||
            (n && !EVP_EncryptUpdate(c->enc, ct, &len, pt, (int)n)) ||
            !EVP_EncryptFinal_ex(c->enc, ct + len, &fin) ||
            !EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, AP_SOPS_TAG_LEN, tag))
                return -EIO;
        r = ap_buf_addstr(out, PREFIX);
        if (r == 0)
                r = ap_base64_encode(out, ct, n, AP_B64_STD);
        if (r == 0)
                r = ap_buf_addstr(out, ",iv:");
        if (r == 0)
                r = ap_base64_encode(out, iv, iv_len, AP_B64_STD);
        if (r == 0)
                r = ap_buf_addstr(out, ",tag:");
        if (r == 0)
                r = ap_base64_encode(out, tag, sizeof(tag), AP_B64_STD);
        if (r == 0)
                r = ap_buf_printf(out, ",type:%s]", type);
        return r;
}

int ap_sops_cipher_open(struct ap_sops_cipher *c, const char *s, size_t n, const char *aad, size_t aad_len,
                        struct ap_buf *pt, struct ap_sops_enc *ret_enc, struct ap_error *err)
{
        struct ap_sops_enc e;
        if (ap_sops_enc_parse(s, n, &e) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "value is not in the ENC[AES256_GCM,data:...,iv:...,tag:...,"
                                    "type:...] format");
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf ivb = AP_BUF_INIT;
        uint8_t tag[AP_SOPS_TAG_LEN];
        if (ap_base64_decode(&ct, e.data, e.data_len, AP_B64_STD) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "the data field of the ENC[] value is not valid base64");
        if (ap_base64_decode(&ivb, e.iv, e.iv_len, AP_B64_STD) < 0 || ivb.len == 0 || ivb.len > 1024)
                return ap_error_set(err, AP_E_CORRUPT, "the iv field of the ENC[] value is not valid base64");
        const uint8_t *iv = (const uint8_t *)ivb.data;
        size_t iv_len = ivb.len;
        if (ap_base64_decode_exact(tag, sizeof(tag), e.tag, e.tag_len, AP_B64_STD) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "the tag field of the ENC[] value is not 16 bytes of base64");
        if (ct.len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX)
                return ap_error_set(err, AP_E_TOO_LARGE, "the ENC[] value is larger than 2 GiB");
        size_t start = pt->len;
        int r = ap_buf_grow(pt, ct.len);
        if (r == -E2BIG)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "the decrypted value is larger than the limit of %zu bytes", pt->max);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        int len = 0, fin = 0;
        r = gcm_start(c->dec, &c->dec_iv_len, c->key, iv, iv_len, 0);
        if (r == 0 &&
            ((aad_len && !EVP_DecryptUpdate(c->dec, NULL, &len, (const uint8_t *)aad, (int)aad_len)) ||
             (ct.len && !EVP_DecryptUpdate(c->dec, (uint8_t *)pt->data + start, &len, (uint8_t *)ct.data,
                                           (int)ct.len)) ||
             !EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, AP_SOPS_TAG_LEN, tag) ||
             EVP_DecryptFinal_ex(c->dec, (uint8_t *)pt->data + start + len, &fin) <= 0))
                r = -EBADMSG;
        if (r < 0) {
                OPENSSL_cleanse(pt->data + start, ct.len);
                pt->data[start] = '\0';
                return ap_error_set(err, -EBADMSG,
                                    "cannot decrypt the value: authentication failed (wrong data "
                                    "key, moved value or tampered file)");
        }
        pt->len = start + ct.len;
        pt->data[pt->len] = '\0';
        *ret_enc = e;
        return 0;
}
