/* registration.c - the AppPlatformRegistration reconciler: level-triggered and idempotent. One pass
 * reads the registration from the cache, validates its spec, then brings each part of the app's
 * platform to the desired state (namespaces here; key, repository, Flux and RBAC in the reg_*.c files),
 * records one condition per part, writes the status only when it changed and an Event for every
 * condition that changed. A part that fails leaves its condition False with a message saying what to
 * do; parts that depend on it are skipped, and the pass is retried with backoff. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kube/status.h"
#include "kube/timefmt.h"
#include "operator/reg.h"

static const char *const cond_types[C_COUNT] = {"NamespacesReady", "KeyReady", "RepositoryReady", "FluxReady",
                                                "RBACReady"};

void reg_cond(struct reg *g, enum reg_cond c, bool ok, const char *reason, const char *fmt, ...)
{
        struct reg_cond_state *s = &g->conds[c];
        if (s->set && strcmp(s->status, "True") != 0)
                return; /* keep the first failure of the pass */
        s->set = true;
        s->status = ok ? "True" : "False";
        snprintf(s->reason, sizeof(s->reason), "%s", reason);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->message, sizeof(s->message), fmt, ap);
        va_end(ap);
}

int reg_fail(struct reg *g, enum reg_cond c, const char *reason, const struct ap_error *err, const char *what)
{
        reg_cond(g, c, false, reason, "%s: %s", what, ap_error_message(err));
        g->failed = true;
        return err->code < 0 ? err->code : -EIO;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_access(const void *a, const void *b)
{
        const struct ap_access *x = a, *y = b;
        int c = strcmp(x->group, y->group);
        return c ? c : (int)x->role - (int)y->role;
}

/* The spec as the renderers need it; refuses what the CRD schema cannot express. Namespaces owned by
 * another app are dropped later (reg_step_namespaces). */
static int parse_spec(struct reg *g, struct ap_error *err)
{
        const json_t *spec = json_object_get(g->obj, "spec");
        const json_t *nss = json_object_get(spec, "namespaces");
        const json_t *acc = json_object_get(spec, "access");
        size_t prefix = strlen(g->n.app);
        g->namespaces = calloc(json_array_size(nss) + 1, sizeof(char *));
        g->access = calloc(json_array_size(acc) + 1, sizeof(*g->access));
        if (!g->namespaces || !g->access)
                return ap_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(nss); i++) {
                const char *ns = json_string_value(json_array_get(nss, i));
                if (!ns || !ap_is_dns1123_label(ns) || strncmp(ns, g->n.app, prefix) != 0 ||
                    ns[prefix] != '-' || !ns[prefix + 1])
                        return ap_error_set(
                            err, AP_E_INVALID,
                            "spec.namespaces: '%s' is not a namespace name starting with '%s-'",
                            ns ? ns : "(not a string)", g->n.app);
                if (strcmp(ns, g->n.platform_ns) == 0)
                        return ap_error_set(err, AP_E_INVALID,
                                            "spec.namespaces: '%s' is reserved for the operator; remove it",
                                            ns);
                bool dup = false;
                for (size_t j = 0; j < g->n_namespaces; j++)
                        dup = dup || strcmp(g->namespaces[j], ns) == 0;
                if (dup)
                        continue;
                if (!(g->namespaces[g->n_namespaces] = strdup(ns)))
                        return ap_error_set(err, -ENOMEM, "out of memory");
                g->n_namespaces++;
        }
        qsort(g->namespaces, g->n_namespaces, sizeof(char *), cmp_str);
        for (size_t i = 0; i < json_array_size(acc); i++) {
                const json_t *a = json_array_get(acc, i);
                const char *group = json_string_value(json_object_get(a, "group"));
                const char *role = json_string_value(json_object_get(a, "role"));
                enum ap_role r;
                if (!group || !*group || strncmp(group, "system:", 7) == 0)
                        return ap_error_set(err, AP_E_INVALID,
                                            "spec.access[%zu].group: '%s' is not a group name", i,
                                            group ? group : "");
                if (ap_role_parse(role, &r) < 0)
                        return ap_error_set(err, AP_E_INVALID,
                                            "spec.access[%zu].role: '%s' is not admin, developer or reader",
                                            i, role ? role : "");
                g->access[g->n_access++] = (struct ap_access){.group = group, .role = r};
        }
        qsort(g->access, g->n_access, sizeof(*g->access), cmp_access);
        g->plat.access = g->access;
        g->plat.n_access = g->n_access;
        const json_t *repo = json_object_get(spec, "repository");
        const char *provider = json_string_value(json_object_get(repo, "provider"));
        if (provider && strcmp(provider, g->cfg->forge_name) != 0)
                return ap_error_set(
                    err, AP_E_INVALID,
                    "spec.repository.provider: '%s' is not the forge this operator is configured for "
                    "('%s')",
                    provider, g->cfg->forge_name);
        const char *owner = json_string_value(json_object_get(repo, "owner"));
        const char *name = json_string_value(json_object_get(repo, "name"));
        g->repo_owner = g->cfg->forge == AP_FORGE_LOCAL ? NULL : strdup(owner ? owner : g->cfg->forge_owner);
        g->repo_name = strdup(name ? name : g->n.default_repo);
        if ((g->cfg->forge != AP_FORGE_LOCAL && !g->repo_owner) || !g->repo_name)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int rc = ap_forge_check_name(g->repo_name, err);
        if (rc < 0)
                return ap_error_prefix(err, "spec.repository.name");
        const char *policy = json_string_value(json_object_get(spec, "deletionPolicy"));
        g->delete_policy = policy && strcmp(policy, "Delete") == 0;
        return 0;
}

