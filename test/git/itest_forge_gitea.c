/* itest_forge_gitea.c - the Gitea provider and src/git against a real Gitea (built from the Go module
 * proxy, started by test/git/giteaserver on loopback): create an org repository, add a read-only deploy
 * key (present / rotate), push over Gitea's SSH server with the operator key, set the default branch,
 * clone read-only with the deploy key (and fail to push with it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto/ssh_key.h"
#include "forge/forge.h"
#include "git/repo.h"
#include "testutil.h"

#define ORG "acme-org"

static char *dir;
static char api[128], token[128], known_hosts_path[600];
static unsigned ssh_port;
static struct ap_buf known_hosts, operator_identity;
static struct ap_ssh_key *operator_key;

static void env_value(const char *out, const char *key, char *dst, size_t n)
{
        const char *p = strstr(out, key);
        dst[0] = '\0';
        if (p) {
                p += strlen(key) + 1;
                snprintf(dst, n, "%.*s", (int)strcspn(p, "\n"), p);
        }
}

static int setup(void **state)
{
        signal(SIGPIPE, SIG_IGN);
        const char *server = getenv("GITEASERVER");
        dir = t_tmpdir("gitea");
        if (!server || !dir)
                return -1;
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (t_sh(&out, "'%s' start '%s'", server, dir) != 0) {
                fprintf(stderr, "# gitea did not start (see %s/log)\n", dir);
                return -1;
        }
        char port[16];
        env_value(out.data, "GITEA_API", api, sizeof(api));
        env_value(out.data, "GITEA_TOKEN", token, sizeof(token));
        env_value(out.data, "GITEA_SSH_PORT", port, sizeof(port));
        env_value(out.data, "GITEA_KNOWN_HOSTS", known_hosts_path, sizeof(known_hosts_path));
        ssh_port = (unsigned)strtoul(port, NULL, 10);
        ap_buf_init(&known_hosts, 1 << 16);
        ap_buf_init_secret(&operator_identity, 1 << 16);
        if (!api[0] || !token[0] || ap_read_file(known_hosts_path, &known_hosts, NULL) < 0)
                return -1;
        /* the organisation exists before the operator runs; the operator's key belongs to a user allowed to
         * push (here the admin) */
        if (t_sh(NULL,
                 "curl -fsS -H 'Authorization: token %s' -H 'Content-Type: application/json' "
                 "-d '{\"username\":\"" ORG "\"}' %s/orgs >/dev/null",
                 token, api) != 0)
                return -1;
        _cleanup_buf_ struct ap_buf pub = AP_BUF_INIT;
        if (ap_ssh_key_generate("operator@test", &operator_key, NULL) < 0 ||
            ap_ssh_key_write_private(operator_key, &operator_identity, NULL) < 0 ||
            ap_ssh_key_write_public(operator_key, &pub) < 0)
                return -1;
        return t_sh(NULL,
                    "curl -fsS -H 'Authorization: token %s' -H 'Content-Type: application/json' "
                    "-d '{\"title\":\"operator\",\"key\":\"%s\"}' %s/user/keys >/dev/null",
                    token, pub.data, api);
}

static int teardown(void **state)
{
        t_sh(NULL, "'%s' stop '%s'", getenv("GITEASERVER"), dir);
        if (!getenv("KEEP_TMP"))
                t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
        ap_buf_release(&known_hosts);
        ap_buf_release(&operator_identity);
        operator_key = ap_ssh_key_free(operator_key);
        return 0;
}

