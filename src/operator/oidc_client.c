/* oidc_client.c - the OIDC client reconciler, keyed by app (plus OP_OIDC_AUTHELIA_KEY, oidc_authelia.c):
 * every Secret labelled labrats.work/oidc-client=<client_id> in '<app>-platform' is checked (oidc_spec.c,
 * the app's registration, target namespaces, who owns the client_id), and so is every one in the operator
 * namespace (a platform client, key OP_OIDC_PLATFORM_KEY: the dashboard's own client and the like, any
 * hostname under the base domain, read from its Secret where it is: no delivery), gets its clientSecret
 * generated once, and carries labrats.work/oidc-status: "Error: ..." (with an Event; nothing is registered),
 * "Pending" (until Authelia runs with it) or "Registered". The first Secret to claim a client_id (oldest
 * creationTimestamp, then namespace/name) owns it; later ones are refused. Also the hooks through which
 * the managed-secret pipeline delivers an OIDC client's values to its target namespaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/log.h"
#include "kube/status.h"
#include "operator/oidc_pass.h"
#include "operator/secret_pass.h"

static const char *annotation(const json_t *obj, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

static const char *created(const json_t *obj)
{
        const char *t =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));
        return t ? t : "";
}

/* Does a come before b in owning a client_id? */
static bool older(const struct oidc_item *a, const struct oidc_item *b)
{
        int c = strcmp(created(a->obj), created(b->obj));
        if (c == 0)
                c = strcmp(a->ns, b->ns);
        if (c == 0)
                c = strcmp(a->name, b->name);
        return c < 0;
}

/* The checks that need the registration: it exists and is not being deleted, the targets are its
 * namespaces, the target name is a Secret name. */
static int check_registration(struct oidc_item *it, const json_t *reg)
{
        if (!reg || json_object_get(json_object_get(reg, "metadata"), "deletionTimestamp")) {
                snprintf(it->why, sizeof(it->why), "%s '%s': create it first",
                         reg ? "the app's AppPlatformRegistration is being deleted"
                             : "no AppPlatformRegistration",
                         it->app);
                return -1;
        }
        const char *tns = annotation(it->obj, AP_ANN_TARGET_NS);
        if (tns) {
                const json_t *nss = json_object_get(json_object_get(reg, "spec"), "namespaces");
                const char *spec_ns[SEC_TARGETS_MAX];
                size_t n = 0;
                for (size_t i = 0; i < json_array_size(nss) && n < SEC_TARGETS_MAX; i++)
                        if (json_string_value(json_array_get(nss, i)))
                                spec_ns[n++] = json_string_value(json_array_get(nss, i));
                char **targets = NULL;
                size_t nt = 0;
                int r = sec_parse_targets(spec_ns, n, it->app, tns, &targets, &nt, it->why, sizeof(it->why));
                op_strv_free(targets, nt);
                if (r < 0)
                        return r;
        }
        const char *tn = annotation(it->obj, AP_ANN_TARGET_NAME);
        if (tn && *tn && !ap_is_dns1123_subdomain(tn)) {
                snprintf(it->why, sizeof(it->why),
                         "target name '%.253s' is not a valid Secret name (lowercase letters, digits, '-' "
                         "and '.')",
                         tn);
                return -1;
        }
        return 0;
}

/* The registration of app from the cache, looked up once per set (regs: app -> object or NULL). */
static int lookup_reg(struct ap_operator *op, struct ap_keymap *regs, const char *app, const json_t **ret)
{
        if (!ap_keymap_contains(regs, app)) {
                json_t *reg = ap_kube_informer_get(op->regs, app);
                if (ap_keymap_put(regs, app, reg, NULL) < 0) {
                        json_decref(reg);
                        return -ENOMEM;
                }
        }
        *ret = ap_keymap_get(regs, app);
        return 0;
}

static bool is_platform(const struct oidc_item *it)
{
        return strcmp(it->app, OP_OIDC_PLATFORM_KEY) == 0;
}

/* A platform client is mounted from its own Secret: the annotations that deliver an app's are refused. */
static int check_platform(struct oidc_item *it)
{
        if (annotation(it->obj, AP_ANN_TARGET_NS) || annotation(it->obj, AP_ANN_TARGET_NAME)) {
                snprintf(
                    it->why, sizeof(it->why),
                    "a platform client (an OIDC Secret in the operator namespace '%s') is not delivered: "
                    "remove the annotations %s and %s and mount this Secret's key %s",
                    it->ns, AP_ANN_TARGET_NS, AP_ANN_TARGET_NAME, AP_OIDC_KEY_SECRET);
                return -1;
        }
        return 0;
}

