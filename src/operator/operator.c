/* operator.c - wiring of the operator process (see operator.h): credentials, the Flux repo, forges,
 * informers with their event handlers, the three controllers, the manager. Reconcilers live in
 * registration.c, managed_secret.c and oidc_client.c. */
#include "operator/operator.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/log.h"
#include "kube/status.h"
#include "operator/operator_internal.h"

static const double encrypt_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

/* ---- credentials ---- */

/* data[key] of Secret ns/name decoded into *ret (a malloc'd string to be wiped); *ret NULL when absent. */
static int secret_key(const json_t *s, const char *key, char **ret)
{
        const char *v = json_string_value(json_object_get(json_object_get(s, "data"), key));
        *ret = NULL;
        if (!v)
                return 0;
        struct ap_buf b = AP_BUF_INIT_SECRET;
        int r = ap_base64_decode(&b, v, strlen(v), AP_B64_STD);
        if (r == 0)
                *ret = ap_buf_detach(&b, NULL);
        ap_buf_release(&b);
        return r < 0 ? r : (*ret ? 0 : -ENOMEM);
}

static int read_secret(struct ap_operator *op, const char *flag, const char *name, json_t **ret,
                       struct ap_error *err)
{
        struct ap_kube_opts o = {.timeout_ms = 30000};
        int r = ap_kube_get(op->kube, &ap_kube_res_secrets, op->cfg->namespace, name, &o, ret, NULL, err);
        if (r < 0)
                return ap_error_prefix(err, "--%s: cannot read Secret '%s/%s'", flag, op->cfg->namespace,
                                       name);
        return 0;
}

static int load_creds(struct ap_operator *op, struct ap_error *err)
{
        const struct ap_op_config *c = op->cfg;
        struct op_creds *k = &op->creds;
        json_t *s = NULL;
        int r = 0;
        if (c->flux_repo_credentials_secret) {
                if ((r = read_secret(op, "flux-repo-credentials-secret", c->flux_repo_credentials_secret, &s,
                                     err)) < 0)
                        return r;
                if (secret_key(s, "identity", &k->flux_identity) < 0 ||
                    secret_key(s, "known_hosts", &k->flux_known_hosts) < 0 ||
                    secret_key(s, "token", &k->flux_token) < 0)
                        r = ap_error_set(err, AP_E_INVALID,
                                         "--flux-repo-credentials-secret: Secret '%s/%s' holds invalid data",
                                         c->namespace, c->flux_repo_credentials_secret);
                else if (!k->flux_token && !(k->flux_identity && k->flux_known_hosts))
                        r = ap_error_set(
                            err, AP_E_INVALID,
                            "--flux-repo-credentials-secret: Secret '%s/%s' needs keys 'identity' and "
                            "'known_hosts' (SSH) or 'token' (HTTPS)",
                            c->namespace, c->flux_repo_credentials_secret);
                json_decref(s);
                if (r < 0)
                        return r;
        }
        if (c->forge == AP_FORGE_LOCAL && c->forge_credentials_secret) {
                /* the local forge served over SSH: the operator pushes to the clone URL with this key */
                if ((r = read_secret(op, "forge-credentials-secret", c->forge_credentials_secret, &s, err)) <
                    0)
                        return r;
                if (secret_key(s, "identity", &k->forge_ssh_identity) < 0 ||
                    secret_key(s, "known_hosts", &k->forge_ssh_known_hosts) < 0)
                        r = ap_error_set(err, AP_E_INVALID,
                                         "--forge-credentials-secret: Secret '%s/%s' holds invalid data",
                                         c->namespace, c->forge_credentials_secret);
                else if (!k->forge_ssh_identity || !k->forge_ssh_known_hosts)
                        r = ap_error_set(
                            err, AP_E_INVALID,
                            "--forge-credentials-secret: Secret '%s/%s' needs keys 'identity' and "
                            "'known_hosts' to push the local forge's repositories over SSH",
                            c->namespace, c->forge_credentials_secret);
                json_decref(s);
                if (r < 0)
                        return r;
        } else if (c->forge != AP_FORGE_LOCAL) {
                if ((r = read_secret(op, "forge-credentials-secret", c->forge_credentials_secret, &s, err)) <
                    0)
                        return r;
                if (secret_key(s, "token", &k->forge_token) < 0 ||
                    secret_key(s, "app-id", &k->forge_app_id) < 0 ||
                    secret_key(s, "installation-id", &k->forge_installation_id) < 0 ||
                    secret_key(s, "private-key.pem", &k->forge_private_key) < 0)
                        r = ap_error_set(err, AP_E_INVALID,
                                         "--forge-credentials-secret: Secret '%s/%s' holds invalid data",
                                         c->namespace, c->forge_credentials_secret);
                else if (!k->forge_token &&
                         !(k->forge_app_id && k->forge_installation_id && k->forge_private_key))
                        r = ap_error_set(
                            err, AP_E_INVALID,
                            "--forge-credentials-secret: Secret '%s/%s' needs key 'token', or 'app-id', "
                            "'installation-id' and 'private-key.pem' (GitHub App)",
                            c->namespace, c->forge_credentials_secret);
                json_decref(s);
                if (r < 0)
                        return r;
        }
        if (c->forge_known_hosts_secret) {
                if ((r = read_secret(op, "forge-known-hosts-secret", c->forge_known_hosts_secret, &s, err)) <
                    0)
                        return r;
                if (secret_key(s, "known_hosts", &k->clone_known_hosts) < 0 || !k->clone_known_hosts)
                        r = ap_error_set(err, AP_E_INVALID,
                                         "--forge-known-hosts-secret: Secret '%s/%s' needs key 'known_hosts'",
                                         c->namespace, c->forge_known_hosts_secret);
                json_decref(s);
        }
        return r;
}

