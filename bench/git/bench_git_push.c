/* bench_git_push.c - our side of bench/git/run: commit + push of N changed files as one commit to a
 * remote, repeated, printing the median latency in milliseconds. A first, unmeasured push warms up
 * (clones the cache, creates the branch). Arguments:
 *   bench_git_push URL KNOWN_HOSTS_FILE IDENTITY_FILE CACHE_DIR FILES RUNS */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/fileio.h"
#include "git/repo.h"

static double now_ms(void)
{
        return (double)ap_mono_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
        if (argc != 7) {
                fprintf(stderr, "usage: %s URL KNOWN_HOSTS IDENTITY CACHE_DIR FILES RUNS\n", argv[0]);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf kh = AP_BUF_INIT, id = AP_BUF_INIT_SECRET;
        if (ap_read_file(argv[2], &kh, &err) < 0 || ap_read_file(argv[3], &id, &err) < 0) {
                fprintf(stderr, "bench_git_push: %s\n", err.msg);
                return 1;
        }
        long nfiles = strtol(argv[5], NULL, 10), runs = strtol(argv[6], NULL, 10);
        if (nfiles < 1 || nfiles > 10000 || runs < 1 || runs > 10000)
                return 2;
        struct ap_git_repo_config cfg = {
            .url = argv[1],
            .cache_dir = argv[4],
            .known_hosts = kh.data,
            .identity = id.data,
            .author_name = "bench",
            .author_email = "bench@localhost",
        };
        struct ap_git_repo *r = NULL;
        if (ap_git_repo_new(&cfg, &r, &err) < 0 || ap_git_repo_sync(r, &err) < 0) {
                fprintf(stderr, "bench_git_push: %s\n", err.msg);
                return 1;
        }
        struct ap_git_change *c = calloc((size_t)nfiles, sizeof(*c));
        char(*paths)[64] = calloc((size_t)nfiles, 64);
        char(*data)[96] = calloc((size_t)nfiles, 96);
        double *lat = calloc((size_t)runs + 1, sizeof(double));
        if (!c || !paths || !data || !lat)
                return 1;
        for (long run = 0; run <= runs; run++) {
                double t0 = now_ms();
                for (long i = 0; i < nfiles; i++) {
                        snprintf(paths[i], 64, "secrets/ns/file-%04ld.sops.yaml", i);
                        int n = snprintf(data[i], 96, "value: run %ld file %ld\n", run, i);
                        c[i] = (struct ap_git_change){.path = paths[i], .data = data[i], .len = (size_t)n};
                }
                struct ap_git_commit_request req = {
                    .changes = c, .n_changes = (size_t)nfiles, .subject = "bench: update", .app = "bench"};
                struct ap_git_push_result res;
                if (ap_git_repo_commit_push(r, &req, &res, &err) < 0 || res.unchanged) {
                        fprintf(stderr, "bench_git_push: %s\n",
                                res.unchanged ? "unexpectedly unchanged" : err.msg);
                        return 1;
                }
                lat[run] = now_ms() - t0;
        }
        double *m = lat + 1; /* run 0 was the warm-up */
        qsort(m, (size_t)runs, sizeof(double), cmp_double);
        printf("%.2f\n", runs % 2 ? m[runs / 2] : (m[runs / 2 - 1] + m[runs / 2]) / 2);
        free(c);
        free(paths);
        free(data);
        free(lat);
        ap_git_repo_free(r);
        return 0;
}
