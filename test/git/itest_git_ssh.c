/* itest_git_ssh.c - src/git against a real sshd serving bare repositories: one commit per change set,
 * byte-identical rewrites make no commit, a concurrent pusher never loses a change (and never causes a
 * merge commit), pushes wait out a remote outage, and faults (host key, credentials, missing repo,
 * refused push) give clear errors. Results are checked with the git CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "base/clock.h"
#include "gitfixture.h"

static int setup(void **state)
{
        return fx_setup("gitssh");
}

static int teardown(void **state)
{
        return fx_teardown();
}

static struct ap_git_repo *open_repo(struct ap_git_repo_config cfg)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_repo *r = NULL;
        int rc = ap_git_repo_new(&cfg, &r, &err);
        if (rc < 0)
                fail_msg("ap_git_repo_new: %s", err.msg);
        return r;
}

static int push_files(struct ap_git_repo *r, const char *subject, const struct ap_git_change *c, size_t n,
                      struct ap_git_push_result *res, struct ap_error *err)
{
        struct ap_git_commit_request req = {
            .changes = c,
            .n_changes = n,
            .subject = subject,
            .body = "Written by the git integration test.",
            .app = "acme",
            .requested_by = "alice@example.test",
        };
        return ap_git_repo_commit_push(r, &req, res, err);
}

#define FILE_(p, s)                                                                                          \
        {                                                                                                    \
                .path = (p), .data = (s), .len = strlen(s)                                                   \
        }

static void test_first_push_then_unchanged(void **state)
{
        assert_non_null(fx_bare("first"));
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(fx_config("first"));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change c[] = {
            FILE_(".sops.yaml", "creation_rules: []\n"),
            FILE_("secrets/acme-dev/db.sops.yaml", "apiVersion: v1\nkind: Secret\n"),
        };
        int rc = push_files(r, "secrets: add acme/db -> acme-dev", c, 2, &res, &err);
        assert_int_equal(rc, 0);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_false(res.unchanged);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(fx_count_commits("first"), 1);

        /* the git CLI sees exactly what we wrote, with the trailers and author */
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "first", "rev-parse main"), 0);
        assert_string_equal(out.data, res.commit);
        assert_int_equal(fx_git(&out, "first", "show main:secrets/acme-dev/db.sops.yaml"), 0);
        assert_string_equal(out.data, "apiVersion: v1\nkind: Secret");
        assert_int_equal(fx_git(&out, "first", "log -1 --format='%%an <%%ae>%%n%%B' main"), 0);
        assert_non_null(
            strstr(out.data, "Test Operator <operator@example.test>\nsecrets: add acme/db -> acme-dev\n"));
        assert_int_equal(fx_git(&out, "first", "log -1 --format='%%(trailers:key=App,valueonly)' main"), 0);
        assert_string_equal(out.data, "acme");
        assert_int_equal(
            fx_git(&out, "first", "log -1 --format='%%(trailers:key=Requested-by,valueonly)' main"), 0);
        assert_string_equal(out.data, "alice@example.test");
        char clone[800];
        snprintf(clone, sizeof(clone), "%s/first-clone", fx.dir);
        assert_int_equal(t_sh(NULL,
                              "git clone -q '%s/first.git' '%s' && cmp -s '%s/.sops.yaml' - <<'EOF'\n"
                              "creation_rules: []\nEOF",
                              fx.dir, clone, clone),
                         0);

        /* byte-identical rewrite: no commit, from the same object and from a fresh one (cold cache) */
        assert_int_equal(push_files(r, "secrets: add acme/db -> acme-dev", c, 2, &res, &err), 0);
        assert_true(res.unchanged);
        assert_int_equal(res.attempts, 0);
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *cold = open_repo(fx_config("first"));
        assert_int_equal(push_files(cold, "again", c, 1, &res, &err), 0);
        assert_true(res.unchanged);
        assert_int_equal(fx_count_commits("first"), 1);

        /* deleting a file that is not there is a no-op too */
        struct ap_git_change gone = {.path = "nope/never.yaml", .remove = true};
        assert_int_equal(push_files(r, "remove nothing", &gone, 1, &res, &err), 0);
        assert_true(res.unchanged);
}

