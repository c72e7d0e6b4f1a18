/* test_oidc.c - OIDC client requests (src/operator/oidc_spec.c) and Authelia's rendered client list
 * (render_authelia.c): defaults, every refusal with its message, the delivered values, the golden file
 * (golden/authelia-clients.yaml, digests with fixed salts, checked against Authelia's contract by
 * authelia-contract in the same suite), byte stability, sorting, the empty list. UPDATE_GOLDEN=1 rewrites
 * the golden files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/fileio.h"
#include "crypto/authelia_hash.h"
#include "kube/yaml_json.h"
#include "operator/oidc.h"
#include "operator/render.h"

#define DOMAIN "hcl.labrats.work"

static const char secret_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char secret_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-";

static void golden(const char *name, const struct ap_buf *got)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", AP_GOLDEN_DIR, name);
        struct ap_error err = AP_ERROR_INIT;
        if (getenv("UPDATE_GOLDEN")) {
                assert_int_equal(ap_write_file_atomic(path, got->data, got->len, 0644, &err), 0);
                return;
        }
        struct ap_buf want = AP_BUF_INIT;
        if (ap_read_file(path, &want, &err) < 0)
                fail_msg("%s: %s (run with UPDATE_GOLDEN=1 to create it)", path, ap_error_message(&err));
        if (!ap_buf_equal(&want, got->data, got->len))
                fail_msg("%s differs from the rendering:\n%s", name, got->data);
        ap_buf_release(&want);
}

/* A Secret's data object from key, value pairs (NULL-terminated). */
static json_t *data(const char *k, ...)
{
        json_t *o = json_object();
        va_list ap;
        va_start(ap, k);
        for (; k; k = va_arg(ap, const char *)) {
                const char *v = va_arg(ap, const char *);
                struct ap_buf b = AP_BUF_INIT;
                assert_int_equal(ap_base64_encode(&b, v, strlen(v), AP_B64_STD), 0);
                json_object_set_new(o, k, json_string(b.data));
                ap_buf_release(&b);
        }
        va_end(ap);
        return o;
}

static int parse(const char *app, const char *id, json_t *d, struct ap_oidc_spec *s, char *why)
{
        struct ap_buf sec = AP_BUF_INIT_SECRET;
        int r = ap_oidc_spec_parse(app, DOMAIN, id, d, s, &sec, why, 1024);
        if (r == 0 && s->has_secret)
                assert_true(ap_buf_equal(&sec, secret_a, strlen(secret_a)));
        ap_buf_release(&sec);
        json_decref(d);
        return r;
}

