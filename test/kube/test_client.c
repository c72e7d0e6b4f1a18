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

/* ---- a tiny HTTP server (libmicrohttpd) whose answers depend on the path ---- */

struct mhd {
        struct MHD_Daemon *d;
        int port;
        atomic_int hits;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **ctx)
{
        struct mhd *m = cls;
        int n = atomic_fetch_add(&m->hits, 1) + 1;
        unsigned code = 200;
        const char *body = "{}";
        const char *retry_after = NULL;
        static char big[2048];
        if (strcmp(url, "/429-twice") == 0 && n <= 2) {
                code = 429;
                body = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429}";
                retry_after = "1";
        } else if (strcmp(url, "/429-always") == 0) {
                code = 429;
                body = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,\"details\":"
                       "{\"retryAfterSeconds\":1}}";
        } else if (strcmp(url, "/503-once") == 0 && n == 1) {
                code = 503;
                body = "{\"kind\":\"Status\",\"reason\":\"ServiceUnavailable\",\"code\":503}";
                retry_after = "1";
        } else if (strcmp(url, "/503-plain") == 0) {
                code = 503;
                body = "overloaded";
        } else if (strcmp(url, "/huge") == 0) {
                /* 4 MiB: more than the multiplexer holds for a requester, so the stream pauses */
                static char *huge;
                if (!huge) {
                        huge = malloc(4 << 20);
                        memset(huge, 'h', 4 << 20);
                }
                struct MHD_Response *r =
                    MHD_create_response_from_buffer(4 << 20, huge, MHD_RESPMEM_PERSISTENT);
                enum MHD_Result ret = MHD_queue_response(conn, 200, r);
                MHD_destroy_response(r);
                return ret;
        } else if (strcmp(url, "/big") == 0) {
                memset(big, 'x', sizeof(big) - 1);
                big[0] = '"';
                big[sizeof(big) - 2] = '"';
                body = big;
        }
        struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        if (retry_after)
                MHD_add_response_header(r, "Retry-After", retry_after);
        MHD_add_response_header(r, "Content-Type", "application/json");
        if (strcmp(url, "/apf") == 0) /* as a kube-apiserver with API Priority and Fairness answers */
                MHD_add_response_header(r, "X-Kubernetes-PF-FlowSchema-UID",
                                        "2fbd0a7e-1c4e-4f3b-9a43-3c1a2b0d9e11");
        enum MHD_Result ret = MHD_queue_response(conn, code, r);
        MHD_destroy_response(r);
        return ret;
}

