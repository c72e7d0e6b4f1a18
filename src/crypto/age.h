/* age.h - age v1 (C2SP age.md) file encryption: X25519 and scrypt recipients, header MAC, STREAM
 * payload, ASCII armor. Written here rather than taken from a library because no maintained C library
 * implements age; every primitive comes from OpenSSL 3 libcrypto.
 *
 * Ownership: objects returned through ret_ parameters belong to the caller and are freed with the
 * matching _free function (which wipes key material and accepts NULL). Borrowed arrays are only read
 * during the call. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

/* Error codes are the shared vocabulary (base/error.h):
 *   AP_E_CORRUPT      a malformed or tampered age file: armor, header, stanza, header MAC, payload
 *   AP_E_NO_KEY       no identity (or passphrase) opened any stanza, or none was given
 *   AP_E_TOO_LARGE    past a limit: a header over AP_AGE_HEADER_MAX, an scrypt work factor over the
 *                     identity's limit, output past the buffer's max
 *   AP_E_UNSUPPORTED  a valid key this program does not implement (post-quantum)
 *   AP_E_INVALID      a caller's argument: a malformed key or recipient string, no recipients, ...
 * Which part of a file failed to decrypt is a separate classification, enum ap_age_failure. */

/* What failed in a decryption, for callers that tell failures apart (the C2SP/CCTV vectors' "expect"
 * field); read it with ap_age_decryptor_failure() or through ap_age_decrypt_opts.failure. */
enum ap_age_failure {
        AP_AGE_FAILURE_NONE =
            0,                /* success, or a failure outside the file (memory, I/O, the sink, a callback) */
        AP_AGE_FAILURE_ARMOR, /* the ASCII armor is malformed */
        AP_AGE_FAILURE_HEADER,   /* the header or a stanza is malformed or too large, or the nonce is short */
        AP_AGE_FAILURE_NO_MATCH, /* no identity opened any stanza (a wrong passphrase included) */
        AP_AGE_FAILURE_HMAC,     /* the header MAC does not match: the header was modified */
        AP_AGE_FAILURE_PAYLOAD, /* a payload chunk did not authenticate, the payload is truncated or trails */
};
/* "armor failure", "header failure", "no match", "HMAC failure", "payload failure" (CCTV's words), "none". */
const char *ap_age_failure_name(enum ap_age_failure f);

struct ap_age_identity;  /* a secret: X25519 scalar or scrypt passphrase */
struct ap_age_recipient; /* a public key (X25519) or a passphrase to encrypt to (scrypt) */

/* Key generation and encoding. */
int ap_age_identity_generate(struct ap_age_identity **ret, struct ap_error *err) _warn_unused_;
/* Parse one "AGE-SECRET-KEY-1..." string (exactly, no whitespace). */
int ap_age_identity_parse(const char *s, size_t n, struct ap_age_identity **ret,
                          struct ap_error *err) _warn_unused_;
/* Append "AGE-SECRET-KEY-1..." (callers should use a secret buffer). */
int ap_age_identity_format(const struct ap_age_identity *id, struct ap_buf *out) _warn_unused_;
/* Append the "age1..." recipient of an X25519 identity. */
int ap_age_identity_recipient_format(const struct ap_age_identity *id, struct ap_buf *out) _warn_unused_;
struct ap_age_identity *ap_age_identity_free(struct ap_age_identity *id);

/* Parse one "age1..." recipient. */
int ap_age_recipient_parse(const char *s, size_t n, struct ap_age_recipient **ret,
                           struct ap_error *err) _warn_unused_;
int ap_age_recipient_format(const struct ap_age_recipient *r, struct ap_buf *out) _warn_unused_;
struct ap_age_recipient *ap_age_recipient_free(struct ap_age_recipient *r);

