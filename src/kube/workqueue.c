/* workqueue.c - FIFO of keys with dirty/processing sets, a min-heap of delayed adds and per-key backoff. */
#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keymap.h"

struct delayed {
        int64_t ready_ns;
        char *key;
};

struct ap_kube_workqueue {
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t cond;  /* signalled on add, on done and on shutdown */
        char **fifo;          /* ring buffer of queued keys (owned) */
        size_t head, count, cap;
        struct ap_keymap dirty;      /* key -> (int64_t) add time ns: waiting or to be re-queued */
        struct ap_keymap processing; /* key -> (int64_t) start time ns */
        struct ap_keymap failures;   /* key -> (uintptr_t) failure count */
        struct ap_keymap waiting;    /* key -> (int64_t) ready time ns of its valid heap entry */
        struct delayed *heap;        /* min-heap on ready_ns; stale entries skipped (lazy deletion) */
        size_t n_heap, cap_heap;
        bool shutting_down;
        long base_ms, max_ms;
        atomic_size_t n_failures; /* size of failures, readable without the lock */

        struct ap_kube_metrics *metrics;
        struct ap_kube_metric *m_depth, *m_adds, *m_queue_dur, *m_work_dur, *m_retries, *m_unfinished,
            *m_longest;
};

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void collect(void *userdata, struct ap_kube_metrics *m)
{
        struct ap_kube_workqueue *q = userdata;
        pthread_mutex_lock(&q->lock);
        int64_t now = now_ns(), oldest = now, total = 0;
        size_t it = 0;
        void *v;
        while (ap_keymap_next(&q->processing, &it, NULL, &v)) {
                int64_t start = (int64_t)(intptr_t)v;
                total += now - start;
                if (start < oldest)
                        oldest = start;
        }
        pthread_mutex_unlock(&q->lock);
        ap_kube_metric_set(q->m_unfinished, (double)total / 1e9);
        ap_kube_metric_set(q->m_longest, (double)(now - oldest) / 1e9);
}

struct ap_kube_workqueue *ap_kube_workqueue_new(const struct ap_kube_workqueue_options *opts)
{
        static const struct ap_kube_workqueue_options none = {0};
        if (!opts)
                opts = &none;
        struct ap_kube_workqueue *q = calloc(1, sizeof(*q));
        if (!q)
                return NULL;
        pthread_mutex_init(&q->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&q->cond, &ca);
        pthread_condattr_destroy(&ca);
        q->base_ms = opts->base_delay_ms > 0 ? opts->base_delay_ms : 5;
        q->max_ms = opts->max_delay_ms > 0 ? opts->max_delay_ms : 1000L * 1000;
        q->metrics = opts->metrics;
        if (q->metrics) {
                const char *n = opts->name ? opts->name : "queue";
                struct ap_kube_metrics *m = q->metrics;
                q->m_depth = ap_kube_metrics_series(m, "workqueue_depth", "name", n, "controller", n, NULL);
                q->m_adds =
                    ap_kube_metrics_series(m, "workqueue_adds_total", "name", n, "controller", n, NULL);
                q->m_queue_dur = ap_kube_metrics_series(m, "workqueue_queue_duration_seconds", "name", n,
                                                        "controller", n, NULL);
                q->m_work_dur = ap_kube_metrics_series(m, "workqueue_work_duration_seconds", "name", n,
                                                       "controller", n, NULL);
                q->m_retries =
                    ap_kube_metrics_series(m, "workqueue_retries_total", "name", n, "controller", n, NULL);
                q->m_unfinished = ap_kube_metrics_series(m, "workqueue_unfinished_work_seconds", "name", n,
                                                         "controller", n, NULL);
                q->m_longest = ap_kube_metrics_series(m, "workqueue_longest_running_processor_seconds",
                                                      "name", n, "controller", n, NULL);
                if (ap_kube_metrics_add_collector(m, collect, q) < 0)
                        q->metrics = NULL;
        }
        return q;
}

