/* itest_git_http.c - src/git over HTTP against a real `git http-backend` behind lighttpd with basic auth
 * (test/git/gitserver http): a token pushes, a wrong or missing token fails with a clear error and
 * leaves the remote untouched, reads see what the git CLI pushed; the token callback is asked for every
 * connection and its failures are retried or reported by their code. Also local-path remotes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "git/repo.h"
#include "testutil.h"

#define TOKEN "ghs_test-token-0123456789"

static char *dir;
static const char *server;
static unsigned port;

static int setup(void **state)
{
        signal(SIGPIPE, SIG_IGN);
        server = getenv("GITSERVER");
        dir = t_tmpdir("githttp");
        if (!server || !dir)
                return -1;
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (t_sh(&out, "'%s' http '%s' x-access-token '%s'", server, dir, TOKEN) != 0)
                return -1;
        port = (unsigned)strtoul(out.data, NULL, 10);
        return t_sh(NULL, "git init -q --bare -b main '%s/git/app.git'", dir);
}

static int teardown(void **state)
{
        t_sh(NULL, "'%s' stop '%s'", server, dir);
        t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
        return 0;
}

static struct ap_git_repo *open_http_fn(const char *token, const char *cache_tag,
                                        int (*token_fn)(void *, struct ap_buf *, struct ap_error *), void *ud)
{
        char url[256], cache[600];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/git/app.git", port);
        snprintf(cache, sizeof(cache), "%s/cache-%s", dir, cache_tag);
        struct ap_git_repo_config cfg = {
            .name = "app-platform",
            .url = url,
            .cache_dir = cache,
            .token = token,
            .token_fn = token_fn,
            .token_userdata = ud,
            .retry_timeout_ms = 2000,
            .backoff_initial_ms = 50,
        };
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_repo *r = NULL;
        if (ap_git_repo_new(&cfg, &r, &err) < 0)
                fail_msg("%s", err.msg);
        return r;
}

static struct ap_git_repo *open_http(const char *token, const char *cache_tag)
{
        return open_http_fn(token, cache_tag, NULL, NULL);
}

static int push_one(struct ap_git_repo *r, const char *path, const char *data, struct ap_error *err)
{
        struct ap_git_change c = {.path = path, .data = data, .len = strlen(data)};
        struct ap_git_commit_request req = {.changes = &c, .n_changes = 1, .subject = "update", .app = "app"};
        struct ap_git_push_result res;
        return ap_git_repo_commit_push(r, &req, &res, err);
}

static unsigned commits(void)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (t_sh(&out, "git --git-dir='%s/git/app.git' rev-list --count main 2>/dev/null", dir) != 0)
                return 0;
        return (unsigned)strtoul(out.data, NULL, 10);
}

/* The fault points a push passes, in order ("after-local-commit;push-sending;"). */
static void record_point(void *userdata, const char *point)
{
        ap_buf_printf(userdata, "%s;", point);
}

