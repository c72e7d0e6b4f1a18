/* kube_bench.c - the C side of bench/kube/run, against the control plane behind $KUBECONFIG:
 *   kube_bench populate PREFIX NAMESPACES LABELLED OTHERS BYTES THREADS
 *       create NAMESPACES namespaces PREFIX-0..; LABELLED Secrets labelled labrats.work/managed-secret=true
 *       and OTHERS unlabelled ones spread over them, each with BYTES of data
 *   kube_bench informer SELECTOR
 *       run an informer over Secrets in all namespaces with the label selector; print
 *       "synced <seconds since start> objects <n> rss_before <KiB> rss_synced <KiB> file <KiB> anon <KiB>"
 *       once synced (VmRSS with the client made but the informer not started, and at synced; then the
 *       RSS at synced split into file-backed pages - program and shared libraries - and anonymous ones),
 *       keep watching 2 s, exit
 *   kube_bench watch-connections SHARED INFORMERS REQUESTS
 *       INFORMERS informers (over six resource types, in turn) and REQUESTS list requests on one client,
 *       whose requests and watches share connections (SHARED 1) or each open their own (SHARED 0); print
 *       "connections <opened> requests <n> http2 <n>" from ap_kube_client_get_stats once all are synced,
 *       the requests done and the watches running for a second, then "ready", and keep watching 3 s
 *       (bench/kube/run counts the connections meanwhile)
 *   kube_bench workqueue KEYS WORKERS
 *       KEYS distinct keys through a controller (workqueue + WORKERS threads, metrics on) with an empty
 *       reconcile; print "keys <n> seconds <s> keys_per_s <r>"
 * Peak RSS is measured from outside (/usr/bin/time). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/api.h"
#include "kube/config.h"
#include "kube/controller.h"
#include "kube/informer.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "Name:  <n> kB" field of a /proc/self file, in KiB, or -1 */
static long proc_kib(const char *file, const char *field)
{
        FILE *f = fopen(file, "r");
        if (!f)
                return -1;
        char line[256];
        size_t n = strlen(field);
        long v = -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, field, n) == 0 && line[n] == ':')
                        v = strtol(line + n + 1, NULL, 10);
        fclose(f);
        return v;
}

static struct ap_kube_client *client_with(const struct ap_kube_client_options *o)
{
        const char *kc = getenv("KUBECONFIG");
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_config *cfg = NULL;
        struct ap_kube_client *c = NULL;
        if (!kc || ap_kube_config_load_kubeconfig(kc, NULL, &cfg, &err) < 0 ||
            ap_kube_client_new(cfg, o, &c, &err) < 0) {
                fprintf(stderr, "kube_bench: %s\n", kc ? err.msg : "KUBECONFIG is not set");
                exit(2);
        }
        ap_kube_config_free(cfg);
        return c;
}

static struct ap_kube_client *client(void)
{
        return client_with(NULL);
}

struct populate {
        struct ap_kube_client *c;
        const char *prefix;
        long namespaces, labelled, others, bytes;
        atomic_long next;
        atomic_long failures;
};

static void *populate_worker(void *arg)
{
        struct populate *p = arg;
        char *data = malloc((size_t)p->bytes + 1);
        memset(data, 'x', (size_t)p->bytes);
        data[p->bytes] = '\0';
        for (;;) {
                long i = atomic_fetch_add(&p->next, 1);
                if (i >= p->labelled + p->others)
                        break;
                bool managed = i < p->labelled;
                char ns[64], name[64];
                snprintf(ns, sizeof(ns), "%s-%ld", p->prefix, i % p->namespaces);
                snprintf(name, sizeof(name), "%s-%ld", managed ? "managed" : "other", i);
                json_t *s = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1",
                                      "kind", "Secret", "metadata", "name", name, "namespace", ns, "labels",
                                      managed ? "labrats.work/managed-secret" : "bench/kind",
                                      managed ? "true" : "other", "stringData", "value", data);
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_kube_create(p->c, &ap_kube_res_secrets, NULL, s, NULL, NULL, NULL, &err);
                if (r < 0 && r != AP_KUBE_E_ALREADY_EXISTS) {
                        if (atomic_fetch_add(&p->failures, 1) < 3)
                                fprintf(stderr, "kube_bench: %s\n", err.msg);
                }
                json_decref(s);
        }
        free(data);
        return NULL;
}