static void creds_release(struct op_creds *k)
{
        ap_secure_free_str(k->flux_identity);
        ap_secure_free_str(k->flux_known_hosts);
        ap_secure_free_str(k->flux_token);
        ap_secure_free_str(k->forge_token);
        ap_secure_free_str(k->forge_app_id);
        ap_secure_free_str(k->forge_installation_id);
        ap_secure_free_str(k->forge_private_key);
        ap_secure_free_str(k->clone_known_hosts);
        ap_secure_free_str(k->forge_ssh_identity);
        ap_secure_free_str(k->forge_ssh_known_hosts);
        memset(k, 0, sizeof(*k));
}

/* ---- forges ---- */

static void forge_free(void *v)
{
        ap_forge_free(v);
}

int op_forge(struct ap_operator *op, const char *owner, struct ap_forge **ret, struct ap_error *err)
{
        const struct ap_op_config *c = op->cfg;
        const char *key = owner ? owner : c->forge_owner ? c->forge_owner : "";
        pthread_mutex_lock(&op->forges_lock);
        struct ap_forge *f = ap_keymap_get(&op->forges, key);
        int r = 0;
        if (!f) {
                struct ap_forge_config fc = {
                    .kind = c->forge,
                    .api_url = c->forge_api_url,
                    .owner = *key ? key : NULL,
                    .token = op->creds.forge_token,
                    .app_id = op->creds.forge_app_id,
                    .installation_id = op->creds.forge_installation_id,
                    .app_private_key_pem = op->creds.forge_private_key,
                    .clone_url_template = c->forge_clone_url,
                    .local_dir = c->local_repos_dir,
                    .user_agent = "app-platform-operator",
                };
                r = ap_forge_new(&fc, &f, err);
                if (r == 0 && ap_keymap_put(&op->forges, key, f, NULL) < 0) {
                        f = ap_forge_free(f);
                        r = ap_error_set(err, -ENOMEM, "out of memory");
                }
        }
        pthread_mutex_unlock(&op->forges_lock);
        if (r == 0)
                *ret = f;
        return r;
}

int op_forge_delete_repo(struct ap_operator *op, struct ap_forge *f, const char *name, struct ap_error *err)
{
        bool deleted = false;
        int r = ap_forge_delete_repo(f, name, &deleted, err);
        if (r == 0 && deleted)
                ap_log(AP_LOG_INFO, "deleted the platform repository '%s'", name);
        return r;
}

void op_fault(struct ap_operator *op, const char *point)
{
        if (!op->fault_point[0] || strcmp(op->fault_point, point) != 0)
                return;
        if (atomic_fetch_sub(&op->fault_left, 1) == 1) {
                ap_log(AP_LOG_WARN, "test fault: killing the process at '%s'", point);
                raise(SIGKILL);
        }
}

void op_fault_hook(void *userdata, const char *point)
{
        op_fault(userdata, point);
}

void op_git_retry_hook(void *userdata, const char *repo_name, unsigned step, const struct ap_error *cause)
{
        (void)userdata;
        /* the first retry of a call and then every 8th: enough to see an outage and how long it lasts */
        if (step % 8 != 0)
                return;
        bool moved = cause && cause->code == AP_E_CONFLICT;
        ap_log(moved ? AP_LOG_INFO : AP_LOG_WARN, "'%s': %s, retrying (retry %u): %s", repo_name,
               moved ? "the branch moved" : "the remote cannot be reached", step + 1,
               cause ? ap_error_message(cause) : "unknown cause");
}

