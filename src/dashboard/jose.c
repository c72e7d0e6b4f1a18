/* jose.c - JWKS import and ID token verification with cjose 0.6 (see jose.h). cjose quirks handled here:
 * it has no JWKS import (keys are imported one by one), it imports a JWS with alg "none" and returns its
 * payload before verification, and some failures leave its error unset, so return values are what count. */
#include "jose.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"

#define MAX_KEYS  32
#define MAX_TOKEN (16 * 1024)

struct jwk {
        char *kid; /* may be NULL */
        cjose_jwk_t *key;
        cjose_jwk_kty_t kty;
};

struct ap_dash_jwks {
        struct jwk keys[MAX_KEYS];
        size_t n;
};

struct ap_dash_jwks *ap_dash_jwks_free(struct ap_dash_jwks *j)
{
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n; i++) {
                free(j->keys[i].kid);
                cjose_jwk_release(j->keys[i].key);
        }
        free(j);
        return NULL;
}

size_t ap_dash_jwks_len(const struct ap_dash_jwks *j)
{
        return j ? j->n : 0;
}

/* member is a canonical unpadded base64url string of 1..max decoded bytes. cjose's own decoder asserts
 * (aborts the process) on some malformed input, so a JWKS from the network is checked here first. */
static bool b64url_field(json_t *k, const char *member, size_t max)
{
        const char *v = json_string_value(json_object_get(k, member));
        if (!v)
                return false;
        struct ap_buf b = AP_BUF_INIT;
        b.max = max;
        bool ok = ap_base64_decode(&b, v, strlen(v), AP_B64_URL_RAW) == 0 && b.len > 0;
        ap_buf_release(&b);
        return ok;
}

