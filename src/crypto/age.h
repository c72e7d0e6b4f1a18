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

/* Failure classes, returned as negative codes and kept in err->code (match the C2SP/CCTV "expect"
 * vocabulary so tests can classify). */
#define AP_AGE_ERR_ARMOR       (-1001) /* armor failure */
#define AP_AGE_ERR_HEADER      (-1002) /* header failure: syntax, bad stanza, bad share, short nonce... */
#define AP_AGE_ERR_NO_MATCH    (-1003) /* no identity opened any stanza */
#define AP_AGE_ERR_HMAC        (-1004) /* header MAC mismatch */
#define AP_AGE_ERR_PAYLOAD     (-1005) /* STREAM failure (bad tag, truncation, trailing data) */
#define AP_AGE_ERR_UNSUPPORTED (-1006) /* e.g. a post-quantum identity */

struct ap_age_identity;  /* a secret: X25519 scalar or scrypt passphrase */
struct ap_age_recipient; /* a public key (X25519) or a passphrase to encrypt to (scrypt) */

/* Key generation and encoding. */
int ap_age_identity_generate(struct ap_age_identity **ret, struct ap_error *err);
/* Parse one "AGE-SECRET-KEY-1..." string (exactly, no whitespace). */
int ap_age_identity_parse(const char *s, size_t n, struct ap_age_identity **ret, struct ap_error *err);
/* Append "AGE-SECRET-KEY-1..." (callers should use a secret buffer). */
int ap_age_identity_format(const struct ap_age_identity *id, struct ap_buf *out);
/* Append the "age1..." recipient of an X25519 identity. */
int ap_age_identity_recipient_format(const struct ap_age_identity *id, struct ap_buf *out);
struct ap_age_identity *ap_age_identity_free(struct ap_age_identity *id);

/* Parse one "age1..." recipient. */
int ap_age_recipient_parse(const char *s, size_t n, struct ap_age_recipient **ret, struct ap_error *err);
int ap_age_recipient_format(const struct ap_age_recipient *r, struct ap_buf *out);
struct ap_age_recipient *ap_age_recipient_free(struct ap_age_recipient *r);

/* Scrypt (passphrase) identity / recipient; work_factor is log2(N), 18 by default as in age. */
int ap_age_scrypt_identity_new(const char *passphrase, size_t n, struct ap_age_identity **ret,
                               struct ap_error *err);
int ap_age_scrypt_recipient_new(const char *passphrase, size_t n, int work_factor,
                                struct ap_age_recipient **ret, struct ap_error *err);

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
                            struct ap_error *err);
void ap_age_identities_release(struct ap_age_identities *list);

/* Whole-buffer operations (SOPS data keys, small files). Output is appended to out; on failure out
 * holds at most the plaintext released before the failure (decrypt) — callers treat it as invalid. */
int ap_age_encrypt(struct ap_age_recipient *const *recipients, size_t n_recipients, const void *plaintext,
                   size_t len, bool armor, struct ap_buf *out, struct ap_error *err);
/* Detects armor automatically. */
int ap_age_decrypt(struct ap_age_identity *const *identities, size_t n_identities, const void *ciphertext,
                   size_t len, struct ap_buf *out, struct ap_error *err);