bool op_flux_missing(struct ap_operator *op)
{
        return !op->gitrepos || !op->kustomizations || ap_kube_informer_resource_missing(op->gitrepos) ||
               ap_kube_informer_resource_missing(op->kustomizations);
}

const atomic_bool *op_cancel_flag(struct ap_operator *op)
{
        return op->reg_ctl ? ap_kube_controller_cancel_flag(op->reg_ctl) : NULL;
}

/* ---- event handlers: every change is a key of its app ---- */

static void queue(struct ap_kube_workqueue *q, const char *app, long delay_ms)
{
        int r = delay_ms > 0 ? ap_kube_workqueue_add_after(q, app, delay_ms) : ap_kube_workqueue_add(q, app);
        if (r < 0)
                ap_log(AP_LOG_WARN, "cannot queue app '%s': out of memory", app);
}

static void reg_event(void *userdata, json_t *obj)
{
        struct ap_operator *op = userdata;
        const char *name = ap_kube_obj_name(obj);
        if (name)
                queue(op->reg_q, name, 0);
}

/* A registration's existence and spec.namespaces decide whether its OIDC clients are valid. */
static void reg_oidc(struct ap_operator *op, const char *name)
{
        queue(op->oidc_q, name, 0);
        queue(op->oidc_q, OP_OIDC_AUTHELIA_KEY, op->cfg->batch_ms);
}

static void reg_add_delete(void *userdata, json_t *obj)
{
        reg_event(userdata, obj);
        if (ap_kube_obj_name(obj))
                reg_oidc(userdata, ap_kube_obj_name(obj));
}

static void reg_update(void *userdata, json_t *old_obj, json_t *new_obj)
{
        struct ap_operator *op = userdata;
        const json_t *om = json_object_get(old_obj, "metadata"), *nm = json_object_get(new_obj, "metadata");
        static const char *const meta[] = {"generation", "deletionTimestamp", "finalizers", "labels",
                                           "annotations"};
        bool status_only =
            ap_kube_obj_same(json_object_get(old_obj, "spec"), json_object_get(new_obj, "spec"));
        for (size_t i = 0; status_only && i < AP_ARRAY_SIZE(meta); i++)
                status_only = ap_kube_obj_same(json_object_get(om, meta[i]), json_object_get(nm, meta[i]));
        if (status_only) {
                /* our own status writes come back: only check that FluxReady still says what Flux says */
                if (ap_kube_obj_name(new_obj))
                        queue(op->fst_q, ap_kube_obj_name(new_obj), 0);
                return;
        }
        reg_event(userdata, new_obj);
        if (ap_kube_obj_name(new_obj) &&
            (!ap_kube_obj_same(json_object_get(old_obj, "spec"), json_object_get(new_obj, "spec")) ||
             !ap_kube_obj_same(json_object_get(om, "deletionTimestamp"),
                               json_object_get(nm, "deletionTimestamp"))))
                reg_oidc(userdata, ap_kube_obj_name(new_obj));
}

static void intent_event(void *userdata, json_t *obj)
{
        struct ap_operator *op = userdata;
        char app[AP_NAME_BUF];
        if (ap_app_from_platform_ns(ap_kube_obj_namespace(obj), app, sizeof(app)))
                queue(op->sec_q, app, op->cfg->batch_ms);
}

static void intent_update(void *userdata, json_t *old_obj, json_t *new_obj)
{
        /* Every update queues the app's pass, our own annotation writes included: a pass re-checks the
         * committed/commit annotations, which corrects one written over a newer version by a race (seen
         * under a 410 relist when only changes of data/targets queued; see the issue notes). */
        (void)old_obj;
        intent_event(userdata, new_obj);
}

/* ---- OIDC client Secrets: the app's OIDC pass, the Authelia file, the delivery, the secret-reader Role ----
 */

static void oidc_changed(struct ap_operator *op, const json_t *old_obj, const json_t *new_obj,
                         bool add_or_delete)
{
        char app[AP_NAME_BUF];
        const char *ns = ap_kube_obj_namespace(new_obj);
        if (ns && strcmp(ns, op->cfg->namespace) == 0) { /* a platform client */
                queue(op->oidc_q, OP_OIDC_PLATFORM_KEY, 0);
                queue(op->oidc_q, OP_OIDC_AUTHELIA_KEY, op->cfg->batch_ms);
                return;
        }
        if (!ap_app_from_platform_ns(ns, app, sizeof(app)))
                return;
        queue(op->oidc_q, app, 0);
        queue(op->oidc_q, OP_OIDC_AUTHELIA_KEY, op->cfg->batch_ms);
        const json_t *oa = json_object_get(json_object_get(old_obj, "metadata"), "annotations");
        const json_t *na = json_object_get(json_object_get(new_obj, "metadata"), "annotations");
        if (json_object_get(oa, AP_ANN_TARGET_NS) || json_object_get(na, AP_ANN_TARGET_NS))
                queue(op->sec_q, app, op->cfg->batch_ms); /* delivered through the managed-secret pipeline */
        if (add_or_delete)
                queue(op->reg_q, app, 0); /* the secret-reader Role names it */
}

