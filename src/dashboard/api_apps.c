/* api_apps.c - GET /api/v1/apps (the apps the user has a role in, or all for a platform admin) and
 * GET /api/v1/apps/{app}/permissions (what the user may do there, from access reviews as the user). */
#include <string.h>

#include "base/log.h"
#include "dash.h"
#include "view.h"

static json_t *app_item(struct ap_dash *d, const struct ap_dash_user *u, const struct ap_dash_app *a)
{
        json_t *nss = json_array();
        for (size_t i = 0; i < a->n_ns; i++)
                json_array_append_new(nss, json_string(a->namespaces[i]));
        json_t *reg = ap_dash_cache_get(d->cache, AP_DASH_REGISTRATIONS, NULL, a->name);
        json_t *view = reg ? ap_dash_view_registration(reg) : NULL;
        json_decref(reg);
        json_t *ready = view ? json_incref(json_object_get(view, "ready")) : json_null();
        json_decref(view);
        return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", a->name, "role",
                         ap_dash_role_name(ap_dash_authz_role(u, a)), "platformNamespace", a->platform_ns,
                         "namespaces", nss, "ready", ready);
}

int ap_dash_api_apps(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_dash_apps *apps = ap_dash_cache_apps(d->cache);
        json_t *items = json_array();
        for (size_t i = 0; i < apps->n; i++)
                if (req->user->platform_admin ||
                    ap_dash_authz_role(req->user, &apps->v[i]) != AP_DASH_ROLE_NONE)
                        json_array_append_new(items, app_item(d, req->user, &apps->v[i]));
        ap_dash_apps_unref(apps);
        return ap_dash_reply_json(resp, 200, json_pack("{s:o}", "items", items));
}

int ap_dash_api_permissions(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        struct ap_error err = AP_ERROR_INIT;
        json_t *p = NULL;
        if (ap_dash_authz_permissions(d->authz, req->user, app, &p, &err) < 0) {
                ap_warn("access review for '%s' failed: %s", req->user->imp_user, err.msg);
                ap_dash_reply_kube(resp, err.code, NULL, &err, "cannot review your permissions");
        } else
                ap_dash_reply_json(resp, 200, p);
        return 0;
}

int ap_dash_api_events(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_dash_apps *apps = ap_dash_cache_apps(d->cache);
        const char **names = NULL;
        size_t n = ap_dash_authz_apps(req->user, apps, req->arena, &names);
        const char *lei = ap_dash_req_header(req, "Last-Event-ID");
        if (!lei)
                lei = ap_dash_req_query(req, "lastEventId");
        uint64_t last = lei ? strtoull(lei, NULL, 10) : 0;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_sub *sub = NULL;
        int r = ap_dash_hub_subscribe(d->hub, req->user->imp_user, req->user->platform_admin, names, n, last,
                                      &sub, &err);
        ap_dash_apps_unref(apps);
        if (r == -EUSERS)
                return ap_dash_reply_error(resp, 429, "%s", err.msg);
        if (r < 0)
                return ap_dash_reply_error(resp, 503, "%s", err.msg);
        resp->status = 200;
        resp->stream = sub;
        return 0;
}
