/* lease_contender.c - a test program for leader election through ap_kube_manager: it campaigns for a
 * Lease and, only while leading, runs a controller whose reconcile logs "active" every 100 ms. Every line
 * on stdout starts with a CLOCK_REALTIME timestamp (seconds.microseconds) so the logs of two contenders
 * can be compared: "leading", "active", "stopped", "exit <code>". A second worker runs the key "slow": a
 * watch request that lasts until the controller's cancel flag stops it ("slow start", "slow end <code>").
 *   lease_contender run NAMESPACE LEASE IDENTITY [LEASE_MS RENEW_MS RETRY_MS [GRACE_MS]]
 *   lease_contender holder NAMESPACE LEASE     prints the Lease's holderIdentity ("" when released)
 *   lease_contender delete-namespace NAMESPACE
 * Uses $KUBECONFIG. SIGTERM/SIGINT stop it cleanly (exit 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/api.h"
#include "kube/config.h"
#include "kube/manager.h"
#include "kube/obj.h"
#include "kube/watch_stream.h"

static void logline(const char *fmt, ...) _printf_(1, 2);
static void logline(const char *fmt, ...)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        printf("%lld.%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, msg);
        fflush(stdout);
}

static struct ap_kube_controller *ctl;
static struct ap_kube_client *cl;
static const char *watch_ns;

static int discard(void *userdata, const char *data, size_t n)
{
        return 0;
}

/* A long operation that only the cancel flag ends: a watch of the namespace's ConfigMaps. */
static int slow(void)
{
        logline("slow start");
        struct ap_kube_opts o = {.watch = true, .timeout_seconds = 600};
        struct ap_buf url = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        int r = ap_kube_url_build(&url, ap_kube_client_server(cl), &ap_kube_res_configmaps, watch_ns, NULL,
                                  &o, &err);
        if (r >= 0) {
                struct ap_kube_http h = {.method = "GET",
                                         .url = url.data,
                                         .on_data = discard,
                                         .cancel = ap_kube_controller_cancel_flag(ctl),
                                         .no_timeout = true};
                long code = 0;
                r = ap_kube_client_do(cl, &h, &code, NULL, NULL, &err);
        }
        ap_buf_release(&url);
        logline("slow end %d", r);
        return r;
}

static int reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        res->requeue_after_ms = 100;
        if (strcmp(key, "slow") == 0)
                return slow();
        logline("active %s", key);
        return 0;
}

static void on_leading(void *userdata, bool leading)
{
        logline("%s", leading ? "leading" : "stopped");
}

static struct ap_kube_client *client(void)
{
        const char *kc = getenv("KUBECONFIG");
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_config *cfg = NULL;
        struct ap_kube_client *c = NULL;
        if (!kc || ap_kube_config_load_kubeconfig(kc, NULL, &cfg, &err) < 0 ||
            ap_kube_client_new(cfg, NULL, &c, &err) < 0) {
                fprintf(stderr, "lease_contender: %s\n", kc ? err.msg : "KUBECONFIG is not set");
                exit(2);
        }
        ap_kube_config_free(cfg);
        return c;
}