static int collect(const char *path, void *userdata)
{
        struct ap_buf *b = userdata;
        return ap_buf_printf(b, "%s;", path) < 0 ? -1 : 0;
}

static void test_update_and_delete_in_one_commit(void **state)
{
        assert_non_null(fx_bare("upd"));
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(fx_config("upd"));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change c1[] = {FILE_("a/one", "1\n"), FILE_("a/two", "2\n"), FILE_("b/three", "3\n")};
        assert_int_equal(push_files(r, "three files", c1, 3, &res, &err), 0);
        char first[41];
        snprintf(first, sizeof(first), "%s", res.commit);
        struct ap_git_change c2[] = {FILE_("a/one", "uno\n"), {.path = "b/three", .remove = true}};
        assert_int_equal(push_files(r, "update one, delete three", c2, 2, &res, &err), 0);

        /* which files an older commit holds as they are at the tip */
        bool same = false;
        const char *two[] = {"a/two"}, *one_two[] = {"a/one", "a/two"}, *three[] = {"b/three"};
        const char *never[] = {"c/never"};
        assert_int_equal(ap_git_repo_same_at(r, first, two, 1, &same, &err), 0);
        assert_true(same);
        assert_int_equal(ap_git_repo_same_at(r, first, one_two, 2, &same, &err), 0);
        assert_false(same); /* a/one changed since */
        assert_int_equal(ap_git_repo_same_at(r, first, three, 1, &same, &err), 0);
        assert_false(same); /* deleted since */
        assert_int_equal(ap_git_repo_same_at(r, first, never, 1, &same, &err), 0);
        assert_true(same); /* absent in both */
        assert_int_equal(ap_git_repo_same_at(r, res.commit, one_two, 2, &same, &err), 0);
        assert_true(same);
        same = true;
        assert_int_equal(
            ap_git_repo_same_at(r, "0123456789012345678901234567890123456789", two, 1, &same, &err), 0);
        assert_false(same); /* not a commit the cache holds */
        same = true;
        assert_int_equal(ap_git_repo_same_at(r, "nothex", two, 1, &same, &err), 0);
        assert_false(same);
        const char *bad_path[] = {"../x"};
        assert_int_equal(ap_git_repo_same_at(r, first, bad_path, 1, &same, &err), AP_E_INVALID);
        assert_int_equal(fx_count_commits("upd"), 2);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "upd", "ls-tree -r --name-only main"), 0);
        assert_string_equal(out.data, "a/one\na/two"); /* the emptied folder b/ is gone */
        assert_int_equal(fx_git(&out, "upd", "show main:a/one"), 0);
        assert_string_equal(out.data, "uno");

        /* reads see the tip */
        _cleanup_buf_ struct ap_buf got = AP_BUF_INIT;
        bool found = false;
        assert_int_equal(ap_git_repo_read(r, "a/two", &got, &found, &err), 0);
        assert_true(found);
        assert_string_equal(got.data, "2\n");
        assert_int_equal(ap_git_repo_read(r, "b/three", &got, &found, &err), 0);
        assert_false(found);

        /* listing: a folder, the whole tree, a missing folder */
        _cleanup_buf_ struct ap_buf seen = AP_BUF_INIT;
        assert_int_equal(ap_git_repo_list(r, "a", collect, &seen, &err), 0);
        assert_string_equal(seen.data, "a/one;a/two;");
        ap_buf_reset(&seen);
        assert_int_equal(ap_git_repo_list(r, NULL, collect, &seen, &err), 0);
        assert_string_equal(seen.data, "a/one;a/two;");
        ap_buf_reset(&seen);
        assert_int_equal(ap_git_repo_list(r, "b", collect, &seen, &err), 0);
        assert_string_equal(seen.data, "");

        /* bad paths are refused before anything is written */
        struct ap_git_change bad[] = {FILE_("../escape", "x"), FILE_(".git/config", "x"), FILE_("/abs", "x")};
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(push_files(r, "bad", &bad[i], 1, &res, &err), AP_E_INVALID);
                assert_non_null(strstr(err.msg, "'upd'"));
        }
        struct ap_git_change dup[] = {FILE_("x", "1"), FILE_("x", "2")};
        assert_int_equal(push_files(r, "dup", dup, 2, &res, &err), AP_E_INVALID);
        assert_int_equal(fx_count_commits("upd"), 2);
}

