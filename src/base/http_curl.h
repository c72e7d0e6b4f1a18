/* http_curl.h - the one libcurl wrapper every layer that speaks HTTP uses (kube, forge, the dashboard's
 * OIDC calls): libcurl's global initialisation done once; the options set on every easy handle (no
 * signals, http/https only, no redirects, keepalive, timeouts, user agent, HTTP/2 over TLS); response
 * bodies collected into an ap_buf with its cap (a secret buffer stays wiped); the response headers that
 * matter captured (Retry-After, x-ratelimit-remaining/-reset); and the mapping of a failed transfer
 * (CURLcode) and of an HTTP status onto the shared error vocabulary, with a message naming the method,
 * URL and cause, so a DNS failure or a TLS error reads and classifies the same everywhere. Lives in its
 * own static library (base_http_dep) so layers without HTTP do not link libcurl. One easy handle per
 * thread at a time, as libcurl wants. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

#include "buf.h"
#include "error.h"
#include "macro.h"

/* curl_global_init once per process (thread-safe); 0 or AP_E_UNAVAILABLE with err set. */
int ap_http_global_init(struct ap_error *err) _warn_unused_;

/* Map a failed transfer onto the shared codes and fill err with "<method> <url>: <cause>: <detail>"
 * (errbuf: libcurl's CURLOPT_ERRORBUFFER text, may be NULL or empty). Returns the code:
 *   resolve, connect, TLS handshake, send/receive failure, reset, HTTP/2 framing -> AP_E_UNAVAILABLE
 *   timeout -> AP_E_TIMEOUT;  aborted by a callback -> AP_E_CANCELLED
 *   the server's certificate (or its name) does not verify -> AP_E_CORRUPT: the peer failed
 *     authentication; retrying cannot help until the trust configuration or the server changes
 *   our own TLS material unreadable (client certificate, key, CA bundle), a malformed URL -> AP_E_INVALID
 *   out of memory -> -ENOMEM; anything else -> AP_E_UNAVAILABLE */
int ap_http_curl_error(CURLcode cc, const char *errbuf, const char *method, const char *url,
                       struct ap_error *err);
/* Only the code of that mapping (0 for CURLE_OK). */
int ap_http_curl_code(CURLcode cc);

/* The shared code for an HTTP status that is not a success (0 for 1xx-3xx): 400/422 -> AP_E_INVALID,
 * 401 -> AP_E_UNAUTHORIZED, 403 -> AP_E_FORBIDDEN, 404/410 -> AP_E_NOT_FOUND, 409 -> AP_E_CONFLICT,
 * 413 -> AP_E_TOO_LARGE, 429 -> AP_E_RATE_LIMITED, 5xx -> AP_E_UNAVAILABLE, other 4xx -> AP_E_INVALID.
 * A protocol with its own error bodies (a Kubernetes Status, GitHub's 403 rate limit, a 422 that means
 * "exists") refines this. */
int ap_http_status_code(long status);

/* What the wrapper reads from the response headers. */
struct ap_http_response_info {
        long status;               /* the HTTP status (0 when no answer came) */
        long retry_after_ms;       /* Retry-After in seconds, as ms; 0 = none (dates are ignored) */
        long ratelimit_remaining;  /* x-ratelimit-remaining; -1 = absent */
        long long ratelimit_reset; /* x-ratelimit-reset (Unix seconds); -1 = absent */
};
void ap_http_response_info_init(struct ap_http_response_info *info);
/* Parse one header line ("Name: value\r\n", as libcurl hands them over) into info; other headers are
 * ignored. For callers with a header function of their own. */
void ap_http_parse_header(const char *line, size_t n, struct ap_http_response_info *info);

/* The options every easy handle gets. */
struct ap_http_options {
        const char *user_agent;  /* required */
        long connect_timeout_ms; /* 0 = 10 s */
        long timeout_ms;         /* the whole transfer; 0 = none */
        bool http1_only;         /* else HTTP/2 when the server offers it over TLS */
};
/* Set those options (and CURLOPT_NOSIGNAL, http/https only, no redirects, TCP keepalive) on h. */
void ap_http_setup_handle(CURL *h, const struct ap_http_options *o);

/* One request on h, which is reset first (its live connections are kept): method, url, headers (may be
 * NULL), body (may be NULL; body_len bytes, sent as is). The response body goes into resp (capped by
 * resp->max; give a secret buffer when it may hold secrets), the headers into *ret_info (may be NULL).
 * Returns 0 when an answer came, whatever its status (see ap_http_status_code), AP_E_TOO_LARGE when the
 * body passed resp->max, or the transfer's code (ap_http_curl_error), with err set. */
struct ap_http_request {
        const char *method;
        const char *url;
        const struct curl_slist *headers;
        const char *body;
        size_t body_len;
};
int ap_http_perform(CURL *h, const struct ap_http_options *o, const struct ap_http_request *req,
                    struct ap_buf *resp, struct ap_http_response_info *ret_info,
                    struct ap_error *err) _warn_unused_;
