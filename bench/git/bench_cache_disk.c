/* bench_cache_disk.c - our side of the cache-disk figure of bench/git/run: COMMITS commits through src/git
 * (automatic compaction as configured by default) to a local bare remote, each changing one of 50 files
 * the way the operator writes secrets; the remote is repacked every 500 commits as a server would be.
 * Prints the largest and the final disk use of the cache (KiB, du -sk) and the time per commit.
 *   bench_cache_disk REMOTE CACHE_DIR COMMITS */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "git/repo.h"

static long du_kib(const char *path)
{
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "du -sk '%s'", path);
        FILE *p = popen(cmd, "r");
        long kib = -1;
        if (p && fscanf(p, "%ld", &kib) != 1)
                kib = -1;
        if (p)
                pclose(p);
        return kib;
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: %s REMOTE CACHE_DIR COMMITS\n", argv[0]);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        long total = strtol(argv[3], NULL, 10);
        if (total < 1 || total > 1000000)
                return 2;
        struct ap_git_repo_config cfg = {.url = argv[1], .cache_dir = argv[2], .author_name = "bench"};
        struct ap_git_repo *r = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_git_repo_new(&cfg, &r, &err) < 0) {
                fprintf(stderr, "bench_cache_disk: %s\n", err.msg);
                return 1;
        }
        long worst = 0;
        int64_t t0 = ap_mono_ns();
        for (long i = 0; i < total; i++) {
                char path[64], data[512], subject[64];
                snprintf(path, sizeof(path), "secrets/app-%ld/secret-%ld.sops.yaml", i % 5, i % 50);
                int n =
                    snprintf(data, sizeof(data),
                             "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-%ld\ndata:\n  value: "
                             "ENC[AES256_GCM,data:%08lx%08lx%08lx,iv:%08lx,tag:%08lx,type:str]\n",
                             i % 50, i * 2654435761UL, i ^ 0x5bd1e995UL, i * 40503UL, i * 97UL, i * 131UL);
                snprintf(subject, sizeof(subject), "secrets: update %ld", i);
                struct ap_git_change c = {.path = path, .data = data, .len = (size_t)n};
                struct ap_git_commit_request req = {.changes = &c, .n_changes = 1, .subject = subject};
                struct ap_git_push_result res;
                if (ap_git_repo_commit_push(r, &req, &res, &err) < 0 || res.unchanged) {
                        fprintf(stderr, "bench_cache_disk: commit %ld: %s\n", i,
                                res.unchanged ? "unexpectedly unchanged" : err.msg);
                        return 1;
                }
                if (i % 500 == 499) {
                        char cmd[1200];
                        snprintf(cmd, sizeof(cmd), "git --git-dir='%s' repack -adq", argv[1]);
                        if (system(cmd) != 0)
                                return 1;
                        long k = du_kib(argv[2]);
                        worst = k > worst ? k : worst;
                }
        }
        double ms_per_commit = (double)(ap_mono_ns() - t0) / 1e6 / (double)total;
        long final = du_kib(argv[2]);
        printf("%ld %ld %.2f\n", worst > final ? worst : final, final, ms_per_commit);
        ap_git_repo_free(r);
        return 0;
}
