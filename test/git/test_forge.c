/* test_forge.c - forge pieces that need no server: readers of forge JSON, the GitHub App JWT (checked with
 * OpenSSL against the public key), repository names and clone URL templates, and the local provider
 * (bare repositories in a folder, checked with the git CLI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/ssh_key.h"
#include "forge/forge_internal.h"
#include "testutil.h"

static void test_json_readers(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        const char *keys = "[{\"id\":7,\"key\":\"ssh-ed25519 AAAA\",\"title\":\"flux\",\"read_only\":true},"
                           "{\"id\":8,\"key\":\"ssh-rsa BBBB\",\"title\":\"ci\",\"read_only\":false}]";
        struct ap_forge_key *k = NULL;
        size_t n = 0;
        assert_int_equal(ap_forge_json_keys(keys, strlen(keys), &k, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(k[0].id, 7);
        assert_string_equal(k[0].title, "flux");
        assert_true(k[0].read_only);
        assert_false(k[1].read_only);
        free(k);
        assert_int_equal(ap_forge_json_keys("{}", 2, &k, &n, &err), AP_E_CORRUPT);
        assert_int_equal(ap_forge_json_keys("[{\"title\":\"x\"}]", 15, &k, &n, &err), AP_E_CORRUPT);
        assert_int_equal(ap_forge_json_keys("[", 1, &k, &n, &err), AP_E_CORRUPT);

        struct ap_forge_repo r;
        const char *repo =
            "{\"name\":\"x\",\"private\":true,\"default_branch\":\"main\","
            "\"ssh_url\":\"git@github.com:acme/x.git\",\"clone_url\":\"https://github.com/acme/x.git\"}";
        assert_int_equal(ap_forge_json_repo(repo, strlen(repo), &r, &err), 0);
        assert_true(r.is_private);
        assert_string_equal(r.ssh_url, "ssh://git@github.com/acme/x.git");
        assert_string_equal(r.default_branch, "main");
        const char *gitea = "{\"name\":\"x\",\"ssh_url\":\"ssh://git@h:2222/o/x.git\"}";
        assert_int_equal(ap_forge_json_repo(gitea, strlen(gitea), &r, &err), 0);
        assert_string_equal(r.ssh_url, "ssh://git@h:2222/o/x.git");
        assert_false(r.is_private);

        _cleanup_buf_ struct ap_buf tok = AP_BUF_INIT_SECRET;
        time_t when = 0;
        const char *t = "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11T22:14:10Z\"}";
        assert_int_equal(ap_forge_json_app_token(t, strlen(t), &tok, &when, &err), 0);
        assert_string_equal(tok.data, "ghs_x");
        assert_int_equal(when, 1468275250);
        const char *badt = "{\"token\":\"a b\",\"expires_at\":\"2016-07-11T22:14:10Z\"}";
        assert_int_equal(ap_forge_json_app_token(badt, strlen(badt), &tok, &when, &err), AP_E_CORRUPT);
        assert_int_equal(ap_forge_parse_time("2016-07-11 22:14:10Z", &when), AP_E_INVALID);
        assert_int_equal(ap_forge_parse_time("2016-13-11T22:14:10Z", &when), AP_E_INVALID);

        char msg[128];
        const char *e =
            "{\"message\":\"Validation Failed\",\"errors\":[{\"message\":\"key is\\nalready in use\"}]}";
        ap_forge_json_message(e, strlen(e), msg, sizeof(msg));
        assert_string_equal(msg, "Validation Failed: key is already in use");
        ap_forge_json_message("<html>", 6, msg, sizeof(msg));
        assert_string_equal(msg, "");
}

static int classify(long status, const char *body, long long retry_after, long long remaining,
                    long long reset, int64_t *wait)
{
        struct ap_forge_http_meta m;
        ap_forge_http_meta_init(&m);
        m.retry_after_s = retry_after;
        m.ratelimit_remaining = remaining;
        m.ratelimit_reset = reset;
        return ap_forge_status_error(status, &m, body, strlen(body), 1700000000, wait);
}

static void test_status_classification(void **state)
{
        int64_t w = 0;
        const char *gh = "{\"message\":\"Bad credentials\"}";
        assert_int_equal(classify(401, gh, -1, 4999, 1700003600, &w), AP_E_UNAUTHORIZED);
        assert_int_equal(w, -1);
        assert_int_equal(classify(403, "{\"message\":\"Resource not accessible by integration\"}", -1, 4999,
                                  1700003600, &w),
                         AP_E_FORBIDDEN);
        /* primary rate limit: until x-ratelimit-reset (+1 s) */
        assert_int_equal(
            classify(403, "{\"message\":\"API rate limit exceeded for user ID 1.\"}", -1, 0, 1700000100, &w),
            AP_E_RATE_LIMITED);
        assert_int_equal(w, 101000);
        assert_int_equal(classify(429, "{}", 5, -1, 0, &w), AP_E_RATE_LIMITED);
        assert_int_equal(w, 5000);
        /* secondary: the message says so; no header: at least a minute */
        assert_int_equal(classify(403, "{\"message\":\"You have exceeded a secondary rate limit.\"}", -1,
                                  4000, 1700003600, &w),
                         AP_E_RATE_LIMITED);
        assert_int_equal(w, 60000);
        /* 409 / 422 by their bodies: GitHub errors[].code / message, Gitea message */
        assert_int_equal(classify(409, "{\"message\":\"The repository with the same name already exists.\"}",
                                  -1, -1, 0, &w),
                         AP_E_EXISTS);
        assert_int_equal(classify(409, "{\"message\":\"Git Repository is empty.\"}", -1, -1, 0, &w),
                         AP_E_CONFLICT);
        assert_int_equal(classify(422,
                                  "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Label\","
                                  "\"code\":\"already_exists\",\"field\":\"name\"}]}",
                                  -1, -1, 0, &w),
                         AP_E_EXISTS);
        assert_int_equal(classify(422,
                                  "{\"message\":\"Repository creation failed.\",\"errors\":[{\"resource\":"
                                  "\"Repository\",\"code\":\"custom\",\"field\":\"name\",\"message\":\"name "
                                  "already exists on this account\"}]}",
                                  -1, -1, 0, &w),
                         AP_E_EXISTS);
        assert_int_equal(
            classify(422,
                     "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Repository\","
                     "\"code\":\"invalid\",\"field\":\"default_branch\"}]}",
                     -1, -1, 0, &w),
            AP_E_INVALID);
        assert_int_equal(classify(422, "{\"message\":\"Key title has been used\"}", -1, -1, 0, &w),
                         AP_E_EXISTS);
        assert_int_equal(classify(422, "{\"message\":\"[Description]: MaxSize\"}", -1, -1, 0, &w),
                         AP_E_INVALID);
        assert_int_equal(classify(422, "not json", -1, -1, 0, &w), AP_E_INVALID);
        /* 5xx: unavailable, with the Retry-After hint when there is one */
        assert_int_equal(classify(502, "", -1, -1, 0, &w), AP_E_UNAVAILABLE);
        assert_int_equal(w, -1);
        assert_int_equal(classify(503, "", 7, -1, 0, &w), AP_E_UNAVAILABLE);
        assert_int_equal(w, 7000);
        assert_int_equal(classify(404, "", -1, -1, 0, &w), AP_E_NOT_FOUND);
        assert_int_equal(classify(302, "", -1, -1, 0, &w), -EIO);

        char login[64];
        bool org = true;
        const char *u = "{\"login\":\"octocat\",\"type\":\"User\"}";
        assert_int_equal(ap_forge_json_owner(u, strlen(u), login, sizeof(login), &org, NULL), 0);
        assert_string_equal(login, "octocat");
        assert_false(org);
        const char *o = "{\"login\":\"acme\",\"type\":\"Organization\"}";
        assert_int_equal(ap_forge_json_owner(o, strlen(o), login, sizeof(login), &org, NULL), 0);
        assert_true(org);
        assert_int_equal(ap_forge_json_owner("{}", 2, login, sizeof(login), &org, NULL), AP_E_CORRUPT);
}

