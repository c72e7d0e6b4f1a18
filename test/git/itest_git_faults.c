/* itest_git_faults.c - src/git under faults, against a real sshd (test/git/gitserver): a push whose
 * answer is lost after the server took it (the connection is cut right after the branch moved), the
 * process killed with SIGKILL at each fault point and restarted on the same cache (also after its push
 * landed), caches corrupted on disk, cancellation at each step, and "remove a folder" changes. The
 * remote is checked with the git CLI: every change lands exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "gitfixture.h"

static int setup(void **state)
{
        return fx_setup("gitfaults");
}

static int teardown(void **state)
{
        return fx_teardown();
}

static struct ap_git_repo *open_repo(struct ap_git_repo_config cfg)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_repo *r = NULL;
        if (ap_git_repo_new(&cfg, &r, &err) < 0)
                fail_msg("ap_git_repo_new: %s", err.msg);
        return r;
}

#define FILE_(p, s)                                                                                          \
        {                                                                                                    \
                .path = (p), .data = (s), .len = strlen(s)                                                   \
        }

static int push(struct ap_git_repo *r, const char *subject, const struct ap_git_change *c, size_t n,
                struct ap_git_push_result *res, struct ap_error *err)
{
        struct ap_git_commit_request req = {.changes = c, .n_changes = n, .subject = subject, .app = "acme"};
        return ap_git_repo_commit_push(r, &req, res, err);
}

static void must_push(struct ap_git_repo *r, const char *subject, const struct ap_git_change *c, size_t n,
                      struct ap_git_push_result *res)
{
        struct ap_error err = AP_ERROR_INIT;
        if (push(r, subject, c, n, res, &err) < 0)
                fail_msg("push '%s': %s", subject, err.msg);
}

/* commits on main whose subject is exactly s */
static unsigned count_subject(const char *name, const char *s)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        fx_git(&out, name, "log --format=%%s main 2>/dev/null | grep -cxF '%s'", s);
        return (unsigned)strtoul(out.data, NULL, 10);
}

static void tip_of(const char *name, char out[41])
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(fx_git(&b, name, "rev-parse main"), 0);
        snprintf(out, 41, "%s", b.data);
}

static void write_hook(const char *name, const char *hook, const char *text)
{
        char path[800];
        snprintf(path, sizeof(path), "%s/%s.git/hooks/%s", fx.dir, name, hook);
        assert_int_equal(t_write(path, text), 0);
        assert_int_equal(chmod(path, 0755), 0);
}

static void touch(const char *name, const char *file)
{
        char path[800];
        snprintf(path, sizeof(path), "%s/%s.git/%s", fx.dir, name, file);
        assert_int_equal(t_write(path, "1\n"), 0);
}

/* Runs in the remote (git-receive-pack's reference-transaction hook, git 2.28+), once per flag file:
 * after the branch was updated ("committed"), optionally lets another writer push on top, then ends
 * git-receive-pack with SIGKILL before it reports, or kills the client whose pid is in victim.pid. */
static const char lose_answer_hook[] =
    "#!/bin/sh\n"
    "[ \"$1\" = committed ] || exit 0\n"
    "[ -e drop-once ] || [ -e race-once ] || [ -e victim.pid ] || exit 0\n"
    "if [ -e race-once ]; then\n"
    "  rm -f race-once\n"
    "  repo=$(pwd); unset $(git rev-parse --local-env-vars)\n"
    "  d=$(mktemp -d) && git clone -q \"$repo\" \"$d\" && cd \"$d\" && echo theirs > theirs.txt &&\n"
    "    git add theirs.txt && git -c user.name=Other -c user.email=o@x commit -qm 'their change' &&\n"
    "    git push -q origin HEAD:main; cd \"$repo\"; rm -rf \"$d\"\n"
    "  touch drop-once\n"
    "fi\n"
    "if [ -e victim.pid ]; then kill -9 \"$(cat victim.pid)\"; rm -f victim.pid; exit 0; fi\n"
    "rm -f drop-once\n"
    "p=$PPID\n"
    "while [ \"$p\" -gt 1 ]; do\n"
    "  case \"$(cat /proc/$p/comm)\" in git-receive-pa*|git) kill -9 \"$p\"; exit 0 ;; esac\n"
    "  p=$(awk '{print $4}' /proc/$p/stat)\n"
    "done\n";

