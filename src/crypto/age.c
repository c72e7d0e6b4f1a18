/* age.c - age encryption and decryption end to end: the encryptor (file key, stanzas, header MAC,
 * payload nonce, STREAM, optional armor) and the decryptor (armor detection, strict header parse, then
 * identities tried in order, header MAC, STREAM), plus the whole-buffer and file-descriptor wrappers. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

/* ---- encryption ---- */

struct ap_age_encryptor {
        struct ap_age_sink user;
        struct ap_age_armor *armor; /* NULL for binary output */
        struct ap_age_sink binary;  /* where binary age bytes go: the armor encoder or the user */
        struct ap_age_stream *stream;
        bool finished;
};

static int armor_sink_write(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return ap_age_armor_update(ctx, p, n, err);
}

struct ap_age_encryptor *ap_age_encryptor_free(struct ap_age_encryptor *e)
{
        if (!e)
                return NULL;
        ap_age_stream_free(e->stream);
        ap_age_armor_free(e->armor);
        free(e);
        return NULL;
}

AP_DEFINE_CLEANUP(struct ap_age_encryptor *, ap_age_encryptor_free)

/* Build and write the header and payload nonce; returns the payload key and how many bytes were written. */
static int write_header(struct ap_age_encryptor *e, struct ap_age_recipient *const *recipients, size_t n,
                        uint8_t payload_key[32], size_t *ret_len, struct ap_error *err)
{
        uint8_t file_key[AP_AGE_FILE_KEY_LEN], mac[32], nonce[AP_AGE_NONCE_LEN];
        struct ap_age_header h = {0};
        struct ap_buf text = AP_BUF_INIT;
        ap_buf_init(&text, AP_AGE_HEADER_MAX);
        int r = ap_age_random(file_key, sizeof(file_key));
        if (r == 0)
                r = ap_age_random(nonce, sizeof(nonce));
        if (r < 0) {
                ap_error_set(err, r, "the random number generator failed");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                r = recipients[i]->kind == AP_AGE_KIND_SCRYPT
                        ? ap_age_scrypt_wrap(recipients[i], file_key, &h, err)
                        : ap_age_x25519_wrap(recipients[i], file_key, &h, err);
                if (r < 0)
                        goto out;
        }
        r = ap_age_header_write_without_mac(&h, &text);
        if (r == 0)
                r = ap_age_header_mac(file_key, text.data, text.len, mac);
        if (r == 0)
                r = ap_buf_addch(&text, ' ');
        if (r == 0)
                r = ap_base64_encode(&text, mac, sizeof(mac), AP_B64_STD_RAW);
        if (r == 0)
                r = ap_buf_addch(&text, '\n');
        if (r == 0)
                r = ap_buf_add(&text, nonce, sizeof(nonce));
        if (r == 0)
                r = ap_age_payload_key(file_key, nonce, payload_key);
        if (r < 0) {
                ap_error_set(err, r, "cannot build the age header");
                goto out;
        }
        r = e->binary.write(e->binary.ctx, text.data, text.len, err);
        if (r == 0)
                *ret_len = text.len;
out:
        OPENSSL_cleanse(file_key, sizeof(file_key));
        ap_age_header_release(&h);
        ap_buf_release(&text);
        return r;
}

