/* oidc.c - OpenID Connect relying party (see oidc.h). */
#include "oidc.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/str.h"
#include "http.h"
#include "idp_http.h"
#include "jose.h"

#define JWKS_MAX_AGE_MS    (10 * 60 * 1000)
#define JWKS_COOLDOWN_MS   (30 * 1000)
#define DISCOVERY_RETRY_MS (10 * 1000)
#define DEFAULT_SCOPES     "openid profile email groups offline_access"

struct ap_dash_oidc {
        char *issuer, *client_id, *client_secret, *redirect_url, *scopes, *ca_file;
        char **algs;
        int64_t leeway;

        pthread_mutex_t lock; /* guards everything below */
        bool discovered;
        int64_t discovery_tried_ms;
        char *auth_ep, *token_ep, *userinfo_ep, *end_session_ep, *jwks_uri;
        struct ap_dash_jwks *jwks; /* replaced whole; readers hold lock while verifying */
        int64_t jwks_at_ms;
        pthread_mutex_t fetch_lock; /* one JWKS fetch at a time */
};

int ap_dash_oidc_new(const struct ap_dash_oidc_config *cfg, struct ap_dash_oidc **ret, struct ap_error *err)
{
        if (!cfg->issuer || !cfg->client_id || !cfg->redirect_url)
                return ap_error_set(err, -EINVAL, "OIDC needs an issuer, a client id and a redirect URL");
        struct ap_dash_oidc *o = calloc(1, sizeof(*o));
        if (!o)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&o->lock, NULL);
        pthread_mutex_init(&o->fetch_lock, NULL);
        size_t il = strlen(cfg->issuer);
        o->issuer = strdup(cfg->issuer);
        if (o->issuer && il > 1 && o->issuer[il - 1] == '/' &&
            strchr(o->issuer + 8, '/') == o->issuer + il - 1)
                o->issuer[il - 1] = '\0'; /* "https://idp/" and "https://idp" name the same issuer */
        o->client_id = strdup(cfg->client_id);
        o->client_secret = ap_strdup_or(cfg->client_secret, NULL);
        o->redirect_url = strdup(cfg->redirect_url);
        o->scopes = ap_strdup_or(cfg->scopes, DEFAULT_SCOPES);
        o->ca_file = ap_strdup_or(cfg->ca_file, NULL);
        o->leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 60;
        size_t n = 0;
        while (cfg->algs && cfg->algs[n])
                n++;
        o->algs = calloc(n + 2, sizeof(char *));
        bool ok = o->issuer && o->client_id && o->redirect_url && o->scopes && o->algs;
        for (size_t i = 0; ok && i < n; i++)
                ok = (o->algs[i] = strdup(cfg->algs[i])) != NULL;
        if (ok && n == 0)
                ok = (o->algs[0] = strdup("RS256")) != NULL;
        if (!ok) {
                ap_dash_oidc_free(o);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = o;
        return 0;
}

struct ap_dash_oidc *ap_dash_oidc_free(struct ap_dash_oidc *o)
{
        if (!o)
                return NULL;
        free(o->issuer);
        free(o->client_id);
        ap_secure_free_str(o->client_secret);
        free(o->redirect_url);
        free(o->scopes);
        free(o->ca_file);
        for (size_t i = 0; o->algs && o->algs[i]; i++)
                free(o->algs[i]);
        free(o->algs);
        free(o->auth_ep);
        free(o->token_ep);
        free(o->userinfo_ep);
        free(o->end_session_ep);
        free(o->jwks_uri);
        ap_dash_jwks_free(o->jwks);
        pthread_mutex_destroy(&o->lock);
        pthread_mutex_destroy(&o->fetch_lock);
        free(o);
        return NULL;
}

const char *ap_dash_oidc_issuer(const struct ap_dash_oidc *o)
{
        return o->issuer;
}

static int get_json(struct ap_dash_oidc *o, const char *url, const char *bearer, json_t **ret, long *ret_code,
                    struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf body = AP_BUF_INIT;
        long code = 0;
        struct ap_dash_http_call c = {.method = "GET", .url = url, .ca_file = o->ca_file, .bearer = bearer};
        int r = ap_dash_http_do(&c, &code, &body, err);
        if (r < 0)
                return r;
        if (ret_code)
                *ret_code = code;
        if (code != 200)
                return ap_error_set(err, code == 401 ? AP_E_UNAUTHORIZED : AP_E_UNAVAILABLE,
                                    "'%s' answered %ld", url, code);
        json_t *j = json_loadb(body.data, body.len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return ap_error_set(err, AP_E_CORRUPT, "'%s' did not answer with a JSON object", url);
        }
        *ret = j;
        return 0;
}