static void mhd_start(struct mhd *m)
{
        atomic_store(&m->hits, 0);
        m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                NULL, answer, m, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
        assert_non_null(m->d);
        m->port = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void test_retry_after(void **state)
{
        struct mhd m;
        mhd_start(&m);
        struct ap_kube_client *c = client_for(m.port, NULL);
        struct ap_error err = AP_ERROR_INIT;
        /* two 429s with Retry-After: 1, then success: waited about 2 s */
        int64_t t0 = ap_mono_ms();
        assert_int_equal(get(c, m.port, "/429-twice", NULL, NULL, NULL, &err), 0);
        int64_t took = ap_mono_ms() - t0;
        assert_true(took >= 1900 && took < 6000);
        assert_int_equal(atomic_load(&m.hits), 3);
        /* 503 with Retry-After is retried; 503 without is returned at once */
        atomic_store(&m.hits, 0);
        assert_int_equal(get(c, m.port, "/503-once", NULL, NULL, NULL, &err), 0);
        assert_int_equal(atomic_load(&m.hits), 2);
        atomic_store(&m.hits, 0);
        assert_int_equal(get(c, m.port, "/503-plain", NULL, NULL, NULL, &err), AP_E_UNAVAILABLE);
        assert_int_equal(atomic_load(&m.hits), 1);
        /* always 429: retried while the request's timeout allows, then AP_E_RATE_LIMITED with the hint */
        atomic_store(&m.hits, 0);
        struct ap_kube_opts o = {.timeout_ms = 2500};
        t0 = ap_mono_ms();
        assert_int_equal(get(c, m.port, "/429-always", &o, NULL, NULL, &err), AP_E_RATE_LIMITED);
        assert_true(ap_mono_ms() - t0 < 2600);
        assert_int_equal(err.retry_after_ms, 1000);
        assert_int_equal(atomic_load(&m.hits), 3);
        struct ap_kube_client_stats st;
        ap_kube_client_get_stats(c, &st);
        assert_int_equal(st.retries, 2 + 1 + 2);
        ap_kube_client_free(c);
        /* retries off */
        struct ap_kube_client_options no = {.rate_limit_retries = -1};
        c = client_for(m.port, &no);
        atomic_store(&m.hits, 0);
        assert_int_equal(get(c, m.port, "/429-always", NULL, NULL, NULL, &err), AP_E_RATE_LIMITED);
        assert_int_equal(atomic_load(&m.hits), 1);
        ap_kube_client_free(c);
        MHD_stop_daemon(m.d);
}

static void test_max_body(void **state)
{
        struct mhd m;
        mhd_start(&m);
        struct ap_kube_client_options o = {.max_body = 1024};
        struct ap_kube_client *c = client_for(m.port, &o);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(get(c, m.port, "/big", NULL, NULL, NULL, &err), AP_E_TOO_LARGE);
        assert_non_null(strstr(err.msg, "1024"));
        assert_int_equal(get(c, m.port, "/small", NULL, NULL, NULL, &err), 0);
        ap_kube_client_free(c);
        MHD_stop_daemon(m.d);
}

struct slow_sink {
        size_t bytes;
        int calls, stop_after;
};

static int slow_on_data(void *userdata, const char *data, size_t n)
{
        struct slow_sink *s = userdata;
        s->bytes += n;
        s->calls++;
        for (size_t i = 0; i < n; i++)
                if (data[i] != 'h')
                        return -EBADMSG;
        if (s->stop_after && s->calls >= s->stop_after)
                return AP_E_CANCELLED;
        if (s->calls % 8 == 0)
                ap_sleep_ms(1); /* a slow consumer: the stream must pause, not buffer without bound */
        return 0;
}

/* Streamed bodies reach the requesting thread whole and in order through the multiplexer, which pauses
 * the stream for a slow consumer; a handler's failure ends the transfer with its code. */
static void test_streamed_body(void **state)
{
        struct mhd m;
        mhd_start(&m);
        struct ap_kube_client *c = client_for(m.port, NULL);
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/huge", m.port);
        struct slow_sink sink = {0};
        struct ap_kube_http h = {.method = "GET", .url = url, .on_data = slow_on_data, .userdata = &sink};
        long code = 0;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_client_do(c, &h, &code, NULL, NULL, &err), 0);
        assert_int_equal(code, 200);
        assert_int_equal(sink.bytes, 4 << 20);
        struct slow_sink stop = {.stop_after = 3};
        h.userdata = &stop;
        assert_int_equal(ap_kube_client_do(c, &h, &code, NULL, NULL, &err), AP_E_CANCELLED);
        assert_int_equal(stop.calls, 3);
        /* collected into a buffer, past the relay's size */
        struct ap_buf b = AP_BUF_INIT;
        b.max = 8 << 20;
        struct ap_kube_http hb = {.method = "GET", .url = url};
        assert_int_equal(ap_kube_client_do(c, &hb, &code, &b, NULL, &err), 0);
        assert_int_equal(b.len, 4 << 20);
        ap_buf_release(&b);
        ap_kube_client_free(c);
        MHD_stop_daemon(m.d);
}

struct burst {
        struct ap_kube_client *c;
        int port, n, failures;
};

static void *burster(void *arg)
{
        struct burst *b = arg;
        for (int i = 0; i < b->n; i++) {
                struct ap_error err = AP_ERROR_INIT;
                if (get(b->c, b->port, "/x", NULL, NULL, NULL, &err) < 0)
                        b->failures++;
        }
        return NULL;
}

