/* authelia_contract.c - the contract of the OIDC clients file the operator renders for Authelia, written
 * from Authelia v4.39.20's own sources and docs, independent of the renderer:
 *   internal/configuration/schema/identity_providers.go  (the koanf keys: every key we write must be one)
 *   internal/configuration/validator/identity_providers.go + const.go (allowed values and combinations)
 *   docs/.../openid-connect/clients.md, reference/guides/passwords.md (the $pbkdf2-sha512$ digest)
 * Usage: authelia-contract FILE [--expect N] [--secrets F]: lines "client_id<TAB>plaintext" from F or
 * stdin (optional; never on a command line). Prints "ok: N clients" or one "contract: ..." line per
 * violation (never a secret) and exits 1. Each plaintext given must verify against its client's digest,
 * recomputed here with OpenSSL's PKCS5_PBKDF2_HMAC and an EVP base64 decoder. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "kube/yaml_json.h"

/* schema/identity_providers.go, type IdentityProvidersOpenIDConnect */
static const char *const provider_keys[] = {"hmac_secret",
                                            "jwks",
                                            "enable_client_debug_messages",
                                            "minimum_parameter_entropy",
                                            "enforce_pkce",
                                            "enable_pkce_plain_challenge",
                                            "enable_jwt_access_token_stateless_introspection",
                                            "discovery_signed_response_alg",
                                            "discovery_signed_response_key_id",
                                            "require_pushed_authorization_requests",
                                            "cors",
                                            "clients",
                                            "authorization_policies",
                                            "lifespans",
                                            "claims_policies",
                                            "scopes",
                                            "issuer_certificate_chain",
                                            "issuer_private_key",
                                            NULL};
/* type IdentityProvidersOpenIDConnectClaimsPolicy */
static const char *const policy_keys[] = {"id_token", "access_token", "id_token_audience_mode",
                                          "custom_claims", NULL};
/* type IdentityProvidersOpenIDConnectClient */
static const char *const client_keys[] = {"client_id",
                                          "client_name",
                                          "client_secret",
                                          "sector_identifier_uri",
                                          "public",
                                          "redirect_uris",
                                          "request_uris",
                                          "audience",
                                          "scopes",
                                          "grant_types",
                                          "response_types",
                                          "response_modes",
                                          "authorization_policy",
                                          "lifespan",
                                          "claims_policy",
                                          "requested_audience_mode",
                                          "consent_mode",
                                          "pre_configured_consent_duration",
                                          "require_pushed_authorization_requests",
                                          "require_pkce",
                                          "pkce_challenge_method",
                                          "authorization_signed_response_alg",
                                          "authorization_signed_response_key_id",
                                          "authorization_encrypted_response_alg",
                                          "authorization_encrypted_response_enc",
                                          "authorization_encrypted_response_key_id",
                                          "id_token_signed_response_alg",
                                          "id_token_signed_response_key_id",
                                          "id_token_encrypted_response_alg",
                                          "id_token_encrypted_response_enc",
                                          "id_token_encrypted_response_key_id",
                                          "access_token_signed_response_alg",
                                          "access_token_signed_response_key_id",
                                          "access_token_encrypted_response_alg",
                                          "access_token_encrypted_response_enc",
                                          "access_token_encrypted_response_key_id",
                                          "userinfo_signed_response_alg",
                                          "userinfo_signed_response_key_id",
                                          "userinfo_encrypted_response_alg",
                                          "userinfo_encrypted_response_enc",
                                          "userinfo_encrypted_response_key_id",
                                          "introspection_signed_response_alg",
                                          "introspection_signed_response_key_id",
                                          "introspection_encrypted_response_alg",
                                          "introspection_encrypted_response_enc",
                                          "introspection_encrypted_response_key_id",
                                          "request_object_signing_alg",
                                          "request_object_encryption_alg",
                                          "request_object_encryption_enc",
                                          "token_endpoint_auth_method",
                                          "token_endpoint_auth_signing_alg",
                                          "revocation_endpoint_auth_method",
                                          "revocation_endpoint_auth_signing_alg",
                                          "introspection_endpoint_auth_method",
                                          "introspection_endpoint_auth_signing_alg",
                                          "pushed_authorization_request_endpoint_auth_method",
                                          "pushed_authorization_request_endpoint_auth_signing_alg",
                                          "allow_multiple_auth_methods",
                                          "jwks_uri",
                                          "jwks",
                                          NULL};
/* validator/const.go v4.39.20 */
static const char *const valid_scopes[] = {"openid",
                                           "email",
                                           "profile",
                                           "address",
                                           "phone",
                                           "groups",
                                           "offline_access",
                                           "offline",
                                           "authelia.bearer.authz",
                                           NULL};