static void test_app_jwt_verifies(void **state)
{
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        assert_non_null(key);
        BIO *b = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, key, NULL, NULL, 0, NULL, NULL), 1);
        char *pem = NULL;
        long pemlen = BIO_get_mem_data(b, &pem);
        _cleanup_buf_ struct ap_buf pemtext = AP_BUF_INIT_SECRET, jwt = AP_BUF_INIT;
        ap_buf_add(&pemtext, pem, (size_t)pemlen);
        BIO_free(b);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_forge_app_jwt("12345", pemtext.data, 1700000000, &jwt, &err), 0);

        char *d1 = strchr(jwt.data, '.'), *d2 = strchr(d1 + 1, '.');
        _cleanup_buf_ struct ap_buf hdr = AP_BUF_INIT, claims = AP_BUF_INIT, sig = AP_BUF_INIT;
        assert_int_equal(ap_base64_decode(&hdr, jwt.data, (size_t)(d1 - jwt.data), AP_B64_URL_RAW), 0);
        assert_int_equal(ap_base64_decode(&claims, d1 + 1, (size_t)(d2 - d1 - 1), AP_B64_URL_RAW), 0);
        assert_int_equal(ap_base64_decode(&sig, d2 + 1, strlen(d2 + 1), AP_B64_URL_RAW), 0);
        assert_string_equal(hdr.data, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
        assert_string_equal(claims.data, "{\"iat\":1699999940,\"exp\":1700000540,\"iss\":\"12345\"}");
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestVerify(ctx, (unsigned char *)sig.data, sig.len, (unsigned char *)jwt.data,
                                          (size_t)(d2 - jwt.data)),
                         1);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(key);

        /* an ed25519 key is not what GitHub hands out */
        assert_int_equal(
            ap_forge_app_jwt(
                "1", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDo=\n-----END PRIVATE KEY-----\n", 0,
                &jwt, &err),
            AP_E_INVALID);
}