int ap_age_encryptor_new(struct ap_age_recipient *const *recipients, size_t n_recipients, bool armor,
                         const struct ap_age_sink *sink, struct ap_age_encryptor **ret, struct ap_error *err)
{
        if (n_recipients == 0)
                return ap_error_set(err, -EINVAL, "no recipients given");
        for (size_t i = 0; i < n_recipients; i++) {
                if (!recipients[i])
                        return ap_error_set(err, -EINVAL, "recipient %zu is missing", i + 1);
                if (recipients[i]->kind == AP_AGE_KIND_SCRYPT && n_recipients != 1)
                        return ap_error_set(err, -EINVAL,
                                            "a passphrase (scrypt) recipient must be the only recipient");
        }
        _cleanup_(ap_age_encryptor_freep) struct ap_age_encryptor *e = calloc(1, sizeof(*e));
        if (!e)
                return ap_error_set(err, -ENOMEM, "out of memory");
        e->user = *sink;
        e->binary = *sink;
        if (armor) {
                e->armor = ap_age_armor_new(true, sink);
                if (!e->armor)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                e->binary = (struct ap_age_sink){armor_sink_write, e->armor};
        }
        uint8_t key[32];
        size_t header_len = 0;
        int r = write_header(e, recipients, n_recipients, key, &header_len, err);
        if (r == 0) {
                e->stream = ap_age_stream_new(key, true, &e->binary);
                if (!e->stream)
                        r = ap_error_set(err, -ENOMEM, "cannot set up chacha20-poly1305");
                else
                        e->stream->sink_pos = header_len;
        }
        OPENSSL_cleanse(key, sizeof(key));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

int ap_age_encryptor_update(struct ap_age_encryptor *e, const void *p, size_t n, struct ap_error *err)
{
        if (e->finished)
                return ap_error_set(err, -EINVAL, "encryption already finished");
        return ap_age_stream_update(e->stream, p, n, err);
}

int ap_age_encryptor_final(struct ap_age_encryptor *e, struct ap_error *err)
{
        if (e->finished)
                return ap_error_set(err, -EINVAL, "encryption already finished");
        e->finished = true;
        int r = ap_age_stream_final(e->stream, err);
        if (r == 0 && e->armor)
                r = ap_age_armor_final(e->armor, err);
        return r;
}

/* ---- decryption ---- */

enum { ST_DETECT, ST_HEADER, ST_NONCE, ST_PAYLOAD, ST_DONE };

struct ap_age_decryptor {
        struct ap_age_identity *const *ids;
        size_t n_ids;
        struct ap_age_decrypt_opts opts;
        struct ap_age_sink user;
        int stage;
        int failed; /* the error code once something failed; every later call returns it */
        struct ap_buf detect;
        struct ap_age_armor *armor;
        struct ap_age_sink binary_in; /* the sink the armor decoder writes binary bytes to */
        struct ap_age_header_parser hp;
        uint8_t nonce[AP_AGE_NONCE_LEN];
        size_t nonce_len;
        uint8_t file_key[AP_AGE_FILE_KEY_LEN];
        struct ap_age_stream *stream;
        enum ap_age_failure failure; /* what failed, once something did */
        bool inner_failed;           /* the binary decoder failed (an armor error then is not the armor's) */
};

const char *ap_age_failure_name(enum ap_age_failure f)
{
        switch (f) {
        case AP_AGE_FAILURE_ARMOR:
                return "armor failure";
        case AP_AGE_FAILURE_HEADER:
                return "header failure";
        case AP_AGE_FAILURE_NO_MATCH:
                return "no match";
        case AP_AGE_FAILURE_HMAC:
                return "HMAC failure";
        case AP_AGE_FAILURE_PAYLOAD:
                return "payload failure";
        default:
                return "none";
        }
}

enum ap_age_failure ap_age_decryptor_failure(const struct ap_age_decryptor *d)
{
        return d ? d->failure : AP_AGE_FAILURE_NONE;
}

/* A failure of the file itself (not of memory, a read, the sink or a callback) is classified as f. */
static int classify(struct ap_age_decryptor *d, int r, enum ap_age_failure f)
{
        if (r < 0 && !d->failure && (r == AP_E_CORRUPT || r == AP_E_TOO_LARGE || r == AP_E_NO_KEY))
                d->failure = f;
        return r;
}

struct ap_age_decryptor *ap_age_decryptor_free(struct ap_age_decryptor *d)
{
        if (!d)
                return NULL;
        ap_buf_release(&d->detect);
        ap_age_armor_free(d->armor);
        ap_age_header_parser_release(&d->hp);
        ap_age_stream_free(d->stream);
        OPENSSL_cleanse(d, sizeof(*d));
        free(d);
        return NULL;
}

static bool header_has(const struct ap_age_header *h, const char *type)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->stanzas[i].args[0], type) == 0)
                        return true;
        return false;
}

