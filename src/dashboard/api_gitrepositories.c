/* api_gitrepositories.c - /api/v1/apps/{app}/gitrepositories: list (cache) and create (as the user) Flux
 * GitRepositories in the app's namespaces. Delete, suspend, resume and reconcile live in api_flux.c. */
#include <string.h>

#include "dash.h"
#include "flux_form.h"

int ap_dash_api_gitrepositories_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        json_t *body = ap_dash_body_json(req, resp);
        json_t *obj = NULL;
        if (body && ap_dash_flux_meta(body, app, resp)) {
                const char *url = json_string_value(json_object_get(body, "url"));
                const char *interval = json_string_value(json_object_get(body, "interval"));
                /* secretRef as Flux writes it ({"name": ...}, the shape the list returns) or a bare name */
                const json_t *sref = json_object_get(body, "secretRef");
                const char *secret = json_is_object(sref) ? json_string_value(json_object_get(sref, "name"))
                                                          : json_string_value(sref);
                json_t *ref = json_object_get(body, "ref");
                if (!url ||
                    !(strncmp(url, "ssh://", 6) == 0 || strncmp(url, "https://", 8) == 0 ||
                      strncmp(url, "http://", 7) == 0) ||
                    !ap_dash_printable(url, 2048))
                        ap_dash_reply_error(resp, 422, "url must be an ssh://, https:// or http:// Git URL");
                else if (!ap_dash_flux_interval(interval, resp) || !ap_dash_flux_ref(ref, resp))
                        ;
                else if ((sref && !json_is_null(sref) && !secret) ||
                         (secret && !ap_dash_dns_label(secret, 253)))
                        ap_dash_reply_error(resp, 422, "secretRef must name a Secret in the same namespace");
                else {
                        obj = ap_dash_flux_object(body, "source.toolkit.fluxcd.io/v1", "GitRepository");
                        json_t *spec = json_object_get(obj, "spec");
                        json_object_set_new(spec, "url", json_string(url));
                        json_object_set_new(spec, "interval", json_string(interval ? interval : "1m"));
                        json_object_set(spec, "ref", ref ? ref : json_pack("{s:s}", "branch", "main"));
                        if (!ref)
                                json_decref(json_object_get(spec, "ref"));
                        if (secret)
                                json_object_set_new(spec, "secretRef", json_pack("{s:s}", "name", secret));
                        ap_dash_flux_create(d, req, resp, AP_DASH_GITREPOS, app, obj);
                }
        }
        json_decref(obj);
        json_decref(body);
        return 0;
}
