/* op_bench.c - the C side of bench/operator/run: creates managed secrets through the apiserver and times
 * what the operator and Flux do with them, polling every few milliseconds.
 *   op_bench committed APP N          N secrets one after another; ms from create to committed=true
 *   op_bench applied APP N SPREAD_MS  N secrets (one after another with SPREAD_MS 0, else all at once
 *                                     started at even offsets over SPREAD_MS); s from create to the
 *                                     decrypted Secret existing in APP-dev
 *   op_bench populate PREFIX APPS PER_APP  PER_APP secrets in each PREFIX<i>-platform (i < APPS)
 *   op_bench wait-committed PREFIX APPS PER_APP TIMEOUT_S  until every one of them is committed; prints s
 *   op_bench burst PREFIX APPS PER_APP TIMEOUT_S  the same secrets created at once (BURST_THREADS
 *                                     requests in flight), then until every one is committed; prints the
 *                                     s from the first create to the last commit, and the s creating took
 *   op_bench foreign NS N             N unrelated Secrets (no label of ours) in NS, created at once; prints s
 * Output: "p50 <v> p99 <v>" (or the seconds). KUBECONFIG names the cluster. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "kube/api.h"
#include "kube/config.h"
#include "kube/status.h"

static struct ap_kube_client *kube;

static void die(const char *what, const struct ap_error *err)
{
        fprintf(stderr, "op_bench: %s: %s\n", what, ap_error_message(err));
        exit(1);
}

static json_t *intent(const char *app, const char *name, const char *value)
{
        char ns[128], targets[128];
        snprintf(ns, sizeof(ns), "%s-platform", app);
        snprintf(targets, sizeof(targets), "%s-dev", app);
        return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}, s:{s:s}}", "apiVersion", "v1",
                         "kind", "Secret", "metadata", "name", name, "namespace", ns, "labels",
                         "labrats.work/managed-secret", "true", "labrats.work/app", app, "annotations",
                         "labrats.work/target-namespaces", targets, "labrats.work/requested-by", "bench",
                         "stringData", "value", value);
}

static void create_obj(json_t *obj)
{
        struct ap_error err = AP_ERROR_INIT;
        if (!obj)
                die("create", &(struct ap_error){.code = -ENOMEM, .msg = "out of memory"});
        if (ap_kube_create(kube, &ap_kube_res_secrets, NULL, obj, NULL, NULL, NULL, &err) < 0)
                die("create", &err);
        json_decref(obj);
}

static void create(const char *app, const char *name)
{
        char value[64];
        snprintf(value, sizeof(value), "v-%ld-%s", (long)ap_wall_ms(), name);
        create_obj(intent(app, name, value));
}

/* The managed secret s<i % per> of app PREFIX<i / per>, or (foreign) the unrelated Secret f<i> in NS. */
struct burst {
        const char *prefix; /* or the namespace, foreign */
        int per;
        bool foreign;
        int n;
        atomic_int next;
};

static void burst_one(struct burst *b, int i)
{
        char an[64], name[64];
        if (b->foreign) {
                snprintf(name, sizeof(name), "f%d", i);
                create_obj(json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                                     "Secret", "metadata", "name", name, "namespace", b->prefix, "stringData",
                                     "value", "unrelated to the operator"));
                return;
        }
        snprintf(an, sizeof(an), "%s%d", b->prefix, i / b->per);
        snprintf(name, sizeof(name), "s%d", i % b->per);
        create(an, name);
}

static void *burst_worker(void *arg)
{
        struct burst *b = arg;
        for (int i; (i = atomic_fetch_add(&b->next, 1)) < b->n;)
                burst_one(b, i);
        return NULL;
}