static int try_identities(struct ap_age_identity *const *ids, size_t n, const struct ap_age_header *h,
                          uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err)
{
        for (size_t i = 0; i < n; i++) {
                int r = ids[i]->kind == AP_AGE_KIND_SCRYPT ? ap_age_scrypt_unwrap(ids[i], h, file_key, err)
                                                           : ap_age_x25519_unwrap(ids[i], h, file_key, err);
                if (r != AP_AGE_NOT_MINE)
                        return r;
        }
        return AP_AGE_NOT_MINE;
}

static int unwrap_file_key(struct ap_age_decryptor *d, struct ap_error *err)
{
        const struct ap_age_header *h = &d->hp.hdr;
        bool scrypt = header_has(h, "scrypt");
        int r;
        if (d->n_ids == 0) {
                if (!scrypt)
                        return classify(d,
                                        ap_error_set(err, AP_E_NO_KEY, "no identities given to decrypt with"),
                                        AP_AGE_FAILURE_NO_MATCH);
                if (!d->opts.passphrase)
                        return classify(
                            d,
                            ap_error_set(err, AP_E_NO_KEY,
                                         "the file is passphrase-encrypted and no passphrase was given"),
                            AP_AGE_FAILURE_NO_MATCH);
                struct ap_buf pass = AP_BUF_INIT_SECRET;
                struct ap_age_identity *id = NULL;
                r = d->opts.passphrase(d->opts.passphrase_ctx, &pass, err);
                if (r == 0)
                        r = ap_age_scrypt_identity_new(pass.data, pass.len, &id, err);
                ap_buf_release(&pass);
                if (r < 0)
                        return r;
                r = try_identities(&id, 1, h, d->file_key, err);
                ap_age_identity_free(id);
        } else {
                r = try_identities(d->ids, d->n_ids, h, d->file_key, err);
        }
        if (r == AP_AGE_NOT_MINE) {
                if (scrypt && d->n_ids == 0)
                        r = ap_error_set(err, AP_E_NO_KEY, "incorrect passphrase");
                else
                        r = ap_error_set(err, AP_E_NO_KEY, "no identity matched any of the recipients%s",
                                         scrypt ? " (the file is passphrase-encrypted)" : "");
                return classify(d, r, AP_AGE_FAILURE_NO_MATCH);
        }
        if (r < 0) /* a malformed stanza, or a work factor past the limit */
                return classify(d, r, AP_AGE_FAILURE_HEADER);
        uint8_t mac[32];
        r = ap_age_header_mac(d->file_key, d->hp.raw.data, d->hp.mac_input_len, mac);
        if (r < 0)
                return ap_error_set(err, r, "cannot compute the header MAC");
        if (CRYPTO_memcmp(mac, d->hp.hdr.mac, sizeof(mac)) != 0)
                return classify(d, ap_error_set(err, AP_E_CORRUPT, "bad header MAC: the header was modified"),
                                AP_AGE_FAILURE_HMAC);
        return 0;
}

/* A payload error is the file's when the stream says so (not the sink's or memory's). */
static int payload_result(struct ap_age_decryptor *d, int r)
{
        if (r < 0 && d->stream->payload_failed && !d->failure)
                d->failure = AP_AGE_FAILURE_PAYLOAD;
        return r;
}

static int binary_step(struct ap_age_decryptor *d, const uint8_t *p, size_t n, struct ap_error *err)
{
        while (n > 0) {
                switch (d->stage) {
                case ST_HEADER: {
                        size_t used = 0;
                        int r = ap_age_header_parser_feed(&d->hp, p, n, &used, err);
                        if (r < 0)
                                return classify(d, r, AP_AGE_FAILURE_HEADER);
                        p += used;
                        n -= used;
                        if (r == 1) {
                                r = unwrap_file_key(d, err);
                                if (r < 0)
                                        return r;
                                d->stage = ST_NONCE;
                        }
                        break;
                }
                case ST_NONCE: {
                        size_t take = AP_MIN(n, sizeof(d->nonce) - d->nonce_len);
                        memcpy(d->nonce + d->nonce_len, p, take);
                        d->nonce_len += take;
                        p += take;
                        n -= take;
                        if (d->nonce_len == sizeof(d->nonce)) {
                                uint8_t key[32];
                                int r = ap_age_payload_key(d->file_key, d->nonce, key);
                                if (r == 0) {
                                        d->stream = ap_age_stream_new(key, false, &d->user);
                                        if (!d->stream)
                                                r = -ENOMEM;
                                }
                                OPENSSL_cleanse(key, sizeof(key));
                                OPENSSL_cleanse(d->file_key, sizeof(d->file_key));
                                if (r < 0)
                                        return ap_error_set(err, r, "cannot set up the payload cipher");
                                d->stage = ST_PAYLOAD;
                        }
                        break;
                }
                case ST_PAYLOAD:
                        return payload_result(d, ap_age_stream_update(d->stream, p, n, err));
                default:
                        return ap_error_set(err, -EINVAL, "internal error: decryptor in a bad state");
                }
        }
        return 0;
}

