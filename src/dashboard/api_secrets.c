/* api_secrets.c - /api/v1/apps/{app}/secrets: managed secrets (intent Secrets in '<app>-platform', DESIGN
 * 1.2). Lists and reads come from the cache, which holds key names only; create, edit and delete (the
 * marked-for-deletion annotation: the operator removes the files from Git, then the Secret) are sent as
 * the user, so only roles RBAC lets write Secrets there can. Values are write-only: no answer carries one. */
#include <string.h>

#include "base/log.h"
#include "dash.h"
#include "kube/api.h"
#include "kube/informer.h"
#include "view.h"

#define MAX_DATA_BYTES (512 * 1024)

static bool key_ok(const char *k)
{
        size_t n = strlen(k);
        if (n == 0 || n > 253 || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = k[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
        }
        return true;
}

/* Check the data object: string values, valid key names, a size limit. */
static bool data_ok(const json_t *data, struct ap_dash_resp *resp)
{
        size_t total = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)data, k, v)
        {
                if (!key_ok(k)) {
                        ap_dash_reply_error(resp, 422,
                                            "key names may hold only letters, digits, '-', '_' and '.' "
                                            "(at most 253); this one does not: %s",
                                            k);
                        return false;
                }
                if (!json_is_string(v)) {
                        ap_dash_reply_error(resp, 422, "the value of key '%s' must be a string", k);
                        return false;
                }
                total += json_string_length(v);
        }
        if (total > MAX_DATA_BYTES) {
                ap_dash_reply_error(resp, 413, "the values add up to %zu bytes, over the %d-byte limit",
                                    total, MAX_DATA_BYTES);
                return false;
        }
        return true;
}

/* targets must be a non-empty list of the app's env namespaces; writes the comma-separated form. */
static bool targets_ok(struct ap_dash_req *req, const json_t *targets, const struct ap_dash_app *app,
                       struct ap_dash_resp *resp, const char **ret_csv)
{
        if (!json_is_array(targets) || json_array_size(targets) == 0) {
                ap_dash_reply_error(resp, 422,
                                    "targetNamespaces must list at least one of the app's namespaces");
                return false;
        }
        char *csv = ap_dash_strdup(req->arena, "");
        size_t i;
        json_t *t;
        json_array_foreach(targets, i, t)
        {
                const char *ns = json_string_value(t);
                if (!ns || !ap_dash_app_has_namespace(app, ns) || strcmp(ns, app->platform_ns) == 0) {
                        ap_dash_reply_error(resp, 422, "'%s' is not one of the namespaces of '%s'",
                                            ns ? ns : "?", app->name);
                        return false;
                }
                csv = ap_dash_printf(req->arena, "%s%s%s", csv, i ? "," : "", ns);
        }
        *ret_csv = csv;
        return true;
}

static int reply_secret(struct ap_dash *d, struct ap_dash_resp *resp, int status, const char *app,
                        json_t *obj)
{
        ap_kube_transform_strip_secret_values(NULL, obj); /* the apiserver echoes the values back */
        return ap_dash_reply_json(resp, status, ap_dash_cache_view(d->cache, AP_DASH_SECRETS, app, obj));
}

int ap_dash_api_secrets_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        ap_dash_reply_list(d, req, resp, AP_DASH_SECRETS, app->name);
        return 0;
}

/* The cached intent Secret of this app, or a 404 reply. */
static json_t *find_secret(struct ap_dash *d, const struct ap_dash_app *app, const char *name,
                           struct ap_dash_resp *resp)
{
        json_t *obj = ap_dash_cache_get(d->cache, AP_DASH_SECRETS, app->platform_ns, name);
        const char *l = obj ? ap_dash_label(obj, AP_DASH_LABEL_APP) : NULL;
        if (!obj || !l || strcmp(l, app->name) != 0) {
                json_decref(obj);
                ap_dash_reply_error(resp, 404, "no managed secret '%s' in app '%s'", name, app->name);
                return NULL;
        }
        return obj;
}