static void test_names_and_templates(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_forge_check_name("shop-platform", &err), 0);
        assert_int_equal(ap_forge_check_name("a.b_c-1", &err), 0);
        const char *bad[] = {"", ".hidden", "x.git", "a/b", "a b", "../x"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++)
                assert_int_equal(ap_forge_check_name(bad[i], &err), AP_E_INVALID);
        struct ap_forge_config c = {.kind = AP_FORGE_GITEA,
                                    .api_url = "https://git.example/api/v1/",
                                    .owner = "acme",
                                    .token = "t",
                                    .clone_url_template = "ssh://git@git.example:2222/{owner}/{repo}.git"};
        _cleanup_(ap_forge_freep) struct ap_forge *f = NULL;
        assert_int_equal(ap_forge_new(&c, &f, &err), 0);
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        assert_int_equal(ap_forge_clone_url(f, "shop-platform", &url, &err), 0);
        assert_string_equal(url.data, "ssh://git@git.example:2222/acme/shop-platform.git");
        assert_int_equal(ap_forge_clone_url(f, "../x", &url, &err), AP_E_INVALID);
        c.token = "has space";
        struct ap_forge *g = NULL;
        assert_int_equal(ap_forge_new(&c, &g, &err), AP_E_INVALID);
}

static void test_local_provider(void **state)
{
        char *dir = t_tmpdir("forgelocal");
        char repos[600];
        snprintf(repos, sizeof(repos), "%s/repos", dir);
        struct ap_forge_config c = {.kind = AP_FORGE_LOCAL, .local_dir = repos};
        _cleanup_(ap_forge_freep) struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_forge_new(&c, &f, &err), 0);
        struct ap_forge_repo r;
        assert_int_equal(ap_forge_ensure_repo(f, "demo-platform", "demo", &r, &err), 0);
        assert_true(r.created);
        assert_string_equal(r.default_branch, "main");
        char want[700];
        snprintf(want, sizeof(want), "%s/demo-platform.git", repos);
        assert_string_equal(r.clone_url, want);
        assert_int_equal(ap_forge_ensure_repo(f, "demo-platform", "demo", &r, &err), 0);
        assert_false(r.created);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(t_sh(&out, "git --git-dir='%s' rev-parse --is-bare-repository", want), 0);
        assert_string_equal(out.data, "true\n");

        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k1 = NULL, *k2 = NULL;
        _cleanup_buf_ struct ap_buf l1 = AP_BUF_INIT, l2 = AP_BUF_INIT;
        assert_int_equal(ap_ssh_key_generate("a", &k1, &err), 0);
        assert_int_equal(ap_ssh_key_generate("b", &k2, &err), 0);
        ap_ssh_key_write_public(k1, &l1);
        ap_ssh_key_write_public(k2, &l2);
        enum ap_forge_key_result kr;
        assert_int_equal(ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l1.data, false, &kr, &err),
                         0);
        assert_int_equal(kr, AP_FORGE_KEY_ADDED);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l1.data, false, &kr, &err),
                         0);
        assert_int_equal(kr, AP_FORGE_KEY_PRESENT);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l2.data, true, &kr, &err), 0);
        assert_int_equal(kr, AP_FORGE_KEY_ROTATED);
        ap_buf_reset(&out);
        assert_int_equal(t_sh(&out, "cat '%s/deploy-keys'", want), 0);
        assert_int_equal(strncmp(out.data, "flux ssh-ed25519 ", 17), 0);
        size_t lines = 0;
        for (size_t i = 0; i < out.len; i++)
                lines += out.data[i] == '\n';
        assert_int_equal(lines, 1); /* the rotated-out key is gone */

        assert_int_equal(ap_forge_set_default_branch(f, "demo-platform", "trunk", &err), 0);
        ap_buf_reset(&out);
        assert_int_equal(t_sh(&out, "git --git-dir='%s' symbolic-ref HEAD", want), 0);
        assert_string_equal(out.data, "refs/heads/trunk\n");
        assert_int_equal(ap_forge_set_default_branch(f, "missing", "main", &err), AP_E_NOT_FOUND);

        /* archive: a marker and a hook that refuses pushes (git-receive-pack runs it) */
        bool done = false;
        assert_int_equal(ap_forge_archive_repo(f, "demo-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(ap_forge_archive_repo(f, "demo-platform", &done, &err), 0);
        assert_false(done);
        assert_int_equal(ap_forge_ensure_repo(f, "demo-platform", "demo", &r, &err), 0);
        assert_true(r.archived);
        assert_int_not_equal(
            t_sh(NULL,
                 "set -e; d=$(mktemp -d); cd $d; git init -q; echo x > x; git add x; "
                 "git -c user.name=a -c user.email=a@x commit -qm x; git push -q '%s' HEAD:main "
                 "2>/dev/null; r=$?; rm -rf $d; exit $r",
                 want),
            0);
        /* delete: the folder goes as a whole; again is fine; a missing one archives as nothing */
        assert_int_equal(ap_forge_delete_repo(f, "demo-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(access(want, F_OK), -1);
        assert_int_equal(ap_forge_delete_repo(f, "demo-platform", &done, &err), 0);
        assert_false(done);
        assert_int_equal(ap_forge_archive_repo(f, "demo-platform", &done, &err), 0);
        assert_false(done);
        ap_buf_reset(&out);
        assert_int_equal(t_sh(&out, "ls -A '%s'", repos), 0);
        assert_string_equal(out.data, ""); /* no temporary sibling left */
        _cleanup_buf_ struct ap_buf tok = AP_BUF_INIT;
        assert_int_equal(ap_forge_git_token(f, &tok, &err), AP_E_UNSUPPORTED);
        t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_readers),     cmocka_unit_test(test_status_classification),
            cmocka_unit_test(test_app_jwt_verifies), cmocka_unit_test(test_names_and_templates),
            cmocka_unit_test(test_local_provider),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