static int binary_update(struct ap_age_decryptor *d, const uint8_t *p, size_t n, struct ap_error *err)
{
        int r = binary_step(d, p, n, err);
        d->inner_failed |= r < 0;
        return r;
}

static int binary_final(struct ap_age_decryptor *d, struct ap_error *err)
{
        int r;
        switch (d->stage) {
        case ST_HEADER:
                r = classify(d, ap_age_header_parser_eof(&d->hp, err), AP_AGE_FAILURE_HEADER);
                break;
        case ST_NONCE:
                r = classify(d,
                             ap_error_set(err, AP_E_CORRUPT,
                                          "the file ends before the payload nonce (%zu of 16 bytes)",
                                          d->nonce_len),
                             AP_AGE_FAILURE_HEADER);
                break;
        case ST_PAYLOAD:
                r = payload_result(d, ap_age_stream_final(d->stream, err));
                break;
        default:
                r = ap_error_set(err, -EINVAL, "internal error: decryptor in a bad state");
        }
        d->inner_failed |= r < 0;
        return r;
}

static int binary_sink_write(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return binary_update(ctx, p, n, err);
}

int ap_age_decryptor_new(struct ap_age_identity *const *identities, size_t n_identities,
                         const struct ap_age_decrypt_opts *opts, const struct ap_age_sink *sink,
                         struct ap_age_decryptor **ret, struct ap_error *err)
{
        for (size_t i = 0; i < n_identities; i++)
                if (!identities[i])
                        return ap_error_set(err, -EINVAL, "identity %zu is missing", i + 1);
        struct ap_age_decryptor *d = calloc(1, sizeof(*d));
        if (!d)
                return ap_error_set(err, -ENOMEM, "out of memory");
        d->ids = identities;
        d->n_ids = n_identities;
        if (opts)
                d->opts = *opts;
        d->user = *sink;
        ap_buf_init(&d->detect, 4096);
        ap_age_header_parser_init(&d->hp);
        d->binary_in = (struct ap_age_sink){binary_sink_write, d};
        d->stage = ST_DETECT;
        if (d->opts.input != AP_AGE_INPUT_AUTO) {
                d->stage = ST_HEADER;
                if (d->opts.input == AP_AGE_INPUT_ARMORED &&
                    !(d->armor = ap_age_armor_new(false, &d->binary_in))) {
                        ap_age_decryptor_free(d);
                        return ap_error_set(err, -ENOMEM, "out of memory");
                }
        }
        *ret = d;
        return 0;
}

/* An error out of the armor decoder is the armor's unless the binary decoder behind it failed. */
static int armor_result(struct ap_age_decryptor *d, int r)
{
        if (r == AP_E_CORRUPT && !d->inner_failed && !d->failure)
                d->failure = AP_AGE_FAILURE_ARMOR;
        return r;
}

/* Route input to the armor decoder or straight to the binary decoder. */
static int route(struct ap_age_decryptor *d, const void *p, size_t n, struct ap_error *err)
{
        if (d->armor)
                return armor_result(d, ap_age_armor_update(d->armor, p, n, err));
        return binary_update(d, p, n, err);
}

