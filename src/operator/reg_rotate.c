/* reg_rotate.c - age key rotation (labrats.work/rotate-key=<any new value> on the registration), so that
 * Flux can decrypt at every instant:
 *   1. dual: a new key is generated and put in FRONT of the old one in the key Secret; the registration
 *      pass then writes both keys to the Flux repo and the platform namespace (Flux decrypts old and new
 *      files); files are still encrypted to the old key;
 *   2. reencrypted: once the platform namespace's key Secret holds both, every file under secrets/ is
 *      re-encrypted to the new key in ONE commit together with the new .sops.yaml, and the new key
 *      encrypts from then on;
 *   3. done: once Flux applied that commit, the old key is retired (the Secret, the Flux repo and the
 *      platform namespace hold the new key alone).
 * The phase and the request live in annotations of the key Secret, so a restart resumes where it
 * stopped. Events and the KeyReady message report the progress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base64.h"
#include "base/log.h"
#include "kube/status.h"
#include "operator/reg.h"

int reg_update_key_secret(struct reg *g, const struct ap_buf *keyfile, json_t *anns, struct ap_error *err)
{
        struct ap_buf b = AP_BUF_INIT_SECRET;
        json_t *patch = NULL;
        if (ap_base64_encode(&b, keyfile->data, keyfile->len, AP_B64_STD) == 0 && anns)
                patch = json_pack("{s:{s:s, s:O}, s:{s:s#}}", "metadata", "resourceVersion", g->key_rv,
                                  "annotations", anns, "data", AP_AGE_KEY_FILE_KEY, b.data, (int)b.len);
        ap_buf_release(&b);
        json_decref(anns);
        if (!patch)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_opts o = {.timeout_ms = 30000};
        json_t *out = NULL;
        ap_kube_metric_inc(g->op->m_writes);
        int r = ap_kube_patch(g->op->kube, &ap_kube_res_secrets, g->cfg->namespace, g->n.age_secret,
                              AP_KUBE_PATCH_MERGE, patch, &o, &out, NULL, err);
        json_decref(patch);
        const char *rv = ap_kube_obj_resource_version(out);
        if (r == 0 && rv)
                snprintf(g->key_rv, sizeof(g->key_rv), "%s", rv);
        json_decref(out);
        return r;
}

static const char *rotate_request(const struct reg *g)
{
        const char *v = json_string_value(json_object_get(
            json_object_get(json_object_get(g->obj, "metadata"), "annotations"), AP_ANN_ROTATE_KEY));
        return v && *v ? v : NULL;
}

static bool in_progress(const struct reg *g)
{
        return strcmp(g->rot_phase, "dual") == 0 || strcmp(g->rot_phase, "reencrypted") == 0;
}

int reg_rotation_begin(struct reg *g, struct ap_error *err)
{
        const char *req = rotate_request(g);
        if (!in_progress(g) && req && strcmp(req, g->rot_req) != 0) {
                /* a new request: the new key in front, the old one behind it */
                struct ap_age_identity *id = NULL;
                struct ap_buf file = AP_BUF_INIT_SECRET;
                ap_buf_init_secret(&file, 64 << 10);
                int r = ap_age_identity_generate(&id, err);
                if (r == 0)
                        r = ap_age_keyfile_format(id, (long long)time(NULL), &file);
                if (r == 0)
                        r = ap_buf_add(&file, g->age_keyfile.data, g->age_keyfile.len);
                ap_age_identity_free(id);
                if (r == 0)
                        r = reg_update_key_secret(g, &file,
                                                  json_pack("{s:s, s:s, s:n}", AP_ANN_ROTATION, req,
                                                            AP_ANN_ROTATION_PHASE, "dual",
                                                            AP_ANN_ROTATION_COMMIT),
                                                  err);
                if (r < 0) {
                        ap_buf_release(&file);
                        return r;
                }
                ap_buf_reset(&g->age_keyfile);
                r = ap_buf_add(&g->age_keyfile, file.data, file.len);
                ap_buf_release(&file);
                if (r < 0)
                        return ap_error_set(err, r, "out of memory");
                snprintf(g->rot_req, sizeof(g->rot_req), "%s", req);
                snprintf(g->rot_phase, sizeof(g->rot_phase), "dual");
                g->rot_commit[0] = '\0';
                op_event(g->op, g->obj, false, "KeyRotationStarted", "Rotate",
                         "rotation '%s': generated a new age key; Flux gets both keys before the secrets are "
                         "re-encrypted",
                         req);
                ap_log(AP_LOG_INFO, "registration '%s': key rotation '%s' started", g->n.app, req);
        }
        /* while the files are still encrypted to the old key, it keeps encrypting */
        return strcmp(g->rot_phase, "dual") == 0 ? 1 : 0;
}

