/* github_app.c - authenticating as a GitHub App: an RS256 JWT signed with the App's private key
 * ("Generating a JSON Web Token (JWT) for a GitHub App":
 * https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app)
 * exchanged for an installation access token ("Create an installation access token for an app":
 * https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app), which is
 * cached until five minutes before it expires (tokens live one hour). */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "forge/forge_internal.h"

#define REFRESH_MARGIN_S 300

static void pkey_freep(EVP_PKEY **p)
{
        EVP_PKEY_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
        EVP_MD_CTX_free(*p);
}

int ap_forge_app_jwt(const char *app_id, const char *pem, time_t now, struct ap_buf *out,
                     struct ap_error *err)
{
        BIO *bio = BIO_new_mem_buf(pem, -1);
        _cleanup_(pkey_freep) EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
                return ap_error_set(
                    err, AP_E_INVALID,
                    "the github app private key is not an rsa key in pem form; use the .pem file "
                    "github generated for the app");
        /* iat 60 s in the past against clock drift; exp at most 10 min ahead (GitHub's limit) */
        _cleanup_buf_ struct ap_buf input = AP_BUF_INIT;
        char payload[256];
        snprintf(payload, sizeof(payload), "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%s\"}", (long long)now - 60,
                 (long long)now + 540, app_id);
        int r;
        if ((r = ap_base64_encode(&input, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27, AP_B64_URL_RAW)) < 0 ||
            (r = ap_buf_addch(&input, '.')) < 0 ||
            (r = ap_base64_encode(&input, payload, strlen(payload), AP_B64_URL_RAW)) < 0)
                return ap_error_set(err, r, "cannot build the github app jwt");
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[1024];
        size_t siglen = sizeof(sig);
        if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
            EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input.data, input.len) != 1)
                return ap_error_set(err, -EIO, "cannot sign the github app jwt (rsa keys up to 8192 bits)");
        if ((r = ap_buf_add(out, input.data, input.len)) < 0 || (r = ap_buf_addch(out, '.')) < 0 ||
            (r = ap_base64_encode(out, sig, siglen, AP_B64_URL_RAW)) < 0)
                return ap_error_set(err, r, "cannot build the github app jwt");
        return 0;
}

static bool valid_id(const char *s)
{
        return s && *s && strlen(s) < 32 && strspn(s, "0123456789") == strlen(s);
}

int ap_forge_app_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err)
{
        time_t now = time(NULL);
        if (f->app_token.len && now + REFRESH_MARGIN_S < f->app_token_expires)
                return ap_buf_add(out, f->app_token.data, f->app_token.len) < 0
                           ? ap_error_set(err, -ENOMEM, "out of memory")
                           : 0;
        if (!valid_id(f->installation_id))
                return ap_error_set(err, AP_E_INVALID, "the github app installation id '%s' is not a number",
                                    f->installation_id ? f->installation_id : "");
        _cleanup_buf_ struct ap_buf jwt = AP_BUF_INIT_SECRET, auth = AP_BUF_INIT_SECRET,
                                    body = AP_BUF_INIT_SECRET;
        int r = ap_forge_app_jwt(f->app_id, f->app_key_pem, now, &jwt, err);
        if (r < 0)
                return r;
        char url[AP_FORGE_URL_MAX + 128];
        snprintf(url, sizeof(url), "%s/app/installations/%s/access_tokens", f->api_url, f->installation_id);
        if ((r = ap_buf_printf(&auth, "Authorization: Bearer %s", jwt.data)) < 0)
                return ap_error_set(err, r, "out of memory");
        const char *headers[] = {auth.data, "Accept: application/vnd.github+json",
                                 "X-GitHub-Api-Version: 2022-11-28", NULL};
        long status = 0;
        ap_buf_init_secret(&body, AP_FORGE_RESPONSE_MAX);
        if ((r = ap_forge_http_request(f->http, "POST", url, "{}", headers, &status, NULL, &body, err)) < 0)
                return ap_error_prefix(err, "cannot get a github app installation token");
        if (status != 201) {
                char msg[256];
                ap_forge_json_message(body.data, body.len, msg, sizeof(msg));
                int code = status == 401 || status == 403 ? AP_E_UNAUTHORIZED
                           : status == 404                ? AP_E_NOT_FOUND
                           : status >= 500                ? AP_E_UNAVAILABLE
                                                          : -EIO;
                return ap_error_set(
                    err, code,
                    "cannot get a token for github app '%s' installation '%s': %s answered http "
                    "%ld%s%s",
                    f->app_id, f->installation_id, f->api_url, status, msg[0] ? " " : "", msg);
        }
        _cleanup_buf_ struct ap_buf token = AP_BUF_INIT_SECRET;
        time_t expires = 0;
        if ((r = ap_forge_json_app_token(body.data, body.len, &token, &expires, err)) < 0)
                return r;
        ap_buf_reset(&f->app_token);
        if ((r = ap_buf_add(&f->app_token, token.data, token.len)) < 0 ||
            (r = ap_buf_add(out, token.data, token.len)) < 0)
                return ap_error_set(err, r, "out of memory");
        f->app_token_expires = expires;
        return 0;
}