static void oidc_event(void *userdata, json_t *obj)
{
        oidc_changed(userdata, obj, obj, true);
}

static void oidc_update(void *userdata, json_t *old_obj, json_t *new_obj)
{
        /* our own status writes come back as updates: only what the passes read matters */
        const json_t *om = json_object_get(old_obj, "metadata"), *nm = json_object_get(new_obj, "metadata");
        static const char *const keys[] = {AP_ANN_TARGET_NS, AP_ANN_TARGET_NAME, AP_ANN_DELETE};
        bool same = ap_kube_obj_same(json_object_get(old_obj, "data"), json_object_get(new_obj, "data")) &&
                    ap_kube_obj_same(json_object_get(om, "deletionTimestamp"),
                                     json_object_get(nm, "deletionTimestamp")) &&
                    ap_kube_obj_same(json_object_get(om, "labels"), json_object_get(nm, "labels")) &&
                    ap_kube_obj_same(json_object_get(om, "finalizers"), json_object_get(nm, "finalizers"));
        for (size_t i = 0; same && i < AP_ARRAY_SIZE(keys); i++)
                same = ap_kube_obj_same(json_object_get(json_object_get(om, "annotations"), keys[i]),
                                        json_object_get(json_object_get(nm, "annotations"), keys[i]));
        if (!same)
                oidc_changed(userdata, old_obj, new_obj, false);
}

/* The next secrets pass of app fetches first (Flux saw a revision: maybe a hand edit under secrets/). */
static void want_sync(struct ap_operator *op, const char *app)
{
        struct op_app *a = op_app_get(op, app);
        if (a)
                atomic_store(&a->needs_sync, true);
}

static bool revision_is_ours(struct ap_operator *op, const char *app, const char *rev)
{
        struct op_app *a = op_app_get(op, app);
        if (!a || !rev)
                return false;
        pthread_mutex_lock(&a->lock);
        const char *sha = strstr(rev, "sha1:");
        bool ours = a->pushed[0] && sha && strcmp(sha + 5, a->pushed) == 0;
        pthread_mutex_unlock(&a->lock);
        return ours;
}

static void flux_event(void *userdata, json_t *obj)
{
        struct ap_operator *op = userdata;
        const char *app = ap_kube_obj_label(obj, AP_LABEL_APP);
        if (app) {
                want_sync(op, app);
                queue(op->reg_q, app, 0);
                queue(op->sec_q, app, 0); /* a new revision may hold a hand edit of secrets/ */
        }
}

/* A GitRepository or Kustomization a registration pass of ours just created: its add event brings nothing
 * that pass did not know (the ReplicaSet controller's expectations, in small), so it queues no second
 * full pass. A new app's second pass otherwise waited in the queue behind the other new apps' first ones
 * and ran into the secrets burst that followed (bench/operator/run). */
static void flux_add(void *userdata, json_t *obj)
{
        struct ap_operator *op = userdata;
        const char *app = ap_kube_obj_label(obj, AP_LABEL_APP), *rv = ap_kube_obj_resource_version(obj);
        struct op_app *a = app && rv && *rv ? op_app_get(op, app) : NULL;
        bool ours = false;
        if (a) {
                pthread_mutex_lock(&a->lock);
                ours = strcmp(rv, a->flux_rv[0]) == 0 || strcmp(rv, a->flux_rv[1]) == 0;
                pthread_mutex_unlock(&a->lock);
        }
        if (ours)
                queue(op->fst_q, app, 0); /* only what Flux says about it */
        else
                flux_event(userdata, obj);
}

/* Inventory entries ("<ns>_<name>_<group>_<kind>") by namespace. */
static int cmp_ns(const void *a, const void *b)
{
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        size_t nx = op_inventory_ns_len(x), ny = op_inventory_ns_len(y);
        int c = strncmp(x, y, nx < ny ? nx : ny);
        return c ? c : (nx > ny) - (nx < ny);
}

/* The namespace of inventory id (nl bytes) is one '<app>-flux' is bound in anyway: the platform
 * namespace or one of the registration's spec.namespaces. */
