/* auth.c - login (/auth/login -> the provider -> /auth/callback), the session cookie on every request
 * with refresh when the access token is due (one refresh per session at a time: requests that arrive
 * meanwhile wait for it and share its result, since providers like Authelia accept a refresh token once),
 * logout (RP-initiated when the provider offers it), and GET /api/v1/session. */
#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "dash.h"
#include "kube/keymap.h"

#define LOGIN_TTL_S     600
#define REFRESH_EARLY_S 30
#define FLIGHT_KEEP_MS  60000

static int64_t now_s(void)
{
        return ap_wall_ms() / 1000;
}

/* "<name>=<value>; Path=/; HttpOnly; SameSite=Lax[; Secure]; Max-Age=<n>" as an arena string. */
static const char *cookie_header(struct ap_dash *d, struct ap_dash_arena *a, const char *name,
                                 const char *value, long max_age)
{
        return ap_dash_printf(a, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s; Max-Age=%ld", name, value,
                              d->cfg.insecure_cookies ? "" : "; Secure", max_age);
}

static int set_sealed_cookie(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                             const char *name, const json_t *payload, long max_age, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf v = AP_BUF_INIT;
        v.max = 4000;
        int r = ap_dash_seal(d->keys, name, payload, &v, err);
        if (r < 0)
                return r;
        if (strlen(name) + v.len > 4000)
                return ap_error_set(err, -E2BIG, "the session does not fit in a cookie (too many groups?)");
        ap_dash_resp_header(resp, "Set-Cookie", cookie_header(d, req->arena, name, v.data, max_age));
        return 0;
}

static json_t *open_cookie(struct ap_dash *d, struct ap_dash_req *req, const char *name, struct ap_error *err)
{
        const char *h = ap_dash_req_header(req, "Cookie");
        const char *v;
        size_t n;
        json_t *obj = NULL;
        if (!h || !ap_dash_cookie_find(h, strlen(h), name, &v, &n)) {
                ap_error_set(err, -ENOENT, "not logged in");
                return NULL;
        }
        if (ap_dash_open(d->keys, name, v, n, &obj, err) < 0)
                return NULL;
        return obj;
}

static bool safe_return(const char *p)
{
        return p && p[0] == '/' && p[1] != '/' && p[1] != '\\' && ap_dash_printable(p, 2048);
}

int ap_dash_auth_login(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf state = AP_BUF_INIT, nonce = AP_BUF_INIT, url = AP_BUF_INIT;
        _cleanup_(ap_buf_releasep) struct ap_buf verifier = AP_BUF_INIT_SECRET;
        const char *ret = ap_dash_req_query(req, "return");
        if (ap_dash_random_b64url(24, &state) < 0 || ap_dash_random_b64url(24, &nonce) < 0 ||
            ap_dash_random_b64url(48, &verifier) < 0)
                return ap_dash_reply_error(resp, 500, "no random bytes");
        if (ap_dash_oidc_auth_url(d->oidc, state.data, nonce.data, verifier.data, &url, &err) < 0) {
                ap_warn("login: %s", err.msg);
                return ap_dash_reply_error(resp, 503, "cannot start the login: %s", err.msg);
        }
        json_t *p =
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "st", state.data, "nc", nonce.data, "pv", verifier.data,
                      "ret", safe_return(ret) ? ret : "/", "exp", (json_int_t)(now_s() + LOGIN_TTL_S));
        int r = set_sealed_cookie(d, req, resp, d->login_cookie, p, LOGIN_TTL_S, &err);
        json_decref(p);
        if (r < 0)
                return ap_dash_reply_error(resp, 500, "%s", err.msg);
        resp->status = 302;
        resp->is_api = true;
        ap_dash_resp_header(resp, "Location", ap_dash_strdup(req->arena, url.data));
        return 0;
}

static json_t *groups_of(struct ap_dash *d, const json_t *claims)
{
        const json_t *g = json_object_get(claims, d->cfg.oidc_groups_claim);
        json_t *out = json_array();
        if (json_is_string(g))
                json_array_append(out, (json_t *)g);
        size_t i;
        json_t *e;
        json_array_foreach(g, i, e)
        {
                if (json_is_string(e))
                        json_array_append(out, e);
        }
        return out;
}

static const char *username_of(struct ap_dash *d, const json_t *claims)
{
        const char *u = json_string_value(json_object_get(claims, d->cfg.oidc_username_claim));
        return u && *u ? u : json_string_value(json_object_get(claims, "sub"));
}

