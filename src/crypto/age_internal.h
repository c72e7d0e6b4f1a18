/* age_internal.h - what the age_*.c files share and nothing outside src/crypto may use: the identity,
 * recipient and header structures, the primitives (HKDF, one-shot AEAD, X25519, scrypt) and the
 * per-recipient-type wrap/unwrap entry points. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/age.h"

#define AP_AGE_FILE_KEY_LEN  16
#define AP_AGE_KEY_LEN       32
#define AP_AGE_NONCE_LEN     16 /* payload nonce after the header */
#define AP_AGE_TAG_LEN       16
#define AP_AGE_CHUNK_LEN     65536
#define AP_AGE_CT_CHUNK_LEN  (AP_AGE_CHUNK_LEN + AP_AGE_TAG_LEN)
#define AP_AGE_HEADER_MAX    ((size_t)1 << 20) /* far above any real header; bounds a hostile one */
#define AP_AGE_INTRO         "age-encryption.org/v1"
#define AP_AGE_COLUMNS       64 /* base64 columns per header body line and per armor line */
#define AP_AGE_LINE_BYTES    48 /* bytes per full base64 line */
#define AP_AGE_SCRYPT_WF_MAX 22 /* largest work factor a scrypt identity accepts, as age */

enum ap_age_kind {
        AP_AGE_KIND_X25519 = 1,
        AP_AGE_KIND_SCRYPT,
};

struct ap_age_identity {
        enum ap_age_kind kind;
        uint8_t secret[AP_AGE_KEY_LEN]; /* X25519 scalar, unclamped */
        uint8_t public[AP_AGE_KEY_LEN]; /* X25519(secret, 9) */
        char *pass;                     /* scrypt passphrase (wiped on free) */
        size_t pass_len;
        int max_work_factor;
};

struct ap_age_recipient {
        enum ap_age_kind kind;
        uint8_t public[AP_AGE_KEY_LEN];
        char *pass;
        size_t pass_len;
        int work_factor;
};

/* One recipient stanza: args[0] is the type. */
struct ap_age_stanza {
        char **args;
        size_t n_args;
        uint8_t *body;
        size_t body_len;
};

struct ap_age_header {
        struct ap_age_stanza *stanzas;
        size_t n;
        uint8_t mac[32];
};

void ap_age_header_release(struct ap_age_header *h);
/* Append a stanza (copies type/args/body); -ENOMEM on failure. */
int ap_age_header_add(struct ap_age_header *h, const char *const *args, size_t n_args, const void *body,
                      size_t body_len) _warn_unused_;
/* Append the header without the MAC: intro, stanzas, "---". */
int ap_age_header_write_without_mac(const struct ap_age_header *h, struct ap_buf *out) _warn_unused_;

/* Incremental strict header parser: feed bytes until it returns 1 (complete); *ret_used says how many
 * of the fed bytes belonged to the header. Syntax errors are AP_E_CORRUPT, a header past AP_AGE_HEADER_MAX
 * AP_E_TOO_LARGE. raw keeps the header bytes. */
struct ap_age_header_parser {
        int state;
        struct ap_age_header hdr;
        struct ap_buf raw;     /* header bytes seen so far */
        size_t line_start;     /* offset in raw of the line being assembled */
        size_t mac_input_len;  /* bytes covered by the MAC (through "---") once complete */
        struct ap_buf body;    /* body of the stanza being parsed */
        struct ap_buf argtext; /* opening line of the stanza being parsed */
};
void ap_age_header_parser_init(struct ap_age_header_parser *p);
void ap_age_header_parser_release(struct ap_age_header_parser *p);
int ap_age_header_parser_feed(struct ap_age_header_parser *p, const void *data, size_t n, size_t *ret_used,
                              struct ap_error *err) _warn_unused_;
/* Call at end of input when feed never returned 1: always an AP_E_CORRUPT error. */
int ap_age_header_parser_eof(struct ap_age_header_parser *p, struct ap_error *err) _warn_unused_;

/* Primitives (age_primitives.c). All return 0 or a negative code; none sets err except where noted. */
int ap_age_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len, const char *info,
                size_t info_len, uint8_t out[32]) _warn_unused_;
/* ChaCha20-Poly1305 with a zero nonce (keys used once): out gets len + 16 bytes. */
int ap_age_aead_seal(const uint8_t key[32], const void *in, size_t len, uint8_t *out) _warn_unused_;
/* Opens len bytes (including the tag) into out (len - 16 bytes); -EBADMSG when authentication fails. */
int ap_age_aead_open(const uint8_t key[32], const uint8_t *in, size_t len, uint8_t *out) _warn_unused_;
int ap_age_header_mac(const uint8_t file_key[AP_AGE_FILE_KEY_LEN], const void *hdr, size_t len,
                      uint8_t mac[32]) _warn_unused_;
