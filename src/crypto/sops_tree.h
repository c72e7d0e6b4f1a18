/* sops_tree.h - the ordered document tree SOPS works on (sops.go TreeBranch): mappings keep file order,
 * lists, typed scalars as go-yaml v3 decodes them, and comments as pseudo-entries. Every string in the
 * tree may be a secret, so all of them are wiped when a node is freed.
 *
 * Ownership: a node owns its key, its string and its children; ap_sops_node_free frees the whole subtree.
 * Functions that take a child (append, insert) take ownership only when they succeed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

enum ap_sops_type {
        AP_SOPS_NULL,
        AP_SOPS_STR,
        AP_SOPS_INT,
        AP_SOPS_FLOAT,
        AP_SOPS_BOOL,
        AP_SOPS_TIME,    /* str: RFC 3339 with nanoseconds, exactly as Go's Time.MarshalText writes it */
        AP_SOPS_BYTES,   /* a decrypted 'type:bytes' value (sops never writes one) */
        AP_SOPS_COMMENT, /* str: the text after '#', leading space kept */
        AP_SOPS_MAP,
        AP_SOPS_LIST,
};

struct ap_sops_node {
        enum ap_sops_type type;
        bool inline_comment; /* COMMENT: stood after a value on its line (go-yaml "line comment") */
        char *key;           /* entries of a MAP (not comments): the key, NUL-terminated; else NULL */
        size_t key_len;
        char *str; /* STR, TIME, BYTES, COMMENT: the bytes, NUL-terminated; else NULL */
        size_t len;
        int64_t i;                  /* INT */
        double f;                   /* FLOAT */
        bool b;                     /* BOOL */
        struct ap_sops_node **kids; /* MAP, LIST: children in order, comments included */
        size_t n, cap;
};

/* A YAML stream: one MAP per document (JSON files have exactly one). */
struct ap_sops_docs {
        struct ap_sops_node **docs;
        size_t n, cap;
};
#define AP_SOPS_DOCS_INIT                                                                                    \
        {                                                                                                    \
                NULL, 0, 0                                                                                   \
        }

/* NULL when out of memory. */
struct ap_sops_node *ap_sops_node_new(enum ap_sops_type type);
struct ap_sops_node *ap_sops_node_free(struct ap_sops_node *node);
AP_DEFINE_CLEANUP(struct ap_sops_node *, ap_sops_node_free)

/* Copy s (n bytes) into the node's string / key, replacing (and wiping) the old one. */
int ap_sops_node_set_str(struct ap_sops_node *node, const char *s, size_t n) _warn_unused_;
int ap_sops_node_set_key(struct ap_sops_node *node, const char *s, size_t n) _warn_unused_;
/* Convenience constructors: a string scalar, a comment. NULL when out of memory. */
struct ap_sops_node *ap_sops_node_new_str(const char *s, size_t n);
struct ap_sops_node *ap_sops_node_new_comment(const char *s, size_t n, bool is_inline);

/* Add child at the end / at index idx (<= parent->n). On failure the caller still owns child. */
int ap_sops_node_append(struct ap_sops_node *parent, struct ap_sops_node *child) _warn_unused_;
int ap_sops_node_insert(struct ap_sops_node *parent, size_t idx, struct ap_sops_node *child) _warn_unused_;
/* Detach and return child idx; the caller owns it. */
struct ap_sops_node *ap_sops_node_take(struct ap_sops_node *parent, size_t idx);
/* Append a map entry key -> value (value is taken on success). */
int ap_sops_map_add(struct ap_sops_node *map, const char *key, struct ap_sops_node *value) _warn_unused_;

/* Deep copy (keys, strings, children). */
int ap_sops_node_copy(const struct ap_sops_node *node, struct ap_sops_node **ret) _warn_unused_;
/* The first entry of map named key (comments skipped), or NULL. The result is borrowed from map. */
struct ap_sops_node *ap_sops_map_get(const struct ap_sops_node *map, const char *key);
/* Index of that entry, or -1. */
long ap_sops_map_index(const struct ap_sops_node *map, const char *key);
/* Number of nodes in the subtree (for limits on alias expansion). */
size_t ap_sops_node_count(const struct ap_sops_node *node);
/* True for the scalar types the SOPS walk encrypts (everything but NULL, MAP, LIST). */
bool ap_sops_node_is_leaf(const struct ap_sops_node *node);

/* The keys of one mapping being loaded, to refuse a repeated one: an open-addressing set of the entries
 * (borrowed: they belong to the mapping). Zero-initialise; release frees the set, not the entries. */
struct ap_sops_keyset {
        struct ap_sops_node **slots;
        size_t n, cap;
};
bool ap_sops_keyset_has(const struct ap_sops_keyset *ks, const char *key, size_t len);
/* Add entry (which has a key); -ENOMEM when the set cannot grow. */
int ap_sops_keyset_add(struct ap_sops_keyset *ks, struct ap_sops_node *entry) _warn_unused_;
void ap_sops_keyset_release(struct ap_sops_keyset *ks);

void ap_sops_docs_release(struct ap_sops_docs *d);
int ap_sops_docs_append(struct ap_sops_docs *d, struct ap_sops_node *doc) _warn_unused_;