/* Does the platform namespace's key Secret hold exactly our key file (both keys)? */
static bool platform_has_keyfile(struct reg *g)
{
        json_t *s = NULL;
        struct ap_kube_opts o = {.timeout_ms = 30000};
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_get(g->op->kube, &ap_kube_res_secrets, g->n.platform_ns, g->n.age_secret, &o, &s, NULL,
                        &err) < 0)
                return false;
        const char *v = json_string_value(json_object_get(json_object_get(s, "data"), AP_AGE_KEY_FILE_KEY));
        struct ap_buf b = AP_BUF_INIT_SECRET;
        bool same = v && ap_base64_decode(&b, v, strlen(v), AP_B64_STD) == 0 &&
                    ap_buf_equal(&b, g->age_keyfile.data, g->age_keyfile.len);
        ap_buf_release(&b);
        json_decref(s);
        return same;
}

/* Has Flux applied the re-encryption commit (or a later one)? */
static bool flux_applied(struct reg *g)
{
        if (op_flux_missing(g->op))
                return true;
        char key[200];
        snprintf(key, sizeof(key), "%s/%s", g->n.platform_ns, g->n.flux_object);
        json_t *ks = ap_kube_informer_get(g->op->kustomizations, key);
        const char *rev =
            json_string_value(json_object_get(json_object_get(ks, "status"), "lastAppliedRevision"));
        bool ok = false;
        if (rev && strstr(rev, g->rot_commit)) {
                ok = true;
        } else if (rev) {
                /* a later commit applied: every commit after ours descends from it (history is never
                 * rewritten), so the tip being applied is enough */
                struct ap_git_commit_request req = {.subject = "none"};
                struct ap_git_push_result pr;
                struct ap_error err = AP_ERROR_INIT;
                if (ap_git_repo_commit_push(g->app->repo, &req, &pr, &err) == 0 && pr.unchanged &&
                    pr.commit[0])
                        ok = strstr(rev, pr.commit) != NULL;
        }
        json_decref(ks);
        return ok;
}

