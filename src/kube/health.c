/* health.c - /metrics, /healthz and /readyz over libmicrohttpd. */
#include "health.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_CHECKS 32

struct check {
        enum ap_kube_check_kind kind;
        char *name;
        ap_kube_check_fn fn;
        void *userdata;
};

struct listener {
        struct ap_kube_health *h;
        struct MHD_Daemon *d;
        bool serve_metrics;
        bool serve_health;
        int port;
};

struct ap_kube_health {
        struct ap_kube_metrics *metrics;
        struct listener metrics_l, health_l;
        pthread_mutex_t lock; /* guards checks */
        struct check checks[MAX_CHECKS];
        size_t n_checks;
};

int ap_kube_parse_listen_addr(const char *addr, char *host, size_t host_size, int *ret_port,
                              bool *ret_disabled, struct ap_error *err)
{
        if (!addr || !addr[0] || strcmp(addr, "0") == 0) {
                *ret_disabled = true;
                return 0;
        }
        const char *colon = strrchr(addr, ':');
        if (!colon)
                return ap_error_set(err, -EINVAL,
                                    "listen address '%s' needs a port (':8080', 'HOST:8080' or '0')", addr);
        const char *hs = addr;
        size_t hl = (size_t)(colon - addr);
        if (hl >= 2 && hs[0] == '[' && hs[hl - 1] == ']') {
                hs++;
                hl -= 2;
        }
        if (hl >= host_size)
                return ap_error_set(err, -EINVAL, "listen address '%s' is too long", addr);
        memcpy(host, hs, hl);
        host[hl] = '\0';
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || port < 0 || port > 65535)
                return ap_error_set(err, -EINVAL, "listen address '%s' has an invalid port", addr);
        *ret_port = (int)port;
        *ret_disabled = false;
        return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *ctype,
                             struct ap_buf *body, int built)
{
        if (built < 0) {
                /* the body could not be built (out of memory): say so without allocating */
                static char oom[] = "out of memory\n";
                ap_buf_release(body);
                struct MHD_Response *resp =
                    MHD_create_response_from_buffer(sizeof(oom) - 1, oom, MHD_RESPMEM_PERSISTENT);
                if (!resp)
                        return MHD_NO;
                enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, resp);
                MHD_destroy_response(resp);
                return r;
        }
        size_t len;
        char *data = ap_buf_detach(body, &len);
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(data);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", ctype);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        enum MHD_Result r = MHD_queue_response(conn, code, resp);
        MHD_destroy_response(resp);
        return r;
}

/* Run the checks of one kind into out; the HTTP code, or a negative code when out could not be built. */
static int run_checks(struct ap_kube_health *h, enum ap_kube_check_kind kind, bool verbose, const char *what,
                      struct ap_buf *out)
{
        pthread_mutex_lock(&h->lock);
        size_t n = h->n_checks;
        struct check cs[MAX_CHECKS];
        memcpy(cs, h->checks, n * sizeof(*cs));
        pthread_mutex_unlock(&h->lock);
        bool ok = true;
        int r = 0;
        _cleanup_buf_ struct ap_buf detail = AP_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
                if (cs[i].kind != kind)
                        continue;
                bool good = cs[i].fn(cs[i].userdata);
                ok = ok && good;
                if (r >= 0)
                        r = ap_buf_printf(&detail, "[%c]%s %s\n", good ? '+' : '-', cs[i].name,
                                          good ? "ok" : "failed");
        }
        if (ok && !verbose)
                return r < 0 ? r : ap_buf_addstr(out, "ok") < 0 ? -ENOMEM : MHD_HTTP_OK;
        if (r >= 0)
                r = ap_buf_add(out, detail.data, detail.len);
        if (r >= 0)
                r = ap_buf_printf(out, "%s check %s\n", what, ok ? "passed" : "failed");
        if (r < 0)
                return r;
        return ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
        struct listener *l = cls;
        struct ap_kube_health *h = l->h;
        struct ap_buf body = AP_BUF_INIT;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
                return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", &body,
                             ap_buf_addstr(&body, "method not allowed\n"));
        }
        const char *vval = NULL;
        size_t vlen = 0;
        bool verbose =
            MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "verbose", 7, &vval, &vlen) == MHD_YES;
        if (l->serve_metrics && h->metrics && strcmp(url, "/metrics") == 0) {
                int r = ap_kube_metrics_render(h->metrics, &body);
                return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body, r);
        }
        if (l->serve_health && (strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0)) {
                int code = run_checks(h, AP_KUBE_CHECK_HEALTHZ, verbose, "healthz", &body);
                return reply(conn, (unsigned)code, "text/plain; charset=utf-8", &body, code);
        }
        if (l->serve_health && strcmp(url, "/readyz") == 0) {
                int code = run_checks(h, AP_KUBE_CHECK_READYZ, verbose, "readyz", &body);
                return reply(conn, (unsigned)code, "text/plain; charset=utf-8", &body, code);
        }
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", &body,
                     ap_buf_addstr(&body, "404 page not found\n"));
}

