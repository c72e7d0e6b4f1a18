/* test_jose.c - ID token verification against a JWKS, with tokens signed here by cjose: the good case,
 * then each refusal OpenID Connect Core 3.1.3.7 asks for (bad signature, wrong iss, wrong or extra aud,
 * wrong azp, wrong nonce, expired, iat in the future or too old, no sub), algorithm pinning ("none",
 * HS256 with the public key as the secret, an algorithm off the list), an unknown kid (-ENOKEY: the
 * caller refetches), small RSA keys and private keys in the set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "dashboard/jose.h"

static cjose_jwk_t *key1, *key2;
static char *jwks_json;
static const int64_t NOW = 1800000000;

static json_t *pub_jwk(cjose_jwk_t *k, const char *kid)
{
        cjose_err e;
        char *s = cjose_jwk_to_json(k, false, &e);
        json_t *j = json_loads(s, 0, NULL);
        free(s);
        json_object_set_new(j, "kid", json_string(kid));
        json_object_set_new(j, "use", json_string("sig"));
        return j;
}

static int setup(void **state)
{
        cjose_err e;
        static const uint8_t exp[] = {1, 0, 1};
        key1 = cjose_jwk_create_RSA_random(2048, exp, sizeof(exp), &e);
        key2 = cjose_jwk_create_RSA_random(2048, exp, sizeof(exp), &e);
        json_t *set = json_pack("{s:[o, {s:s, s:s, s:s}]}", "keys", pub_jwk(key1, "k1"), "kty", "OKP", "crv",
                                "Ed25519", "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        jwks_json = json_dumps(set, 0);
        json_decref(set);
        return key1 && key2 ? 0 : -1;
}

static int teardown(void **state)
{
        cjose_jwk_release(key1);
        cjose_jwk_release(key2);
        free(jwks_json);
        return 0;
}

static json_t *good_claims(void)
{
        return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://idp.test", "sub", "alice", "aud",
                         "dash", "exp", (json_int_t)(NOW + 300), "iat", (json_int_t)(NOW - 5), "nonce",
                         "n-1");
}

static char *sign(cjose_jwk_t *k, const char *alg, const char *kid, json_t *claims)
{
        cjose_err e;
        cjose_header_t *h = cjose_header_new(&e);
        cjose_header_set(h, CJOSE_HDR_ALG, alg, &e);
        if (kid)
                cjose_header_set(h, CJOSE_HDR_KID, kid, &e);
        char *payload = json_dumps(claims, JSON_COMPACT);
        json_decref(claims);
        cjose_jws_t *jws = cjose_jws_sign(k, h, (const uint8_t *)payload, strlen(payload), &e);
        const char *compact = NULL;
        assert_true(cjose_jws_export(jws, &compact, &e));
        char *out = strdup(compact);
        cjose_jws_release(jws);
        cjose_header_release(h);
        free(payload);
        return out;
}

static int verify(const char *tok)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_jwks *j = NULL;
        assert_int_equal(ap_dash_jwks_parse(jwks_json, strlen(jwks_json), &j, &err), 0);
        assert_int_equal(ap_dash_jwks_len(j), 1); /* the OKP key is skipped */
        struct ap_dash_idtoken_expect x = {
            .issuer = "https://idp.test", .client_id = "dash", .nonce = "n-1", .now_s = NOW, .leeway_s = 60};
        json_t *claims = NULL;
        int r = ap_dash_idtoken_verify(j, tok, strlen(tok), &x, &claims, &err);
        if (r == 0)
                assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
        json_decref(claims);
        ap_dash_jwks_free(j);
        return r;
}

static int verify_claims(json_t *claims)
{
        char *t = sign(key1, "RS256", "k1", claims);
        int r = verify(t);
        free(t);
        return r;
}

static void test_good(void **state)
{
        assert_int_equal(verify_claims(good_claims()), 0);
        json_t *c = good_claims();
        json_object_set_new(c, "aud", json_pack("[s]", "dash"));
        json_object_set_new(c, "azp", json_string("dash"));
        assert_int_equal(verify_claims(c), 0);
}

static void test_bad_signature(void **state)
{
        char *t = sign(key2, "RS256", "k1", good_claims()); /* signed by another key under kid k1 */
        assert_int_equal(verify(t), -EBADMSG);
        free(t);
        t = sign(key1, "RS256", "k1", good_claims());
        size_t n = strlen(t);
        t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
        assert_int_equal(verify(t), -EBADMSG);
        /* payload swapped under a valid signature */
        char *other = sign(key1, "RS256", "k1", json_pack("{s:s}", "sub", "mallory"));
        char *d1 = strchr(t, '.'), *d2 = strchr(other, '.');
        char *mix = NULL;
        assert_true(asprintf(&mix, "%.*s%.*s%s", (int)(d1 - t), t, (int)(strchr(d2 + 1, '.') - d2), d2,
                             strchr(d1 + 1, '.')) > 0);
        assert_int_equal(verify(mix), -EBADMSG);
        free(mix);
        free(other);
        free(t);
}

