/* keymap.h - a string-keyed hash map (open addressing, linear probing, backward-shift deletion) for the
 * informer store, its indexes and the workqueue's sets. Keys are copied in (or, in a map set up with
 * ap_keymap_init_borrowed, borrowed); values are borrowed pointers whose owner frees them. Not
 * thread-safe: the owner holds its own lock. */
#pragma once

#include "base/macro.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ap_keymap_slot {
        char *key; /* NULL = empty slot */
        uint64_t hash;
        void *value;
};

struct ap_keymap {
        struct ap_keymap_slot *slots;
        size_t cap; /* 0 or a power of two */
        size_t len;
        bool borrowed; /* keys are the caller's, not copied or freed (ap_keymap_init_borrowed) */
};

#define AP_KEYMAP_INIT                                                                                       \
        {                                                                                                    \
                NULL, 0, 0, false                                                                            \
        }

void ap_keymap_init(struct ap_keymap *m);
/* A map that stores the key pointers it is given instead of copies: each key must stay valid and
 * unchanged until it is removed or the map released (typically the key lives inside the value). */
void ap_keymap_init_borrowed(struct ap_keymap *m);
/* Free keys and slots; free_value (may be NULL) is called on every value. m is left empty and usable. */
void ap_keymap_release(struct ap_keymap *m, void (*free_value)(void *value));
/* The value stored under key, or NULL (also when the stored value is NULL; use _contains to tell). */
void *ap_keymap_get(const struct ap_keymap *m, const char *key);
bool ap_keymap_contains(const struct ap_keymap *m, const char *key);
/* Insert or replace. On replace the old value is handed out through ret_old (may be NULL, then the old
 * value is simply dropped). -ENOMEM on allocation failure (map unchanged); replacing the value of a key
 * already present never allocates and never fails. */
int ap_keymap_put(struct ap_keymap *m, const char *key, void *value, void **ret_old) _warn_unused_;
/* Remove key; true if it was present, its value handed out through ret_old (may be NULL). */
bool ap_keymap_remove(struct ap_keymap *m, const char *key, void **ret_old);
/* The same with the key's ap_keymap_hash() computed beforehand (once per key, or outside a lock). */
uint64_t ap_keymap_hash(const char *key);
void *ap_keymap_get_hashed(const struct ap_keymap *m, const char *key, uint64_t hash);
int ap_keymap_put_hashed(struct ap_keymap *m, const char *key, uint64_t hash, void *value,
                         void **ret_old) _warn_unused_;
bool ap_keymap_remove_hashed(struct ap_keymap *m, const char *key, uint64_t hash, void **ret_old);
/* Iterate: size_t it = 0; const char *k; void *v; while (ap_keymap_next(m, &it, &k, &v)) ...
 * The map must not change during iteration. */
bool ap_keymap_next(const struct ap_keymap *m, size_t *it, const char **ret_key, void **ret_value);
static inline size_t ap_keymap_size(const struct ap_keymap *m)
{
        return m->len;
}
