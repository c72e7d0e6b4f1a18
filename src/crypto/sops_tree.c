/* sops_tree.c - nodes of the SOPS document tree: allocation, secret-wiping free, children, deep copy and
 * map lookup. */
#include "sops_tree.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

struct ap_sops_node *ap_sops_node_new(enum ap_sops_type type)
{
        struct ap_sops_node *n = calloc(1, sizeof(*n));
        if (n)
                n->type = type;
        return n;
}

struct ap_sops_node *ap_sops_node_free(struct ap_sops_node *node)
{
        if (!node)
                return NULL;
        for (size_t i = 0; i < node->n; i++)
                ap_sops_node_free(node->kids[i]);
        free(node->kids);
        ap_secure_free(node->key, node->key_len);
        ap_secure_free(node->str, node->len);
        ap_secure_wipe(node, sizeof(*node));
        free(node);
        return NULL;
}

static int dup_bytes(const char *s, size_t n, char **ret)
{
        if (n == SIZE_MAX)
                return -E2BIG;
        char *p = malloc(n + 1);
        if (!p)
                return -ENOMEM;
        if (n)
                memcpy(p, s, n);
        p[n] = '\0';
        *ret = p;
        return 0;
}

int ap_sops_node_set_str(struct ap_sops_node *node, const char *s, size_t n)
{
        char *p;
        int r = dup_bytes(s, n, &p);
        if (r < 0)
                return r;
        ap_secure_free(node->str, node->len);
        node->str = p;
        node->len = n;
        return 0;
}

int ap_sops_node_set_key(struct ap_sops_node *node, const char *s, size_t n)
{
        char *p;
        int r = dup_bytes(s, n, &p);
        if (r < 0)
                return r;
        ap_secure_free(node->key, node->key_len);
        node->key = p;
        node->key_len = n;
        return 0;
}

struct ap_sops_node *ap_sops_node_new_str(const char *s, size_t n)
{
        struct ap_sops_node *node = ap_sops_node_new(AP_SOPS_STR);
        if (node && ap_sops_node_set_str(node, s, n) < 0)
                node = ap_sops_node_free(node);
        return node;
}

struct ap_sops_node *ap_sops_node_new_comment(const char *s, size_t n, bool is_inline)
{
        struct ap_sops_node *node = ap_sops_node_new(AP_SOPS_COMMENT);
        if (node && ap_sops_node_set_str(node, s, n) < 0)
                node = ap_sops_node_free(node);
        if (node)
                node->inline_comment = is_inline;
        return node;
}

int ap_sops_node_insert(struct ap_sops_node *parent, size_t idx, struct ap_sops_node *child)
{
        if (idx > parent->n)
                return -EINVAL;
        if (parent->n == parent->cap) {
                size_t cap = parent->cap ? parent->cap * 2 : 4;
                struct ap_sops_node **k = realloc(parent->kids, cap * sizeof(*k));
                if (!k)
                        return -ENOMEM;
                parent->kids = k;
                parent->cap = cap;
        }
        memmove(parent->kids + idx + 1, parent->kids + idx, (parent->n - idx) * sizeof(*parent->kids));
        parent->kids[idx] = child;
        parent->n++;
        return 0;
}

int ap_sops_node_append(struct ap_sops_node *parent, struct ap_sops_node *child)
{
        return ap_sops_node_insert(parent, parent->n, child);
}

struct ap_sops_node *ap_sops_node_take(struct ap_sops_node *parent, size_t idx)
{
        if (idx >= parent->n)
                return NULL;
        struct ap_sops_node *c = parent->kids[idx];
        memmove(parent->kids + idx, parent->kids + idx + 1, (parent->n - idx - 1) * sizeof(*parent->kids));
        parent->n--;
        return c;
}

int ap_sops_map_add(struct ap_sops_node *map, const char *key, struct ap_sops_node *value)
{
        int r = ap_sops_node_set_key(value, key, strlen(key));
        if (r < 0)
                return r;
        return ap_sops_node_append(map, value);
}