/* Ownership of a namespace: "" when free (absent or unlabelled), else the app named by its label. */
static int namespace_owner(struct reg *g, const char *ns, char *owner, size_t size, bool *ret_terminating,
                           struct ap_error *err)
{
        json_t *live = NULL;
        struct ap_kube_opts o = {.timeout_ms = 30000};
        int r = ap_kube_get(g->op->kube, &ap_kube_res_namespaces, NULL, ns, &o, &live, NULL, err);
        owner[0] = '\0';
        *ret_terminating = false;
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        const char *app = ap_kube_obj_label(live, AP_LABEL_APP);
        snprintf(owner, size, "%s", app ? app : "");
        *ret_terminating = json_object_get(json_object_get(live, "metadata"), "deletionTimestamp") != NULL;
        json_decref(live);
        return 0;
}

/* C_NAMESPACES: the platform namespace and every env namespace exist with the app's labels. A namespace
 * owned by another app is refused (dropped from the usable list), never adopted. Returns < 0 when the
 * platform namespace itself is unusable (nothing else can proceed). */
static int step_namespaces(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        char owner[AP_NAME_BUF];
        bool terminating;
        int r = namespace_owner(g, g->n.platform_ns, owner, sizeof(owner), &terminating, &err);
        if (r < 0)
                return reg_fail(g, C_NAMESPACES, "NamespaceError", &err,
                                "cannot read the platform namespace");
        if (*owner && strcmp(owner, g->n.app) != 0) {
                reg_cond(g, C_NAMESPACES, false, "NamespaceConflict",
                         "namespace '%s' belongs to app '%s' (label %s): it cannot be this app's platform "
                         "namespace",
                         g->n.platform_ns, owner, AP_LABEL_APP);
                return AP_E_CONFLICT;
        }
        json_t *ns = ap_render_namespace(&g->plat, g->n.platform_ns, true);
        r = ns ? op_apply(g->op, &ap_kube_res_namespaces, ns, NULL, &err)
               : ap_error_set(&err, -ENOMEM, "out of memory");
        json_decref(ns);
        if (r < 0)
                return reg_fail(g, C_NAMESPACES, "NamespaceError", &err,
                                "cannot create the platform namespace");
        size_t kept = 0;
        char refused[512] = "";
        for (size_t i = 0; i < g->n_namespaces; i++) {
                char *name = g->namespaces[i];
                r = namespace_owner(g, name, owner, sizeof(owner), &terminating, &err);
                if (r < 0) {
                        reg_fail(g, C_NAMESPACES, "NamespaceError", &err, "cannot read a namespace");
                        g->namespaces[kept++] = name;
                        continue;
                }
                if (*owner && strcmp(owner, g->n.app) != 0) {
                        size_t l = strlen(refused);
                        snprintf(refused + l, sizeof(refused) - l, "%s'%s' (app '%s')", l ? ", " : "", name,
                                 owner);
                        op_event(g->op, g->obj, true, "NamespaceRefused", "Refuse",
                                 "namespace '%s' belongs to app '%s'; it is not created or adopted", name,
                                 owner);
                        free(name);
                        continue;
                }
                g->namespaces[kept++] = name;
                if (terminating) {
                        reg_cond(
                            g, C_NAMESPACES, false, "NamespaceTerminating",
                            "namespace '%s' is being deleted; it is recreated once the deletion finished",
                            name);
                        g->failed = true;
                        continue;
                }
                json_t *obj = ap_render_namespace(&g->plat, name, false);
                r = obj ? op_apply(g->op, &ap_kube_res_namespaces, obj, NULL, &err)
                        : ap_error_set(&err, -ENOMEM, "out of memory");
                json_decref(obj);
                if (r < 0)
                        reg_fail(g, C_NAMESPACES, "NamespaceError", &err, "cannot create a namespace");
        }
        g->n_namespaces = kept;
        g->plat.namespaces = (const char *const *)g->namespaces;
        g->plat.n_namespaces = g->n_namespaces;
        if (*refused)
                reg_cond(g, C_NAMESPACES, false, "NamespaceConflict",
                         "refused %s: each belongs to another app; remove them from spec.namespaces",
                         refused);
        reg_cond(g, C_NAMESPACES, true, "NamespacesReady", "namespace %s and %zu app namespace%s exist",
                 g->n.platform_ns, g->n_namespaces, g->n_namespaces == 1 ? "" : "s");
        return 0;
}

