/* test_metrics.c - Prometheus text rendering (types, labels, escaping, histogram buckets, the
 * controller-runtime family names) and the /metrics, /healthz, /readyz endpoints over real HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kube/health.h"
#include "kube/metrics.h"
#include "kube/workqueue.h"

static void test_render(void **state)
{
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        assert_non_null(m);
        struct ap_buf out = AP_BUF_INIT;
        ap_kube_metric_inc(ap_kube_metrics_series(m, "controller_runtime_reconcile_total", "controller",
                                                  "secret", "result", "success", NULL));
        ap_kube_metric_add(ap_kube_metrics_series(m, "controller_runtime_reconcile_total", "controller",
                                                  "secret", "result", "success", NULL),
                           2);
        ap_kube_metric_inc(ap_kube_metrics_series(m, "controller_runtime_reconcile_total", "controller",
                                                  "app", "result", "error", NULL));
        struct ap_kube_metric *h = ap_kube_metrics_series(m, "controller_runtime_reconcile_time_seconds",
                                                          "controller", "secret", NULL);
        ap_kube_metric_observe(h, 0.004);
        ap_kube_metric_observe(h, 0.02);
        ap_kube_metric_observe(h, 100);
        ap_kube_metric_set(ap_kube_metrics_series(m, "leader_election_master_status", "name", "op", NULL), 1);
        ap_kube_metric_set(
            ap_kube_metrics_series(m, "workqueue_depth", "name", "we\"ird\\\n", "controller", "x", NULL),
            0.5);
        assert_null(ap_kube_metrics_series(m, "no_such_family", NULL));
        ap_kube_metric_inc(NULL); /* a missing series is a no-op */
        assert_int_equal(ap_kube_metrics_render(m, &out), 0);
        const char *t = out.data;
        assert_non_null(
            strstr(t, "# HELP controller_runtime_reconcile_total Total number of reconciliations per "
                      "controller\n# TYPE controller_runtime_reconcile_total counter\n"
                      "controller_runtime_reconcile_total{controller=\"app\",result=\"error\"} 1\n"
                      "controller_runtime_reconcile_total{controller=\"secret\",result=\"success\"} 3\n"));
        assert_non_null(strstr(
            t, "# TYPE controller_runtime_reconcile_time_seconds histogram\n"
               "controller_runtime_reconcile_time_seconds_bucket{controller=\"secret\",le=\"0.005\"} 1\n"
               "controller_runtime_reconcile_time_seconds_bucket{controller=\"secret\",le=\"0.01\"} 1\n"
               "controller_runtime_reconcile_time_seconds_bucket{controller=\"secret\",le=\"0.025\"} 2\n"));
        assert_non_null(strstr(
            t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"secret\",le=\"60\"} 2\n"
               "controller_runtime_reconcile_time_seconds_bucket{controller=\"secret\",le=\"+Inf\"} 3\n"
               "controller_runtime_reconcile_time_seconds_sum{controller=\"secret\"} 100.024\n"
               "controller_runtime_reconcile_time_seconds_count{controller=\"secret\"} 3\n"));
        assert_non_null(strstr(
            t, "# TYPE leader_election_master_status gauge\nleader_election_master_status{name=\"op\"} 1\n"));
        assert_non_null(strstr(t, "workqueue_depth{name=\"we\\\"ird\\\\\\n\",controller=\"x\"} 0.5\n"));
        assert_non_null(
            strstr(t, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "));
        assert_non_null(strstr(t, "process_open_fds "));
        /* families with no series are left out */
        assert_null(strstr(t, "workqueue_retries_total"));
        ap_buf_release(&out);
        ap_kube_metrics_free(m);
}

static void test_workqueue_metrics(void **state)
{
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        struct ap_kube_workqueue_options o = {.name = "secrets", .metrics = m, .base_delay_ms = 1};
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(&o);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "b"), 0);
        char *k = NULL;
        assert_int_equal(ap_kube_workqueue_get(q, &k), 0);
        struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(ap_kube_metrics_render(m, &out), 0);
        assert_non_null(
            strstr(out.data, "workqueue_adds_total{name=\"secrets\",controller=\"secrets\"} 2\n"));
        assert_non_null(strstr(out.data, "workqueue_depth{name=\"secrets\",controller=\"secrets\"} 1\n"));
        assert_non_null(strstr(
            out.data, "workqueue_queue_duration_seconds_count{name=\"secrets\",controller=\"secrets\"} 1\n"));
        assert_non_null(strstr(
            out.data,
            "workqueue_queue_duration_seconds_bucket{name=\"secrets\",controller=\"secrets\",le=\"1e-08\"}"));
        assert_non_null(
            strstr(out.data,
                   "workqueue_longest_running_processor_seconds{name=\"secrets\",controller=\"secrets\"} "));
        assert_int_equal(ap_kube_workqueue_add_rate_limited(q, k), 0);
        ap_kube_workqueue_done(q, k);
        ap_buf_reset(&out);
        assert_int_equal(ap_kube_metrics_render(m, &out), 0);
        assert_non_null(
            strstr(out.data, "workqueue_retries_total{name=\"secrets\",controller=\"secrets\"} 1\n"));
        assert_non_null(strstr(
            out.data, "workqueue_work_duration_seconds_count{name=\"secrets\",controller=\"secrets\"} 1\n"));
        ap_buf_release(&out);
        ap_kube_workqueue_free(q);
        ap_kube_metrics_free(m); /* the queue's collector was removed with it */
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
        ap_buf_add(ud, p, s * n);
        return s * n;
}

