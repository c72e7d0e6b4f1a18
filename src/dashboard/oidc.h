/* oidc.h - the relying party: discovery (cached, retried while it fails), the authorization URL (code +
 * PKCE S256, state, nonce), the code exchange with client_secret_basic, the ID token verified against a
 * JWKS cache (10 min max age; refetched on an unknown kid at most every 30 s, one fetch at a time),
 * userinfo for the claims Authelia keeps out of the ID token (groups, preferred_username), refresh, and
 * the RP-initiated logout URL when the provider has an end_session_endpoint. Thread-safe. */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"

struct ap_dash_oidc_config {
        const char *issuer; /* as configured; must equal the discovered issuer */
        const char *client_id;
        const char *client_secret; /* secret */
        const char *redirect_url;  /* https://dashboard/auth/callback */
        const char *scopes;        /* space-separated; NULL = "openid profile email groups offline_access" */
        const char *ca_file;       /* NULL = system store */
        const char *const *algs;   /* NULL-terminated allow-list; NULL = {"RS256"} */
        int64_t leeway_s;          /* clock skew; 0 = 60 */
};

struct ap_dash_oidc;

/* Copies cfg. Discovery happens on first use. */
int ap_dash_oidc_new(const struct ap_dash_oidc_config *cfg, struct ap_dash_oidc **ret, struct ap_error *err);
struct ap_dash_oidc *ap_dash_oidc_free(struct ap_dash_oidc *o);
AP_DEFINE_CLEANUP(struct ap_dash_oidc *, ap_dash_oidc_free);
/* Make sure discovery has succeeded (retried at most every 10 s while it fails). */
int ap_dash_oidc_discover(struct ap_dash_oidc *o, struct ap_error *err);

/* Append the authorization URL for one login to out. */
int ap_dash_oidc_auth_url(struct ap_dash_oidc *o, const char *state, const char *nonce, const char *verifier,
                          struct ap_buf *out, struct ap_error *err);
/* The S256 challenge of verifier (b64url(SHA-256(verifier))) appended to out. */
int ap_dash_pkce_challenge(const char *verifier, struct ap_buf *out);

struct ap_dash_tokens {
        json_t *claims;      /* ID token claims with the userinfo claims merged over them */
        char *refresh_token; /* secret; NULL when none was issued */
        int64_t expires_at;  /* wall seconds when the access token expires */
};
void ap_dash_tokens_release(struct ap_dash_tokens *t);

/* Exchange an authorization code (the callback's iss parameter, when sent, must be the issuer: RFC 9207).
 * The ID token is verified with nonce. */
int ap_dash_oidc_exchange(struct ap_dash_oidc *o, const char *code, const char *verifier, const char *nonce,
                          struct ap_dash_tokens *ret, struct ap_error *err);
/* Use a refresh token: new tokens and fresh userinfo claims. AP_E_UNAUTHORIZED when the provider refuses
 * it (invalid_grant: revoked, expired or already used). */
int ap_dash_oidc_refresh(struct ap_dash_oidc *o, const char *refresh_token, struct ap_dash_tokens *ret,
                         struct ap_error *err);
/* Append the provider's logout URL to out (client_id, post_logout_redirect_uri, state); -ENOENT when the
 * provider has no end_session_endpoint (Authelia 4.39): log out locally. */
int ap_dash_oidc_logout_url(struct ap_dash_oidc *o, const char *post_logout, const char *state,
                            struct ap_buf *out, struct ap_error *err);
/* The issuer (borrowed, lives as long as o). */
const char *ap_dash_oidc_issuer(const struct ap_dash_oidc *o);
