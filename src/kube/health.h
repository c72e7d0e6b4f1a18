/* health.h - the operator's HTTP endpoints on libmicrohttpd: /metrics (Prometheus text) on the metrics
 * address, /healthz and /readyz (named checks; ready once informers have synced) on the health address.
 * Addresses are ":8080", "127.0.0.1:8080", "[::1]:8080" or "0" to disable; port 0 picks a free port.
 * When both addresses are equal one listener serves all three paths. */
#pragma once

#include <stdbool.h>

#include "base/error.h"
#include "metrics.h"

struct ap_kube_health;

enum ap_kube_check_kind { AP_KUBE_CHECK_HEALTHZ, AP_KUBE_CHECK_READYZ };
/* true = healthy/ready. Called on the server's thread; must be quick and thread-safe. */
typedef bool (*ap_kube_check_fn)(void *userdata);

/* metrics may be NULL (then /metrics answers 404). */
int ap_kube_health_start(const char *metrics_addr, const char *health_addr, struct ap_kube_metrics *metrics,
                         struct ap_kube_health **ret, struct ap_error *err) _warn_unused_;
/* Add a named check (the name is shown in the failure text). Safe while serving. */
int ap_kube_health_add_check(struct ap_kube_health *h, enum ap_kube_check_kind kind, const char *name,
                             ap_kube_check_fn fn, void *userdata) _warn_unused_;
/* The bound port of the metrics (false) or health (true) listener; 0 when disabled. */
int ap_kube_health_port(const struct ap_kube_health *h, bool health);
/* Stop listening and free. Accepts NULL. */
struct ap_kube_health *ap_kube_health_free(struct ap_kube_health *h);

/* Parse an address as above: "0" -> *ret_disabled. */
int ap_kube_parse_listen_addr(const char *addr, char *host, size_t host_size, int *ret_port,
                              bool *ret_disabled, struct ap_error *err) _warn_unused_;