/* A bare repo <name> with lose_answer_hook and one commit "base"; the config of a cache for it. */
static struct ap_git_repo_config with_base(const char *name)
{
        assert_non_null(fx_bare(name));
        write_hook(name, "reference-transaction", lose_answer_hook);
        struct ap_git_repo_config cfg = fx_config(name);
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        struct ap_git_push_result res;
        struct ap_git_change base = FILE_("base.txt", "base\n");
        must_push(r, "base", &base, 1, &res);
        return cfg;
}

static void test_lost_answer(void **state)
{
        struct ap_git_repo_config cfg = with_base("lost");
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        struct ap_git_push_result res;

        /* the server takes the push, then the connection breaks before its answer */
        touch("lost", "drop-once");
        struct ap_git_change c = FILE_("secrets/ns/db.sops.yaml", "v: 1\n");
        must_push(r, "lost answer", &c, 1, &res);
        char tip[41];
        tip_of("lost", tip);
        assert_false(res.unchanged); /* it is the commit this call made */
        assert_string_equal(res.commit, tip);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(fx_count_commits("lost"), 2);
        assert_int_equal(count_subject("lost", "lost answer"), 1);

        /* the same, and someone else pushes on top before we look again: our commit is the ancestor */
        touch("lost", "race-once");
        struct ap_git_change c2 = FILE_("secrets/ns/db.sops.yaml", "v: 2\n");
        must_push(r, "lost answer, then a race", &c2, 1, &res);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "lost", "log --format=%%s main"), 0);
        assert_string_equal(out.data, "their change\nlost answer, then a race\nlost answer\nbase");
        assert_int_equal(fx_git(&out, "lost", "rev-parse main~1"), 0);
        assert_false(res.unchanged);
        assert_string_equal(res.commit, out.data);

        /* a later push of the same content is plain "unchanged" again */
        must_push(r, "again", &c2, 1, &res);
        assert_true(res.unchanged);
        assert_int_equal(fx_count_commits("lost"), 4);
}

/* Child processes killed with SIGKILL at a fault point, then a fresh process on the same cache. */
static const char *kill_point;

static void kill_at(void *userdata, const char *point)
{
        if (strcmp(point, kill_point) == 0)
                raise(SIGKILL);
}

static void write_victim_pid(void *userdata, unsigned attempt)
{
        char path[800], pid[32];
        snprintf(path, sizeof(path), "%s/%s.git/victim.pid", fx.dir, (const char *)userdata);
        snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (t_write(path, pid) < 0)
                _exit(3);
}

