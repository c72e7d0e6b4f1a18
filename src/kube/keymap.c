/* keymap.c - string-keyed open-addressing hash map with backward-shift deletion (no tombstones, so
 * lookups stay short however many keys come and go). */
#include "keymap.h"

#include "base/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h)
{
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

uint64_t ap_keymap_hash(const char *s)
{
        /* eight bytes per step (FNV's multiply per byte was most of a lookup for 30-byte keys); the
         * tail is zero-padded, which is unambiguous as keys hold no NUL; then a final avalanche so
         * linear probing sees well-spread low bits */
        size_t n = strlen(s);
        uint64_t h = AP_FNV64_OFFSET ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
        for (; n >= 8; n -= 8, s += 8) {
                uint64_t w;
                memcpy(&w, s, 8);
                h = (h ^ w) * AP_FNV64_PRIME;
                h ^= h >> 29;
        }
        if (n > 0) {
                uint64_t w = 0;
                memcpy(&w, s, n);
                h = (h ^ w) * AP_FNV64_PRIME;
                h ^= h >> 29;
        }
        return mix(h);
}

void ap_keymap_init(struct ap_keymap *m)
{
        *m = (struct ap_keymap)AP_KEYMAP_INIT;
}

void ap_keymap_init_borrowed(struct ap_keymap *m)
{
        *m = (struct ap_keymap)AP_KEYMAP_INIT;
        m->borrowed = true;
}

void ap_keymap_release(struct ap_keymap *m, void (*free_value)(void *value))
{
        bool borrowed = m->borrowed;
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->slots[i].key)
                        continue;
                if (!borrowed)
                        free(m->slots[i].key);
                if (free_value)
                        free_value(m->slots[i].value);
        }
        free(m->slots);
        ap_keymap_init(m);
        m->borrowed = borrowed;
}

static size_t find_slot(const struct ap_keymap *m, const char *key, uint64_t h)
{
        size_t mask = m->cap - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
                const struct ap_keymap_slot *s = &m->slots[i];
                if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
                        return i;
        }
}

void *ap_keymap_get_hashed(const struct ap_keymap *m, const char *key, uint64_t hash)
{
        if (m->len == 0)
                return NULL;
        size_t i = find_slot(m, key, hash);
        return m->slots[i].key ? m->slots[i].value : NULL;
}

void *ap_keymap_get(const struct ap_keymap *m, const char *key)
{
        return ap_keymap_get_hashed(m, key, ap_keymap_hash(key));
}

bool ap_keymap_contains(const struct ap_keymap *m, const char *key)
{
        if (m->len == 0)
                return false;
        return m->slots[find_slot(m, key, ap_keymap_hash(key))].key != NULL;
}

static int resize(struct ap_keymap *m, size_t cap)
{
        struct ap_keymap_slot *slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        struct ap_keymap n = {slots, cap, m->len, m->borrowed};
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->slots[i].key)
                        continue;
                size_t j = find_slot(&n, m->slots[i].key, m->slots[i].hash);
                n.slots[j] = m->slots[i];
        }
        free(m->slots);
        *m = n;
        return 0;
}

int ap_keymap_put(struct ap_keymap *m, const char *key, void *value, void **ret_old)
{
        return ap_keymap_put_hashed(m, key, ap_keymap_hash(key), value, ret_old);
}

int ap_keymap_put_hashed(struct ap_keymap *m, const char *key, uint64_t h, void *value, void **ret_old)
{
        if (m->cap) {
                /* replacing never allocates, so it cannot fail */
                struct ap_keymap_slot *s = &m->slots[find_slot(m, key, h)];
                if (s->key) {
                        if (ret_old)
                                *ret_old = s->value;
                        s->value = value;
                        return 0;
                }
        }
        /* keep the load factor at or below 3/4 */
        if ((m->len + 1) * 4 > m->cap * 3) {
                int r = resize(m, m->cap ? m->cap * 2 : 16);
                if (r < 0)
                        return r;
        }
        struct ap_keymap_slot *s = &m->slots[find_slot(m, key, h)];
        char *k = m->borrowed ? (char *)key : strdup(key);
        if (!k)
                return -ENOMEM;
        *s = (struct ap_keymap_slot){k, h, value};
        m->len++;
        if (ret_old)
                *ret_old = NULL;
        return 0;
}

bool ap_keymap_remove(struct ap_keymap *m, const char *key, void **ret_old)
{
        return ap_keymap_remove_hashed(m, key, ap_keymap_hash(key), ret_old);
}

bool ap_keymap_remove_hashed(struct ap_keymap *m, const char *key, uint64_t hash, void **ret_old)
{
        if (m->len == 0)
                return false;
        size_t mask = m->cap - 1;
        size_t i = find_slot(m, key, hash);
        if (!m->slots[i].key)
                return false;
        if (ret_old)
                *ret_old = m->slots[i].value;
        if (!m->borrowed)
                free(m->slots[i].key);
        m->slots[i].key = NULL;
        m->len--;
        /* backward shift: pull later members of the probe run into the hole when that is where they
         * belong, so no lookup ever stops early at it */
        for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
                size_t home = m->slots[j].hash & mask;
                bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        m->slots[i] = m->slots[j];
                        m->slots[j].key = NULL;
                        i = j;
                }
        }
        return true;
}

bool ap_keymap_next(const struct ap_keymap *m, size_t *it, const char **ret_key, void **ret_value)
{
        for (; *it < m->cap; (*it)++) {
                if (m->slots[*it].key) {
                        if (ret_key)
                                *ret_key = m->slots[*it].key;
                        if (ret_value)
                                *ret_value = m->slots[*it].value;
                        (*it)++;
                        return true;
                }
        }
        return false;
}