int ap_dash_api_secrets_get(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *obj = find_secret(d, app, req->params[1], resp);
        if (obj)
                ap_dash_reply_json(resp, 200, ap_dash_cache_view(d->cache, AP_DASH_SECRETS, app->name, obj));
        json_decref(obj);
        return 0;
}

static void create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                   const struct ap_dash_app *app, json_t *body)
{
        const char *name = json_string_value(json_object_get(body, "name"));
        const char *tn = json_string_value(json_object_get(body, "targetName"));
        json_t *data = json_object_get(body, "data");
        const char *csv = NULL;
        if (!ap_dash_dns_label(name, 63)) {
                ap_dash_reply_error(resp, 422,
                                    "a secret name holds lowercase letters, digits and '-' (at most 63)");
                return;
        }
        if (tn && *tn && !ap_dash_dns_label(tn, 63)) {
                ap_dash_reply_error(resp, 422,
                                    "targetName holds lowercase letters, digits and '-' (at most 63)");
                return;
        }
        if (!json_is_object(data) || json_object_size(data) == 0) {
                ap_dash_reply_error(resp, 422, "data must hold at least one key and its value");
                return;
        }
        if (!data_ok(data, resp) ||
            !targets_ok(req, json_object_get(body, "targetNamespaces"), app, resp, &csv))
                return;
        json_t *obj = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}}, s:O}",
                                "apiVersion", "v1", "kind", "Secret", "type", "Opaque", "metadata", "name",
                                name, "namespace", app->platform_ns, "labels", AP_DASH_LABEL_SECRET, "true",
                                AP_DASH_LABEL_APP, app->name, "annotations", AP_DASH_ANN_TARGETS, csv,
                                AP_DASH_ANN_TARGET_NAME, tn && *tn ? tn : name, AP_DASH_ANN_REQUESTED_BY,
                                req->user->name, AP_DASH_ANN_COMMITTED, "false", "stringData", data);
        struct ap_kube_opts o = {.field_manager = "app-platform-dashboard"};
        ap_dash_authz_as(req->user, &o);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        json_t *out = NULL;
        int r = ap_kube_create(d->kc, &ap_kube_res_secrets, app->platform_ns, obj, &o, &out, &st, &err);
        if (r < 0)
                ap_dash_reply_kube(resp, r, &st, &err,
                                   ap_dash_printf(req->arena, "cannot create secret '%s'", name));
        else {
                ap_info("secret '%s/%s' created by '%s'", app->name, name, req->user->name);
                reply_secret(d, resp, 201, app->name, out);
        }
        json_decref(out);
        json_decref(obj);
        ap_kube_status_release(&st);
}

int ap_dash_api_secrets_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *body = ap_dash_body_json(req, resp);
        if (body)
                create(d, req, resp, app, body);
        json_decref(body);
        return 0;
}

/* Merge-patch an intent as the user. */
static void patch_secret(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                         const struct ap_dash_app *app, const char *name, json_t *patch, int status,
                         const char *verb)
{
        struct ap_kube_opts o = {.field_manager = "app-platform-dashboard"};
        ap_dash_authz_as(req->user, &o);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        json_t *out = NULL;
        int r = ap_kube_patch(d->kc, &ap_kube_res_secrets, app->platform_ns, name, AP_KUBE_PATCH_MERGE, patch,
                              &o, &out, &st, &err);
        if (r < 0)
                ap_dash_reply_kube(resp, r, &st, &err,
                                   ap_dash_printf(req->arena, "cannot %s secret '%s'", verb, name));
        else {
                ap_info("secret '%s/%s' %sd by '%s'", app->name, name, verb, req->user->name);
                reply_secret(d, resp, status, app->name, out);
        }
        json_decref(out);
        ap_kube_status_release(&st);
}

