/* view.c - API views of cached objects (see view.h). */
#include "view.h"

#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "kube/informer.h"

const json_t *ap_dash_condition_find(const json_t *conditions, const char *type)
{
        size_t i;
        const json_t *c;
        json_array_foreach(conditions, i, c)
        {
                const char *t = json_string_value(json_object_get(c, "type"));
                if (t && strcmp(t, type) == 0)
                        return c;
        }
        return NULL;
}

static const char *meta_map(const json_t *obj, const char *map, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(obj, "metadata"), map), key));
}

const char *ap_dash_label(const json_t *obj, const char *key)
{
        return meta_map(obj, "labels", key);
}

const char *ap_dash_annotation(const json_t *obj, const char *key)
{
        return meta_map(obj, "annotations", key);
}

bool ap_dash_is_managed(const json_t *obj)
{
        const char *m = ap_dash_label(obj, AP_DASH_LABEL_MANAGED_BY);
        return m && strcmp(m, AP_DASH_OPERATOR) == 0;
}

static const char *meta(const json_t *obj, const char *k)
{
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), k));
}

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *copy_or_null(const json_t *v)
{
        return v ? json_deep_copy(v) : json_null();
}

/* {status, reason, message} of the Ready condition; status "Unknown" when there is none. */
static json_t *ready_of(const json_t *obj)
{
        const json_t *c =
            ap_dash_condition_find(json_object_get(json_object_get(obj, "status"), "conditions"), "Ready");
        const char *st = json_string_value(json_object_get(c, "status"));
        return json_pack("{s:s, s:o, s:o, s:o}", "status", st ? st : "Unknown", "reason",
                         str_or_null(json_string_value(json_object_get(c, "reason"))), "message",
                         str_or_null(json_string_value(json_object_get(c, "message"))), "lastTransitionTime",
                         str_or_null(json_string_value(json_object_get(c, "lastTransitionTime"))));
}

static json_t *conditions_of(const json_t *obj)
{
        json_t *out = json_array();
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
        {
                json_array_append_new(out, json_pack("{s:o, s:o, s:o, s:o, s:o}", "type",
                                                     copy_or_null(json_object_get(c, "type")), "status",
                                                     copy_or_null(json_object_get(c, "status")), "reason",
                                                     copy_or_null(json_object_get(c, "reason")), "message",
                                                     copy_or_null(json_object_get(c, "message")),
                                                     "lastTransitionTime",
                                                     copy_or_null(json_object_get(c, "lastTransitionTime"))));
        }
        return out;
}

/* name, namespace, managed, resourceVersion, createdAt: every view starts with these. */
static json_t *base_view(const json_t *obj)
{
        const char *ns = meta(obj, "namespace");
        return json_pack("{s:o, s:o, s:b, s:o, s:o}", "name", str_or_null(meta(obj, "name")), "namespace",
                         str_or_null(ns), "managed", ap_dash_is_managed(obj), "resourceVersion",
                         str_or_null(meta(obj, "resourceVersion")), "createdAt",
                         str_or_null(meta(obj, "creationTimestamp")));
}

json_t *ap_dash_view_registration(const json_t *obj)
{
        json_t *v = base_view(obj);
        const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
        json_object_del(v, "namespace");
        json_t *nss = json_object_get(spec, "namespaces");
        json_object_set_new(v, "namespaces", nss ? json_deep_copy(nss) : json_array());
        json_t *acc = json_object_get(spec, "access");
        json_object_set_new(v, "access", acc ? json_deep_copy(acc) : json_array());
        json_object_set_new(v, "repository", copy_or_null(json_object_get(spec, "repository")));
        const char *dp = json_string_value(json_object_get(spec, "deletionPolicy"));
        json_object_set_new(v, "deletionPolicy", json_string(dp ? dp : "Retain"));
        json_object_set_new(v, "generation",
                            copy_or_null(json_object_get(json_object_get(obj, "metadata"), "generation")));
        json_object_set_new(v, "status",
                            json_pack("{s:o, s:o, s:o, s:o}", "observedGeneration",
                                      copy_or_null(json_object_get(st, "observedGeneration")),
                                      "platformNamespace",
                                      copy_or_null(json_object_get(st, "platformNamespace")), "repositoryURL",
                                      copy_or_null(json_object_get(st, "repositoryURL")), "agePublicKey",
                                      copy_or_null(json_object_get(st, "agePublicKey"))));
        json_object_set_new(v, "ready", ready_of(obj));
        json_object_set_new(v, "conditions", conditions_of(obj));
        return v;
}

