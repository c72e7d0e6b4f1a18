/* server.c - libmicrohttpd glue (see server.h). Threads: MHD's pool runs handlers; the event hub's
 * notify runs on informer or heartbeat threads and only resumes connections. Lock order: hub lock, then
 * an SSE connection's lock; a reader never takes the hub lock while holding its connection's lock. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fileio.h"
#include "base/log.h"
#include "events.h"

#define CSP                                                                                                  \
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "      \
        "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct ap_dash_server {
        struct MHD_Daemon *d;
        ap_dash_serve_fn fn;
        void *ud;
        struct ap_dash_server_options o;
        bool tls;
        char *cert_pem, *key_pem;
        int port;
        atomic_int active;  /* requests between their first handler call and completion */
        atomic_int streams; /* SSE responses alive */
        bool shut;
};

struct reqctx {
        struct ap_dash_arena *arena;
        struct ap_buf body;
        bool too_large;
};

struct sse {
        struct MHD_Connection *conn;
        struct ap_dash_server *srv;
        struct ap_dash_sub *sub;
        pthread_mutex_t lock; /* guards suspended, across the suspend call */
        bool suspended;
        atomic_bool dirty; /* the hub has something (set before the resume) */
};

static const char *lookup(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *name)
{
        return MHD_lookup_connection_value(c, kind, name);
}
static const char *hdr(void *ctx, const char *name)
{
        return lookup(ctx, MHD_HEADER_KIND, name);
}
static const char *qry(void *ctx, const char *name)
{
        return lookup(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void add_security_headers(struct ap_dash_server *s, struct MHD_Response *r, bool api)
{
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "strict-origin-when-cross-origin");
        MHD_add_response_header(r, "Permissions-Policy", "geolocation=(), camera=(), microphone=()");
        MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
        if (s->tls)
                MHD_add_response_header(r, "Strict-Transport-Security",
                                        "max-age=63072000; includeSubDomains");
        if (api)
                MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result queue_text(struct ap_dash_server *s, struct MHD_Connection *c, unsigned code,
                                  const char *msg)
{
        char body[512];
        int n = snprintf(body, sizeof(body), "{\"error\":{\"status\":%u,\"message\":\"%s\"}}", code, msg);
        struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "application/json");
        add_security_headers(s, r, true);
        MHD_add_response_header(r, "Connection", "close");
        enum MHD_Result ret = MHD_queue_response(c, code, r);
        MHD_destroy_response(r);
        return ret;
}

/* ---- SSE ---- */

static void sse_notify(void *ud)
{
        struct sse *e = ud;
        atomic_store(&e->dirty, true);
        pthread_mutex_lock(&e->lock);
        if (e->suspended) {
                e->suspended = false;
                MHD_resume_connection(e->conn);
        }
        pthread_mutex_unlock(&e->lock);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct sse *e = cls;
        for (;;) {
                atomic_store(&e->dirty, false);
                ssize_t n = ap_dash_sub_read(e->sub, buf, max);
                if (n > 0)
                        return n;
                if (n < 0)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                pthread_mutex_lock(&e->lock);
                if (atomic_load(&e->dirty)) {
                        pthread_mutex_unlock(&e->lock);
                        continue;
                }
                e->suspended = true;
                MHD_suspend_connection(e->conn);
                pthread_mutex_unlock(&e->lock);
                return 0;
        }
}

static void sse_free(void *cls)
{
        struct sse *e = cls;
        ap_dash_sub_unref(e->sub); /* no notify after this: the hub forgets the subscription */
        atomic_fetch_sub(&e->srv->streams, 1);
        pthread_mutex_destroy(&e->lock);
        free(e);
}

static struct MHD_Response *sse_response(struct ap_dash_server *s, struct MHD_Connection *c,
                                         struct ap_dash_sub *sub)
{
        struct sse *e = calloc(1, sizeof(*e));
        if (!e)
                return NULL;
        e->conn = c;
        e->srv = s;
        e->sub = sub;
        pthread_mutex_init(&e->lock, NULL);
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, e, sse_free);
        if (!r) {
                pthread_mutex_destroy(&e->lock);
                free(e);
                return NULL;
        }
        atomic_fetch_add(&s->streams, 1);
        ap_dash_sub_set_notify(sub, sse_notify, e);
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache, no-transform");
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
        return r;
}