static void test_token_push_and_read(void **state)
{
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_http(TOKEN, "good");
        struct ap_error err = AP_ERROR_INIT;
        int rc = push_one(r, "hello.txt", "hello over http\n", &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(commits(), 1);

        /* someone pushes with the git CLI; a sync + read sees it */
        assert_int_equal(
            t_sh(NULL,
                 "set -e; cd '%s'; git clone -q http://x-access-token:%s@127.0.0.1:%u/git/app.git cli;"
                 "cd cli; echo from-cli > cli.txt; git add cli.txt;"
                 "git -c user.name=c -c user.email=c@x commit -qm cli; git push -q origin HEAD:main",
                 dir, TOKEN, port),
            0);
        assert_int_equal(ap_git_repo_sync(r, &err), 0);
        _cleanup_buf_ struct ap_buf got = AP_BUF_INIT;
        bool found = false;
        assert_int_equal(ap_git_repo_read(r, "cli.txt", &got, &found, &err), 0);
        assert_true(found);
        assert_string_equal(got.data, "from-cli\n");

        /* smart HTTP passes both fault points */
        _cleanup_buf_ struct ap_buf points = AP_BUF_INIT;
        char url[256], cache[600];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/git/app.git", port);
        snprintf(cache, sizeof(cache), "%s/cache-points", dir);
        struct ap_git_repo_config cfg = {.url = url,
                                         .cache_dir = cache,
                                         .token = TOKEN,
                                         .fault_hook = record_point,
                                         .hook_userdata = &points};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *p = NULL;
        assert_int_equal(ap_git_repo_new(&cfg, &p, &err), 0);
        assert_int_equal(push_one(p, "points.txt", "p\n", &err), 0);
        assert_string_equal(points.data, "after-local-commit;push-sending;");
}

static void test_bad_tokens(void **state)
{
        unsigned before = commits();
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *wrong = open_http("not-the-token", "wrong");
        assert_int_equal(push_one(wrong, "x", "x", &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "'app-platform'"));
        assert_non_null(strstr(err.msg, "authentication failed"));
        assert_null(strstr(err.msg, "not-the-token")); /* secrets never in messages */

        _cleanup_(ap_git_repo_freep) struct ap_git_repo *none = open_http(NULL, "none");
        assert_int_equal(push_one(none, "x", "x", &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "none are configured"));
        assert_int_equal(commits(), before);
}

/* A token source like the operator's (a GitHub App installation token from the forge): counts its calls,
 * fails the first `failures` calls with `code`, hands out `token` after that. */
struct token_source {
        const char *token;
        int failures, code, calls;
};

static int give_token(void *userdata, struct ap_buf *out, struct ap_error *err)
{
        struct token_source *t = userdata;
        t->calls++;
        if (t->failures > 0) {
                t->failures--;
                return ap_error_set(err, t->code, "the forge is not answering (test)");
        }
        return ap_buf_addstr(out, t->token);
}

static void test_token_callback(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct token_source good = {.token = TOKEN};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_http_fn("ignored", "fn", give_token, &good);
        unsigned before = commits();
        int rc = push_one(r, "fn.txt", "one\n", &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        int after_first = good.calls;
        assert_true(after_first >= 1);
        assert_int_equal(push_one(r, "fn.txt", "two\n", &err), 0);
        assert_true(good.calls > after_first); /* asked again: a token that expired meanwhile is replaced */
        assert_int_equal(commits(), before + 2);

        /* the token source is down for a moment: retried like a network failure */
        struct token_source flaky = {.token = TOKEN, .failures = 2, .code = AP_E_UNAVAILABLE};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *f = open_http_fn(NULL, "flaky", give_token, &flaky);
        rc = push_one(f, "fn.txt", "three\n", &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(commits(), before + 3);

        /* a failure retrying cannot help ends the call with its code and message */
        struct token_source denied = {.token = TOKEN, .failures = 100, .code = AP_E_FORBIDDEN};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *d =
            open_http_fn(NULL, "denied", give_token, &denied);
        assert_int_equal(push_one(d, "fn.txt", "four\n", &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "'app-platform'"));
        assert_non_null(strstr(err.msg, "the forge is not answering (test)"));
        assert_int_equal(denied.calls, 1);

        /* a wrong token from the callback is bad credentials, like a wrong static one */
        struct token_source wrong = {.token = "not-the-token"};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *w =
            open_http_fn(NULL, "fnwrong", give_token, &wrong);
        assert_int_equal(push_one(w, "fn.txt", "five\n", &err), AP_E_UNAUTHORIZED);
        assert_null(strstr(err.msg, "not-the-token"));
        assert_int_equal(commits(), before + 3);
}

static void test_missing_http_repo(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        char url[256], cache[600];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/git/missing.git", port);
        snprintf(cache, sizeof(cache), "%s/cache-missing", dir);
        struct ap_git_repo_config cfg = {
            .url = url, .cache_dir = cache, .token = TOKEN, .retry_timeout_ms = 1000};
        struct ap_git_repo *r = NULL;
        assert_int_equal(ap_git_repo_new(&cfg, &r, &err), 0);
        assert_int_equal(push_one(r, "x", "x", &err), AP_E_NOT_FOUND);
        ap_git_repo_free(r);
}

static void test_local_path_remote(void **state)
{
        char bare[600], cache[600];
        snprintf(bare, sizeof(bare), "%s/local.git", dir);
        snprintf(cache, sizeof(cache), "%s/cache-local", dir);
        assert_int_equal(t_sh(NULL, "git init -q --bare -b main '%s'", bare), 0);
        _cleanup_buf_ struct ap_buf points = AP_BUF_INIT;
        struct ap_git_repo_config cfg = {.url = bare,
                                         .cache_dir = cache,
                                         .branch = "main",
                                         .fault_hook = record_point,
                                         .hook_userdata = &points};
        struct ap_git_repo *r = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_git_repo_new(&cfg, &r, &err), 0);
        assert_int_equal(push_one(r, "apps/a/kustomization.yaml", "resources: []\n", &err), 0);
        /* the local transport passes both fault points too (it writes the pack into the remote) */
        assert_string_equal(points.data, "after-local-commit;push-sending;");
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(t_sh(&out, "git --git-dir='%s' show main:apps/a/kustomization.yaml", bare), 0);
        assert_string_equal(out.data, "resources: []\n");
        ap_git_repo_free(r);

        /* a missing local repository is named as such */
        char gone[600];
        snprintf(gone, sizeof(gone), "%s/gone.git", dir);
        cfg.url = gone;
        snprintf(cache, sizeof(cache), "%s/cache-gone", dir);
        assert_int_equal(ap_git_repo_new(&cfg, &r, &err), 0);
        assert_int_equal(push_one(r, "x", "x", &err), AP_E_NOT_FOUND);
        ap_git_repo_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_token_push_and_read), cmocka_unit_test(test_bad_tokens),
            cmocka_unit_test(test_token_callback),      cmocka_unit_test(test_missing_http_repo),
            cmocka_unit_test(test_local_path_remote),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
