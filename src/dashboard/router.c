/* router.c - the route table, path matching, the authentication and CSRF gates, and the reply helpers
 * every handler uses (JSON bodies, errors that say what went wrong and what to do, apiserver refusals). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "dash.h"

enum { PUBLIC = 0, AUTH = 1, APP = 2 | AUTH };

struct route {
        const char *method;
        const char *pattern; /* "/api/v1/apps/{}/secrets": {} matches one non-empty segment */
        ap_dash_handler_fn fn;
        int flags;
        int arg;
};

#define APPS "/api/v1/apps/{}"
static const struct route routes[] = {
    {"GET", "/auth/login", ap_dash_auth_login, PUBLIC, 0},
    {"GET", "/auth/callback", ap_dash_auth_callback, PUBLIC, 0},
    {"POST", "/auth/logout", ap_dash_auth_logout, AUTH, 0},
    {"GET", "/api/v1/session", ap_dash_api_session, AUTH, 0},
    {"GET", "/api/v1/events", ap_dash_api_events, AUTH, 0},
    {"GET", "/api/v1/apps", ap_dash_api_apps, AUTH, 0},
    {"GET", APPS "/permissions", ap_dash_api_permissions, APP, 0},
    {"GET", "/api/v1/registrations", ap_dash_api_registrations_list, AUTH, 0},
    {"POST", "/api/v1/registrations", ap_dash_api_registrations_create, AUTH, 0},
    {"GET", "/api/v1/registrations/{}", ap_dash_api_registrations_get, AUTH, 0},
    {"PUT", "/api/v1/registrations/{}", ap_dash_api_registrations_update, AUTH, 0},
    {"GET", APPS "/namespaces", ap_dash_api_namespaces_list, APP, 0},
    {"POST", APPS "/namespaces", ap_dash_api_namespaces_add, APP, 0},
    {"DELETE", APPS "/namespaces/{}", ap_dash_api_namespaces_remove, APP, 0},
    {"GET", APPS "/secrets", ap_dash_api_secrets_list, APP, 0},
    {"POST", APPS "/secrets", ap_dash_api_secrets_create, APP, 0},
    {"GET", APPS "/secrets/{}", ap_dash_api_secrets_get, APP, 0},
    {"PUT", APPS "/secrets/{}", ap_dash_api_secrets_update, APP, 0},
    {"DELETE", APPS "/secrets/{}", ap_dash_api_secrets_delete, APP, 0},
    {"GET", APPS "/oidcclients", ap_dash_api_oidcclients_list, APP, 0},
    {"GET", APPS "/gitrepositories", ap_dash_api_gitrepositories_list, APP, 0},
    {"POST", APPS "/gitrepositories", ap_dash_api_gitrepositories_create, APP, 0},
    {"DELETE", APPS "/gitrepositories/{}/{}", ap_dash_api_flux_delete, APP, AP_DASH_GITREPOS},
    {"POST", APPS "/gitrepositories/{}/{}/{}", ap_dash_api_flux_action, APP, AP_DASH_GITREPOS},
    {"GET", APPS "/kustomizations", ap_dash_api_kustomizations_list, APP, 0},
    {"POST", APPS "/kustomizations", ap_dash_api_kustomizations_create, APP, 0},
    {"DELETE", APPS "/kustomizations/{}/{}", ap_dash_api_flux_delete, APP, AP_DASH_KUSTS},
    {"POST", APPS "/kustomizations/{}/{}/{}", ap_dash_api_flux_action, APP, AP_DASH_KUSTS},
};

/* Match path against pattern, collecting {} segments (arena copies) into req->params. */
static bool match(struct ap_dash_req *req, const char *pattern, const char *path)
{
        req->n_params = 0;
        while (*pattern && *path) {
                if (pattern[0] == '{' && pattern[1] == '}') {
                        const char *end = strchr(path, '/');
                        size_t n = end ? (size_t)(end - path) : strlen(path);
                        if (n == 0 || req->n_params >= AP_DASH_MAX_PARAMS)
                                return false;
                        req->params[req->n_params++] = ap_dash_strndup(req->arena, path, n);
                        path += n;
                        pattern += 2;
                } else if (*pattern++ != *path++)
                        return false;
        }
        return !*pattern && !*path;
}

