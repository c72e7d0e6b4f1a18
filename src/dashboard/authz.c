/* authz.c - impersonation identities, app roles and cached access reviews (see authz.h). */
#include "authz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "http.h"
#include "kube/api.h"
#include "kube/keymap.h"

#define NAME_MAX_LEN 256
#define MAX_GROUPS   128

struct cached {
        int64_t expires_ms;
        json_t *perms;
};

struct ap_dash_authz {
        struct ap_kube_client *kc;
        struct ap_dash_cache *cache;
        char *prefix, *admin_group;
        long ttl_ms;
        pthread_mutex_t lock;   /* guards perms */
        struct ap_keymap perms; /* "<imp user>\n<groups hash>\n<app>" -> struct cached * */
};

int ap_dash_authz_check_prefix(const char *prefix, struct ap_error *err)
{
        size_t n = prefix ? strlen(prefix) : 0;
        if (n == 0 || strncmp(prefix, "system:", 7) == 0 || !ap_dash_printable(prefix, 64) ||
            !strchr(":-/", prefix[n - 1]))
                return ap_error_set(
                    err, -EINVAL,
                    "the impersonation prefix '%s' must be non-empty, end in ':', '-' or '/', and "
                    "not start with 'system:'",
                    prefix ? prefix : "");
        return 0;
}

int ap_dash_authz_new(struct ap_kube_client *kc, struct ap_dash_cache *cache, const char *prefix,
                      const char *platform_admin_group, long cache_ms, struct ap_dash_authz **ret,
                      struct ap_error *err)
{
        int r = ap_dash_authz_check_prefix(prefix, err);
        if (r < 0)
                return r;
        struct ap_dash_authz *z = calloc(1, sizeof(*z));
        if (!z || !(z->prefix = strdup(prefix))) {
                free(z);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        z->kc = kc;
        z->cache = cache;
        z->admin_group = platform_admin_group && *platform_admin_group ? strdup(platform_admin_group) : NULL;
        z->ttl_ms = cache_ms > 0 ? cache_ms : 10000;
        pthread_mutex_init(&z->lock, NULL);
        ap_keymap_init(&z->perms);
        *ret = z;
        return 0;
}

static void cached_free(void *p)
{
        struct cached *c = p;
        if (c)
                json_decref(c->perms);
        free(c);
}

struct ap_dash_authz *ap_dash_authz_free(struct ap_dash_authz *z)
{
        if (!z)
                return NULL;
        ap_keymap_release(&z->perms, cached_free);
        pthread_mutex_destroy(&z->lock);
        free(z->prefix);
        free(z->admin_group);
        free(z);
        return NULL;
}

int ap_dash_authz_user(struct ap_dash_authz *z, struct ap_dash_arena *a, const json_t *session,
                       struct ap_dash_user *u, struct ap_error *err)
{
        *u = (struct ap_dash_user){0};
        u->sid = ap_dash_strdup(a, json_string_value(json_object_get(session, "sid")));
        u->sub = ap_dash_strdup(a, json_string_value(json_object_get(session, "sub")));
        u->name = ap_dash_strdup(a, json_string_value(json_object_get(session, "usr")));
        if (!u->sid || !u->sub || !ap_dash_printable(u->name, NAME_MAX_LEN))
                return ap_error_set(err, -EINVAL, "the session has no usable user name");
        u->imp_user = ap_dash_printf(a, "%s%s", z->prefix, u->name);
        const json_t *grp = json_object_get(session, "grp");
        size_t n = AP_MIN(json_array_size(grp), MAX_GROUPS);
        u->groups = ap_dash_alloc(a, (n + 1) * sizeof(char *));
        u->imp_groups = ap_dash_alloc(a, (n + 1) * sizeof(char *));
        if (!u->imp_user || !u->groups || !u->imp_groups)
                return ap_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const char *g = json_string_value(json_array_get(grp, i));
                if (!ap_dash_printable(g, NAME_MAX_LEN))
                        continue; /* never forwarded: not a usable group name */
                u->groups[u->n_groups++] = ap_dash_strdup(a, g);
                u->imp_groups[u->n_imp_groups++] = ap_dash_printf(a, "%s%s", z->prefix, g);
                if (z->admin_group && strcmp(g, z->admin_group) == 0)
                        u->platform_admin = true;
        }
        return 0;
}

void ap_dash_authz_as(const struct ap_dash_user *u, struct ap_kube_opts *o)
{
        o->impersonate_user = u->imp_user;
        o->impersonate_groups = u->imp_groups;
        o->n_impersonate_groups = u->n_imp_groups;
}

enum ap_dash_role ap_dash_authz_role(const struct ap_dash_user *u, const struct ap_dash_app *app)
{
        enum ap_dash_role best = AP_DASH_ROLE_NONE;
        for (size_t i = 0; app && i < app->n_access; i++)
                for (size_t g = 0; g < u->n_groups; g++)
                        if (strcmp(app->access[i].group, u->groups[g]) == 0 && app->access[i].role > best)
                                best = app->access[i].role;
        return best;
}

size_t ap_dash_authz_apps(const struct ap_dash_user *u, const struct ap_dash_apps *apps,
                          struct ap_dash_arena *a, const char ***ret)
{
        const char **v = ap_dash_alloc(a, (apps->n + 1) * sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; v && i < apps->n; i++)
                if (u->platform_admin || ap_dash_authz_role(u, &apps->v[i]) != AP_DASH_ROLE_NONE)
                        v[n++] = apps->v[i].name;
        *ret = v;
        return v ? n : 0;
}