static bool spec_namespace(const char *id, size_t nl, const char *app, const json_t *reg)
{
        size_t al = strlen(app);
        if (nl == al + sizeof("-platform") - 1 && strncmp(id, app, al) == 0 &&
            strncmp(id + al, "-platform", nl - al) == 0)
                return true;
        const json_t *nss = json_object_get(json_object_get(reg, "spec"), "namespaces");
        for (size_t i = 0; i < json_array_size(nss); i++) {
                const char *n = json_string_value(json_array_get(nss, i));
                if (n && strlen(n) == nl && strncmp(n, id, nl) == 0)
                        return true;
        }
        return false;
}

/* The namespaces (sorted, unique) of a Kustomization's inventory entries outside the registration's own
 * (reg may be NULL); NULL when out of memory. */
static const char **inventory_namespaces(const json_t *status, const char *app, const json_t *reg,
                                         size_t *ret_n)
{
        const json_t *entries = json_object_get(json_object_get(status, "inventory"), "entries");
        size_t n = 0, total = json_array_size(entries);
        const char **v = malloc((total + 1) * sizeof(*v));
        if (!v)
                return NULL;
        for (size_t i = 0; i < total; i++) {
                const char *id = json_string_value(json_object_get(json_array_get(entries, i), "id"));
                size_t nl = op_inventory_ns_len(id);
                if (nl > 0 && !spec_namespace(id, nl, app, reg))
                        v[n++] = id; /* cluster-scoped objects ("_name_...") hold no namespace */
        }
        qsort(v, n, sizeof(*v), cmp_ns);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
                if (u == 0 || cmp_ns(&v[u - 1], &v[i]) != 0)
                        v[u++] = v[i];
        *ret_n = u;
        return v;
}

/* Whether the set of namespaces Flux applied objects into, beyond the registration's own, changed
 * ('<app>-flux' stays bound there until Flux pruned them: reg_flux_namespaces). A new app's first
 * secrets reaching its spec namespaces need no full pass. */
static bool inventory_namespaces_changed(struct ap_operator *op, const char *app, const json_t *os,
                                         const json_t *ns)
{
        json_t *reg = ap_kube_informer_get(op->regs, app);
        size_t no = 0, nn = 0;
        const char **a = inventory_namespaces(os, app, reg, &no),
                   **b = inventory_namespaces(ns, app, reg, &nn);
        bool changed = !a || !b || no != nn;
        for (size_t i = 0; !changed && i < no; i++)
                changed = cmp_ns(&a[i], &b[i]) != 0;
        free(a);
        free(b);
        json_decref(reg);
        return changed;
}

static void flux_update(void *userdata, json_t *old_obj, json_t *new_obj)
{
        struct ap_operator *op = userdata;
        const char *app = ap_kube_obj_label(new_obj, AP_LABEL_APP);
        if (!app)
                return;
        const json_t *os = json_object_get(old_obj, "status"), *ns = json_object_get(new_obj, "status");
        /* Flux's status changes with every revision: it is only the registration's FluxReady and the
         * sweep of what Flux left behind (a pass without the app's work_lock); a new namespace in the
         * inventory changes the RBAC */
        if (inventory_namespaces_changed(op, app, os, ns))
                queue(op->reg_q, app, 0);
        if (!ap_kube_obj_same(os, ns)) /* conditions, observedGeneration, lastAppliedRevision, inventory */
                queue(op->fst_q, app, 0);
        const json_t *rev = json_object_get(json_object_get(ns, "artifact"), "revision");
        if (!ap_kube_obj_same(json_object_get(json_object_get(os, "artifact"), "revision"), rev)) {
                /* a revision we pushed ourselves ("main@sha1:<ours>") is already in the cache; any other
                 * (a hand edit, another writer) is fetched before the next pass */
                if (!revision_is_ours(op, app, json_string_value(rev)))
                        want_sync(op, app);
                queue(op->sec_q, app, 0);
        }
}

/* ---- leadership, in the log ---- */

static void on_leading(void *userdata, bool leading)
{
        struct ap_operator *op = userdata;
        if (!op->cfg->leader_elect)
                return;
        if (leading)
                ap_log(AP_LOG_INFO, "leading as '%s' (Lease '%s/app-platform-operator'): controllers started",
                       op->identity, op->cfg->namespace);
        else
                ap_log(AP_LOG_WARN, "'%s' is not leading any more: controllers stopped, no reconcile runs",
                       op->identity);
}

/* ---- set-up ---- */