static int classify(struct ap_operator *op, struct oidc_item *it, const json_t *reg)
{
        bool platform = is_platform(it);
        const char *managed = ap_kube_obj_label(it->obj, AP_LABEL_MANAGED_SECRET);
        const char *label = ap_kube_obj_label(it->obj, AP_LABEL_APP);
        if (!platform && label && strcmp(label, it->app) != 0) {
                snprintf(it->why, sizeof(it->why),
                         "label %s is '%.63s' but the Secret lives in '%s': it must name '%s'", AP_LABEL_APP,
                         label, it->ns, it->app);
                return 0;
        }
        if (managed && strcmp(managed, "true") == 0) {
                snprintf(
                    it->why, sizeof(it->why),
                    "the Secret is also labelled %s=true: an OIDC client is delivered with the annotation %s "
                    "on the OIDC Secret itself; remove the label",
                    AP_LABEL_MANAGED_SECRET, AP_ANN_TARGET_NS);
                return 0;
        }
        int r = ap_oidc_spec_parse(
            platform ? NULL : it->app, op->cfg->base_domain, ap_kube_obj_label(it->obj, AP_LABEL_OIDC_CLIENT),
            json_object_get(it->obj, "data"), &it->spec, &it->secret, it->why, sizeof(it->why));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        r = platform ? check_platform(it) : check_registration(it, reg);
        if (r == -ENOMEM)
                return r;
        it->valid = r == 0;
        return 0;
}

static void free_reg(void *v)
{
        json_decref(v);
}

/* The second and later claims of a client_id are refused. */
static void refuse_duplicates(struct oidc_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                struct oidc_item *a = &set->items[i];
                const char *id = ap_kube_obj_label(a->obj, AP_LABEL_OIDC_CLIENT);
                const struct oidc_item *owner = NULL;
                for (size_t j = 0; j < set->n; j++) {
                        const struct oidc_item *b = &set->items[j];
                        if (j != i && !b->deleting &&
                            strcmp(ap_kube_obj_label(b->obj, AP_LABEL_OIDC_CLIENT), id) == 0 && older(b, a) &&
                            (!owner || older(b, owner)))
                                owner = b;
                }
                if (a->deleting || !owner)
                        continue;
                a->valid = false;
                if (strcmp(owner->app, a->app) != 0)
                        snprintf(a->why, sizeof(a->why),
                                 "client_id '%.100s' is already registered by %s%s%s (Secret %s/%s): pick "
                                 "another label %s value",
                                 id, is_platform(owner) ? "the platform" : "app '",
                                 is_platform(owner) ? "" : owner->app, is_platform(owner) ? "" : "'",
                                 owner->ns, owner->name, AP_LABEL_OIDC_CLIENT);
                else
                        snprintf(a->why, sizeof(a->why),
                                 "client_id '%.100s' is already registered by the Secret %s/%s: one Secret "
                                 "per client",
                                 id, owner->ns, owner->name);
        }
}

int oidc_set_load(struct ap_operator *op, struct oidc_set *set)
{
        memset(set, 0, sizeof(*set));
        set->list = ap_kube_informer_list(op->oidc);
        size_t n = json_array_size(set->list);
        set->items = calloc(n + 1, sizeof(*set->items));
        if (!set->list || !set->items)
                return -ENOMEM;
        struct ap_keymap regs; /* app -> its registration (owned, may be NULL) */
        ap_keymap_init(&regs);
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                const json_t *obj = json_array_get(set->list, i);
                struct oidc_item *it = &set->items[set->n];
                memset(it, 0, sizeof(*it));
                it->obj = obj;
                it->ns = ap_kube_obj_namespace(obj);
                it->name = ap_kube_obj_name(obj);
                if (!it->ns || !it->name || !ap_kube_obj_label(obj, AP_LABEL_OIDC_CLIENT))
                        continue;
                const json_t *reg = NULL;
                if (strcmp(it->ns, op->cfg->namespace) == 0) {
                        snprintf(it->app, sizeof(it->app), "%s", OP_OIDC_PLATFORM_KEY);
                } else {
                        if (!ap_app_from_platform_ns(it->ns, it->app, sizeof(it->app)))
                                continue; /* neither a platform namespace nor ours: not ours */
                        if ((r = lookup_reg(op, &regs, it->app, &reg)) < 0)
                                break;
                        if (op->cfg->watch_selector && !reg)
                                continue; /* another operator's app */
                }
                ap_buf_init_secret(&it->secret, AP_OIDC_SECRET_MAX + 1);
                const char *del = annotation(obj, AP_ANN_DELETE);
                it->deleting = (del && strcmp(del, "true") == 0) ||
                               json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp");
                set->n++;
                if (!it->deleting)
                        r = classify(op, it, reg);
        }
        ap_keymap_release(&regs, free_reg);
        if (r == 0)
                refuse_duplicates(set);
        return r;
}

