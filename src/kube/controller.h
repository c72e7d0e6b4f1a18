/* controller.h - N worker threads that take keys from a workqueue and run a level-triggered reconcile
 * callback, with controller-runtime's result handling (error or requeue -> rate-limited retry,
 * requeue-after -> forget + delayed add, success -> forget) and metrics
 * (controller_runtime_reconcile_total{controller,result}, _errors_total, _time_seconds,
 * _active_workers, _max_concurrent_reconciles). Stopping drains: queued keys are still reconciled. */
#pragma once

#include <stdbool.h>

#include "base/error.h"
#include "metrics.h"
#include "workqueue.h"

struct ap_kube_reconcile_result {
        bool requeue;          /* retry with backoff even though nothing failed */
        long requeue_after_ms; /* > 0: reconcile again after this long (backoff reset) */
};

/* Reconcile the object named by key ("namespace/name"). Return 0 on success (res may ask for a requeue),
 * negative to have the key retried with backoff. Runs on a worker thread; the same key never runs on two
 * workers at once. */
typedef int (*ap_kube_reconcile_fn)(void *userdata, const char *key, struct ap_kube_reconcile_result *res);

struct ap_kube_controller_options {
        const char *name; /* the "controller" metrics label and queue name */
        int workers;      /* 0 = 1 */
        ap_kube_reconcile_fn reconcile;
        void *userdata;
        struct ap_kube_metrics *metrics;  /* may be NULL */
        long base_delay_ms, max_delay_ms; /* backoff; 0 = 5 ms / 1000 s */
};

struct ap_kube_controller;

int ap_kube_controller_new(const struct ap_kube_controller_options *opts, struct ap_kube_controller **ret,
                           struct ap_error *err) _warn_unused_;
/* Stops (if running) and frees. */
struct ap_kube_controller *ap_kube_controller_free(struct ap_kube_controller *c);
/* The controller's queue (borrowed): event handlers add keys to it. */
struct ap_kube_workqueue *ap_kube_controller_queue(struct ap_kube_controller *c);
int ap_kube_controller_start(struct ap_kube_controller *c, struct ap_error *err) _warn_unused_;
/* Shut the queue down, let the workers finish what is queued and in flight, join them. Idempotent. */
void ap_kube_controller_stop(struct ap_kube_controller *c);