/* Another process pushes between our fetch and our push. */
static void push_from_elsewhere(void *userdata, unsigned attempt)
{
        const char *name = userdata;
        if (attempt != 1)
                return;
        char clone[800];
        snprintf(clone, sizeof(clone), "%s/%s-other-%u", fx.dir, name, attempt);
        int rc = t_sh(
            NULL,
            "set -e; git clone -q '%s/%s.git' '%s'; cd '%s'; echo theirs > theirs.txt; git add theirs.txt;"
            "git -c user.name=Other -c user.email=o@x commit -qm 'their change'; git push -q origin "
            "HEAD:main",
            fx.dir, name, clone, clone);
        if (rc != 0)
                fail_msg("the concurrent push failed");
}

static void test_race_with_another_pusher(void **state)
{
        assert_non_null(fx_bare("race"));
        struct ap_git_repo_config cfg = fx_config("race");
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change base = FILE_("base.txt", "base\n");
        assert_int_equal(push_files(r, "base", &base, 1, &res, &err), 0);

        cfg.before_push = push_from_elsewhere;
        cfg.hook_userdata = "race";
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *racer = open_repo(cfg);
        struct ap_git_change ours = FILE_("ours.txt", "ours\n");
        int rc = push_files(racer, "our change", &ours, 1, &res, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.attempts, 2); /* refused once, re-applied on the new tip */
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "race", "log --format=%%s main"), 0);
        assert_string_equal(out.data, "our change\ntheir change\nbase");
        assert_int_equal(fx_git(&out, "race", "rev-list --merges --count main"), 0);
        assert_string_equal(out.data, "0");
        assert_int_equal(fx_git(&out, "race", "ls-tree --name-only main"), 0);
        assert_string_equal(out.data, "base.txt\nours.txt\ntheirs.txt");
}

/* An idle repository closes its session and handle, and the next call opens them again: the push lands
 * on the current tip, also when another writer pushed while it was closed. */
static void test_release_idle(void **state)
{
        assert_non_null(fx_bare("idle"));
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(fx_config("idle"));
        assert_false(ap_git_repo_release_idle(r, 0)); /* nothing opened yet */
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change a = FILE_("a.txt", "a\n");
        assert_int_equal(push_files(r, "a", &a, 1, &res, &err), 0);
        assert_false(ap_git_repo_release_idle(r, 3600 * 1000)); /* used just now */
        assert_true(ap_git_repo_release_idle(r, 0));
        assert_false(ap_git_repo_release_idle(r, 0)); /* closed already */

        struct ap_git_change b = FILE_("b.txt", "b\n");
        assert_int_equal(push_files(r, "b", &b, 1, &res, &err), 0);
        assert_int_equal(res.attempts, 1);
        assert_true(ap_git_repo_release_idle(r, 0));
        push_from_elsewhere("idle", 1); /* another writer, while ours is closed */
        struct ap_git_change c = FILE_("c.txt", "c\n");
        int rc = push_files(r, "c", &c, 1, &res, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "idle", "log --format=%%s main"), 0);
        assert_string_equal(out.data, "c\ntheir change\nb\na");
        assert_int_equal(fx_git(&out, "idle", "ls-tree --name-only main"), 0);
        assert_string_equal(out.data, "a.txt\nb.txt\nc.txt\ntheirs.txt");
        /* a byte-identical rewrite after closing still makes no commit */
        assert_true(ap_git_repo_release_idle(r, 0));
        assert_int_equal(push_files(r, "c again", &c, 1, &res, &err), 0);
        assert_true(res.unchanged);
}

struct pusher {
        struct ap_git_repo *r;
        int id;
        int failures;
};

static void *push_many(void *arg)
{
        struct pusher *p = arg;
        for (int i = 0; i < 5; i++) {
                char path[64], data[64], subject[64];
                snprintf(path, sizeof(path), "p%d/f%d", p->id, i);
                snprintf(data, sizeof(data), "%d-%d\n", p->id, i);
                snprintf(subject, sizeof(subject), "pusher %d file %d", p->id, i);
                struct ap_git_change c = FILE_(path, data);
                struct ap_error err = AP_ERROR_INIT;
                struct ap_git_push_result res;
                if (push_files(p->r, subject, &c, 1, &res, &err) < 0) {
                        fprintf(stderr, "# pusher %d: %s\n", p->id, err.msg);
                        p->failures++;
                }
        }
        return NULL;
}