/* Build the status object of this pass from the conditions; *ret_changed says whether it differs from
 * old (the cached status). Events for every condition whose status changed. */
static json_t *build_status(struct reg *g, const json_t *old, bool *ret_changed)
{
        json_t *conds = json_deep_copy(json_object_get(old, "conditions"));
        if (!conds)
                conds = json_array();
        if (!conds)
                return NULL;
        char now[AP_KUBE_TIME_MAX];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ap_kube_format_time(now, sizeof(now), &ts);
        bool changed = false, ready = true;
        char not_ready[1200] = "";
        for (int c = 0; c < C_COUNT; c++) {
                struct reg_cond_state *s = &g->conds[c];
                if (!s->set) {
                        s->status = "Unknown";
                        snprintf(s->reason, sizeof(s->reason), "Blocked");
                        snprintf(s->message, sizeof(s->message), "waiting for the conditions before it");
                }
                if (strcmp(s->status, "True") != 0 && ready) {
                        ready = false;
                        snprintf(not_ready, sizeof(not_ready), "%s: %s", cond_types[c], s->message);
                }
                const json_t *prev = ap_kube_condition_find(conds, cond_types[c]);
                const char *ps = json_string_value(json_object_get(prev, "status"));
                char prev_buf[16];
                snprintf(prev_buf, sizeof(prev_buf), "%s", ps ? ps : ""); /* the set below frees it */
                const char *prev_status = ps ? prev_buf : NULL;
                bool ch = false;
                if (ap_kube_condition_set(conds, cond_types[c], s->status, s->reason, s->message,
                                          g->generation, now, &ch) < 0) {
                        json_decref(conds);
                        return NULL;
                }
                if (ch && (!prev_status || strcmp(prev_status, s->status) != 0))
                        op_event(g->op, g->obj, strcmp(s->status, "True") != 0, s->reason, "Reconcile",
                                 "%s: %s", cond_types[c], s->message);
                changed = changed || ch;
        }
        bool ch = false;
        const char *pr = json_string_value(json_object_get(ap_kube_condition_find(conds, "Ready"), "status"));
        char prev_ready_buf[16];
        snprintf(prev_ready_buf, sizeof(prev_ready_buf), "%s", pr ? pr : "");
        const char *prev_ready = pr ? prev_ready_buf : NULL;
        if (ap_kube_condition_set(conds, "Ready", ready ? "True" : "False", ready ? "Ready" : "NotReady",
                                  ready ? "the platform is ready: secrets can be created" : not_ready,
                                  g->generation, now, &ch) < 0) {
                json_decref(conds);
                return NULL;
        }
        if (ch && (!prev_ready || strcmp(prev_ready, ready ? "True" : "False") != 0))
                op_event(g->op, g->obj, !ready, ready ? "Ready" : "NotReady", "Reconcile", "%s",
                         ready ? "the platform is ready" : not_ready);
        changed = changed || ch;
        json_t *st = json_pack("{s:I, s:s, s:o}", "observedGeneration", (json_int_t)g->generation,
                               "platformNamespace", g->n.platform_ns, "conditions", conds);
        if (!st)
                return NULL;
        if (g->status_repo_url)
                json_object_set_new(st, "repositoryURL", json_string(g->status_repo_url));
        else if (json_string_value(json_object_get(old, "repositoryURL")))
                json_object_set(st, "repositoryURL", json_object_get(old, "repositoryURL"));
        pthread_mutex_lock(&g->app->lock);
        if (g->app->recipient[0])
                json_object_set_new(st, "agePublicKey", json_string(g->app->recipient));
        else if (json_string_value(json_object_get(old, "agePublicKey"))) /* not loaded by this process yet */
                json_object_set(st, "agePublicKey", json_object_get(old, "agePublicKey"));
        pthread_mutex_unlock(&g->app->lock);
        static const char *const fields[] = {"observedGeneration", "platformNamespace", "repositoryURL",
                                             "agePublicKey"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(fields); i++)
                if (!ap_kube_obj_same(json_object_get(st, fields[i]), json_object_get(old, fields[i])))
                        changed = true;
        *ret_changed = changed;
        return st;
}

