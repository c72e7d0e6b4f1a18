/* reg_flux.c - the app's entries in the cluster Flux repo (DESIGN 1.3), committed in one commit when any
 * file differs, and the same objects applied directly so nothing waits for Flux; then FluxReady from
 * Flux's own view of the platform GitRepository and Kustomization. The two SOPS files are encrypted to
 * the cluster recipient, which the operator cannot decrypt: a content hash (keyed by the app's key) in
 * their plaintext metadata tells whether the committed file still holds the current content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kube/status.h"
#include "operator/reg.h"
#include "operator/yaml_out.h"

/* Render obj with its content hash annotation into plain (secret buffer). */
static int hashed_doc(struct reg *g, json_t *obj, struct ap_buf *plain, char hash[65], struct ap_error *err)
{
        int r = ap_yaml_emit1(plain, obj, err);
        if (r < 0)
                return r;
        if ((r = op_content_hash(g->app->identity, plain->data, plain->len, hash)) < 0)
                return ap_error_set(err, r, "cannot hash the content");
        json_t *md = json_object_get(obj, "metadata");
        if (json_object_set_new(md, "annotations", json_pack("{s:s}", AP_ANN_CONTENT_HASH, hash)) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        ap_buf_reset(plain);
        return ap_yaml_emit1(plain, obj, err);
}

/* The bytes of one SOPS file: the committed ones when they hold this content for the cluster recipient,
 * else a fresh encryption. Takes obj. */
static int sops_file(struct reg *g, json_t *obj, const struct ap_buf *committed, bool found,
                     struct ap_buf *out, struct ap_error *err)
{
        struct ap_buf plain = AP_BUF_INIT_SECRET;
        char hash[65], have[65];
        int r = obj ? hashed_doc(g, obj, &plain, hash, err) : ap_error_set(err, -ENOMEM, "out of memory");
        json_decref(obj);
        if (r == 0 && found) {
                json_t *rcp = NULL;
                struct ap_error ignore = AP_ERROR_INIT;
                if (op_sops_file_info(committed->data, committed->len, have, &rcp, &ignore) == 0) {
                        bool same = strcmp(have, hash) == 0 && json_array_size(rcp) == 1 &&
                                    strcmp(json_string_value(json_array_get(rcp, 0)),
                                           g->cfg->cluster_age_recipient) == 0;
                        json_decref(rcp);
                        if (same) {
                                r = ap_buf_add(out, committed->data, committed->len);
                                ap_buf_release(&plain);
                                return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
                        }
                }
        }
        if (r == 0)
                r = op_sops_encrypt(g->op, plain.data, plain.len, &g->op->cluster_recipient, 1, NULL, 0, NULL,
                                    0, out, err);
        ap_buf_release(&plain);
        return r;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int reg_flux_namespaces(struct reg *g, char ***ret, size_t *ret_n)
{
        size_t cap = g->n_namespaces + 16, n = 0;
        json_t *ks = NULL;
        char **v = calloc(cap, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_namespaces; i++)
                if (!(v[n++] = strdup(g->namespaces[i])))
                        goto oom;
        /* namespaces still holding objects the platform Kustomization applied: keep '<app>-flux' there
         * until Flux has pruned them (else the prune is forbidden and the Kustomization fails) */
        char key[200];
        snprintf(key, sizeof(key), "%s/%s", g->n.platform_ns, g->n.flux_object);
        ks = g->op->kustomizations ? ap_kube_informer_get(g->op->kustomizations, key) : NULL;
        const json_t *entries =
            json_object_get(json_object_get(json_object_get(ks, "status"), "inventory"), "entries");
        size_t pl = strlen(g->n.app);
        for (size_t i = 0; i < json_array_size(entries); i++) {
                const char *id = json_string_value(json_object_get(json_array_get(entries, i), "id"));
                size_t nl = op_inventory_ns_len(id);
                if (nl <= pl + 1 || strncmp(id, g->n.app, pl) != 0 || id[pl] != '-')
                        continue;
                char ns[AP_NAME_BUF];
                snprintf(ns, sizeof(ns), "%.*s", (int)nl, id);
                bool have = strcmp(ns, g->n.platform_ns) == 0;
                for (size_t j = 0; j < n && !have; j++)
                        have = strcmp(v[j], ns) == 0;
                if (have || !ap_is_dns1123_label(ns))
                        continue;
                if (n + 1 >= cap) {
                        char **nv = realloc(v, (cap *= 2) * sizeof(char *));
                        if (!nv)
                                goto oom;
                        v = nv;
                }
                if (!(v[n++] = strdup(ns)))
                        goto oom;
        }
        json_decref(ks);
        qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        json_decref(ks);
        op_strv_free(v, n);
        return -ENOMEM;
}

/* Commit the folder's six files when any differs from the branch. */
static int commit_entries(struct reg *g, char **flux_ns, size_t n_flux_ns, struct ap_error *err)
{
        struct ap_flux_files ff;
        ap_flux_files_init(&ff);
        struct ap_buf age = AP_BUF_INIT, auth = AP_BUF_INIT, cur = AP_BUF_INIT, path = AP_BUF_INIT;
        struct ap_buf committed[2] = {AP_BUF_INIT, AP_BUF_INIT};
        bool found[2] = {false, false};
        char *paths[7] = {0};
        struct ap_buf backup = AP_BUF_INIT;
        int r = ap_render_flux_files(&g->plat, (const char *const *)flux_ns, n_flux_ns, &ff, err);
        if (r == 0) {
                pthread_mutex_lock(&g->op->flux_lock);
                r = op_repo_sync(g->op->flux_repo, &g->op->flux_synced_ms, 2000, err);
                pthread_mutex_unlock(&g->op->flux_lock);
        }
        if (r == 0) {
                const json_t *md = json_object_get(g->obj, "metadata");
                r = ap_render_registration_backup(&g->plat, json_object_get(md, "labels"),
                                                  json_object_get(g->obj, "spec"), &backup, err);
        }
        for (int i = 0; r == 0 && i < 7; i++) {
                ap_buf_reset(&path);
                if ((r = ap_buf_printf(&path, "%s/%s/%s", g->cfg->flux_repo_path, g->n.platform_ns,
                                       i < 6 ? ap_flux_file_names[i] : AP_FLUX_REGISTRATION_FILE)) < 0 ||
                    !(paths[i] = ap_buf_detach(&path, NULL)))
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        }
        for (int i = 0; r == 0 && i < 2; i++)
                r = ap_git_repo_read(g->op->flux_repo, paths[2 + i], &committed[i], &found[i], err);
        if (r == 0)
                r = sops_file(g, ap_render_age_secret(&g->plat, g->age_keyfile.data, g->age_keyfile.len),
                              &committed[0], found[0], &age, err);
        if (r == 0) {
                const char *kh = g->op->creds.clone_known_hosts ? g->op->creds.clone_known_hosts : "";
                r = sops_file(
                    g, ap_render_git_auth_secret(&g->plat, g->deploy_identity.data, g->deploy_pub.data, kh),
                    &committed[1], found[1], &auth, err);
        }
        const struct ap_buf *want[7] = {&ff.namespace, &ff.rbac,          &age,   &auth,
                                        &ff.sync,      &ff.kustomization, &backup};
        struct ap_git_change ch[7];
        size_t n = 0;
        for (int i = 0; r == 0 && i < 7; i++) {
                bool f = false;
                ap_buf_reset(&cur);
                r = ap_git_repo_read(g->op->flux_repo, paths[i], &cur, &f, err);
                if (r == 0 && !(f && ap_buf_equal(&cur, want[i]->data, want[i]->len)))
                        ch[n++] = (struct ap_git_change){
                            .path = paths[i], .data = want[i]->data, .len = want[i]->len};
        }
        if (r == 0 && n > 0) {
                char subject[200];
                snprintf(subject, sizeof(subject), "apps: %s: update the platform of %s (%zu file%s)",
                         g->n.platform_ns, g->n.app, n, n == 1 ? "" : "s");
                struct ap_git_commit_request req = {
                    .changes = ch, .n_changes = n, .subject = subject, .app = g->n.app};
                struct ap_git_push_result pr;
                r = ap_git_repo_commit_push(g->op->flux_repo, &req, &pr, err);
                if (r == 0 && !pr.unchanged) {
                        ap_kube_metric_inc(g->op->m_commits_flux);
                        ap_log(
                            AP_LOG_INFO,
                            "registration '%s': committed %zu file%s of '%s/%s' to the Flux repo as %.12s%s",
                            g->n.app, n, n == 1 ? "" : "s", g->cfg->flux_repo_path, g->n.platform_ns,
                            pr.commit, op_push_attempts_note(&pr));
                }
        }
        for (int i = 0; i < 7; i++)
                free(paths[i]);
        ap_buf_release(&backup);
        ap_flux_files_release(&ff);
        ap_buf_release(&age);
        ap_buf_release(&auth);
        ap_buf_release(&cur);
        ap_buf_release(&path);
        ap_buf_release(&committed[0]);
        ap_buf_release(&committed[1]);
        return r;
}

/* Apply obj (taking the reference). */
static int apply(struct reg *g, const struct ap_kube_resource *res, json_t *obj, struct ap_error *err)
{
        int r = obj ? op_apply(g->op, res, obj, NULL, err) : ap_error_set(err, -ENOMEM, "out of memory");
        json_decref(obj);
        return r;
}

/* Apply the GitRepository (which 0) or the Kustomization (1) and remember the resourceVersion it wrote, so
 * the add event of an object this pass created queues no second pass (operator.c, flux_add). */
static int apply_flux_object(struct reg *g, int which, const struct ap_kube_resource *res, json_t *obj,
                             struct ap_error *err)
{
        char rv[32] = "";
        int r = obj ? op_apply_rv(g->op, res, obj, NULL, rv, sizeof(rv), err)
                    : ap_error_set(err, -ENOMEM, "out of memory");
        json_decref(obj);
        if (r == 0 && rv[0] && g->app) {
                pthread_mutex_lock(&g->app->lock);
                snprintf(g->app->flux_rv[which], sizeof(g->app->flux_rv[which]), "%s", rv);
                pthread_mutex_unlock(&g->app->lock);
        }
        return r;
}

/* The same objects, applied directly. Returns AP_E_NOT_FOUND when Flux's CRDs are missing. */
static int apply_objects(struct reg *g, char **flux_ns, size_t n_flux_ns, struct ap_error *err)
{
        const struct ap_platform *p = &g->plat;
        int r = apply(g, &ap_kube_res_serviceaccounts, ap_render_flux_sa(p), err);
        if (r == 0)
                r = apply(g, &op_res_rolebindings, ap_render_flux_rolebinding(p, g->n.platform_ns), err);
        for (size_t i = 0; r == 0 && i < n_flux_ns; i++)
                r = apply(g, &op_res_rolebindings, ap_render_flux_rolebinding(p, flux_ns[i]), err);
        if (r == 0)
                r = apply(g, &ap_kube_res_secrets,
                          ap_render_age_secret(p, g->age_keyfile.data, g->age_keyfile.len), err);
        if (r == 0) {
                const char *kh = g->op->creds.clone_known_hosts ? g->op->creds.clone_known_hosts : "";
                r = apply(g, &ap_kube_res_secrets,
                          ap_render_git_auth_secret(p, g->deploy_identity.data, g->deploy_pub.data, kh), err);
        }
        if (r == 0)
                r = reg_prune_rolebindings(g, flux_ns, n_flux_ns, REG_PRUNE_FLUX, err);
        if (r == 0)
                r = apply_flux_object(g, 0, &op_res_gitrepositories, ap_render_gitrepository(p), err);
        if (r == 0)
                r = apply_flux_object(g, 1, &op_res_kustomizations, ap_render_kustomization(p), err);
        return r;
}

/* FluxReady from the Ready conditions Flux wrote on the two objects. */
void reg_flux_status(struct reg *g, json_t *ret_objs[2])
{
        if (ret_objs)
                ret_objs[0] = ret_objs[1] = NULL;
        memset(&g->conds[C_FLUX], 0, sizeof(g->conds[C_FLUX]));
        g->flux_checked = true;
        if (op_flux_missing(g->op)) {
                reg_cond(
                    g, C_FLUX, false, "FluxNotInstalled",
                    "Flux's CRDs (gitrepositories.source.toolkit.fluxcd.io, kustomizations.kustomize.toolkit."
                    "fluxcd.io) are not installed: install Flux; the Flux repo entries are committed "
                    "meanwhile");
                return;
        }
        char key[200];
        snprintf(key, sizeof(key), "%s/%s", g->n.platform_ns, g->n.flux_object);
        json_t *objs[2] = {ap_kube_informer_get(g->op->gitrepos, key),
                           ap_kube_informer_get(g->op->kustomizations, key)};
        const char *kinds[2] = {"GitRepository", "Kustomization"};
        bool ok = true;
        for (int i = 0; i < 2 && ok; i++) {
                const json_t *st = json_object_get(objs[i], "status");
                const json_t *c = ap_kube_condition_find(json_object_get(st, "conditions"), "Ready");
                const char *s = json_string_value(json_object_get(c, "status"));
                const char *msg = json_string_value(json_object_get(c, "message"));
                json_t *og = json_object_get(st, "observedGeneration");
                json_t *gen = json_object_get(json_object_get(objs[i], "metadata"), "generation");
                bool current = json_is_integer(og) && json_is_integer(gen) &&
                               json_integer_value(og) >= json_integer_value(gen);
                /* what it delivered before: the GitRepository's artifact, the Kustomization's last apply */
                const char *before =
                    i ? json_string_value(json_object_get(st, "lastAppliedRevision"))
                      : json_string_value(json_object_get(json_object_get(st, "artifact"), "revision"));
                bool failed = s && strcmp(s, "False") == 0;
                if (failed && current) {
                        reg_cond(g, C_FLUX, false, i ? "KustomizationFailed" : "GitRepositoryFailed",
                                 "Flux reports %s '%s' not ready: %s", kinds[i], key,
                                 msg ? msg : "(no message)");
                        ok = false;
                } else if (s && strcmp(s, "True") == 0 && current) {
                        /* ready */
                } else if (!failed && before && *before) {
                        /* reconciling a newer revision (or spec): what it delivered still stands, so
                         * FluxReady does not flap with every push, and Flux's progress messages cause no
                         * status write */
                } else {
                        reg_cond(g, C_FLUX, false, "WaitingForFlux",
                                 "waiting for Flux to reconcile %s '%s'%s%s", kinds[i], key,
                                 failed && msg ? ": " : "", failed && msg ? msg : "");
                        ok = false;
                }
        }
        if (ok) {
                const char *rev = json_string_value(
                    json_object_get(json_object_get(objs[1], "status"), "lastAppliedRevision"));
                reg_cond(g, C_FLUX, true, "FluxReady", "Flux applied the platform repo at %s",
                         rev ? rev : "(unknown)");
        }
        if (ret_objs) {
                ret_objs[0] = objs[0];
                ret_objs[1] = objs[1];
        } else {
                json_decref(objs[0]);
                json_decref(objs[1]);
        }
}

int reg_step_flux(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        char **flux_ns = NULL;
        size_t n_flux_ns = 0;
        if (reg_flux_namespaces(g, &flux_ns, &n_flux_ns) < 0)
                return -ENOMEM;
        int r = commit_entries(g, flux_ns, n_flux_ns, &err);
        if (r < 0) {
                op_strv_free(flux_ns, n_flux_ns);
                return reg_fail(g, C_FLUX, "FluxRepoCommitFailed", &err,
                                "cannot commit the Flux repo entries");
        }
        r = apply_objects(g, flux_ns, n_flux_ns, &err);
        op_strv_free(flux_ns, n_flux_ns);
        if (r == AP_KUBE_E_NOT_FOUND) {
                reg_flux_status(g, NULL);
                g->failed =
                    g->failed || !g->conds[C_FLUX].set || strcmp(g->conds[C_FLUX].status, "True") != 0;
                return r;
        }
        if (r < 0)
                return reg_fail(g, C_FLUX, "FluxApplyFailed", &err, "cannot apply the Flux objects");
        reg_flux_status(g, NULL);
        return 0;
}
