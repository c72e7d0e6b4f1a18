/* reg_delete.c - what the finalizer labrats.work/cleanup does when a registration is deleted: the app's
 * Flux repo folder is removed (one commit) and the objects the operator applied go (Flux objects,
 * bindings, the ServiceAccount, the key copies in the platform namespace); with deletionPolicy Delete the
 * platform repository and the namespaces go too, with Retain (the default) they stay. The age key in the
 * operator namespace goes last, then the finalizer. Every step is idempotent, so a pass that fails half
 * way is simply retried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kube/status.h"
#include "operator/reg.h"

static int remove_flux_folder(struct reg *g, struct ap_error *err)
{
        struct ap_buf dir = AP_BUF_INIT;
        int r = ap_buf_printf(&dir, "%s/%s", g->cfg->flux_repo_path, g->n.platform_ns);
        if (r < 0) {
                ap_buf_release(&dir);
                return ap_error_set(err, r, "out of memory");
        }
        char subject[200];
        snprintf(subject, sizeof(subject), "apps: %s: remove the platform of %s (registration deleted)",
                 g->n.platform_ns, g->n.app);
        struct ap_git_change ch = {.path = dir.data, .remove_dir = true};
        struct ap_git_commit_request req = {
            .changes = &ch, .n_changes = 1, .subject = subject, .app = g->n.app};
        struct ap_git_push_result pr;
        r = ap_git_repo_commit_push(g->op->flux_repo, &req, &pr, err);
        if (r == 0 && !pr.unchanged)
                ap_kube_metric_inc(g->op->m_commits_flux);
        ap_buf_release(&dir);
        return r;
}

/* Let the app's managed secrets go: nothing is left to clean in Git for them. */
static int release_intents(struct reg *g, struct ap_error *err)
{
        json_t *list = ap_kube_informer_by_index(g->op->intents, "namespace", g->n.platform_ns);
        int r = list ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < json_array_size(list); i++)
                r = op_finalizer(g->op, &ap_kube_res_secrets, json_array_get(list, i), false, err);
        json_decref(list);
        return r;
}

/* deletionPolicy Delete: the namespaces that are the app's (by label), then the platform namespace. */
static int delete_namespaces(struct reg *g, struct ap_error *err)
{
        int r = 0;
        for (size_t i = 0; r == 0 && i <= g->n_namespaces; i++) {
                const char *ns = i < g->n_namespaces ? g->namespaces[i] : g->n.platform_ns;
                json_t *live = NULL;
                struct ap_kube_opts o = {.timeout_ms = 30000};
                r = ap_kube_get(g->op->kube, &ap_kube_res_namespaces, NULL, ns, &o, &live, NULL, err);
                if (r == AP_KUBE_E_NOT_FOUND) {
                        ap_error_clear(err);
                        r = 0;
                        continue;
                }
                const char *owner = r == 0 ? ap_kube_obj_label(live, AP_LABEL_APP) : NULL;
                if (r == 0 && owner && strcmp(owner, g->n.app) == 0)
                        r = op_delete(g->op, &ap_kube_res_namespaces, NULL, ns, err);
                json_decref(live);
        }
        return r;
}

int reg_finalize(struct reg *g, struct ap_kube_reconcile_result *res)
{
        const json_t *fins = json_object_get(json_object_get(g->obj, "metadata"), "finalizers");
        bool ours = false;
        for (size_t i = 0; i < json_array_size(fins); i++)
                ours = ours || (json_string_value(json_array_get(fins, i)) &&
                                strcmp(json_string_value(json_array_get(fins, i)), AP_FINALIZER) == 0);
        if (!ours)
                return 0;
        struct ap_error err = AP_ERROR_INIT;
        const char *step = "remove the Flux repo entries";
        int r = remove_flux_folder(g, &err);
        if (r == 0 && (step = "delete the Flux objects") &&
            (r = op_delete(g->op, &op_res_kustomizations, g->n.platform_ns, g->n.flux_object, &err)) == 0)
                r = op_delete(g->op, &op_res_gitrepositories, g->n.platform_ns, g->n.flux_object, &err);
        if (r == 0 && (step = "delete the RoleBindings"))
                r = reg_prune_rolebindings(g, NULL, 0, REG_PRUNE_ALL, &err);
        if (r == 0 && (step = "delete the platform objects") &&
            (r = op_delete(g->op, &op_res_roles, g->n.platform_ns, "secret-reader", &err)) == 0 &&
            (r = op_delete(g->op, &ap_kube_res_serviceaccounts, g->n.platform_ns, g->n.flux_sa, &err)) == 0 &&
            (r = op_delete(g->op, &ap_kube_res_secrets, g->n.platform_ns, g->n.git_auth_secret, &err)) == 0)
                r = op_delete(g->op, &ap_kube_res_secrets, g->n.platform_ns, g->n.age_secret, &err);
        if (r == 0 && (step = "release the managed secrets"))
                r = release_intents(g, &err);
        if (r == 0 && g->delete_policy) {
                struct ap_forge *f = NULL;
                step = "delete the platform repository";
                if ((r = op_forge(g->op, g->repo_owner, &f, &err)) == 0)
                        r = op_forge_delete_repo(g->op, f, g->repo_name, &err);
                if (r == 0 && (step = "delete the namespaces"))
                        r = delete_namespaces(g, &err);
        }
        if (r == 0 && (step = "delete the keys") &&
            (r = op_delete(g->op, &ap_kube_res_secrets, g->cfg->namespace, g->n.git_auth_secret, &err)) == 0)
                r = op_delete(g->op, &ap_kube_res_secrets, g->cfg->namespace, g->n.age_secret, &err);
        if (r == 0 && (step = "remove the finalizer"))
                r = op_finalizer(g->op, &op_res_registrations, g->obj, false, &err);
        if (r < 0) {
                ap_log(AP_LOG_WARN, "registration '%s' (deleting): cannot %s: %s", g->n.app, step,
                       ap_error_message(&err));
                op_event(g->op, g->obj, true, "CleanupFailed", "Delete", "cannot %s: %s; retrying", step,
                         ap_error_message(&err));
                return r;
        }
        op_app_reset(g->app);
        ap_log(AP_LOG_INFO, "registration '%s' deleted (deletionPolicy %s)", g->n.app,
               g->delete_policy ? "Delete: repository and namespaces deleted"
                                : "Retain: repository and namespaces kept");
        (void)res;
        return 0;
}
