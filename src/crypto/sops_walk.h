/* sops_walk.h - the SOPS tree walk (sops.go Tree.Encrypt/Decrypt): every leaf in document order, encrypted
 * or not according to the crypt rule with AAD = the key path joined by ':' plus ':', and the MAC = SHA-512
 * over the byte form of the values (upper-case hex; only encrypted values, after SHA-256("sops"), with
 * mac_only_encrypted). Also the MAC's own ENC[] value (AAD = lastmodified) and the stash of IVs that lets an
 * unchanged value keep its ciphertext when a file is re-encrypted (sops's aes stash). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "sops_enc.h"
#include "sops_rules.h"
#include "sops_tree.h"

#define AP_SOPS_MAC_HEX_LEN 128

/* Fill buf with n random bytes; 0 or a negative errno. */
typedef int (*ap_sops_random_fn)(void *ctx, void *buf, size_t n);

/* IVs of decrypted values keyed by (AAD, type, plaintext). Holds secrets; wiped when freed. */
struct ap_sops_stash;
int ap_sops_stash_new(struct ap_sops_stash **ret) _warn_unused_;
struct ap_sops_stash *ap_sops_stash_free(struct ap_sops_stash *s);
AP_DEFINE_CLEANUP(struct ap_sops_stash *, ap_sops_stash_free)

struct ap_sops_walk {
        const struct ap_sops_rule *rule;
        bool mac_only_encrypted;
        struct ap_sops_cipher *cipher;
        ap_sops_random_fn random; /* encrypt: IV source; NULL = OpenSSL RAND_bytes */
        void *random_ctx;
        struct ap_sops_stash *stash; /* encrypt: IVs to reuse (may be NULL); decrypt: filled when set */
        size_t max_value;            /* limit on a value's plaintext (AP_E_TOO_LARGE past it); 0: 64 MiB */
        size_t comments_kept;        /* decrypt: encrypted-looking comments that did not open (kept as is) */
};

/* Encrypt docs in place; write the MAC (128 hex digits + NUL) to mac. */
int ap_sops_walk_encrypt(struct ap_sops_walk *w, struct ap_sops_docs *docs, char mac[AP_SOPS_MAC_HEX_LEN + 1],
                         struct ap_error *err) _warn_unused_;
/* Decrypt docs in place (values get back their types); write the recomputed MAC. err names the key path of a
 * value that fails. */
int ap_sops_walk_decrypt(struct ap_sops_walk *w, struct ap_sops_docs *docs, char mac[AP_SOPS_MAC_HEX_LEN + 1],
                         struct ap_error *err) _warn_unused_;

/* The MAC as stored: ENC[] of the hex string with AAD = lastmodified. */
int ap_sops_mac_seal(struct ap_sops_walk *w, const char *mac, const char *lastmodified,
                     struct ap_buf *out) _warn_unused_;
/* Open the stored MAC and compare it with mac; AP_E_CORRUPT ("MAC mismatch") when they differ. */
int ap_sops_mac_verify(struct ap_sops_cipher *c, const char *stored, size_t stored_len,
                       const char *lastmodified, const char *mac, struct ap_error *err) _warn_unused_;
