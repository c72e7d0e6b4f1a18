/* sops_meta.c - read and write the 'sops' metadata block (see sops_meta.h). Reading is lenient the way
 * sops's weakly typed mapstructure decode is (scalars of any type where a string is expected); writing
 * follows sops 3.13 (keys sorted, empty lists left out). */
#include "sops_meta.h"

#include <stdlib.h>
#include <string.h>

#include "sops_go.h"
#include "sops_scalar.h"

static const char *const other_key_types[] = {"pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"};

void ap_sops_meta_release(struct ap_sops_meta *m)
{
        for (size_t g = 0; g < m->n_groups; g++) {
                for (size_t i = 0; i < m->groups[g].n_age; i++) {
                        free(m->groups[g].age[i].recipient);
                        free(m->groups[g].age[i].enc);
                }
                free(m->groups[g].age);
        }
        free(m->groups);
        free(m->lastmodified);
        free(m->mac);
        free(m->version);
        free(m->rule_value);
        *m = (struct ap_sops_meta){0};
}

/* A scalar where sops expects a string, converted as mapstructure's weak decoding does. */
static int as_string(const struct ap_sops_node *v, const char *field, char **ret, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        int r = 0;
        switch (v->type) {
        case AP_SOPS_NULL:
                break;
        case AP_SOPS_BOOL:
                r = ap_buf_addstr(&b, v->b ? "1" : "0");
                break;
        case AP_SOPS_MAP:
        case AP_SOPS_LIST:
        case AP_SOPS_COMMENT:
                return ap_error_set(err, AP_E_CORRUPT, "sops metadata: '%s' must be a string", field);
        default:
                r = ap_sops_scalar_bytes(v, &b);
        }
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        *ret = ap_buf_detach(&b, NULL);
        return *ret ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
}

static int read_age_list(const struct ap_sops_node *list, struct ap_sops_meta *m, size_t g,
                         struct ap_error *err)
{
        if (list->type == AP_SOPS_NULL)
                return 0;
        if (list->type != AP_SOPS_LIST)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "sops metadata: 'age' must be a list of {recipient, enc}");
        for (size_t i = 0; i < list->n; i++) {
                const struct ap_sops_node *e = list->kids[i];
                if (e->type == AP_SOPS_COMMENT)
                        continue;
                if (e->type != AP_SOPS_MAP)
                        return ap_error_set(err, AP_E_CORRUPT,
                                            "sops metadata: 'age' entry %zu is not a mapping", i);
                _cleanup_free_ char *recipient = NULL, *enc = NULL;
                const struct ap_sops_node *rn = ap_sops_map_get(e, "recipient"),
                                          *en = ap_sops_map_get(e, "enc");
                int r = as_string(rn ? rn : &(struct ap_sops_node){0}, "recipient", &recipient, err);
                if (r == 0)
                        r = as_string(en ? en : &(struct ap_sops_node){0}, "enc", &enc, err);
                if (r == 0)
                        r = ap_sops_meta_add_age(m, g, recipient, enc);
                if (r < 0)
                        return err && err->code ? r : ap_error_set(err, r, "out of memory");
        }
        return 0;
}

static size_t count_items(const struct ap_sops_node *v)
{
        size_t n = 0;
        if (v && v->type == AP_SOPS_LIST)
                for (size_t i = 0; i < v->n; i++)
                        n += v->kids[i]->type != AP_SOPS_COMMENT;
        return n;
}

static int add_group(struct ap_sops_meta *m)
{
        struct ap_sops_key_group *g = realloc(m->groups, (m->n_groups + 1) * sizeof(*g));
        if (!g)
                return -ENOMEM;
        m->groups = g;
        m->groups[m->n_groups++] = (struct ap_sops_key_group){0};
        return 0;
}