static const char *const valid_grants[] = {"authorization_code",
                                           "implicit",
                                           "client_credentials",
                                           "refresh_token",
                                           "urn:ietf:params:oauth:grant-type:device_code",
                                           NULL};
static const char *const valid_response_types[] = {
    "code", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token",
    NULL};
/* the token endpoint methods a confidential client with a digest (not plaintext) may use: none is for
 * public clients, client_secret_jwt needs a plaintext secret, private_key_jwt keys instead of a secret */
static const char *const secret_auth_methods[] = {"client_secret_basic", "client_secret_post", NULL};
/* authorization_policy without custom authorization_policies: the built-in two */
static const char *const policies[] = {"one_factor", "two_factor", NULL};
/* validOIDCClientClaims, and validOIDCReservedIDTokenClaims which a claims policy's id_token must not name */
static const char *const client_claims[] = {"name",
                                            "given_name",
                                            "family_name",
                                            "middle_name",
                                            "nickname",
                                            "preferred_username",
                                            "profile",
                                            "picture",
                                            "website",
                                            "email",
                                            "email_verified",
                                            "gender",
                                            "birthdate",
                                            "zoneinfo",
                                            "locale",
                                            "phone_number",
                                            "phone_number_verified",
                                            "address",
                                            "groups",
                                            "alt_emails",
                                            "rat",
                                            "updated_at",
                                            NULL};

static int violations;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("contract: ", stdout);
        vprintf(fmt, ap);
        fputc('\n', stdout);
        va_end(ap);
        violations++;
}

static bool in(const char *const *set, const char *s)
{
        for (; s && *set; set++)
                if (strcmp(*set, s) == 0)
                        return true;
        return false;
}

static void only_keys(const json_t *obj, const char *const *known, const char *where)
{
        const char *k;
        const json_t *v;
        if (!json_is_object(obj)) {
                bad("%s is not a mapping", where);
                return;
        }
        json_object_foreach((json_t *)obj, k, v)
        {
                if (!in(known, k))
                        bad("%s: key '%s' is not one Authelia knows", where, k);
        }
}

/* A list of unique strings, each in set (set NULL: any). */
static void string_list(const json_t *l, const char *const *set, const char *where, bool nonempty)
{
        if (!json_is_array(l)) {
                bad("%s is not a list", where);
                return;
        }
        if (nonempty && json_array_size(l) == 0)
                bad("%s is empty", where);
        for (size_t i = 0; i < json_array_size(l); i++) {
                const char *s = json_string_value(json_array_get(l, i));
                if (!s) {
                        bad("%s[%zu] is not a string", where, i);
                        continue;
                }
                if (set && !in(set, s))
                        bad("%s: '%s' is not an allowed value", where, s);
                for (size_t j = 0; j < i; j++)
                        if (json_string_value(json_array_get(l, j)) &&
                            strcmp(json_string_value(json_array_get(l, j)), s) == 0)
                                bad("%s: '%s' is listed twice", where, s);
        }
}

static bool list_has(const json_t *l, const char *s)
{
        for (size_t i = 0; i < json_array_size(l); i++)
                if (json_string_value(json_array_get(l, i)) &&
                    strcmp(json_string_value(json_array_get(l, i)), s) == 0)
                        return true;
        return false;
}

/* Adapted base64 ('.' for '+', no padding) through OpenSSL's EVP decoder. */
static int crypt_b64(const char *s, unsigned char *out, size_t max)
{
        size_t n = strlen(s);
        if (n == 0 || n % 4 == 1 || n > 200)
                return -1;
        char tmp[208];
        for (size_t i = 0; i < n; i++) {
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./", s[i]))
                        return -1;
                tmp[i] = s[i] == '.' ? '+' : s[i];
        }
        size_t pad = (4 - n % 4) % 4;
        memset(tmp + n, '=', pad);
        unsigned char buf[160];
        int got = EVP_DecodeBlock(buf, (const unsigned char *)tmp, (int)(n + pad));
        if (got < 0)
                return -1;
        got -= (int)pad;
        if ((size_t)got > max)
                return -1;
        memcpy(out, buf, (size_t)got);
        return got;
}

struct plain {
        char id[128];
        char *secret;
        bool used;
};