static void claim_case(const char *key, json_t *value, int want)
{
        json_t *c = good_claims();
        if (value)
                json_object_set_new(c, key, value);
        else
                json_object_del(c, key);
        assert_int_equal(verify_claims(c), want);
}

static void test_claims(void **state)
{
        claim_case("iss", json_string("https://evil.test"), -EACCES);
        claim_case("aud", json_string("other"), -EACCES);
        claim_case("aud", json_pack("[s, s]", "dash", "other"), -EACCES);
        claim_case("azp", json_string("other"), -EACCES);
        claim_case("nonce", json_string("n-2"), -EACCES);
        claim_case("nonce", NULL, -EACCES);
        claim_case("exp", json_integer(NOW - 61), -EACCES);
        claim_case("iat", json_integer(NOW + 120), -EACCES);
        claim_case("iat", json_integer(NOW - 3600), -EACCES);
        claim_case("sub", NULL, -EACCES);
        claim_case("exp", json_integer(NOW - 30), 0); /* within the leeway */
}

static char *b64(const char *s)
{
        struct ap_buf b = AP_BUF_INIT;
        ap_base64_encode(&b, s, strlen(s), AP_B64_URL_RAW);
        return ap_buf_detach(&b, NULL);
}

static void test_algorithms(void **state)
{
        /* alg none: an unsigned token */
        char *h = b64("{\"alg\":\"none\",\"kid\":\"k1\"}");
        json_t *gc = good_claims();
        char *cs = json_dumps(gc, JSON_COMPACT);
        json_decref(gc);
        char *p = b64(cs), *t = NULL;
        assert_true(asprintf(&t, "%s.%s.", h, p) > 0);
        assert_int_equal(verify(t), -EBADMSG);
        free(t);
        free(h);
        free(p);
        free(cs);
        /* HS256 keyed with bytes an attacker knows */
        cjose_err e;
        static const uint8_t secret[32] = "public-key-bytes-as-hmac-secret";
        cjose_jwk_t *oct = cjose_jwk_create_oct_spec(secret, sizeof(secret), &e);
        t = sign(oct, "HS256", "k1", good_claims());
        assert_int_equal(verify(t), -EBADMSG);
        free(t);
        cjose_jwk_release(oct);
        /* an RSA algorithm off the allow-list (RS256 only by default) */
        t = sign(key1, "RS512", "k1", good_claims());
        assert_int_equal(verify(t), -EBADMSG);
        free(t);
}

static void test_kid(void **state)
{
        char *t = sign(key1, "RS256", "k9", good_claims());
        assert_int_equal(verify(t), -ENOKEY); /* unknown kid: the caller refetches the JWKS */
        free(t);
        t = sign(key1, "RS256", NULL, good_claims()); /* no kid, one RSA key: that one */
        assert_int_equal(verify(t), 0);
        free(t);
}

static void test_jwks_refusals(void **state)
{
        cjose_err e;
        static const uint8_t exp[] = {1, 0, 1};
        cjose_jwk_t *small = cjose_jwk_create_RSA_random(1024, exp, sizeof(exp), &e);
        char *priv = cjose_jwk_to_json(key1, true, &e);
        json_t *pj = json_loads(priv, 0, NULL);
        json_t *set = json_pack("{s:[o, o]}", "keys", pub_jwk(small, "small"), pj);
        char *s = json_dumps(set, 0);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_jwks *j = NULL;
        assert_int_equal(ap_dash_jwks_parse(s, strlen(s), &j, &err), -EINVAL);
        assert_int_equal(ap_dash_jwks_parse("{}", 2, &j, &err), -EINVAL);
        assert_int_equal(ap_dash_jwks_parse("nope", 4, &j, &err), -EINVAL);
        free(s);
        free(priv);
        json_decref(set);
        cjose_jwk_release(small);
}

/* cjose 0.6 asserts (aborts) on some malformed base64url: such input must be refused before it gets there
 * (both found by fuzz/fuzz_dash_jose.c) */
static void test_malformed(void **state)
{
        static const char bad_jwks[] =
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQABJSUzI1NiIsIci=I.I6ImsxIn0.eyJz\","
            "\"e\":\"AQAB\"}]}";
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_jwks *j = NULL;
        assert_int_equal(ap_dash_jwks_parse(bad_jwks, strlen(bad_jwks), &j, &err), -EINVAL);
        char *t = sign(key1, "RS256", "k1", good_claims());
        char *bad = NULL;
        assert_true(asprintf(&bad, "%s=", t) > 0);
        assert_int_equal(verify(bad), -EBADMSG);
        free(bad);
        assert_true(asprintf(&bad, "%s.x", t) > 0);
        assert_int_equal(verify(bad), -EBADMSG);
        free(bad);
        free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good),      cmocka_unit_test(test_bad_signature),
            cmocka_unit_test(test_claims),    cmocka_unit_test(test_algorithms),
            cmocka_unit_test(test_kid),       cmocka_unit_test(test_jwks_refusals),
            cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
