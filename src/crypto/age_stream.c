/* age_stream.c - the STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks with an 11-byte big-endian
 * counter and a last-chunk flag. Push interface: update() takes any amount, full chunks are processed
 * straight from the caller's memory, output is batched before reaching the sink. Decryption follows the
 * Go reference exactly (non-final flag first on full chunks, no empty last chunk, no trailing data). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/age_internal.h"

#define BATCH_CHUNKS 4

struct ap_age_stream {
        EVP_CIPHER_CTX *ctx;
        bool encrypt;
        bool done; /* the final chunk went through */
        uint8_t nonce[12];
        uint64_t counter; /* chunks processed (the nonce holds it big-endian) */
        uint8_t *pend;    /* a partial (or held-back full) chunk of input */
        size_t pend_len;
        size_t in_chunk; /* input bytes per chunk: 65536 (encrypt) or 65552 (decrypt) */
        uint8_t *out;    /* batched output, flushed to the sink */
        size_t out_len, out_cap;
        struct ap_age_sink sink;
};

struct ap_age_stream *ap_age_stream_new(const uint8_t key[32], bool encrypt, const struct ap_age_sink *sink)
{
        struct ap_age_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->encrypt = encrypt;
        s->sink = *sink;
        s->in_chunk = encrypt ? AP_AGE_CHUNK_LEN : AP_AGE_CT_CHUNK_LEN;
        s->out_cap = BATCH_CHUNKS * AP_AGE_CT_CHUNK_LEN;
        s->pend = malloc(AP_AGE_CT_CHUNK_LEN);
        s->out = malloc(s->out_cap);
        s->ctx = EVP_CIPHER_CTX_new();
        if (!s->pend || !s->out || !s->ctx ||
            EVP_CipherInit_ex2(s->ctx, EVP_chacha20_poly1305(), key, s->nonce, encrypt ? 1 : 0, NULL) != 1)
                return ap_age_stream_free(s);
        return s;
}

struct ap_age_stream *ap_age_stream_free(struct ap_age_stream *s)
{
        if (!s)
                return NULL;
        EVP_CIPHER_CTX_free(s->ctx); /* wipes the key schedule */
        ap_secure_free(s->pend, AP_AGE_CT_CHUNK_LEN);
        ap_secure_free(s->out, s->out_cap);
        OPENSSL_cleanse(s, sizeof(*s));
        free(s);
        return NULL;
}

static void set_counter(struct ap_age_stream *s, bool last)
{
        memset(s->nonce, 0, 3);
        for (int i = 0; i < 8; i++)
                s->nonce[3 + i] = (uint8_t)(s->counter >> (56 - 8 * i));
        s->nonce[11] = last ? 1 : 0;
}

static int flush(struct ap_age_stream *s, struct ap_error *err)
{
        if (s->out_len == 0)
                return 0;
        int r = s->sink.write(s->sink.ctx, s->out, s->out_len, err);
        if (!s->encrypt)
                OPENSSL_cleanse(s->out, s->out_len); /* plaintext */
        s->out_len = 0;
        return r;
}

/* Make room for one more output chunk. */
static int reserve(struct ap_age_stream *s, struct ap_error *err)
{
        if (s->out_cap - s->out_len >= AP_AGE_CT_CHUNK_LEN)
                return 0;
        return flush(s, err);
}

/* Seal or open one chunk into the output batch. For open, -EBADMSG when the tag does not verify (the
 * output length is not advanced, so nothing unauthenticated is ever released). */
static int crypt_chunk(struct ap_age_stream *s, const uint8_t *in, size_t len, bool last)
{
        uint8_t *o = s->out + s->out_len;
        int outl = 0, finl = 0;
        size_t plen = s->encrypt ? len : len - AP_AGE_TAG_LEN;
        uint8_t tag[AP_AGE_TAG_LEN];
        set_counter(s, last);
        if (EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, s->nonce, -1) != 1)
                return -EIO;
        if (!s->encrypt) {
                memcpy(tag, in + plen, AP_AGE_TAG_LEN);
                if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, AP_AGE_TAG_LEN, tag) != 1)
                        return -EIO;
        }
        if (plen && EVP_CipherUpdate(s->ctx, o, &outl, in, (int)plen) != 1)
                return -EIO;
        if (EVP_CipherFinal_ex(s->ctx, o + outl, &finl) != 1)
                return s->encrypt ? -EIO : -EBADMSG;
        if (s->encrypt) {
                if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, AP_AGE_TAG_LEN, o + plen) != 1)
                        return -EIO;
                s->out_len += plen + AP_AGE_TAG_LEN;
        } else {
                s->out_len += plen;
        }
        return 0;
}

