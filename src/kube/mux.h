/* mux.h - one libcurl multi handle, driven by its own thread, that runs the client's transfers side by
 * side, so that over HTTP/2 they share one connection as streams instead of each opening a TCP+TLS
 * connection of its own (libcurl shares connections between easy handles only within a multi handle,
 * and not across threads). The body of each answer is relayed to the thread that asked for it, so
 * parsing a list or handling watch events never holds up the other transfers. Internal to the REST
 * client. */
#pragma once

#include <curl/curl.h>
#include <stdatomic.h>

struct ap_kube_mux;

/* Receives body bytes on the requesting thread, with the answer's HTTP status. A negative return ends
 * the transfer with CURLE_WRITE_ERROR. */
typedef int (*ap_kube_mux_sink_fn)(void *userdata, long http_code, const char *data, size_t n);

/* NULL when out of memory. The thread starts with the first transfer. */
struct ap_kube_mux *ap_kube_mux_new(void);
/* Call after every transfer ended. Accepts NULL. */
struct ap_kube_mux *ap_kube_mux_free(struct ap_kube_mux *m);
/* Run the transfer set up on h to its end, as curl_easy_perform would, blocking the caller, who gets the
 * body through sink (h's write function is replaced; its header and progress functions run on the
 * multiplexer's thread). cancel (may be NULL) is also checked every 100 ms: when it turns true the
 * transfer is dropped with CURLE_ABORTED_BY_CALLBACK. */
CURLcode ap_kube_mux_perform(struct ap_kube_mux *m, CURL *h, const atomic_bool *cancel,
                             ap_kube_mux_sink_fn sink, void *userdata);
