/* oidc_authelia.c - the OIDC client reconciler's pass over Authelia's whole client file (key
 * OP_OIDC_AUTHELIA_KEY): every valid client of every app, sorted, rendered into one file
 * (render_authelia.c), written into the Secret --authelia-clients-secret (key clients.yml) in
 * --authelia-namespace only when the bytes change, and Authelia rolled by writing the file's SHA-256 into
 * its Deployment's pod-template annotation only when that changes. A client whose secret did not change
 * keeps its digest (the committed digest is verified against the plaintext, once per process thanks to
 * a cache), so the file is byte-stable; only new or changed secrets get a new random salt. With no client
 * and no Secret yet nothing is written, so an installation without OIDC clients never touches Authelia. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/log.h"
#include "crypto/authelia_hash.h"
#include "kube/status.h"
#include "kube/yaml_json.h"
#include "operator/oidc_pass.h"
#include "operator/render.h"

/* A digest known to verify a secret: check is the SHA-256 of that secret (memory only). */
struct oidc_verified {
        char *digest;
        unsigned char check[32];
};

static void verified_free(void *v)
{
        struct oidc_verified *e = v;
        if (e) {
                free(e->digest);
                ap_secure_wipe(e->check, sizeof(e->check));
                free(e);
        }
}

struct op_oidc_state *op_oidc_state_free(struct op_oidc_state *st)
{
        if (!st)
                return NULL;
        ap_keymap_release(&st->rolled, free);
        ap_keymap_release(&st->verified, verified_free);
        pthread_mutex_destroy(&st->lock);
        free(st);
        return NULL;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
        unsigned char md[32];
        unsigned int len = 0;
        if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1)
                memset(md, 0, sizeof(md));
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int cmp_items(const void *a, const void *b)
{
        const struct oidc_item *x = *(const struct oidc_item *const *)a,
                               *y = *(const struct oidc_item *const *)b;
        return strcmp(x->spec.client_id, y->spec.client_id);
}

/* client_id -> client_secret of the file Authelia has now (borrowed from *ret_doc). */
static int existing_digests(const json_t *live, json_t **ret_doc, struct ap_keymap *out)
{
        const char *b64 =
            json_string_value(json_object_get(json_object_get(live, "data"), AP_OIDC_CLIENTS_KEY));
        *ret_doc = NULL;
        if (!b64)
                return 0;
        struct ap_buf file = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        json_t *doc = NULL;
        if (ap_base64_decode(&file, b64, strlen(b64), AP_B64_STD) < 0 ||
            ap_yaml_to_json(file.data, file.len, &doc, &err) < 0) {
                ap_buf_release(&file);
                return 0; /* unreadable (edited by hand): every client gets a new digest */
        }
        ap_buf_release(&file);
        const json_t *cl =
            json_object_get(json_object_get(json_object_get(doc, "identity_providers"), "oidc"), "clients");
        for (size_t i = 0; i < json_array_size(cl); i++) {
                const json_t *c = json_array_get(cl, i);
                const char *id = json_string_value(json_object_get(c, "client_id"));
                const char *d = json_string_value(json_object_get(c, "client_secret"));
                if (id && d && ap_keymap_put(out, id, (void *)d, NULL) < 0) {
                        json_decref(doc);
                        return -ENOMEM;
                }
        }
        *ret_doc = doc;
        return 0;
}

/* The digest of it's secret: the existing one when it still verifies, else a new one (random salt). The
 * verified ones go into cache (client_id -> struct oidc_verified). */
static int choose_digest(struct op_oidc_state *st, const struct oidc_item *it, const char *existing,
                         struct ap_keymap *cache, struct ap_buf *out)
{
        struct oidc_verified *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        if (EVP_Digest(it->secret.data, it->secret.len, e->check, NULL, EVP_sha256(), NULL) != 1) {
                free(e);
                return -EIO;
        }
        bool reuse = false;
        if (existing) {
                pthread_mutex_lock(&st->lock);
                const struct oidc_verified *v = ap_keymap_get(&st->verified, it->spec.client_id);
                reuse = v && strcmp(v->digest, existing) == 0 &&
                        memcmp(v->check, e->check, sizeof(e->check)) == 0;
                pthread_mutex_unlock(&st->lock);
                struct ap_pbkdf2_digest d;
                if (!reuse && ap_pbkdf2_sha512_parse(existing, strlen(existing), &d) == 0 &&
                    d.iterations == AP_PBKDF2_SHA512_ITERATIONS && d.salt_len == AP_PBKDF2_SALT_LEN &&
                    d.key_len == AP_PBKDF2_KEY_LEN) {
                        bool match = false;
                        reuse = ap_pbkdf2_sha512_verify(existing, strlen(existing), it->secret.data,
                                                        it->secret.len, &match) == 0 &&
                                match;
                }
        }
        int r =
            reuse ? ap_buf_addstr(out, existing)
                  : ap_pbkdf2_sha512_hash(it->secret.data, it->secret.len, AP_PBKDF2_SHA512_ITERATIONS, out);
        if (r == 0 && !(e->digest = strdup(out->data)))
                r = -ENOMEM;
        if (r == 0 && ap_keymap_put(cache, it->spec.client_id, e, NULL) < 0)
                r = -ENOMEM;
        if (r < 0)
                verified_free(e);
        return r;
}