static void check_digest(const char *id, const json_t *v, struct plain *plains, size_t n_plains)
{
        const char *d = json_string_value(v);
        if (!d) {
                bad("client '%s': client_secret is missing: a confidential client needs a digest", id);
                return;
        }
        /* $pbkdf2-sha512$<iterations>$<salt>$<key> */
        char copy[256];
        if (strlen(d) >= sizeof(copy) || strncmp(d, "$pbkdf2-sha512$", 15) != 0) {
                bad("client '%s': client_secret is not a $pbkdf2-sha512$ digest", id);
                return;
        }
        snprintf(copy, sizeof(copy), "%s", d + 15);
        char *iter = copy, *salt = strchr(iter, '$'), *key = salt ? strchr(salt + 1, '$') : NULL;
        if (!salt || !key || strchr(key + 1, '$')) {
                bad("client '%s': client_secret does not have the fields <iterations>$<salt>$<key>", id);
                return;
        }
        *salt++ = '\0';
        *key++ = '\0';
        char *end = NULL;
        long it = strtol(iter, &end, 10);
        if (!*iter || *end || it < 100000 || it > 10000000)
                bad("client '%s': iterations '%s' outside 100000..10000000 (Authelia's pbkdf2 minimum and "
                    "default 310000)",
                    id, iter);
        unsigned char s[64], k[64];
        int sn = crypt_b64(salt, s, sizeof(s)), kn = crypt_b64(key, k, sizeof(k));
        if (sn < 8 || strlen(salt) != (size_t)(sn * 4 + 2) / 3)
                bad("client '%s': the salt is not at least 8 bytes of unpadded adapted base64", id);
        if (kn != 64 || strlen(key) != 86)
                bad("client '%s': the key is not the 64 bytes of SHA-512 in 86 characters of adapted base64",
                    id);
        for (size_t i = 0; i < n_plains; i++) {
                if (strcmp(plains[i].id, id) != 0)
                        continue;
                plains[i].used = true;
                unsigned char got[64];
                if (sn < 1 || kn != 64 ||
                    PKCS5_PBKDF2_HMAC(plains[i].secret, (int)strlen(plains[i].secret), s, sn, (int)it,
                                      EVP_sha512(), 64, got) != 1 ||
                    CRYPTO_memcmp(got, k, 64) != 0)
                        bad("client '%s': the digest does not verify the client's secret", id);
        }
}

static void check_uri(const char *id, const char *u)
{
        /* absolute https with a host, no fragment, nothing that needs escaping */
        if (strncmp(u, "https://", 8) != 0 || !u[8] || u[8] == '/' || strchr(u, '#') ||
            strpbrk(u, " \t\r\n\"<>\\^`{|}"))
                bad("client '%s': redirect URI '%s' is not an absolute https URL", id, u);
}