static const struct ap_kube_resource res_ssar = {"authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                                 "SelfSubjectAccessReview", false};

int ap_dash_authz_can(struct ap_dash_authz *z, const struct ap_dash_user *u, const char *verb,
                      const char *group, const char *resource, const char *ns, const char *name,
                      bool *ret_allowed, struct ap_error *err)
{
        json_t *ra = json_pack("{s:s, s:s, s:s}", "verb", verb, "group", group, "resource", resource);
        if (ns)
                json_object_set_new(ra, "namespace", json_string(ns));
        if (name)
                json_object_set_new(ra, "name", json_string(name));
        json_t *body = json_pack("{s:s, s:s, s:{s:o}}", "apiVersion", "authorization.k8s.io/v1", "kind",
                                 "SelfSubjectAccessReview", "spec", "resourceAttributes", ra);
        struct ap_kube_opts o = {0};
        ap_dash_authz_as(u, &o);
        json_t *out = NULL;
        int r = ap_kube_create(z->kc, &res_ssar, NULL, body, &o, &out, NULL, err);
        json_decref(body);
        if (r < 0)
                return r;
        *ret_allowed = json_is_true(json_object_get(json_object_get(out, "status"), "allowed"));
        json_decref(out);
        return 0;
}

static int flux_perms(struct ap_dash_authz *z, const struct ap_dash_user *u, const struct ap_dash_app *app,
                      const char *group, const char *resource, json_t **ret, struct ap_error *err)
{
        static const char *const verbs[] = {"create", "delete", "patch"};
        json_t *out = json_object();
        for (size_t i = 0; i <= app->n_ns; i++) {
                const char *ns = i == 0 ? app->platform_ns : app->namespaces[i - 1];
                json_t *v = json_object();
                json_object_set_new(out, ns, v);
                for (size_t k = 0; k < AP_ARRAY_SIZE(verbs); k++) {
                        bool ok = false;
                        int r = ap_dash_authz_can(z, u, verbs[k], group, resource, ns, NULL, &ok, err);
                        if (r < 0) {
                                json_decref(out);
                                return r;
                        }
                        json_object_set_new(v, verbs[k], json_boolean(ok));
                }
        }
        *ret = out;
        return 0;
}

static int compute(struct ap_dash_authz *z, const struct ap_dash_user *u, const struct ap_dash_app *app,
                   json_t **ret, struct ap_error *err)
{
        static const char *const verbs[] = {"create", "update", "delete"};
        enum ap_dash_role role = ap_dash_authz_role(u, app);
        json_t *p = json_pack("{s:s, s:s, s:b}", "app", app->name, "role", ap_dash_role_name(role),
                              "platformAdmin", u->platform_admin);
        json_t *sec = json_object();
        json_object_set_new(p, "secrets", sec);
        int r = 0;
        for (size_t k = 0; r == 0 && k < AP_ARRAY_SIZE(verbs); k++) {
                bool ok = false;
                r = ap_dash_authz_can(z, u, verbs[k], "", "secrets", app->platform_ns, NULL, &ok, err);
                json_object_set_new(sec, verbs[k], json_boolean(ok));
        }
        json_t *g = NULL, *k = NULL;
        if (r == 0)
                r = flux_perms(z, u, app, "source.toolkit.fluxcd.io", "gitrepositories", &g, err);
        if (r == 0)
                r = flux_perms(z, u, app, "kustomize.toolkit.fluxcd.io", "kustomizations", &k, err);
        if (r < 0) {
                json_decref(p);
                json_decref(g);
                return r;
        }
        json_object_set_new(p, "gitrepositories", g);
        json_object_set_new(p, "kustomizations", k);
        bool ns_edit = u->platform_admin || role == AP_DASH_ROLE_ADMIN;
        json_object_set_new(p, "namespaces", json_pack("{s:b}", "edit", ns_edit));
        json_object_set_new(p, "registrations", json_pack("{s:b}", "edit", u->platform_admin));
        *ret = p;
        return 0;
}

int ap_dash_authz_permissions(struct ap_dash_authz *z, const struct ap_dash_user *u,
                              const struct ap_dash_app *app, json_t **ret, struct ap_error *err)
{
        /* the whole identity is the key (no hash that two group sets could share) */
        _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
        key.max = 8192;
        bool cacheable = ap_buf_printf(&key, "%s\n%s", app->name, u->imp_user) == 0;
        for (size_t i = 0; cacheable && i < u->n_imp_groups; i++)
                cacheable = ap_buf_printf(&key, "\n%s", u->imp_groups[i]) == 0;
        int64_t now = ap_mono_ms();
        pthread_mutex_lock(&z->lock);
        struct cached *c = cacheable ? ap_keymap_get(&z->perms, key.data) : NULL;
        json_t *hit = c && c->expires_ms > now ? json_deep_copy(c->perms) : NULL;
        pthread_mutex_unlock(&z->lock);
        if (hit) {
                *ret = hit;
                return 0;
        }
        json_t *p = NULL;
        int r = compute(z, u, app, &p, err);
        if (r < 0)
                return r;
        struct cached *nc = cacheable ? malloc(sizeof(*nc)) : NULL;
        if (nc) {
                nc->expires_ms = now + z->ttl_ms;
                nc->perms = json_deep_copy(p);
                void *old = NULL;
                pthread_mutex_lock(&z->lock);
                if (ap_keymap_size(&z->perms) > 4096) /* bounded: drop everything rather than grow */
                        ap_keymap_release(&z->perms, cached_free);
                if (ap_keymap_put(&z->perms, key.data, nc, &old) < 0)
                        cached_free(nc);
                pthread_mutex_unlock(&z->lock);
                cached_free(old);
        }
        *ret = p;
        return 0;
}
