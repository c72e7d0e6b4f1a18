/* flux_orphans.c - delete the delivered Secrets Flux lost track of (see flux_orphans.h): which ones, as
 * pure functions of the Kustomization, the intents and a list (unit-tested), and the sweep the
 * registration's Flux-status pass runs once per revision Flux finished applying. */
#include "operator/flux_orphans.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "operator/operator_internal.h"
#include "operator/secret_pass.h"

#define FLUX_LABEL_NAME "kustomize.toolkit.fluxcd.io/name"
#define FLUX_LABEL_NS   "kustomize.toolkit.fluxcd.io/namespace"

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
        return json_string_value(json_object_get(json_object_get(obj, a), b));
}

const char *op_flux_applied_revision(const json_t *kustomization, const json_t *gitrepo)
{
        const json_t *st = json_object_get(kustomization, "status");
        const json_t *c = ap_kube_condition_find(json_object_get(st, "conditions"), "Ready");
        const char *ready = json_string_value(json_object_get(c, "status"));
        const json_t *og = json_object_get(st, "observedGeneration");
        const json_t *gen = json_object_get(json_object_get(kustomization, "metadata"), "generation");
        const char *applied = json_string_value(json_object_get(st, "lastAppliedRevision"));
        const char *attempted = json_string_value(json_object_get(st, "lastAttemptedRevision"));
        if (!ready || strcmp(ready, "True") != 0 || !json_is_integer(og) || !json_is_integer(gen) ||
            json_integer_value(og) < json_integer_value(gen) || !applied || !*applied || !attempted ||
            strcmp(applied, attempted) != 0 ||
            !json_is_array(json_object_get(json_object_get(st, "inventory"), "entries")))
                return NULL;
        if (gitrepo) {
                const char *artifact = str_at(json_object_get(gitrepo, "status"), "artifact", "revision");
                if (!artifact || strcmp(artifact, applied) != 0)
                        return NULL;
        }
        return applied;
}

/* Inventory ids are "<namespace>_<name>_<group>_<kind>"; a core Secret's group is empty. */
static bool in_inventory(const json_t *entries, const char *ns, const char *name)
{
        size_t nl = strlen(ns), ml = strlen(name), i;
        const json_t *e;
        json_array_foreach(entries, i, e)
        {
                const char *id = json_string_value(json_object_get(e, "id"));
                if (op_inventory_ns_len(id) == nl && strncmp(id, ns, nl) == 0 &&
                    strncmp(id + nl + 1, name, ml) == 0 && strcmp(id + nl + 1 + ml, "__Secret") == 0)
                        return true;
        }
        return false;
}

/* Does a live intent deliver ns/name? (its target-namespaces list ns, its target name is name) */
static bool targeted(const json_t *intents, const char *ns, const char *name)
{
        size_t i, nl = strlen(ns);
        const json_t *it;
        json_array_foreach(intents, i, it)
        {
                const char *del = ap_kube_obj_annotation(it, AP_ANN_DELETE);
                if (del && strcmp(del, "true") == 0)
                        continue;
                const char *tn = ap_kube_obj_annotation(it, AP_ANN_TARGET_NAME);
                if (!tn || !*tn)
                        tn = ap_kube_obj_name(it);
                const char *targets = ap_kube_obj_annotation(it, AP_ANN_TARGET_NS);
                if (!tn || !targets || strcmp(tn, name) != 0)
                        continue;
                const char *tok;
                for (size_t l; (l = sec_next_target(&targets, &tok)) > 0;)
                        if (l == nl && strncmp(tok, ns, nl) == 0)
                                return true;
        }
        return false;
}

static bool delivered_by(const struct ap_app_names *n, const json_t *s)
{
        const char *app = ap_kube_obj_label(s, AP_LABEL_APP), *by = ap_kube_obj_label(s, AP_LABEL_MANAGED_BY),
                   *kn = ap_kube_obj_label(s, FLUX_LABEL_NAME), *kns = ap_kube_obj_label(s, FLUX_LABEL_NS),
                   *src = ap_kube_obj_annotation(s, AP_ANN_SOURCE);
        size_t pl = strlen(n->platform_ns);
        return app && strcmp(app, n->app) == 0 && by && strcmp(by, AP_MANAGED_BY) == 0 && kn &&
               strcmp(kn, n->flux_object) == 0 && kns && strcmp(kns, n->platform_ns) == 0 && src &&
               strncmp(src, n->platform_ns, pl) == 0 && src[pl] == '/';
}