static struct ap_forge *gitea_owned(const char *tok, const char *owner)
{
        struct ap_forge_config cfg = {.kind = AP_FORGE_GITEA, .api_url = api, .owner = owner, .token = tok};
        struct ap_forge *f = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_forge_new(&cfg, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static struct ap_forge *gitea(const char *tok)
{
        return gitea_owned(tok, ORG);
}

/* HTTP status of GET /repos/{owner}/{name} */
static int repo_status(const char *owner, const char *name)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        t_sh(&out, "curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: token %s' %s/repos/%s/%s",
             token, api, owner, name);
        return (int)strtol(out.data, NULL, 10);
}

static void write_key(const char *name, const struct ap_ssh_key *k)
{
        _cleanup_buf_ struct ap_buf priv = AP_BUF_INIT_SECRET;
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(ap_ssh_key_write_private(k, &priv, NULL), 0);
        assert_int_equal(t_write(path, priv.data), 0);
}

static int git_with_key(const char *keyname, const char *cmd)
{
        return t_sh(NULL,
                    "cd '%s' && GIT_SSH_COMMAND=\"ssh -i '%s/%s' -o IdentitiesOnly=yes -o BatchMode=yes "
                    "-o UserKnownHostsFile='%s' -o StrictHostKeyChecking=yes\" %s >>'%s/git-cli.log' 2>&1",
                    dir, dir, keyname, known_hosts_path, cmd, dir);
}

static void test_repo_keys_push_clone(void **state)
{
        _cleanup_(ap_forge_freep) struct ap_forge *f = gitea(token);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        int rc = ap_forge_ensure_repo(f, "demo-platform", "platform repo of demo", &r, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(r.created);
        assert_true(r.is_private);
        char want[256];
        snprintf(want, sizeof(want), "ssh://git@127.0.0.1:%u/" ORG "/demo-platform.git", ssh_port);
        assert_string_equal(r.ssh_url, want);
        assert_string_equal(r.clone_url, want); /* no template: Gitea's own ssh url */
        assert_int_equal(ap_forge_ensure_repo(f, "demo-platform", NULL, &r, &err), 0);
        assert_false(r.created);

        /* the known_hosts line Flux gets for this server, built by us, matches the pinned one */
        _cleanup_buf_ struct ap_buf pubfile = AP_BUF_INIT, line = AP_BUF_INIT;
        char hostpub[700];
        snprintf(hostpub, sizeof(hostpub), "%s/ssh/host_ed25519.pub", dir);
        assert_int_equal(ap_read_file(hostpub, &pubfile, &err), 0);
        struct ap_ssh_pubkey hk;
        ap_ssh_pubkey_init(&hk);
        assert_int_equal(ap_ssh_pubkey_parse(pubfile.data, pubfile.len, &hk, &err), 0);
        assert_int_equal(ap_ssh_known_hosts_line("127.0.0.1", ssh_port, &hk, &line, &err), 0);
        assert_string_equal(line.data, known_hosts.data);
        ap_ssh_pubkey_release(&hk);

        /* deploy keys: add, already there, rotate */
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *d1 = NULL, *d2 = NULL;
        _cleanup_buf_ struct ap_buf l1 = AP_BUF_INIT, l2 = AP_BUF_INIT;
        assert_int_equal(ap_ssh_key_generate("flux@demo", &d1, &err), 0);
        assert_int_equal(ap_ssh_key_generate("flux@demo", &d2, &err), 0);
        ap_ssh_key_write_public(d1, &l1);
        ap_ssh_key_write_public(d2, &l2);
        enum ap_forge_key_result kr;
        rc = ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l1.data, false, &kr, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(kr, AP_FORGE_KEY_ADDED);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l1.data, false, &kr, &err),
                         0);
        assert_int_equal(kr, AP_FORGE_KEY_PRESENT);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "demo-platform", "flux", l2.data, true, &kr, &err), 0);
        assert_int_equal(kr, AP_FORGE_KEY_ROTATED);

        /* push over Gitea's SSH server with the operator key */
        char cache[700];
        snprintf(cache, sizeof(cache), "%s/cache-demo", dir);
        struct ap_git_repo_config gc = {.name = "demo-platform",
                                        .url = r.ssh_url,
                                        .cache_dir = cache,
                                        .identity = operator_identity.data,
                                        .known_hosts = known_hosts.data,
                                        .retry_timeout_ms = 10000};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *g = NULL;
        assert_int_equal(ap_git_repo_new(&gc, &g, &err), 0);
        const char *sops = "creation_rules:\n  - path_regex: secrets/.*\\.sops\\.yaml\n";
        struct ap_git_change c[] = {{.path = ".sops.yaml", .data = sops, .len = strlen(sops)},
                                    {.path = "README.md", .data = "# demo-platform\n", .len = 16}};
        struct ap_git_commit_request req = {.changes = c,
                                            .n_changes = 2,
                                            .subject = "platform: initial files",
                                            .app = "demo",
                                            .requested_by = "operator"};
        struct ap_git_push_result res;
        rc = ap_git_repo_commit_push(g, &req, &res, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_false(res.unchanged);
        assert_int_equal(ap_git_repo_commit_push(g, &req, &res, &err), 0);
        assert_true(res.unchanged);
        assert_int_equal(ap_forge_set_default_branch(f, "demo-platform", "main", &err), 0);
        assert_int_equal(ap_forge_ensure_repo(f, "demo-platform", NULL, &r, &err), 0);
        assert_string_equal(r.default_branch, "main");

        /* Flux's view: clone read-only with the (rotated) deploy key; the old key no longer works */
        write_key("deploy2", d2);
        write_key("deploy1", d1);
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "git clone -q %s flux-clone", r.ssh_url);
        assert_int_equal(git_with_key("deploy2", cmd), 0);
        _cleanup_buf_ struct ap_buf got = AP_BUF_INIT;
        char path[800];
        snprintf(path, sizeof(path), "%s/flux-clone/.sops.yaml", dir);
        assert_int_equal(ap_read_file(path, &got, &err), 0);
        assert_string_equal(got.data, sops);
        snprintf(cmd, sizeof(cmd), "git clone -q %s old-key-clone", r.ssh_url);
        assert_int_not_equal(git_with_key("deploy1", cmd), 0);
        /* read-only: pushing with the deploy key is refused */
        assert_int_not_equal(git_with_key("deploy2", "sh -c 'cd flux-clone && echo x > x && git add x && "
                                                     "git -c user.name=f -c user.email=f@x commit -qm x && "
                                                     "git push -q origin HEAD:main'"),
                             0);

        /* and src/git with the deploy key can read but its push fails with a clear error */
        _cleanup_buf_ struct ap_buf d2text = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_ssh_key_write_private(d2, &d2text, &err), 0);
        snprintf(cache, sizeof(cache), "%s/cache-deploy", dir);
        gc.identity = d2text.data;
        gc.cache_dir = cache;
        gc.retry_timeout_ms = 3000;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *ro = NULL;
        assert_int_equal(ap_git_repo_new(&gc, &ro, &err), 0);
        assert_int_equal(ap_git_repo_sync(ro, &err), 0);
        bool found = false;
        _cleanup_buf_ struct ap_buf readme = AP_BUF_INIT;
        assert_int_equal(ap_git_repo_read(ro, "README.md", &readme, &found, &err), 0);
        assert_true(found);
        struct ap_git_change w = {.path = "x", .data = "x", .len = 1};
        struct ap_git_commit_request wreq = {.changes = &w, .n_changes = 1, .subject = "must fail"};
        assert_int_equal(ap_git_repo_commit_push(ro, &wreq, &res, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "'demo-platform'"));
        assert_non_null(strstr(err.msg, "not authorized to write"));
}