int ap_sops_node_copy(const struct ap_sops_node *node, struct ap_sops_node **ret)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *c = ap_sops_node_new(node->type);
        if (!c)
                return -ENOMEM;
        c->inline_comment = node->inline_comment;
        c->i = node->i;
        c->f = node->f;
        c->b = node->b;
        int r = 0;
        if (node->key)
                r = ap_sops_node_set_key(c, node->key, node->key_len);
        if (r == 0 && node->str)
                r = ap_sops_node_set_str(c, node->str, node->len);
        for (size_t i = 0; r == 0 && i < node->n; i++) {
                struct ap_sops_node *kid;
                r = ap_sops_node_copy(node->kids[i], &kid);
                if (r == 0) {
                        r = ap_sops_node_append(c, kid);
                        if (r < 0)
                                ap_sops_node_free(kid);
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

long ap_sops_map_index(const struct ap_sops_node *map, const char *key)
{
        size_t len = strlen(key);
        for (size_t i = 0; i < map->n; i++) {
                const struct ap_sops_node *k = map->kids[i];
                if (k->key && k->key_len == len && memcmp(k->key, key, len) == 0)
                        return (long)i;
        }
        return -1;
}

struct ap_sops_node *ap_sops_map_get(const struct ap_sops_node *map, const char *key)
{
        long i = ap_sops_map_index(map, key);
        return i < 0 ? NULL : map->kids[i];
}

size_t ap_sops_node_count(const struct ap_sops_node *node)
{
        size_t c = 1;
        for (size_t i = 0; i < node->n; i++)
                c += ap_sops_node_count(node->kids[i]);
        return c;
}

bool ap_sops_node_is_leaf(const struct ap_sops_node *node)
{
        return node->type != AP_SOPS_NULL && node->type != AP_SOPS_MAP && node->type != AP_SOPS_LIST;
}

void ap_sops_docs_release(struct ap_sops_docs *d)
{
        for (size_t i = 0; i < d->n; i++)
                ap_sops_node_free(d->docs[i]);
        free(d->docs);
        *d = (struct ap_sops_docs)AP_SOPS_DOCS_INIT;
}

int ap_sops_docs_append(struct ap_sops_docs *d, struct ap_sops_node *doc)
{
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 2;
                struct ap_sops_node **p = realloc(d->docs, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                d->docs = p;
                d->cap = cap;
        }
        d->docs[d->n++] = doc;
        return 0;
}

/* ---- key sets ---- */

static struct ap_sops_node **keyset_slot(const struct ap_sops_keyset *ks, const char *key, size_t len)
{
        size_t mask = ks->cap - 1;
        for (size_t i = ap_fnv1a64(key, len) & mask;; i = (i + 1) & mask) {
                struct ap_sops_node *e = ks->slots[i];
                if (!e || (e->key_len == len && memcmp(e->key, key, len) == 0))
                        return &ks->slots[i];
        }
}

bool ap_sops_keyset_has(const struct ap_sops_keyset *ks, const char *key, size_t len)
{
        return ks->cap && *keyset_slot(ks, key, len) != NULL;
}

int ap_sops_keyset_add(struct ap_sops_keyset *ks, struct ap_sops_node *entry)
{
        if (2 * (ks->n + 1) > ks->cap) {
                size_t cap = ks->cap ? ks->cap * 2 : 16;
                struct ap_sops_keyset bigger = {calloc(cap, sizeof(*ks->slots)), ks->n, cap};
                if (!bigger.slots)
                        return -ENOMEM;
                for (size_t i = 0; i < ks->cap; i++)
                        if (ks->slots[i])
                                *keyset_slot(&bigger, ks->slots[i]->key, ks->slots[i]->key_len) =
                                    ks->slots[i];
                free(ks->slots);
                *ks = bigger;
        }
        *keyset_slot(ks, entry->key, entry->key_len) = entry;
        ks->n++;
        return 0;
}

void ap_sops_keyset_release(struct ap_sops_keyset *ks)
{
        free(ks->slots);
        *ks = (struct ap_sops_keyset){0};
}