static int callback_fail(struct ap_dash_resp *resp, int status, const char *what, const char *why)
{
        ap_info("login refused: %s: %s", what, why);
        return ap_dash_reply_error(resp, status, "%s: %s; start again at /auth/login", what, why);
}

/* The session payload from verified tokens. */
static json_t *session_payload(struct ap_dash *d, const char *sid, const struct ap_dash_tokens *t,
                               int64_t exp)
{
        const char *sub = json_string_value(json_object_get(t->claims, "sub"));
        const char *usr = username_of(d, t->claims);
        if (!sub || !usr)
                return NULL;
        json_t *p = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "sid", sid, "sub", sub, "usr", usr,
                              "grp", groups_of(d, t->claims), "iat", (json_int_t)now_s(), "exp",
                              (json_int_t)exp, "aexp", (json_int_t)t->expires_at);
        if (p && t->refresh_token)
                json_object_set_new(p, "rt", json_string(t->refresh_token));
        return p;
}

int ap_dash_auth_callback(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_error err = AP_ERROR_INIT;
        const char *perr = ap_dash_req_query(req, "error");
        if (perr)
                return callback_fail(resp, 401, "the identity provider refused the login", perr);
        json_t *st = open_cookie(d, req, d->login_cookie, &err);
        if (!st)
                return callback_fail(resp, 400, "no login in progress in this browser", err.msg);
        const char *want = json_string_value(json_object_get(st, "st"));
        const char *state = ap_dash_req_query(req, "state"), *code = ap_dash_req_query(req, "code");
        const char *iss = ap_dash_req_query(req, "iss");
        int r = 0;
        if (json_integer_value(json_object_get(st, "exp")) < now_s())
                r = callback_fail(resp, 400, "the login took too long", "it expired");
        else if (!state || !want || !ap_dash_const_eq(state, strlen(state), want, strlen(want)))
                r = callback_fail(resp, 400, "the login does not match this browser", "state mismatch");
        else if (iss && strcmp(iss, ap_dash_oidc_issuer(d->oidc)) != 0)
                r = callback_fail(resp, 400, "the answer came from another issuer", iss);
        else if (!code)
                r = callback_fail(resp, 400, "the identity provider sent no code", "missing code");
        if (r == 0 && resp->status == 0) {
                struct ap_dash_tokens t = {0};
                if (ap_dash_oidc_exchange(d->oidc, code, json_string_value(json_object_get(st, "pv")),
                                          json_string_value(json_object_get(st, "nc")), &t, &err) < 0) {
                        callback_fail(resp, 401, "the login could not be verified", err.msg);
                } else {
                        _cleanup_buf_ struct ap_buf sid = AP_BUF_INIT;
                        ap_dash_random_b64url(16, &sid);
                        json_t *p = session_payload(d, sid.data, &t, now_s() + d->cfg.session_ttl_s);
                        if (!p || set_sealed_cookie(d, req, resp, d->session_cookie, p, d->cfg.session_ttl_s,
                                                    &err) < 0)
                                callback_fail(resp, 401, "the login could not be completed",
                                              p ? err.msg : "the ID token has no usable user name");
                        else {
                                ap_info("login: '%s'", json_string_value(json_object_get(p, "usr")));
                                resp->status = 302;
                                const char *ret = json_string_value(json_object_get(st, "ret"));
                                ap_dash_resp_header(resp, "Location",
                                                    ap_dash_strdup(req->arena, ret ? ret : "/"));
                                ap_dash_resp_header(resp, "Set-Cookie",
                                                    cookie_header(d, req->arena, d->login_cookie, "", 0));
                        }
                        json_decref(p);
                }
                ap_dash_tokens_release(&t);
        }
        json_decref(st);
        return 0;
}

/* ---- refresh, one per session at a time ---- */

struct flight {
        unsigned char rt_hash[SHA256_DIGEST_LENGTH];
        bool done;
        int rc;
        char msg[256];
        json_t *payload;    /* the refreshed session */
        int64_t expires_ms; /* done flights answer late arrivals with the old cookie until then */
        int waiters;
        pthread_cond_t cond;
};

struct ap_dash_refresher {
        pthread_mutex_t lock;     /* guards flights */
        struct ap_keymap flights; /* sid -> struct flight * */
};