static void flux_common(json_t *v, const json_t *obj)
{
        const json_t *spec = json_object_get(obj, "spec");
        json_object_set_new(v, "interval", copy_or_null(json_object_get(spec, "interval")));
        json_object_set_new(v, "suspended", json_boolean(json_is_true(json_object_get(spec, "suspend"))));
        json_object_set_new(v, "ready", ready_of(obj));
        json_object_set_new(v, "conditions", conditions_of(obj));
        json_object_set_new(v, "reconcileRequestedAt",
                            str_or_null(ap_dash_annotation(obj, AP_DASH_ANN_RECONCILE)));
        json_object_set_new(
            v, "lastHandledReconcileAt",
            copy_or_null(json_object_get(json_object_get(obj, "status"), "lastHandledReconcileAt")));
}

json_t *ap_dash_view_gitrepository(const json_t *obj)
{
        json_t *v = base_view(obj);
        const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
        json_object_set_new(v, "url", copy_or_null(json_object_get(spec, "url")));
        json_object_set_new(v, "ref", copy_or_null(json_object_get(spec, "ref")));
        json_object_set_new(v, "secretRef", copy_or_null(json_object_get(spec, "secretRef")));
        flux_common(v, obj);
        json_object_set_new(v, "revision",
                            copy_or_null(json_object_get(json_object_get(st, "artifact"), "revision")));
        return v;
}

json_t *ap_dash_view_kustomization(const json_t *obj)
{
        json_t *v = base_view(obj);
        const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
        json_object_set_new(v, "sourceRef", copy_or_null(json_object_get(spec, "sourceRef")));
        json_object_set_new(v, "path", copy_or_null(json_object_get(spec, "path")));
        json_object_set_new(v, "prune", json_boolean(json_is_true(json_object_get(spec, "prune"))));
        json_object_set_new(v, "targetNamespace", copy_or_null(json_object_get(spec, "targetNamespace")));
        json_t *deps = json_object_get(spec, "dependsOn");
        json_object_set_new(v, "dependsOn", deps ? json_deep_copy(deps) : json_array());
        json_t *subst = json_object_get(json_object_get(spec, "postBuild"), "substitute");
        json_object_set_new(v, "postBuild",
                            json_pack("{s:o}", "substitute", subst ? json_deep_copy(subst) : json_object()));
        flux_common(v, obj);
        json_object_set_new(v, "lastAppliedRevision",
                            copy_or_null(json_object_get(st, "lastAppliedRevision")));
        json_object_set_new(v, "lastAttemptedRevision",
                            copy_or_null(json_object_get(st, "lastAttemptedRevision")));
        return v;
}

json_t *ap_dash_view_namespace(const char *name, const char *role, const json_t *ns_obj)
{
        json_t *v = json_pack("{s:s, s:s, s:b, s:b}", "name", name, "role", role, "exists", ns_obj != NULL,
                              "managed", ns_obj ? ap_dash_is_managed(ns_obj) : strcmp(role, "platform") == 0);
        const char *phase = json_string_value(json_object_get(json_object_get(ns_obj, "status"), "phase"));
        json_object_set_new(v, "phase", str_or_null(phase));
        return v;
}

static json_t *split_csv(const char *s)
{
        json_t *a = json_array();
        while (s && *s) {
                const char *c = strchr(s, ',');
                size_t n = c ? (size_t)(c - s) : strlen(s);
                while (n && s[0] == ' ') {
                        s++;
                        n--;
                }
                while (n && s[n - 1] == ' ')
                        n--;
                if (n)
                        json_array_append_new(a, json_stringn(s, n));
                s = c ? c + 1 : NULL;
        }
        return a;
}

/* True when every (>= 1) Kustomization has applied a revision containing commit. */
static bool applied(const json_t *kusts, const char *commit)
{
        if (!commit || !*commit || json_array_size(kusts) == 0)
                return false;
        size_t i;
        const json_t *k;
        json_array_foreach(kusts, i, k)
        {
                const char *rev =
                    json_string_value(json_object_get(json_object_get(k, "status"), "lastAppliedRevision"));
                if (!rev || !strstr(rev, commit))
                        return false;
        }
        return true;
}

const char *ap_dash_secret_status(const json_t *obj, const json_t *platform_kusts)
{
        const char *del = ap_dash_annotation(obj, AP_DASH_ANN_DELETE);
        if (del && strcmp(del, "true") == 0)
                return "Deleting";
        const char *c = ap_dash_annotation(obj, AP_DASH_ANN_COMMITTED);
        bool committed = c && strcmp(c, "true") == 0;
        const char *le = ap_dash_annotation(obj, AP_DASH_ANN_LAST_ERROR);
        if (!committed)
                return le && *le ? "Error" : "Pending";
        return applied(platform_kusts, ap_dash_annotation(obj, AP_DASH_ANN_COMMIT)) ? "Applied" : "Committed";
}

