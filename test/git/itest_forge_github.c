/* itest_forge_github.c - contract test of the GitHub provider against test/git/github_standin (a
 * STAND-IN built from GitHub's documented requests and responses, since GitHub cannot run here): repo
 * create/exists, deploy keys add/present/rotate/in-use, default branch, bad credentials, and GitHub App
 * authentication (RS256 JWT verified by the stand-in, installation token cached until near expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/ssh_key.h"
#include "forge/forge.h"
#include "testutil.h"

#define PAT     "ghp_standinPersonalAccessToken0001"
#define APP_ID  "424242"
#define INST_ID "31337"
#define ORG     "acme"

struct standin {
        pid_t pid;
        int stdin_fd;
        unsigned port;
        char api[64];
};

static char *dir;
static struct standin main_si, short_si;
static struct ap_buf app_pem;

static int start_standin(struct standin *s, long ttl)
{
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) /* no other child may hold them */
                return -1;
        s->pid = fork();
        if (s->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                char pub[600], ttls[32];
                snprintf(pub, sizeof(pub), "%s/app.pub.pem", dir);
                snprintf(ttls, sizeof(ttls), "%ld", ttl);
                execl(getenv("GITHUB_STANDIN"), "github_standin", pub, PAT, APP_ID, INST_ID, ORG, ttls,
                      (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        s->stdin_fd = in[1];
        char line[32] = "";
        ssize_t n = read(out[0], line, sizeof(line) - 1);
        close(out[0]);
        if (n <= 0)
                return -1;
        s->port = (unsigned)strtoul(line, NULL, 10);
        snprintf(s->api, sizeof(s->api), "http://127.0.0.1:%u", s->port);
        return s->port ? 0 : -1;
}

static void stop_standin(struct standin *s)
{
        if (s->pid > 0) {
                close(s->stdin_fd);
                waitpid(s->pid, NULL, 0);
                s->pid = 0;
        }
}

static int setup(void **state)
{
        signal(SIGPIPE, SIG_IGN);
        if (!getenv("GITHUB_STANDIN"))
                return -1;
        dir = t_tmpdir("ghstandin");
        /* GitHub hands out the App key as a PKCS#1 "BEGIN RSA PRIVATE KEY" file */
        if (!dir || t_sh(NULL,
                         "cd '%s' && openssl genrsa -traditional -out app.pem 2048 2>/dev/null && "
                         "openssl rsa -in app.pem -pubout -out app.pub.pem 2>/dev/null && "
                         "openssl genrsa -traditional -out other.pem 2048 2>/dev/null",
                         dir) != 0)
                return -1;
        char path[600];
        snprintf(path, sizeof(path), "%s/app.pem", dir);
        ap_buf_init_secret(&app_pem, 1 << 16);
        if (ap_read_file(path, &app_pem, NULL) < 0)
                return -1;
        return start_standin(&main_si, 3600) < 0 || start_standin(&short_si, 120) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        stop_standin(&main_si);
        stop_standin(&short_si);
        ap_buf_release(&app_pem);
        t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
        return 0;
}

static struct ap_forge *forge_pat(const char *token, const char *owner)
{
        struct ap_forge_config cfg = {
            .kind = AP_FORGE_GITHUB, .api_url = main_si.api, .owner = owner, .token = token};
        struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_forge_new(&cfg, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static struct ap_forge *forge_app(const struct standin *s, const char *pem)
{
        struct ap_forge_config cfg = {.kind = AP_FORGE_GITHUB,
                                      .api_url = s->api,
                                      .owner = ORG,
                                      .app_id = APP_ID,
                                      .installation_id = INST_ID,
                                      .app_private_key_pem = pem};
        struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_forge_new(&cfg, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static long stat_of(const struct standin *s, const char *key)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        t_sh(&out, "curl -fsS http://127.0.0.1:%u/_standin/stats", s->port);
        const char *p = strstr(out.data, key);
        return p ? strtol(p + strlen(key) + 2, NULL, 10) : -1;
}

static void test_repo_create_then_exists(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_pat(PAT, ORG);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        int rc = ap_forge_ensure_repo(f, "shop-platform", "platform repo of shop", &r, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(r.created);
        assert_true(r.is_private);
        assert_string_equal(r.clone_url, "ssh://git@github.com/acme/shop-platform.git");
        assert_string_equal(r.ssh_url,
                            "ssh://git@github.com/acme/shop-platform.git"); /* from git@github.com:... */
        assert_string_equal(r.https_url, "https://github.com/acme/shop-platform.git");
        assert_int_equal(ap_forge_ensure_repo(f, "shop-platform", NULL, &r, &err), 0);
        assert_false(r.created);

        assert_int_equal(ap_forge_set_default_branch(f, "shop-platform", "trunk", &err), 0);
        assert_int_equal(ap_forge_ensure_repo(f, "shop-platform", NULL, &r, &err), 0);
        assert_string_equal(r.default_branch, "trunk");

        assert_int_equal(ap_forge_ensure_repo(f, "../etc", NULL, &r, &err), AP_E_INVALID);
        assert_int_equal(ap_forge_ensure_repo(f, "x.git", NULL, &r, &err), AP_E_INVALID);
}

static void test_bad_token_and_unknown_owner(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        _cleanup_(ap_forge_freep) struct ap_forge *bad = forge_pat("ghp_wrong", ORG);
        assert_int_equal(ap_forge_ensure_repo(bad, "x-platform", NULL, &r, &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "Bad credentials"));
        assert_non_null(strstr(err.msg, "'acme/x-platform'"));
        assert_null(strstr(err.msg, "--")); /* no command-line hints in library messages */
        assert_null(strstr(err.msg, "ghp_wrong"));

        /* an owner that is no organisation: the repository goes to the token's own account */
        _cleanup_(ap_forge_freep) struct ap_forge *user = forge_pat(PAT, "standin-user");
        assert_int_equal(ap_forge_ensure_repo(user, "mine-platform", NULL, &r, &err), 0);
        assert_true(r.created);
        assert_string_equal(r.https_url, "https://github.com/standin-user/mine-platform.git");
}

static void key_line(struct ap_ssh_key **k, struct ap_buf *line, const char *comment)
{
        assert_int_equal(ap_ssh_key_generate(comment, k, NULL), 0);
        ap_buf_reset(line);
        assert_int_equal(ap_ssh_key_write_public(*k, line), 0);
}

static void test_deploy_keys(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_pat(PAT, ORG);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        assert_int_equal(ap_forge_ensure_repo(f, "keys-platform", NULL, &r, &err), 0);
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k1 = NULL, *k2 = NULL, *k3 = NULL;
        _cleanup_buf_ struct ap_buf l1 = AP_BUF_INIT, l2 = AP_BUF_INIT, l3 = AP_BUF_INIT;
        key_line(&k1, &l1, "flux");
        key_line(&k2, &l2, "flux-rotated");
        key_line(&k3, &l3, "other");
        enum ap_forge_key_result res;
        int rc = ap_forge_ensure_deploy_key(f, "keys-platform", "flux", l1.data, false, &res, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res, AP_FORGE_KEY_ADDED);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "keys-platform", "flux", l1.data, false, &res, &err),
                         0);
        assert_int_equal(res, AP_FORGE_KEY_PRESENT);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "keys-platform", "audit", l3.data, false, &res, &err),
                         0);

        /* rotate: the new key is added, the old one with the same title removed, others untouched */
        assert_int_equal(ap_forge_ensure_deploy_key(f, "keys-platform", "flux", l2.data, true, &res, &err),
                         0);
        assert_int_equal(res, AP_FORGE_KEY_ROTATED);
        _cleanup_buf_ struct ap_buf keys = AP_BUF_INIT;
        assert_int_equal(t_sh(&keys,
                              "curl -fsS -H 'User-Agent: t' -H 'Authorization: Bearer " PAT
                              "' http://127.0.0.1:%u/repos/acme/keys-platform/keys",
                              main_si.port),
                         0);
        assert_null(strstr(keys.data, strchr(l1.data, ' ') + 1 + 20));
        assert_non_null(strstr(keys.data, "\"read_only\":true"));
        assert_non_null(strstr(keys.data, "\"title\":\"audit\""));

        /* a key already used by another repository is refused with a clear message */
        assert_int_equal(ap_forge_ensure_repo(f, "second-platform", NULL, &r, &err), 0);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "second-platform", "flux", l2.data, false, &res, &err),
                         AP_E_EXISTS);
        assert_non_null(strstr(err.msg, "already in use"));
        assert_non_null(strstr(err.msg, "one key per repository"));

        assert_int_equal(
            ap_forge_ensure_deploy_key(f, "keys-platform", "flux", "not a key", false, &res, &err),
            AP_E_INVALID);
        assert_int_equal(
            ap_forge_ensure_deploy_key(f, "missing-platform", "flux", l3.data, false, &res, &err),
            AP_E_NOT_FOUND);
}

