/* reg_keys.c - the app's two keys. The age key is generated once and kept as the Secret
 * '<app>-platform-age-key' (key age.agekey) in the operator namespace; it is never regenerated while it
 * exists, and after a disaster it is adopted from the copy Flux restored into the platform namespace.
 * The deploy key (ed25519, read-only on the forge) is kept the same way as '<app>-platform-git-auth'. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base64.h"
#include "kube/status.h"
#include "operator/reg.h"

/* Decode data[key] of a Secret into out (a secret buffer); *ret_found false when absent. */
static int secret_value(const json_t *secret, const char *key, struct ap_buf *out, bool *ret_found)
{
        const char *v = json_string_value(json_object_get(json_object_get(secret, "data"), key));
        *ret_found = v != NULL;
        if (!v)
                return 0;
        return ap_base64_decode(out, v, strlen(v), AP_B64_STD);
}

/* GET a Secret; *ret NULL when it does not exist. */
static int get_secret(struct reg *g, const char *ns, const char *name, json_t **ret, struct ap_error *err)
{
        struct ap_kube_opts o = {.timeout_ms = 30000};
        *ret = NULL;
        int r = ap_kube_get(g->op->kube, &ap_kube_res_secrets, ns, name, &o, ret, NULL, err);
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                return 0;
        }
        return r;
}

