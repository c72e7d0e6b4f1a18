/* client.h - the REST client: libcurl with HTTP/2 when the server offers it, requests and watches
 * multiplexed on one connection, a pool of easy handles, timeouts, bearer tokens re-read as they rotate,
 * impersonation headers, response bodies capped, and every non-2xx answer parsed into a Status.
 * Thread-safe: any number of threads may issue requests on one client at once. Over HTTP/2 they all
 * share one connection (see separate_connections). */
#pragma once

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"
#include "config.h"
#include "status.h"
#include "url.h"

struct ap_kube_client;

struct ap_kube_client_options {
        long connect_timeout_ms; /* 0 = 10 s */
        long request_timeout_ms; /* whole non-watch request; 0 = 60 s */
        size_t max_body;         /* cap of a response body the client collects (every verb of api.h but
                                  * the streamed lists and watches); 0 = 256 MiB */
        const char *user_agent;  /* 0 = "app-platform/<version>" */
        bool http1_only;         /* don't offer HTTP/2 */
        /* Client-side rate limit shared by every thread using the client (client-go's token bucket):
         * qps requests per second on average, bursts of up to burst (0 = max(1, qps)); qps 0 = off.
         * Watches do not count. Requests with ap_kube_opts.rate_limit AP_KUBE_LIMIT_BACKGROUND (Events)
         * count against a second bucket of the same size, so they never delay the others. A request waits for
         * a token within its own timeout, else fails with AP_E_RATE_LIMITED. */
        double qps;
        int burst;
        /* Lift that limit once an answer shows the apiserver runs API Priority and Fairness (header
         * X-Kubernetes-PF-FlowSchema-UID, Kubernetes >= 1.20): the server then queues each client's
         * requests fairly itself, as SIG API Machinery advises and controller-runtime and Flux do. */
        bool limit_unless_apf;
        /* After 429, or 503 with Retry-After, wait what the server asks (at most 10 s a time, within the
         * request's timeout) and try again, up to this many times (0 = 10, -1 = never); then the error
         * is returned with err->retry_after_ms. */
        int rate_limit_retries;
        /* Requests run on one libcurl multi handle (a thread of the client) so that over HTTP/2 they
         * share one connection as streams, as client-go's do: watches and requests alike (the caller
         * still blocks until its request ends; streaming callbacks run on that thread). true: each
         * request on the calling thread with a pooled handle's own connections (one per concurrent
         * request or watch). */
        bool separate_connections;
};

/* cfg is copied; it may be freed after. opts may be NULL. */
int ap_kube_client_new(const struct ap_kube_config *cfg, const struct ap_kube_client_options *opts,
                       struct ap_kube_client **ret, struct ap_error *err) _warn_unused_;
struct ap_kube_client *ap_kube_client_free(struct ap_kube_client *c);
AP_DEFINE_CLEANUP(struct ap_kube_client *, ap_kube_client_free);
/* The server URL (borrowed, lives as long as the client). */
const char *ap_kube_client_server(const struct ap_kube_client *c);
/* The cap on collected response bodies (ap_kube_client_options.max_body). */
size_t ap_kube_client_max_body(const struct ap_kube_client *c);
/* The configured default namespace, or NULL. */
const char *ap_kube_client_namespace(const struct ap_kube_client *c);

struct ap_kube_client_stats {
        unsigned long requests;        /* transfers that got an HTTP answer */
        unsigned long http2;           /* of which over HTTP/2 */
        unsigned long new_connections; /* connections opened (the rest reused a live one) */
        unsigned long throttled;       /* requests that waited for the client-side rate limit */
        unsigned long retries;         /* attempts repeated after 429 / 503 with Retry-After */
};
void ap_kube_client_get_stats(struct ap_kube_client *c, struct ap_kube_client_stats *ret);

/* Streaming receiver for 2xx bodies (watch). A negative return aborts the transfer with that code. */
typedef int (*ap_kube_data_fn)(void *userdata, const char *data, size_t n);

struct ap_kube_http {
        const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
        const char *url;          /* from ap_kube_url_build */
        const char *content_type; /* for a body; NULL = application/json */
        const char *body;         /* NULL = none */
        size_t body_len;
        const struct ap_kube_opts *opts; /* impersonation and timeout_ms; may be NULL */
        ap_kube_data_fn on_data;         /* NULL = collect the body into resp */
        void *userdata;
        const atomic_bool *cancel; /* when it turns true the transfer stops (-ECANCELED); may be NULL */
        bool no_timeout;           /* long-lived stream: only the connect timeout applies */
};

/* Perform one request. On a 2xx answer returns 0 with *ret_code set and the body in resp (unless
 * on_data). On a non-2xx answer fills st (when not NULL) and err, and returns the reason's code (see
 * status.h; err->retry_after_ms set from Retry-After / details.retryAfterSeconds). Transport failures
 * (base/http_curl.h): AP_E_UNAVAILABLE (DNS, connect, TLS handshake, reset), AP_E_TIMEOUT,
 * AP_E_CANCELLED (h->cancel), AP_E_CORRUPT (the server's certificate does not verify), with err set.
 * resp may be NULL when on_data is set. */
int ap_kube_client_do(struct ap_kube_client *c, const struct ap_kube_http *h, long *ret_code,
                      struct ap_buf *resp, struct ap_kube_status *st, struct ap_error *err) _warn_unused_;