static void test_github_app(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        long before = stat_of(&main_si, "tokens_issued");
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_app(&main_si, app_pem.data);
        int rc = ap_forge_ensure_repo(f, "app-platform", NULL, &r, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(r.created);
        assert_int_equal(ap_forge_set_default_branch(f, "app-platform", "main", &err), 0);
        _cleanup_buf_ struct ap_buf tok = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_forge_git_token(f, &tok, &err), 0);
        assert_true(strncmp(tok.data, "ghs_", 4) == 0);
        /* one token for all of it: cached (it lives an hour) */
        assert_int_equal(stat_of(&main_si, "tokens_issued") - before, 1);

        /* tokens expiring within the refresh margin are fetched again each time */
        _cleanup_(ap_forge_freep) struct ap_forge *s = forge_app(&short_si, app_pem.data);
        assert_int_equal(ap_forge_ensure_repo(s, "app-platform", NULL, &r, &err), 0);
        assert_int_equal(ap_forge_ensure_repo(s, "app-platform", NULL, &r, &err), 0);
        assert_int_equal(stat_of(&short_si, "tokens_issued"), 3); /* GET + POST, then GET */

        /* the wrong private key: the stand-in cannot verify the JWT */
        char path[600];
        snprintf(path, sizeof(path), "%s/other.pem", dir);
        _cleanup_buf_ struct ap_buf other = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_read_file(path, &other, &err), 0);
        _cleanup_(ap_forge_freep) struct ap_forge *w = forge_app(&main_si, other.data);
        assert_int_equal(ap_forge_ensure_repo(w, "app-platform", NULL, &r, &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "github app '" APP_ID "' installation '" INST_ID "'"));
        assert_non_null(strstr(err.msg, "http 401"));

        /* not an RSA PEM at all */
        struct ap_forge *bad = forge_app(&main_si, "-----BEGIN NOTHING-----\n");
        assert_int_equal(ap_forge_ensure_repo(bad, "app-platform", NULL, &r, &err), AP_E_INVALID);
        ap_forge_free(bad);
}