static void flight_free(void *p)
{
        struct flight *f = p;
        if (!f)
                return;
        json_decref(f->payload);
        pthread_cond_destroy(&f->cond);
        free(f);
}

int ap_dash_refresher_new(struct ap_dash_refresher **ret)
{
        struct ap_dash_refresher *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        pthread_mutex_init(&r->lock, NULL);
        ap_keymap_init(&r->flights);
        *ret = r;
        return 0;
}

struct ap_dash_refresher *ap_dash_refresher_free(struct ap_dash_refresher *r)
{
        if (!r)
                return NULL;
        ap_keymap_release(&r->flights, flight_free);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

/* Drop finished flights nobody waits for any more. Caller holds lock. */
static void sweep(struct ap_dash_refresher *rf, int64_t now)
{
        size_t it = 0;
        const char *k;
        void *v;
        while (ap_keymap_next(&rf->flights, &it, &k, &v)) {
                struct flight *f = v;
                if (f->done && f->waiters == 0 && f->expires_ms < now) {
                        char key[128];
                        snprintf(key, sizeof(key), "%s", k);
                        ap_keymap_remove(&rf->flights, key, NULL);
                        flight_free(f);
                        it = 0; /* removal shifts slots: start over */
                }
        }
}

static int do_refresh(struct ap_dash *d, const json_t *old, json_t **ret, char *msg, size_t msg_size)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_tokens t = {0};
        int r = ap_dash_oidc_refresh(d->oidc, json_string_value(json_object_get(old, "rt")), &t, &err);
        const char *old_sub = json_string_value(json_object_get(old, "sub"));
        const char *new_sub = r == 0 ? json_string_value(json_object_get(t.claims, "sub")) : NULL;
        if (r == 0 && new_sub && strcmp(new_sub, old_sub) != 0)
                r = ap_error_set(&err, AP_E_UNAUTHORIZED, "the refreshed tokens are for another subject");
        if (r == 0 && !new_sub)
                json_object_set_new(t.claims, "sub", json_string(old_sub));
        if (r == 0) {
                json_t *p = session_payload(d, json_string_value(json_object_get(old, "sid")), &t,
                                            json_integer_value(json_object_get(old, "exp")));
                if (p && !t.refresh_token) /* not rotated: keep using the one we have */
                        json_object_set(p, "rt", json_object_get(old, "rt"));
                *ret = p;
                r = p ? 0 : ap_error_set(&err, AP_E_UNAUTHORIZED, "the refreshed tokens name no user");
        }
        if (r < 0)
                snprintf(msg, msg_size, "%s", err.msg);
        ap_dash_tokens_release(&t);
        return r;
}

/* The refreshed session for old (a new reference), sharing one refresh among concurrent requests. */
static int refresh_shared(struct ap_dash *d, const json_t *old, json_t **ret, struct ap_error *err)
{
        struct ap_dash_refresher *rf = d->refresher;
        const char *sid = json_string_value(json_object_get(old, "sid"));
        const char *rt = json_string_value(json_object_get(old, "rt"));
        unsigned char h[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)rt, strlen(rt), h);
        pthread_mutex_lock(&rf->lock);
        struct flight *f = ap_keymap_get(&rf->flights, sid);
        if (f && (memcmp(f->rt_hash, h, sizeof(h)) != 0 || (f->done && f->expires_ms < ap_mono_ms()))) {
                if (f->waiters == 0 && f->done) {
                        ap_keymap_remove(&rf->flights, sid, NULL);
                        flight_free(f);
                }
                f = NULL;
        }
        if (!f) {
                sweep(rf, ap_mono_ms());
                f = calloc(1, sizeof(*f));
                if (!f || ap_keymap_put(&rf->flights, sid, f, NULL) < 0) {
                        free(f);
                        pthread_mutex_unlock(&rf->lock);
                        return ap_error_set(err, -ENOMEM, "out of memory");
                }
                memcpy(f->rt_hash, h, sizeof(h));
                ap_cond_init_monotonic(&f->cond);
                f->waiters = 1;
                pthread_mutex_unlock(&rf->lock);
                json_t *p = NULL;
                char msg[256] = "";
                int r = do_refresh(d, old, &p, msg, sizeof(msg));
                pthread_mutex_lock(&rf->lock);
                f->rc = r;
                f->payload = p;
                snprintf(f->msg, sizeof(f->msg), "%s", msg);
                f->done = true;
                f->expires_ms = ap_mono_ms() + FLIGHT_KEEP_MS;
                pthread_cond_broadcast(&f->cond);
        } else {
                f->waiters++;
                while (!f->done)
                        pthread_cond_wait(&f->cond, &rf->lock);
        }
        f->waiters--;
        int r = f->rc;
        if (r == 0)
                *ret = json_deep_copy(f->payload);
        else
                ap_error_set(err, r, "%s", f->msg);
        pthread_mutex_unlock(&rf->lock);
        return r;
}