/* Threads sharing one repo object (serialised by its lock) and threads with their own caches (racing
 * for real on the server): every change lands once, no merge commits. */
static void test_concurrent_pushers(void **state)
{
        assert_non_null(fx_bare("many"));
        struct ap_git_repo *shared = open_repo(fx_config("many"));
        struct ap_git_repo *own[2] = {open_repo(fx_config("many")), open_repo(fx_config("many"))};
        struct pusher p[4] = {{shared, 0, 0}, {shared, 1, 0}, {own[0], 2, 0}, {own[1], 3, 0}};
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
                pthread_create(&t[i], NULL, push_many, &p[i]);
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        for (int i = 0; i < 4; i++)
                assert_int_equal(p[i].failures, 0);
        assert_int_equal(fx_count_commits("many"), 20);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "many", "ls-tree -r --name-only main | wc -l"), 0);
        assert_string_equal(out.data, "20");
        assert_int_equal(fx_git(&out, "many", "rev-list --merges --count main"), 0);
        assert_string_equal(out.data, "0");
        ap_git_repo_free(shared);
        ap_git_repo_free(own[0]);
        ap_git_repo_free(own[1]);
}

static void *restart_later(void *arg)
{
        usleep(2500 * 1000);
        fx_restart_sshd();
        return NULL;
}

static void test_remote_down_then_back(void **state)
{
        assert_non_null(fx_bare("down"));
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(fx_config("down"));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change c = FILE_("one", "1\n");
        assert_int_equal(push_files(r, "before the outage", &c, 1, &res, &err), 0);

        fx_stop_sshd();
        pthread_t t;
        pthread_create(&t, NULL, restart_later, NULL);
        struct ap_git_change c2 = FILE_("two", "2\n");
        int64_t t0 = ap_mono_ms();
        int rc = push_files(r, "during the outage", &c2, 1, &res, &err);
        int64_t waited = ap_mono_ms() - t0;
        pthread_join(t, NULL);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(waited >= 2000); /* it waited for the server */
        assert_true(res.attempts >= 2);
        assert_int_equal(fx_count_commits("down"), 2);

        /* with a short retry budget an outage ends in a clear error naming the repo */
        fx_stop_sshd();
        struct ap_git_repo_config cfg = fx_config("down");
        cfg.retry_timeout_ms = 600;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *quick = open_repo(cfg);
        struct ap_git_change c3 = FILE_("three", "3\n");
        assert_int_equal(push_files(quick, "never lands", &c3, 1, &res, &err), AP_E_TIMEOUT);
        assert_non_null(strstr(err.msg, "'down'"));
        assert_non_null(strstr(err.msg, "unreachable"));
        fx_restart_sshd();
}