/* Fork; the child pushes c through cfg and must die by SIGKILL. */
static void die_pushing(struct ap_git_repo_config cfg, const struct ap_git_change *c, const char *subject)
{
        pid_t pid = fork();
        if (pid == 0) {
                struct ap_git_repo *r = NULL;
                struct ap_git_push_result res;
                if (ap_git_repo_new(&cfg, &r, NULL) < 0)
                        _exit(1);
                (void)push(r, subject, c, 1, &res, NULL);
                _exit(2); /* not killed: the fault point was never reached */
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_killed_at_each_point(void **state)
{
        static const char *const points[] = {"after-local-commit", "push-sending"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(points); i++) {
                char name[64];
                snprintf(name, sizeof(name), "kill%zu", i);
                struct ap_git_repo_config cfg = with_base(name);
                struct ap_git_push_result res;

                /* big enough that the pack goes out in several writes */
                _cleanup_free_ char *big = malloc(1 << 20);
                for (size_t k = 0; k < (1 << 20); k++)
                        big[k] = (char)('a' + (k * 7919 + k / 13) % 26);
                struct ap_git_change c = {.path = "secrets/ns/big.sops.yaml", .data = big, .len = 1 << 20};
                kill_point = points[i];
                struct ap_git_repo_config dying = cfg;
                dying.fault_hook = kill_at;
                die_pushing(dying, &c, "the change");
                unsigned after_crash = fx_count_commits(name);
                assert_true(after_crash == 1 || (i == 1 && after_crash == 2));

                /* restarted: same cache, same change, exactly one commit of it */
                _cleanup_(ap_git_repo_freep) struct ap_git_repo *again = open_repo(cfg);
                must_push(again, "the change", &c, 1, &res);
                assert_int_equal(fx_count_commits(name), 2);
                assert_int_equal(count_subject(name, "the change"), 1);
                char tip[41];
                tip_of(name, tip);
                assert_string_equal(res.commit, tip);
                _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
                assert_int_equal(fx_git(&out, name, "cat-file -s main:secrets/ns/big.sops.yaml"), 0);
                assert_string_equal(out.data, "1048576");
        }
}

/* The push lands, then the client is killed before it hears so: the restarted process finds its
 * commit (refs/ap-pending) and reports it as made, without a second commit. */
static void test_killed_after_landing(void **state)
{
        struct ap_git_repo_config cfg = with_base("landed");
        struct ap_git_push_result res;

        struct ap_git_change c = FILE_("secrets/ns/db.sops.yaml", "v: landed\n");
        struct ap_git_repo_config dying = cfg;
        dying.before_push = write_victim_pid;
        dying.hook_userdata = "landed";
        die_pushing(dying, &c, "landed unheard");
        assert_int_equal(fx_count_commits("landed"), 2); /* it did land */
        char landed[41];
        tip_of("landed", landed);

        _cleanup_(ap_git_repo_freep) struct ap_git_repo *again = open_repo(cfg);
        must_push(again, "landed unheard", &c, 1, &res);
        assert_false(res.unchanged);
        assert_string_equal(res.commit, landed);
        assert_int_equal(res.attempts, 0);
        assert_int_equal(fx_count_commits("landed"), 2);

        /* the trace is settled: the same change again is plainly unchanged, a new one pushes */
        must_push(again, "landed unheard", &c, 1, &res);
        assert_true(res.unchanged);
        struct ap_git_change next = FILE_("secrets/ns/db.sops.yaml", "v: next\n");
        must_push(again, "next", &next, 1, &res);
        assert_int_equal(fx_count_commits("landed"), 3);
}

/* A different change after a crash is not mistaken for the crashed one. */
static void test_killed_then_other_change(void **state)
{
        assert_non_null(fx_bare("other"));
        write_hook("other", "reference-transaction", lose_answer_hook);
        struct ap_git_repo_config cfg = fx_config("other");
        struct ap_git_change a = FILE_("a.txt", "a\n");
        struct ap_git_repo_config dying = cfg;
        dying.before_push = write_victim_pid;
        dying.hook_userdata = "other";
        die_pushing(dying, &a, "change a");
        assert_int_equal(fx_count_commits("other"), 1);

        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        struct ap_git_push_result res;
        struct ap_git_change b = FILE_("b.txt", "b\n");
        must_push(r, "change b", &b, 1, &res);
        assert_false(res.unchanged);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(fx_count_commits("other"), 2);
        /* and change a, sent again, is there already: unchanged (this call made nothing) */
        must_push(r, "change a", &a, 1, &res);
        assert_true(res.unchanged);
}

/* Run a shell command on the cache folder of cfg. */
static void on_cache(const struct ap_git_repo_config *cfg, const char *script)
{
        assert_int_equal(t_sh(NULL, "cd '%s' && %s", cfg->cache_dir, script), 0);
}

static void test_corrupt_caches(void **state)
{
        assert_non_null(fx_bare("corrupt"));
        struct ap_git_repo_config cfg = fx_config("corrupt");
        struct ap_git_push_result res;
        struct ap_error err = AP_ERROR_INIT;
        static const char *const damage[] = {
            /* every loose object overwritten with garbage */
            "for f in objects/[0-9a-f][0-9a-f]/*; do chmod u+w \"$f\"; echo garbage > \"$f\"; done",
            /* every object gone */
            "rm -rf objects/[0-9a-f][0-9a-f] objects/pack/*",
            /* the tracking ref is garbage */
            "echo 'not a ref' > refs/remotes/origin/main",
            /* packs truncated (after a repack) */
            "git -c gc.auto=0 repack -adq && for f in objects/pack/*.pack; do : > \"$f\"; done",
        };
        char want[64];
        for (size_t i = 0; i < AP_ARRAY_SIZE(damage); i++) {
                _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
                snprintf(want, sizeof(want), "v: %zu\n", i);
                struct ap_git_change c = FILE_("state.yaml", want);
                must_push(r, "before damage", &c, 1, &res);
                r = ap_git_repo_free(r);
                on_cache(&cfg, "touch marker"); /* gone once the cache was thrown away */
                on_cache(&cfg, damage[i]);

                /* the next process notices, re-clones by itself and carries on */
                _cleanup_(ap_git_repo_freep) struct ap_git_repo *again = open_repo(cfg);
                _cleanup_buf_ struct ap_buf got = AP_BUF_INIT;
                bool found = false;
                int rc = ap_git_repo_read(again, "state.yaml", &got, &found, &err);
                if (rc < 0)
                        fail_msg("damage %zu: %s", i, err.msg);
                assert_true(found);
                assert_string_equal(got.data, want);
                assert_int_not_equal(t_sh(NULL, "test -e '%s/marker'", cfg.cache_dir), 0);
                struct ap_git_change c2 = FILE_("state2.yaml", want);
                must_push(again, "after damage", &c2, 1, &res);
                assert_false(res.unchanged);
        }
        assert_int_equal(fx_count_commits("corrupt"), 2 * AP_ARRAY_SIZE(damage));

        /* damage under an open object: objects removed behind its back */
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *live = open_repo(cfg);
        assert_int_equal(ap_git_repo_sync(live, &err), 0);
        on_cache(&cfg, "touch marker && rm -rf objects/[0-9a-f][0-9a-f] objects/pack/*");
        _cleanup_buf_ struct ap_buf seen = AP_BUF_INIT;
        bool found = false;
        int rc = ap_git_repo_read(live, "state.yaml", &seen, &found, &err);
        if (rc < 0)
                fail_msg("%s", err.msg);
        assert_true(found);
        struct ap_git_change c3 = FILE_("state3.yaml", "after\n");
        must_push(live, "after live damage", &c3, 1, &res);
        assert_int_equal(count_subject("corrupt", "after live damage"), 1);
        assert_int_not_equal(t_sh(NULL, "test -e '%s/marker'", cfg.cache_dir), 0);
}

/* ---- cancellation ---- */

static atomic_bool cancel_flag;

static void cancel_at(void *userdata, const char *point)
{
        if (strcmp(point, (const char *)userdata) == 0)
                atomic_store(&cancel_flag, true);
}

static void *cancel_later(void *arg)
{
        ap_sleep_ms(300);
        atomic_store(&cancel_flag, true);
        return NULL;
}

static void test_cancel(void **state)
{
        assert_non_null(fx_bare("cancel"));
        struct ap_git_repo_config cfg = fx_config("cancel");
        struct ap_git_push_result res;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_change c = FILE_("x.txt", "x\n");

        /* already set: nothing happens */
        atomic_store(&cancel_flag, true);
        struct ap_git_commit_request req = {
            .changes = &c, .n_changes = 1, .subject = "x", .cancel = &cancel_flag};
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(cfg);
        assert_int_equal(ap_git_repo_commit_push(r, &req, &res, &err), AP_E_CANCELLED);
        assert_non_null(strstr(err.msg, "'cancel'"));
        assert_int_equal(fx_count_commits("cancel"), 0);

        /* set at each point of a push (config flag): cancelled, and the next push lands once */
        static const char *const points[] = {"after-local-commit", "push-sending"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(points); i++) {
                atomic_store(&cancel_flag, false);
                struct ap_git_repo_config cc = cfg;
                cc.cancel = &cancel_flag;
                cc.fault_hook = cancel_at;
                cc.hook_userdata = (void *)points[i];
                _cleanup_(ap_git_repo_freep) struct ap_git_repo *rc = open_repo(cc);
                char subject[64], data[64];
                snprintf(subject, sizeof(subject), "cancelled at %s", points[i]);
                snprintf(data, sizeof(data), "%zu\n", i);
                struct ap_git_change ci = FILE_("x.txt", data);
                assert_int_equal(push(rc, subject, &ci, 1, &res, &err), AP_E_CANCELLED);
                assert_int_equal(count_subject("cancel", subject), 0);
                /* the flag stays set: every call refuses, sync too */
                assert_int_equal(ap_git_repo_sync(rc, &err), AP_E_CANCELLED);
                rc = ap_git_repo_free(rc);
                _cleanup_(ap_git_repo_freep) struct ap_git_repo *next = open_repo(cfg);
                must_push(next, subject, &ci, 1, &res);
                assert_false(res.unchanged);
                assert_int_equal(count_subject("cancel", subject), 1);
        }

        /* during the backoff of an outage: back at once, not after the retry budget */
        atomic_store(&cancel_flag, false);
        fx_stop_sshd();
        struct ap_git_repo_config cd = cfg;
        cd.cancel = &cancel_flag;
        cd.retry_timeout_ms = 30000;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *down = open_repo(cd);
        pthread_t t;
        pthread_create(&t, NULL, cancel_later, NULL);
        int64_t t0 = ap_mono_ms();
        struct ap_git_change cdown = FILE_("down.txt", "d\n");
        assert_int_equal(push(down, "during an outage", &cdown, 1, &res, &err), AP_E_CANCELLED);
        pthread_join(t, NULL);
        assert_true(ap_mono_ms() - t0 < 5000);
        assert_int_equal(fx_restart_sshd(), 0);
}

/* ---- remove a folder ---- */

static void test_remove_dir(void **state)
{
        assert_non_null(fx_bare("rmdir"));
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_repo(fx_config("rmdir"));
        struct ap_git_push_result res;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_git_change files[] = {
            FILE_("apps/shop-platform/kustomization.yaml", "k\n"),
            FILE_("apps/shop-platform/sync.yaml", "s\n"),
            FILE_("apps/shop-platform/rbac/role.yaml", "r\n"),
            FILE_("apps/shopping/keep.yaml", "keep\n"),
            FILE_("secrets/shop-dev/db.sops.yaml", "db\n"),
            FILE_("secrets/shop-prod/db.sops.yaml", "db\n"),
        };
        must_push(r, "files", files, AP_ARRAY_SIZE(files), &res);

        /* one commit: a whole folder, and the last file of another (its folder goes with it) */
        struct ap_git_change rm[] = {
            {.path = "apps/shop-platform", .remove_dir = true},
            {.path = "secrets/shop-dev/db.sops.yaml", .remove = true},
            {.path = "secrets/shop-qa", .remove_dir = true}, /* not there: a no-op */
        };
        must_push(r, "remove the app", rm, AP_ARRAY_SIZE(rm), &res);
        assert_false(res.unchanged);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(fx_git(&out, "rmdir", "ls-tree -r --name-only main"), 0);
        assert_string_equal(out.data, "apps/shopping/keep.yaml\nsecrets/shop-prod/db.sops.yaml");
        assert_int_equal(fx_git(&out, "rmdir", "ls-tree -d --name-only main secrets/"), 0);
        assert_string_equal(out.data, "secrets/shop-prod");

        /* again: nothing to remove */
        must_push(r, "remove the app again", rm, 1, &res);
        assert_true(res.unchanged);

        /* refused: a file as a folder, a folder as a file, changes inside a removed folder */
        struct ap_git_change file_as_dir = {.path = "apps/shopping/keep.yaml", .remove_dir = true};
        assert_int_equal(push(r, "x", &file_as_dir, 1, &res, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "is a file, not a folder"));
        struct ap_git_change dir_as_file = {.path = "apps/shopping", .remove = true};
        assert_int_equal(push(r, "x", &dir_as_file, 1, &res, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "remove_dir"));
        struct ap_git_change inside[] = {{.path = "apps", .remove_dir = true},
                                         FILE_("apps/new/x.yaml", "x\n")};
        assert_int_equal(push(r, "x", inside, 2, &res, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "'apps/new/x.yaml' lies in the folder 'apps'"));
        /* a name that only starts like the folder is not inside it */
        struct ap_git_change sibling[] = {{.path = "apps/shop", .remove_dir = true},
                                          FILE_("apps/shop-new/x.yaml", "x\n"),
                                          FILE_("apps/shop.yaml", "y\n")};
        must_push(r, "sibling names", sibling, AP_ARRAY_SIZE(sibling), &res);
        assert_int_equal(fx_count_commits("rmdir"), 3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_remove_dir),
            cmocka_unit_test(test_lost_answer),
            cmocka_unit_test(test_killed_at_each_point),
            cmocka_unit_test(test_killed_after_landing),
            cmocka_unit_test(test_killed_then_other_change),
            cmocka_unit_test(test_corrupt_caches),
            cmocka_unit_test(test_cancel),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
