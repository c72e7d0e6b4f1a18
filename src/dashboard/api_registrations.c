/* api_registrations.c - /api/v1/registrations: AppPlatformRegistrations for the platform-admin group only
 * (everyone else gets 403 and no names). Reads come from the cache; create and edit (namespaces, access)
 * are sent as the user, so Kubernetes RBAC has the last word. */
#include <string.h>

#include "dash.h"
#include "kube/api.h"
#include "view.h"

static bool admin_only(struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (req->user->platform_admin)
                return true;
        ap_dash_reply_error(
            resp, 403,
            "app registrations are for platform admins only: ask one to register or change an app");
        return false;
}

int ap_dash_api_registrations_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (!admin_only(req, resp))
                return 0;
        return ap_dash_reply_list(d, req, resp, AP_DASH_REGISTRATIONS, NULL);
}

int ap_dash_api_registrations_get(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (!admin_only(req, resp))
                return 0;
        json_t *obj = ap_dash_cache_get(d->cache, AP_DASH_REGISTRATIONS, NULL, req->params[0]);
        if (!obj)
                return ap_dash_reply_error(resp, 404, "no app registration '%s'", req->params[0]);
        ap_dash_reply_json(resp, 200, ap_dash_view_registration(obj));
        json_decref(obj);
        return 0;
}

/* Check spec fields the API accepts ({namespaces, access, repository, deletionPolicy}), copying them into
 * spec. The CRD's schema validates the rest (prefixes, patterns) and its refusal is shown as it is. */
static bool take_spec(json_t *body, json_t *spec, struct ap_dash_resp *resp, bool create)
{
        static const char *const fields[] = {"namespaces", "access", "repository", "deletionPolicy"};
        const char *k;
        json_t *v;
        json_object_foreach(body, k, v)
        {
                bool meta = strcmp(k, "name") == 0 || strcmp(k, "resourceVersion") == 0;
                bool known = meta;
                for (size_t i = 0; i < AP_ARRAY_SIZE(fields); i++)
                        known |= strcmp(k, fields[i]) == 0 && (create || i < 2);
                if (!known) {
                        ap_dash_reply_error(resp, 400, "unknown or read-only field '%s'%s", k,
                                            create ? "" : " (edits change namespaces and access only)");
                        return false;
                }
                if (!meta)
                        json_object_set(spec, k, v);
        }
        json_t *nss = json_object_get(spec, "namespaces"), *acc = json_object_get(spec, "access");
        if ((nss && !json_is_array(nss)) || (acc && !json_is_array(acc))) {
                ap_dash_reply_error(resp, 400, "namespaces and access must be arrays");
                return false;
        }
        return true;
}

int ap_dash_api_registrations_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (!admin_only(req, resp))
                return 0;
        json_t *body = ap_dash_body_json(req, resp);
        if (!body)
                return 0;
        const char *name = json_string_value(json_object_get(body, "name"));
        json_t *spec = json_object();
        if (!ap_dash_dns_label(name, 40)) {
                ap_dash_reply_error(resp, 422,
                                    "the app name must be a DNS label of at most 40 characters "
                                    "(lowercase letters, digits, '-')");
        } else if (take_spec(body, spec, resp, true)) {
                json_t *obj =
                    json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", "labrats.work/v1alpha1", "kind",
                              "AppPlatformRegistration", "metadata", "name", name, "spec", spec);
                struct ap_kube_opts o = {.field_manager = "app-platform-dashboard"};
                ap_dash_authz_as(req->user, &o);
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                struct ap_error err = AP_ERROR_INIT;
                json_t *out = NULL;
                int r = ap_kube_create(d->kc, &ap_dash_res_registrations, NULL, obj, &o, &out, &st, &err);
                if (r < 0)
                        ap_dash_reply_kube(resp, r, &st, &err,
                                           ap_dash_printf(req->arena, "cannot register app '%s'", name));
                else
                        ap_dash_reply_json(resp, 201, ap_dash_view_registration(out));
                json_decref(out);
                json_decref(obj);
                ap_kube_status_release(&st);
        }
        json_decref(spec);
        json_decref(body);
        return 0;
}

int ap_dash_api_registrations_update(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (!admin_only(req, resp))
                return 0;
        json_t *body = ap_dash_body_json(req, resp);
        if (!body)
                return 0;
        json_t *spec = json_object();
        if (take_spec(body, spec, resp, false)) {
                json_t *patch = json_pack("{s:O}", "spec", spec);
                const char *rv = json_string_value(json_object_get(body, "resourceVersion"));
                if (rv)
                        json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
                struct ap_kube_opts o = {0};
                ap_dash_authz_as(req->user, &o);
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                struct ap_error err = AP_ERROR_INIT;
                json_t *out = NULL;
                int r = ap_kube_patch(d->kc, &ap_dash_res_registrations, NULL, req->params[0],
                                      AP_KUBE_PATCH_MERGE, patch, &o, &out, &st, &err);
                if (r < 0)
                        ap_dash_reply_kube(
                            resp, r, &st, &err,
                            ap_dash_printf(req->arena, "cannot change app '%s'", req->params[0]));
                else
                        ap_dash_reply_json(resp, 200, ap_dash_view_registration(out));
                json_decref(out);
                json_decref(patch);
                ap_kube_status_release(&st);
        }
        json_decref(spec);
        json_decref(body);
        return 0;
}