static int payload_error(struct ap_age_stream *s, struct ap_error *err, const char *msg)
{
        /* release what authenticated before the failure, then report it */
        struct ap_error ignored = AP_ERROR_INIT;
        flush(s, &ignored);
        return ap_error_set(err, AP_AGE_ERR_PAYLOAD, "%s", msg);
}

static const char msg_bad_chunk[] = "failed to decrypt and authenticate payload chunk, the file may be "
                                    "corrupted or tampered with";

/* A full-length chunk that may or may not be the last one. */
static int process_full(struct ap_age_stream *s, const uint8_t *in, struct ap_error *err)
{
        int r = reserve(s, err);
        if (r < 0)
                return r;
        if (s->encrypt) {
                r = crypt_chunk(s, in, AP_AGE_CHUNK_LEN, false);
        } else {
                r = crypt_chunk(s, in, AP_AGE_CT_CHUNK_LEN, false);
                if (r == -EBADMSG) {
                        r = crypt_chunk(s, in, AP_AGE_CT_CHUNK_LEN, true);
                        if (r == 0)
                                s->done = true;
                }
                if (r == -EBADMSG)
                        return payload_error(s, err, msg_bad_chunk);
        }
        if (r < 0)
                return ap_error_set(err, r, "chacha20-poly1305 failed");
        s->counter++;
        return 0;
}

int ap_age_stream_update(struct ap_age_stream *s, const void *data, size_t n, struct ap_error *err)
{
        const uint8_t *p = data;
        while (n > 0) {
                if (s->done)
                        return payload_error(s, err, "trailing data after the end of the encrypted file");
                if (s->pend_len == 0 && n > s->in_chunk) {
                        /* more follows this chunk: work straight from the caller's memory */
                        int r = process_full(s, p, err);
                        if (r < 0)
                                return r;
                        p += s->in_chunk;
                        n -= s->in_chunk;
                        continue;
                }
                if (s->pend_len == s->in_chunk) {
                        int r = process_full(s, s->pend, err);
                        if (r < 0)
                                return r;
                        s->pend_len = 0;
                        continue;
                }
                size_t take = AP_MIN(n, s->in_chunk - s->pend_len);
                memcpy(s->pend + s->pend_len, p, take);
                s->pend_len += take;
                p += take;
                n -= take;
        }
        return 0;
}

int ap_age_stream_final(struct ap_age_stream *s, struct ap_error *err)
{
        int r;
        if (s->done)
                return flush(s, err);
        if (s->encrypt) {
                r = reserve(s, err);
                if (r < 0)
                        return r;
                r = crypt_chunk(s, s->pend, s->pend_len, true);
                if (r < 0)
                        return ap_error_set(err, r, "chacha20-poly1305 failed");
                s->pend_len = 0;
                s->done = true;
                return flush(s, err);
        }
        if (s->pend_len == 0)
                return payload_error(s, err, "the encrypted file is truncated (no final chunk)");
        if (s->pend_len == s->in_chunk) {
                r = process_full(s, s->pend, err);
                if (r < 0)
                        return r;
                if (!s->done)
                        return payload_error(s, err, "the encrypted file is truncated (no final chunk)");
                return flush(s, err);
        }
        if (s->counter != 0 && s->pend_len == AP_AGE_TAG_LEN)
                return payload_error(s, err, "the last chunk is empty, which age never writes");
        if (s->pend_len < AP_AGE_TAG_LEN)
                return payload_error(s, err, msg_bad_chunk);
        r = reserve(s, err);
        if (r < 0)
                return r;
        r = crypt_chunk(s, s->pend, s->pend_len, true);
        if (r == -EBADMSG)
                return payload_error(s, err, msg_bad_chunk);
        if (r < 0)
                return ap_error_set(err, r, "chacha20-poly1305 failed");
        s->done = true;
        return flush(s, err);
}