static void test_faults(void **state)
{
        assert_non_null(fx_bare("faults"));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change c = FILE_("f", "x\n");

        /* a host key that is not the server's */
        struct ap_git_repo_config cfg = fx_config("faults");
        char kh[512];
        snprintf(kh, sizeof(kh),
                 "[127.0.0.1]:%u ssh-ed25519 "
                 "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
                 fx.port);
        cfg.known_hosts = kh;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r1 = open_repo(cfg);
        assert_int_equal(push_files(r1, "x", &c, 1, &res, &err), -EKEYREJECTED);
        assert_non_null(strstr(err.msg, "'faults'"));
        assert_non_null(strstr(err.msg, "does not match the pinned known_hosts"));

        /* a host not in known_hosts at all */
        cfg.known_hosts = "[other.example]:22 ssh-ed25519 "
                          "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r2 = open_repo(cfg);
        assert_int_equal(push_files(r2, "x", &c, 1, &res, &err), -ENOKEY);

        /* a key the server does not know */
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *stranger = NULL;
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_ssh_key_generate("stranger", &stranger, &err), 0);
        assert_int_equal(ap_ssh_key_write_private(stranger, &text, &err), 0);
        cfg = fx_config("faults");
        cfg.identity = text.data;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r3 = open_repo(cfg);
        assert_int_equal(push_files(r3, "x", &c, 1, &res, &err), AP_E_UNAUTHORIZED);
        assert_non_null(strstr(err.msg, "authentication failed"));

        /* a repository that does not exist */
        cfg = fx_config("faults");
        cfg.url = fx_ssh_url("no-such-repo");
        cfg.retry_timeout_ms = 3000;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r4 = open_repo(cfg);
        assert_int_equal(push_files(r4, "x", &c, 1, &res, &err), AP_E_NOT_FOUND);
        assert_non_null(strstr(err.msg, "does not exist"));

        /* the server refuses the ref (a pre-receive hook) */
        char hook[800];
        snprintf(hook, sizeof(hook), "%s/faults.git/hooks/pre-receive", fx.dir);
        assert_int_equal(t_write(hook, "#!/bin/sh\necho 'branch is frozen' >&2\nexit 1\n"), 0);
        assert_int_equal(chmod(hook, 0755), 0);
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r5 = open_repo(fx_config("faults"));
        assert_int_equal(push_files(r5, "x", &c, 1, &res, &err), AP_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "refused"));
        assert_non_null(strstr(err.msg, "(the server said: branch is frozen)")); /* the hook's reason */
        unlink(hook);
        assert_int_equal(fx_count_commits("faults"), 0);
        /* and once the hook is gone the same object pushes fine */
        assert_int_equal(push_files(r5, "x", &c, 1, &res, &err), 0);
        assert_int_equal(fx_count_commits("faults"), 1);
        /* a lock file a crashed push left on the server: retried as a moving branch, and the error says
         * which file is in the way */
        char lock[800];
        snprintf(lock, sizeof(lock), "%s/faults.git/refs/heads/main.lock", fx.dir);
        assert_int_equal(t_write(lock, ""), 0);
        cfg = fx_config("faults");
        cfg.retry_timeout_ms = 1500;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r6 = open_repo(cfg);
        struct ap_git_change c2 = FILE_("y.yaml", "b: 2\n");
        assert_int_equal(push_files(r6, "y", &c2, 1, &res, &err), AP_E_TIMEOUT); /* gave up */
        print_message("# %s\n", err.msg);
        assert_non_null(strstr(err.msg, "main.lock"));
        unlink(lock);
        assert_int_equal(push_files(r6, "y", &c2, 1, &res, &err), 0);
        assert_int_equal(fx_count_commits("faults"), 2);
}

/* Killed between building the commit and pushing it: a fresh process starts clean, the change lands
 * exactly once; a cache broken on disk is rebuilt. */
static void crash_now(void *userdata, unsigned attempt)
{
        _exit(42);
}

static void test_crash_midway_and_broken_cache(void **state)
{
        assert_non_null(fx_bare("crash"));
        struct ap_git_repo_config cfg = fx_config("crash");
        struct ap_git_change c = FILE_("state.yaml", "v: 1\n");
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        pid_t pid = fork();
        if (pid == 0) {
                struct ap_git_repo_config dying = cfg;
                dying.before_push = crash_now;
                struct ap_git_repo *r = NULL;
                if (ap_git_repo_new(&dying, &r, NULL) < 0)
                        _exit(1);
                push_files(r, "never pushed", &c, 1, &res, NULL);
                _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        assert_int_equal(WEXITSTATUS(st), 42);
        assert_int_equal(fx_count_commits("crash"), 0);

        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        assert_int_equal(push_files(r, "pushed after the crash", &c, 1, &res, &err), 0);
        assert_int_equal(fx_count_commits("crash"), 1);

        /* break the cache on disk; the next object notices and reclones */
        assert_int_equal(
            t_sh(NULL, "rm -f '%s/HEAD' && echo junk > '%s/config'", cfg.cache_dir, cfg.cache_dir), 0);
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *again = open_repo(cfg);
        struct ap_git_change c2 = FILE_("state.yaml", "v: 2\n");
        assert_int_equal(push_files(again, "after a broken cache", &c2, 1, &res, &err), 0);
        assert_int_equal(fx_count_commits("crash"), 2);
}

/* Full disk under the cache: a clear error, nothing pushed, and once there is room again the same cache
 * works. The cache sits on a small tmpfs in a private mount namespace of a child process (so the host
 * never sees the mount); the child reports by exit code. */
static int full_disk_child(const char *cache)
{
        if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return 10;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdir(cache, 0700) < 0 ||
            mount("tmpfs", cache, "tmpfs", 0, "size=96k") < 0)
                return 11;
        char dirpath[720];
        snprintf(dirpath, sizeof(dirpath), "%s/c", cache);
        struct ap_git_repo_config cfg = fx_config("disk");
        cfg.cache_dir = dirpath;
        cfg.retry_timeout_ms = 2000;
        struct ap_git_repo *r = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_git_repo_new(&cfg, &r, &err) < 0)
                return 12;
        /* 1 MiB that zlib cannot shrink */
        size_t n = 1 << 20;
        unsigned char *big = malloc(n);
        FILE *ur = fopen("/dev/urandom", "r");
        if (!big || !ur || fread(big, 1, n, ur) != n)
                return 13;
        fclose(ur);
        struct ap_git_change c = {.path = "big.bin", .data = big, .len = n};
        struct ap_git_push_result res;
        int rc = push_files(r, "too big for the disk", &c, 1, &res, &err);
        if (rc != AP_E_NO_SPACE || !strstr(err.msg, "'disk'") || !strstr(err.msg, "full")) {
                fprintf(stderr, "# full disk gave %d: %s\n", rc, err.msg);
                return 14;
        }
        if (fx_count_commits("disk") != 1)
                return 15;
        /* room again: the same object and cache push the change */
        if (mount(NULL, cache, NULL, MS_REMOUNT, "size=16m") < 0)
                return 16;
        rc = push_files(r, "fits now", &c, 1, &res, &err);
        if (rc < 0) {
                fprintf(stderr, "# after remount: %s\n", err.msg);
                return 17;
        }
        ap_git_repo_free(r);
        free(big);
        return fx_count_commits("disk") == 2 ? 0 : 18;
}