static void test_defaults(void **state)
{
        struct ap_oidc_spec s;
        char why[1024] = "";
        assert_int_equal(parse("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, NULL), &s, why), 0);
        assert_string_equal(s.client_id, "my-app");
        assert_string_equal(s.client_name, "my-app");
        assert_string_equal(s.callback_path, "/api/auth/oidc/callback");
        assert_string_equal(s.redirect_uri, "https://app.my-app." DOMAIN "/api/auth/oidc/callback");
        assert_string_equal(s.authorization_policy, "two_factor");
        assert_string_equal(s.auth_method, "client_secret_basic");
        assert_false(s.has_secret);
        /* the app's own name, options, a hand-written secret */
        assert_int_equal(
            parse("my-app", "my-app.web~1",
                  data("hostname", "my-app." DOMAIN, "callbackPath", "/cb/%41:x@y", "clientName",
                       "My App (web)", "authorizationPolicy", "one_factor", "tokenEndpointAuthMethod",
                       "client_secret_post", "clientSecret", secret_a, NULL),
                  &s, why),
            0);
        assert_string_equal(s.redirect_uri, "https://my-app." DOMAIN "/cb/%41:x@y");
        assert_string_equal(s.client_name, "My App (web)");
        assert_string_equal(s.authorization_policy, "one_factor");
        assert_string_equal(s.auth_method, "client_secret_post");
        assert_true(s.has_secret);
        assert_false(s.offline_access);
        /* refresh tokens asked for */
        assert_int_equal(parse("my-app", "my-app",
                               data("hostname", "app.my-app." DOMAIN, "offlineAccess", "true", NULL), &s,
                               why),
                         0);
        assert_true(s.offline_access);
        assert_int_equal(parse("my-app", "my-app",
                               data("hostname", "app.my-app." DOMAIN, "offlineAccess", "false", NULL), &s,
                               why),
                         0);
        assert_false(s.offline_access);
        /* a platform client (app NULL): any name under the base domain */
        assert_int_equal(parse(NULL, "app-platform-dashboard",
                               data("hostname", "dashboard." DOMAIN, "callbackPath", "/auth/callback",
                                    "offlineAccess", "true", NULL),
                               &s, why),
                         0);
        assert_string_equal(s.redirect_uri, "https://dashboard." DOMAIN "/auth/callback");
        assert_true(s.offline_access);
}

static void refused(const char *app, const char *id, json_t *d, const char *needle)
{
        struct ap_oidc_spec s;
        char why[1024] = "";
        assert_int_equal(parse(app, id, d, &s, why), AP_E_INVALID);
        if (!strstr(why, needle))
                fail_msg("message '%s' lacks '%s'", why, needle);
        if (strstr(why, secret_a))
                fail_msg("message holds the secret: %s", why);
}

static void test_refusals(void **state)
{
        refused("my-app", "my-app", data(NULL), "key 'hostname' is missing");
        refused("my-app", "my-app", data("hostname", "app.other." DOMAIN, NULL), "not in the app's domain");
        refused("my-app", "my-app", data("hostname", "evilmy-app." DOMAIN, NULL), "not in the app's domain");
        refused("my-app", "my-app", data("hostname", "my-app." DOMAIN ".evil.com", NULL),
                "'.my-app." DOMAIN "'");
        refused("my-app", "my-app", data("hostname", "App.my-app." DOMAIN, NULL), "lowercase");
        refused("my-app", "my-app", data("hostname", "a..my-app." DOMAIN, NULL), "not in the app's domain");
        refused("my-app", "my-app", data("hostname", "x:8443.my-app." DOMAIN, NULL),
                "not in the app's domain");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "callbackPath", "callback", NULL),
                "callbackPath 'callback' is not an absolute path");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "callbackPath", "/cb?x=1", NULL),
                "no query");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "callbackPath", "/a b", NULL),
                "not an absolute path");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "callbackPath", "/%zz", NULL),
                "not an absolute path");
        refused("my-app", "my-app",
                data("hostname", "app.my-app." DOMAIN, "callbackPath", "https://x/cb", NULL),
                "not an absolute path");
        refused("my-app", "bad id", data("hostname", "app.my-app." DOMAIN, NULL), "client_id 'bad id'");
        char long_id[102];
        memset(long_id, 'x', 101);
        long_id[101] = '\0';
        refused("my-app", long_id, data("hostname", "app.my-app." DOMAIN, NULL), "1 to 100 characters");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "callbackpath", "/x", NULL),
                "unknown key 'callbackpath'");
        refused("my-app", "my-app",
                data("hostname", "app.my-app." DOMAIN, "authorizationPolicy", "deny", NULL),
                "authorizationPolicy 'deny' is not 'two_factor' or 'one_factor'");
        refused("my-app", "my-app",
                data("hostname", "app.my-app." DOMAIN, "tokenEndpointAuthMethod", "none", NULL),
                "is not 'client_secret_basic' or 'client_secret_post'");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "clientSecret", "short", NULL),
                "clientSecret is not usable");
        char weak[80];
        memcpy(weak, secret_a, sizeof(secret_a));
        weak[10] = '/';
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "clientSecret", weak, NULL),
                "delete the key and the operator generates one");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "clientName", "a\nb", NULL),
                "control characters");
        refused("my-app", "my-app", data("hostname", "app.my-app." DOMAIN, "offlineAccess", "yes", NULL),
                "offlineAccess 'yes' is not 'false' or 'true'");
        refused(NULL, "dash", data("hostname", DOMAIN, NULL), "not in the platform's domain");
        refused(NULL, "dash", data("hostname", "dashboard.evil.com", NULL), "a name ending in '." DOMAIN "'");
        refused(NULL, "dash", data(NULL), "'app.dashboard." DOMAIN "'");
}