static json_t *key_names(const json_t *obj)
{
        json_t *keys = json_array();
        const char *fields[] = {"data", "stringData"};
        for (size_t f = 0; f < 2; f++) {
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(obj, fields[f]), k, v)
                {
                        (void)v; /* values are never read: only the key names are shown */
                        bool dup = false;
                        size_t i;
                        json_t *e;
                        json_array_foreach(keys, i, e) dup |= strcmp(json_string_value(e), k) == 0;
                        if (!dup)
                                json_array_append_new(keys, json_string(k));
                }
        }
        return keys;
}

json_t *ap_dash_view_secret(const json_t *obj, const json_t *platform_kusts)
{
        json_t *v = base_view(obj);
        json_object_del(v, "managed");
        const char *name = meta(obj, "name");
        const char *tn = ap_dash_annotation(obj, AP_DASH_ANN_TARGET_NAME);
        json_t *targets = split_csv(ap_dash_annotation(obj, AP_DASH_ANN_TARGETS));
        const char *status = ap_dash_secret_status(obj, platform_kusts);
        json_t *per = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(targets, i, t)
        {
                json_array_append_new(per, json_pack("{s:O, s:s}", "namespace", t, "status", status));
        }
        json_object_set_new(v, "targetNamespaces", targets);
        json_object_set_new(v, "targetName", json_string(tn && *tn ? tn : name ? name : ""));
        json_object_set_new(v, "keys", key_names(obj));
        json_object_set_new(v, "status", json_string(status));
        json_object_set_new(v, "targets", per);
        json_object_set_new(v, "commit", str_or_null(ap_dash_annotation(obj, AP_DASH_ANN_COMMIT)));
        const char *le = ap_dash_annotation(obj, AP_DASH_ANN_LAST_ERROR);
        json_object_set_new(v, "lastError", le && *le ? json_string(le) : json_null());
        json_object_set_new(v, "requestedBy", str_or_null(ap_dash_annotation(obj, AP_DASH_ANN_REQUESTED_BY)));
        return v;
}

json_t *ap_dash_view_oidc_client(const json_t *obj, const char *issuer)
{
        json_t *v = base_view(obj);
        json_object_del(v, "managed");
        const json_t *f = json_object_get(obj, AP_DASH_OIDC_FIELDS);
        const char *host = json_string_value(json_object_get(f, "hostname"));
        const char *cb = json_string_value(json_object_get(f, "callbackPath"));
        if (!cb || !*cb)
                cb = "/api/auth/oidc/callback";
        json_object_set_new(v, "clientId", str_or_null(ap_dash_label(obj, AP_DASH_LABEL_OIDC)));
        json_object_set_new(v, "hostname", str_or_null(host));
        json_object_set_new(v, "callbackPath", json_string(cb));
        json_object_set_new(v, "callbackURL", host ? json_sprintf("https://%s%s", host, cb) : json_null());
        json_object_set_new(v, "issuer", str_or_null(issuer));
        const char *st = ap_dash_annotation(obj, AP_DASH_ANN_OIDC_STATUS);
        json_object_set_new(v, "status", json_string(st && *st ? st : "Pending"));
        const char *le = ap_dash_annotation(obj, AP_DASH_ANN_LAST_ERROR);
        json_object_set_new(v, "lastError", le && *le ? json_string(le) : json_null());
        return v;
}

static void keep_field(json_t *out, const json_t *obj, const char *key)
{
        const char *sd = json_string_value(json_object_get(json_object_get(obj, "stringData"), key));
        if (sd) {
                json_object_set_new(out, key, json_string(sd));
                return;
        }
        const char *d = json_string_value(json_object_get(json_object_get(obj, "data"), key));
        struct ap_buf b = AP_BUF_INIT;
        b.max = 1024;
        if (d && ap_base64_decode(&b, d, strlen(d), AP_B64_STD) == 0 && memchr(b.data, '\0', b.len) == NULL)
                json_object_set_new(out, key, json_stringn(b.data, b.len));
        ap_buf_release(&b);
}

void ap_dash_transform_oidc_secret(void *userdata, json_t *obj)
{
        json_t *f = json_object();
        keep_field(f, obj, "hostname");
        keep_field(f, obj, "callbackPath");
        json_object_set_new(obj, AP_DASH_OIDC_FIELDS, f);
        ap_kube_transform_strip_secret_values(userdata, obj);
}