struct ap_kube_workqueue *ap_kube_workqueue_free(struct ap_kube_workqueue *q)
{
        if (!q)
                return NULL;
        if (q->metrics)
                ap_kube_metrics_remove_collector(q->metrics, collect, q);
        for (size_t i = 0; i < q->count; i++)
                free(q->fifo[(q->head + i) % q->cap]);
        free(q->fifo);
        for (size_t i = 0; i < q->n_heap; i++)
                free(q->heap[i].key);
        free(q->heap);
        ap_keymap_release(&q->dirty, NULL);
        ap_keymap_release(&q->processing, NULL);
        ap_keymap_release(&q->failures, NULL);
        ap_keymap_release(&q->waiting, NULL);
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}

static int fifo_push(struct ap_kube_workqueue *q, const char *key)
{
        if (q->count == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 64;
                char **n = malloc(cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                for (size_t i = 0; i < q->count; i++)
                        n[i] = q->fifo[(q->head + i) % q->cap];
                free(q->fifo);
                q->fifo = n;
                q->cap = cap;
                q->head = 0;
        }
        char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        q->fifo[(q->head + q->count) % q->cap] = k;
        q->count++;
        ap_kube_metric_set(q->m_depth, (double)q->count);
        return 0;
}

static char *fifo_pop(struct ap_kube_workqueue *q)
{
        char *k = q->fifo[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        ap_kube_metric_set(q->m_depth, (double)q->count);
        return k;
}

/* Add with the lock held. */
static int add_locked(struct ap_kube_workqueue *q, const char *key)
{
        if (q->shutting_down || ap_keymap_contains(&q->dirty, key))
                return 0;
        int64_t now = now_ns();
        int r = ap_keymap_put(&q->dirty, key, (void *)(intptr_t)now, NULL);
        if (r < 0)
                return r;
        ap_kube_metric_inc(q->m_adds);
        if (ap_keymap_contains(&q->processing, key))
                return 0; /* done() re-queues it */
        r = fifo_push(q, key);
        if (r < 0) {
                ap_keymap_remove(&q->dirty, key, NULL);
                return r;
        }
        pthread_cond_signal(&q->cond);
        return 0;
}

int ap_kube_workqueue_add(struct ap_kube_workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        int r = add_locked(q, key);
        pthread_mutex_unlock(&q->lock);
        return r;
}

static void heap_swap(struct delayed *h, size_t a, size_t b)
{
        struct delayed t = h[a];
        h[a] = h[b];
        h[b] = t;
}

static int heap_push(struct ap_kube_workqueue *q, const char *key, int64_t ready)
{
        if (q->n_heap == q->cap_heap) {
                size_t cap = q->cap_heap ? q->cap_heap * 2 : 32;
                struct delayed *n = realloc(q->heap, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                q->heap = n;
                q->cap_heap = cap;
        }
        char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        size_t i = q->n_heap++;
        q->heap[i] = (struct delayed){ready, k};
        while (i > 0 && q->heap[(i - 1) / 2].ready_ns > q->heap[i].ready_ns) {
                heap_swap(q->heap, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
        return 0;
}

static struct delayed heap_pop(struct ap_kube_workqueue *q)
{
        struct delayed top = q->heap[0];
        q->heap[0] = q->heap[--q->n_heap];
        for (size_t i = 0;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < q->n_heap && q->heap[l].ready_ns < q->heap[m].ready_ns)
                        m = l;
                if (r < q->n_heap && q->heap[r].ready_ns < q->heap[m].ready_ns)
                        m = r;
                if (m == i)
                        break;
                heap_swap(q->heap, i, m);
                i = m;
        }
        return top;
}

int ap_kube_workqueue_add_after(struct ap_kube_workqueue *q, const char *key, long delay_ms)
{
        if (delay_ms <= 0)
                return ap_kube_workqueue_add(q, key);
        pthread_mutex_lock(&q->lock);
        int r = 0;
        if (q->shutting_down)
                goto out;
        int64_t ready = now_ns() + (int64_t)delay_ms * 1000000LL;
        void *cur;
        if (ap_keymap_contains(&q->waiting, key)) {
                cur = ap_keymap_get(&q->waiting, key);
                if ((int64_t)(intptr_t)cur <= ready)
                        goto out; /* an earlier wake-up is already planned */
        }
        r = heap_push(q, key, ready);
        if (r >= 0)
                r = ap_keymap_put(&q->waiting, key, (void *)(intptr_t)ready, NULL);
        pthread_cond_broadcast(&q->cond); /* waiters recompute how long to sleep */
out:
        pthread_mutex_unlock(&q->lock);
        return r;
}

long ap_kube_workqueue_backoff_ms(long base_ms, long max_ms, int failures)
{
        if (failures < 0)
                failures = 0;
        double d = (double)base_ms;
        for (int i = 0; i < failures && d < (double)max_ms; i++)
                d *= 2;
        return d > (double)max_ms ? max_ms : (long)d;
}

int ap_kube_workqueue_add_rate_limited(struct ap_kube_workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        uintptr_t n = (uintptr_t)ap_keymap_get(&q->failures, key);
        int r = ap_keymap_put(&q->failures, key, (void *)(n + 1), NULL);
        atomic_store(&q->n_failures, ap_keymap_size(&q->failures));
        long delay = ap_kube_workqueue_backoff_ms(q->base_ms, q->max_ms, (int)AP_MIN(n, 1000));
        pthread_mutex_unlock(&q->lock);
        if (r < 0)
                return r;
        ap_kube_metric_inc(q->m_retries);
        return ap_kube_workqueue_add_after(q, key, delay);
}

void ap_kube_workqueue_forget(struct ap_kube_workqueue *q, const char *key)
{
        /* the common case, nothing ever failed: no lock */
        if (atomic_load(&q->n_failures) == 0)
                return;
        pthread_mutex_lock(&q->lock);
        ap_keymap_remove(&q->failures, key, NULL);
        atomic_store(&q->n_failures, ap_keymap_size(&q->failures));
        pthread_mutex_unlock(&q->lock);
}

int ap_kube_workqueue_num_requeues(struct ap_kube_workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        uintptr_t n = (uintptr_t)ap_keymap_get(&q->failures, key);
        pthread_mutex_unlock(&q->lock);
        return (int)n;
}

/* Move due delayed keys into the queue; returns the next wake-up time (0 = none). Lock held. */
static int64_t promote_due(struct ap_kube_workqueue *q)
{
        int64_t now = now_ns();
        while (q->n_heap > 0) {
                if (q->heap[0].ready_ns > now)
                        return q->heap[0].ready_ns;
                struct delayed d = heap_pop(q);
                void *cur = NULL;
                bool valid = ap_keymap_contains(&q->waiting, d.key) &&
                             (int64_t)(intptr_t)(cur = ap_keymap_get(&q->waiting, d.key)) == d.ready_ns;
                if (valid) {
                        ap_keymap_remove(&q->waiting, d.key, NULL);
                        add_locked(q, d.key);
                }
                free(d.key);
        }
        return 0;
}

/* Is a key being processed that done() will put back? Then a worker must stay for it. Lock held. */
static bool requeue_pending(const struct ap_kube_workqueue *q)
{
        size_t it = 0;
        const char *k;
        while (ap_keymap_next(&q->processing, &it, &k, NULL))
                if (ap_keymap_contains(&q->dirty, k))
                        return true;
        return false;
}

/* Finish key (lock held): stop tracking it, re-queue it when it was added meanwhile. Returns how long it
 * was processed (ns), or -1 when it was not known. */
static int64_t done_locked(struct ap_kube_workqueue *q, const char *key, int64_t now)
{
        void *start = NULL;
        int64_t took = -1;
        if (ap_keymap_remove(&q->processing, key, &start))
                took = now - (int64_t)(intptr_t)start;
        if (ap_keymap_contains(&q->dirty, key)) {
                if (fifo_push(q, key) < 0)
                        ap_keymap_remove(&q->dirty, key, NULL);
                else
                        pthread_cond_signal(&q->cond); /* a worker for the re-queued key */
        }
        if (q->shutting_down)
                pthread_cond_broadcast(&q->cond); /* shutdown_drain and workers waiting out a re-queue */
        return took;
}

/* Wait for the next key (lock held). 0 with *ret_key and how long it waited (ns, -1 unknown), or
 * -ESHUTDOWN. */
static int get_locked(struct ap_kube_workqueue *q, char **ret_key, int64_t *ret_waited)
{
        for (;;) {
                int64_t next = q->shutting_down ? 0 : promote_due(q);
                if (q->count > 0)
                        break;
                if (q->shutting_down && !requeue_pending(q))
                        return -ESHUTDOWN;
                if (next && !q->shutting_down) {
                        struct timespec ts = {(time_t)(next / 1000000000LL), (long)(next % 1000000000LL)};
                        pthread_cond_timedwait(&q->cond, &q->lock, &ts);
                } else {
                        pthread_cond_wait(&q->cond, &q->lock);
                }
        }
        char *key = fifo_pop(q);
        int64_t now = now_ns();
        void *added = NULL;
        *ret_waited = ap_keymap_remove(&q->dirty, key, &added) ? now - (int64_t)(intptr_t)added : -1;
        /* if it cannot be tracked it is handed out anyway; done() copes with a key it does not know */
        ap_keymap_put(&q->processing, key, (void *)(intptr_t)now, NULL);
        *ret_key = key;
        return 0;
}

int ap_kube_workqueue_next(struct ap_kube_workqueue *q, char *done_key, char **ret_key)
{
        int64_t took = -1, waited = -1;
        char *key = NULL;
        pthread_mutex_lock(&q->lock);
        if (done_key)
                took = done_locked(q, done_key, now_ns());
        int r = get_locked(q, &key, &waited);
        pthread_mutex_unlock(&q->lock);
        free(done_key);
        if (took >= 0)
                ap_kube_metric_observe(q->m_work_dur, (double)took / 1e9);
        if (r < 0)
                return r;
        if (waited >= 0)
                ap_kube_metric_observe(q->m_queue_dur, (double)waited / 1e9);
        *ret_key = key;
        return 0;
}

int ap_kube_workqueue_get(struct ap_kube_workqueue *q, char **ret_key)
{
        return ap_kube_workqueue_next(q, NULL, ret_key);
}

void ap_kube_workqueue_done(struct ap_kube_workqueue *q, char *key)
{
        if (!key)
                return;
        pthread_mutex_lock(&q->lock);
        int64_t took = done_locked(q, key, now_ns());
        pthread_mutex_unlock(&q->lock);
        free(key);
        if (took >= 0)
                ap_kube_metric_observe(q->m_work_dur, (double)took / 1e9);
}

void ap_kube_workqueue_shutdown(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->shutting_down = true;
        for (size_t i = 0; i < q->n_heap; i++)
                free(q->heap[i].key);
        q->n_heap = 0;
        ap_keymap_release(&q->waiting, NULL);
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
}

void ap_kube_workqueue_shutdown_drain(struct ap_kube_workqueue *q)
{
        ap_kube_workqueue_shutdown(q);
        pthread_mutex_lock(&q->lock);
        while (q->count > 0 || ap_keymap_size(&q->processing) > 0)
                pthread_cond_wait(&q->cond, &q->lock);
        pthread_mutex_unlock(&q->lock);
}

bool ap_kube_workqueue_shutting_down(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        bool s = q->shutting_down;
        pthread_mutex_unlock(&q->lock);
        return s;
}

size_t ap_kube_workqueue_len(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        size_t n = q->count;
        pthread_mutex_unlock(&q->lock);
        return n;
}

size_t ap_kube_workqueue_delayed(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        size_t n = ap_keymap_size(&q->waiting);
        pthread_mutex_unlock(&q->lock);
        return n;
}
