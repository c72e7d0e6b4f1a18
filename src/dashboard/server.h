/* server.h - the HTTP server over libmicrohttpd, the only file that sees its types: epoll with a small
 * worker pool, connection/body/header/URL limits (413, 431, 414), an idle timeout, TLS from PEM files,
 * security headers on every answer, request bodies collected under the cap, the per-request arena, shared
 * bodies sent without a copy, SSE streams suspended while idle and resumed by the hub, and a graceful
 * shutdown (stop accepting, end the streams, let requests in flight finish, stop). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "http.h"

struct ap_dash_server_options {
        const char *host; /* NULL/"" = all addresses */
        int port;         /* 0 = any free port */
        const char *tls_cert_file, *tls_key_file;
        unsigned threads;
        size_t max_body, max_header, max_url;
        unsigned max_connections;
        unsigned timeout_s;
};

typedef void (*ap_dash_serve_fn)(void *ud, struct ap_dash_req *req, struct ap_dash_resp *resp);

struct ap_dash_server;

int ap_dash_server_start(const struct ap_dash_server_options *o, ap_dash_serve_fn fn, void *ud,
                         struct ap_dash_server **ret, struct ap_error *err);
int ap_dash_server_port(const struct ap_dash_server *s);
/* Stop accepting; call close_streams(ud) so SSE streams end; wait up to wait_ms for streams and requests
 * in flight; stop the daemon. Idempotent. */
void ap_dash_server_shutdown(struct ap_dash_server *s, void (*close_streams)(void *ud), void *ud,
                             long wait_ms);
struct ap_dash_server *ap_dash_server_free(struct ap_dash_server *s);