static int patch_status(struct reg *g, const json_t *old, struct ap_error *err)
{
        bool changed = false;
        json_t *st = build_status(g, old, &changed);
        if (!st)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = 0;
        if (changed) {
                json_t *patch = json_pack("{s:o}", "status", st);
                struct ap_kube_opts o = {.subresource = "status", .timeout_ms = 30000};
                ap_kube_metric_inc(g->op->m_writes);
                r = patch ? ap_kube_patch(g->op->kube, &op_res_registrations, NULL, g->n.app,
                                          AP_KUBE_PATCH_MERGE, patch, &o, NULL, NULL, err)
                          : ap_error_set(err, -ENOMEM, "out of memory");
                json_decref(patch);
        } else {
                json_decref(st);
        }
        return r;
}

/* The status of a pass, written over the freshest cached status with Flux's status as of now (not as of
 * the pass's start): under status_lock, so the Flux-status pass and the full pass never write older news
 * over newer. */
static int write_status(struct reg *g, struct ap_error *err)
{
        pthread_mutex_lock(&g->app->status_lock);
        if (g->flux_checked)
                reg_flux_status(g, NULL);
        json_t *cur = ap_kube_informer_get(g->op->regs, g->n.app);
        int r = patch_status(g, json_object_get(cur ? cur : g->obj, "status"), err);
        json_decref(cur);
        pthread_mutex_unlock(&g->app->status_lock);
        return r;
}

