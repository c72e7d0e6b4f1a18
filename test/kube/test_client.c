/* test_client.c - the REST client against tiny local servers: transport failures land on the shared
 * codes (refused -> AP_E_UNAVAILABLE, reset -> AP_E_UNAVAILABLE, silence -> AP_E_TIMEOUT, the cancel flag
 * -> AP_E_CANCELLED), max_body caps collected bodies, (libmicrohttpd) 429 / 503 answers, and the event
 * recorder never blocks its caller on a stuck apiserver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/events.h"
#include "kube/metrics.h"

/* A listening socket on 127.0.0.1 that a thread serves: 'r' accepts and closes at once (reset), 's'
 * accepts and stays silent until stopped. */
struct raw_server {
        int fd, port;
        char mode;
        pthread_t thread;
        atomic_bool stop;
};

static void *raw_serve(void *arg)
{
        struct raw_server *s = arg;
        int held[16];
        int n = 0;
        while (!atomic_load(&s->stop)) {
                int c = accept(s->fd, NULL, NULL);
                if (c < 0)
                        break;
                if (s->mode == 'r') {
                        struct linger l = {1, 0}; /* RST, not FIN */
                        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
                        close(c);
                } else if (n < 16) {
                        held[n++] = c;
                } else {
                        close(c);
                }
        }
        for (int i = 0; i < n; i++)
                close(held[i]);
        return NULL;
}

static int listen_port(int *ret_fd)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        *ret_fd = fd;
        return ntohs(a.sin_port);
}

static void raw_start(struct raw_server *s, char mode)
{
        s->mode = mode;
        atomic_store(&s->stop, false);
        s->port = listen_port(&s->fd);
        assert_int_equal(pthread_create(&s->thread, NULL, raw_serve, s), 0);
}

static void raw_stop(struct raw_server *s)
{
        atomic_store(&s->stop, true);
        shutdown(s->fd, SHUT_RDWR);
        close(s->fd);
        pthread_join(s->thread, NULL);
}

static struct ap_kube_client *client_for(int port, const struct ap_kube_client_options *o)
{
        struct ap_kube_config cfg = {0};
        char server[64];
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
        cfg.server = server;
        ap_buf_init(&cfg.ca_pem, 0);
        ap_buf_init(&cfg.cert_pem, 0);
        ap_buf_init_secret(&cfg.key_pem, 0);
        struct ap_kube_client *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_client_new(&cfg, o, &c, &err) < 0)
                fail_msg("%s", err.msg);
        return c;
}

static int get(struct ap_kube_client *c, int port, const char *path, const struct ap_kube_opts *o,
               const atomic_bool *cancel, struct ap_buf *resp, struct ap_error *err)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        struct ap_kube_http h = {.method = "GET", .url = url, .opts = o, .cancel = cancel};
        long code = 0;
        return ap_kube_client_do(c, &h, &code, resp, NULL, err);
}

static void test_refused(void **state)
{
        int fd;
        int port = listen_port(&fd);
        close(fd); /* nobody listens there now */
        struct ap_kube_client *c = client_for(port, NULL);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(get(c, port, "/api", NULL, NULL, NULL, &err), AP_E_UNAVAILABLE);
        assert_non_null(strstr(err.msg, "cannot connect"));
        assert_non_null(strstr(err.msg, "/api"));
        assert_true(ap_error_retryable(err.code));
        ap_kube_client_free(c);
}

static void test_reset(void **state)
{
        struct raw_server s;
        raw_start(&s, 'r');
        struct ap_kube_client *c = client_for(s.port, NULL);
        struct ap_error err = AP_ERROR_INIT;
        int r = get(c, s.port, "/api", NULL, NULL, NULL, &err);
        assert_int_equal(r, AP_E_UNAVAILABLE);
        ap_kube_client_free(c);
        raw_stop(&s);
}

static void test_timeout_and_cancel(void **state)
{
        struct raw_server s;
        raw_start(&s, 's');
        struct ap_kube_client *c = client_for(s.port, NULL);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_opts o = {.timeout_ms = 300};
        int64_t t0 = ap_mono_ms();
        assert_int_equal(get(c, s.port, "/api", &o, NULL, NULL, &err), AP_E_TIMEOUT);
        assert_true(ap_mono_ms() - t0 < 5000);
        atomic_bool cancel = true;
        struct ap_kube_opts slow = {.timeout_ms = 20000};
        t0 = ap_mono_ms();
        assert_int_equal(get(c, s.port, "/api", &slow, &cancel, NULL, &err), AP_E_CANCELLED);
        assert_true(ap_mono_ms() - t0 < 5000);
        ap_kube_client_free(c);
        raw_stop(&s);
}

/* The apiserver accepts connections and never answers: recording still returns at once, a full queue
 * drops (counted), and free flushes within the request timeout. */
static void test_events_never_block(void **state)
{
        struct raw_server s;
        raw_start(&s, 's');
        struct ap_kube_client_options co = {.request_timeout_ms = 300};
        struct ap_kube_client *c = client_for(s.port, &co);
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        struct ap_kube_recorder_options ro = {
            .controller = "labrats.work/test", .instance = "t", .queue_size = 4, .metrics = m};
        struct ap_kube_recorder *rec = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_recorder_new(c, &ro, &rec, &err), 0);
        json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                                "metadata", "name", "x", "namespace", "n", "uid", "u-1");
        int64_t t0 = ap_mono_ms();
        for (int i = 0; i < 10; i++) {
                char note[32];
                snprintf(note, sizeof(note), "note %d", i); /* all different: no aggregation */
                assert_int_equal(
                    ap_kube_recorder_event(rec, obj, AP_KUBE_EVENT_NORMAL, "Tested", "Test", note, &err), 0);
        }
        int64_t took = ap_mono_ms() - t0;
        assert_true(took < 200); /* the writer is stuck on the first; nobody waits for it */
        unsigned long dropped = ap_kube_recorder_dropped(rec);
        assert_true(dropped >= 5 && dropped <= 6);
        assert_int_equal(
            ap_kube_metric_value(ap_kube_metrics_series(m, "app_platform_events_dropped_total", NULL)),
            dropped);
        json_t *nameless = json_object();
        assert_int_equal(ap_kube_recorder_event(rec, nameless, "Normal", "R", "A", "n", &err), AP_E_INVALID);
        json_decref(nameless);
        /* flush waits for the queue: each write times out */
        t0 = ap_mono_ms();
        assert_int_equal(ap_kube_recorder_flush(rec, &err), AP_E_TIMEOUT);
        assert_true(ap_mono_ms() - t0 < 5000);
        assert_int_equal(ap_kube_recorder_write_errors(rec), 10 - dropped);
        char last[AP_ERROR_MSG_MAX];
        assert_true(ap_kube_recorder_last_error(rec, last, sizeof(last)));
        assert_non_null(strstr(last, "/apis/events.k8s.io/v1/namespaces/n/events"));
        ap_kube_recorder_free(rec);
        json_decref(obj);
        ap_kube_metrics_free(m);
        ap_kube_client_free(c);
        raw_stop(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_reset),
            cmocka_unit_test(test_timeout_and_cancel),
            cmocka_unit_test(test_events_never_block),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