/* ---- requests ---- */

static void blob_free(void *cls)
{
        ap_dash_blob_unref(cls);
}

static struct MHD_Response *make_response(struct ap_dash_server *s, struct MHD_Connection *c,
                                          struct ap_dash_resp *resp)
{
        struct MHD_Response *r;
        /* resp->stream is handed to the response below: remember that this is one */
        const bool streaming = resp->stream != NULL;
        if (streaming) {
                r = sse_response(s, c, resp->stream);
                if (r)
                        resp->stream = NULL; /* the response owns it now */
        } else if (resp->blob) {
                r = MHD_create_response_from_buffer_with_free_callback_cls(resp->blob->len, resp->blob->data,
                                                                           blob_free, resp->blob);
                if (r)
                        resp->blob = NULL;
                if (r && resp->blob_gzip)
                        MHD_add_response_header(r, "Content-Encoding", "gzip");
                if (r)
                        MHD_add_response_header(r, "Vary", "Accept-Encoding");
        } else {
                size_t len;
                char *data = ap_buf_detach(&resp->body, &len);
                r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
                if (!r)
                        free(data);
        }
        if (!r)
                return NULL;
        if (!streaming) /* sse_response set text/event-stream */
                MHD_add_response_header(r, "Content-Type",
                                        resp->content_type ? resp->content_type : "application/json");
        add_security_headers(s, r, resp->is_api && !streaming);
        for (size_t i = 0; i < resp->n_headers; i++)
                MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
        return r;
}

static void resp_release(struct ap_dash_resp *resp)
{
        ap_buf_release(&resp->body);
        ap_dash_blob_unref(resp->blob);
        ap_dash_sub_unref(resp->stream);
}

static enum MHD_Result iter_len(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        size_t *n = cls;
        *n += strlen(key) + (value ? strlen(value) : 0) + 2;
        return MHD_YES;
}

static enum MHD_Result serve(struct ap_dash_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, struct reqctx *rc)
{
        size_t qlen = 0;
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, iter_len, &qlen);
        if (strlen(url) + qlen > s->o.max_url)
                return queue_text(s, c, 414, "the URL is longer than the server accepts");
        struct ap_dash_req req = {.arena = rc->arena,
                                  .method = method,
                                  .path = url,
                                  .header = hdr,
                                  .query = qry,
                                  .ctx = c,
                                  .body = rc->body.data,
                                  .body_len = rc->body.len,
                                  .tls = s->tls};
        struct ap_dash_resp resp = {.body = AP_BUF_INIT};
        resp.body.max = (size_t)64 << 20;
        s->fn(s->ud, &req, &resp);
        struct MHD_Response *r = make_response(s, c, &resp);
        int status = resp.status ? resp.status : 200;
        resp_release(&resp);
        if (!r)
                return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
        struct ap_dash_server *s = cls;
        struct reqctx *rc = *con_cls;
        if (!rc) {
                rc = calloc(1, sizeof(*rc));
                if (!rc || !(rc->arena = ap_dash_arena_new())) {
                        free(rc);
                        return MHD_NO;
                }
                ap_buf_init_secret(&rc->body,
                                   s->o.max_body); /* bodies may carry secret values: wiped when freed */
                *con_cls = rc;
                atomic_fetch_add(&s->active, 1);
                const char *cl = lookup(c, MHD_HEADER_KIND, "Content-Length");
                if (cl && strtoull(cl, NULL, 10) > s->o.max_body)
                        return queue_text(s, c, 413, "the request body is larger than the server accepts");
                return MHD_YES;
        }
        if (*upload_size) {
                if (!rc->too_large && ap_buf_add(&rc->body, upload_data, *upload_size) < 0)
                        rc->too_large = true;
                *upload_size = 0;
                return MHD_YES;
        }
        if (rc->too_large)
                return queue_text(s, c, 413, "the request body is larger than the server accepts");
        return serve(s, c, url, method, rc);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct ap_dash_server *s = cls;
        struct reqctx *rc = *con_cls;
        if (!rc)
                return;
        ap_dash_arena_free(rc->arena);
        ap_buf_release(&rc->body);
        free(rc);
        *con_cls = NULL;
        atomic_fetch_sub(&s->active, 1);
}