int ap_age_payload_key(const uint8_t file_key[AP_AGE_FILE_KEY_LEN], const uint8_t nonce[AP_AGE_NONCE_LEN],
                       uint8_t key[32]) _warn_unused_;
int ap_age_random(void *p, size_t n) _warn_unused_;
/* X25519(scalar, point); -EINVAL when the result is all zero (low-order point). */
int ap_age_x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32]) _warn_unused_;
int ap_age_x25519_base(const uint8_t scalar[32], uint8_t out[32]) _warn_unused_;
int ap_age_scrypt(const char *pass, size_t pass_len, const void *salt, size_t salt_len, int log_n,
                  uint8_t out[32]) _warn_unused_;

/* Unwrap results: 0 = file key found, AP_AGE_NOT_MINE = try the next stanza/identity, or an error
 * (err set: AP_E_CORRUPT for malformed stanzas, AP_E_TOO_LARGE for an scrypt work factor past the limit). */
#define AP_AGE_NOT_MINE 1
int ap_age_x25519_wrap(const struct ap_age_recipient *r, const uint8_t file_key[AP_AGE_FILE_KEY_LEN],
                       struct ap_age_header *h, struct ap_error *err) _warn_unused_;
int ap_age_x25519_unwrap(const struct ap_age_identity *id, const struct ap_age_header *h,
                         uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err) _warn_unused_;
int ap_age_scrypt_wrap(const struct ap_age_recipient *r, const uint8_t file_key[AP_AGE_FILE_KEY_LEN],
                       struct ap_age_header *h, struct ap_error *err) _warn_unused_;
int ap_age_scrypt_unwrap(const struct ap_age_identity *id, const struct ap_age_header *h,
                         uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err) _warn_unused_;

/* STREAM payload (age_stream.c): push interfaces writing through an ap_age_sink. */
struct ap_age_stream {
        EVP_CIPHER_CTX *ctx; /* keyed once; each chunk only sets the nonce */
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
        uint64_t sink_pos;   /* bytes the sink received so far, a header included (the pump aligns to it) */
        bool payload_failed; /* the error returned was the payload's own (bad tag, truncation, trailing data)
                              */
};
extern const char ap_age_msg_bad_chunk[], ap_age_msg_truncated[], ap_age_msg_trailing[];
struct ap_age_stream *ap_age_stream_new(const uint8_t key[32], bool encrypt, const struct ap_age_sink *sink);
struct ap_age_stream *ap_age_stream_free(struct ap_age_stream *s);
int ap_age_stream_update(struct ap_age_stream *s, const void *data, size_t n,
                         struct ap_error *err) _warn_unused_;
int ap_age_stream_final(struct ap_age_stream *s, struct ap_error *err) _warn_unused_;
/* Write out what the push interface batched so far (a pump starting mid-stream calls it first). */
int ap_age_stream_flush(struct ap_age_stream *s, struct ap_error *err) _warn_unused_;
/* The per-chunk rules: process one chunk of len bytes (a full chunk unless at_end; at_end says no input
 * follows it) into out (room for 65552 bytes). Returns 0 with *ret_len output bytes, or -EBADMSG with a
 * payload-failure message in *ret_msg (or -EIO). A full decrypted chunk at the end that was not final
 * leaves s->done false: the caller reports truncation. */
int ap_age_stream_step(struct ap_age_stream *s, const uint8_t *in, size_t len, bool at_end, uint8_t *out,
                       size_t *ret_len, const char **ret_msg) _warn_unused_;

/* The whole-file pump (age_pump.c): read fd to its end through the stream (after what the push interface
 * holds) and finish it. With more than one CPU a helper thread works on every other slot of 4 chunks, and
 * calls the sink for those: one call at a time and in order, and only with chunks that authenticated.
 * Memory stays constant. */
int ap_age_stream_pump_fd(struct ap_age_stream *s, int fd, const char *name,
                          struct ap_error *err) _warn_unused_;
/* Whether pumps use the helper thread: -1 (default) when the process may run on more than one CPU, 0 never,
 * 1 always. Tests set it to cover both paths. */
extern int ap_age_pump_threads;

/* ASCII armor (age_armor.c). The writer encodes what it is given to its sink; the reader decodes
 * strictly (AP_E_CORRUPT) and passes the binary bytes on. */
struct ap_age_armor;
struct ap_age_armor *ap_age_armor_new(bool encode, const struct ap_age_sink *sink);
struct ap_age_armor *ap_age_armor_free(struct ap_age_armor *a);
int ap_age_armor_update(struct ap_age_armor *a, const void *data, size_t n,
                        struct ap_error *err) _warn_unused_;
int ap_age_armor_final(struct ap_age_armor *a, struct ap_error *err) _warn_unused_;
/* True when the first bytes of an input look like armor (after whitespace), as age's CLI decides;
 * *ret_decided is false while more bytes are needed (pass at_eof once input ended). */
bool ap_age_armor_detect(const void *data, size_t n, bool at_eof, bool *ret_decided);
