/* controller.c - worker threads around a workqueue, with controller-runtime's result semantics. */
#include "controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

struct ap_kube_controller {
        char *name;
        int workers;
        ap_kube_reconcile_fn reconcile;
        void *userdata;
        ap_kube_gate_fn gate;
        void *gate_userdata;
        struct ap_kube_workqueue *queue;
        pthread_t *threads;
        atomic_bool cancel;   /* reconciles in flight must stop now */
        atomic_bool stopping; /* take no new key */

        pthread_mutex_t lock; /* guards the fields below; cond signals a worker's exit */
        pthread_cond_t cond;
        int started;  /* threads created and not yet joined */
        int alive;    /* of those, still running */
        bool joining; /* a stop is joining the threads (others wait for it) */
        struct ap_kube_metric *m_success, *m_error, *m_requeue, *m_requeue_after, *m_errors, *m_time,
            *m_active, *m_max, *m_cancelled;
};

int ap_kube_controller_new(const struct ap_kube_controller_options *opts, struct ap_kube_controller **ret,
                           struct ap_error *err)
{
        if (!opts->reconcile || !opts->name)
                return ap_error_set(err, -EINVAL, "a controller needs a name and a reconcile function");
        struct ap_kube_controller *c = calloc(1, sizeof(*c));
        if (!c || !(c->name = strdup(opts->name))) {
                free(c);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        c->workers = opts->workers > 0 ? opts->workers : 1;
        c->reconcile = opts->reconcile;
        c->userdata = opts->userdata;
        pthread_mutex_init(&c->lock, NULL);
        ap_cond_init_monotonic(&c->cond);
        struct ap_kube_workqueue_options qo = {
            .name = opts->name,
            .base_delay_ms = opts->base_delay_ms,
            .max_delay_ms = opts->max_delay_ms,
            .qps = opts->rate_limit_qps,
            .burst = opts->rate_limit_burst,
            .metrics = opts->metrics,
        };
        c->queue = ap_kube_workqueue_new(&qo);
        c->threads = calloc((size_t)c->workers, sizeof(*c->threads));
        if (!c->queue || !c->threads) {
                ap_kube_controller_free(c);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        struct ap_kube_metrics *m = opts->metrics;
        const char *n = c->name;
        const char *tot = "controller_runtime_reconcile_total";
        c->m_success = ap_kube_metrics_series(m, tot, "controller", n, "result", "success", NULL);
        c->m_error = ap_kube_metrics_series(m, tot, "controller", n, "result", "error", NULL);
        c->m_requeue = ap_kube_metrics_series(m, tot, "controller", n, "result", "requeue", NULL);
        c->m_requeue_after = ap_kube_metrics_series(m, tot, "controller", n, "result", "requeue_after", NULL);
        c->m_errors =
            ap_kube_metrics_series(m, "controller_runtime_reconcile_errors_total", "controller", n, NULL);
        c->m_time =
            ap_kube_metrics_series(m, "controller_runtime_reconcile_time_seconds", "controller", n, NULL);
        c->m_active = ap_kube_metrics_series(m, "controller_runtime_active_workers", "controller", n, NULL);
        c->m_max =
            ap_kube_metrics_series(m, "controller_runtime_max_concurrent_reconciles", "controller", n, NULL);
        c->m_cancelled = ap_kube_metrics_series(m, tot, "controller", n, "result", "cancelled", NULL);
        ap_kube_metric_set(c->m_max, c->workers);
        ap_kube_metric_set(c->m_active, 0);
        *ret = c;
        return 0;
}

struct ap_kube_workqueue *ap_kube_controller_queue(struct ap_kube_controller *c)
{
        return c->queue;
}

/* Queue key again, after delay_ms or (delay_ms < 0) its backoff. When the delayed add cannot allocate,
 * the key is marked for an immediate re-run instead: key is still being processed, so that needs no
 * memory, and a retry sooner than planned beats a retry never. */
static void requeue(struct ap_kube_controller *c, const char *key, long delay_ms)
{
        int r = delay_ms < 0 ? ap_kube_workqueue_add_rate_limited(c->queue, key)
                             : ap_kube_workqueue_add_after(c->queue, key, delay_ms);
        if (r < 0)
                r = ap_kube_workqueue_add(c->queue, key); /* marks the processing item: no allocation */
        (void)r;
}

static void *worker(void *arg)
{
        struct ap_kube_controller *c = arg;
        char *key = NULL;
        /* finish the previous key and take the next in one step; a paused queue hands out nothing */
        while (ap_kube_workqueue_next(c->queue, key, &key) == 0) {
                if (atomic_load(&c->stopping) || atomic_load(&c->cancel)) {
                        /* taken just as the stop began: it waits for the next start */
                        int r = ap_kube_workqueue_add(c->queue, key); /* processing: no allocation */
                        (void)r;
                        continue;
                }
                if (c->gate && !c->gate(c->gate_userdata)) {
                        /* not now: back to the queue, and give whoever closed the gate a moment */
                        int r = ap_kube_workqueue_add(c->queue, key);
                        (void)r;
                        ap_kube_workqueue_done(c->queue, key);
                        key = NULL;
                        ap_sleep_ms(5);
                        continue;
                }
                ap_kube_metric_add(c->m_active, 1);
                struct ap_kube_reconcile_result res = {0};
                int64_t t0 = ap_mono_ns();
                int r = c->reconcile(c->userdata, key, &res);
                double took = (double)(ap_mono_ns() - t0) / 1e9;
                ap_kube_metric_observe(c->m_time, took);
                ap_debug("%s: reconciled '%s' in %.1f ms (%d)", c->name, key, took * 1e3, r);
                if (atomic_load(&c->cancel)) {
                        /* cut short by a stop: not a failure of the object, run it again next time */
                        int a = ap_kube_workqueue_add(c->queue, key);
                        (void)a;
                        ap_kube_metric_inc(c->m_cancelled);
                } else if (r < 0) {
                        ap_kube_metric_inc(c->m_errors);
                        ap_kube_metric_inc(c->m_error);
                        requeue(c, key, -1);
                } else if (res.requeue_after_ms > 0) {
                        ap_kube_workqueue_forget(c->queue, key);
                        requeue(c, key, res.requeue_after_ms);
                        ap_kube_metric_inc(c->m_requeue_after);
                } else if (res.requeue) {
                        requeue(c, key, -1);
                        ap_kube_metric_inc(c->m_requeue);
                } else {
                        ap_kube_workqueue_forget(c->queue, key);
                        ap_kube_metric_inc(c->m_success);
                }
                ap_kube_metric_add(c->m_active, -1);
        }
        pthread_mutex_lock(&c->lock);
        c->alive--;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

void ap_kube_controller_set_gate(struct ap_kube_controller *c, ap_kube_gate_fn gate, void *userdata)
{
        c->gate = gate;
        c->gate_userdata = userdata;
}

const atomic_bool *ap_kube_controller_cancel_flag(struct ap_kube_controller *c)
{
        return &c->cancel;
}

int ap_kube_controller_start(struct ap_kube_controller *c, struct ap_error *err)
{
        pthread_mutex_lock(&c->lock);
        while (c->joining)
                pthread_cond_wait(&c->cond, &c->lock);
        if (c->started) {
                pthread_mutex_unlock(&c->lock);
                return 0;
        }
        atomic_store(&c->cancel, false);
        atomic_store(&c->stopping, false);
        ap_kube_workqueue_resume(c->queue);
        int r = 0;
        for (int i = 0; i < c->workers; i++) {
                r = pthread_create(&c->threads[i], NULL, worker, c);
                if (r != 0)
                        break;
                c->started++;
                c->alive++;
        }
        pthread_mutex_unlock(&c->lock);
        if (r != 0) {
                int started = c->started;
                ap_kube_controller_stop(c, 0);
                return ap_error_set(err, -r, "cannot start worker %d of controller '%s': %s", started,
                                    c->name, strerror(r));
        }
        return 0;
}

/* Join the workers (called with the lock held and joining set; returns with the lock released). */
static void join_locked(struct ap_kube_controller *c)
{
        int n = c->started;
        pthread_mutex_unlock(&c->lock);
        for (int i = 0; i < n; i++)
                pthread_join(c->threads[i], NULL);
        pthread_mutex_lock(&c->lock);
        c->started = 0;
        c->alive = 0;
        c->joining = false;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

void ap_kube_controller_stop(struct ap_kube_controller *c, long grace_ms)
{
        if (!c)
                return;
        atomic_store(&c->stopping, true);
        ap_kube_workqueue_pause(c->queue);
        pthread_mutex_lock(&c->lock);
        if (grace_ms == 0)
                atomic_store(&c->cancel, true);
        /* a stop already joining: raise the flag if asked to (a lost lease during a graceful stop) and
         * wait for it */
        while (c->joining)
                pthread_cond_wait(&c->cond, &c->lock);
        if (c->started == 0) {
                pthread_mutex_unlock(&c->lock);
                return;
        }
        c->joining = true;
        struct timespec until = ap_mono_timespec_after_ms(grace_ms > 0 ? grace_ms : 0);
        while (c->alive > 0 && grace_ms != 0 && !atomic_load(&c->cancel)) {
                int w = grace_ms > 0 ? pthread_cond_timedwait(&c->cond, &c->lock, &until)
                                     : pthread_cond_wait(&c->cond, &c->lock);
                if (w == ETIMEDOUT)
                        break;
        }
        atomic_store(&c->cancel, true); /* whatever still runs must stop now */
        join_locked(c);
}

void ap_kube_controller_drain(struct ap_kube_controller *c)
{
        if (!c)
                return;
        ap_kube_workqueue_shutdown(c->queue);
        pthread_mutex_lock(&c->lock);
        while (c->joining)
                pthread_cond_wait(&c->cond, &c->lock);
        c->joining = true;
        join_locked(c);
}

struct ap_kube_controller *ap_kube_controller_free(struct ap_kube_controller *c)
{
        if (!c)
                return NULL;
        if (c->queue)
                ap_kube_controller_stop(c, 0);
        ap_kube_workqueue_free(c->queue);
        free(c->threads);
        free(c->name);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
}
