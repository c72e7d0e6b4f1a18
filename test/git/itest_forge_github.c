/* itest_forge_github.c - contract test of the GitHub provider against test/git/github_standin (a
 * STAND-IN built from GitHub's documented requests and responses, since GitHub cannot run here): repo
 * create/exists, deploy keys add/present/rotate/in-use, default branch, bad credentials, owners
 * (organisation, the authenticated user, anyone else refused), rate limits and 5xx (retried within the
 * budget, else AP_E_RATE_LIMITED with the wait), 422 told apart by its body, answers lost after the
 * request was carried out, delete and archive, and GitHub App authentication (RS256 JWT verified by the
 * stand-in, installation token cached until near expiry). */
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

#include "base/clock.h"
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
        struct ap_forge_config cfg = {.kind = AP_FORGE_GITHUB,
                                      .api_url = main_si.api,
                                      .owner = owner,
                                      .token = token,
                                      .retry_timeout_ms = 3000,
                                      .backoff_initial_ms = 50,
                                      .backoff_max_ms = 200};
        struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_forge_new(&cfg, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static struct ap_forge *forge_app_owned(const struct standin *s, const char *pem, const char *owner)
{
        struct ap_forge_config cfg = {.kind = AP_FORGE_GITHUB,
                                      .api_url = s->api,
                                      .owner = owner,
                                      .app_id = APP_ID,
                                      .installation_id = INST_ID,
                                      .app_private_key_pem = pem};
        struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_forge_new(&cfg, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static struct ap_forge *forge_app(const struct standin *s, const char *pem)
{
        return forge_app_owned(s, pem, ORG);
}

static long stat_of(const struct standin *s, const char *key)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        t_sh(&out, "curl -fsS http://127.0.0.1:%u/_standin/stats", s->port);
        const char *p = strstr(out.data, key);
        return p ? strtol(p + strlen(key) + 2, NULL, 10) : -1;
}

/* HTTP status of GET /repos/{owner}/{name} on the main stand-in. */
static int repo_status(const char *owner, const char *name)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        t_sh(&out,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'User-Agent: t' -H 'Authorization: Bearer " PAT
             "' http://127.0.0.1:%u/repos/%s/%s",
             main_si.port, owner, name);
        return (int)strtol(out.data, NULL, 10);
}

static void key_line(struct ap_ssh_key **k, struct ap_buf *line, const char *comment)
{
        assert_int_equal(ap_ssh_key_generate(comment, k, NULL), 0);
        ap_buf_reset(line);
        assert_int_equal(ap_ssh_key_write_public(*k, line), 0);
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

        /* the owner is the token's own user account: POST /user/repos */
        _cleanup_(ap_forge_freep) struct ap_forge *user = forge_pat(PAT, "standin-user");
        assert_int_equal(ap_forge_ensure_repo(user, "mine-platform", NULL, &r, &err), 0);
        assert_true(r.created);
        assert_string_equal(r.https_url, "https://github.com/standin-user/mine-platform.git");

        /* someone else's user account: refused, and nothing lands in the token's own account */
        _cleanup_(ap_forge_freep) struct ap_forge *other = forge_pat(PAT, "other-user");
        assert_int_equal(ap_forge_ensure_repo(other, "theirs-platform", NULL, &r, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "'other-user'"));
        assert_non_null(strstr(err.msg, "'standin-user'"));
        assert_int_equal(repo_status("standin-user", "theirs-platform"), 404);
        assert_int_equal(repo_status("other-user", "theirs-platform"), 404);

        /* an owner that does not exist at all */
        _cleanup_(ap_forge_freep) struct ap_forge *ghost = forge_pat(PAT, "ghost-org");
        assert_int_equal(ap_forge_ensure_repo(ghost, "x-platform", NULL, &r, &err), AP_E_NOT_FOUND);
        assert_non_null(strstr(err.msg, "'ghost-org'"));
        assert_int_equal(repo_status("standin-user", "x-platform"), 404);

        /* a user account with App credentials: an installation cannot create repositories there */
        _cleanup_(ap_forge_freep) struct ap_forge *app =
            forge_app_owned(&main_si, app_pem.data, "standin-user");
        assert_int_equal(ap_forge_ensure_repo(app, "app-user-platform", NULL, &r, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "github app"));
}

/* Make the next count API requests of the main stand-in fail (see github_standin.c /_standin/faults). */
static void inject(const char *json)
{
        assert_int_equal(
            t_sh(NULL, "curl -fsS -X POST -d '%s' http://127.0.0.1:%u/_standin/faults", json, main_si.port),
            0);
}

static void test_rate_limits_and_outages(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_pat(PAT, ORG);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        assert_int_equal(ap_forge_ensure_repo(f, "limits-platform", NULL, &r, &err), 0);

        /* two 502s, then the answer: retried with backoff */
        long before = stat_of(&main_si, "requests");
        inject("{\"count\":2,\"status\":502,\"message\":\"Server Error\"}");
        int rc = ap_forge_set_default_branch(f, "limits-platform", "main", &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(stat_of(&main_si, "requests") - before, 3);

        /* 429 with Retry-After: waits that long, then succeeds */
        inject("{\"count\":1,\"status\":429,\"message\":\"Too Many Requests\",\"retry_after\":1}");
        int64_t t0 = ap_mono_ms();
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), 0);
        assert_true(ap_mono_ms() - t0 >= 950);

        /* a secondary rate limit (403 + message + Retry-After) is a rate limit, not bad credentials */
        inject("{\"count\":1,\"status\":403,\"message\":\"You have exceeded a secondary rate limit. Please "
               "wait a few minutes before you try again.\",\"retry_after\":1}");
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), 0);

        /* the primary limit resets in an hour: no waiting, AP_E_RATE_LIMITED with the wait */
        before = stat_of(&main_si, "requests");
        inject("{\"count\":5,\"status\":403,\"message\":\"API rate limit exceeded for user ID 7.\","
               "\"remaining_zero\":true,\"reset_in\":3600}");
        t0 = ap_mono_ms();
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), AP_E_RATE_LIMITED);
        assert_true(ap_mono_ms() - t0 < 1000);
        assert_true(err.retry_after_ms >= 3590 * 1000L && err.retry_after_ms <= 3602 * 1000L);
        assert_true(ap_error_retryable(err.code));
        assert_non_null(strstr(err.msg, "rate limit"));
        assert_non_null(strstr(err.msg, "'acme/limits-platform'"));
        assert_int_equal(stat_of(&main_si, "requests") - before, 1);
        inject("{\"count\":0}");

        /* a secondary limit without headers: wait at least a minute, longer than the budget */
        inject("{\"count\":1,\"status\":403,\"message\":\"You have exceeded a secondary rate limit.\"}");
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), AP_E_RATE_LIMITED);
        assert_true(err.retry_after_ms >= 60000);

        /* a plain 403 stays "forbidden" */
        inject(
            "{\"count\":1,\"status\":403,\"message\":\"Resource not accessible by personal access token\"}");
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), AP_E_FORBIDDEN);
        assert_false(ap_error_retryable(err.code));

        /* 5xx past the budget: unavailable */
        inject("{\"count\":1000,\"status\":503,\"message\":\"Service Unavailable\"}");
        assert_int_equal(ap_forge_set_default_branch(f, "limits-platform", "main", &err), AP_E_UNAVAILABLE);
        assert_non_null(strstr(err.msg, "http 503"));
        inject("{\"count\":0}");
}