static int run(const char *ns, const char *lease, const char *id, long lease_ms, long renew_ms, long retry_ms,
               long grace_ms)
{
        if (ap_kube_block_stop_signals() < 0) {
                fprintf(stderr, "%s: out of memory\n", "lease_contender");
                exit(2);
        }
        struct ap_kube_client *c = client();
        cl = c;
        watch_ns = ns;
        struct ap_error err = AP_ERROR_INIT;
        json_t *nsobj =
            json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
        int r = ap_kube_create(c, &ap_kube_res_namespaces, NULL, nsobj, NULL, NULL, NULL, &err);
        json_decref(nsobj);
        if (r < 0 && r != AP_KUBE_E_ALREADY_EXISTS) {
                fprintf(stderr, "lease_contender: %s\n", err.msg);
                return 2;
        }
        struct ap_kube_manager_options mo = {
            .metrics_addr = "127.0.0.1:0",
            .health_addr = "127.0.0.1:0",
            .leader_elect = true,
            .lease_namespace = ns,
            .lease_name = lease,
            .identity = id,
            .lease_duration_ms = lease_ms,
            .renew_deadline_ms = renew_ms,
            .retry_period_ms = retry_ms,
            .shutdown_grace_ms = grace_ms,
            .on_leading = on_leading,
        };
        struct ap_kube_manager *m = NULL;
        if (ap_kube_manager_new(c, &mo, &m, &err) < 0) {
                fprintf(stderr, "lease_contender: %s\n", err.msg);
                return 2;
        }
        logline("ports metrics=%d health=%d", ap_kube_health_port(ap_kube_manager_health(m), false),
                ap_kube_health_port(ap_kube_manager_health(m), true));
        struct ap_kube_informer_options io = {.resource = &ap_kube_res_configmaps, .namespace = ns};
        struct ap_kube_informer *inf = NULL;
        struct ap_kube_controller_options co = {.name = "lease-test",
                                                .workers = 2,
                                                .reconcile = reconcile,
                                                .metrics = ap_kube_manager_metrics(m)};
        if (ap_kube_informer_new(c, &io, &inf, &err) < 0 || ap_kube_manager_add_informer(m, inf) < 0 ||
            ap_kube_controller_new(&co, &ctl, &err) < 0 || ap_kube_manager_add_controller(m, ctl) < 0) {
                fprintf(stderr, "lease_contender: %s\n", err.msg);
                return 2;
        }
        if (ap_kube_workqueue_add(ap_kube_controller_queue(ctl), "tick") < 0 ||
            ap_kube_workqueue_add(ap_kube_controller_queue(ctl), "slow") < 0) {
                fprintf(stderr, "%s: out of memory\n", "lease_contender");
                exit(2);
        }
        r = ap_kube_manager_run(m, &err);
        if (r < 0)
                fprintf(stderr, "lease_contender: %s\n", err.msg);
        ap_kube_manager_free(m);
        ap_kube_client_free(c);
        int code = r == 0 ? 0 : r == -ENOLCK ? 3 : 1;
        logline("exit %d", code);
        return code;
}

int main(int argc, char **argv)
{
        if (argc >= 5 && strcmp(argv[1], "run") == 0)
                return run(argv[2], argv[3], argv[4], argc > 5 ? strtol(argv[5], NULL, 10) : 0,
                           argc > 6 ? strtol(argv[6], NULL, 10) : 0, argc > 7 ? strtol(argv[7], NULL, 10) : 0,
                           argc > 8 ? strtol(argv[8], NULL, 10) : 0);
        if (argc == 4 && strcmp(argv[1], "holder") == 0) {
                struct ap_kube_client *c = client();
                struct ap_error err = AP_ERROR_INIT;
                json_t *l = NULL;
                if (ap_kube_get(c, &ap_kube_res_leases, argv[2], argv[3], NULL, &l, NULL, &err) < 0) {
                        fprintf(stderr, "lease_contender: %s\n", err.msg);
                        return 1;
                }
                const char *h =
                    json_string_value(json_object_get(json_object_get(l, "spec"), "holderIdentity"));
                printf("%s\n", h ? h : "");
                json_decref(l);
                ap_kube_client_free(c);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "delete-namespace") == 0) {
                struct ap_kube_client *c = client();
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_kube_delete(c, &ap_kube_res_namespaces, NULL, argv[2], NULL, NULL, NULL, &err);
                ap_kube_client_free(c);
                return r < 0 && r != AP_KUBE_E_NOT_FOUND;
        }
        fprintf(
            stderr,
            "usage: lease_contender run NAMESPACE LEASE IDENTITY [LEASE_MS RENEW_MS RETRY_MS [GRACE_MS]]\n"
            "       lease_contender holder NAMESPACE LEASE\n"
            "       lease_contender delete-namespace NAMESPACE\n");
        return 2;
}
