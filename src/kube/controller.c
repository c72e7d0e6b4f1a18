/* controller.c - worker threads around a workqueue, with controller-runtime's result semantics. */
#include "controller.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

struct ap_kube_controller {
        char *name;
        int workers;
        ap_kube_reconcile_fn reconcile;
        void *userdata;
        struct ap_kube_workqueue *queue;
        pthread_t *threads;
        int started; /* threads running */
        struct ap_kube_metric *m_success, *m_error, *m_requeue, *m_requeue_after, *m_errors, *m_time,
            *m_active, *m_max;
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
        struct ap_kube_workqueue_options qo = {
            .name = opts->name,
            .base_delay_ms = opts->base_delay_ms,
            .max_delay_ms = opts->max_delay_ms,
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
        /* finish the previous key and take the next in one step */
        while (ap_kube_workqueue_next(c->queue, key, &key) == 0) {
                ap_kube_metric_add(c->m_active, 1);
                struct ap_kube_reconcile_result res = {0};
                int64_t t0 = ap_mono_ns();
                int r = c->reconcile(c->userdata, key, &res);
                ap_kube_metric_observe(c->m_time, (double)(ap_mono_ns() - t0) / 1e9);
                if (r < 0) {
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
        return NULL;
}

int ap_kube_controller_start(struct ap_kube_controller *c, struct ap_error *err)
{
        if (c->started)
                return 0;
        for (int i = 0; i < c->workers; i++) {
                int r = pthread_create(&c->threads[i], NULL, worker, c);
                if (r != 0) {
                        ap_kube_controller_stop(c);
                        return ap_error_set(err, -r, "cannot start worker %d of controller '%s': %s", i,
                                            c->name, strerror(r));
                }
                c->started++;
        }
        return 0;
}

void ap_kube_controller_stop(struct ap_kube_controller *c)
{
        if (!c)
                return;
        ap_kube_workqueue_shutdown(c->queue);
        for (int i = 0; i < c->started; i++)
                pthread_join(c->threads[i], NULL);
        c->started = 0;
}

struct ap_kube_controller *ap_kube_controller_free(struct ap_kube_controller *c)
{
        if (!c)
                return NULL;
        if (c->queue)
                ap_kube_controller_stop(c);
        ap_kube_workqueue_free(c->queue);
        free(c->threads);
        free(c->name);
        free(c);
        return NULL;
}