static char *str_field(json_t *doc, const char *k)
{
        const char *v = json_string_value(json_object_get(doc, k));
        return v && *v ? strdup(v) : NULL;
}

/* Caller holds lock. */
static int apply_discovery(struct ap_dash_oidc *o, json_t *doc, struct ap_error *err)
{
        const char *iss = json_string_value(json_object_get(doc, "issuer"));
        if (!iss || strcmp(iss, o->issuer) != 0)
                return ap_error_set(err, AP_E_INVALID, "the provider's discovery names issuer '%s', not '%s'",
                                    iss ? iss : "", o->issuer);
        json_t *methods = json_object_get(doc, "code_challenge_methods_supported");
        bool s256 = false;
        size_t i;
        json_t *m;
        json_array_foreach(methods, i, m) s256 |=
            json_is_string(m) && strcmp(json_string_value(m), "S256") == 0;
        if (methods && !s256)
                return ap_error_set(err, AP_E_UNSUPPORTED, "the provider '%s' does not offer PKCE S256",
                                    o->issuer);
        o->auth_ep = str_field(doc, "authorization_endpoint");
        o->token_ep = str_field(doc, "token_endpoint");
        o->userinfo_ep = str_field(doc, "userinfo_endpoint");
        o->end_session_ep = str_field(doc, "end_session_endpoint");
        o->jwks_uri = str_field(doc, "jwks_uri");
        if (!o->auth_ep || !o->token_ep || !o->jwks_uri)
                return ap_error_set(
                    err, AP_E_INVALID,
                    "the provider's discovery lacks the authorization, token or JWKS endpoint");
        o->discovered = true;
        return 0;
}

int ap_dash_oidc_discover(struct ap_dash_oidc *o, struct ap_error *err)
{
        pthread_mutex_lock(&o->lock);
        bool done = o->discovered;
        bool wait =
            !done && o->discovery_tried_ms && ap_mono_ms() - o->discovery_tried_ms < DISCOVERY_RETRY_MS;
        pthread_mutex_unlock(&o->lock);
        if (done)
                return 0;
        if (wait)
                return ap_error_set(err, AP_E_UNAVAILABLE,
                                    "the identity provider '%s' could not be reached a moment ago; try again "
                                    "in a few seconds",
                                    o->issuer);
        char url[2048];
        snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", o->issuer);
        json_t *doc = NULL;
        int r = get_json(o, url, NULL, &doc, NULL, err);
        pthread_mutex_lock(&o->lock);
        o->discovery_tried_ms = ap_mono_ms();
        if (r == 0 && !o->discovered)
                r = apply_discovery(o, doc, err);
        pthread_mutex_unlock(&o->lock);
        json_decref(doc);
        return r;
}

int ap_dash_pkce_challenge(const char *verifier, struct ap_buf *out)
{
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)verifier, strlen(verifier), d);
        return ap_base64_encode(out, d, sizeof(d), AP_B64_URL_RAW);
}

static int add_param(struct ap_buf *out, char sep, const char *k, const char *v)
{
        int r = ap_buf_printf(out, "%c%s=", sep, k);
        return r < 0 ? r : ap_dash_url_escape(out, v);
}

