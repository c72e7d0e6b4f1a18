/* fuzz_dash_jose.c - libFuzzer target: JOSE inputs the login handles. The input is split at the first
 * NUL: before it, a JWKS document; after it, a compact ID token verified against that set (and against a
 * fixed set of one real RSA key). Nothing may crash, and nothing unsigned may verify. */
#include <cjose/cjose.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/jose.h"

static struct ap_dash_jwks *fixed;

static void init(void)
{
        static const uint8_t e[] = {1, 0, 1};
        cjose_err cerr;
        cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &cerr);
        char *pub = k ? cjose_jwk_to_json(k, false, &cerr) : NULL;
        char *doc = NULL;
        if (pub && asprintf(&doc, "{\"keys\":[%s]}", pub) > 0) {
                struct ap_error err = AP_ERROR_INIT;
                ap_dash_jwks_parse(doc, strlen(doc), &fixed, &err);
        }
        free(doc);
        free(pub);
        cjose_jwk_release(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!fixed)
                init();
        const char *s = (const char *)data;
        const char *nul = memchr(s, '\0', size);
        size_t jl = nul ? (size_t)(nul - s) : size;
        const char *tok = nul ? nul + 1 : s;
        size_t tl = nul ? size - jl - 1 : size;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_jwks *j = NULL;
        ap_dash_jwks_parse(s, jl, &j, &err);
        struct ap_dash_idtoken_expect x = {
            .issuer = "https://idp", .client_id = "dash", .nonce = "n", .now_s = 1800000000};
        json_t *claims = NULL;
        if (j && ap_dash_idtoken_verify(j, tok, tl, &x, &claims, &err) == 0)
                json_decref(claims); /* possible only with a key the input itself supplied */
        if (ap_dash_idtoken_verify(fixed, tok, tl, &x, &claims, &err) == 0)
                abort(); /* the input cannot know the fixed key's private half */
        json_decref(ap_dash_jws_header(tok, tl));
        ap_dash_jwks_free(j);
        return 0;
}
