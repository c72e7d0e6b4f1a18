/* metrics.h - a small Prometheus registry: counters, gauges and histograms in families with label sets,
 * rendered in the text exposition format (version 0.0.4). ap_kube_metrics_new registers the families
 * controller-runtime exposes (controller_runtime_*, workqueue_*, leader_election_master_status, process_*)
 * under their upstream names and buckets, so existing dashboards and alerts work unchanged.
 * Thread-safe; series handles stay valid until the registry is freed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

enum ap_kube_metric_type { AP_KUBE_COUNTER, AP_KUBE_GAUGE, AP_KUBE_HISTOGRAM };

struct ap_kube_metrics;
struct ap_kube_metric; /* one series: a family plus one set of label values */

struct ap_kube_metrics *ap_kube_metrics_new(void);
struct ap_kube_metrics *ap_kube_metrics_free(struct ap_kube_metrics *m);

/* Register a family (no-op if it exists). buckets: upper bounds, ascending, histograms only. */
int ap_kube_metrics_register(struct ap_kube_metrics *m, const char *name, enum ap_kube_metric_type type,
                             const char *help, const double *buckets, size_t n_buckets) _warn_unused_;
/* The series for a family and label pairs (NULL-terminated key, value, key, value, ..., NULL). Created on
 * first use; NULL if the family is unknown or memory ran out (updates to a NULL series are no-ops, so
 * instrumented code never has to check). */
struct ap_kube_metric *ap_kube_metrics_series(struct ap_kube_metrics *m, const char *family, ...)
    __attribute__((sentinel));

void ap_kube_metric_inc(struct ap_kube_metric *s);
void ap_kube_metric_add(struct ap_kube_metric *s, double v);
void ap_kube_metric_set(struct ap_kube_metric *s, double v);
void ap_kube_metric_observe(struct ap_kube_metric *s, double v);
double ap_kube_metric_value(struct ap_kube_metric *s); /* counter/gauge value, histogram count */

/* Collectors run just before rendering (to set gauges computed on demand). */
typedef void (*ap_kube_collect_fn)(void *userdata, struct ap_kube_metrics *m);
int ap_kube_metrics_add_collector(struct ap_kube_metrics *m, ap_kube_collect_fn fn,
                                  void *userdata) _warn_unused_;
void ap_kube_metrics_remove_collector(struct ap_kube_metrics *m, ap_kube_collect_fn fn, void *userdata);

/* Append the exposition text: families in registration order, series sorted by labels. */
int ap_kube_metrics_render(struct ap_kube_metrics *m, struct ap_buf *out) _warn_unused_;

/* Escape a label value for the text format (backslash, double quote, newline). */
int ap_kube_metrics_escape(struct ap_buf *out, const char *s) _warn_unused_;
