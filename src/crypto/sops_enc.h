/* sops_enc.h - one SOPS value: AES-256-GCM under the file's data key with a 32-byte IV, written as
 * ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>] (standard padded base64; data excludes the
 * 16-byte tag; the AAD is the caller's: key path + ':' for values, lastmodified for the MAC).
 *
 * A struct ap_sops_cipher holds the data key and reusable OpenSSL contexts; one per thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define AP_SOPS_KEY_LEN 32
#define AP_SOPS_IV_LEN  32 /* what sops writes; any length is accepted on decrypt */
#define AP_SOPS_TAG_LEN 16

/* The parts of an ENC[] string, as slices of the parsed text (still base64). */
struct ap_sops_enc {
        const char *data, *iv, *tag, *type;
        size_t data_len, iv_len, tag_len, type_len;
};

/* Split s into its fields. -EINVAL unless s is exactly ENC[AES256_GCM,data:..,iv:..,tag:..,type:..]
 * with non-empty fields, base64 characters in the first three and [a-z] in type. */
int ap_sops_enc_parse(const char *s, size_t n, struct ap_sops_enc *ret) _warn_unused_;
/* True when s starts like an ENC[] value (sops's own test before parsing). */
int ap_sops_enc_looks_encrypted(const char *s, size_t n) _warn_unused_;

struct ap_sops_cipher;
int ap_sops_cipher_new(const uint8_t key[AP_SOPS_KEY_LEN], struct ap_sops_cipher **ret) _warn_unused_;
struct ap_sops_cipher *ap_sops_cipher_free(struct ap_sops_cipher *c);
AP_DEFINE_CLEANUP(struct ap_sops_cipher *, ap_sops_cipher_free)

/* Seal n plaintext bytes with the given IV and AAD and append the ENC[] string with the type tag. */
int ap_sops_cipher_seal(struct ap_sops_cipher *c, const uint8_t *iv, size_t iv_len, const char *aad,
                        size_t aad_len, const void *pt, size_t n, const char *type,
                        struct ap_buf *out) _warn_unused_;
/* Parse and open s; append the plaintext to pt (use a secret buffer) and return the parsed fields
 * (slices of s) in ret_enc. err says what is wrong: malformed value, bad base64, or authentication
 * failure (wrong key or AAD, tampered value). */
int ap_sops_cipher_open(struct ap_sops_cipher *c, const char *s, size_t n, const char *aad, size_t aad_len,
                        struct ap_buf *pt, struct ap_sops_enc *ret_enc, struct ap_error *err) _warn_unused_;