static void reencrypt(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_age_recipient *rcp = NULL;
        struct ap_buf rstr = AP_BUF_INIT, sops = AP_BUF_INIT;
        int r =
            ap_age_identities_parse(&ids, g->age_keyfile.data, g->age_keyfile.len, "the key Secret", &err);
        if (r == 0 && ids.n < 2)
                r = ap_error_set(&err, AP_E_INVALID, "the key Secret does not hold the old and the new key");
        if (r == 0 && ((r = ap_age_identity_to_recipient(ids.items[0], &rcp, &err)) < 0 ||
                       (r = ap_age_identity_recipient_format(ids.items[0], &rstr)) < 0))
                ap_error_set(&err, r, "cannot derive the new recipient");
        struct ap_platform p = g->plat;
        p.recipient = rstr.data;
        if (r == 0)
                r = ap_render_sops_config(&p, &sops, &err);
        char sha[41] = "";
        if (r == 0)
                r = op_secrets_rotate(g->op, g->app, g->n.app, ids.items[0], rcp, rstr.data, sops.data,
                                      sops.len, g->rot_req, sha, &err);
        if (r == 0)
                r = reg_update_key_secret(g, &g->age_keyfile,
                                          json_pack("{s:s, s:s}", AP_ANN_ROTATION_PHASE, "reencrypted",
                                                    AP_ANN_ROTATION_COMMIT, sha),
                                          &err);
        if (r == 0) {
                snprintf(g->rot_phase, sizeof(g->rot_phase), "reencrypted");
                snprintf(g->rot_commit, sizeof(g->rot_commit), "%s", sha);
                /* the new key encrypts from now on */
                pthread_mutex_lock(&g->app->lock);
                struct ap_age_identity *old = g->app->identity;
                struct ap_age_recipient *old_rcp = g->app->rcp;
                g->app->identity = ids.items[0];
                ids.items[0] = NULL;
                g->app->rcp = rcp;
                rcp = NULL;
                snprintf(g->app->recipient, sizeof(g->app->recipient), "%s", rstr.data);
                pthread_mutex_unlock(&g->app->lock);
                ap_age_identity_free(old);
                ap_age_recipient_free(old_rcp);
                op_event(g->op, g->obj, false, "KeyRotationCommitted", "Rotate",
                         "rotation '%s': every secret re-encrypted to the new key in commit %.12s",
                         g->rot_req, sha);
                ap_log(AP_LOG_INFO, "registration '%s': key rotation '%s': re-encrypted in %.12s", g->n.app,
                       g->rot_req, sha);
                g->requeue_soon = true;
        } else {
                g->failed = true;
                op_event(g->op, g->obj, true, "KeyRotationFailed", "Rotate", "rotation '%s': %s; retrying",
                         g->rot_req, ap_error_message(&err));
                ap_log(AP_LOG_WARN, "registration '%s': key rotation '%s': %s", g->n.app, g->rot_req,
                       ap_error_message(&err));
        }
        ap_age_identities_release(&ids);
        ap_age_recipient_free(rcp);
        ap_buf_release(&rstr);
        ap_buf_release(&sops);
}

/* Keep only the first (new) identity of the key file. */
static void retire(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_buf file = AP_BUF_INIT_SECRET;
        ap_buf_init_secret(&file, 64 << 10);
        int r =
            ap_age_identities_parse(&ids, g->age_keyfile.data, g->age_keyfile.len, "the key Secret", &err);
        if (r == 0 && ids.n == 0)
                r = ap_error_set(&err, AP_E_INVALID, "the key Secret holds no key");
        if (r == 0)
                r = ap_age_keyfile_format(ids.items[0], (long long)time(NULL), &file);
        if (r == 0)
                r = reg_update_key_secret(g, &file, json_pack("{s:s}", AP_ANN_ROTATION_PHASE, "done"), &err);
        if (r == 0) {
                snprintf(g->rot_phase, sizeof(g->rot_phase), "done");
                op_event(g->op, g->obj, false, "KeyRotated", "Rotate",
                         "rotation '%s': Flux applied the re-encrypted secrets; the old key is retired",
                         g->rot_req);
                ap_log(AP_LOG_INFO, "registration '%s': key rotation '%s' done", g->n.app, g->rot_req);
                g->requeue_soon = true; /* the next pass writes the single key to Flux */
        } else {
                g->failed = true;
                ap_log(AP_LOG_WARN, "registration '%s': key rotation '%s': %s", g->n.app, g->rot_req,
                       ap_error_message(&err));
        }
        ap_age_identities_release(&ids);
        ap_buf_release(&file);
}

void reg_rotation_advance(struct reg *g)
{
        if (!g->repo_ready || g->failed)
                return;
        if (strcmp(g->rot_phase, "dual") == 0) {
                if (platform_has_keyfile(g))
                        reencrypt(g);
                else
                        g->requeue_soon = true;
        } else if (strcmp(g->rot_phase, "reencrypted") == 0) {
                if (flux_applied(g))
                        retire(g);
                else
                        g->requeue_soon = true;
        }
}
