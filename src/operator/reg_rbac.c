/* reg_rbac.c - who may do what in the app's namespaces: one RoleBinding per role ('app-platform-<role>')
 * naming every spec.access group with that role, in each env namespace and in the platform namespace
 * (where developers and readers get app-platform-reader only: the platform namespace holds the app's
 * keys); the secret-reader Role and RoleBinding in the platform namespace; and the removal of the app's
 * bindings from namespaces it no longer lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "kube/status.h"
#include "operator/reg.h"

static const char *clusterrole_for(enum ap_role role, bool platform)
{
        if (platform)
                return role == AP_ROLE_ADMIN ? "app-platform-admin" : "app-platform-reader";
        return role == AP_ROLE_ADMIN       ? "app-platform-admin"
               : role == AP_ROLE_DEVELOPER ? "app-platform-developer"
                                           : "app-platform-reader";
}

/* Apply or delete the three role bindings in ns. */
static int access_bindings(struct reg *g, const char *ns, struct ap_error *err)
{
        bool platform = strcmp(ns, g->n.platform_ns) == 0;
        for (int role = 0; role < AP_ROLE_COUNT; role++) {
                bool none = false;
                json_t *rb =
                    ap_render_access_rolebinding(&g->plat, ns, role, clusterrole_for(role, platform), &none);
                int r;
                if (none) {
                        char name[AP_NAME_BUF];
                        snprintf(name, sizeof(name), "app-platform-%s", ap_role_name(role));
                        r = op_delete(g->op, &op_res_rolebindings, ns, name, err);
                } else {
                        r = rb ? op_apply(g->op, &op_res_rolebindings, rb, NULL, err)
                               : ap_error_set(err, -ENOMEM, "out of memory");
                }
                json_decref(rb);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The secrets env namespaces may read through 'secret-reader': the app's managed and OIDC secrets. */
static int reader_names(struct ap_operator *op, const struct ap_app_names *an, const char ***ret,
                        size_t *ret_n, json_t **ret_hold)
{
        json_t *list = ap_kube_informer_by_index(op->intents, "namespace", an->platform_ns);
        json_t *oidc = ap_kube_informer_by_index(op->oidc, "namespace", an->platform_ns);
        if (list && (!oidc || json_array_extend(list, oidc) < 0)) {
                json_decref(list);
                list = NULL;
        }
        json_decref(oidc);
        size_t n = json_array_size(list), k = 0;
        const char **v = calloc(n + 1, sizeof(char *));
        if (!list || !v) {
                json_decref(list);
                free(v);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = ap_kube_obj_name(json_array_get(list, i));
                bool dup = false; /* a Secret in both informers */
                for (size_t j = 0; name && j < k && !dup; j++)
                        dup = strcmp(v[j], name) == 0;
                if (name && !dup && strcmp(name, an->age_secret) != 0 &&
                    strcmp(name, an->git_auth_secret) != 0)
                        v[k++] = name;
        }
        qsort(v, k, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = k;
        *ret_hold = list;
        return 0;
}

int op_reader_role_apply(struct ap_operator *op, struct op_app *a, const struct ap_platform *plat,
                         bool always, struct ap_error *err)
{
        const char **names = NULL;
        size_t n = 0;
        json_t *hold = NULL;
        int r = reader_names(op, plat->names, &names, &n, &hold);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        uint64_t h = AP_FNV64_OFFSET;
        for (size_t i = 0; i < n; i++)
                h = ap_fnv1a64_update(h, names[i], strlen(names[i]) + 1);
        pthread_mutex_lock(&a->lock);
        bool same = a->reader_applied && a->reader_hash == h;
        pthread_mutex_unlock(&a->lock);
        if (!same || always) {
                json_t *role = ap_render_secret_reader_role(plat, names, n);
                r = role ? op_apply(op, &op_res_roles, role, NULL, err)
                         : ap_error_set(err, -ENOMEM, "out of memory");
                json_decref(role);
                pthread_mutex_lock(&a->lock);
                a->reader_applied = r == 0;
                a->reader_hash = h;
                pthread_mutex_unlock(&a->lock);
        }
        free(names);
        json_decref(hold);
        return r;
}

int reg_prune_rolebindings(struct reg *g, char **keep, size_t n_keep, enum reg_prune which,
                           struct ap_error *err)
{
        char sel[200];
        snprintf(sel, sizeof(sel), "%s=%s,%s=%s", AP_LABEL_APP, g->n.app, AP_LABEL_MANAGED_BY, AP_MANAGED_BY);
        struct ap_kube_opts o = {.label_selector = sel, .timeout_ms = 30000};
        json_t *list = NULL;
        int r = ap_kube_list_all(g->op->kube, &op_res_rolebindings, NULL, &o, &list, NULL, err);
        if (r < 0)
                return r;
        const json_t *items = json_object_get(list, "items");
        for (size_t i = 0; r == 0 && i < json_array_size(items); i++) {
                const json_t *rb = json_array_get(items, i);
                const char *ns = ap_kube_obj_namespace(rb), *name = ap_kube_obj_name(rb);
                if (!ns || !name || (keep && strcmp(ns, g->n.platform_ns) == 0))
                        continue;
                bool flux = strcmp(name, g->n.flux_sa) == 0;
                bool access = strncmp(name, "app-platform-", 13) == 0 || strcmp(name, "secret-reader") == 0;
                bool ours = which == REG_PRUNE_ALL || (which == REG_PRUNE_FLUX ? flux : access);
                bool kept = false;
                for (size_t j = 0; keep && j < n_keep && !kept; j++)
                        kept = strcmp(keep[j], ns) == 0;
                if (ours && (flux || access) && !kept)
                        r = op_delete(g->op, &op_res_rolebindings, ns, name, err);
        }
        json_decref(list);
        return r;
}

int reg_step_rbac(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        int r = access_bindings(g, g->n.platform_ns, &err);
        for (size_t i = 0; r == 0 && i < g->n_namespaces; i++)
                r = access_bindings(g, g->namespaces[i], &err);
        if (r == 0)
                r = op_reader_role_apply(g->op, g->app, &g->plat, true, &err);
        if (r == 0) {
                json_t *rb = ap_render_secret_reader_binding(&g->plat);
                if (!rb)
                        r = ap_error_set(&err, -ENOMEM, "out of memory");
                else if (g->n_namespaces == 0)
                        r = op_delete(g->op, &op_res_rolebindings, g->n.platform_ns, "secret-reader", &err);
                else
                        r = op_apply(g->op, &op_res_rolebindings, rb, NULL, &err);
                json_decref(rb);
        }
        if (r == 0) {
                const char *sa = g->cfg->dashboard_sa;
                json_t *rb =
                    sa && *sa ? ap_render_dashboard_rolebinding(&g->plat, g->cfg->namespace, sa) : NULL;
                if (sa && *sa)
                        r = rb ? op_apply(g->op, &op_res_rolebindings, rb, NULL, &err)
                               : ap_error_set(&err, -ENOMEM, "out of memory");
                else
                        r = op_delete(g->op, &op_res_rolebindings, g->n.platform_ns, "app-platform-dashboard",
                                      &err);
                json_decref(rb);
        }
        /* bindings in namespaces the app no longer lists ('<app>-flux' is pruned by reg_flux.c) */
        if (r == 0) {
                char **keep = calloc(g->n_namespaces + 1, sizeof(char *));
                if (!keep)
                        r = ap_error_set(&err, -ENOMEM, "out of memory");
                for (size_t i = 0; keep && i < g->n_namespaces; i++)
                        keep[i] = g->namespaces[i];
                if (keep)
                        r = reg_prune_rolebindings(g, keep, g->n_namespaces, REG_PRUNE_ACCESS, &err);
                free(keep);
        }
        if (r < 0)
                return reg_fail(g, C_RBAC, "RBACError", &err, "cannot bind the app's roles");
        reg_cond(g, C_RBAC, true, "RBACReady", "%zu group%s bound in %zu namespace%s", g->n_access,
                 g->n_access == 1 ? "" : "s", g->n_namespaces + 1, g->n_namespaces ? "s" : "");
        return 0;
}