void oidc_set_release(struct oidc_set *set)
{
        for (size_t i = 0; set->items && i < set->n; i++)
                ap_buf_release(&set->items[i].secret);
        free(set->items);
        json_decref(set->list);
        memset(set, 0, sizeof(*set));
}

/* ---- the per-app pass ---- */

/* Merge-patch the generated clientSecret and Pending into one OIDC Secret, guarded by its
 * resourceVersion (a concurrent edit wins; the next pass sees it). The secret is wiped from every buffer
 * of ours once sent. */
static int write_secret(struct ap_operator *op, const struct oidc_item *it, struct ap_error *err)
{
        struct ap_buf sec = AP_BUF_INIT_SECRET, b64 = AP_BUF_INIT_SECRET;
        int r = ap_oidc_generate_secret(&sec);
        if (r == 0)
                r = ap_base64_encode(&b64, sec.data, sec.len, AP_B64_STD);
        ap_buf_release(&sec);
        json_t *patch =
            r == 0 ? json_pack("{s:{s:s, s:{s:s}}, s:{s:s%}}", "metadata", "resourceVersion",
                               ap_kube_obj_resource_version(it->obj), "annotations", AP_ANN_OIDC_STATUS,
                               AP_OIDC_STATUS_PENDING, "data", AP_OIDC_KEY_SECRET, b64.data, b64.len)
                   : NULL;
        ap_buf_release(&b64);
        if (!patch)
                return ap_error_set(err, r < 0 ? r : -ENOMEM, "cannot generate the client secret");
        struct ap_kube_opts o = {.timeout_ms = 30000};
        ap_kube_metric_inc(op->m_writes);
        r = ap_kube_patch(op->kube, &ap_kube_res_secrets, it->ns, it->name, AP_KUBE_PATCH_MERGE, patch, &o,
                          NULL, NULL, err);
        json_t *v = json_object_get(json_object_get(patch, "data"), AP_OIDC_KEY_SECRET);
        ap_secure_wipe((char *)json_string_value(v), json_string_length(v));
        json_decref(patch);
        if (r < 0)
                return ap_error_prefix(err, "cannot write the client secret into Secret '%s/%s'", it->ns,
                                       it->name);
        return 0;
}

static int set_status(struct ap_operator *op, const struct oidc_item *it, const char *status,
                      struct ap_error *err)
{
        json_t *anns = json_pack("{s:s}", AP_ANN_OIDC_STATUS, status);
        if (!anns)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = op_patch_annotations(op, &ap_kube_res_secrets, it->obj, it->ns, it->name, anns, err);
        json_decref(anns);
        return r == AP_KUBE_E_NOT_FOUND ? 0 : r;
}

/* One valid client with its secret: Registered once Authelia runs with exactly this client. */
static int settle_valid(struct ap_operator *op, const struct oidc_item *it, const char *have,
                        struct ap_error *err)
{
        struct op_oidc_state *st = op->oidc_state;
        char fp[65], msg[1024];
        ap_oidc_fingerprint(&it->spec, it->secret.data, it->secret.len, fp);
        pthread_mutex_lock(&st->lock);
        bool known = st->known;
        const char *rolled = ap_keymap_get(&st->rolled, it->spec.client_id);
        bool registered = rolled && strcmp(rolled, fp) == 0;
        snprintf(msg, sizeof(msg), "%s", st->message);
        pthread_mutex_unlock(&st->lock);
        const char *want = registered ? AP_OIDC_STATUS_REGISTERED : AP_OIDC_STATUS_PENDING;
        if (!known) /* after a start, until Authelia's file was read back: leave a settled status alone */
                want = have && (strcmp(have, AP_OIDC_STATUS_REGISTERED) == 0 ||
                                strcmp(have, AP_OIDC_STATUS_PENDING) == 0)
                           ? have
                           : AP_OIDC_STATUS_PENDING;
        if (!have || strcmp(have, want) != 0) {
                if (strcmp(want, AP_OIDC_STATUS_REGISTERED) == 0)
                        op_event(op, it->obj, false, "OIDCRegistered", "Register",
                                 "registered in Authelia: client_id '%s', redirect URI %s, issuer %s",
                                 it->spec.client_id, it->spec.redirect_uri, op->cfg->oidc_issuer_url);
                else
                        op_event(op, it->obj, false, "OIDCPending", "Register",
                                 "waiting for Authelia to run with client '%s'%s%s", it->spec.client_id,
                                 msg[0] ? ": " : "", msg);
        }
        return set_status(op, it, want, err);
}