static void test_gitea_errors(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        _cleanup_(ap_forge_freep) struct ap_forge *bad = gitea("0000000000000000000000000000000000000000");
        assert_int_equal(ap_forge_ensure_repo(bad, "demo-platform", NULL, &r, &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "http 401"));
        _cleanup_(ap_forge_freep) struct ap_forge *f = gitea(token);
        assert_int_equal(ap_forge_set_default_branch(f, "no-such-platform", "main", &err), AP_E_NOT_FOUND);
        enum ap_forge_key_result kr;
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        _cleanup_buf_ struct ap_buf l = AP_BUF_INIT;
        assert_int_equal(ap_ssh_key_generate(NULL, &k, &err), 0);
        ap_ssh_key_write_public(k, &l);
        assert_int_equal(ap_forge_ensure_deploy_key(f, "no-such-platform", "flux", l.data, false, &kr, &err),
                         AP_E_NOT_FOUND);
}

/* Owners: an organisation, the token's own user account (POST /user/repos), another user (refused), a
 * missing one (refused); nothing is ever created in the token's account instead. */
static void test_gitea_owners(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        _cleanup_(ap_forge_freep) struct ap_forge *mine = gitea_owned(token, "ap-admin");
        int rc = ap_forge_ensure_repo(mine, "own-platform", NULL, &r, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(r.created);
        assert_true(r.is_private);
        assert_int_equal(repo_status("ap-admin", "own-platform"), 200);

        assert_int_equal(
            t_sh(NULL,
                 "curl -fsS -H 'Authorization: token %s' -H 'Content-Type: application/json' -d "
                 "'{\"username\":\"someone\",\"email\":\"someone@example.test\",\"password\":"
                 "\"someone-password-1\",\"must_change_password\":false}' %s/admin/users >/dev/null",
                 token, api),
            0);
        _cleanup_(ap_forge_freep) struct ap_forge *other = gitea_owned(token, "someone");
        assert_int_equal(ap_forge_ensure_repo(other, "theirs-platform", NULL, &r, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "'someone'"));
        assert_non_null(strstr(err.msg, "'ap-admin'"));
        assert_int_equal(repo_status("someone", "theirs-platform"), 404);
        assert_int_equal(repo_status("ap-admin", "theirs-platform"), 404);

        _cleanup_(ap_forge_freep) struct ap_forge *ghost = gitea_owned(token, "ghost-org");
        assert_int_equal(ap_forge_ensure_repo(ghost, "x-platform", NULL, &r, &err), AP_E_NOT_FOUND);
        assert_non_null(strstr(err.msg, "'ghost-org'"));
        assert_int_equal(repo_status("ap-admin", "x-platform"), 404);
}

/* 409/422 by their bodies, delete and archive against the real server. */
static void test_gitea_422_delete_archive(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge_repo r;
        _cleanup_(ap_forge_freep) struct ap_forge *f = gitea(token);
        assert_int_equal(ap_forge_ensure_repo(f, "life-platform", NULL, &r, &err), 0);

        /* a description past Gitea's 2048 characters: invalid input, not "already exists" */
        char longdesc[3000];
        memset(longdesc, 'd', sizeof(longdesc) - 1);
        longdesc[sizeof(longdesc) - 1] = '\0';
        assert_int_equal(ap_forge_ensure_repo(f, "long-platform", longdesc, &r, &err), AP_E_INVALID);
        assert_int_equal(repo_status(ORG, "long-platform"), 404);

        /* the operator's own user key as a deploy key: Gitea says "has been used as non-deploy key" */
        _cleanup_buf_ struct ap_buf pub = AP_BUF_INIT;
        assert_int_equal(ap_ssh_key_write_public(operator_key, &pub), 0);
        enum ap_forge_key_result kr;
        assert_int_equal(ap_forge_ensure_deploy_key(f, "life-platform", "flux", pub.data, false, &kr, &err),
                         AP_E_EXISTS);
        assert_non_null(strstr(err.msg, "non-deploy key"));

        bool done = false;
        assert_int_equal(ap_forge_archive_repo(f, "life-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(ap_forge_archive_repo(f, "life-platform", &done, &err), 0);
        assert_false(done);
        assert_int_equal(ap_forge_ensure_repo(f, "life-platform", NULL, &r, &err), 0);
        assert_true(r.archived);
        assert_int_equal(ap_forge_delete_repo(f, "life-platform", &done, &err), 0);
        assert_true(done);
        assert_int_equal(repo_status(ORG, "life-platform"), 404);
        assert_int_equal(ap_forge_delete_repo(f, "life-platform", &done, &err), 0);
        assert_false(done);
        assert_int_equal(ap_forge_archive_repo(f, "life-platform", &done, &err), 0);
        assert_false(done);

        /* a token that may read but not delete: forbidden, with Gitea's reason */
        _cleanup_buf_ struct ap_buf ro = AP_BUF_INIT;
        assert_int_equal(ap_forge_ensure_repo(f, "kept-platform", NULL, &r, &err), 0);
        /* tokens are made with the password (basic auth), as Gitea's API asks */
        assert_int_equal(
            t_sh(&ro,
                 "curl -fsS -u ap-admin:ap-admin-password -H 'Content-Type: application/json' -d "
                 "'{\"name\":\"readonly\",\"scopes\":[\"read:repository\",\"read:user\"]}' "
                 "%s/users/ap-admin/tokens | sed -n 's/.*\"sha1\":\"\\([0-9a-f]*\\)\".*/\\1/p'",
                 api),
            0);
        while (ro.len && ro.data[ro.len - 1] == '\n')
                ap_buf_truncate(&ro, ro.len - 1);
        assert_true(ro.len >= 40);
        _cleanup_(ap_forge_freep) struct ap_forge *reader = gitea(ro.data);
        assert_int_equal(ap_forge_delete_repo(reader, "kept-platform", &done, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "'" ORG "/kept-platform'"));
        assert_int_equal(repo_status(ORG, "kept-platform"), 200);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_repo_keys_push_clone),
            cmocka_unit_test(test_gitea_errors),
            cmocka_unit_test(test_gitea_owners),
            cmocka_unit_test(test_gitea_422_delete_archive),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