static bool fields_ok(json_t *k, const char *kty)
{
        if (strcmp(kty, "RSA") == 0)
                return b64url_field(k, "n", 2048) && b64url_field(k, "e", 8);
        const char *crv = json_string_value(json_object_get(k, "crv"));
        return crv && (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-384") == 0 || strcmp(crv, "P-521") == 0) &&
               b64url_field(k, "x", 66) && b64url_field(k, "y", 66);
}

/* Import one key object; false when cjose cannot use it or it is not a signing key we accept. */
static bool import_key(json_t *k, struct jwk *out)
{
        const char *use = json_string_value(json_object_get(k, "use"));
        if (use && strcmp(use, "sig") != 0)
                return false;
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!kty || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
                return false; /* OKP (EdDSA) is not in cjose 0.6; oct (HMAC) never verifies an ID token here
                               */
        if (json_object_get(k, "d") || json_object_get(k, "p") || json_object_get(k, "q"))
                return false; /* a private key in a public set: refuse rather than hold it */
        if (!fields_ok(k, kty))
                return false;
        cjose_err cerr = {0};
        cjose_jwk_t *key = cjose_jwk_import_json((cjose_header_t *)k, &cerr);
        if (!key)
                return false;
        cjose_jwk_kty_t t = cjose_jwk_get_kty(key, &cerr);
        if (t == CJOSE_JWK_KTY_RSA && cjose_jwk_get_keysize(key, &cerr) < 2048) {
                cjose_jwk_release(key);
                return false;
        }
        const char *kid = json_string_value(json_object_get(k, "kid"));
        out->kid = kid ? strdup(kid) : NULL;
        if (kid && !out->kid) {
                cjose_jwk_release(key);
                return false;
        }
        out->key = key;
        out->kty = t;
        return true;
}

int ap_dash_jwks_parse(const char *json, size_t n, struct ap_dash_jwks **ret, struct ap_error *err)
{
        json_t *doc = json_loadb(json, n, JSON_REJECT_DUPLICATES, NULL);
        json_t *keys = json_object_get(doc, "keys");
        if (!json_is_array(keys)) {
                json_decref(doc);
                return ap_error_set(err, -EINVAL, "the JWKS is not a JSON object with a 'keys' array");
        }
        struct ap_dash_jwks *j = calloc(1, sizeof(*j));
        if (!j) {
                json_decref(doc);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k)
        {
                if (j->n < MAX_KEYS && json_is_object(k) && import_key(k, &j->keys[j->n]))
                        j->n++;
        }
        json_decref(doc);
        if (j->n == 0) {
                ap_dash_jwks_free(j);
                return ap_error_set(err, -EINVAL,
                                    "the JWKS holds no RSA or EC signing key this server can use");
        }
        *ret = j;
        return 0;
}

json_t *ap_dash_jws_header(const char *token, size_t n)
{
        const char *dot = memchr(token, '.', n);
        if (!dot)
                return NULL;
        struct ap_buf b = AP_BUF_INIT;
        b.max = MAX_TOKEN;
        json_t *h = NULL;
        if (ap_base64_decode(&b, token, (size_t)(dot - token), AP_B64_URL_RAW) == 0)
                h = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
        ap_buf_release(&b);
        if (h && !json_is_object(h)) {
                json_decref(h);
                h = NULL;
        }
        return h;
}

/* Exactly three non-empty canonical base64url parts (cjose asserts on some malformed compact input). */
static bool compact_ok(const char *t, size_t n)
{
        const char *p = t, *end = t + n;
        for (int part = 0; part < 3; part++) {
                const char *dot = part < 2 ? memchr(p, '.', (size_t)(end - p)) : NULL;
                const char *e = part < 2 ? dot : end;
                if (!e || e == p || (part == 2 && memchr(p, '.', (size_t)(end - p))))
                        return false;
                struct ap_buf b = AP_BUF_INIT;
                b.max = MAX_TOKEN;
                bool ok = ap_base64_decode(&b, p, (size_t)(e - p), AP_B64_URL_RAW) == 0;
                ap_buf_release(&b);
                if (!ok)
                        return false;
                p = e + 1;
        }
        return true;
}

static bool alg_allowed(const char *alg, const char *const *algs)
{
        static const char *const def[] = {"RS256", NULL};
        if (!alg)
                return false;
        for (const char *const *a = algs ? algs : def; *a; a++)
                if (strcmp(*a, alg) == 0)
                        return strcmp(alg, "none") != 0 && strncmp(alg, "HS", 2) != 0;
        return false;
}

static cjose_jwk_kty_t kty_for(const char *alg)
{
        return alg[0] == 'E' ? CJOSE_JWK_KTY_EC : CJOSE_JWK_KTY_RSA; /* RS*, PS* -> RSA; ES* -> EC */
}

/* The key for (kid, alg): by kid, or the only key of the right type when the token has no kid. */
static const struct jwk *pick(const struct ap_dash_jwks *j, const char *kid, const char *alg)
{
        const struct jwk *only = NULL;
        size_t n_type = 0;
        for (size_t i = 0; i < j->n; i++) {
                if (j->keys[i].kty != kty_for(alg))
                        continue;
                if (kid && j->keys[i].kid && strcmp(kid, j->keys[i].kid) == 0)
                        return &j->keys[i];
                n_type++;
                only = &j->keys[i];
        }
        return !kid && n_type == 1 ? only : NULL;
}

static int check_aud(json_t *claims, const char *client_id, struct ap_error *err)
{
        json_t *aud = json_object_get(claims, "aud");
        size_t n = 0;
        bool found = false;
        if (json_is_string(aud)) {
                n = 1;
                found = strcmp(json_string_value(aud), client_id) == 0;
        } else if (json_is_array(aud)) {
                size_t i;
                json_t *a;
                json_array_foreach(aud, i, a)
                {
                        n++;
                        if (json_is_string(a) && strcmp(json_string_value(a), client_id) == 0)
                                found = true;
                }
        }
        if (!found || n != 1)
                return ap_error_set(err, -EACCES, "the ID token's audience is not exactly this client ('%s')",
                                    client_id);
        json_t *azp = json_object_get(claims, "azp");
        if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0))
                return ap_error_set(err, -EACCES, "the ID token's azp is not this client ('%s')", client_id);
        return 0;
}

