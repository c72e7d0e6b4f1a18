/* store.h - the informer's cache: each object kept as one allocation holding its compact JSON, its
 * resourceVersion and its index values (about the size of the object's JSON, several times less than a
 * parsed tree), keyed "namespace/name", with indexes from index values to keys. Objects are parsed back
 * on read. Entries are wiped (OPENSSL_cleanse) when freed or replaced, as they may hold Secrets. Not
 * thread-safe: the informer holds its lock around every call. */
#pragma once

#include "base/macro.h"

#include <jansson.h>
#include <stdbool.h>

#include "keymap.h"

#define AP_KUBE_STORE_MAX_INDEXES 8
#define AP_KUBE_STORE_MAX_VALUES  8 /* index values per object and index */

/* Index functions put up to max values of obj (borrowed from obj, or static) into values and return how
 * many. */
typedef size_t (*ap_kube_index_fn)(void *userdata, const json_t *obj, const char **values, size_t max);

struct ap_kube_store_entry;

struct ap_kube_store_index {
        const char *name; /* borrowed from the informer */
        ap_kube_index_fn fn;
        void *userdata;
        struct ap_keymap values; /* index value -> struct ap_keymap * (a set of keys) */
};

struct ap_kube_store {
        struct ap_keymap items; /* key -> struct ap_kube_store_entry * (owned) */
        struct ap_kube_store_index indexes[AP_KUBE_STORE_MAX_INDEXES];
        size_t n_indexes;
};

void ap_kube_store_init(struct ap_kube_store *s);
/* An empty store with the same index definitions as model. */
void ap_kube_store_init_like(struct ap_kube_store *s, const struct ap_kube_store *model);
void ap_kube_store_release(struct ap_kube_store *s);
int ap_kube_store_add_index(struct ap_kube_store *s, const char *name, ap_kube_index_fn fn,
                            void *userdata) _warn_unused_;

/* Serialise obj (with its index values for s's indexes) into a new entry; NULL when out of memory or when
 * obj has no resourceVersion. */
struct ap_kube_store_entry *ap_kube_store_entry_new(const struct ap_kube_store *s, const json_t *obj);
void ap_kube_store_entry_free(struct ap_kube_store_entry *e);
const char *ap_kube_store_entry_rv(const struct ap_kube_store_entry *e);
/* A new object parsed from the entry (the caller owns it), or NULL when out of memory. */
json_t *ap_kube_store_entry_parse(const struct ap_kube_store_entry *e);

size_t ap_kube_store_len(const struct ap_kube_store *s);
/* Borrowed; valid until the key is replaced or removed. */
struct ap_kube_store_entry *ap_kube_store_get(const struct ap_kube_store *s, const char *key);
/* Store e under key (taking it) and update the indexes. The entry it replaces goes to *ret_old (the caller
 * frees it), or is freed when ret_old is NULL. On -ENOMEM e is freed and the store is unchanged. */
int ap_kube_store_put(struct ap_kube_store *s, const char *key, struct ap_kube_store_entry *e,
                      struct ap_kube_store_entry **ret_old) _warn_unused_;
/* Remove key; its entry goes to *ret_old (or is freed). False when absent. */
bool ap_kube_store_remove(struct ap_kube_store *s, const char *key, struct ap_kube_store_entry **ret_old);
/* Iterate: size_t it = 0; while (ap_kube_store_next(s, &it, &key, &entry)) ... (no changes meanwhile) */
bool ap_kube_store_next(const struct ap_kube_store *s, size_t *it, const char **ret_key,
                        struct ap_kube_store_entry **ret_entry);
/* The keys under an index value (borrowed set, NULL when none); -ENOENT for an unknown index. */
int ap_kube_store_index_keys(const struct ap_kube_store *s, const char *index, const char *value,
                             const struct ap_keymap **ret) _warn_unused_;