static long fetch(int port, const char *path, struct ap_buf *body)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        ap_buf_reset(body);
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        return code;
}

static atomic_bool ready;

static bool check_ready(void *userdata)
{
        return atomic_load(&ready);
}

static void test_endpoints(void **state)
{
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        ap_kube_metric_set(ap_kube_metrics_series(m, "leader_election_master_status", "name", "op", NULL), 1);
        struct ap_kube_health *h = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_health_start("127.0.0.1:0", "127.0.0.1:0", m, &h, &err), 0);
        int mp = ap_kube_health_port(h, false), hp = ap_kube_health_port(h, true);
        assert_true(mp > 0 && hp > 0 && mp != hp);
        assert_int_equal(ap_kube_health_add_check(h, AP_KUBE_CHECK_READYZ, "informers", check_ready, NULL),
                         0);
        struct ap_buf body = AP_BUF_INIT;
        assert_int_equal(fetch(mp, "/metrics", &body), 200);
        assert_non_null(strstr(body.data, "leader_election_master_status{name=\"op\"} 1"));
        assert_int_equal(fetch(mp, "/healthz", &body), 404); /* health lives on its own address */
        assert_int_equal(fetch(hp, "/metrics", &body), 404);
        assert_int_equal(fetch(hp, "/healthz", &body), 200);
        assert_string_equal(body.data, "ok");
        assert_int_equal(fetch(hp, "/readyz", &body), 500);
        assert_string_equal(body.data, "[-]informers failed\nreadyz check failed\n");
        atomic_store(&ready, true);
        assert_int_equal(fetch(hp, "/readyz", &body), 200);
        assert_int_equal(fetch(hp, "/readyz?verbose", &body), 200);
        assert_string_equal(body.data, "[+]informers ok\nreadyz check passed\n");
        assert_int_equal(fetch(hp, "/nope", &body), 404);
        ap_kube_health_free(h);

        /* one address for both, and "0" disabling */
        h = NULL;
        assert_int_equal(ap_kube_health_start("127.0.0.1:0", "0", m, &h, &err), 0);
        assert_int_equal(ap_kube_health_port(h, true), 0);
        assert_int_equal(fetch(ap_kube_health_port(h, false), "/metrics", &body), 200);
        ap_kube_health_free(h);
        ap_buf_release(&body);
        assert_int_equal(ap_kube_health_start("127.0.0.1", "0", m, &h, &err), -EINVAL);
        assert_int_equal(ap_kube_health_start("nohost:80", "0", m, &h, &err), -EINVAL);
        ap_kube_metrics_free(m);
}

static void test_listen_addr(void **state)
{
        char host[64];
        int port = -1;
        bool off = false;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_parse_listen_addr(":8080", host, sizeof(host), &port, &off, &err), 0);
        assert_string_equal(host, "");
        assert_int_equal(port, 8080);
        assert_false(off);
        assert_int_equal(ap_kube_parse_listen_addr("[::1]:9", host, sizeof(host), &port, &off, &err), 0);
        assert_string_equal(host, "::1");
        assert_int_equal(ap_kube_parse_listen_addr("0", host, sizeof(host), &port, &off, &err), 0);
        assert_true(off);
        assert_int_equal(ap_kube_parse_listen_addr(":99999", host, sizeof(host), &port, &off, &err), -EINVAL);
        assert_int_equal(ap_kube_parse_listen_addr(":x", host, sizeof(host), &port, &off, &err), -EINVAL);
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render),
            cmocka_unit_test(test_workqueue_metrics),
            cmocka_unit_test(test_endpoints),
            cmocka_unit_test(test_listen_addr),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return r;
}