int ap_sops_meta_add_age(struct ap_sops_meta *m, size_t g, const char *recipient, const char *enc)
{
        if (g >= m->n_groups)
                return -EINVAL;
        struct ap_sops_key_group *grp = &m->groups[g];
        struct ap_sops_age_entry *a = realloc(grp->age, (grp->n_age + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        grp->age = a;
        char *rc = strdup(recipient ? recipient : ""), *ec = strdup(enc ? enc : "");
        if (!rc || !ec) {
                free(rc);
                free(ec);
                return -ENOMEM;
        }
        grp->age[grp->n_age++] = (struct ap_sops_age_entry){rc, ec};
        return 0;
}

/* One key group from a map holding 'age' and other key type lists. */
static int read_group(const struct ap_sops_node *map, struct ap_sops_meta *m, struct ap_error *err)
{
        int r = add_group(m);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        size_t g = m->n_groups - 1;
        const struct ap_sops_node *age = ap_sops_map_get(map, "age");
        if (age && (r = read_age_list(age, m, g, err)) < 0)
                return r;
        for (size_t i = 0; i < AP_ARRAY_SIZE(other_key_types); i++)
                m->groups[g].n_other += count_items(ap_sops_map_get(map, other_key_types[i]));
        return 0;
}

static int parse(const struct ap_sops_node *sops, struct ap_sops_meta *m, struct ap_error *err)
{
        int r;
        bool flat = count_items(ap_sops_map_get(sops, "age")) > 0;
        for (size_t i = 0; i < AP_ARRAY_SIZE(other_key_types); i++)
                flat |= count_items(ap_sops_map_get(sops, other_key_types[i])) > 0;
        const struct ap_sops_node *groups = ap_sops_map_get(sops, "key_groups");
        if (flat) {
                if ((r = read_group(sops, m, err)) < 0)
                        return r;
        } else if (count_items(groups) > 0) {
                if (count_items(groups) > AP_SOPS_KEY_GROUPS_MAX)
                        return ap_error_set(err, AP_E_TOO_LARGE,
                                            "sops metadata: %zu key groups, more than the %d Shamir's scheme "
                                            "can share a data key between",
                                            count_items(groups), AP_SOPS_KEY_GROUPS_MAX);
                for (size_t i = 0; i < groups->n; i++) {
                        const struct ap_sops_node *g = groups->kids[i];
                        if (g->type == AP_SOPS_COMMENT)
                                continue;
                        if (g->type != AP_SOPS_MAP)
                                return ap_error_set(err, AP_E_CORRUPT,
                                                    "sops metadata: key group %zu is not a mapping", i);
                        if ((r = read_group(g, m, err)) < 0)
                                return r;
                }
        } else {
                return ap_error_set(err, AP_E_CORRUPT,
                                    "no keys found in file: the sops metadata lists no key groups");
        }
        const struct ap_sops_node *v;
        if ((v = ap_sops_map_get(sops, "shamir_threshold")) && v->type != AP_SOPS_NULL) {
                _cleanup_free_ char *s = NULL;
                int64_t t;
                if ((r = as_string(v, "shamir_threshold", &s, err)) < 0)
                        return r;
                if (ap_go_atoi(s, strlen(s), &t) < 0 || t < 0 || t > 255)
                        return ap_error_set(err, AP_E_CORRUPT,
                                            "sops metadata: shamir_threshold '%s' is not a number", s);
                m->shamir_threshold = (int)t;
        }
        if ((v = ap_sops_map_get(sops, "mac_only_encrypted")) && v->type != AP_SOPS_NULL) {
                _cleanup_free_ char *s = NULL;
                if ((r = as_string(v, "mac_only_encrypted", &s, err)) < 0)
                        return r;
                if (ap_go_parse_bool(s, strlen(s), &m->mac_only_encrypted) < 0)
                        return ap_error_set(err, AP_E_CORRUPT,
                                            "sops metadata: mac_only_encrypted '%s' is not a bool", s);
        }
        static const struct {
                const char *key;
                size_t off;
        } strs[] = {{"lastmodified", offsetof(struct ap_sops_meta, lastmodified)},
                    {"mac", offsetof(struct ap_sops_meta, mac)},
                    {"version", offsetof(struct ap_sops_meta, version)}};
        for (size_t i = 0; i < AP_ARRAY_SIZE(strs); i++)
                if ((v = ap_sops_map_get(sops, strs[i].key)) &&
                    (r = as_string(v, strs[i].key, (char **)((char *)m + strs[i].off), err)) < 0)
                        return r;
        if (!m->lastmodified || !m->lastmodified[0])
                return ap_error_set(err, AP_E_CORRUPT, "sops metadata: 'lastmodified' is missing");
        int rules = 0;
        for (enum ap_sops_rule_kind k = AP_SOPS_UNENCRYPTED_SUFFIX; k <= AP_SOPS_ENCRYPTED_COMMENT_REGEX;
             k++) {
                _cleanup_free_ char *s = NULL;
                if (!(v = ap_sops_map_get(sops, ap_sops_rule_key(k))) ||
                    (r = as_string(v, ap_sops_rule_key(k), &s, err)) < 0) {
                        if (v)
                                return r;
                        continue;
                }
                if (!s[0])
                        continue;
                rules++;
                m->rule = k;
                free(m->rule_value);
                m->rule_value = TAKE_PTR(s);
        }
        if (rules > 1)
                return ap_error_set(
                    err, AP_E_CORRUPT,
                    "sops metadata: cannot use more than one of encrypted_suffix, unencrypted_suffix, "
                    "encrypted_regex, unencrypted_regex, encrypted_comment_regex or "
                    "unencrypted_comment_regex in the same file");
        return 0;
}

int ap_sops_meta_extract(struct ap_sops_docs *docs, struct ap_sops_meta *ret, struct ap_error *err)
{
        if (docs->n == 0)
                return ap_error_set(err, AP_E_INVALID, "sops metadata not found: the file has no document");
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *sops = NULL;
        for (size_t d = 0; d < docs->n; d++) {
                long i;
                while ((i = ap_sops_map_index(docs->docs[d], "sops")) >= 0) {
                        struct ap_sops_node *n = ap_sops_node_take(docs->docs[d], (size_t)i);
                        if (d == 0 && !sops)
                                sops = n;
                        else
                                ap_sops_node_free(n);
                }
        }
        if (!sops)
                return ap_error_set(err, AP_E_INVALID,
                                    "sops metadata not found: the file is not encrypted with sops");
        if (sops->type != AP_SOPS_MAP)
                return ap_error_set(err, AP_E_CORRUPT, "sops metadata: the 'sops' entry is not a mapping");
        struct ap_sops_meta m = {0};
        int r = parse(sops, &m, err);
        if (r < 0) {
                ap_sops_meta_release(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int ap_sops_meta_lastmodified_aad(const struct ap_sops_meta *m, struct ap_buf *out, struct ap_error *err)
{
        struct ap_go_time t;
        const char *s = m->lastmodified ? m->lastmodified : "";
        if (ap_go_time_parse_rfc3339(s, strlen(s), &t) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "sops metadata: lastmodified '%.64s' is not an RFC 3339 time", s);
        int r = ap_go_time_format(out, &t, false);
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

/* ---- writing ---- */

/* Add key -> v to map, taking v (NULL: out of memory) even on failure. */
static int add_node(struct ap_sops_node *map, const char *key, struct ap_sops_node *v)
{
        if (!v)
                return -ENOMEM;
        int r = ap_sops_map_add(map, key, v);
        if (r < 0)
                ap_sops_node_free(v);
        return r;
}

static int add_str(struct ap_sops_node *map, const char *key, const char *value)
{
        return add_node(map, key, ap_sops_node_new_str(value, strlen(value)));
}

static struct ap_sops_node *age_list(const struct ap_sops_key_group *g)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *list = ap_sops_node_new(AP_SOPS_LIST);
        for (size_t i = 0; list && i < g->n_age; i++) {
                struct ap_sops_node *e = ap_sops_node_new(AP_SOPS_MAP);
                if (!e || add_str(e, "enc", g->age[i].enc) < 0 ||
                    add_str(e, "recipient", g->age[i].recipient) < 0 || ap_sops_node_append(list, e) < 0) {
                        ap_sops_node_free(e);
                        return NULL;
                }
        }
        return TAKE_PTR(list);
}

static int cmp_key(const void *a, const void *b)
{
        const struct ap_sops_node *x = *(struct ap_sops_node *const *)a,
                                  *y = *(struct ap_sops_node *const *)b;
        return strcmp(x->key, y->key);
}

static int build(const struct ap_sops_meta *m, struct ap_sops_node **ret)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *map = ap_sops_node_new(AP_SOPS_MAP);
        if (!map)
                return -ENOMEM;
        int r = 0;
        if (m->n_groups == 1 && m->groups[0].n_age) {
                r = add_node(map, "age", age_list(&m->groups[0]));
        } else if (m->n_groups > 1) {
                struct ap_sops_node *groups = ap_sops_node_new(AP_SOPS_LIST);
                r = add_node(map, "key_groups", groups);
                for (size_t g = 0; r == 0 && g < m->n_groups; g++) {
                        struct ap_sops_node *gm = ap_sops_node_new(AP_SOPS_MAP);
                        r = gm ? ap_sops_node_append(groups, gm) : -ENOMEM;
                        if (r < 0)
                                ap_sops_node_free(gm);
                        if (r == 0)
                                r = add_node(gm, "age", age_list(&m->groups[g]));
                        if (r == 0)
                                r = add_node(gm, "hc_vault", ap_sops_node_new(AP_SOPS_LIST));
                }
                if (r == 0 && m->shamir_threshold > 0) {
                        struct ap_sops_node *t = ap_sops_node_new(AP_SOPS_INT);
                        if (t)
                                t->i = m->shamir_threshold;
                        r = add_node(map, "shamir_threshold", t);
                }
        }
        enum ap_sops_rule_kind rule = m->rule == AP_SOPS_RULE_NONE ? AP_SOPS_UNENCRYPTED_SUFFIX : m->rule;
        const char *value = m->rule == AP_SOPS_RULE_NONE ? AP_SOPS_DEFAULT_UNENCRYPTED_SUFFIX : m->rule_value;
        if (r == 0)
                r = add_str(map, ap_sops_rule_key(rule), value ? value : "");
        if (r == 0)
                r = add_str(map, "lastmodified", m->lastmodified ? m->lastmodified : "");
        if (r == 0)
                r = add_str(map, "mac", m->mac ? m->mac : "");
        if (r == 0 && m->mac_only_encrypted) {
                struct ap_sops_node *b = ap_sops_node_new(AP_SOPS_BOOL);
                if (b)
                        b->b = true;
                r = add_node(map, "mac_only_encrypted", b);
        }
        if (r == 0)
                r = add_str(map, "version", m->version ? m->version : AP_SOPS_WRITE_VERSION);
        if (r < 0)
                return r;
        qsort(map->kids, map->n, sizeof(*map->kids), cmp_key);
        *ret = TAKE_PTR(map);
        return 0;
}

int ap_sops_meta_attach(struct ap_sops_docs *docs, const struct ap_sops_meta *m, struct ap_error *err)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *tmpl = NULL;
        int r = build(m, &tmpl);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        for (size_t d = 0; d < docs->n; d++)
                if (ap_sops_map_get(docs->docs[d], "sops"))
                        return ap_error_set(
                            err, -EEXIST,
                            "document %zu already has a top-level 'sops' key: the file is already "
                            "encrypted, or uses the key sops reserves for its metadata",
                            d + 1);
        for (size_t d = 0; d < docs->n; d++) {
                struct ap_sops_node *copy = NULL;
                r = ap_sops_node_copy(tmpl, &copy);
                if (r == 0)
                        r = ap_sops_map_add(docs->docs[d], "sops", copy);
                if (r < 0) {
                        ap_sops_node_free(copy);
                        return ap_error_set(err, r, "out of memory");
                }
        }
        return 0;
}
