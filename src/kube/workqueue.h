/* workqueue.h - the controller work queue (client-go's semantics): string keys, de-duplicated while
 * waiting; a key added while it is being processed is queued again once, after done(); per-key
 * exponential backoff for retries (5 ms doubling, capped at 1000 s, reset by forget) combined with an
 * overall token bucket (10 qps, burst 100), the longer wait of the two, as client-go's
 * DefaultControllerRateLimiter; delayed adds; and a
 * shutdown that stops new adds while workers drain what is queued. Thread-safe. Metrics (optional) use
 * the workqueue_* families with name/controller labels. */
#pragma once

#include "base/macro.h"

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

struct ap_kube_workqueue;

struct ap_kube_workqueue_options {
        const char *name;                /* metrics label; NULL = "queue" */
        long base_delay_ms;              /* first retry delay; 0 = 5 ms */
        long max_delay_ms;               /* cap; 0 = 1000 s */
        double qps;                      /* the bucket shared by all rate-limited adds; 0 = 10, < 0 = off */
        int burst;                       /* 0 = 100 (or 10 x qps when qps is set) */
        struct ap_kube_metrics *metrics; /* may be NULL; must outlive the queue */
};

struct ap_kube_workqueue *ap_kube_workqueue_new(const struct ap_kube_workqueue_options *opts);
/* Frees the queue; call after every worker has returned. Accepts NULL. */
struct ap_kube_workqueue *ap_kube_workqueue_free(struct ap_kube_workqueue *q);

/* Queue key now (no-op when it is already waiting or the queue shuts down). -ENOMEM on failure. */
int ap_kube_workqueue_add(struct ap_kube_workqueue *q, const char *key) _warn_unused_;
/* Queue key after delay_ms; when the key already waits for a later time the earlier one wins. */
int ap_kube_workqueue_add_after(struct ap_kube_workqueue *q, const char *key, long delay_ms) _warn_unused_;
/* Queue key after its backoff delay or the overall bucket's wait, whichever is longer, and count the
 * failure (workqueue_retries_total). */
int ap_kube_workqueue_add_rate_limited(struct ap_kube_workqueue *q, const char *key) _warn_unused_;
/* Reset key's failure count (after a successful reconcile). */
void ap_kube_workqueue_forget(struct ap_kube_workqueue *q, const char *key);
int ap_kube_workqueue_num_requeues(struct ap_kube_workqueue *q, const char *key);
/* The backoff for the given number of earlier failures: base * 2^failures, capped. */
long ap_kube_workqueue_backoff_ms(long base_ms, long max_ms, int failures);

/* Block until a key is ready. 0 with *ret_key, -ESHUTDOWN once the queue is shut down and empty, or
 * -ECANCELED while paused. The
 * key is the queue's own copy, lent to the caller: valid and unchanged until it is handed back to done()
 * (or next()), which every get() must be paired with; never free it. */
int ap_kube_workqueue_get(struct ap_kube_workqueue *q, char **ret_key) _warn_unused_;
/* Finish processing key (exactly the pointer get() returned; invalid afterwards); re-queues it if it was
 * added meanwhile. */
void ap_kube_workqueue_done(struct ap_kube_workqueue *q, char *key);
/* done(done_key) (when not NULL) and get() in one step, as a worker loop does: one lock round trip. */
int ap_kube_workqueue_next(struct ap_kube_workqueue *q, char *done_key, char **ret_key) _warn_unused_;

/* Hand out no key until resumed: get()/next() return -ECANCELED at once (next() still finishes its
 * done_key) and blocked workers wake up. Adds, delayed adds and backoff go on, so what arrives meanwhile
 * waits for the next worker (a controller paused while another replica leads). */
void ap_kube_workqueue_pause(struct ap_kube_workqueue *q);
void ap_kube_workqueue_resume(struct ap_kube_workqueue *q);

/* Refuse new adds, drop delayed ones, wake waiters; get() keeps handing out what is queued. */
void ap_kube_workqueue_shutdown(struct ap_kube_workqueue *q);
/* Shut down, then wait until nothing is queued or being processed (workers must still be calling get). */
void ap_kube_workqueue_shutdown_drain(struct ap_kube_workqueue *q);
bool ap_kube_workqueue_shutting_down(struct ap_kube_workqueue *q);
size_t ap_kube_workqueue_len(struct ap_kube_workqueue *q);
/* Keys waiting for a delayed add. */
size_t ap_kube_workqueue_delayed(struct ap_kube_workqueue *q);