/* Auto-detection: hold the first bytes until it is clear whether they start an armored file. */
static int detect(struct ap_age_decryptor *d, const void *p, size_t n, bool at_eof, struct ap_error *err)
{
        size_t want = 1100 - d->detect.len;
        size_t take = AP_MIN(n, want);
        if (ap_buf_add(&d->detect, p, take) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        bool decided = false;
        bool armored = ap_age_armor_detect(d->detect.data, d->detect.len, at_eof || take < n, &decided);
        if (!decided && d->detect.len < 1100 && !at_eof)
                return 0;
        d->stage = ST_HEADER;
        if (armored && !(d->armor = ap_age_armor_new(false, &d->binary_in)))
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = route(d, d->detect.data, d->detect.len, err);
        ap_buf_release(&d->detect);
        if (r == 0 && take < n)
                r = route(d, (const char *)p + take, n - take, err);
        return r;
}

int ap_age_decryptor_update(struct ap_age_decryptor *d, const void *p, size_t n, struct ap_error *err)
{
        if (d->failed)
                return ap_error_set(err, d->failed, "decryption already failed");
        if (d->stage == ST_DONE)
                return ap_error_set(err, -EINVAL, "decryption already finished");
        int r = d->stage == ST_DETECT ? detect(d, p, n, false, err) : route(d, p, n, err);
        if (r < 0)
                d->failed = r;
        return r;
}

int ap_age_decryptor_final(struct ap_age_decryptor *d, struct ap_error *err)
{
        if (d->failed)
                return ap_error_set(err, d->failed, "decryption already failed");
        if (d->stage == ST_DONE)
                return ap_error_set(err, -EINVAL, "decryption already finished");
        int r = 0;
        if (d->stage == ST_DETECT)
                r = detect(d, NULL, 0, true, err);
        if (r == 0 && d->armor)
                r = armor_result(d, ap_age_armor_final(d->armor, err));
        if (r == 0)
                r = binary_final(d, err);
        if (r < 0)
                d->failed = r;
        else
                d->stage = ST_DONE;
        return r;
}

/* ---- whole buffers and file descriptors ---- */

static int buf_sink_write(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        struct ap_buf *b = ctx;
        int r = ap_buf_add(b, p, n);
        if (r == -E2BIG)
                return ap_error_set(err, r, "the output is larger than the limit of %zu bytes", b->max);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        return 0;
}

int ap_age_encrypt(struct ap_age_recipient *const *recipients, size_t n_recipients, const void *plaintext,
                   size_t len, bool armor, struct ap_buf *out, struct ap_error *err)
{
        struct ap_age_sink sink = {buf_sink_write, out};
        _cleanup_(ap_age_encryptor_freep) struct ap_age_encryptor *e = NULL;
        size_t start = out->len;
        int r = ap_age_encryptor_new(recipients, n_recipients, armor, &sink, &e, err);
        if (r == 0)
                r = ap_age_encryptor_update(e, plaintext, len, err);
        if (r == 0)
                r = ap_age_encryptor_final(e, err);
        if (r < 0)
                ap_buf_truncate(out, start); /* nothing half-written */
        return r;
}

AP_DEFINE_CLEANUP(struct ap_age_decryptor *, ap_age_decryptor_free)

int ap_age_decrypt_opts(struct ap_age_identity *const *identities, size_t n_identities,
                        const struct ap_age_decrypt_opts *opts, const void *ciphertext, size_t len,
                        struct ap_buf *out, struct ap_error *err)
{
        struct ap_age_sink sink = {buf_sink_write, out};
        _cleanup_(ap_age_decryptor_freep) struct ap_age_decryptor *d = NULL;
        size_t start = out->len;
        int r = ap_age_decryptor_new(identities, n_identities, opts, &sink, &d, err);
        if (r == 0)
                r = ap_age_decryptor_update(d, ciphertext, len, err);
        if (r == 0)
                r = ap_age_decryptor_final(d, err);
        /* nothing of an unfinished plaintext (wiped in a secret buffer) */
        if (r < 0)
                ap_buf_truncate(out, start);
        if (opts && opts->failure)
                *opts->failure = ap_age_decryptor_failure(d);
        return r;
}

int ap_age_decrypt(struct ap_age_identity *const *identities, size_t n_identities, const void *ciphertext,
                   size_t len, struct ap_buf *out, struct ap_error *err)
{
        return ap_age_decrypt_opts(identities, n_identities, NULL, ciphertext, len, out, err);
}

#define READ_SIZE ((size_t)128 << 10)

/* Read in_fd in large pieces into update() and call final() at the end. Before every read, handoff()
 * may take over the rest of the input (a binary payload through the stream's pump): it returns 1 while
 * it is not ready, else the result. Buffers may hold plaintext and are wiped. */
static int feed_fd(int in_fd, const char *in_name, void *obj,
                   int (*update)(void *obj, const void *p, size_t n, struct ap_error *err),
                   int (*final)(void *obj, struct ap_error *err),
                   int (*handoff)(void *obj, int fd, const char *name, struct ap_error *err),
                   struct ap_error *err)
{
        uint8_t *buf = NULL; /* allocated by the first read: a binary encryption never needs it */
        int r;
        for (;;) {
                r = handoff(obj, in_fd, in_name, err);
                if (r != 1)
                        break;
                if (!buf && !(buf = malloc(READ_SIZE))) {
                        r = ap_error_set(err, -ENOMEM, "out of memory");
                        break;
                }
                ssize_t k = read(in_fd, buf, READ_SIZE);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = ap_error_set(err, -errno, "cannot read '%s': %s", in_name, strerror(errno));
                        break;
                }
                r = k == 0 ? final(obj, err) : update(obj, buf, (size_t)k, err);
                if (r < 0 || k == 0)
                        break;
        }
        ap_secure_free(buf, READ_SIZE);
        return r;
}