static int add_informer(struct ap_operator *op, const struct ap_kube_resource *res, const char *selector,
                        const struct ap_kube_informer_handlers *h, bool by_namespace, bool optional,
                        struct ap_kube_informer **ret, struct ap_error *err)
{
        struct ap_kube_informer_options io = {
            .resource = res, .label_selector = selector, .optional = optional};
        struct ap_kube_informer *inf = NULL;
        int r = ap_kube_informer_new(op->kube, &io, &inf, err);
        if (r == 0 && by_namespace)
                r = ap_kube_informer_add_index(inf, "namespace", ap_kube_index_namespace, NULL);
        if (r == 0)
                r = ap_kube_informer_add_handlers(inf, h);
        if (r == 0)
                r = ap_kube_manager_add_informer(op->mgr, inf);
        if (r < 0) {
                ap_kube_informer_free(inf);
                return err->code ? err->code
                                 : ap_error_set(err, r, "cannot set up the informer for %s", res->resource);
        }
        *ret = inf;
        return 0;
}

/* Does the API serve res? (LIST with limit 1: 404 means its CRD is not installed.) */
static int served(struct ap_operator *op, const struct ap_kube_resource *res, bool *ret, struct ap_error *err)
{
        struct ap_kube_opts o = {.limit = 1, .timeout_ms = 30000};
        json_t *list = NULL;
        int r = ap_kube_list(op->kube, res, NULL, &o, &list, NULL, err);
        json_decref(list);
        *ret = r == 0;
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                return 0;
        }
        return r;
}

static int add_controller(struct ap_operator *op, const char *name, ap_kube_reconcile_fn fn,
                          struct ap_kube_controller **ret, struct ap_error *err)
{
        struct ap_kube_controller_options co = {
            .name = name,
            .workers = (int)op->cfg->workers,
            .reconcile = fn,
            .userdata = op,
            .metrics = op->metrics,
            .base_delay_ms = 500,
            .max_delay_ms = 300000,
        };
        int r = ap_kube_controller_new(&co, ret, err);
        if (r == 0 && (r = ap_kube_manager_add_controller(op->mgr, *ret)) < 0) {
                *ret = ap_kube_controller_free(*ret);
                return ap_error_set(err, r, "cannot add the controller '%s'", name);
        }
        return r;
}

static int register_metrics(struct ap_operator *op)
{
        struct ap_kube_metrics *m = op->metrics;
        int r = ap_kube_metrics_register(
            m, "app_platform_kube_writes_total", AP_KUBE_COUNTER,
            "Writes the operator sent to the apiserver (applies, patches, deletes)", NULL, 0);
        if (r == 0)
                r = ap_kube_metrics_register(m, "app_platform_commits_total", AP_KUBE_COUNTER,
                                             "Commits pushed, by repository kind (platform, flux)", NULL, 0);
        if (r == 0)
                r = ap_kube_metrics_register(m, "app_platform_push_failures_total", AP_KUBE_COUNTER,
                                             "Managed-secret commits that could not be pushed", NULL, 0);
        if (r == 0)
                r = ap_kube_metrics_register(m, "app_platform_encrypt_duration_seconds", AP_KUBE_HISTOGRAM,
                                             "Time to SOPS-encrypt one file", encrypt_buckets,
                                             AP_ARRAY_SIZE(encrypt_buckets));
        if (r == 0)
                r = ap_kube_metrics_register(m, "app_platform_secret_reconciles_total", AP_KUBE_COUNTER,
                                             "Managed-secret passes (one per app and batch)", NULL, 0);
        if (r < 0)
                return r;
        op->m_writes = ap_kube_metrics_series(m, "app_platform_kube_writes_total", NULL);
        op->m_commits_platform =
            ap_kube_metrics_series(m, "app_platform_commits_total", "repo", "platform", NULL);
        op->m_commits_flux = ap_kube_metrics_series(m, "app_platform_commits_total", "repo", "flux", NULL);
        op->m_push_fail = ap_kube_metrics_series(m, "app_platform_push_failures_total", NULL);
        op->m_encrypt = ap_kube_metrics_series(m, "app_platform_encrypt_duration_seconds", NULL);
        op->m_reconcile_secrets = ap_kube_metrics_series(m, "app_platform_secret_reconciles_total", NULL);
        return 0;
}