static void test_generated_secret(void **state)
{
        struct ap_buf a = AP_BUF_INIT_SECRET, b = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_oidc_generate_secret(&a), 0);
        assert_int_equal(ap_oidc_generate_secret(&b), 0);
        assert_int_equal(a.len, AP_OIDC_SECRET_LEN);
        assert_true(a.len >= 64);
        assert_false(ap_buf_equal(&a, b.data, b.len));
        /* a generated secret passes the hand-written check */
        struct ap_oidc_spec s;
        char why[1024];
        json_t *d = data("hostname", "x.my-app." DOMAIN, "clientSecret", a.data, NULL);
        assert_int_equal(ap_oidc_spec_parse("my-app", DOMAIN, "c", d, &s, NULL, why, sizeof(why)), 0);
        assert_true(s.has_secret);
        json_decref(d);
        ap_buf_release(&a);
        ap_buf_release(&b);
}

static void test_delivery_and_fingerprint(void **state)
{
        struct ap_oidc_spec s;
        char why[1024];
        json_t *d = data("hostname", "app.my-app." DOMAIN, NULL);
        assert_int_equal(ap_oidc_spec_parse("my-app", DOMAIN, "my-app", d, &s, NULL, why, sizeof(why)), 0);
        json_decref(d);
        json_t *out = ap_oidc_delivery_data(&s, "https://my-id." DOMAIN, secret_a, strlen(secret_a));
        assert_non_null(out);
        const char *keys[] = {"callback-url", "client-id", "clientSecret", "issuer-url"};
        const char *want[] = {"https://app.my-app." DOMAIN "/api/auth/oidc/callback", "my-app", secret_a,
                              "https://my-id." DOMAIN};
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v)
        {
                assert_string_equal(k, keys[i]);
                struct ap_buf b = AP_BUF_INIT;
                assert_int_equal(
                    ap_base64_decode(&b, json_string_value(v), json_string_length(v), AP_B64_STD), 0);
                assert_string_equal(b.data, want[i]);
                ap_buf_release(&b);
                i++;
        }
        assert_int_equal(i, 4);
        json_decref(out);
        char f1[65], f2[65], f3[65];
        ap_oidc_fingerprint(&s, secret_a, strlen(secret_a), f1);
        ap_oidc_fingerprint(&s, secret_a, strlen(secret_a), f2);
        ap_oidc_fingerprint(&s, secret_b, strlen(secret_b), f3);
        assert_string_equal(f1, f2);
        assert_string_not_equal(f1, f3);
        s.auth_method = "client_secret_post";
        ap_oidc_fingerprint(&s, secret_a, strlen(secret_a), f2);
        assert_string_not_equal(f1, f2);
        s.auth_method = "client_secret_basic";
        s.offline_access = true;
        ap_oidc_fingerprint(&s, secret_a, strlen(secret_a), f2);
        assert_string_not_equal(f1, f2);
        s.offline_access = false; /* without it: the fingerprint of before the key existed (no rollout) */
        ap_oidc_fingerprint(&s, secret_a, strlen(secret_a), f2);
        assert_string_equal(f1, f2);
        assert_string_equal(f1, "65276612098c4d41cc331afcb8870bfef08cb5e1cafa09e6eb68c743f5916f58" /* computed apart: sha256 of the NUL-ended parts, then the secret */);
}

static void digest(const char *secret, uint8_t salt_byte, struct ap_buf *out)
{
        uint8_t salt[16];
        memset(salt, salt_byte, sizeof(salt));
        assert_int_equal(
            ap_pbkdf2_sha512_digest(secret, strlen(secret), AP_PBKDF2_SHA512_ITERATIONS, salt, 16, out), 0);
}

