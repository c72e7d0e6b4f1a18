/* sops_config.c - parse .sops.yaml creation rules and store settings, and pick the rule for a file. */
#include "sops_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "sops_go.h"
#include "sops_meta.h"
#include "sops_scalar.h"
#include "sops_yaml.h"

static const char *const other_keys[] = {"pgp",  "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri",
                                         "hckms"};

static void group_release(struct ap_sops_config_group *g)
{
        for (size_t i = 0; i < g->n_age; i++)
                free(g->age[i]);
        free(g->age);
}

static void rule_release(struct ap_sops_creation_rule *r)
{
        if (r->compiled)
                regfree(&r->re);
        free(r->path_regex);
        for (size_t g = 0; g < r->n_groups; g++)
                group_release(&r->groups[g]);
        free(r->groups);
        free(r->rule_value);
}

void ap_sops_config_release(struct ap_sops_config *c)
{
        for (size_t i = 0; i < c->n_rules; i++)
                rule_release(&c->rules[i]);
        free(c->rules);
        *c = (struct ap_sops_config){0};
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int add_recipient(struct ap_sops_config_group *g, const char *s, size_t n)
{
        while (n && is_space(*s))
                s++, n--;
        while (n && is_space(s[n - 1]))
                n--;
        if (n == 0)
                return 0;
        char **p = realloc(g->age, (g->n_age + 1) * sizeof(*p));
        if (!p)
                return -ENOMEM;
        g->age = p;
        g->age[g->n_age] = ap_strndup(s, n);
        if (!g->age[g->n_age])
                return -ENOMEM;
        g->n_age++;
        return 0;
}

/* 'age': "a, b" (every sops) or a list of strings (sops >= 3.11). */
static int read_age(const struct ap_sops_node *v, struct ap_sops_config_group *g, struct ap_error *err,
                    const char *where)
{
        int r = 0;
        if (v->type == AP_SOPS_STR) {
                const char *s = v->str, *end = s + v->len;
                while (r == 0 && s <= end) {
                        const char *comma = memchr(s, ',', (size_t)(end - s));
                        const char *stop = comma ? comma : end;
                        r = add_recipient(g, s, (size_t)(stop - s));
                        s = stop + 1;
                }
        } else if (v->type == AP_SOPS_LIST) {
                for (size_t i = 0; r == 0 && i < v->n; i++) {
                        const struct ap_sops_node *e = v->kids[i];
                        if (e->type == AP_SOPS_COMMENT)
                                continue;
                        if (e->type != AP_SOPS_STR)
                                return ap_error_set(err, -EINVAL, "%s: 'age' entries must be strings", where);
                        r = add_recipient(g, e->str, e->len);
                }
        } else if (v->type != AP_SOPS_NULL) {
                return ap_error_set(err, -EINVAL, "%s: 'age' must be a comma-separated string or a list",
                                    where);
        }
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

static size_t count_other(const struct ap_sops_node *map)
{
        size_t n = 0;
        for (size_t i = 0; i < AP_ARRAY_SIZE(other_keys); i++) {
                const struct ap_sops_node *v = ap_sops_map_get(map, other_keys[i]);
                if (v && ((v->type == AP_SOPS_STR && v->len) || (v->type == AP_SOPS_LIST && v->n)))
                        n++;
        }
        return n;
}

static int new_group(struct ap_sops_creation_rule *rule, struct ap_sops_config_group **ret)
{
        struct ap_sops_config_group *g = realloc(rule->groups, (rule->n_groups + 1) * sizeof(*g));
        if (!g)
                return -ENOMEM;
        rule->groups = g;
        g[rule->n_groups] = (struct ap_sops_config_group){0};
        *ret = &g[rule->n_groups++];
        return 0;
}

static int read_rule(const struct ap_sops_node *m, struct ap_sops_creation_rule *rule, const char *where,
                     struct ap_error *err)
{
        const struct ap_sops_node *v;
        struct ap_sops_config_group *g;
        int r;
        if ((v = ap_sops_map_get(m, "path_regex")) && v->type != AP_SOPS_NULL) {
                if (v->type != AP_SOPS_STR)
                        return ap_error_set(err, -EINVAL, "%s: path_regex must be a string", where);
                if (v->len) {
                        rule->path_regex = ap_strndup(v->str, v->len);
                        if (!rule->path_regex)
                                return ap_error_set(err, -ENOMEM, "out of memory");
                        r = ap_sops_regex_compile(&rule->re, rule->path_regex, "path_regex", err);
                        if (r < 0)
                                return ap_error_prefix(err, "%s", where);
                        rule->compiled = true;
                }
        }
        const struct ap_sops_node *age = ap_sops_map_get(m, "age");
        const struct ap_sops_node *kg = ap_sops_map_get(m, "key_groups");
        bool grouped = kg && kg->type == AP_SOPS_LIST && kg->n > 0;
        if (!grouped) { /* sops ignores the flat keys when key_groups are given */
                if ((r = new_group(rule, &g)) < 0)
                        return ap_error_set(err, r, "out of memory");
                if (age && (r = read_age(age, g, err, where)) < 0)
                        return r;
                g->n_other = count_other(m);
        }
        if (grouped) {
                size_t n = 0;
                for (size_t i = 0; i < kg->n; i++)
                        n += kg->kids[i]->type != AP_SOPS_COMMENT;
                if (n > AP_SOPS_KEY_GROUPS_MAX)
                        return ap_error_set(
                            err, AP_E_TOO_LARGE,
                            "%s: %zu key_groups, more than the %d Shamir's scheme can share a "
                            "data key between",
                            where, n, AP_SOPS_KEY_GROUPS_MAX);
                for (size_t i = 0; i < kg->n; i++) {
                        const struct ap_sops_node *e = kg->kids[i];
                        if (e->type == AP_SOPS_COMMENT)
                                continue;
                        if (e->type != AP_SOPS_MAP)
                                return ap_error_set(err, -EINVAL, "%s: key_groups entries must be mappings",
                                                    where);
                        if ((r = new_group(rule, &g)) < 0)
                                return ap_error_set(err, r, "out of memory");
                        if ((age = ap_sops_map_get(e, "age")) && (r = read_age(age, g, err, where)) < 0)
                                return r;
                        g->n_other = count_other(e);
                }
        }
        if ((v = ap_sops_map_get(m, "shamir_threshold")) && v->type != AP_SOPS_NULL) {
                if (v->type != AP_SOPS_INT || v->i < 0 || v->i > 255)
                        return ap_error_set(err, -EINVAL, "%s: shamir_threshold must be a small integer",
                                            where);
                rule->shamir_threshold = (int)v->i;
        }
        if ((v = ap_sops_map_get(m, "mac_only_encrypted")) && v->type != AP_SOPS_NULL) {
                if (v->type != AP_SOPS_BOOL)
                        return ap_error_set(err, -EINVAL, "%s: mac_only_encrypted must be true or false",
                                            where);
                rule->mac_only_encrypted = v->b;
        }
        int rules = 0;
        for (enum ap_sops_rule_kind k = AP_SOPS_UNENCRYPTED_SUFFIX; k <= AP_SOPS_ENCRYPTED_COMMENT_REGEX;
             k++) {
                if (!(v = ap_sops_map_get(m, ap_sops_rule_key(k))) || v->type == AP_SOPS_NULL)
                        continue;
                if (v->type != AP_SOPS_STR)
                        return ap_error_set(err, -EINVAL, "%s: %s must be a string", where,
                                            ap_sops_rule_key(k));
                if (!v->len)
                        continue;
                rules++;
                rule->rule = k;
                free(rule->rule_value);
                rule->rule_value = ap_strndup(v->str, v->len);
                if (!rule->rule_value)
                        return ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (rules > 1)
                return ap_error_set(err, -EINVAL,
                                    "%s: cannot use more than one of encrypted_suffix, unencrypted_suffix, "
                                    "encrypted_regex, unencrypted_regex, encrypted_comment_regex or "
                                    "unencrypted_comment_regex in one rule",
                                    where);
        return 0;
}

static int read_indent(const struct ap_sops_node *stores, const char *store, int *ret, bool *has,
                       const char *name, struct ap_error *err)
{
        const struct ap_sops_node *s = stores ? ap_sops_map_get(stores, store) : NULL;
        const struct ap_sops_node *v = s && s->type == AP_SOPS_MAP ? ap_sops_map_get(s, "indent") : NULL;
        if (!v || v->type == AP_SOPS_NULL)
                return 0;
        if (v->type != AP_SOPS_INT || v->i < -1 || v->i > 16)
                return ap_error_set(err, -EINVAL, "'%s': stores.%s.indent must be a small integer", name,
                                    store);
        *ret = (int)v->i;
        if (has)
                *has = true;
        return 0;
}

int ap_sops_config_parse(const char *text, size_t n, const char *name, struct ap_sops_config *ret,
                         struct ap_error *err)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_sops_config c = {0};
        int r = ap_sops_yaml_load(text, n, &docs, err);
        if (r < 0) {
                ap_error_prefix(err, "cannot parse '%s'", name);
                goto out;
        }
        const struct ap_sops_node *root = docs.n ? docs.docs[0] : NULL;
        const struct ap_sops_node *rules = root ? ap_sops_map_get(root, "creation_rules") : NULL;
        if (rules && rules->type != AP_SOPS_LIST && rules->type != AP_SOPS_NULL) {
                r = ap_error_set(err, -EINVAL, "'%s': creation_rules must be a list", name);
                goto out;
        }
        for (size_t i = 0; rules && rules->type == AP_SOPS_LIST && i < rules->n; i++) {
                const struct ap_sops_node *m = rules->kids[i];
                if (m->type == AP_SOPS_COMMENT)
                        continue;
                char where[256];
                snprintf(where, sizeof(where), "'%s', creation rule %zu", name, c.n_rules + 1);
                if (m->type != AP_SOPS_MAP) {
                        r = ap_error_set(err, -EINVAL, "%s: must be a mapping", where);
                        goto out;
                }
                struct ap_sops_creation_rule *p = realloc(c.rules, (c.n_rules + 1) * sizeof(*p));
                if (!p) {
                        r = ap_error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                c.rules = p;
                c.rules[c.n_rules] = (struct ap_sops_creation_rule){0};
                c.n_rules++;
                r = read_rule(m, &c.rules[c.n_rules - 1], where, err);
                if (r < 0)
                        goto out;
        }
        const struct ap_sops_node *stores = root ? ap_sops_map_get(root, "stores") : NULL;
        r = read_indent(stores, "yaml", &c.yaml_indent, NULL, name, err);
        if (r == 0)
                r = read_indent(stores, "json", &c.json_indent, &c.has_json_indent, name, err);
out:
        ap_sops_docs_release(&docs);
        if (r < 0) {
                ap_sops_config_release(&c);
                return r;
        }
        *ret = c;
        return 0;
}

const struct ap_sops_creation_rule *ap_sops_config_match(const struct ap_sops_config *c, const char *path)
{
        for (size_t i = 0; i < c->n_rules; i++) {
                const struct ap_sops_creation_rule *r = &c->rules[i];
                if (!r->compiled || ap_sops_regex_match(&r->re, path, strlen(path)))
                        return r;
        }
        return NULL;
}