static void check_client(const json_t *c, size_t idx, const json_t *claims_policies, const char **prev_id,
                         struct plain *plains, size_t n_plains)
{
        char where[160];
        const char *id = json_string_value(json_object_get(c, "client_id"));
        snprintf(where, sizeof(where), "clients[%zu] ('%s')", idx, id ? id : "?");
        only_keys(c, client_keys, where);
        size_t n = id ? strlen(id) : 0;
        if (n == 0 || n > 100 ||
            strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") != n) {
                bad("%s: client_id must be 1-100 RFC 3986 unreserved characters", where);
                return;
        }
        if (*prev_id && strcmp(*prev_id, id) >= 0)
                bad("%s: clients are not sorted by client_id, or '%s' repeats", where, id);
        *prev_id = id;
        const json_t *name = json_object_get(c, "client_name");
        if (name && !json_is_string(name))
                bad("%s: client_name is not a string", where);
        const json_t *pub = json_object_get(c, "public");
        if (!json_is_false(pub))
                bad("%s: public must be false (a confidential client)", where);
        check_digest(id, json_object_get(c, "client_secret"), plains, n_plains);
        const char *pol = json_string_value(json_object_get(c, "authorization_policy"));
        if (!in(policies, pol))
                bad("%s: authorization_policy must be one_factor or two_factor", where);
        const json_t *ru = json_object_get(c, "redirect_uris");
        string_list(ru, NULL, where, true);
        for (size_t i = 0; i < json_array_size(ru); i++)
                if (json_string_value(json_array_get(ru, i)))
                        check_uri(id, json_string_value(json_array_get(ru, i)));
        const json_t *sc = json_object_get(c, "scopes"), *gt = json_object_get(c, "grant_types"),
                     *rt = json_object_get(c, "response_types");
        string_list(sc, valid_scopes, where, true);
        if (!list_has(sc, "openid"))
                bad("%s: scopes lack openid", where);
        string_list(gt, valid_grants, where, true);
        string_list(rt, valid_response_types, where, true);
        if (list_has(gt, "authorization_code") && !list_has(rt, "code"))
                bad("%s: grant authorization_code without response type code", where);
        if (list_has(gt, "refresh_token") && !list_has(sc, "offline_access"))
                bad("%s: grant refresh_token without scope offline_access", where);
        if (list_has(gt, "client_credentials") || list_has(gt, "implicit"))
                bad("%s: only the authorization code flow is expected", where);
        const char *m = json_string_value(json_object_get(c, "token_endpoint_auth_method"));
        if (!in(secret_auth_methods, m))
                bad("%s: token_endpoint_auth_method must be client_secret_basic or client_secret_post for a "
                    "client with a digest",
                    where);
        const char *cp = json_string_value(json_object_get(c, "claims_policy"));
        if (json_object_get(c, "claims_policy") && (!cp || !json_object_get(claims_policies, cp)))
                bad("%s: claims_policy does not name a configured claims policy", where);
        const json_t *pol_obj = cp ? json_object_get(claims_policies, cp) : NULL;
        if (!list_has(json_object_get(pol_obj, "id_token"), "groups"))
                bad("%s: its claims policy does not put groups into the ID token", where);
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: authelia-contract FILE [--expect N] [--secrets F] (lines "
                                "client_id<TAB>secret, default stdin)\n");
                return 2;
        }
        long expect = -1;
        FILE *in = isatty(0) ? NULL : stdin;
        for (int i = 2; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--expect") == 0) {
                        expect = strtol(argv[i + 1], NULL, 10);
                } else if (strcmp(argv[i], "--secrets") == 0) {
                        if (!(in = fopen(argv[i + 1], "r"))) {
                                printf("contract: cannot open '%s'\n", argv[i + 1]);
                                return 1;
                        }
                } else {
                        fprintf(stderr, "authelia-contract: unknown option '%s'\n", argv[i]);
                        return 2;
                }
        }
        struct plain plains[256];
        size_t n_plains = 0;
        char line[1024];
        while (in && n_plains < 256 && fgets(line, sizeof(line), in)) {
                line[strcspn(line, "\r\n")] = '\0';
                char *tab = strchr(line, '\t');
                if (!tab)
                        continue;
                *tab = '\0';
                snprintf(plains[n_plains].id, sizeof(plains[n_plains].id), "%s", line);
                plains[n_plains].secret = strdup(tab + 1);
                plains[n_plains].used = false;
                n_plains++;
        }
        OPENSSL_cleanse(line, sizeof(line));
        struct ap_buf file = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_read_file(argv[1], &file, &err) < 0) {
                printf("contract: cannot read '%s': %s\n", argv[1], ap_error_message(&err));
                return 1;
        }
        json_t *doc = NULL;
        if (ap_yaml_to_json(file.data, file.len, &doc, &err) < 0) {
                printf("contract: not YAML: %s\n", ap_error_message(&err));
                return 1;
        }
        static const char *const top[] = {"identity_providers", NULL}, *const idp[] = {"oidc", NULL};
        only_keys(doc, top, "the file");
        const json_t *ip = json_object_get(doc, "identity_providers");
        only_keys(ip, idp, "identity_providers");
        const json_t *oidc = json_object_get(ip, "oidc");
        only_keys(oidc, provider_keys, "identity_providers.oidc");
        const json_t *cps = json_object_get(oidc, "claims_policies");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)cps, k, v)
        {
                char where[160];
                snprintf(where, sizeof(where), "claims_policies.%s", k);
                only_keys(v, policy_keys, where);
                string_list(json_object_get(v, "id_token"), client_claims, where, false);
        }
        const json_t *clients = json_object_get(oidc, "clients");
        if (clients && !json_is_array(clients))
                bad("identity_providers.oidc.clients is not a list");
        const char *prev = NULL;
        for (size_t i = 0; i < json_array_size(clients); i++)
                check_client(json_array_get(clients, i), i, cps, &prev, plains, n_plains);
        for (size_t i = 0; i < n_plains; i++)
                if (!plains[i].used)
                        bad("no client '%s' in the file", plains[i].id);
        if (expect >= 0 && (long)json_array_size(clients) != expect)
                bad("%zu clients, expected %ld", json_array_size(clients), expect);
        for (size_t i = 0; i < n_plains; i++) {
                OPENSSL_cleanse(plains[i].secret, strlen(plains[i].secret));
                free(plains[i].secret);
        }
        size_t n = json_array_size(clients);
        json_decref(doc);
        ap_buf_release(&file);
        if (violations)
                return 1;
        printf("ok: %zu clients\n", n);
        return 0;
}