/* Create the operator-namespace Secret name holding data (key -> plaintext, values secret). */
static int create_secret(struct reg *g, const char *name, const char *const *keys,
                         const struct ap_buf *const *vals, size_t n, bool restore, struct ap_error *err)
{
        json_t *data = json_object();
        struct ap_buf b = AP_BUF_INIT_SECRET;
        for (size_t i = 0; data && i < n; i++) {
                ap_buf_reset(&b);
                if (ap_base64_encode(&b, vals[i]->data, vals[i]->len, AP_B64_STD) < 0 ||
                    json_object_set_new(data, keys[i], json_stringn(b.data, b.len)) < 0) {
                        json_decref(data);
                        data = NULL;
                }
        }
        ap_buf_release(&b);
        json_t *labels = ap_render_labels(&g->plat);
        json_t *obj = data && labels
                          ? json_pack("{s:s, s:s, s:{s:s, s:s, s:O}, s:s, s:o}", "apiVersion", "v1", "kind",
                                      "Secret", "metadata", "name", name, "namespace", g->cfg->namespace,
                                      "labels", labels, "type", "Opaque", "data", data)
                          : NULL;
        if (!obj && data)
                json_decref(data);
        json_decref(labels);
        if (!obj)
                return ap_error_set(err, -ENOMEM, "out of memory");
        /* adopted after a disaster: the next secrets pass recreates the managed secrets from Git */
        if (restore && json_object_set_new(json_object_get(obj, "metadata"), "annotations",
                                           json_pack("{s:s}", AP_ANN_RESTORE, "pending")) < 0) {
                json_decref(obj);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        struct ap_kube_opts o = {.timeout_ms = 30000};
        ap_kube_metric_inc(g->op->m_writes);
        int r =
            ap_kube_create(g->op->kube, &ap_kube_res_secrets, g->cfg->namespace, obj, &o, NULL, NULL, err);
        json_decref(obj);
        return r;
}

/* Parse an age key file into the app state; identity number primary (0 = the first) encrypts. */
static int adopt_age_key(struct reg *g, const struct ap_buf *keyfile, const char *where, size_t primary,
                         struct ap_error *err)
{
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        int r = ap_age_identities_parse(&ids, keyfile->data, keyfile->len, where, err);
        if (r == 0 && ids.n == 0)
                r = ap_error_set(err, AP_E_INVALID, "%s holds no age identity", where);
        if (r == 0 && primary >= ids.n)
                primary = 0;
        if (r == 0 && primary > 0) {
                struct ap_age_identity *t = ids.items[0];
                ids.items[0] = ids.items[primary];
                ids.items[primary] = t;
        }
        struct ap_buf rcp = AP_BUF_INIT;
        if (r == 0 && (r = ap_age_identity_recipient_format(ids.items[0], &rcp)) < 0)
                ap_error_set(err, r, "%s: the first identity is not an X25519 key", where);
        struct ap_age_recipient *ro = NULL;
        if (r == 0 && (r = ap_age_identity_to_recipient(ids.items[0], &ro, err)) == 0) {
                pthread_mutex_lock(&g->app->lock);
                ap_age_identity_free(g->app->identity);
                ap_age_recipient_free(g->app->rcp);
                g->app->identity = ids.items[0];
                g->app->rcp = ro;
                ids.items[0] = NULL;
                snprintf(g->app->recipient, sizeof(g->app->recipient), "%s", rcp.data);
                pthread_mutex_unlock(&g->app->lock);
        }
        ap_buf_release(&rcp);
        ap_age_identities_release(&ids);
        return r;
}

int reg_step_key(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        const char *ons = g->cfg->namespace, *name = g->n.age_secret;
        json_t *s = NULL;
        bool found = false, generated = false;
        char where[256];
        snprintf(where, sizeof(where), "Secret '%s/%s' key '%s'", ons, name, AP_AGE_KEY_FILE_KEY);
        int r = get_secret(g, ons, name, &s, &err);
        if (r < 0)
                return reg_fail(g, C_KEY, "KeyError", &err, "cannot read the age key");
        ap_buf_reset(&g->age_keyfile);
        if (s && secret_value(s, AP_AGE_KEY_FILE_KEY, &g->age_keyfile, &found) < 0) {
                json_decref(s);
                reg_cond(g, C_KEY, false, "KeyInvalid",
                         "%s is not valid base64; restore it from a backup (deleting the Secret generates a "
                         "new key, "
                         "and secrets encrypted to the old one can no longer be decrypted)",
                         where);
                g->failed = true;
                return AP_E_INVALID;
        }
        bool exists = s != NULL;
        const char *restore = json_string_value(
            json_object_get(json_object_get(json_object_get(s, "metadata"), "annotations"), AP_ANN_RESTORE));
        bool restore_pending = restore && strcmp(restore, "pending") == 0;
        const json_t *anns = json_object_get(json_object_get(s, "metadata"), "annotations");
        const char *v;
        if ((v = json_string_value(json_object_get(anns, AP_ANN_ROTATION))))
                snprintf(g->rot_req, sizeof(g->rot_req), "%s", v);
        if ((v = json_string_value(json_object_get(anns, AP_ANN_ROTATION_PHASE))))
                snprintf(g->rot_phase, sizeof(g->rot_phase), "%s", v);
        if ((v = json_string_value(json_object_get(anns, AP_ANN_ROTATION_COMMIT))))
                snprintf(g->rot_commit, sizeof(g->rot_commit), "%s", v);
        if ((v = ap_kube_obj_resource_version(s)))
                snprintf(g->key_rv, sizeof(g->key_rv), "%s", v);
        json_decref(s);
        if (exists && !found) {
                reg_cond(g, C_KEY, false, "KeyInvalid", "%s is missing; restore it from a backup", where);
                g->failed = true;
                return AP_E_INVALID;
        }
        if (!exists) {
                /* disaster recovery: Flux restored the key into the platform namespace from the Flux repo */
                json_t *copy = NULL;
                if ((r = get_secret(g, g->n.platform_ns, name, &copy, &err)) < 0)
                        return reg_fail(g, C_KEY, "KeyError", &err, "cannot read the age key");
                if (copy && secret_value(copy, AP_AGE_KEY_FILE_KEY, &g->age_keyfile, &found) == 0 && found)
                        snprintf(where, sizeof(where), "Secret '%s/%s'", g->n.platform_ns, name);
                json_decref(copy);
                if (!found) {
                        struct ap_age_identity *id = NULL;
                        ap_buf_reset(&g->age_keyfile);
                        if ((r = ap_age_identity_generate(&id, &err)) < 0 ||
                            (r = ap_age_keyfile_format(id, (long long)time(NULL), &g->age_keyfile)) < 0) {
                                ap_age_identity_free(id);
                                return reg_fail(g, C_KEY, "KeyError", &err, "cannot generate the age key");
                        }
                        ap_age_identity_free(id);
                        generated = true;
                }
                const char *keys[] = {AP_AGE_KEY_FILE_KEY};
                const struct ap_buf *vals[] = {&g->age_keyfile};
                r = create_secret(g, name, keys, vals, 1, !generated, &err);
                if (r == AP_KUBE_E_ALREADY_EXISTS) {
                        /* another replica won the race: take its key on the next pass */
                        g->failed = true;
                        reg_cond(g, C_KEY, false, "KeyPending",
                                 "the age key was created meanwhile; reading it again");
                        return r;
                }
                if (r < 0)
                        return reg_fail(g, C_KEY, "KeyError", &err, "cannot store the age key");
        }
        int primary = exists ? reg_rotation_begin(g, &err) : 0;
        if (primary < 0)
                return reg_fail(g, C_KEY, "KeyRotationFailed", &err, "cannot start the key rotation");
        if ((r = adopt_age_key(g, &g->age_keyfile, where, (size_t)primary, &err)) < 0) {
                reg_cond(g, C_KEY, false, "KeyInvalid",
                         "%s; restore it from a backup (deleting the Secret generates a new key, and secrets "
                         "encrypted to the old one can no longer be decrypted)",
                         ap_error_message(&err));
                g->failed = true;
                return r;
        }
        pthread_mutex_lock(&g->app->lock);
        g->plat.recipient = g->app->recipient; /* stable while we hold work_lock */
        g->app->restore_pending = restore_pending || (!exists && !generated);
        pthread_mutex_unlock(&g->app->lock);
        if (generated)
                op_event(g->op, g->obj, false, "KeyGenerated", "Generate",
                         "generated the age key %s in '%s/%s'", g->plat.recipient, ons, name);
        else if (!exists)
                op_event(g->op, g->obj, false, "KeyAdopted", "Adopt", "adopted the age key %s from %s",
                         g->plat.recipient, where);
        if (strcmp(g->rot_phase, "dual") == 0 || strcmp(g->rot_phase, "reencrypted") == 0)
                reg_cond(g, C_KEY, true, "KeyRotating",
                         "age key %s in Secret '%s/%s'; rotation '%s' in progress (%s): Flux holds both keys",
                         g->plat.recipient, ons, name, g->rot_req,
                         strcmp(g->rot_phase, "dual") == 0 ? "re-encrypting" : "retiring the old key");
        else
                reg_cond(g, C_KEY, true, "KeyReady", "age key %s in Secret '%s/%s'", g->plat.recipient, ons,
                         name);
        return 0;
}

int reg_load_deploy_key(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        const char *ons = g->cfg->namespace, *name = g->n.git_auth_secret;
        json_t *s = NULL;
        bool f1 = false, f2 = false;
        int r = get_secret(g, ons, name, &s, &err);
        if (r < 0)
                return reg_fail(g, C_REPO, "DeployKeyError", &err, "cannot read the deploy key");
        bool exists = s != NULL;
        if (!s && (r = get_secret(g, g->n.platform_ns, name, &s, &err)) < 0)
                return reg_fail(g, C_REPO, "DeployKeyError", &err, "cannot read the deploy key");
        ap_buf_reset(&g->deploy_identity);
        ap_buf_reset(&g->deploy_pub);
        if (s && (secret_value(s, "identity", &g->deploy_identity, &f1) < 0 ||
                  secret_value(s, "identity.pub", &g->deploy_pub, &f2) < 0))
                f1 = false;
        json_decref(s);
        struct ap_ssh_key *key = NULL;
        if (f1 && ap_ssh_key_parse_private(g->deploy_identity.data, g->deploy_identity.len, &key, &err) < 0) {
                if (exists) {
                        reg_cond(g, C_REPO, false, "DeployKeyInvalid",
                                 "Secret '%s/%s' key 'identity' is not an OpenSSH ed25519 key (%s); delete "
                                 "the Secret "
                                 "to generate a new deploy key",
                                 ons, name, ap_error_message(&err));
                        g->failed = true;
                        return AP_E_INVALID;
                }
                f1 = false;
        }
        if (!f1) {
                char comment[128];
                snprintf(comment, sizeof(comment), "flux-%s", g->n.platform_ns);
                if ((r = ap_ssh_key_generate(comment, &key, &err)) < 0)
                        return reg_fail(g, C_REPO, "DeployKeyError", &err, "cannot generate the deploy key");
        }
        ap_buf_reset(&g->deploy_identity);
        ap_buf_reset(&g->deploy_pub);
        if ((r = ap_ssh_key_write_private(key, &g->deploy_identity, &err)) < 0 ||
            (r = ap_ssh_key_write_public(key, &g->deploy_pub)) < 0) {
                ap_ssh_key_free(key);
                return reg_fail(g, C_REPO, "DeployKeyError", &err, "cannot encode the deploy key");
        }
        ap_ssh_key_free(key);
        if (!exists) {
                const char *keys[] = {"identity", "identity.pub"};
                const struct ap_buf *vals[] = {&g->deploy_identity, &g->deploy_pub};
                r = create_secret(g, name, keys, vals, 2, false, &err);
                if (r == AP_KUBE_E_ALREADY_EXISTS) {
                        g->failed = true;
                        reg_cond(g, C_REPO, false, "DeployKeyPending",
                                 "the deploy key was created meanwhile");
                        return r;
                }
                if (r < 0)
                        return reg_fail(g, C_REPO, "DeployKeyError", &err, "cannot store the deploy key");
        }
        return 0;
}