/* Create the burst's objects with BURST_THREADS (default 16) requests in flight. */
static void burst_create(struct burst *b)
{
        const char *e = getenv("BURST_THREADS");
        int n = e && atoi(e) > 0 ? atoi(e) : 16;
        pthread_t th[64];
        if (n > 64)
                n = 64;
        for (int i = 0; i < n; i++)
                if (pthread_create(&th[i], NULL, burst_worker, b) != 0)
                        die("thread", &(struct ap_error){.code = -EAGAIN, .msg = "cannot start a thread"});
        for (int i = 0; i < n; i++)
                pthread_join(th[i], NULL);
}

/* Until every managed secret s<j> (j < per) of each app PREFIX<i> (i < apps) is committed; the seconds
 * since t0, or -1 after limit_ms (how many were committed said on stderr). */
static double wait_all_committed(const char *prefix, int apps, int per, int64_t t0, int64_t limit_ms)
{
        struct ap_error err = AP_ERROR_INIT;
        for (;;) {
                int done = 0;
                for (int a = 0; a < apps; a++) {
                        char ns[128];
                        snprintf(ns, sizeof(ns), "%s%d-platform", prefix, a);
                        struct ap_kube_opts o = {.label_selector = "labrats.work/managed-secret=true"};
                        json_t *list = NULL;
                        if (ap_kube_list(kube, &ap_kube_res_secrets, ns, &o, &list, NULL, &err) < 0)
                                die("list", &err);
                        size_t k;
                        json_t *it;
                        json_array_foreach(json_object_get(list, "items"), k, it)
                        {
                                const char *c = json_string_value(json_object_get(
                                    json_object_get(json_object_get(it, "metadata"), "annotations"),
                                    "labrats.work/committed"));
                                done += c && strcmp(c, "true") == 0;
                        }
                        json_decref(list);
                }
                if (done >= apps * per)
                        return (double)(ap_mono_ns() - t0) / 1e9;
                if ((ap_mono_ns() - t0) / 1000000 > limit_ms) {
                        fprintf(stderr, "op_bench: only %d of %d committed\n", done, apps * per);
                        return -1;
                }
                usleep(100000);
        }
}

/* Poll until the intent is committed (ns/name) or the target Secret exists; returns elapsed ms. */
static double wait_for(const char *ns, const char *name, bool committed, int64_t start_ns)
{
        for (;;) {
                json_t *obj = NULL;
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_kube_get(kube, &ap_kube_res_secrets, ns, name, NULL, &obj, NULL, &err);
                if (r == 0) {
                        const char *c = json_string_value(
                            json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                                            "labrats.work/committed"));
                        bool done = !committed || (c && strcmp(c, "true") == 0);
                        json_decref(obj);
                        if (done)
                                return (double)(ap_mono_ns() - start_ns) / 1e6;
                } else if (r != AP_KUBE_E_NOT_FOUND) {
                        die("get", &err);
                }
                if (ap_mono_ns() - start_ns > 300LL * 1000000000)
                        return -1;
                usleep(committed ? 2000 : 20000);
        }
}

