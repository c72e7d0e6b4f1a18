/* api_oidcclients.c - GET /api/v1/apps/{app}/oidcclients: the app's OIDC client registrations (labelled
 * Secrets in '<app>-platform'): client id, hostname, callback path and URL, issuer, status. The cache keeps
 * only the hostname and callback path of those Secrets; the client secret never enters it. */
#include "dash.h"

int ap_dash_api_oidcclients_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_app *app = req->app;
        ap_dash_reply_list(d, req, resp, AP_DASH_OIDC, app->name);
        return 0;
}