static void reg_release(struct reg *g)
{
        json_decref(g->obj);
        op_strv_free(g->namespaces, g->n_namespaces);
        free(g->access);
        free(g->repo_owner);
        free(g->repo_name);
        free(g->clone_url);
        free(g->repo_url_shown);
        free(g->status_repo_url);
        ap_buf_release(&g->age_keyfile);
        ap_buf_release(&g->deploy_identity);
        ap_buf_release(&g->deploy_pub);
}

static void reg_init(struct reg *g, struct ap_operator *op, json_t *obj)
{
        memset(g, 0, sizeof(*g));
        g->op = op;
        g->cfg = op->cfg;
        g->obj = obj;
        ap_buf_init_secret(&g->age_keyfile, 64 << 10);
        ap_buf_init_secret(&g->deploy_identity, 64 << 10);
        ap_buf_init(&g->deploy_pub, 64 << 10);
        json_t *gen = json_object_get(json_object_get(obj, "metadata"), "generation");
        g->generation = json_is_integer(gen) ? json_integer_value(gen) : 0;
        g->plat.names = &g->n;
        g->plat.group_prefix = op->cfg->rbac_group_prefix;
        g->plat.branch = op->cfg->platform_branch;
        g->plat.git_interval = op->cfg->git_interval;
        g->plat.ks_interval = op->cfg->ks_interval;
        g->plat.recipient = "";
        g->plat.clone_url = "";
        g->plat.repo_display = "";
}

/* Everything a live registration needs, in dependency order. */
static void run_steps(struct reg *g)
{
        if (step_namespaces(g) < 0)
                return;
        if (reg_step_key(g) < 0)
                return;
        int repo = reg_step_repo(g);
        if (reg_step_rbac(g) < 0)
                g->failed = true;
        if (repo == 0 && reg_step_flux(g) == 0)
                reg_rotation_advance(g);
}

int op_registration_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        struct ap_operator *op = userdata;
        json_t *obj = ap_kube_informer_get(op->regs, key);
        struct op_app *app = op_app_get(op, key);
        if (!app) {
                json_decref(obj);
                return -ENOMEM;
        }
        if (!obj) {
                /* gone (the finalizer ran, or it was never ours): forget the key and the repo handle */
                pthread_mutex_lock(&app->work_lock);
                op_app_reset(app);
                pthread_mutex_unlock(&app->work_lock);
                return 0;
        }
        struct reg g;
        reg_init(&g, op, obj);
        struct ap_error err = AP_ERROR_INIT;
        int r = ap_app_names_init(&g.n, key, &err);
        if (r < 0) {
                /* the CRD's schema prevents this; an older CRD might not */
                ap_log(AP_LOG_ERROR, "registration '%s': %s", key, ap_error_message(&err));
                reg_release(&g);
                return 0;
        }
        pthread_mutex_lock(&app->work_lock);
        g.app = app;
        if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp")) {
                if (parse_spec(&g, &err) < 0) /* a bad spec must not block deletion */
                        ap_error_clear(&err);
                r = reg_finalize(&g, res);
                pthread_mutex_unlock(&app->work_lock);
                reg_release(&g);
                return r;
        }
        r = parse_spec(&g, &err);
        if (r < 0) {
                for (int c = 0; c < C_COUNT; c++)
                        reg_cond(&g, c, false, "InvalidSpec", "%s", ap_error_message(&err));
        } else if ((r = op_finalizer(op, &op_res_registrations, obj, true, &err)) < 0) {
                reg_fail(&g, C_NAMESPACES, "FinalizerError", &err, "cannot add the finalizer");
        } else {
                run_steps(&g);
        }
        struct ap_error serr = AP_ERROR_INIT;
        int sr = write_status(&g, &serr);
        pthread_mutex_unlock(&app->work_lock);
        if (sr < 0)
                ap_log(AP_LOG_WARN, "registration '%s': cannot write the status: %s", key,
                       ap_error_message(&serr));
        if (ap_kube_workqueue_add(op->sec_q, key) < 0)
                ap_log(AP_LOG_WARN, "registration '%s': cannot queue its secrets: out of memory", key);
        bool failed = g.failed || sr < 0;
        if (failed)
                for (int c = 0; c < C_COUNT; c++)
                        if (g.conds[c].set && strcmp(g.conds[c].status, "True") != 0) {
                                ap_log(AP_LOG_WARN, "registration '%s': %s: %s", key, cond_types[c],
                                       g.conds[c].message);
                                break;
                        }
        reg_release(&g);
        if (failed)
                return -EAGAIN; /* retried with backoff */
        res->requeue_after_ms = g.requeue_soon ? 1000 : op->cfg->resync_ms;
        return 0;
}

