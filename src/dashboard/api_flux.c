/* api_flux.c - what GitRepositories and Kustomizations share: create as the user in one of the app's
 * namespaces, delete, and the actions suspend, resume and reconcile (Flux's reconcile.fluxcd.io/requestedAt
 * annotation, as `flux reconcile` sets it). Objects the operator manages are read-only here, whatever RBAC
 * would allow. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "dash.h"
#include "kube/api.h"
#include "view.h"

static const struct ap_kube_resource *res_of(enum ap_dash_kind k)
{
        return k == AP_DASH_GITREPOS ? &ap_dash_res_gitrepositories : &ap_dash_res_kustomizations;
}

static const char *kind_word(enum ap_dash_kind k)
{
        return k == AP_DASH_GITREPOS ? "GitRepository" : "Kustomization";
}

static bool flux_ready(struct ap_dash *d, struct ap_dash_resp *resp, enum ap_dash_kind k)
{
        if (ap_dash_cache_synced(d->cache, k))
                return true;
        ap_dash_reply_error(resp, 503,
                            "Flux's %s API is not available in this cluster (are the Flux CRDs "
                            "installed?); ask a platform admin",
                            kind_word(k));
        return false;
}

int ap_dash_api_gitrepositories_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        if (flux_ready(d, resp, AP_DASH_GITREPOS))
                ap_dash_reply_list(d, req, resp, AP_DASH_GITREPOS, app->name);
        return 0;
}

int ap_dash_api_kustomizations_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        if (flux_ready(d, resp, AP_DASH_KUSTS))
                ap_dash_reply_list(d, req, resp, AP_DASH_KUSTS, app->name);
        return 0;
}

int ap_dash_flux_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                        enum ap_dash_kind k, const struct ap_dash_app *app, json_t *obj)
{
        const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        if (!flux_ready(d, resp, k))
                return 0;
        struct ap_kube_opts o = {.field_manager = "app-platform-dashboard"};
        ap_dash_authz_as(req->user, &o);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        json_t *out = NULL;
        int r = ap_kube_create(d->kc, res_of(k), ns, obj, &o, &out, &st, &err);
        if (r < 0)
                ap_dash_reply_kube(
                    resp, r, &st, &err,
                    ap_dash_printf(req->arena, "cannot create %s '%s/%s'", kind_word(k), ns, name));
        else {
                ap_info("%s '%s/%s' created by '%s'", kind_word(k), ns, name, req->user->name);
                ap_dash_reply_json(resp, 201, ap_dash_cache_view(d->cache, k, app->name, out));
        }
        json_decref(out);
        ap_kube_status_release(&st);
        return 0;
}

/* The cached object {app}/{ns}/{name} when the app owns the namespace and the operator does not manage
 * it; else an error reply and NULL. */
static json_t *writable(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                        const struct ap_dash_app *app, enum ap_dash_kind k)
{
        const char *ns = req->params[1], *name = req->params[2];
        json_t *obj = ap_dash_app_has_namespace(app, ns) ? ap_dash_cache_get(d->cache, k, ns, name) : NULL;
        if (!obj) {
                ap_dash_reply_error(resp, 404, "no %s '%s/%s' in app '%s'", kind_word(k), ns, name,
                                    app->name);
                return NULL;
        }
        if (ap_dash_is_managed(obj)) {
                json_decref(obj);
                ap_dash_reply_error(resp, 403,
                                    "%s '%s/%s' is managed by the operator (read-only): change the app "
                                    "registration instead",
                                    kind_word(k), ns, name);
                return NULL;
        }
        return obj;
}

int ap_dash_api_flux_delete(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        enum ap_dash_kind k = req->route_arg;
        const struct ap_dash_app *app = req->app;
        json_t *obj = flux_ready(d, resp, k) ? writable(d, req, resp, app, k) : NULL;
        if (obj) {
                struct ap_kube_opts o = {0};
                ap_dash_authz_as(req->user, &o);
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_kube_delete(d->kc, res_of(k), req->params[1], req->params[2], &o, NULL, &st, &err);
                if (r < 0)
                        ap_dash_reply_kube(resp, r, &st, &err,
                                           ap_dash_printf(req->arena, "cannot delete %s '%s/%s'",
                                                          kind_word(k), req->params[1], req->params[2]));
                else {
                        ap_info("%s '%s/%s' deleted by '%s'", kind_word(k), req->params[1], req->params[2],
                                req->user->name);
                        ap_dash_reply_json(resp, 202,
                                           json_pack("{s:s, s:s, s:s}", "name", req->params[2], "namespace",
                                                     req->params[1], "status", "Deleting"));
                }
                ap_kube_status_release(&st);
        }
        json_decref(obj);
        return 0;
}

/* RFC 3339 with nanoseconds, as `flux reconcile` writes requestedAt. */
static const char *now_rfc3339(struct ap_dash_arena *a)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char b[40];
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return ap_dash_printf(a, "%s.%09ldZ", b, ts.tv_nsec);
}

int ap_dash_api_flux_action(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        enum ap_dash_kind k = req->route_arg;
        const char *action = req->params[3];
        json_t *patch = NULL;
        if (strcmp(action, "suspend") == 0 || strcmp(action, "resume") == 0)
                patch = json_pack("{s:{s:b}}", "spec", "suspend", strcmp(action, "suspend") == 0);
        else if (strcmp(action, "reconcile") == 0)
                patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", AP_DASH_ANN_RECONCILE,
                                  now_rfc3339(req->arena));
        else
                return ap_dash_reply_error(resp, 404, "no action '%s' (suspend, resume or reconcile)",
                                           action);
        const struct ap_dash_app *app = req->app;
        json_t *obj = flux_ready(d, resp, k) ? writable(d, req, resp, app, k) : NULL;
        if (obj) {
                struct ap_kube_opts o = {.field_manager = "app-platform-dashboard"};
                ap_dash_authz_as(req->user, &o);
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                struct ap_error err = AP_ERROR_INIT;
                json_t *out = NULL;
                int r = ap_kube_patch(d->kc, res_of(k), req->params[1], req->params[2], AP_KUBE_PATCH_MERGE,
                                      patch, &o, &out, &st, &err);
                if (r < 0)
                        ap_dash_reply_kube(resp, r, &st, &err,
                                           ap_dash_printf(req->arena, "cannot %s %s '%s/%s'", action,
                                                          kind_word(k), req->params[1], req->params[2]));
                else
                        ap_dash_reply_json(resp, 200, ap_dash_cache_view(d->cache, k, app->name, out));
                json_decref(out);
                ap_kube_status_release(&st);
        }
        json_decref(obj);
        json_decref(patch);
        return 0;
}