static int open_flux_repo(struct ap_operator *op, struct ap_error *err)
{
        const struct ap_op_config *c = op->cfg;
        struct ap_buf cache = AP_BUF_INIT;
        int r = ap_buf_printf(&cache, "%s/flux", c->cache_dir);
        struct ap_git_repo_config rc = {
            .name = "the cluster Flux repo",
            .url = c->flux_repo_url,
            .branch = c->flux_repo_branch,
            .cache_dir = cache.data,
            .identity = op->creds.flux_identity,
            .known_hosts = op->creds.flux_known_hosts,
            .token = op->creds.flux_token,
            .author_name = c->git_author_name,
            .author_email = c->git_author_email,
            .fault_hook = op_fault_hook,
            .on_retry = op_git_retry_hook,
            .retry_timeout_ms = (unsigned)c->git_retry_ms,
            .hook_userdata = op,
            .cancel = op_cancel_flag(op), /* leadership lost: stop pushing at once */
        };
        if (r == 0)
                r = ap_git_repo_new(&rc, &op->flux_repo, err);
        else
                ap_error_set(err, r, "out of memory");
        ap_buf_release(&cache);
        if (r < 0)
                return ap_error_prefix(err, "--flux-repo-url");
        return 0;
}

/* mkdir -p path (0700: the caches hold the repos' history, the Flux repo's is encrypted but private). */
static int make_dirs(const char *path, struct ap_error *err)
{
        char buf[4096];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
                return ap_error_set(err, AP_E_INVALID, "--cache-dir: path too long");
        for (char *p = buf + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;
                *p = '\0';
                if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                        return ap_error_set(err, -errno, "--cache-dir: cannot create '%s': %s", buf,
                                            strerror(errno));
                *p = c;
                if (!c)
                        return 0;
        }
}