int ap_dash_reply_json(struct ap_dash_resp *resp, int status, json_t *obj)
{
        resp->status = status;
        resp->content_type = "application/json";
        resp->is_api = true;
        ap_buf_reset(&resp->body);
        char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        json_decref(obj);
        if (!s || ap_buf_addstr(&resp->body, s) < 0) {
                resp->status = 500;
                ap_buf_reset(&resp->body);
                ap_buf_addstr(&resp->body, "{\"error\":{\"status\":500,\"message\":\"out of memory\"}}");
        }
        free(s);
        return 0;
}

static const char *status_code_name(int status)
{
        switch (status) {
        case 400:
                return "BadRequest";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "NotFound";
        case 405:
                return "MethodNotAllowed";
        case 409:
                return "Conflict";
        case 413:
                return "TooLarge";
        case 415:
                return "UnsupportedMediaType";
        case 422:
                return "Invalid";
        case 429:
                return "TooManyRequests";
        case 503:
                return "Unavailable";
        default:
                return status >= 500 ? "InternalError" : "Error";
        }
}

int ap_dash_reply_error(struct ap_dash_resp *resp, int status, const char *fmt, ...)
{
        char msg[AP_ERROR_MSG_MAX + 256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return ap_dash_reply_json(resp, status,
                                  json_pack("{s:{s:i, s:s, s:s}}", "error", "status", status, "code",
                                            status_code_name(status), "message", msg));
}

static int http_status_of(int rc, const struct ap_kube_status *st)
{
        if (st && st->code >= 400)
                return st->code;
        switch (rc) {
        case AP_E_NOT_FOUND:
                return 404;
        case AP_E_FORBIDDEN:
                return 403;
        case AP_E_UNAUTHORIZED:
                return 403; /* our own credentials: not the user's fault, but not theirs to fix */
        case AP_E_CONFLICT:
        case AP_E_EXISTS:
                return 409;
        case AP_E_INVALID:
                return 422;
        case AP_E_TIMEOUT:
                return 504;
        case -EAGAIN:
        case AP_E_RATE_LIMITED:
                return 503;
        default:
                return 502;
        }
}

int ap_dash_reply_kube(struct ap_dash_resp *resp, int rc, const struct ap_kube_status *st,
                       const struct ap_error *err, const char *what)
{
        int status = http_status_of(rc, st);
        const char *msg = st && st->message ? st->message : ap_error_message(err);
        const char *next = "";
        if (status == 403)
                next = ": your role in this app does not allow it; ask an app admin or a platform admin";
        else if (status == 409)
                next = ": it changed or exists already; reload and try again";
        else if (status >= 500)
                next = ": the cluster did not answer; try again shortly";
        if (status == 429 || status == 503)
                ap_dash_resp_header(resp, "Retry-After",
                                    st && st->retry_after_seconds > 0 && st->retry_after_seconds < 10 ? "5"
                                                                                                      : "1");
        ap_dash_reply_error(resp, status, "%s: %s%s", what, msg, next);
        if (st && st->n_causes) {
                json_t *doc = json_loadb(resp->body.data, resp->body.len, 0, NULL);
                json_t *causes = json_array();
                for (size_t i = 0; i < st->n_causes; i++)
                        json_array_append_new(causes, json_pack("{s:s?, s:s?}", "field", st->causes[i].field,
                                                                "message", st->causes[i].message));
                json_object_set_new(json_object_get(doc, "error"), "causes", causes);
                ap_dash_reply_json(resp, status, doc);
        }
        return 0;
}

json_t *ap_dash_body_json(struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        json_error_t je;
        json_t *j = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
        if (!json_is_object(j)) {
                json_decref(j);
                ap_dash_reply_error(resp, 400, "the request body must be a JSON object%s%s",
                                    req->body_len ? ": " : "", req->body_len ? je.text : "");
                return NULL;
        }
        return j;
}

bool ap_dash_dns_label(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

int ap_dash_req_app(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                    struct ap_dash_apps **ret_apps, const struct ap_dash_app **ret_app)
{
        struct ap_dash_apps *apps = ap_dash_cache_apps(d->cache);
        const struct ap_dash_app *app = ap_dash_apps_find(apps, req->params[0]);
        if (!app || (!req->user->platform_admin && ap_dash_authz_role(req->user, app) == AP_DASH_ROLE_NONE)) {
                ap_dash_apps_unref(apps);
                ap_dash_reply_error(
                    resp, 404,
                    "no app '%s' that you have a role in: check the app name, or ask a platform "
                    "admin to add your group to its access list",
                    req->params[0]);
                return -ENOENT;
        }
        *ret_apps = apps;
        *ret_app = app;
        return 0;
}

int ap_dash_reply_list(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                       enum ap_dash_kind k, const char *app)
{
        const char *ae = ap_dash_req_header(req, "Accept-Encoding");
        bool gz = ae && strstr(ae, "gzip");
        struct ap_dash_blob *b = ap_dash_cache_list(d->cache, k, app, gz);
        if (!b)
                return ap_dash_reply_error(resp, 500, "out of memory");
        resp->status = 200;
        resp->content_type = "application/json";
        resp->is_api = true;
        resp->blob = b;
        resp->blob_gzip = gz;
        return 0;
}

/* Same-origin checks for a mutation: Origin (when sent) is the public URL's, Sec-Fetch-Site (when sent)
 * is same-origin, the CSRF token matches the session, and a body is JSON. */
static bool csrf_ok(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const char *origin = ap_dash_req_header(req, "Origin");
        const char *site = ap_dash_req_header(req, "Sec-Fetch-Site");
        const char *tok = ap_dash_req_header(req, "X-CSRF-Token");
        const char *ct = ap_dash_req_header(req, "Content-Type");
        size_t pl = strlen(d->cfg.public_url);
        if (origin && (strncmp(origin, d->cfg.public_url, pl) != 0 || origin[pl] != '\0')) {
                ap_dash_reply_error(resp, 403, "cross-origin request from '%s' refused", origin);
                return false;
        }
        if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
                ap_dash_reply_error(resp, 403, "cross-site request refused (Sec-Fetch-Site: %s)", site);
                return false;
        }
        if (!tok || !ap_dash_csrf_check(d->keys, req->user->sid, tok, strlen(tok))) {
                ap_dash_reply_error(
                    resp, 403,
                    "missing or wrong CSRF token: send the X-CSRF-Token header with the csrfToken "
                    "of GET /api/v1/session");
                return false;
        }
        if (req->body_len && (!ct || strncasecmp(ct, "application/json", 16) != 0)) {
                ap_dash_reply_error(resp, 415, "request bodies must be application/json");
                return false;
        }
        return true;
}

static bool is_safe(const char *m)
{
        return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static void health(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        bool ready = strcmp(req->path, "/healthz") == 0 || ap_dash_cache_ready(d->cache);
        resp->status = ready ? 200 : 503;
        resp->content_type = "text/plain";
        ap_buf_addstr(&resp->body, ready ? "ok\n" : "caches not synced\n");
}

void ap_dash_route(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const char *m = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
        bool path_known = false;
        for (size_t i = 0; i < AP_ARRAY_SIZE(routes); i++) {
                const struct route *rt = &routes[i];
                if (!match(req, rt->pattern, req->path))
                        continue;
                path_known = true;
                if (strcmp(rt->method, m) != 0)
                        continue;
                req->route_arg = rt->arg;
                if (rt->flags & AUTH) {
                        if (ap_dash_auth_request(d, req, resp) < 0)
                                return;
                        if (!is_safe(req->method) && !csrf_ok(d, req, resp))
                                return;
                }
                if ((rt->flags & APP) == APP && ap_dash_req_app(d, req, resp, &req->apps, &req->app) < 0)
                        return;
                rt->fn(d, req, resp);
                ap_dash_apps_unref(req->apps);
                req->apps = NULL;
                req->app = NULL;
                return;
        }
        if (path_known) {
                ap_dash_reply_error(resp, 405, "method %s is not allowed on '%s'", req->method, req->path);
                return;
        }
        if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0) {
                health(d, req, resp);
                return;
        }
        if (strncmp(req->path, "/api/", 5) == 0 || strncmp(req->path, "/auth/", 6) == 0) {
                ap_dash_reply_error(resp, 404, "no API endpoint '%s' (see the README's Dashboard API)",
                                    req->path);
                return;
        }
        if (!is_safe(req->method)) {
                ap_dash_reply_error(resp, 405, "method %s is not allowed on '%s'", req->method, req->path);
                return;
        }
        ap_dash_assets(d, req, resp);
}