/* 20 qps, burst 5: 25 requests from 4 threads take about a second; a watch is not held back. */
static void test_client_rate_limit(void **state)
{
        struct mhd m;
        mhd_start(&m);
        struct ap_kube_client_options o = {.qps = 20, .burst = 5};
        struct ap_kube_client *c = client_for(m.port, &o);
        struct burst b[4];
        pthread_t t[4];
        int64_t t0 = ap_mono_ms();
        for (int i = 0; i < 4; i++) {
                b[i] = (struct burst){c, m.port, i == 0 ? 7 : 6, 0};
                pthread_create(&t[i], NULL, burster, &b[i]);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(b[i].failures, 0);
        }
        int64_t took = ap_mono_ms() - t0;
        print_message("# 25 requests at 20 qps, burst 5: %lld ms\n", (long long)took);
        assert_true(took >= 900 && took < 3000);
        /* the bucket is empty now: a watch goes at once, a request waits about 50 ms */
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_opts w = {.watch = true};
        t0 = ap_mono_ms();
        assert_int_equal(get(c, m.port, "/watch", &w, NULL, NULL, &err), 0);
        assert_true(ap_mono_ms() - t0 < 40);
        /* so do the background writes (Events): a bucket of their own, full, burst 5 */
        struct ap_kube_opts bg = {.rate_limit = AP_KUBE_LIMIT_BACKGROUND};
        t0 = ap_mono_ms();
        for (int i = 0; i < 5; i++)
                assert_int_equal(get(c, m.port, "/x", &bg, NULL, NULL, &err), 0);
        assert_true(ap_mono_ms() - t0 < 40);
        /* a timeout shorter than the wait: rate limited, with the hint */
        for (int i = 0; i < 10; i++) {
                struct ap_kube_opts quick = {.timeout_ms = 1};
                if (get(c, m.port, "/x", &quick, NULL, NULL, &err) == AP_E_RATE_LIMITED)
                        break;
        }
        assert_int_equal(err.code, AP_E_RATE_LIMITED);
        assert_true(err.retry_after_ms > 0);
        struct ap_kube_client_stats st;
        ap_kube_client_get_stats(c, &st);
        assert_true(st.throttled >= 15);
        ap_kube_client_free(c);
        MHD_stop_daemon(m.d);
}

/* limit_unless_apf: throttled until an answer shows API Priority and Fairness, then not at all; without
 * the option the header changes nothing. */
static void test_client_rate_limit_apf(void **state)
{
        struct mhd m;
        mhd_start(&m);
        for (int lift = 0; lift < 2; lift++) {
                struct ap_kube_client_options o = {.qps = 10, .burst = 1, .limit_unless_apf = lift};
                struct ap_kube_client *c = client_for(m.port, &o);
                struct ap_error err = AP_ERROR_INIT;
                int64_t t0 = ap_mono_ms();
                assert_int_equal(get(c, m.port, "/x", NULL, NULL, NULL, &err), 0);
                assert_int_equal(get(c, m.port, "/apf", NULL, NULL, NULL, &err), 0); /* waits ~100 ms */
                assert_true(ap_mono_ms() - t0 >= 80);
                t0 = ap_mono_ms();
                for (int i = 0; i < 5; i++)
                        assert_int_equal(get(c, m.port, "/x", NULL, NULL, NULL, &err), 0);
                int64_t took = ap_mono_ms() - t0;
                print_message("# 5 requests after the APF header, limit_unless_apf=%d: %lld ms\n", lift,
                              (long long)took);
                assert_true(lift ? took < 60 : took >= 400);
                ap_kube_client_free(c);
        }
        MHD_stop_daemon(m.d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_reset),
            cmocka_unit_test(test_timeout_and_cancel),
            cmocka_unit_test(test_events_never_block),
            cmocka_unit_test(test_retry_after),
            cmocka_unit_test(test_max_body),
            cmocka_unit_test(test_streamed_body),
            cmocka_unit_test(test_client_rate_limit),
            cmocka_unit_test(test_client_rate_limit_apf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