/* Write the file's hash into Authelia's pod template unless it holds it already. */
static int roll(struct ap_operator *op, const char *hash, size_t n_clients, bool *ret_rolled,
                struct ap_error *err)
{
        const struct ap_op_config *c = op->cfg;
        *ret_rolled = false;
        if (!c->authelia_deployment || !*c->authelia_deployment)
                return 0;
        struct ap_kube_opts o = {.timeout_ms = 30000};
        json_t *dep = NULL;
        int r = ap_kube_get(op->kube, &op_res_deployments, c->authelia_namespace, c->authelia_deployment, &o,
                            &dep, NULL, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot read Authelia's Deployment '%s/%s' to roll it",
                                       c->authelia_namespace, c->authelia_deployment);
        const char *have = json_string_value(json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(dep, "spec"), "template"), "metadata"),
                "annotations"),
            AP_ANN_OIDC_CLIENTS_HASH));
        if (have && strcmp(have, hash) == 0) {
                json_decref(dep);
                return 0;
        }
        json_t *patch = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata", "annotations",
                                  AP_ANN_OIDC_CLIENTS_HASH, hash);
        ap_kube_metric_inc(op->m_writes);
        r = patch ? ap_kube_patch(op->kube, &op_res_deployments, c->authelia_namespace,
                                  c->authelia_deployment, AP_KUBE_PATCH_MERGE, patch, &o, NULL, NULL, err)
                  : ap_error_set(err, -ENOMEM, "out of memory");
        json_decref(patch);
        if (r == 0) {
                *ret_rolled = true;
                op_event(op, dep, false, "OIDCClientsChanged", "Roll",
                         "rolled for %zu OIDC client%s (configuration %.12s)", n_clients,
                         n_clients == 1 ? "" : "s", hash);
        }
        json_decref(dep);
        if (r < 0)
                return ap_error_prefix(err, "cannot roll Authelia's Deployment '%s/%s'",
                                       c->authelia_namespace, c->authelia_deployment);
        return 0;
}

/* Authelia now runs with the clients in v (or none): record it and let every app settle its statuses. */
static int record(struct ap_operator *op, struct oidc_item *const *v, size_t n, struct ap_keymap *cache,
                  const struct oidc_set *set)
{
        struct ap_keymap rolled;
        ap_keymap_init(&rolled);
        for (size_t i = 0; i < n; i++) {
                char *fp = malloc(65);
                if (!fp || (ap_oidc_fingerprint(&v[i]->spec, v[i]->secret.data, v[i]->secret.len, fp),
                            ap_keymap_put(&rolled, v[i]->spec.client_id, fp, NULL)) < 0) {
                        free(fp);
                        ap_keymap_release(&rolled, free);
                        return -ENOMEM;
                }
        }
        struct op_oidc_state *st = op->oidc_state;
        pthread_mutex_lock(&st->lock);
        bool changed = !st->known || st->message[0] || ap_keymap_size(&st->rolled) != n;
        for (size_t i = 0; !changed && i < n; i++) {
                const char *a = ap_keymap_get(&st->rolled, v[i]->spec.client_id);
                changed = !a || strcmp(a, ap_keymap_get(&rolled, v[i]->spec.client_id)) != 0;
        }
        ap_keymap_release(&st->rolled, free);
        st->rolled = rolled;
        ap_keymap_release(&st->verified, verified_free);
        st->verified = *cache;
        ap_keymap_init(cache);
        st->known = true;
        st->message[0] = '\0';
        pthread_mutex_unlock(&st->lock);
        for (size_t i = 0; changed && i < set->n; i++)
                if (ap_kube_workqueue_add(op->oidc_q, set->items[i].app) < 0)
                        return -ENOMEM;
        return 0;
}

static void failed(struct ap_operator *op, const struct oidc_set *set, const struct ap_error *err)
{
        struct op_oidc_state *st = op->oidc_state;
        pthread_mutex_lock(&st->lock);
        bool first = strcmp(st->message, ap_error_message(err)) != 0;
        snprintf(st->message, sizeof(st->message), "%s", ap_error_message(err));
        pthread_mutex_unlock(&st->lock);
        ap_log(AP_LOG_WARN, "OIDC clients: %s", ap_error_message(err));
        for (size_t i = 0; first && i < set->n; i++) /* so Pending clients say why in an Event */
                if (ap_kube_workqueue_add(op->oidc_q, set->items[i].app) < 0)
                        ap_log(AP_LOG_WARN,
                               "OIDC client of app '%s': out of memory; its Event waits for "
                               "the next resync",
                               set->items[i].app);
}

