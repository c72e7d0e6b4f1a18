/* store.c - compact object storage and index maintenance for the informer cache. */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"
#include "watch_stream.h"

struct ap_kube_store_entry {
        size_t size; /* of the whole allocation, for the wipe on free */
        size_t json_len;
        const char *rv; /* into buf */
        const char *ix; /* into buf: per index, its values each NUL-terminated, then an empty string */
        char buf[];     /* json \0 rv \0 index values */
};

void ap_kube_store_init(struct ap_kube_store *s)
{
        memset(s, 0, sizeof(*s));
}

void ap_kube_store_init_like(struct ap_kube_store *s, const struct ap_kube_store *model)
{
        ap_kube_store_init(s);
        s->n_indexes = model->n_indexes;
        for (size_t i = 0; i < model->n_indexes; i++)
                s->indexes[i] = (struct ap_kube_store_index){model->indexes[i].name, model->indexes[i].fn,
                                                             model->indexes[i].userdata, AP_KEYMAP_INIT};
}

static void free_entry(void *v)
{
        ap_kube_store_entry_free(v);
}

static void free_keyset(void *v)
{
        struct ap_keymap *set = v;
        ap_keymap_release(set, NULL);
        free(set);
}

void ap_kube_store_release(struct ap_kube_store *s)
{
        ap_keymap_release(&s->items, free_entry);
        for (size_t i = 0; i < s->n_indexes; i++)
                ap_keymap_release(&s->indexes[i].values, free_keyset);
}

int ap_kube_store_add_index(struct ap_kube_store *s, const char *name, ap_kube_index_fn fn, void *userdata)
{
        if (s->n_indexes >= AP_KUBE_STORE_MAX_INDEXES || ap_kube_store_len(s) > 0)
                return -EBUSY;
        s->indexes[s->n_indexes++] = (struct ap_kube_store_index){name, fn, userdata, AP_KEYMAP_INIT};
        return 0;
}

struct ap_kube_store_entry *ap_kube_store_entry_new(const struct ap_kube_store *s, const json_t *obj)
{
        const char *rv = ap_kube_obj_resource_version(obj);
        if (!rv)
                return NULL;
        char *json = json_dumps(obj, JSON_COMPACT);
        if (!json)
                return NULL;
        size_t jl = strlen(json), rl = strlen(rv);
        const char *vals[AP_KUBE_STORE_MAX_INDEXES][AP_KUBE_STORE_MAX_VALUES];
        size_t nv[AP_KUBE_STORE_MAX_INDEXES];
        size_t il = 0;
        for (size_t i = 0; i < s->n_indexes; i++) {
                nv[i] = s->indexes[i].fn(s->indexes[i].userdata, obj, vals[i], AP_KUBE_STORE_MAX_VALUES);
                if (nv[i] > AP_KUBE_STORE_MAX_VALUES)
                        nv[i] = AP_KUBE_STORE_MAX_VALUES;
                for (size_t j = 0; j < nv[i]; j++)
                        il += strlen(vals[i][j]) + 1;
                il++;
        }
        size_t size = sizeof(struct ap_kube_store_entry) + jl + 1 + rl + 1 + il;
        struct ap_kube_store_entry *e = malloc(size);
        if (!e) {
                ap_secure_free(json, jl + 1);
                return NULL;
        }
        e->size = size;
        e->json_len = jl;
        memcpy(e->buf, json, jl + 1);
        ap_secure_free(json, jl + 1); /* the object may be a Secret */
        char *p = e->buf + jl + 1;
        memcpy(p, rv, rl + 1);
        e->rv = p;
        p += rl + 1;
        e->ix = p;
        for (size_t i = 0; i < s->n_indexes; i++) {
                for (size_t j = 0; j < nv[i]; j++) {
                        size_t l = strlen(vals[i][j]);
                        memcpy(p, vals[i][j], l + 1);
                        p += l + 1;
                }
                *p++ = '\0';
        }
        return e;
}

void ap_kube_store_entry_free(struct ap_kube_store_entry *e)
{
        if (e)
                ap_secure_free(e, e->size);
}

const char *ap_kube_store_entry_rv(const struct ap_kube_store_entry *e)
{
        return e->rv;
}

json_t *ap_kube_store_entry_parse(const struct ap_kube_store_entry *e)
{
        return json_loadb(e->buf, e->json_len, 0, NULL);
}

size_t ap_kube_store_len(const struct ap_kube_store *s)
{
        return ap_keymap_size(&s->items);
}

struct ap_kube_store_entry *ap_kube_store_get(const struct ap_kube_store *s, const char *key)
{
        return ap_keymap_get(&s->items, key);
}

/* Add key to (or drop it from) the index sets of the entry's index values. */
static void index_update(struct ap_kube_store *s, const char *key, const struct ap_kube_store_entry *e,
                         bool add)
{
        if (!e)
                return;
        const char *p = e->ix;
        for (size_t i = 0; i < s->n_indexes; i++) {
                struct ap_kube_store_index *ix = &s->indexes[i];
                for (; *p; p += strlen(p) + 1) {
                        struct ap_keymap *set = ap_keymap_get(&ix->values, p);
                        if (add) {
                                if (!set) {
                                        set = calloc(1, sizeof(*set));
                                        if (!set || ap_keymap_put(&ix->values, p, set, NULL) < 0) {
                                                free(set);
                                                continue; /* out of memory: this value stays unindexed */
                                        }
                                }
                                if (ap_keymap_put(set, key, NULL, NULL) < 0)
                                        continue; /* out of memory: this key stays unindexed */
                        } else if (set) {
                                ap_keymap_remove(set, key, NULL);
                                if (ap_keymap_size(set) == 0) {
                                        ap_keymap_remove(&ix->values, p, NULL);
                                        free_keyset(set);
                                }
                        }
                }
                p++; /* the empty string ending this index's values */
        }
}

int ap_kube_store_put(struct ap_kube_store *s, const char *key, struct ap_kube_store_entry *e,
                      struct ap_kube_store_entry **ret_old)
{
        void *old = NULL;
        int r = ap_keymap_put(&s->items, key, e, &old);
        if (r < 0) {
                ap_kube_store_entry_free(e);
                return r;
        }
        index_update(s, key, old, false);
        index_update(s, key, e, true);
        if (ret_old)
                *ret_old = old;
        else
                ap_kube_store_entry_free(old);
        return 0;
}

bool ap_kube_store_remove(struct ap_kube_store *s, const char *key, struct ap_kube_store_entry **ret_old)
{
        void *old = NULL;
        if (!ap_keymap_remove(&s->items, key, &old))
                return false;
        index_update(s, key, old, false);
        if (ret_old)
                *ret_old = old;
        else
                ap_kube_store_entry_free(old);
        return true;
}

bool ap_kube_store_next(const struct ap_kube_store *s, size_t *it, const char **ret_key,
                        struct ap_kube_store_entry **ret_entry)
{
        void *v = NULL;
        bool r = ap_keymap_next(&s->items, it, ret_key, &v);
        if (r && ret_entry)
                *ret_entry = v;
        return r;
}

int ap_kube_store_index_keys(const struct ap_kube_store *s, const char *index, const char *value,
                             const struct ap_keymap **ret)
{
        for (size_t i = 0; i < s->n_indexes; i++)
                if (strcmp(s->indexes[i].name, index) == 0) {
                        *ret = ap_keymap_get(&s->indexes[i].values, value);
                        return 0;
                }
        return -ENOENT;
}