static int cmp_d(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static void percentiles(double *v, int n, double scale)
{
        qsort(v, (size_t)n, sizeof(double), cmp_d);
        int i50 = (n - 1) / 2, i99 = (int)((n - 1) * 0.99 + 0.5);
        printf("p50 %.3f p99 %.3f\n", v[i50] * scale, v[i99] * scale);
}

struct job {
        const char *app;
        int i;
        long delay_ms;
        double ms;
};

static void *applied_one(void *arg)
{
        struct job *j = arg;
        usleep((useconds_t)j->delay_ms * 1000);
        char name[64], ns[128];
        snprintf(name, sizeof(name), "applied-%d-%ld", j->i, (long)(ap_wall_ms() % 100000));
        snprintf(ns, sizeof(ns), "%s-dev", j->app);
        int64_t t0 = ap_mono_ns();
        create(j->app, name);
        j->ms = wait_for(ns, name, false, t0);
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: see the header of bench/operator/op_bench.c\n");
                return 2;
        }
        struct ap_kube_config *cfg = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_config_load_kubeconfig(getenv("KUBECONFIG"), NULL, &cfg, &err) < 0 ||
            ap_kube_client_new(cfg, NULL, &kube, &err) < 0)
                die("client", &err);
        ap_kube_config_free(cfg);
        const char *mode = argv[1], *app = argv[2];
        if (strcmp(mode, "committed") == 0 && argc == 4) {
                int n = atoi(argv[3]);
                double *v = calloc((size_t)n, sizeof(double));
                char ns[128];
                snprintf(ns, sizeof(ns), "%s-platform", app);
                for (int i = 0; i < n; i++) {
                        char name[64];
                        snprintf(name, sizeof(name), "lat-%d-%ld", i, (long)(ap_wall_ms() % 100000));
                        int64_t t0 = ap_mono_ns();
                        create(app, name);
                        v[i] = wait_for(ns, name, true, t0);
                        if (v[i] < 0)
                                die("committed", &(struct ap_error){.code = -ETIMEDOUT, .msg = "timed out"});
                }
                percentiles(v, n, 1);
        } else if (strcmp(mode, "applied") == 0 && argc == 5) {
                int n = atoi(argv[3]);
                long spread = atol(argv[4]);
                struct job *jobs = calloc((size_t)n, sizeof(*jobs));
                pthread_t *th = calloc((size_t)n, sizeof(*th));
                double *v = calloc((size_t)n, sizeof(double));
                for (int i = 0; i < n; i++) {
                        jobs[i] = (struct job){.app = app, .i = i, .delay_ms = spread ? spread * i / n : 0};
                        if (spread == 0)
                                applied_one(&jobs[i]);
                        else
                                pthread_create(&th[i], NULL, applied_one, &jobs[i]);
                }
                for (int i = 0; spread && i < n; i++)
                        pthread_join(th[i], NULL);
                for (int i = 0; i < n; i++) {
                        if (jobs[i].ms < 0)
                                die("applied", &(struct ap_error){.code = -ETIMEDOUT, .msg = "timed out"});
                        v[i] = jobs[i].ms;
                }
                percentiles(v, n, 0.001);
        } else if (strcmp(mode, "populate") == 0 && argc == 5) {
                int apps = atoi(argv[3]), per = atoi(argv[4]);
                for (int a = 0; a < apps; a++)
                        for (int i = 0; i < per; i++) {
                                char an[64], name[64];
                                snprintf(an, sizeof(an), "%s%d", app, a);
                                snprintf(name, sizeof(name), "s%d", i);
                                create(an, name);
                        }
        } else if (strcmp(mode, "wait-committed") == 0 && argc == 6) {
                double secs = wait_all_committed(app, atoi(argv[3]), atoi(argv[4]), ap_mono_ns(),
                                                 atol(argv[5]) * 1000LL);
                if (secs < 0)
                        return 1;
                printf("%.3f\n", secs);
        } else if (strcmp(mode, "burst") == 0 && argc == 6) {
                struct burst b = {.prefix = app, .per = atoi(argv[4]), .n = atoi(argv[3]) * atoi(argv[4])};
                int64_t t0 = ap_mono_ns();
                burst_create(&b);
                double created = (double)(ap_mono_ns() - t0) / 1e9;
                double secs = wait_all_committed(app, atoi(argv[3]), b.per, t0, atol(argv[5]) * 1000LL);
                if (secs < 0)
                        return 1;
                printf("%.3f %.3f\n", secs, created);
        } else if (strcmp(mode, "foreign") == 0 && argc == 4) {
                struct burst b = {.prefix = app, .foreign = true, .n = atoi(argv[3])};
                int64_t t0 = ap_mono_ns();
                burst_create(&b);
                printf("%.3f\n", (double)(ap_mono_ns() - t0) / 1e9);
        } else {
                fprintf(stderr, "op_bench: bad arguments\n");
                return 2;
        }
        ap_kube_client_free(kube);
        return 0;
}