/* Scrypt (passphrase) identity / recipient; work_factor is log2(N), AP_AGE_SCRYPT_WORK_FACTOR as in age. */
#define AP_AGE_SCRYPT_WORK_FACTOR 18
int ap_age_scrypt_identity_new(const char *passphrase, size_t n, struct ap_age_identity **ret,
                               struct ap_error *err) _warn_unused_;
int ap_age_scrypt_recipient_new(const char *passphrase, size_t n, int work_factor,
                                struct ap_age_recipient **ret, struct ap_error *err) _warn_unused_;

/* A list of identities as read from an age-keygen key file (comments, blank lines, CRLF tolerated). */
struct ap_age_identities {
        struct ap_age_identity **items;
        size_t n;
};
#define AP_AGE_IDENTITIES_INIT                                                                               \
        {                                                                                                    \
                NULL, 0                                                                                      \
        }
/* Parse key-file text; name is used in error messages ("key file 'x', line 3: ..."). Appends to list. */
int ap_age_identities_parse(struct ap_age_identities *list, const char *text, size_t n, const char *name,
                            struct ap_error *err) _warn_unused_;
void ap_age_identities_release(struct ap_age_identities *list);

/* Whole-buffer operations (SOPS data keys, small files). Output is appended to out only on success: on
 * failure out is cut back to its length before the call (wiped when it is a secret buffer, as plaintext
 * output should be). */
int ap_age_encrypt(struct ap_age_recipient *const *recipients, size_t n_recipients, const void *plaintext,
                   size_t len, bool armor, struct ap_buf *out, struct ap_error *err) _warn_unused_;
/* Detects armor automatically. */
int ap_age_decrypt(struct ap_age_identity *const *identities, size_t n_identities, const void *ciphertext,
                   size_t len, struct ap_buf *out, struct ap_error *err) _warn_unused_;

/* ---- Additions beyond the original surface (streaming, key files, recipient lists) ---- */

/* Post-quantum (hybrid ML-KEM-768 + X25519) keys, "AGE-SECRET-KEY-PQ-1..." and "age1pq1...", fail to parse
 * with AP_E_UNSUPPORTED: OpenSSL 3.0 has no ML-KEM. */

/* Recipients as read from a recipients file (-R): "age1..." lines, '#' comments and blank lines. */
struct ap_age_recipients {
        struct ap_age_recipient **items;
        size_t n;
};
#define AP_AGE_RECIPIENTS_INIT                                                                               \
        {                                                                                                    \
                NULL, 0                                                                                      \
        }
int ap_age_recipients_parse(struct ap_age_recipients *list, const char *text, size_t n, const char *name,
                            struct ap_error *err) _warn_unused_;
/* Take ownership of r (appended); on failure r is freed. */
int ap_age_recipients_add(struct ap_age_recipients *list, struct ap_age_recipient *r,
                          struct ap_error *err) _warn_unused_;
void ap_age_recipients_release(struct ap_age_recipients *list);
/* Take ownership of id (appended); on failure id is freed. */
int ap_age_identities_add(struct ap_age_identities *list, struct ap_age_identity *id,
                          struct ap_error *err) _warn_unused_;
/* The recipient of an X25519 identity (a new object the caller frees); -EINVAL for scrypt identities. */
int ap_age_identity_to_recipient(const struct ap_age_identity *id, struct ap_age_recipient **ret,
                                 struct ap_error *err) _warn_unused_;

/* Append the three lines age-keygen writes: "# created: <RFC 3339, local offset>", "# public key:
 * age1...", "AGE-SECRET-KEY-1..." (out should be a secret buffer). */
int ap_age_keyfile_format(const struct ap_age_identity *id, long long now_unix,
                          struct ap_buf *out) _warn_unused_;

/* Streaming. Output bytes go to a sink in order; a sink error stops the operation and is returned. */
struct ap_age_sink {
        int (*write)(void *ctx, const void *p, size_t n, struct ap_error *err);
        void *ctx;
};