static int read_pem(const char *path, char **ret, struct ap_error *err)
{
        struct ap_buf b = AP_BUF_INIT_SECRET;
        b.max = 1 << 20;
        if (ap_read_file(path, &b, err) < 0) {
                ap_buf_release(&b);
                return ap_error_prefix(err, "TLS");
        }
        *ret = ap_buf_detach(&b, NULL);
        return *ret ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
}

static void log_mhd(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void log_mhd(void *cls, const char *fmt, va_list ap)
{
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
                msg[--n] = '\0';
        ap_debug("http: %s", msg);
}

static int resolve_addr(const char *host, int port, struct sockaddr_storage *ss, struct ap_error *err)
{
        memset(ss, 0, sizeof(*ss));
        struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        if (!host || !*host || strcmp(host, "0.0.0.0") == 0) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t)port);
                in4->sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t)port);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
        } else
                return ap_error_set(err, -EINVAL, "listen host '%s' is not an IP address", host);
        return 0;
}

int ap_dash_server_start(const struct ap_dash_server_options *o, ap_dash_serve_fn fn, void *ud,
                         struct ap_dash_server **ret, struct ap_error *err)
{
        struct ap_dash_server *s = calloc(1, sizeof(*s));
        if (!s)
                return ap_error_set(err, -ENOMEM, "out of memory");
        s->fn = fn;
        s->ud = ud;
        s->o = *o;
        s->o.host = NULL;
        s->tls = o->tls_cert_file && o->tls_key_file;
        int r = 0;
        struct sockaddr_storage ss;
        r = resolve_addr(o->host, o->port, &ss, err);
        if (r == 0 && s->tls && (r = read_pem(o->tls_cert_file, &s->cert_pem, err)) == 0)
                r = read_pem(o->tls_key_file, &s->key_pem, err);
        if (r < 0) {
                ap_dash_server_free(s);
                return r;
        }
        unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (s->tls)
                flags |= MHD_USE_TLS;
        struct MHD_OptionItem tls_opts[] = {
            {s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert_pem},
            {s->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->key_pem},
            {MHD_OPTION_END, 0, NULL},
        };
        s->d = MHD_start_daemon(
            flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(o->max_header * 2), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
        if (!s->d) {
                ap_dash_server_free(s);
                return ap_error_set(err, -EADDRINUSE,
                                    "cannot listen on port %d (in use, or the TLS files are not a "
                                    "matching PEM certificate and key)",
                                    o->port);
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : o->port;
        *ret = s;
        return 0;
}

int ap_dash_server_port(const struct ap_dash_server *s)
{
        return s->port;
}

void ap_dash_server_shutdown(struct ap_dash_server *s, void (*close_streams)(void *ud), void *ud,
                             long wait_ms)
{
        if (!s || s->shut || !s->d)
                return;
        s->shut = true;
        MHD_socket lfd = MHD_quiesce_daemon(s->d);
        if (close_streams)
                close_streams(ud);
        int64_t deadline = ap_deadline_after_ms(wait_ms);
        while ((atomic_load(&s->streams) > 0 || atomic_load(&s->active) > atomic_load(&s->streams)) &&
               !ap_deadline_passed(deadline))
                ap_sleep_ms(10);
        if (atomic_load(&s->streams) > 0)
                ap_warn("http: %d event streams still open at shutdown", atomic_load(&s->streams));
        MHD_stop_daemon(s->d);
        s->d = NULL;
        if (lfd != MHD_INVALID_SOCKET)
                close(lfd);
}

struct ap_dash_server *ap_dash_server_free(struct ap_dash_server *s)
{
        if (!s)
                return NULL;
        if (s->d)
                MHD_stop_daemon(s->d);
        ap_secure_free_str(s->key_pem);
        free(s->cert_pem);
        free(s);
        return NULL;
}