int ap_dash_oidc_auth_url(struct ap_dash_oidc *o, const char *state, const char *nonce, const char *verifier,
                          struct ap_buf *out, struct ap_error *err)
{
        int r = ap_dash_oidc_discover(o, err);
        if (r < 0)
                return r;
        _cleanup_buf_ struct ap_buf ch = AP_BUF_INIT;
        if (ap_dash_pkce_challenge(verifier, &ch) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_lock(&o->lock);
        r = ap_buf_addstr(out, o->auth_ep);
        pthread_mutex_unlock(&o->lock);
        char sep = strchr(out->data, '?') ? '&' : '?';
        if (r == 0)
                r = add_param(out, sep, "response_type", "code");
        if (r == 0)
                r = add_param(out, '&', "client_id", o->client_id);
        if (r == 0)
                r = add_param(out, '&', "redirect_uri", o->redirect_url);
        if (r == 0)
                r = add_param(out, '&', "scope", o->scopes);
        if (r == 0)
                r = add_param(out, '&', "state", state);
        if (r == 0)
                r = add_param(out, '&', "nonce", nonce);
        if (r == 0)
                r = add_param(out, '&', "code_challenge", ch.data);
        if (r == 0)
                r = add_param(out, '&', "code_challenge_method", "S256");
        return r < 0 ? ap_error_set(err, r, "cannot build the authorization URL") : 0;
}

void ap_dash_tokens_release(struct ap_dash_tokens *t)
{
        json_decref(t->claims);
        ap_secure_free_str(t->refresh_token);
        *t = (struct ap_dash_tokens){0};
}

/* Fetch the JWKS (one fetch at a time) unless a fetch happened within min_age_ms. */
static int refresh_jwks(struct ap_dash_oidc *o, int64_t min_age_ms, struct ap_error *err)
{
        pthread_mutex_lock(&o->fetch_lock);
        pthread_mutex_lock(&o->lock);
        bool fresh = o->jwks && ap_mono_ms() - o->jwks_at_ms < min_age_ms;
        char *uri = fresh ? NULL : strdup(o->jwks_uri);
        pthread_mutex_unlock(&o->lock);
        int r = 0;
        if (!fresh) {
                _cleanup_buf_ struct ap_buf body = AP_BUF_INIT;
                long code = 0;
                struct ap_dash_http_call c = {.method = "GET", .url = uri, .ca_file = o->ca_file};
                struct ap_dash_jwks *j = NULL;
                r = uri ? ap_dash_http_do(&c, &code, &body, err)
                        : ap_error_set(err, -ENOMEM, "out of memory");
                if (r == 0 && code != 200)
                        r = ap_error_set(err, AP_E_UNAVAILABLE, "the JWKS at '%s' answered %ld", uri, code);
                if (r == 0)
                        r = ap_dash_jwks_parse(body.data, body.len, &j, err);
                pthread_mutex_lock(&o->lock);
                if (r == 0) {
                        ap_dash_jwks_free(o->jwks);
                        o->jwks = j;
                }
                o->jwks_at_ms = ap_mono_ms(); /* failures also wait out the cooldown */
                pthread_mutex_unlock(&o->lock);
        }
        free(uri);
        pthread_mutex_unlock(&o->fetch_lock);
        return r;
}

static int verify_id_token(struct ap_dash_oidc *o, const char *tok, const char *nonce, json_t **ret,
                           struct ap_error *err)
{
        int r = refresh_jwks(o, JWKS_MAX_AGE_MS, err);
        if (r < 0)
                return r;
        struct ap_dash_idtoken_expect x = {.issuer = o->issuer,
                                           .client_id = o->client_id,
                                           .nonce = nonce,
                                           .algs = (const char *const *)o->algs,
                                           .now_s = ap_wall_ms() / 1000,
                                           .leeway_s = o->leeway};
        for (int attempt = 0;; attempt++) {
                pthread_mutex_lock(&o->lock);
                r = ap_dash_idtoken_verify(o->jwks, tok, strlen(tok), &x, ret, err);
                pthread_mutex_unlock(&o->lock);
                if (r != -ENOKEY || attempt > 0)
                        return r;
                /* a kid we do not know: the provider may have rotated its keys */
                ap_error_clear(err);
                if ((r = refresh_jwks(o, JWKS_COOLDOWN_MS, err)) < 0)
                        return r;
        }
}

static void merge_userinfo(json_t *claims, json_t *ui)
{
        const char *k;
        json_t *v;
        json_object_foreach(ui, k, v)
        {
                if (strcmp(k, "sub") != 0 && strcmp(k, "iss") != 0 && strcmp(k, "aud") != 0)
                        json_object_set(claims, k, v);
        }
}

static int userinfo(struct ap_dash_oidc *o, const char *access_token, json_t *claims, struct ap_error *err)
{
        pthread_mutex_lock(&o->lock);
        char *ep = o->userinfo_ep ? strdup(o->userinfo_ep) : NULL;
        pthread_mutex_unlock(&o->lock);
        if (!ep)
                return 0; /* no userinfo: the ID token's claims are all there is */
        json_t *ui = NULL;
        int r = get_json(o, ep, access_token, &ui, NULL, err);
        free(ep);
        if (r < 0)
                return ap_error_prefix(err, "userinfo");
        const char *a = json_string_value(json_object_get(ui, "sub"));
        const char *b = json_string_value(json_object_get(claims, "sub"));
        if (!a || !b || strcmp(a, b) != 0)
                r = ap_error_set(err, AP_E_INVALID, "userinfo is for another subject than the ID token");
        else
                merge_userinfo(claims, ui);
        json_decref(ui);
        return r;
}

/* POST the token endpoint with form; parse and check the answer into ret. */
static int token_call(struct ap_dash_oidc *o, const char *form, const char *nonce, bool need_id_token,
                      struct ap_dash_tokens *ret, struct ap_error *err)
{
        pthread_mutex_lock(&o->lock);
        char *ep = strdup(o->token_ep);
        pthread_mutex_unlock(&o->lock);
        _cleanup_(ap_buf_releasep) struct ap_buf body = AP_BUF_INIT_SECRET;
        long code = 0;
        struct ap_dash_http_call c = {.method = "POST",
                                      .url = ep,
                                      .ca_file = o->ca_file,
                                      .form = form,
                                      .basic_user = o->client_id,
                                      .basic_pass = o->client_secret};
        int r = ep ? ap_dash_http_do(&c, &code, &body, err) : ap_error_set(err, -ENOMEM, "out of memory");
        free(ep);
        if (r < 0)
                return r;
        json_t *j = json_loadb(body.data, body.len, 0, NULL);
        if (code != 200) {
                const char *e = json_string_value(json_object_get(j, "error"));
                r = ap_error_set(err, code == 400 || code == 401 ? AP_E_UNAUTHORIZED : AP_E_UNAVAILABLE,
                                 "the token endpoint refused (%ld %s)", code, e ? e : "");
                json_decref(j);
                return r;
        }
        const char *at = json_string_value(json_object_get(j, "access_token"));
        const char *idt = json_string_value(json_object_get(j, "id_token"));
        const char *rt = json_string_value(json_object_get(j, "refresh_token"));
        json_t *exp_in = json_object_get(j, "expires_in");
        struct ap_dash_tokens t = {0};
        if (!at || (need_id_token && !idt))
                r = ap_error_set(err, AP_E_INVALID,
                                 "the token endpoint's answer lacks an access or ID token");
        if (r == 0 && idt)
                r = verify_id_token(o, idt, nonce, &t.claims, err);
        if (r == 0 && !t.claims)
                r = (t.claims = json_object()) ? 0 : -ENOMEM;
        if (r == 0)
                r = userinfo(o, at, t.claims, err);
        if (r == 0 && rt && !(t.refresh_token = strdup(rt)))
                r = -ENOMEM;
        t.expires_at = ap_wall_ms() / 1000 + (json_is_integer(exp_in) ? json_integer_value(exp_in) : 300);
        json_decref(j);
        if (r < 0) {
                ap_dash_tokens_release(&t);
                return err->code ? err->code : ap_error_set(err, r, "out of memory");
        }
        *ret = t;
        return 0;
}

int ap_dash_oidc_exchange(struct ap_dash_oidc *o, const char *code, const char *verifier, const char *nonce,
                          struct ap_dash_tokens *ret, struct ap_error *err)
{
        int r = ap_dash_oidc_discover(o, err);
        if (r < 0)
                return r;
        _cleanup_(ap_buf_releasep) struct ap_buf form = AP_BUF_INIT_SECRET;
        r = ap_buf_addstr(&form, "grant_type=authorization_code&code=");
        if (r == 0)
                r = ap_dash_url_escape(&form, code);
        if (r == 0)
                r = ap_buf_addstr(&form, "&redirect_uri=");
        if (r == 0)
                r = ap_dash_url_escape(&form, o->redirect_url);
        if (r == 0)
                r = ap_buf_addstr(&form, "&code_verifier=");
        if (r == 0)
                r = ap_dash_url_escape(&form, verifier);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        return token_call(o, form.data, nonce, true, ret, err);
}

int ap_dash_oidc_refresh(struct ap_dash_oidc *o, const char *refresh_token, struct ap_dash_tokens *ret,
                         struct ap_error *err)
{
        int r = ap_dash_oidc_discover(o, err);
        if (r < 0)
                return r;
        _cleanup_(ap_buf_releasep) struct ap_buf form = AP_BUF_INIT_SECRET;
        r = ap_buf_addstr(&form, "grant_type=refresh_token&refresh_token=");
        if (r == 0)
                r = ap_dash_url_escape(&form, refresh_token);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        /* the ID token of a refresh has no nonce (OIDC Core 12.2); its sub is checked by the caller */
        return token_call(o, form.data, NULL, false, ret, err);
}

int ap_dash_oidc_logout_url(struct ap_dash_oidc *o, const char *post_logout, const char *state,
                            struct ap_buf *out, struct ap_error *err)
{
        int r = ap_dash_oidc_discover(o, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&o->lock);
        r = o->end_session_ep ? ap_buf_addstr(out, o->end_session_ep) : -ENOENT;
        pthread_mutex_unlock(&o->lock);
        if (r == -ENOENT)
                return ap_error_set(err, -ENOENT, "the provider has no end_session_endpoint");
        char sep = strchr(out->data, '?') ? '&' : '?';
        if (r == 0)
                r = add_param(out, sep, "client_id", o->client_id);
        if (r == 0 && post_logout)
                r = add_param(out, '&', "post_logout_redirect_uri", post_logout);
        if (r == 0 && state)
                r = add_param(out, '&', "state", state);
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}