static void test_render_golden(void **state)
{
        struct ap_buf da = AP_BUF_INIT, db = AP_BUF_INIT, dc = AP_BUF_INIT;
        digest(secret_a, 0x11, &da);
        digest(secret_b, 0x22, &db);
        digest(secret_b, 0x33, &dc);
        struct ap_authelia_client c[] = {
            {"my-app", "my-app", da.data, "https://app.my-app." DOMAIN "/api/auth/oidc/callback",
             "two_factor", "client_secret_basic", false},
            {"other-app.web", "Other: web", db.data, "https://other-app." DOMAIN "/cb", "one_factor",
             "client_secret_post", false},
            {"platform.dashboard", "App Platform", dc.data, "https://dashboard." DOMAIN "/auth/callback",
             "two_factor", "client_secret_basic", true},
        };
        struct ap_buf out = AP_BUF_INIT, again = AP_BUF_INIT, none = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_render_authelia_clients(c, 3, &out, &err), 0);
        golden("authelia-clients.yaml", &out);
        assert_int_equal(ap_render_authelia_clients(c, 3, &again, &err), 0);
        assert_true(ap_buf_equal(&out, again.data, again.len));
        /* parses, and holds both clients in order */
        json_t *doc = NULL;
        assert_int_equal(ap_yaml_to_json(out.data, out.len, &doc, &err), 0);
        const json_t *cl =
            json_object_get(json_object_get(json_object_get(doc, "identity_providers"), "oidc"), "clients");
        assert_int_equal(json_array_size(cl), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(cl, 1), "client_secret")),
                            db.data);
        assert_true(json_is_false(json_object_get(json_array_get(cl, 0), "public")));
        /* offline_access: the scope and the refresh_token grant, on that client only */
        assert_int_equal(json_array_size(json_object_get(json_array_get(cl, 0), "grant_types")), 1);
        const json_t *g = json_object_get(json_array_get(cl, 2), "grant_types");
        assert_int_equal(json_array_size(g), 2);
        assert_string_equal(json_string_value(json_array_get(g, 1)), "refresh_token");
        const json_t *sc = json_object_get(json_array_get(cl, 2), "scopes");
        assert_string_equal(json_string_value(json_array_get(sc, json_array_size(sc) - 1)), "offline_access");
        json_decref(doc);
        /* unsorted or repeated ids are a programming error the renderer refuses */
        struct ap_authelia_client rev[] = {c[1], c[0]};
        assert_int_equal(ap_render_authelia_clients(rev, 2, &again, &err), AP_E_INVALID);
        struct ap_authelia_client dup[] = {c[0], c[0]};
        assert_int_equal(ap_render_authelia_clients(dup, 2, &again, &err), AP_E_INVALID);
        /* no clients: the claims policy only */
        assert_int_equal(ap_render_authelia_clients(NULL, 0, &none, &err), 0);
        golden("authelia-clients-empty.yaml", &none);
        assert_null(strstr(none.data, "clients:"));
        /* the Secret */
        json_t *sec = ap_render_authelia_secret("authelia", "authelia-oidc-clients", &out);
        assert_non_null(sec);
        assert_string_equal(json_string_value(json_object_get(json_object_get(sec, "metadata"), "namespace")),
                            "authelia");
        struct ap_buf dec = AP_BUF_INIT;
        const char *b64 = json_string_value(json_object_get(json_object_get(sec, "data"), "clients.yml"));
        assert_int_equal(ap_base64_decode(&dec, b64, strlen(b64), AP_B64_STD), 0);
        assert_true(ap_buf_equal(&dec, out.data, out.len));
        json_decref(sec);
        ap_buf_release(&dec);
        ap_buf_release(&out);
        ap_buf_release(&again);
        ap_buf_release(&none);
        ap_buf_release(&da);
        ap_buf_release(&db);
        ap_buf_release(&dc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),         cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_generated_secret), cmocka_unit_test(test_delivery_and_fingerprint),
            cmocka_unit_test(test_render_golden),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