static int listen_on(struct listener *l, const char *host, int port, struct ap_error *err)
{
        struct sockaddr_storage ss = {0};
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD; /* no MHD_USE_ERROR_LOG: libraries don't log */
        if (!host[0]) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_addr = in6addr_any;
                s6->sin6_port = htons((uint16_t)port);
                flags |= MHD_USE_DUAL_STACK;
        } else if (strchr(host, ':')) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
                        return ap_error_set(err, -EINVAL, "'%s' is not an IP address", host);
                flags |= MHD_USE_IPv6;
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                if (strcmp(host, "localhost") == 0)
                        host = "127.0.0.1";
                if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
                        return ap_error_set(err, -EINVAL, "'%s' is not an IP address", host);
        }
        l->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, l, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 64U,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
        if (!l->d && !host[0]) {
                /* no IPv6 on this machine: all IPv4 addresses then */
                struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
                s4.sin_addr.s_addr = htonl(INADDR_ANY);
                l->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle,
                                        l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s4,
                                        MHD_OPTION_CONNECTION_LIMIT, 64U, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                                        MHD_OPTION_END);
        }
        if (!l->d)
                return ap_error_set(err, -EADDRINUSE, "cannot listen on '%s:%d': is the port in use?", host,
                                    port);
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
        l->port = info ? info->port : port;
        return 0;
}

int ap_kube_health_start(const char *metrics_addr, const char *health_addr, struct ap_kube_metrics *metrics,
                         struct ap_kube_health **ret, struct ap_error *err)
{
        char mhost[256], hhost[256];
        int mport = 0, hport = 0;
        bool moff = false, hoff = false;
        int r = ap_kube_parse_listen_addr(metrics_addr, mhost, sizeof(mhost), &mport, &moff, err);
        if (r < 0)
                return r;
        r = ap_kube_parse_listen_addr(health_addr, hhost, sizeof(hhost), &hport, &hoff, err);
        if (r < 0)
                return r;
        struct ap_kube_health *h = calloc(1, sizeof(*h));
        if (!h)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&h->lock, NULL);
        h->metrics = metrics;
        h->metrics_l = (struct listener){.h = h, .serve_metrics = true};
        h->health_l = (struct listener){.h = h, .serve_health = true};
        bool shared = !moff && !hoff && mport != 0 && mport == hport && strcmp(mhost, hhost) == 0;
        if (shared)
                h->metrics_l.serve_health = true;
        if (!moff && (r = listen_on(&h->metrics_l, mhost, mport, err)) < 0)
                goto fail;
        if (shared)
                h->health_l.port = h->metrics_l.port;
        else if (!hoff && (r = listen_on(&h->health_l, hhost, hport, err)) < 0)
                goto fail;
        *ret = h;
        return 0;
fail:
        ap_kube_health_free(h);
        return r;
}

int ap_kube_health_add_check(struct ap_kube_health *h, enum ap_kube_check_kind kind, const char *name,
                             ap_kube_check_fn fn, void *userdata)
{
        char *n = strdup(name);
        if (!n)
                return -ENOMEM;
        pthread_mutex_lock(&h->lock);
        int r = 0;
        if (h->n_checks < MAX_CHECKS)
                h->checks[h->n_checks++] = (struct check){kind, n, fn, userdata};
        else
                r = -ENOSPC;
        pthread_mutex_unlock(&h->lock);
        if (r < 0)
                free(n);
        return r;
}

int ap_kube_health_port(const struct ap_kube_health *h, bool health)
{
        return health ? h->health_l.port : h->metrics_l.port;
}

struct ap_kube_health *ap_kube_health_free(struct ap_kube_health *h)
{
        if (!h)
                return NULL;
        if (h->metrics_l.d)
                MHD_stop_daemon(h->metrics_l.d);
        if (h->health_l.d)
                MHD_stop_daemon(h->health_l.d);
        for (size_t i = 0; i < h->n_checks; i++)
                free(h->checks[i].name);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
}