static int enc_update(void *obj, const void *p, size_t n, struct ap_error *err)
{
        return ap_age_encryptor_update(obj, p, n, err);
}

static int enc_final(void *obj, struct ap_error *err)
{
        return ap_age_encryptor_final(obj, err);
}

static int enc_handoff(void *obj, int fd, const char *name, struct ap_error *err)
{
        struct ap_age_encryptor *e = obj;
        if (e->armor)
                return 1;
        e->finished = true;
        return ap_age_stream_pump_fd(e->stream, fd, name, err);
}

int ap_age_encrypt_fd(struct ap_age_recipient *const *recipients, size_t n_recipients, bool armor, int in_fd,
                      const char *in_name, const struct ap_age_sink *sink, struct ap_error *err)
{
        _cleanup_(ap_age_encryptor_freep) struct ap_age_encryptor *e = NULL;
        int r = ap_age_encryptor_new(recipients, n_recipients, armor, sink, &e, err);
        if (r == 0)
                r = feed_fd(in_fd, in_name, e, enc_update, enc_final, enc_handoff, err);
        return r;
}

static int dec_update(void *obj, const void *p, size_t n, struct ap_error *err)
{
        return ap_age_decryptor_update(obj, p, n, err);
}

static int dec_final(void *obj, struct ap_error *err)
{
        return ap_age_decryptor_final(obj, err);
}

static int dec_handoff(void *obj, int fd, const char *name, struct ap_error *err)
{
        struct ap_age_decryptor *d = obj;
        if (d->stage != ST_PAYLOAD || d->armor)
                return 1;
        int r = payload_result(d, ap_age_stream_pump_fd(d->stream, fd, name, err));
        if (r < 0)
                d->failed = r;
        else
                d->stage = ST_DONE;
        return r;
}

int ap_age_decrypt_fd(struct ap_age_identity *const *identities, size_t n_identities,
                      const struct ap_age_decrypt_opts *opts, int in_fd, const char *in_name,
                      const struct ap_age_sink *sink, struct ap_error *err)
{
        _cleanup_(ap_age_decryptor_freep) struct ap_age_decryptor *d = NULL;
        int r = ap_age_decryptor_new(identities, n_identities, opts, sink, &d, err);
        if (r == 0)
                r = feed_fd(in_fd, in_name, d, dec_update, dec_final, dec_handoff, err);
        if (opts && opts->failure)
                *opts->failure = ap_age_decryptor_failure(d);
        return r;
}