json_t *op_flux_orphans(const struct ap_app_names *n, const json_t *inventory, const json_t *intents,
                        const json_t *secrets)
{
        json_t *out = json_array();
        size_t i;
        const json_t *s;
        json_array_foreach(secrets, i, s)
        {
                const char *ns = ap_kube_obj_namespace(s), *name = ap_kube_obj_name(s);
                if (!out || !ns || !name || !delivered_by(n, s) || in_inventory(inventory, ns, name) ||
                    targeted(intents, ns, name))
                        continue;
                if (json_array_append(out, (json_t *)s) < 0) {
                        json_decref(out);
                        return NULL;
                }
        }
        return out;
}

/* Delete the orphans in one namespace: 0, or the first error (the rest are still tried). */
static int sweep_namespace(struct ap_operator *op, const json_t *reg, const struct ap_app_names *n,
                           const char *ns, const json_t *inventory, const json_t *intents, const char *rev,
                           struct ap_error *err)
{
        char sel[256];
        snprintf(sel, sizeof(sel), "%s=%s,%s=%s", AP_LABEL_APP, n->app, FLUX_LABEL_NAME, n->flux_object);
        struct ap_kube_opts lo = {.label_selector = sel};
        json_t *list = NULL;
        int r = ap_kube_list(op->kube, &ap_kube_res_secrets, ns, &lo, &list, NULL, err);
        if (r < 0)
                return r;
        json_t *orphans = op_flux_orphans(n, inventory, intents, json_object_get(list, "items"));
        json_decref(list);
        if (!orphans)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t i;
        const json_t *s;
        int first = 0;
        json_array_foreach(orphans, i, s)
        {
                struct ap_kube_opts dopt = {.precondition_uid = ap_kube_obj_uid(s)};
                struct ap_error derr = AP_ERROR_INIT;
                int d = ap_kube_delete(op->kube, &ap_kube_res_secrets, ns, ap_kube_obj_name(s), &dopt, NULL,
                                       NULL, &derr);
                if (d == AP_KUBE_E_NOT_FOUND || d == AP_KUBE_E_CONFLICT) /* gone, or a new object */
                        continue;
                if (d < 0) {
                        if (!first) {
                                first = d;
                                ap_error_set(err, d, "cannot delete Secret '%s/%s': %s", ns,
                                             ap_kube_obj_name(s), ap_error_message(&derr));
                        }
                        continue;
                }
                ap_log(AP_LOG_INFO,
                       "registration '%s': deleted Secret '%s/%s' that Flux left behind (no managed secret "
                       "targets it, and Kustomization '%s/%s' does not list it after applying %s)",
                       n->app, ns, ap_kube_obj_name(s), n->platform_ns, n->flux_object, rev);
                op_event(
                    op, reg, true, "FluxOrphanDeleted", "Delete",
                    "deleted Secret '%s/%s': no managed secret targets it, and Flux's Kustomization does "
                    "not list it in its inventory after applying %s, so Flux would never prune it",
                    ns, ap_kube_obj_name(s), rev);
        }
        json_decref(orphans);
        return first;
}

int op_flux_orphans_sweep(struct ap_operator *op, struct op_app *app, const json_t *reg,
                          const struct ap_app_names *n, const json_t *kustomization, const json_t *gitrepo,
                          struct ap_error *err)
{
        const char *rev = op_flux_applied_revision(kustomization, gitrepo);
        pthread_mutex_lock(&app->lock);
        bool done = !rev || strcmp(app->swept_rev, rev) == 0;
        pthread_mutex_unlock(&app->lock);
        if (done)
                return 0;
        const json_t *inventory = json_object_get(
            json_object_get(json_object_get(kustomization, "status"), "inventory"), "entries");
        json_t *intents = ap_kube_informer_by_index(op->intents, "namespace", n->platform_ns);
        const json_t *nss = json_object_get(json_object_get(reg, "spec"), "namespaces");
        size_t i, al = strlen(n->app);
        const json_t *v;
        int r = 0;
        json_array_foreach(nss, i, v)
        {
                const char *ns = json_string_value(v);
                /* only the app's own namespaces: '<app>-<env>', as the registration accepts them */
                if (!ns || strncmp(ns, n->app, al) != 0 || ns[al] != '-' || !ap_is_dns1123_label(ns) ||
                    strcmp(ns, n->platform_ns) == 0)
                        continue;
                struct ap_error e = AP_ERROR_INIT;
                int s = sweep_namespace(op, reg, n, ns, inventory, intents, rev, &e);
                if (s < 0 && r == 0) {
                        r = s;
                        ap_error_set(err, s, "%s", ap_error_message(&e));
                }
        }
        json_decref(intents);
        if (r == 0) {
                pthread_mutex_lock(&app->lock);
                snprintf(app->swept_rev, sizeof(app->swept_rev), "%s", rev);
                pthread_mutex_unlock(&app->lock);
        }
        return r;
}