static bool deleting(const json_t *obj, struct ap_dash_resp *resp)
{
        const char *del = ap_dash_annotation(obj, AP_DASH_ANN_DELETE);
        if (del && strcmp(del, "true") == 0) {
                ap_dash_reply_error(resp, 409,
                                    "the secret is being deleted; wait until it is gone to create it again");
                return true;
        }
        return false;
}

/* The patch for an edit: new/changed values, removed keys, new targets; NULL after an error reply. */
static json_t *edit_patch(struct ap_dash_req *req, struct ap_dash_resp *resp, const struct ap_dash_app *app,
                          const json_t *obj, const json_t *body)
{
        json_t *data = json_object_get(body, "data"), *rm = json_object_get(body, "removeKeys");
        json_t *targets = json_object_get(body, "targetNamespaces");
        const char *tn = json_string_value(json_object_get(body, "targetName"));
        const char *rv = json_string_value(json_object_get(body, "resourceVersion"));
        const char *csv = NULL;
        if ((data && (!json_is_object(data) || !data_ok(data, resp))) || (rm && !json_is_array(rm)) ||
            (targets && !targets_ok(req, targets, app, resp, &csv))) {
                if (!resp->status)
                        ap_dash_reply_error(resp, 422, "data must be an object and removeKeys a list");
                return NULL;
        }
        if (tn && *tn && !ap_dash_dns_label(tn, 63)) {
                ap_dash_reply_error(resp, 422,
                                    "targetName holds lowercase letters, digits and '-' (at most 63)");
                return NULL;
        }
        json_t *ann = json_pack("{s:s, s:s}", AP_DASH_ANN_REQUESTED_BY, req->user->name,
                                AP_DASH_ANN_COMMITTED, "false");
        if (csv)
                json_object_set_new(ann, AP_DASH_ANN_TARGETS, json_string(csv));
        if (tn && *tn)
                json_object_set_new(ann, AP_DASH_ANN_TARGET_NAME, json_string(tn));
        json_t *patch = json_pack("{s:{s:o}}", "metadata", "annotations", ann);
        if (rv)
                json_object_set_new(json_object_get(patch, "metadata"), "resourceVersion", json_string(rv));
        if (data && json_object_size(data))
                json_object_set(patch, "stringData", data);
        size_t left = json_object_size(json_object_get(obj, "data"));
        json_t *del = json_object();
        size_t i;
        json_t *k;
        json_array_foreach(rm, i, k)
        {
                const char *key = json_string_value(k);
                if (key && json_object_get(json_object_get(obj, "data"), key) &&
                    !json_object_get(data, key)) {
                        json_object_set_new(del, key, json_null());
                        left--;
                }
        }
        if (json_object_size(del))
                json_object_set_new(patch, "data", del);
        else
                json_decref(del);
        if (left + json_object_size(data) == 0) {
                json_decref(patch);
                ap_dash_reply_error(resp, 422,
                                    "a secret must keep at least one key; delete the secret instead");
                return NULL;
        }
        return patch;
}

int ap_dash_api_secrets_update(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *body = ap_dash_body_json(req, resp);
        json_t *obj = body ? find_secret(d, app, req->params[1], resp) : NULL;
        json_t *patch = obj && !deleting(obj, resp) ? edit_patch(req, resp, app, obj, body) : NULL;
        if (patch)
                patch_secret(d, req, resp, app, req->params[1], patch, 200, "update");
        json_decref(patch);
        json_decref(obj);
        json_decref(body);
        return 0;
}

int ap_dash_api_secrets_delete(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *obj = find_secret(d, app, req->params[1], resp);
        if (obj && !deleting(obj, resp)) {
                json_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", AP_DASH_ANN_DELETE,
                                          "true", AP_DASH_ANN_REQUESTED_BY, req->user->name);
                patch_secret(d, req, resp, app, req->params[1], patch, 202, "delete");
                json_decref(patch);
        }
        json_decref(obj);
        return 0;
}
