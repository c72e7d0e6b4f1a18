/* itest_git_compact.c - the cache stays compact: thousands of commits through src/git to a local bare
 * remote, the cache's disk use, loose objects and packs checked along the way against what `git gc`
 * makes of the same history; ap_git_repo_compact leaves one pack that `git fsck` accepts; compaction
 * beside another object pushing on the same cache (each sees the other's changes). COMPACT_COMMITS
 * overrides the number of commits (default 2000). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "git/repo.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
        dir = t_tmpdir("gitcompact");
        return dir ? 0 : -1;
}

static int teardown(void **state)
{
        if (!getenv("KEEP_TMP"))
                t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
        return 0;
}

static _printf_(1, 2) long sh_number(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (t_sh(&out, "%s", cmd) != 0)
                return -1;
        return strtol(out.data, NULL, 10);
}

static long disk_kib(const char *path)
{
        return sh_number("du -sk '%s' | cut -f1", path);
}

static long loose_objects(const char *cache)
{
        return sh_number("find '%s/objects' -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l", cache);
}

static long packs(const char *cache)
{
        return sh_number("ls '%s/objects/pack' | grep -c '\\.pack$'", cache);
}

static struct ap_git_repo *open_local(const char *remote, const char *cache, bool auto_compact)
{
        struct ap_git_repo_config cfg = {
            .name = "compact", .url = remote, .cache_dir = cache, .no_auto_compact = !auto_compact};
        struct ap_git_repo *r = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_git_repo_new(&cfg, &r, &err) < 0)
                fail_msg("%s", err.msg);
        return r;
}

/* Commit i: one of 50 files under secrets/, a few hundred bytes, as the operator writes them. */
static void commit_n(struct ap_git_repo *r, long i)
{
        char path[64], data[512], subject[64];
        snprintf(path, sizeof(path), "secrets/app-%ld/secret-%ld.sops.yaml", i % 5, i % 50);
        int n = snprintf(
            data, sizeof(data),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-%ld\ndata:\n  value: "
            "ENC[AES256_GCM,data:%08lx%08lx%08lx,iv:%08lx,tag:%08lx,type:str]\nsops:\n  version: 3\n",
            i % 50, i * 2654435761UL, i ^ 0x5bd1e995UL, i * 40503UL, i * 97UL, i * 131UL);
        snprintf(subject, sizeof(subject), "secrets: update %ld", i);
        struct ap_git_change c = {.path = path, .data = data, .len = (size_t)n};
        struct ap_git_commit_request req = {
            .changes = &c, .n_changes = 1, .subject = subject, .app = "bench"};
        struct ap_git_push_result res;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_git_repo_commit_push(r, &req, &res, &err) < 0 || res.unchanged)
                fail_msg("commit %ld: %s", i, res.unchanged ? "unexpectedly unchanged" : err.msg);
}