static int settle_item(struct ap_operator *op, const struct oidc_item *it, struct ap_error *err)
{
        const char *have = annotation(it->obj, AP_ANN_OIDC_STATUS);
        if (!it->valid) {
                char status[1100];
                snprintf(status, sizeof(status), "Error: %s", it->why);
                if (!have || strcmp(have, status) != 0) {
                        op_event(op, it->obj, true, "OIDCRejected", "Validate", "%s", it->why);
                        ap_log(AP_LOG_WARN, "OIDC client Secret '%s/%s' refused: %s", it->ns, it->name,
                               it->why);
                }
                return set_status(op, it, status, err);
        }
        if (!it->spec.has_secret) {
                int r = write_secret(op, it, err);
                if (r == 0) {
                        op_event(op, it->obj, false, "ClientSecretGenerated", "Register",
                                 "generated the client secret (%d random characters) into the key %s",
                                 AP_OIDC_SECRET_LEN, AP_OIDC_KEY_SECRET);
                        ap_log(AP_LOG_INFO, "OIDC client '%s' (%s/%s): generated its client secret",
                               it->spec.client_id, it->ns, it->name);
                }
                return r == AP_KUBE_E_NOT_FOUND ? 0 : r;
        }
        return settle_valid(op, it, have, err);
}

static int app_pass(struct ap_operator *op, const char *app, struct ap_kube_reconcile_result *res)
{
        struct oidc_set set;
        int r = oidc_set_load(op, &set), first = 0;
        for (size_t i = 0; r == 0 && i < set.n; i++) {
                const struct oidc_item *it = &set.items[i];
                if (it->deleting || strcmp(it->app, app) != 0)
                        continue;
                struct ap_error err = AP_ERROR_INIT;
                int ir = settle_item(op, it, &err);
                if (ir < 0) {
                        ap_log(AP_LOG_WARN, "OIDC client Secret '%s/%s': %s", it->ns, it->name,
                               ap_error_message(&err));
                        if (first == 0)
                                first = ir;
                }
        }
        oidc_set_release(&set);
        if (r < 0 || first < 0)
                return r < 0 ? r : first;
        res->requeue_after_ms = op->cfg->resync_ms;
        return 0;
}

int op_oidc_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        struct ap_operator *op = userdata;
        if (strcmp(key, OP_OIDC_AUTHELIA_KEY) == 0)
                return oidc_authelia_reconcile(op, res);
        return app_pass(op, key, res);
}

/* ---- hooks of the managed-secret pipeline ---- */

static bool has_finalizer(const json_t *obj)
{
        const json_t *f = json_object_get(json_object_get(obj, "metadata"), "finalizers");
        for (size_t i = 0; i < json_array_size(f); i++)
                if (json_string_value(json_array_get(f, i)) &&
                    strcmp(json_string_value(json_array_get(f, i)), AP_FINALIZER) == 0)
                        return true;
        return false;
}

json_t *op_oidc_delivery_list(struct ap_operator *op, const char *platform_ns)
{
        json_t *all = ap_kube_informer_by_index(op->oidc, "namespace", platform_ns);
        json_t *out = json_array();
        for (size_t i = 0; all && out && i < json_array_size(all); i++) {
                json_t *obj = json_array_get(all, i);
                const char *managed = ap_kube_obj_label(obj, AP_LABEL_MANAGED_SECRET);
                if (managed && strcmp(managed, "true") == 0)
                        continue; /* an intent already: refused there for carrying both labels */
                if ((annotation(obj, AP_ANN_TARGET_NS) || has_finalizer(obj)) &&
                    json_array_append(out, obj) < 0) {
                        json_decref(out);
                        out = NULL;
                }
        }
        if (!all) {
                json_decref(out);
                out = NULL;
        }
        json_decref(all);
        return out;
}

int op_oidc_delivery_data(struct ap_operator *op, const json_t *obj, json_t **ret)
{
        struct oidc_set set;
        int r = oidc_set_load(op, &set);
        json_t *data = NULL;
        const char *ns = ap_kube_obj_namespace(obj), *name = ap_kube_obj_name(obj);
        for (size_t i = 0; r == 0 && ns && name && i < set.n; i++) {
                const struct oidc_item *it = &set.items[i];
                if (strcmp(it->ns, ns) != 0 || strcmp(it->name, name) != 0)
                        continue;
                if (it->valid && it->spec.has_secret &&
                    !(data = ap_oidc_delivery_data(&it->spec, op->cfg->oidc_issuer_url, it->secret.data,
                                                   it->secret.len)))
                        r = -ENOMEM;
                break;
        }
        oidc_set_release(&set);
        if (r == 0)
                *ret = data;
        return r;
}

/* ---- state ---- */

struct op_oidc_state *op_oidc_state_new(void)
{
        struct op_oidc_state *st = calloc(1, sizeof(*st));
        if (!st)
                return NULL;
        pthread_mutex_init(&st->lock, NULL);
        ap_keymap_init(&st->rolled);
        ap_keymap_init(&st->verified);
        return st;
}