/* Take the conditions other than FluxReady from the status of the last full pass; false unless that
 * pass observed this generation and found all of them True (then only a full pass can tell). */
static bool settled_conditions(struct reg *g)
{
        const json_t *st = json_object_get(g->obj, "status");
        const json_t *og = json_object_get(st, "observedGeneration");
        if (!json_is_integer(og) || json_integer_value(og) != g->generation)
                return false;
        const json_t *conds = json_object_get(st, "conditions");
        for (int c = 0; c < C_COUNT; c++) {
                if (c == C_FLUX)
                        continue;
                const json_t *cond = ap_kube_condition_find(conds, cond_types[c]);
                const char *s = json_string_value(json_object_get(cond, "status"));
                if (!s || strcmp(s, "True") != 0)
                        return false;
                struct reg_cond_state *cs = &g->conds[c];
                cs->set = true;
                cs->status = "True";
                const char *reason = json_string_value(json_object_get(cond, "reason"));
                const char *message = json_string_value(json_object_get(cond, "message"));
                snprintf(cs->reason, sizeof(cs->reason), "%s", reason ? reason : "");
                snprintf(cs->message, sizeof(cs->message), "%s", message ? message : "");
        }
        return true;
}

int op_registration_flux_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        (void)res;
        struct ap_operator *op = userdata;
        struct op_app *app = op_app_get(op, key);
        if (!app)
                return -ENOMEM;
        pthread_mutex_lock(&app->status_lock);
        json_t *obj = ap_kube_informer_get(op->regs, key);
        if (!obj) {
                pthread_mutex_unlock(&app->status_lock);
                return 0;
        }
        struct reg g;
        reg_init(&g, op, obj);
        g.app = app;
        struct ap_error err = AP_ERROR_INIT;
        json_t *flux[2] = {NULL, NULL}; /* GitRepository, Kustomization */
        bool sweep = false;
        int r = ap_app_names_init(&g.n, key, &err);
        if (r < 0) {
                r = 0; /* the full pass says why */
        } else if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") ||
                   !settled_conditions(&g)) {
                r = ap_kube_workqueue_add(op->reg_q, key); /* not a settled platform: the full pass decides */
        } else {
                reg_flux_status(&g, flux);
                if ((r = patch_status(&g, json_object_get(obj, "status"), &err)) < 0)
                        ap_log(AP_LOG_WARN, "registration '%s': cannot write the status: %s", key,
                               ap_error_message(&err));
                sweep = r == 0;
        }
        pthread_mutex_unlock(&app->status_lock);
        /* its list and deletes need no status_lock: status writes of the app do not wait for them */
        if (sweep && (r = op_flux_orphans_sweep(op, app, obj, &g.n, flux[1], flux[0], &err)) < 0)
                ap_log(AP_LOG_WARN, "registration '%s': cannot remove the Secrets Flux left behind: %s", key,
                       ap_error_message(&err));
        json_decref(flux[0]);
        json_decref(flux[1]);
        reg_release(&g);
        return r < 0 ? -EAGAIN : 0;
}
