/* events.h - Kubernetes Events (events.k8s.io/v1) about objects, with repeats aggregated: the first
 * occurrence creates an Event, repeats of the same (object, type, reason, action, note) within the series
 * window bump series.count/lastObservedTime on it (patched at most every 10 s; ap_kube_recorder_flush
 * writes what is pending). Recording is asynchronous: ap_kube_recorder_event copies the event into a
 * bounded queue and returns; one writer thread talks to the apiserver, in order. When the queue is full
 * the event is dropped and counted (events are best effort, as in client-go), so a worker never waits
 * on the apiserver. Thread-safe. */
#pragma once

#include "base/macro.h"

#include <jansson.h>

#include "client.h"
#include "metrics.h"

struct ap_kube_recorder;

struct ap_kube_recorder_options {
        const char *controller; /* reportingController, e.g. "labrats.work/app-platform-operator" */
        const char *instance;   /* reportingInstance: pod or host name */
        size_t cache_size;      /* events remembered for aggregation; 0 = 4096 */
        long series_window_ms;  /* repeats further apart start a new Event; 0 = 6 min */
        size_t queue_size;      /* events waiting for the writer; 0 = 1024 */
        /* app_platform_events_dropped_total and app_platform_event_write_errors_total; may be NULL */
        struct ap_kube_metrics *metrics;
};

int ap_kube_recorder_new(struct ap_kube_client *client, const struct ap_kube_recorder_options *opts,
                         struct ap_kube_recorder **ret, struct ap_error *err) _warn_unused_;
/* Writes everything queued and pending series counts (the flush), stops the writer, frees. */
struct ap_kube_recorder *ap_kube_recorder_free(struct ap_kube_recorder *rec);

#define AP_KUBE_EVENT_NORMAL  "Normal"
#define AP_KUBE_EVENT_WARNING "Warning"

/* Record an event about regarding (an object with apiVersion, kind and metadata). reason is CamelCase
 * ("SecretCommitted"), action what was done ("Commit"), note a human sentence (cut at 1 KiB). Returns at
 * once: 0 when queued or dropped (queue full: counted, see ap_kube_recorder_dropped), AP_E_INVALID for
 * missing fields, -ENOMEM. Failed writes are counted and the last one kept
 * (ap_kube_recorder_last_error). */
int ap_kube_recorder_event(struct ap_kube_recorder *rec, const json_t *regarding, const char *type,
                           const char *reason, const char *action, const char *note,
                           struct ap_error *err) _warn_unused_;
/* Wait until every event queued before the call is written, and write pending series updates now. The
 * first write error since the last flush is returned. */
int ap_kube_recorder_flush(struct ap_kube_recorder *rec, struct ap_error *err) _warn_unused_;
/* Events dropped because the queue was full, and writes that failed, so far. */
unsigned long ap_kube_recorder_dropped(struct ap_kube_recorder *rec);
unsigned long ap_kube_recorder_write_errors(struct ap_kube_recorder *rec);
/* The last failed write's message, copied into buf; false if none. */
bool ap_kube_recorder_last_error(struct ap_kube_recorder *rec, char *buf, size_t size);