static void test_disk_stays_bounded(void **state)
{
        char remote[600], cache[600], peer[600];
        snprintf(remote, sizeof(remote), "%s/remote.git", dir);
        snprintf(cache, sizeof(cache), "%s/cache", dir);
        snprintf(peer, sizeof(peer), "%s/peer.git", dir);
        assert_int_equal(t_sh(NULL, "git init -q --bare -b main '%s'", remote), 0);
        const char *env = getenv("COMPACT_COMMITS");
        long total = env ? strtol(env, NULL, 10) : 2000;
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *r = open_local(remote, cache, true);
        long worst_loose = 0, worst_packs = 0, worst_kib = 0;
        for (long i = 0; i < total; i++) {
                commit_n(r, i);
                if (i % 250 == 249) {
                        /* the remote is a server: it packs what it receives now and then, as git does */
                        assert_int_equal(t_sh(NULL, "git --git-dir='%s' repack -adq", remote), 0);
                        long l = loose_objects(cache), p = packs(cache), k = disk_kib(cache);
                        worst_loose = AP_MAX(worst_loose, l);
                        worst_packs = AP_MAX(worst_packs, p);
                        worst_kib = AP_MAX(worst_kib, k);
                        print_message("# after %ld commits: cache %ld KiB, %ld loose objects, %ld packs\n",
                                      i + 1, k, l, p);
                }
        }
        /* the same history, gc'd by git */
        assert_int_equal(t_sh(NULL,
                              "git clone -q --bare --no-local '%s' '%s' && git -C '%s' gc -q --prune=now",
                              remote, peer, peer),
                         0);
        long peer_kib = disk_kib(peer), ours = disk_kib(cache);
        print_message("# %ld commits: cache %ld KiB (worst %ld), git gc %ld KiB\n", total, ours, worst_kib,
                      peer_kib);
        /* between two compactions: at most the loose threshold plus what 8 commits write, 16 packs + 1 */
        assert_true(worst_loose <= 256 + 8 * 8);
        assert_true(worst_packs <= 17);
        /* loose objects cost a block each: bounded by the threshold, not by the history */
        assert_true(worst_kib <= 3 * peer_kib + 2048);

        /* on request: one pack, nothing loose, and git agrees it is whole */
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_git_repo_compact(r, &err), 0);
        assert_int_equal(loose_objects(cache), 0);
        assert_int_equal(packs(cache), 1);
        assert_true(disk_kib(cache) <= 2 * peer_kib + 256);
        assert_int_equal(t_sh(NULL,
                              "git --git-dir='%s' fsck --no-dangling --no-progress refs/remotes/origin/main "
                              ">/dev/null 2>&1",
                              cache),
                         0);
        /* and it still works: read, commit */
        _cleanup_buf_ struct ap_buf got = AP_BUF_INIT;
        bool found = false;
        assert_int_equal(ap_git_repo_read(r, "secrets/app-0/secret-0.sops.yaml", &got, &found, &err), 0);
        assert_true(found);
        commit_n(r, total);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(t_sh(&out, "git --git-dir='%s' rev-list --count main", remote), 0);
        assert_int_equal(strtol(out.data, NULL, 10), total + 1);
}

/* Two objects on one cache (two processes would be the same): one compacts again and again while the
 * other pushes; the pusher reopens the compacted cache instead of reading deleted packs. */
struct compactor {
        struct ap_git_repo *r;
        int rounds, failures;
        atomic_bool stop;
};

static void *compact_loop(void *arg)
{
        struct compactor *c = arg;
        while (!atomic_load(&c->stop)) {
                struct ap_error err = AP_ERROR_INIT;
                if (ap_git_repo_compact(c->r, &err) < 0) {
                        fprintf(stderr, "# compact: %s\n", err.msg);
                        c->failures++;
                }
                c->rounds++;
        }
        return NULL;
}

static void test_compact_beside_pushes(void **state)
{
        char remote[600], cache[600];
        snprintf(remote, sizeof(remote), "%s/shared.git", dir);
        snprintf(cache, sizeof(cache), "%s/shared-cache", dir);
        assert_int_equal(t_sh(NULL, "git init -q --bare -b main '%s'", remote), 0);
        _cleanup_(ap_git_repo_freep) struct ap_git_repo *pusher = open_local(remote, cache, false);
        struct compactor c = {.r = open_local(remote, cache, false)};
        commit_n(pusher, 0);
        pthread_t t;
        pthread_create(&t, NULL, compact_loop, &c);
        for (long i = 1; i <= 60; i++)
                commit_n(pusher, i);
        atomic_store(&c.stop, true);
        pthread_join(t, NULL);
        assert_int_equal(c.failures, 0);
        assert_true(c.rounds > 1);
        c.r = ap_git_repo_free(c.r);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(t_sh(&out, "git --git-dir='%s' rev-list --count main", remote), 0);
        assert_int_equal(strtol(out.data, NULL, 10), 61);
        assert_int_equal(t_sh(NULL,
                              "git --git-dir='%s' fsck --no-dangling --no-progress refs/remotes/origin/main "
                              ">/dev/null 2>&1",
                              cache),
                         0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_compact_beside_pushes),
            cmocka_unit_test(test_disk_stays_bounded),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
