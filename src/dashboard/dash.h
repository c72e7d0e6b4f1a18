/* dash.h - the dashboard's insides shared by its files: the struct every handler receives, the handler
 * signature, the reply helpers (router.c) and every route's handler (one api_<resource>.c file each). */
#pragma once

#include <jansson.h>

#include "authz.h"
#include "cache.h"
#include "dashboard.h"
#include "events.h"
#include "http.h"
#include "kube/status.h"
#include "oidc.h"
#include "session.h"

struct ap_dash_server;
struct ap_dash_refresher;
struct ap_kube_health;

struct ap_dash {
        struct ap_dash_config cfg; /* strings point into strs */
        char *strs[32];
        struct ap_kube_client *kc;
        struct ap_dash_keyring *keys;
        struct ap_dash_oidc *oidc;
        struct ap_dash_hub *hub;
        struct ap_dash_cache *cache;
        struct ap_dash_authz *authz;
        struct ap_dash_server *server;
        struct ap_dash_refresher *refresher;
        struct ap_kube_health *health;
        const char *session_cookie; /* "__Host-ap-session" (secure) or "ap-session" */
        const char *login_cookie;   /* "__Host-ap-login" or "ap-login" */
        char *redirect_url;         /* public_url + /auth/callback */
        bool stopped;
};

typedef int (*ap_dash_handler_fn)(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);

/* ---- router.c ---- */
/* The router: match req against the route table, authenticate and check CSRF as the route demands, call
 * the handler. Always fills resp. */
void ap_dash_route(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
/* Reply helpers; each returns 0. reply_json steals obj. */
int ap_dash_reply_json(struct ap_dash_resp *resp, int status, json_t *obj);
int ap_dash_reply_error(struct ap_dash_resp *resp, int status, const char *fmt, ...) _printf_(3, 4);
/* The apiserver's answer (or a transport failure) as an HTTP error: 403 with its message for a refusal,
 * 404, 409, 422 with causes, 429/503 with Retry-After. what: "cannot create secret 'x'". */
int ap_dash_reply_kube(struct ap_dash_resp *resp, int rc, const struct ap_kube_status *st,
                       const struct ap_error *err, const char *what);
/* The request body as a JSON object, or a 400 reply (returns NULL). */
json_t *ap_dash_body_json(struct ap_dash_req *req, struct ap_dash_resp *resp);
/* The app named by the route's first parameter when the user may see it (role or platform admin):
 * *ret_app borrowed from *ret_apps (unref it). 404 otherwise (no hint whether it exists). */
int ap_dash_req_app(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                    struct ap_dash_apps **ret_apps, const struct ap_dash_app **ret_app);
/* A DNS-1123 label of at most max characters. */
bool ap_dash_dns_label(const char *s, size_t max);
/* Send a list body from the view cache (gzip when the client accepts it). */
int ap_dash_reply_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                       enum ap_dash_kind k, const char *app);

/* ---- auth.c ---- */
int ap_dash_auth_login(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_auth_callback(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_auth_logout(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_session(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
/* Authenticate from the session cookie, refreshing when due (Set-Cookie added to resp). 0 with
 * req->user set, or -EPERM (401 already in resp). */
int ap_dash_auth_request(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_refresher_new(struct ap_dash_refresher **ret);
struct ap_dash_refresher *ap_dash_refresher_free(struct ap_dash_refresher *r);

/* ---- api_*.c ---- */
int ap_dash_api_apps(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_permissions(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_registrations_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_registrations_get(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_registrations_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_registrations_update(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_namespaces_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_namespaces_add(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_namespaces_remove(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_secrets_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_secrets_get(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_secrets_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_secrets_update(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_secrets_delete(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_oidcclients_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_gitrepositories_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_gitrepositories_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_kustomizations_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_kustomizations_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
/* Shared by both Flux kinds (api_flux.c): delete, suspend, resume, reconcile. */
int ap_dash_api_flux_delete(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
int ap_dash_api_flux_action(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
/* Create a Flux object (built by the kind's file) as the user in the app's namespace. */
int ap_dash_flux_create(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                        enum ap_dash_kind k, const struct ap_dash_app *app, json_t *obj);
int ap_dash_api_events(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);

/* ---- assets.c ---- */
/* Serve the web front end: a file of the embedded build (or --assets-dir), else the index page. */
int ap_dash_assets(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp);