static int check_claims(json_t *claims, const struct ap_dash_idtoken_expect *x, struct ap_error *err)
{
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        if (!iss || strcmp(iss, x->issuer) != 0)
                return ap_error_set(err, -EACCES, "the ID token's issuer is not '%s'", x->issuer);
        if (check_aud(claims, x->client_id, err) < 0)
                return err->code;
        json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
        if (!json_is_number(exp) || !json_is_number(iat))
                return ap_error_set(err, -EACCES, "the ID token lacks exp or iat");
        int64_t max_age = x->max_iat_age_s > 0 ? x->max_iat_age_s : 600;
        if ((int64_t)json_number_value(exp) + x->leeway_s <= x->now_s)
                return ap_error_set(err, -EACCES, "the ID token has expired");
        int64_t t = (int64_t)json_number_value(iat);
        if (t > x->now_s + x->leeway_s || t < x->now_s - max_age - x->leeway_s)
                return ap_error_set(err, -EACCES, "the ID token's iat is not recent (check the clocks)");
        const char *sub = json_string_value(json_object_get(claims, "sub"));
        if (!sub || !sub[0])
                return ap_error_set(err, -EACCES, "the ID token has no subject");
        if (x->nonce) {
                const char *nonce = json_string_value(json_object_get(claims, "nonce"));
                if (!nonce || strcmp(nonce, x->nonce) != 0)
                        return ap_error_set(err, -EACCES, "the ID token's nonce does not match this login");
        }
        return 0;
}

int ap_dash_idtoken_verify(const struct ap_dash_jwks *jwks, const char *token, size_t n,
                           const struct ap_dash_idtoken_expect *x, json_t **ret_claims, struct ap_error *err)
{
        if (n == 0 || n > MAX_TOKEN)
                return ap_error_set(err, -EBADMSG, "the ID token is empty or larger than %d bytes",
                                    MAX_TOKEN);
        json_t *hdr = ap_dash_jws_header(token, n);
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        const char *kid = json_string_value(json_object_get(hdr, "kid"));
        if (!alg_allowed(alg, x->algs)) {
                int r = ap_error_set(err, -EBADMSG, "the ID token's algorithm '%s' is not allowed",
                                     alg ? alg : "(none)");
                json_decref(hdr);
                return r;
        }
        const struct jwk *key = jwks ? pick(jwks, kid, alg) : NULL;
        if (!key) {
                int r = ap_error_set(err, -ENOKEY, "no key '%s' for %s in the issuer's JWKS", kid ? kid : "",
                                     alg);
                json_decref(hdr);
                return r;
        }
        json_decref(hdr);
        if (!compact_ok(token, n))
                return ap_error_set(err, -EBADMSG, "the ID token is not a compact JWS");
        cjose_err cerr = {0};
        cjose_jws_t *jws = cjose_jws_import(token, n, &cerr);
        if (!jws)
                return ap_error_set(err, -EBADMSG, "the ID token is not a compact JWS");
        int r = 0;
        uint8_t *pt = NULL;
        size_t pl = 0;
        if (!cjose_jws_verify(jws, key->key, &cerr))
                r = ap_error_set(err, -EBADMSG, "the ID token's signature does not verify");
        else if (!cjose_jws_get_plaintext(jws, &pt, &pl, &cerr) || !pt)
                r = ap_error_set(err, -EBADMSG, "the ID token has no payload");
        json_t *claims = r == 0 ? json_loadb((const char *)pt, pl, JSON_REJECT_DUPLICATES, NULL) : NULL;
        cjose_jws_release(jws);
        if (r == 0 && !json_is_object(claims))
                r = ap_error_set(err, -EBADMSG, "the ID token's payload is not a JSON object");
        if (r == 0)
                r = check_claims(claims, x, err);
        if (r < 0) {
                json_decref(claims);
                return r;
        }
        *ret_claims = claims;
        return 0;
}
