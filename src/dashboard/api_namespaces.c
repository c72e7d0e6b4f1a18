/* api_namespaces.c - /api/v1/apps/{app}/namespaces: the app's namespaces (its platform namespace and
 * spec.namespaces, with whether each exists), add and remove, both by editing the registration's
 * spec.namespaces with a JSON patch guarded by the resourceVersion read. A platform admin's edit is sent
 * as them; an app admin's is sent with the dashboard's identity once their admin role is checked here,
 * because RBAC cannot grant "spec.namespaces of this one object" and nothing else. */
#include <string.h>

#include "base/log.h"
#include "dash.h"
#include "kube/api.h"
#include "view.h"

int ap_dash_api_namespaces_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        ap_dash_reply_list(d, req, resp, AP_DASH_NAMESPACES, app->name);
        return 0;
}

/* Apply a JSON patch to the registration, as the user (platform admin) or as ourselves (app admin). */
static int patch_registration(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                              const struct ap_dash_app *app, json_t *ops, const char *what)
{
        struct ap_kube_opts o = {0};
        if (req->user->platform_admin)
                ap_dash_authz_as(req->user, &o);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        json_t *out = NULL;
        int r = ap_kube_patch(d->kc, &ap_dash_res_registrations, NULL, app->name, AP_KUBE_PATCH_JSON, ops, &o,
                              &out, &st, &err);
        if (r < 0)
                ap_dash_reply_kube(resp, r, &st, &err, what);
        else {
                ap_info("namespaces of '%s' changed by '%s'", app->name, req->user->name);
                json_t *v = ap_dash_view_registration(out);
                ap_dash_reply_json(resp, 200,
                                   json_pack("{s:O}", "namespaces", json_object_get(v, "namespaces")));
                json_decref(v);
        }
        json_decref(out);
        ap_kube_status_release(&st);
        return 0;
}

static bool may_edit(struct ap_dash_req *req, struct ap_dash_resp *resp, const struct ap_dash_app *app)
{
        if (req->user->platform_admin || ap_dash_authz_role(req->user, app) == AP_DASH_ROLE_ADMIN)
                return true;
        ap_dash_reply_error(resp, 403, "only an admin of '%s' may add or remove its namespaces", app->name);
        return false;
}

/* The registration as cached, for its resourceVersion and current list. */
static json_t *registration(struct ap_dash *d, const struct ap_dash_app *app, struct ap_dash_resp *resp)
{
        json_t *obj = ap_dash_cache_get(d->cache, AP_DASH_REGISTRATIONS, NULL, app->name);
        if (!obj)
                ap_dash_reply_error(resp, 409, "app '%s' changed meanwhile; reload and try again", app->name);
        return obj;
}

int ap_dash_api_namespaces_add(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *body = may_edit(req, resp, app) ? ap_dash_body_json(req, resp) : NULL;
        const char *name = json_string_value(json_object_get(body, "name"));
        size_t pl = strlen(app->name);
        json_t *obj = NULL;
        if (!body)
                ;
        else if (!ap_dash_dns_label(name, 63) || strncmp(name, app->name, pl) != 0 || name[pl] != '-' ||
                 !name[pl + 1])
                ap_dash_reply_error(resp, 422,
                                    "a namespace of '%s' must be named '%s-<something>' (lowercase letters, "
                                    "digits and '-', at most 63 characters)",
                                    app->name, app->name);
        else if (strcmp(name, app->platform_ns) == 0)
                ap_dash_reply_error(resp, 422, "'%s' is the platform namespace, which the operator manages",
                                    name);
        else if (ap_dash_app_has_namespace(app, name))
                ap_dash_reply_error(resp, 409, "'%s' is already a namespace of '%s'", name, app->name);
        else if ((obj = registration(d, app, resp))) {
                const char *rv =
                    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
                bool has = json_is_array(json_object_get(json_object_get(obj, "spec"), "namespaces"));
                json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path",
                                        "/metadata/resourceVersion", "value", rv ? rv : "");
                json_array_append_new(ops, has ? json_pack("{s:s, s:s, s:s}", "op", "add", "path",
                                                           "/spec/namespaces/-", "value", name)
                                               : json_pack("{s:s, s:s, s:[s]}", "op", "add", "path",
                                                           "/spec/namespaces", "value", name));
                patch_registration(d, req, resp, app, ops,
                                   ap_dash_printf(req->arena, "cannot add namespace '%s'", name));
                json_decref(ops);
        }
        json_decref(obj);
        json_decref(body);
        return 0;
}

int ap_dash_api_namespaces_remove(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        const char *name = req->params[1];
        json_t *obj = NULL;
        if (!may_edit(req, resp, app))
                ;
        else if (strcmp(name, app->platform_ns) == 0)
                ap_dash_reply_error(resp, 422, "'%s' is the platform namespace, which the operator manages",
                                    name);
        else if (!ap_dash_app_has_namespace(app, name))
                ap_dash_reply_error(resp, 404, "'%s' is not a namespace of '%s'", name, app->name);
        else if ((obj = registration(d, app, resp))) {
                const char *rv =
                    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
                json_t *nss = json_object_get(json_object_get(obj, "spec"), "namespaces");
                size_t i, at = (size_t)-1;
                json_t *e;
                json_array_foreach(nss, i, e) if (json_is_string(e) &&
                                                  strcmp(json_string_value(e), name) == 0) at = i;
                if (at == (size_t)-1)
                        ap_dash_reply_error(resp, 409, "app '%s' changed meanwhile; reload and try again",
                                            app->name);
                else {
                        json_t *ops =
                            json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:o}]", "op", "test", "path",
                                      "/metadata/resourceVersion", "value", rv ? rv : "", "op", "test",
                                      "path", ap_dash_printf(req->arena, "/spec/namespaces/%zu", at), "value",
                                      name, "op", "remove", "path", json_sprintf("/spec/namespaces/%zu", at));
                        patch_registration(d, req, resp, app, ops,
                                           ap_dash_printf(req->arena, "cannot remove namespace '%s'", name));
                        json_decref(ops);
                }
        }
        json_decref(obj);
        return 0;
}