static int populate(char **argv)
{
        struct populate p = {.c = client(), .prefix = argv[0]};
        p.namespaces = strtol(argv[1], NULL, 10);
        p.labelled = strtol(argv[2], NULL, 10);
        p.others = strtol(argv[3], NULL, 10);
        p.bytes = strtol(argv[4], NULL, 10);
        long threads = strtol(argv[5], NULL, 10);
        for (long i = 0; i < p.namespaces; i++) {
                char ns[64];
                snprintf(ns, sizeof(ns), "%s-%ld", p.prefix, i);
                json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                                        "metadata", "name", ns);
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_kube_create(p.c, &ap_kube_res_namespaces, NULL, obj, NULL, NULL, NULL, &err);
                json_decref(obj);
                if (r < 0 && r != AP_KUBE_E_ALREADY_EXISTS) {
                        fprintf(stderr, "kube_bench: %s\n", err.msg);
                        return 1;
                }
        }
        double t0 = now_s();
        pthread_t t[64];
        if (threads < 1 || threads > 64)
                threads = 8;
        for (long i = 0; i < threads; i++)
                pthread_create(&t[i], NULL, populate_worker, &p);
        for (long i = 0; i < threads; i++)
                pthread_join(t[i], NULL);
        printf("created %ld secrets in %.1f s\n", p.labelled + p.others, now_s() - t0);
        ap_kube_client_free(p.c);
        return atomic_load(&p.failures) ? 1 : 0;
}

static int informer(const char *selector, double start)
{
        struct ap_kube_client *c = client();
        long rss_before = proc_kib("/proc/self/status", "VmRSS");
        struct ap_kube_informer_options o = {.resource = &ap_kube_res_secrets, .label_selector = selector};
        struct ap_kube_informer *inf = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_informer_new(c, &o, &inf, &err) < 0 || ap_kube_informer_start(inf, &err) < 0) {
                fprintf(stderr, "kube_bench: %s\n", err.msg);
                return 1;
        }
        if (ap_kube_informer_wait_synced(inf, 120000) < 0) {
                char why[AP_ERROR_MSG_MAX] = "";
                ap_kube_informer_last_error(inf, why, sizeof(why));
                fprintf(stderr, "kube_bench: the informer did not sync: %s\n", why);
                return 1;
        }
        double synced = now_s() - start;
        long rss_synced = proc_kib("/proc/self/status", "VmRSS");
        long anon = proc_kib("/proc/self/smaps_rollup", "Anonymous");
        long rss = proc_kib("/proc/self/smaps_rollup", "Rss");
        printf("synced %.3f objects %zu rss_before %ld rss_synced %ld file %ld anon %ld\n", synced,
               ap_kube_informer_len(inf), rss_before, rss_synced, rss - anon, anon);
        fflush(stdout);
        struct timespec two = {2, 0};
        nanosleep(&two, NULL);
        ap_kube_informer_free(inf);
        ap_kube_client_free(c);
        return 0;
}