static void test_config_errors(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge *f = NULL;
        struct ap_forge_config c = {.kind = AP_FORGE_GITHUB, .owner = ORG};
        assert_int_equal(ap_forge_new(&c, &f, &err), AP_E_INVALID); /* no credentials */
        c.token = PAT;
        c.app_id = APP_ID;
        assert_int_equal(ap_forge_new(&c, &f, &err), AP_E_INVALID); /* half an App */
        struct ap_forge_config g = {.kind = AP_FORGE_GITEA, .owner = ORG, .token = "t"};
        assert_int_equal(ap_forge_new(&g, &f, &err), AP_E_INVALID); /* gitea needs its api url */
        assert_non_null(strstr(err.msg, "needs an api url"));
        assert_null(strstr(err.msg, "--"));
        enum ap_forge_kind k;
        assert_int_equal(ap_forge_parse_kind("forgejo", &k), 0);
        assert_int_equal(k, AP_FORGE_GITEA);
        assert_int_equal(ap_forge_parse_kind("gitlab", &k), AP_E_INVALID);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_repo_create_then_exists),
            cmocka_unit_test(test_bad_token_and_unknown_owner),
            cmocka_unit_test(test_deploy_keys),
            cmocka_unit_test(test_github_app),
            cmocka_unit_test(test_config_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