static int unauthorized(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp,
                        const char *why)
{
        ap_dash_reply_json(
            resp, 401,
            json_pack("{s:{s:i, s:s, s:s, s:s}}", "error", "status", 401, "code", "Unauthorized", "message",
                      ap_dash_printf(req->arena, "%s: log in again", why), "login", "/auth/login"));
        /* drop a cookie that will never work again */
        if (ap_dash_req_header(req, "Cookie"))
                ap_dash_resp_header(resp, "Set-Cookie",
                                    cookie_header(d, req->arena, d->session_cookie, "", 0));
        return -EPERM;
}

int ap_dash_auth_request(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_error err = AP_ERROR_INIT;
        json_t *s = open_cookie(d, req, d->session_cookie, &err);
        if (!s)
                return unauthorized(d, req, resp,
                                    err.code == -ENOENT ? "not logged in" : "the session is not valid");
        int64_t now = now_s();
        int r = 0;
        if (json_integer_value(json_object_get(s, "exp")) <= now)
                r = unauthorized(d, req, resp, "the session has expired");
        else if (json_integer_value(json_object_get(s, "aexp")) <= now + REFRESH_EARLY_S) {
                json_t *fresh = NULL;
                if (!json_is_string(json_object_get(s, "rt")))
                        r = unauthorized(d, req, resp, "the session has expired");
                else if (refresh_shared(d, s, &fresh, &err) < 0) {
                        ap_info("session refresh failed: %s", err.msg);
                        r = unauthorized(d, req, resp, "the identity provider ended the session");
                } else {
                        long left = (long)(json_integer_value(json_object_get(fresh, "exp")) - now);
                        json_decref(s);
                        s = fresh;
                        if (set_sealed_cookie(d, req, resp, d->session_cookie, s, left, &err) < 0)
                                r = unauthorized(d, req, resp, err.msg);
                }
        }
        struct ap_dash_user *u = r == 0 ? ap_dash_alloc(req->arena, sizeof(*u)) : NULL;
        if (r == 0 && (!u || ap_dash_authz_user(d->authz, req->arena, s, u, &err) < 0))
                r = unauthorized(d, req, resp, "the session names no usable user");
        if (r == 0)
                req->user = u;
        json_decref(s);
        return r;
}

int ap_dash_auth_logout(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        const char *post = ap_dash_printf(req->arena, "%s/", d->cfg.public_url);
        bool rp = ap_dash_oidc_logout_url(d->oidc, post, NULL, &url, &err) == 0;
        ap_dash_reply_json(resp, 200,
                           json_pack("{s:s, s:b}", "redirect", rp ? url.data : "/", "providerLogout", rp));
        ap_dash_resp_header(resp, "Set-Cookie", cookie_header(d, req->arena, d->session_cookie, "", 0));
        ap_info("logout: '%s'", req->user->name);
        return 0;
}

int ap_dash_api_session(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        const struct ap_dash_user *u = req->user;
        _cleanup_buf_ struct ap_buf csrf = AP_BUF_INIT;
        if (ap_dash_csrf_token(d->keys, u->sid, &csrf) < 0)
                return ap_dash_reply_error(resp, 500, "cannot make a CSRF token");
        json_t *groups = json_array(), *imp = json_array();
        for (size_t i = 0; i < u->n_groups; i++)
                json_array_append_new(groups, json_string(u->groups[i]));
        for (size_t i = 0; i < u->n_imp_groups; i++)
                json_array_append_new(imp, json_string(u->imp_groups[i]));
        return ap_dash_reply_json(resp, 200,
                                  json_pack("{s:{s:s, s:s, s:o}, s:b, s:s, s:{s:s, s:o}}", "user", "name",
                                            u->name, "sub", u->sub, "groups", groups, "platformAdmin",
                                            u->platform_admin, "csrfToken", csrf.data, "impersonation",
                                            "user", u->imp_user, "groups", imp));
}
