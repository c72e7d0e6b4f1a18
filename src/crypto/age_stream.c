/* age_stream.c - the STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks with an 11-byte big-endian
 * counter and a last-chunk flag. ap_age_stream_step() holds the per-chunk rules, which follow the Go
 * reference exactly (non-final flag first on full chunks, no empty last chunk, no trailing data); the push
 * interface (update/final) feeds it from any split of the input, working from the caller's memory for
 * full chunks and batching output before it reaches the sink. Whole files go through age_pump.c. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/age_internal.h"

#define BATCH_CHUNKS 4 /* output chunks per write */

const char ap_age_msg_bad_chunk[] = "failed to decrypt and authenticate payload chunk, the file may be "
                                    "corrupted or tampered with";
const char ap_age_msg_truncated[] = "the encrypted file is truncated (no final chunk)";
const char ap_age_msg_trailing[] = "trailing data after the end of the encrypted file";

struct ap_age_stream *ap_age_stream_new(const uint8_t key[32], bool encrypt, const struct ap_age_sink *sink)
{
        struct ap_age_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->encrypt = encrypt;
        s->sink = *sink;
        s->in_chunk = encrypt ? AP_AGE_CHUNK_LEN : AP_AGE_CT_CHUNK_LEN;
        s->out_cap = BATCH_CHUNKS * AP_AGE_CT_CHUNK_LEN;
        s->ctx = EVP_CIPHER_CTX_new();
        if (!s->ctx ||
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

/* Seal or open one chunk with the current counter; -EBADMSG when the tag does not verify. */
static int crypt_chunk(struct ap_age_stream *s, const uint8_t *in, size_t len, bool last, uint8_t *out,
                       size_t *ret_len)
{
        int outl = 0, finl = 0;
        size_t plen = s->encrypt ? len : len - AP_AGE_TAG_LEN;
        uint8_t tag[AP_AGE_TAG_LEN];
        memset(s->nonce, 0, 3);
        for (int i = 0; i < 8; i++)
                s->nonce[3 + i] = (uint8_t)(s->counter >> (56 - 8 * i));
        s->nonce[11] = last ? 1 : 0;
        if (EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, s->nonce, -1) != 1)
                return -EIO;
        if (!s->encrypt) {
                memcpy(tag, in + plen, AP_AGE_TAG_LEN);
                if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, AP_AGE_TAG_LEN, tag) != 1)
                        return -EIO;
        }
        if (plen && EVP_CipherUpdate(s->ctx, out, &outl, in, (int)plen) != 1)
                return -EIO;
        if (EVP_CipherFinal_ex(s->ctx, out + outl, &finl) != 1)
                return s->encrypt ? -EIO : -EBADMSG;
        if (s->encrypt && EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, AP_AGE_TAG_LEN, out + plen) != 1)
                return -EIO;
        *ret_len = s->encrypt ? plen + AP_AGE_TAG_LEN : plen;
        return 0;
}

int ap_age_stream_step(struct ap_age_stream *s, const uint8_t *in, size_t len, bool at_end, uint8_t *out,
                       size_t *ret_len, const char **ret_msg)
{
        *ret_len = 0;
        if (s->done) {
                *ret_msg = ap_age_msg_trailing;
                return -EBADMSG;
        }
        int r;
        if (s->encrypt) {
                r = crypt_chunk(s, in, len, at_end, out, ret_len);
                s->done = at_end;
        } else if (len == AP_AGE_CT_CHUNK_LEN) {
                r = crypt_chunk(s, in, len, false, out, ret_len);
                if (r == -EBADMSG) {
                        r = crypt_chunk(s, in, len, true, out, ret_len);
                        s->done = r == 0;
                }
        } else if (len == 0) {
                *ret_msg = ap_age_msg_truncated;
                return -EBADMSG;
        } else if (s->counter != 0 && len == AP_AGE_TAG_LEN) {
                *ret_msg = "the last chunk is empty, which age never writes";
                return -EBADMSG;
        } else {
                r = len < AP_AGE_TAG_LEN ? -EBADMSG : crypt_chunk(s, in, len, true, out, ret_len);
                s->done = r == 0;
        }
        if (r == -EBADMSG)
                *ret_msg = ap_age_msg_bad_chunk;
        if (r < 0) {
                *ret_len = 0;
                if (r != -EBADMSG)
                        *ret_msg = "chacha20-poly1305 failed";
                return r;
        }
        s->counter++;
        return 0;
}

/* The push path's buffers come on first use: the fd pump never needs them. */
static int alloc_buffers(struct ap_age_stream *s, struct ap_error *err)
{
        if (!s->pend)
                s->pend = malloc(AP_AGE_CT_CHUNK_LEN);
        if (!s->out)
                s->out = malloc(s->out_cap);
        return s->pend && s->out ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
}

int ap_age_stream_flush(struct ap_age_stream *s, struct ap_error *err)
{
        if (s->out_len == 0)
                return 0;
        /* the batch is reused for the next chunks and wiped once, when the stream is freed */
        int r = s->sink.write(s->sink.ctx, s->out, s->out_len, err);
        s->sink_pos += s->out_len;
        s->out_len = 0;
        return r;
}

/* One chunk into the output batch; on a payload failure what authenticated before is released first. */
static int step(struct ap_age_stream *s, const uint8_t *in, size_t len, bool at_end, struct ap_error *err)
{
        if (alloc_buffers(s, err) < 0)
                return -ENOMEM;
        if (s->out_cap - s->out_len < AP_AGE_CT_CHUNK_LEN) {
                int r = ap_age_stream_flush(s, err);
                if (r < 0)
                        return r;
        }
        const char *msg = NULL;
        size_t outl = 0;
        int r = ap_age_stream_step(s, in, len, at_end, s->out + s->out_len, &outl, &msg);
        s->out_len += outl;
        if (r == 0 && at_end && !s->done) {
                r = -EBADMSG;
                msg = ap_age_msg_truncated;
        }
        if (r < 0) {
                /* hand on what authenticated before the failure; if the sink refuses it too, the chunk's
                 * failure is still the one to report */
                struct ap_error ignored = AP_ERROR_INIT;
                int flushed = ap_age_stream_flush(s, &ignored);
                (void)flushed;
                s->payload_failed = r == -EBADMSG;
                return ap_error_set(err, r == -EBADMSG ? AP_E_CORRUPT : r, "%s", msg);
        }
        return 0;
}

int ap_age_stream_update(struct ap_age_stream *s, const void *data, size_t n, struct ap_error *err)
{
        const uint8_t *p = data;
        while (n > 0) {
                if (s->done)
                        return step(s, p, n, false, err); /* trailing data */
                if (s->pend_len == 0 && n > s->in_chunk) {
                        /* more follows this chunk: work straight from the caller's memory */
                        int r = step(s, p, s->in_chunk, false, err);
                        if (r < 0)
                                return r;
                        p += s->in_chunk;
                        n -= s->in_chunk;
                        continue;
                }
                if (s->pend_len == s->in_chunk) {
                        int r = step(s, s->pend, s->pend_len, false, err);
                        if (r < 0)
                                return r;
                        s->pend_len = 0;
                        continue;
                }
                if (alloc_buffers(s, err) < 0)
                        return -ENOMEM;
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
        if (!s->done) {
                if (alloc_buffers(s, err) < 0)
                        return -ENOMEM;
                int r = step(s, s->pend, s->pend_len, true, err);
                s->pend_len = 0;
                if (r < 0)
                        return r;
        }
        return ap_age_stream_flush(s, err);
}
