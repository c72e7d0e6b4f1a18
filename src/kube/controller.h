/* controller.h - N worker threads that take keys from a workqueue and run a level-triggered reconcile
 * callback, with controller-runtime's result handling (error or requeue -> rate-limited retry,
 * requeue-after -> forget + delayed add, success -> forget) and metrics
 * (controller_runtime_reconcile_total{controller,result}, _errors_total, _time_seconds,
 * _active_workers, _max_concurrent_reconciles). A controller can be stopped and started again (as
 * leadership comes and goes) with its queue kept: stopping takes no new key, lets reconciles in flight
 * finish for a grace period, then raises the cancel flag that a reconcile passes to its requests. */
#pragma once

#include <stdatomic.h>
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
        double rate_limit_qps;            /* the queue's overall bucket; 0 = 10, < 0 = off */
        int rate_limit_burst;             /* 0 = 100 */
};

struct ap_kube_controller;

/* A gate checked before each key is started (may be NULL = always open): false means "not now" (e.g.
 * the leader's lease may have run out and this process must not start work); the key goes back to the
 * queue. */
typedef bool (*ap_kube_gate_fn)(void *userdata);

int ap_kube_controller_new(const struct ap_kube_controller_options *opts, struct ap_kube_controller **ret,
                           struct ap_error *err) _warn_unused_;
/* Stops (if running) and frees. */
struct ap_kube_controller *ap_kube_controller_free(struct ap_kube_controller *c);
/* The controller's queue (borrowed): event handlers add keys to it. */
struct ap_kube_workqueue *ap_kube_controller_queue(struct ap_kube_controller *c);
/* Set the gate before start. */
void ap_kube_controller_set_gate(struct ap_kube_controller *c, ap_kube_gate_fn gate, void *userdata);
/* Start the workers (again, after a stop: the cancel flag is lowered and the queue resumed). */
int ap_kube_controller_start(struct ap_kube_controller *c, struct ap_error *err) _warn_unused_;
/* Stop: workers take no new key at once; reconciles in flight get grace_ms to finish (0 = none, < 0 =
 * as long as they take), then the cancel flag goes up; the workers are joined. Queued keys stay queued
 * (and keys whose reconcile was cancelled are queued again) for the next start. Idempotent and
 * callable from any thread, also while another thread is in it. */
void ap_kube_controller_stop(struct ap_kube_controller *c, long grace_ms);
/* Shut the queue down for good and reconcile everything queued and in flight, then join (tests, batch
 * runs). The controller cannot be started again. */
void ap_kube_controller_drain(struct ap_kube_controller *c);
/* True once the controller must stop now (leadership lost, or the grace of a stop ran out): a
 * reconcile passes it to its HTTP requests (struct ap_kube_http.cancel) and checks it in long
 * operations, which then fail with AP_E_CANCELLED. Borrowed; lives as long as the controller. Lowered
 * again by the next start. */
const atomic_bool *ap_kube_controller_cancel_flag(struct ap_kube_controller *c);