static void test_full_disk(void **state)
{
        assert_non_null(fx_bare("disk"));
        assert_int_equal(t_sh(NULL,
                              "set -e; d=$(mktemp -d); git clone -q '%s/disk.git' $d; cd $d; echo 1 > one;"
                              "git add one; git -c user.name=a -c user.email=a@x commit -qm one; git push -q "
                              "origin HEAD:main",
                              fx.dir),
                         0);
        char cache[700];
        snprintf(cache, sizeof(cache), "%s/small-disk", fx.dir);
        pid_t pid = fork();
        if (pid == 0)
                _exit(full_disk_child(cache));
        int st = 0;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_signed_commits_verify(void **state)
{
        assert_non_null(fx_bare("signed"));
        struct ap_git_repo_config cfg = fx_config("signed");
        cfg.signing_key = fx.key;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_push_result res;
        struct ap_git_change c = FILE_("signed.txt", "signed\n");
        assert_int_equal(push_files(r, "a signed change", &c, 1, &res, &err), 0);

        _cleanup_buf_ struct ap_buf pub = AP_BUF_INIT, out = AP_BUF_INIT;
        ap_ssh_key_write_public(fx.key, &pub);
        char signers[800];
        snprintf(signers, sizeof(signers), "%s/allowed_signers", fx.dir);
        char line[1024];
        snprintf(line, sizeof(line), "operator@example.test %s\n", pub.data);
        assert_int_equal(t_write(signers, line), 0);
        assert_int_equal(
            fx_git(&out, "signed",
                   "-c gpg.ssh.allowedSignersFile='%s' log -1 --show-signature --format=%%G?:%%s main 2>&1",
                   signers),
            0);
        assert_non_null(strstr(out.data, "Good \"git\" signature for operator@example.test"));
        assert_non_null(strstr(out.data, "G:a signed change"));
        assert_int_equal(
            fx_git(&out, "signed", "-c gpg.ssh.allowedSignersFile='%s' verify-commit main 2>&1", signers), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_push_then_unchanged),
            cmocka_unit_test(test_update_and_delete_in_one_commit),
            cmocka_unit_test(test_race_with_another_pusher),
            cmocka_unit_test(test_release_idle),
            cmocka_unit_test(test_concurrent_pushers),
            cmocka_unit_test(test_remote_down_then_back),
            cmocka_unit_test(test_faults),
            cmocka_unit_test(test_crash_midway_and_broken_cache),
            cmocka_unit_test(test_full_disk),
            cmocka_unit_test(test_signed_commits_verify),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
