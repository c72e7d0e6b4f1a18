/* http_curl.h - the one libcurl wrapper every layer that speaks HTTP uses (kube, forge, the dashboard's
 * OIDC calls): libcurl's global initialisation done once, and the mapping of a failed transfer
 * (CURLcode) onto the shared error vocabulary with a message naming the method, URL and cause, so a DNS
 * failure or a TLS error reads and classifies the same everywhere. Lives in its own static library
 * (base_http_dep) so layers without HTTP do not link libcurl. */
#pragma once

#include <curl/curl.h>

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
/* Only the code of that mapping. */
int ap_http_curl_code(CURLcode cc);
