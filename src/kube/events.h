/* events.h - Kubernetes Events (events.k8s.io/v1) about objects, with repeats aggregated: the first
 * occurrence creates an Event, repeats of the same (object, type, reason, action, note) within the series
 * window bump series.count/lastObservedTime on it (patched at most every 10 s; ap_kube_recorder_flush
 * writes what is pending). Thread-safe. */
#pragma once

#include "base/macro.h"

#include <jansson.h>

#include "client.h"

struct ap_kube_recorder;

struct ap_kube_recorder_options {
        const char *controller; /* reportingController, e.g. "labrats.work/app-platform-operator" */
        const char *instance;   /* reportingInstance: pod or host name */
        size_t cache_size;      /* events remembered for aggregation; 0 = 4096 */
        long series_window_ms;  /* repeats further apart start a new Event; 0 = 6 min */
};

int ap_kube_recorder_new(struct ap_kube_client *client, const struct ap_kube_recorder_options *opts,
                         struct ap_kube_recorder **ret, struct ap_error *err) _warn_unused_;
/* Flushes pending series counts, then frees. */
struct ap_kube_recorder *ap_kube_recorder_free(struct ap_kube_recorder *rec);

#define AP_KUBE_EVENT_NORMAL  "Normal"
#define AP_KUBE_EVENT_WARNING "Warning"

/* Record an event about regarding (an object with apiVersion, kind and metadata). reason is CamelCase
 * ("SecretCommitted"), action what was done ("Commit"), note a human sentence (cut at 1 KiB). */
int ap_kube_recorder_event(struct ap_kube_recorder *rec, const json_t *regarding, const char *type,
                           const char *reason, const char *action, const char *note,
                           struct ap_error *err) _warn_unused_;
/* Write pending series updates now. */
int ap_kube_recorder_flush(struct ap_kube_recorder *rec, struct ap_error *err) _warn_unused_;