static int setup(struct ap_operator *op, const char *identity, struct ap_error *err)
{
        const struct ap_op_config *c = op->cfg;
        bool ok = false;
        struct ap_buf platform_cache = AP_BUF_INIT;
        int mr = ap_buf_printf(&platform_cache, "%s/platform", c->cache_dir);
        if (mr == 0)
                mr = make_dirs(platform_cache.data, err);
        ap_buf_release(&platform_cache);
        if (mr < 0)
                return mr;
        int r = served(op, &op_res_registrations, &ok, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot reach the apiserver");
        if (!ok)
                return ap_error_set(
                    err, AP_E_NOT_FOUND,
                    "the AppPlatformRegistration CRD (appplatformregistrations.labrats.work) is not "
                    "installed: apply it first (app-platform manifests --only crd | kubectl apply -f -)");
        if ((r = load_creds(op, err)) < 0)
                return r;
        if (ap_age_recipient_parse(c->cluster_age_recipient, strlen(c->cluster_age_recipient),
                                   &op->cluster_recipient, err) < 0)
                return ap_error_prefix(err, "--cluster-age-recipient");
        struct ap_kube_manager_options mo = {
            .metrics_addr = c->metrics_addr,
            .health_addr = c->health_addr,
            .leader_elect = c->leader_elect,
            .lease_namespace = c->namespace,
            .lease_name = "app-platform-operator",
            .identity = identity,
            .on_leading = on_leading,
            .userdata = op,
        };
        if ((r = ap_kube_manager_new(op->kube, &mo, &op->mgr, err)) < 0)
                return r;
        op->metrics = ap_kube_manager_metrics(op->mgr);
        if (register_metrics(op) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_recorder_options ro = {.controller = "labrats.work/app-platform-operator",
                                              .instance = identity};
        if ((r = ap_kube_recorder_new(op->kube, &ro, &op->rec, err)) < 0)
                return r;
        if ((r = add_controller(op, "appplatformregistration", op_registration_reconcile, &op->reg_ctl,
                                err)) < 0 ||
            (r = add_controller(op, "managedsecret", op_secrets_reconcile, &op->sec_ctl, err)) < 0 ||
            (r = add_controller(op, "oidcclient", op_oidc_reconcile, &op->oidc_ctl, err)) < 0 ||
            (r = add_controller(op, "registrationflux", op_registration_flux_reconcile, &op->fst_ctl, err)) <
                0)
                return r;
        if ((r = open_flux_repo(op, err)) < 0) /* after the controllers: it stops on their cancel flag */
                return r;
        op->reg_q = ap_kube_controller_queue(op->reg_ctl);
        op->sec_q = ap_kube_controller_queue(op->sec_ctl);
        op->oidc_q = ap_kube_controller_queue(op->oidc_ctl);
        op->fst_q = ap_kube_controller_queue(op->fst_ctl);
        if (!(op->oidc_state = op_oidc_state_new()) ||
            ap_kube_workqueue_add(op->oidc_q, OP_OIDC_AUTHELIA_KEY) < 0 ||
            ap_kube_workqueue_add(op->oidc_q, OP_OIDC_PLATFORM_KEY) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_informer_handlers oh = {oidc_event, oidc_update, oidc_event, op};
        struct ap_kube_informer_handlers rh = {reg_add_delete, reg_update, reg_add_delete, op};
        struct ap_kube_informer_handlers ih = {intent_event, intent_update, intent_event, op};
        struct ap_kube_informer_handlers fh = {flux_add, flux_update, flux_event, op};
        if ((r = add_informer(op, &op_res_registrations, c->watch_selector, &rh, false, false, &op->regs,
                              err)) < 0 ||
            (r = add_informer(op, &ap_kube_res_secrets, AP_LABEL_MANAGED_SECRET "=true", &ih, true, false,
                              &op->intents, err)) < 0 ||
            (r = add_informer(op, &ap_kube_res_secrets, AP_LABEL_OIDC_CLIENT, &oh, true, false, &op->oidc,
                              err)) < 0)
                return r;
        /* optional: Flux may be installed after the operator; registrations say FluxNotInstalled meanwhile */
        const char *sel = AP_LABEL_MANAGED_BY "=" AP_MANAGED_BY;
        if ((r = add_informer(op, &op_res_gitrepositories, sel, &fh, false, true, &op->gitrepos, err)) < 0 ||
            (r = add_informer(op, &op_res_kustomizations, sel, &fh, false, true, &op->kustomizations, err)) <
                0)
                return r;
        return 0;
}

int ap_operator_run(const struct ap_op_config *cfg, struct ap_kube_client *kube, const char *identity,
                    struct ap_error *err)
{
        struct ap_operator *op = calloc(1, sizeof(*op));
        if (!op)
                return ap_error_set(err, -ENOMEM, "out of memory");
        op->cfg = cfg;
        op->kube = kube;
        op->identity = identity;
        pthread_mutex_init(&op->flux_lock, NULL);
        pthread_mutex_init(&op->forges_lock, NULL);
        pthread_mutex_init(&op->apps_lock, NULL);
        ap_keymap_init(&op->forges);
        ap_keymap_init(&op->apps);
        if (cfg->test_fault && *cfg->test_fault) {
                const char *colon = strchr(cfg->test_fault, ':');
                size_t n = colon ? (size_t)(colon - cfg->test_fault) : strlen(cfg->test_fault);
                snprintf(op->fault_point, sizeof(op->fault_point), "%.*s", (int)n, cfg->test_fault);
                atomic_store(&op->fault_left, colon ? strtol(colon + 1, NULL, 10) : 1);
                ap_log(AP_LOG_WARN, "test fault armed: SIGKILL at '%s' #%ld", op->fault_point,
                       atomic_load(&op->fault_left));
        }
        int r = setup(op, identity, err);
        if (r == 0) {
                ap_log(AP_LOG_INFO,
                       "operator started: namespace %s, forge %s, Flux repo %s (branch %s, path %s), %ld "
                       "workers%s",
                       cfg->namespace, cfg->forge_name, cfg->flux_repo_url, cfg->flux_repo_branch,
                       cfg->flux_repo_path, cfg->workers, cfg->leader_elect ? ", leader election on" : "");
                struct ap_kube_health *h = ap_kube_manager_health(op->mgr);
                ap_log(AP_LOG_INFO, "serving /metrics on port %d, /healthz and /readyz on port %d",
                       ap_kube_health_port(h, false), ap_kube_health_port(h, true));
                if (cfg->leader_elect)
                        ap_log(AP_LOG_INFO,
                               "waiting to lead: campaigning for Lease '%s/app-platform-operator' as '%s'",
                               cfg->namespace, identity);
                r = op_watch_log_start(op, err);
                if (r == 0)
                        r = ap_kube_manager_run(op->mgr, err);
                op_watch_log_stop(op);
        }
        if (op->rec) {
                struct ap_error ferr = AP_ERROR_INIT;
                if (ap_kube_recorder_flush(op->rec, &ferr) < 0)
                        ap_log(AP_LOG_DEBUG, "cannot flush events: %s", ap_error_message(&ferr));
        }
        ap_kube_manager_free(op->mgr); /* stops and frees informers and controllers */
        ap_kube_recorder_free(op->rec);
        op_apps_free(op);
        op->oidc_state = op_oidc_state_free(op->oidc_state);
        ap_keymap_release(&op->forges, forge_free);
        ap_git_repo_free(op->flux_repo);
        ap_age_recipient_free(op->cluster_recipient);
        creds_release(&op->creds);
        pthread_mutex_destroy(&op->flux_lock);
        pthread_mutex_destroy(&op->forges_lock);
        pthread_mutex_destroy(&op->apps_lock);
        free(op);
        return r;
}