static void test_lost_answers_and_422(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_pat(PAT, ORG);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        /* the create is carried out but its answer is lost: the retry meets "name already exists", looks
         * again and finds the repository */
        inject("{\"count\":1,\"status\":502,\"message\":\"Bad Gateway\",\"after\":true}");
        int rc = ap_forge_ensure_repo(f, "lost-platform", "x", &r, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(r.is_private);
        assert_int_equal(repo_status(ORG, "lost-platform"), 200);

        /* the same for a deploy key: "key is already in use" after our own lost POST is success */
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        _cleanup_buf_ struct ap_buf l = AP_BUF_INIT;
        key_line(&k, &l, "flux");
        enum ap_forge_key_result kr;
        inject("{\"count\":1,\"status\":500,\"message\":\"Server Error\",\"after\":true}");
        rc = ap_forge_ensure_deploy_key(f, "lost-platform", "flux", l.data, false, &kr, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(kr, AP_FORGE_KEY_ADDED);

        /* a 422 that is not "already exists" is invalid input */
        assert_int_equal(ap_forge_ensure_repo(f, "bad-platform", "tab\there", &r, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "description control characters are not allowed"));
        assert_int_equal(repo_status(ORG, "bad-platform"), 404);
}

static void test_delete_and_archive(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = forge_pat(PAT, ORG);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        bool done = false;
        assert_int_equal(ap_forge_ensure_repo(f, "old-platform", NULL, &r, &err), 0);
        assert_false(r.archived);
        assert_int_equal(ap_forge_archive_repo(f, "old-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(ap_forge_archive_repo(f, "old-platform", &done, &err), 0);
        assert_false(done); /* archived already */
        assert_int_equal(ap_forge_ensure_repo(f, "old-platform", NULL, &r, &err), 0);
        assert_true(r.archived);
        assert_false(r.created);
        /* read-only now */
        assert_int_equal(ap_forge_set_default_branch(f, "old-platform", "trunk", &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "archived"));

        assert_int_equal(ap_forge_delete_repo(f, "old-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(repo_status(ORG, "old-platform"), 404);
        assert_int_equal(ap_forge_delete_repo(f, "old-platform", &done, &err), 0);
        assert_false(done); /* gone already */
        assert_int_equal(ap_forge_archive_repo(f, "old-platform", NULL, &err), 0);
        assert_int_equal(ap_forge_delete_repo(f, "../x", NULL, &err), AP_E_INVALID);

        /* refused deletes keep their reason */
        assert_int_equal(ap_forge_ensure_repo(f, "kept-platform", NULL, &r, &err), 0);
        inject("{\"count\":1,\"status\":403,\"message\":\"Must have admin rights to Repository.\"}");
        assert_int_equal(ap_forge_delete_repo(f, "kept-platform", &done, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "admin rights"));
        assert_non_null(strstr(err.msg, "'acme/kept-platform'"));
        assert_int_equal(repo_status(ORG, "kept-platform"), 200);
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
        assert_non_null(strstr(err.msg, "deploy key of one repository only"));

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
        /* GET repo, GET /users/acme (is it an organisation?), POST; then GET repo */
        assert_int_equal(stat_of(&short_si, "tokens_issued"), 4);

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
            cmocka_unit_test(test_rate_limits_and_outages),
            cmocka_unit_test(test_lost_answers_and_422),
            cmocka_unit_test(test_delete_and_archive),
            cmocka_unit_test(test_github_app),
            cmocka_unit_test(test_config_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