int oidc_authelia_reconcile(struct ap_operator *op, struct ap_kube_reconcile_result *res)
{
        const struct ap_op_config *c = op->cfg;
        struct oidc_set set;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_keymap existing, cache;
        ap_keymap_init(&existing);
        ap_keymap_init(&cache);
        json_t *live = NULL, *doc = NULL, *obj = NULL;
        struct oidc_item **v = NULL;
        struct ap_buf *digests = NULL, file = AP_BUF_INIT;
        struct ap_authelia_client *clients = NULL;
        size_t n = 0;
        int r = oidc_set_load(op, &set);
        if (r == 0) {
                v = calloc(set.n + 1, sizeof(*v));
                digests = calloc(set.n + 1, sizeof(*digests));
                clients = calloc(set.n + 1, sizeof(*clients));
                r = v && digests && clients ? 0 : -ENOMEM;
        }
        for (size_t i = 0; r == 0 && i < set.n; i++)
                if (set.items[i].valid && set.items[i].spec.has_secret)
                        v[n++] = &set.items[i];
        if (r < 0) {
                ap_error_set(&err, r, "out of memory");
                goto out;
        }
        qsort(v, n, sizeof(*v), cmp_items);
        struct ap_kube_opts o = {.timeout_ms = 30000};
        r = ap_kube_get(op->kube, &ap_kube_res_secrets, c->authelia_namespace, c->authelia_clients_secret, &o,
                        &live, NULL, &err);
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(&err);
                r = 0;
                if (n == 0) /* nothing to tell Authelia, and nothing told before */
                        goto done;
        }
        if (r < 0) {
                ap_error_prefix(&err, "cannot read the OIDC clients Secret '%s/%s'", c->authelia_namespace,
                                c->authelia_clients_secret);
                goto out;
        }
        if ((r = existing_digests(live, &doc, &existing)) < 0) {
                ap_error_set(&err, r, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                ap_buf_init(&digests[i], AP_PBKDF2_DIGEST_MAX);
        for (size_t i = 0; r == 0 && i < n; i++) {
                r = choose_digest(op->oidc_state, v[i], ap_keymap_get(&existing, v[i]->spec.client_id),
                                  &cache, &digests[i]);
                clients[i] = (struct ap_authelia_client){
                    .client_id = v[i]->spec.client_id,
                    .client_name = v[i]->spec.client_name,
                    .digest = digests[i].data,
                    .redirect_uri = v[i]->spec.redirect_uri,
                    .authorization_policy = v[i]->spec.authorization_policy,
                    .auth_method = v[i]->spec.auth_method,
                    .offline_access = v[i]->spec.offline_access,
                };
        }
        if (r < 0) {
                ap_error_set(&err, r, "cannot hash the OIDC client secrets");
                goto out;
        }
        if ((r = ap_render_authelia_clients(clients, n, &file, &err)) < 0)
                goto out;
        char hash[65];
        sha256_hex(file.data, file.len, hash);
        bool written = false, rolled = false;
        obj = ap_render_authelia_secret(c->authelia_namespace, c->authelia_clients_secret, &file);
        r = obj ? op_apply(op, &ap_kube_res_secrets, obj, &written, &err)
                : ap_error_set(&err, -ENOMEM, "out of memory");
        if (r < 0) {
                ap_error_prefix(&err, "cannot write the OIDC clients into Secret '%s/%s'",
                                c->authelia_namespace, c->authelia_clients_secret);
                goto out;
        }
        if (written)
                ap_log(AP_LOG_INFO,
                       "OIDC clients: wrote %zu client%s into Secret '%s/%s' (configuration %.12s)", n,
                       n == 1 ? "" : "s", c->authelia_namespace, c->authelia_clients_secret, hash);
        if (n == 0 && written)
                ap_log(AP_LOG_WARN,
                       "OIDC clients: the list is empty; Authelia refuses to start with OIDC configured "
                       "and no client");
        if ((r = roll(op, hash, n, &rolled, &err)) < 0)
                goto out;
        if (rolled)
                ap_log(AP_LOG_INFO, "OIDC clients: rolled Deployment '%s/%s' (configuration %.12s)",
                       c->authelia_namespace, c->authelia_deployment, hash);
done:
        if ((r = record(op, v, n, &cache, &set)) < 0)
                ap_error_set(&err, r, "out of memory");
out:
        if (r < 0)
                failed(op, &set, &err);
        for (size_t i = 0; digests && i < n; i++)
                ap_buf_release(&digests[i]);
        free(digests);
        free(clients);
        free(v);
        ap_buf_release(&file);
        json_decref(obj);
        json_decref(doc);
        json_decref(live);
        ap_keymap_release(&existing, NULL);
        ap_keymap_release(&cache, verified_free);
        oidc_set_release(&set);
        if (r < 0)
                return r;
        res->requeue_after_ms = c->resync_ms;
        return 0;
}
