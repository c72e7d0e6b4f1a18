/* api_kustomizations.c - /api/v1/apps/{app}/kustomizations: list (cache) and create (as the user) Flux
 * Kustomizations in the app's namespaces, with the create form's fields: sourceRef, path, interval, prune,
 * targetNamespace, postBuild.substitute, dependsOn, serviceAccountName (in '<app>-platform' it defaults
 * to '<app>-flux', the account the operator confines to the app's namespaces). */
#include <string.h>

#include "dash.h"
#include "flux_form.h"

/* sourceRef {kind: GitRepository, name, namespace?} within the app. */
static bool source_ok(const json_t *src, const struct ap_dash_app *app, struct ap_dash_resp *resp)
{
        const char *kind = json_string_value(json_object_get(src, "kind"));
        const char *name = json_string_value(json_object_get(src, "name"));
        const char *ns = json_string_value(json_object_get(src, "namespace"));
        if (!json_is_object(src) || !name || !ap_dash_dns_label(name, 253) ||
            (kind && strcmp(kind, "GitRepository") != 0)) {
                ap_dash_reply_error(resp, 422, "sourceRef must be {\"kind\":\"GitRepository\",\"name\":...}");
                return false;
        }
        if (ns && !ap_dash_app_has_namespace(app, ns)) {
                ap_dash_reply_error(resp, 422, "sourceRef.namespace '%s' is not a namespace of '%s'", ns,
                                    app->name);
                return false;
        }
        return true;
}

static bool deps_ok(const json_t *deps, const struct ap_dash_app *app, struct ap_dash_resp *resp)
{
        if (deps && !json_is_array(deps)) {
                ap_dash_reply_error(resp, 422, "dependsOn must be a list of {name, namespace?}");
                return false;
        }
        size_t i;
        json_t *e;
        json_array_foreach(deps, i, e)
        {
                const char *name = json_string_value(json_object_get(e, "name"));
                const char *ns = json_string_value(json_object_get(e, "namespace"));
                if (!name || !ap_dash_dns_label(name, 253) || (ns && !ap_dash_app_has_namespace(app, ns))) {
                        ap_dash_reply_error(resp, 422, "dependsOn[%zu] must name a Kustomization of '%s'", i,
                                            app->name);
                        return false;
                }
        }
        return true;
}

static bool substitute_ok(const json_t *sub, struct ap_dash_resp *resp)
{
        if (sub && !json_is_object(sub)) {
                ap_dash_reply_error(resp, 422, "postBuild.substitute must be an object of strings");
                return false;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)sub, k, v)
        {
                bool ok = json_is_string(v) && k[0] && !(k[0] >= '0' && k[0] <= '9');
                for (const char *p = k; ok && *p; p++)
                        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9') || *p == '_';
                if (!ok) {
                        ap_dash_reply_error(
                            resp, 422,
                            "postBuild.substitute: '%s' must be a variable name ([A-Za-z_][A-Za-z0-9_]*) "
                            "with a string value",
                            k);
                        return false;
                }
        }
        return true;
}

static bool path_ok(const char *p, struct ap_dash_resp *resp)
{
        if (p && (!ap_dash_printable(p, 1024) || p[0] == '/' || strstr(p, ".."))) {
                ap_dash_reply_error(resp, 422,
                                    "path must be relative to the repository root (like ./k8s/overlays/dev)");
                return false;
        }
        return true;
}

static json_t *build(json_t *body, const struct ap_dash_app *app)
{
        json_t *obj = ap_dash_flux_object(body, "kustomize.toolkit.fluxcd.io/v1", "Kustomization");
        json_t *spec = json_object_get(obj, "spec");
        const char *ns = json_string_value(json_object_get(body, "namespace"));
        json_t *src = json_deep_copy(json_object_get(body, "sourceRef"));
        json_object_set_new(src, "kind", json_string("GitRepository"));
        json_object_set_new(spec, "sourceRef", src);
        const char *path = json_string_value(json_object_get(body, "path"));
        const char *interval = json_string_value(json_object_get(body, "interval"));
        json_object_set_new(spec, "path", json_string(path ? path : "./"));
        json_object_set_new(spec, "interval", json_string(interval ? interval : "5m"));
        json_t *prune = json_object_get(body, "prune");
        json_object_set_new(spec, "prune", json_boolean(prune ? json_is_true(prune) : true));
        const char *tns = json_string_value(json_object_get(body, "targetNamespace"));
        if (tns)
                json_object_set_new(spec, "targetNamespace", json_string(tns));
        json_t *sub = json_object_get(json_object_get(body, "postBuild"), "substitute");
        if (sub && json_object_size(sub))
                json_object_set_new(spec, "postBuild", json_pack("{s:O}", "substitute", sub));
        json_t *deps = json_object_get(body, "dependsOn");
        if (json_array_size(deps))
                json_object_set(spec, "dependsOn", deps);
        const char *sa = json_string_value(json_object_get(body, "serviceAccountName"));
        if (sa)
                json_object_set_new(spec, "serviceAccountName", json_string(sa));
        else if (ns && strcmp(ns, app->platform_ns) == 0)
                json_object_set_new(spec, "serviceAccountName", json_sprintf("%s-flux", app->name));
        return obj;
}

int ap_dash_api_kustomizations_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *body = ap_dash_body_json(req, resp);
        json_t *obj = NULL;
        const char *tns = json_string_value(json_object_get(body, "targetNamespace"));
        const char *sa = json_string_value(json_object_get(body, "serviceAccountName"));
        if (body && ap_dash_flux_meta(body, app, resp) &&
            source_ok(json_object_get(body, "sourceRef"), app, resp) &&
            path_ok(json_string_value(json_object_get(body, "path")), resp) &&
            ap_dash_flux_interval(json_string_value(json_object_get(body, "interval")), resp) &&
            substitute_ok(json_object_get(json_object_get(body, "postBuild"), "substitute"), resp) &&
            deps_ok(json_object_get(body, "dependsOn"), app, resp)) {
                if (tns && !ap_dash_app_has_namespace(app, tns))
                        ap_dash_reply_error(resp, 422, "targetNamespace '%s' is not a namespace of '%s'", tns,
                                            app->name);
                else if (sa && !ap_dash_dns_label(sa, 253))
                        ap_dash_reply_error(resp, 422, "serviceAccountName must be a ServiceAccount name");
                else {
                        obj = build(body, app);
                        ap_dash_flux_create(d, req, resp, AP_DASH_KUSTS, app, obj);
                }
        }
        json_decref(obj);
        json_decref(body);
        return 0;
}
