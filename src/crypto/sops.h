/* sops.h - SOPS v3 files, as the sops tool writes and reads them (YAML and JSON stores, AES256_GCM values,
 * the MAC, age recipients): encrypt a document to age recipients, decrypt it with age identities, and tell
 * whether a committed file already holds a given plaintext so it need not be re-encrypted.
 *
 * Keys are always arguments (nothing is read from the environment here). Outputs are appended to out only
 * on success; decrypted output is plaintext, so pass a secret buffer (AP_BUF_INIT_SECRET).
 *
 * Error codes (base/error.h):
 *   AP_E_INVALID      a plaintext document that does not parse, or a file that is not SOPS-encrypted
 *   AP_E_CORRUPT      a SOPS file whose metadata or ENC[] values are malformed, a value that does not
 *                     authenticate, a MAC mismatch
 *   AP_E_NO_KEY       no given identity opens the data key (for enough key groups)
 *   AP_E_TOO_LARGE    past a limit: document, value or output size, nesting, alias expansion, key groups
 *   AP_E_EXISTS       encrypting a document that already has a top-level 'sops' key
 *   AP_E_UNSUPPORTED  RE2 regex syntax without a POSIX translation
 * Messages name the key path, line or recipient and the cause; they never quote a value of the document. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/age.h"
#include "crypto/sops_json.h"
#include "crypto/sops_rules.h"
#include "crypto/sops_walk.h"

enum ap_sops_format { AP_SOPS_FORMAT_YAML, AP_SOPS_FORMAT_JSON };

/* The limit on the input document, on any one value (its plaintext) and on the output, unless the options
 * say otherwise (max_size). Kubernetes caps a Secret at 1 MiB; past the limit the error is AP_E_TOO_LARGE
 * and its message says which of the three went past it. */
#define AP_SOPS_MAX_SIZE_DEFAULT ((size_t)64 << 20)

/* One key group: every recipient gets the data key (or, with several groups, the group's Shamir share). */
struct ap_sops_recipient_group {
        struct ap_age_recipient *const *recipients;
        size_t n;
};

struct ap_sops_encrypt_opts {
        /* a single key group (the usual case) ... */
        struct ap_age_recipient *const *recipients;
        size_t n_recipients;
        /* ... or several, combined with Shamir's scheme (threshold 0 = all groups) */
        const struct ap_sops_recipient_group *groups;
        size_t n_groups;
        int shamir_threshold;
        enum ap_sops_rule_kind rule; /* NONE: unencrypted_suffix "_unencrypted", written out as sops does */
        const char *rule_value;
        bool mac_only_encrypted;
        enum ap_sops_format input, output;
        int yaml_indent;          /* 0: 4 */
        int json_indent;          /* AP_SOPS_JSON_INDENT_TAB: one TAB per level */
        long long now;            /* lastmodified, Unix seconds; 0: the current time */
        ap_sops_random_fn random; /* data key, IVs; NULL: OpenSSL's RAND_bytes */
        void *random_ctx;
        /* An earlier encryption of the same file (optional). When its recipients are the same, its data key
         * and age entries are kept and values that did not change keep their ciphertext (sops's stash), so a
         * re-encryption changes only what changed. identities open it. */
        const char *previous;
        size_t previous_len;
        struct ap_age_identity *const *identities;
        size_t n_identities;
        size_t max_size; /* 0: AP_SOPS_MAX_SIZE_DEFAULT */
};
#define AP_SOPS_ENCRYPT_OPTS_INIT                                                                            \
        {                                                                                                    \
                .json_indent = AP_SOPS_JSON_INDENT_TAB                                                       \
        }

struct ap_sops_decrypt_opts {
        struct ap_age_identity *const *identities;
        size_t n_identities;
        enum ap_sops_format input, output;
        int yaml_indent;
        int json_indent;
        bool ignore_mac; /* sops's --ignore-mac */
        size_t max_size; /* 0: AP_SOPS_MAX_SIZE_DEFAULT */
        /* When set, receives true when decryption failed at the MAC alone (missing, not opening or not
         * matching): what ignore_mac would have let through. */
        bool *mac_failed;
};
#define AP_SOPS_DECRYPT_OPTS_INIT                                                                            \
        {                                                                                                    \
                .json_indent = AP_SOPS_JSON_INDENT_TAB                                                       \
        }

/* Encrypt the plaintext document(s) in (n bytes) and append the SOPS file to out. err says what failed
 * (the line and key path for bad input, the recipient for an age failure). */
int ap_sops_encrypt(const char *in, size_t n, const struct ap_sops_encrypt_opts *o, struct ap_buf *out,
                    struct ap_error *err) _warn_unused_;

/* Decrypt a SOPS file and append the plaintext to out. Fails on a MAC mismatch unless ignore_mac. */
int ap_sops_decrypt(const char *in, size_t n, const struct ap_sops_decrypt_opts *o, struct ap_buf *out,
                    struct ap_error *err) _warn_unused_;

/* What a committed file must hold to stay as it is. */
struct ap_sops_match_opts {
        struct ap_age_identity *const *identities;
        size_t n_identities;
        const char *const *recipients; /* "age1..." strings the file must be encrypted to, exactly */
        size_t n_recipients;
        enum ap_sops_rule_kind rule;
        const char *rule_value;
        bool mac_only_encrypted;
        enum ap_sops_format format; /* of both the committed file and the plaintext */
        size_t max_size;            /* 0: AP_SOPS_MAX_SIZE_DEFAULT */
};

/* *ret_match = true when the committed file decrypts (MAC verified) to the same documents as plaintext
 * (compared after normalising both through the same emitter), to exactly the given recipients, with the
 * given crypt rule. A file that does not decrypt is an error, not a mismatch. */
int ap_sops_matches(const char *committed, size_t committed_len, const char *plaintext, size_t plaintext_len,
                    const struct ap_sops_match_opts *o, bool *ret_match, struct ap_error *err) _warn_unused_;