/* Encrypt: new (wraps the file key for every recipient and writes the header to the sink), update with
 * plaintext pieces, final once. Memory stays constant (a few chunks) whatever the input size. An scrypt
 * recipient must be the only one. */
struct ap_age_encryptor;
int ap_age_encryptor_new(struct ap_age_recipient *const *recipients, size_t n_recipients, bool armor,
                         const struct ap_age_sink *sink, struct ap_age_encryptor **ret,
                         struct ap_error *err) _warn_unused_;
int ap_age_encryptor_update(struct ap_age_encryptor *e, const void *p, size_t n,
                            struct ap_error *err) _warn_unused_;
int ap_age_encryptor_final(struct ap_age_encryptor *e, struct ap_error *err) _warn_unused_;
struct ap_age_encryptor *ap_age_encryptor_free(struct ap_age_encryptor *e);

enum ap_age_input {
        AP_AGE_INPUT_AUTO,    /* armor when the input starts (after whitespace) with the BEGIN line */
        AP_AGE_INPUT_BINARY,  /* never armor */
        AP_AGE_INPUT_ARMORED, /* always armor (strict reader) */
};

/* Asked once for a passphrase when the header holds an scrypt stanza and no identity was given; append
 * the passphrase to pass (a secret buffer). */
typedef int (*ap_age_passphrase_fn)(void *ctx, struct ap_buf *pass, struct ap_error *err);

struct ap_age_decrypt_opts {
        enum ap_age_input input;
        ap_age_passphrase_fn passphrase; /* may be NULL */
        void *passphrase_ctx;
        /* When set, ap_age_decrypt_opts and ap_age_decrypt_fd store what failed there (NONE on success). */
        enum ap_age_failure *failure;
};

/* Decrypt: plaintext reaches the sink only after its chunk authenticated. With no identities, a
 * passphrase-encrypted file calls opts->passphrase; any other file fails with AP_E_NO_KEY. identities is
 * borrowed until the decryptor is freed; opts may be NULL (AUTO, no passphrase callback). */
struct ap_age_decryptor;
int ap_age_decryptor_new(struct ap_age_identity *const *identities, size_t n_identities,
                         const struct ap_age_decrypt_opts *opts, const struct ap_age_sink *sink,
                         struct ap_age_decryptor **ret, struct ap_error *err) _warn_unused_;
int ap_age_decryptor_update(struct ap_age_decryptor *d, const void *p, size_t n,
                            struct ap_error *err) _warn_unused_;
int ap_age_decryptor_final(struct ap_age_decryptor *d, struct ap_error *err) _warn_unused_;
struct ap_age_decryptor *ap_age_decryptor_free(struct ap_age_decryptor *d);
/* What made update or final fail (NONE while nothing failed, or when the failure was not the file's). */
enum ap_age_failure ap_age_decryptor_failure(const struct ap_age_decryptor *d);

/* Whole-buffer decrypt with options (ap_age_decrypt is this with opts NULL). */
int ap_age_decrypt_opts(struct ap_age_identity *const *identities, size_t n_identities,
                        const struct ap_age_decrypt_opts *opts, const void *ciphertext, size_t len,
                        struct ap_buf *out, struct ap_error *err) _warn_unused_;

/* Stream from a file descriptor to a sink in large reads; in_name names the input in errors. With more than
 * one CPU, two threads work on the payload: the sink may then be called from a helper thread (one call at a
 * time, in order, done before these return). */
int ap_age_encrypt_fd(struct ap_age_recipient *const *recipients, size_t n_recipients, bool armor, int in_fd,
                      const char *in_name, const struct ap_age_sink *sink,
                      struct ap_error *err) _warn_unused_;
int ap_age_decrypt_fd(struct ap_age_identity *const *identities, size_t n_identities,
                      const struct ap_age_decrypt_opts *opts, int in_fd, const char *in_name,
                      const struct ap_age_sink *sink, struct ap_error *err) _warn_unused_;