static int watch_connections(bool shared, int n, int requests)
{
        struct ap_kube_client_options co = {.separate_connections = !shared};
        struct ap_kube_client *c = client_with(&co);
        static const struct ap_kube_resource *types[] = {
            &ap_kube_res_configmaps, &ap_kube_res_secrets, &ap_kube_res_serviceaccounts,
            &ap_kube_res_namespaces, &ap_kube_res_leases,  &ap_kube_res_events};
        struct ap_kube_informer *inf[64];
        struct ap_error err = AP_ERROR_INIT;
        if (n < 1 || n > 64)
                n = 6;
        for (int i = 0; i < n; i++) {
                struct ap_kube_informer_options o = {.resource = types[i % 6]};
                if (ap_kube_informer_new(c, &o, &inf[i], &err) < 0 ||
                    ap_kube_informer_start(inf[i], &err) < 0) {
                        fprintf(stderr, "kube_bench: %s\n", err.msg);
                        return 1;
                }
        }
        for (int i = 0; i < n; i++)
                if (ap_kube_informer_wait_synced(inf[i], 60000) < 0) {
                        fprintf(stderr, "kube_bench: informer %d did not sync\n", i);
                        return 1;
                }
        for (int i = 0; i < requests; i++) {
                struct ap_kube_opts lo = {.limit = 1};
                if (ap_kube_list(c, types[i % 6], NULL, &lo, NULL, NULL, &err) < 0) {
                        fprintf(stderr, "kube_bench: %s\n", err.msg);
                        return 1;
                }
        }
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
        struct ap_kube_client_stats st;
        ap_kube_client_get_stats(c, &st);
        printf("connections %lu requests %lu http2 %lu\nready\n", st.new_connections, st.requests, st.http2);
        fflush(stdout);
        struct timespec three = {3, 0};
        nanosleep(&three, NULL);
        for (int i = 0; i < n; i++)
                ap_kube_informer_free(inf[i]);
        ap_kube_client_free(c);
        return 0;
}

static atomic_long reconciled;

static int empty_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        atomic_fetch_add(&reconciled, 1);
        return 0;
}

static int workqueue(long keys, int workers)
{
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        struct ap_kube_controller_options o = {
            .name = "bench", .workers = workers, .reconcile = empty_reconcile, .metrics = m};
        struct ap_kube_controller *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_controller_new(&o, &c, &err) < 0 || ap_kube_controller_start(c, &err) < 0) {
                fprintf(stderr, "kube_bench: %s\n", err.msg);
                return 1;
        }
        struct ap_kube_workqueue *q = ap_kube_controller_queue(c);
        char key[64];
        double t0 = now_s();
        for (long i = 0; i < keys; i++) {
                snprintf(key, sizeof(key), "app-%ld-platform/secret-%ld", i % 100, i);
                if (ap_kube_workqueue_add(q, key) < 0) {
                        fprintf(stderr, "%s: out of memory\n", "kube_bench");
                        exit(2);
                }
        }
        while (atomic_load(&reconciled) < keys) {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
        }
        double took = now_s() - t0;
        printf("keys %ld seconds %.4f keys_per_s %.0f\n", keys, took, (double)keys / took);
        ap_kube_controller_free(c);
        ap_kube_metrics_free(m);
        return 0;
}

int main(int argc, char **argv)
{
        double start = now_s();
        if (argc == 8 && strcmp(argv[1], "populate") == 0)
                return populate(argv + 2);
        if (argc == 3 && strcmp(argv[1], "informer") == 0)
                return informer(argv[2], start);
        if (argc == 5 && strcmp(argv[1], "watch-connections") == 0)
                return watch_connections(strcmp(argv[2], "1") == 0, (int)strtol(argv[3], NULL, 10),
                                         (int)strtol(argv[4], NULL, 10));
        if (argc == 4 && strcmp(argv[1], "workqueue") == 0)
                return workqueue(strtol(argv[2], NULL, 10), (int)strtol(argv[3], NULL, 10));
        fprintf(stderr, "usage: kube_bench populate PREFIX NAMESPACES LABELLED OTHERS BYTES THREADS\n"
                        "       kube_bench informer SELECTOR\n"
                        "       kube_bench watch-connections SHARED INFORMERS REQUESTS\n"
                        "       kube_bench workqueue KEYS WORKERS\n");
        return 2;
}
