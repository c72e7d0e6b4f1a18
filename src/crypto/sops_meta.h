/* sops_meta.h - the 'sops' metadata block (stores/stores.go metadata): key groups with their age entries,
 * lastmodified, mac, the crypt rule, mac_only_encrypted, shamir_threshold and version. Read from the first
 * document (the block is removed from every document, as sops does) and written into every document with
 * sops 3.13's layout (keys sorted at every level, empty lists omitted, lastmodified quoted by the emitter).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "sops_rules.h"
#include "sops_tree.h"

#define AP_SOPS_WRITE_VERSION "3.9.0" /* a real sops release; sops decrypt insists on a semver here */
/* Key groups share the data key through Shamir's scheme over GF(2^8), which has 255 usable x coordinates:
 * sops's shamir.Split refuses more parts and shamir.Combine finds a duplicate among more. A file or config
 * naming more is refused while it is read (AP_E_TOO_LARGE). */
#define AP_SOPS_KEY_GROUPS_MAX 255

struct ap_sops_age_entry {
        char *recipient;
        char *enc; /* armored age file of the data key (or of this group's Shamir share) */
};

struct ap_sops_key_group {
        struct ap_sops_age_entry *age;
        size_t n_age;
        size_t n_other; /* keys of types we cannot use (pgp, kms, ...) */
};

struct ap_sops_meta {
        struct ap_sops_key_group *groups;
        size_t n_groups;
        int shamir_threshold; /* 0: not set */
        char *lastmodified;   /* as stored */
        char *mac;            /* ENC[...] or NULL */
        char *version;
        enum ap_sops_rule_kind rule; /* NONE when the file names none (then _unencrypted applies) */
        char *rule_value;
        bool mac_only_encrypted;
};

/* Remove the top-level 'sops' entry from every document and parse the first document's. err says what is
 * missing or malformed ("no keys found in file", "more than one crypt rule", ...). */
int ap_sops_meta_extract(struct ap_sops_docs *docs, struct ap_sops_meta *ret,
                         struct ap_error *err) _warn_unused_;
void ap_sops_meta_release(struct ap_sops_meta *m);

/* lastmodified as sops uses it for the MAC AAD: parsed as RFC 3339 and formatted again (fractions dropped,
 * +00:00 -> Z). */
int ap_sops_meta_lastmodified_aad(const struct ap_sops_meta *m, struct ap_buf *out,
                                  struct ap_error *err) _warn_unused_;

/* Append a 'sops' entry built from m to every document. A document that already has one is refused. */
int ap_sops_meta_attach(struct ap_sops_docs *docs, const struct ap_sops_meta *m,
                        struct ap_error *err) _warn_unused_;

/* Add an age entry to group g (copies the strings). */
int ap_sops_meta_add_age(struct ap_sops_meta *m, size_t g, const char *recipient,
                         const char *enc) _warn_unused_;
