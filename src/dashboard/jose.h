/* jose.h - the JOSE inputs of an OpenID Connect login, verified with cjose: a JWKS document turned into
 * keys (RSA and EC only; keys cjose cannot import, such as OKP, are skipped; RSA under 2048 bits refused),
 * and an ID token checked as OpenID Connect Core 3.1.3.7 says: the algorithm pinned to an allow-list
 * (never "none" or HMAC), the signature against the key its kid names, then iss, aud (+azp), exp, iat and
 * nonce. Pure functions: no I/O, no clock but the one passed in. A JWKS is read-only once built and may be
 * shared between threads behind the caller's reference count. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"

struct ap_dash_jwks;

/* Parse a JWKS ({"keys":[...]}). -EINVAL when it is not one or holds no usable key. */
int ap_dash_jwks_parse(const char *json, size_t n, struct ap_dash_jwks **ret, struct ap_error *err);
struct ap_dash_jwks *ap_dash_jwks_free(struct ap_dash_jwks *j);
AP_DEFINE_CLEANUP(struct ap_dash_jwks *, ap_dash_jwks_free);
size_t ap_dash_jwks_len(const struct ap_dash_jwks *j);

struct ap_dash_idtoken_expect {
        const char *issuer;      /* exactly the discovered issuer */
        const char *client_id;   /* must be an audience; other audiences are refused */
        const char *nonce;       /* NULL = not checked (refresh: OIDC Core 12.2 has no nonce) */
        const char *const *algs; /* allowed "alg" values, NULL-terminated; NULL = {"RS256"} */
        int64_t now_s;           /* wall clock, seconds */
        int64_t leeway_s;        /* clock skew allowed on exp/iat */
        int64_t max_iat_age_s;   /* iat may be at most this old; 0 = 600 */
};

/* Verify token (compact JWS) against jwks. On success *ret_claims gets the payload (caller decrefs).
 * -ENOKEY when the token names a kid the set does not hold (the caller refetches the JWKS and tries
 * again); -EBADMSG for a malformed token or a bad signature; -EACCES for a valid signature whose claims
 * fail (wrong iss/aud/azp/nonce, expired, issued in the future or too long ago). */
int ap_dash_idtoken_verify(const struct ap_dash_jwks *jwks, const char *token, size_t n,
                           const struct ap_dash_idtoken_expect *x, json_t **ret_claims, struct ap_error *err);

/* The header of a compact JWS, decoded without verifying anything (for logs and tests); caller decrefs. */
json_t *ap_dash_jws_header(const char *token, size_t n);
