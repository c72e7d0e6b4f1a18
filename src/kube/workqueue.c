/* workqueue.c - FIFO of per-key items (one copy of each key, with its dirty/processing state), a min-heap
 * of delayed adds and per-key backoff. */
#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "keymap.h"

/* How long one idle worker polls an empty queue before it blocks */
#ifndef SPIN_NS
#define SPIN_NS 20000
#endif

/* How soon a delayed key that could not be queued (out of memory) is tried again */
#define RETRY_NS (10 * 1000000LL)

struct delayed {
        int64_t ready_ns;
        char *key;
};

/* One per key that is waiting or being processed: the queue's only copy of the key, moved between the
 * FIFO and the processing state without copying, and handed to workers as item->key. */
struct item {
        int64_t added_ns; /* when it became dirty (queue duration) */
        int64_t start_ns; /* when processing started (work duration) */
        uint64_t hash;    /* ap_keymap_hash(key) */
        bool dirty;       /* waiting in the FIFO, or to be re-queued by done() when processing */
        bool processing;  /* handed out by get(), not yet done() */
        char key[];
};

struct ap_kube_workqueue {
        pthread_mutex_t lock;   /* guards everything below */
        pthread_cond_t cond;    /* workers in get(): a key was queued, a delay changed, shutdown */
        pthread_cond_t drained; /* shutdown_drain(): something finished while shutting down */
        struct item **fifo;     /* ring buffer of dirty items that are not processing */
        size_t head, count, cap;
        struct ap_keymap items;    /* key -> struct item (owned; its key borrowed from the item) */
        size_t n_processing;       /* items processing */
        size_t n_requeue;          /* items processing and dirty: done() puts them back */
        int n_waiters;             /* workers blocked in get() */
        int n_woken;               /* of those, how many were signalled and have not run yet */
        int n_spinning;            /* workers polling `ready` without the lock before blocking (0/1) */
        atomic_size_t ready;       /* a copy of count the spinning worker polls (relaxed) */
        struct ap_keymap failures; /* key -> (uintptr_t) failure count */
        struct ap_keymap waiting;  /* key -> (int64_t) ready time ns of its valid heap entry */
        struct delayed *heap;      /* min-heap on ready_ns; stale entries skipped (lazy deletion) */
        size_t n_heap, cap_heap;
        bool shutting_down;
        bool paused; /* get() hands out nothing (the controller is not running); adds still queue */
        long base_ms, max_ms;
        struct ap_token_bucket bucket; /* the overall bucket of rate-limited adds */
        atomic_size_t n_failures;      /* size of failures, readable without the lock */

        struct ap_kube_metrics *metrics;
        struct ap_kube_metric *m_depth, *m_adds, *m_queue_dur, *m_work_dur, *m_retries, *m_unfinished,
            *m_longest;
};

static struct item *item_of(char *key)
{
        return (struct item *)(key - offsetof(struct item, key));
}

static void collect(void *userdata, struct ap_kube_metrics *m)
{
        struct ap_kube_workqueue *q = userdata;
        pthread_mutex_lock(&q->lock);
        int64_t now = ap_mono_ns(), oldest = now, total = 0;
        size_t it = 0;
        void *v;
        while (ap_keymap_next(&q->items, &it, NULL, &v)) {
                const struct item *i = v;
                if (!i->processing)
                        continue;
                total += now - i->start_ns;
                if (i->start_ns < oldest)
                        oldest = i->start_ns;
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
        /* adaptive: a contended lock spins a little before sleeping in the kernel; the critical sections
         * are a few hundred nanoseconds, far shorter than a futex sleep and wake-up */
        pthread_mutexattr_t ma;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&q->lock, &ma);
        pthread_mutexattr_destroy(&ma);
        ap_cond_init_monotonic(&q->cond);
        ap_cond_init_monotonic(&q->drained);
        ap_keymap_init_borrowed(&q->items);
        q->base_ms = opts->base_delay_ms > 0 ? opts->base_delay_ms : 5;
        q->max_ms = opts->max_delay_ms > 0 ? opts->max_delay_ms : 1000L * 1000;
        double qps = opts->qps < 0 ? 0 : opts->qps > 0 ? opts->qps : 10;
        double burst = opts->burst > 0 ? opts->burst : opts->qps > 0 ? AP_MAX(1.0, opts->qps * 10) : 100;
        ap_token_bucket_init(&q->bucket, qps, burst, ap_mono_ns());
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
        free(q->fifo); /* its items are all in q->items */
        for (size_t i = 0; i < q->n_heap; i++)
                free(q->heap[i].key);
        free(q->heap);
        ap_keymap_release(&q->items, free);
        ap_keymap_release(&q->failures, NULL);
        ap_keymap_release(&q->waiting, NULL);
        pthread_cond_destroy(&q->cond);
        pthread_cond_destroy(&q->drained);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}

/* Wake one worker blocked in get() unless enough are already on their way (signalled, or spinning): a
 * woken worker takes keys until the FIFO is empty, so one per queued key is never needed, and a signal
 * with no sleeper to take it is a wasted futex call. Lock held. */
static void wake_one(struct ap_kube_workqueue *q)
{
        if (q->n_waiters > q->n_woken && (size_t)(q->n_woken + q->n_spinning) < q->count) {
                q->n_woken++;
                pthread_cond_signal(&q->cond);
        }
}

static void wake_all(struct ap_kube_workqueue *q)
{
        q->n_woken = q->n_waiters;
        pthread_cond_broadcast(&q->cond);
}

static int fifo_push(struct ap_kube_workqueue *q, struct item *it)
{
        if (q->count == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 64;
                struct item **n = malloc(cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                for (size_t i = 0; i < q->count; i++)
                        n[i] = q->fifo[(q->head + i) & (q->cap - 1)];
                free(q->fifo);
                q->fifo = n;
                q->cap = cap;
                q->head = 0;
        }
        q->fifo[(q->head + q->count) & (q->cap - 1)] = it;
        q->count++;
        atomic_store_explicit(&q->ready, q->count, memory_order_relaxed);
        ap_kube_metric_set(q->m_depth, (double)q->count);
        return 0;
}

static struct item *fifo_pop(struct ap_kube_workqueue *q)
{
        struct item *it = q->fifo[q->head];
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        atomic_store_explicit(&q->ready, q->count, memory_order_relaxed);
        ap_kube_metric_set(q->m_depth, (double)q->count);
        return it;
}

/* Forget an item that is neither dirty nor processing; the caller frees it (after unlocking). Lock
 * held. */
static struct item *item_drop(struct ap_kube_workqueue *q, struct item *it)
{
        ap_keymap_remove_hashed(&q->items, it->key, it->hash, NULL);
        return it;
}

static struct item *item_new(const char *key, uint64_t hash)
{
        size_t len = strlen(key);
        struct item *it = malloc(sizeof(*it) + len + 1);
        if (!it)
                return NULL;
        memcpy(it->key, key, len + 1);
        it->hash = hash;
        it->dirty = it->processing = false;
        it->added_ns = it->start_ns = 0;
        return it;
}

/* Add with the lock held. hash is ap_keymap_hash(key); *spare an item for key made before taking the
 * lock, or NULL (taken when the key is new); now the current time or 0 (read here when needed). */
static int add_locked(struct ap_kube_workqueue *q, const char *key, uint64_t hash, struct item **spare,
                      int64_t now)
{
        if (q->shutting_down)
                return 0;
        struct item *it = ap_keymap_get_hashed(&q->items, key, hash);
        if (it) {
                if (it->dirty)
                        return 0;
                /* processing: done() re-queues it */
                it->dirty = true;
                it->added_ns = now ? now : ap_mono_ns();
                q->n_requeue++;
                ap_kube_metric_inc(q->m_adds);
                return 0;
        }
        if (*spare) {
                it = *spare;
                *spare = NULL;
        } else if (!(it = item_new(key, hash))) {
                return -ENOMEM;
        }
        it->dirty = true;
        it->added_ns = now ? now : ap_mono_ns();
        int r = ap_keymap_put_hashed(&q->items, it->key, hash, it, NULL);
        if (r < 0) {
                free(it);
                return r;
        }
        r = fifo_push(q, it);
        if (r < 0) {
                free(item_drop(q, it));
                return r;
        }
        ap_kube_metric_inc(q->m_adds);
        wake_one(q);
        return 0;
}

int ap_kube_workqueue_add(struct ap_kube_workqueue *q, const char *key)
{
        /* hash and allocate before taking the lock: workers wait on it */
        uint64_t hash = ap_keymap_hash(key);
        struct item *spare = item_new(key, hash);
        pthread_mutex_lock(&q->lock);
        int r = add_locked(q, key, hash, &spare, 0);
        pthread_mutex_unlock(&q->lock);
        free(spare); /* the key was already known */
        return r;
}

static void heap_swap(struct delayed *h, size_t a, size_t b)
{
        struct delayed t = h[a];
        h[a] = h[b];
        h[b] = t;
}

/* Insert (ready, key) taking ownership of key (freed on failure). */
static int heap_push_owned(struct ap_kube_workqueue *q, char *key, int64_t ready)
{
        if (q->n_heap == q->cap_heap) {
                size_t cap = q->cap_heap ? q->cap_heap * 2 : 32;
                struct delayed *n = realloc(q->heap, cap * sizeof(*n));
                if (!n) {
                        free(key);
                        return -ENOMEM;
                }
                q->heap = n;
                q->cap_heap = cap;
        }
        size_t i = q->n_heap++;
        q->heap[i] = (struct delayed){ready, key};
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
        char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        pthread_mutex_lock(&q->lock);
        int r = 0;
        int64_t ready = ap_mono_ns() + (int64_t)delay_ms * 1000000LL;
        bool had = ap_keymap_contains(&q->waiting, key);
        void *prev = had ? ap_keymap_get(&q->waiting, key) : NULL;
        if (q->shutting_down || (had && (int64_t)(intptr_t)prev <= ready)) {
                free(k); /* shutting down, or an earlier wake-up is already planned */
                goto out;
        }
        /* the waiting entry first: a heap entry without one would be dropped as stale */
        r = ap_keymap_put(&q->waiting, key, (void *)(intptr_t)ready, NULL);
        if (r < 0) {
                free(k);
                goto out;
        }
        r = heap_push_owned(q, k, ready);
        if (r < 0) {
                /* keep the plan we had (its heap entry is still there), or none */
                if (!had || ap_keymap_put(&q->waiting, key, prev, NULL) < 0) /* a replace: cannot fail */
                        ap_keymap_remove(&q->waiting, key, NULL);
                goto out;
        }
        wake_all(q); /* waiters recompute how long to sleep */
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

/* Reserve one token of the overall bucket: how long until it is ours (ms). Lock held. */
static long bucket_delay_ms(struct ap_kube_workqueue *q)
{
        long wait = (long)ap_token_bucket_wait_ms(&q->bucket, ap_mono_ns());
        ap_token_bucket_take(&q->bucket);
        return wait;
}

int ap_kube_workqueue_add_rate_limited(struct ap_kube_workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        uintptr_t n = (uintptr_t)ap_keymap_get(&q->failures, key);
        int r = ap_keymap_put(&q->failures, key, (void *)(n + 1), NULL);
        atomic_store(&q->n_failures, ap_keymap_size(&q->failures));
        /* client-go's DefaultControllerRateLimiter: the longer of the key's backoff and the wait for a
         * token of the bucket every key shares, so a storm of failures is spread out */
        long backoff = ap_kube_workqueue_backoff_ms(q->base_ms, q->max_ms, (int)AP_MIN(n, 1000));
        long bucket = bucket_delay_ms(q); /* reserves a token: once */
        long delay = AP_MAX(backoff, bucket);
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
        if (q->n_heap == 0)
                return 0;
        int64_t now = ap_mono_ns();
        while (q->n_heap > 0) {
                if (q->heap[0].ready_ns > now)
                        return q->heap[0].ready_ns;
                struct delayed d = heap_pop(q);
                void *cur = NULL;
                bool valid = ap_keymap_contains(&q->waiting, d.key) &&
                             (int64_t)(intptr_t)(cur = ap_keymap_get(&q->waiting, d.key)) == d.ready_ns;
                if (valid) {
                        struct item *none = NULL;
                        if (add_locked(q, d.key, ap_keymap_hash(d.key), &none, now) < 0) {
                                /* out of memory: keep it delayed and try again shortly (the heap has
                                 * room: this entry just left it; the waiting entry is replaced in
                                 * place) */
                                int64_t retry = now + RETRY_NS;
                                if (ap_keymap_put(&q->waiting, d.key, (void *)(intptr_t)retry, NULL) == 0 &&
                                    heap_push_owned(q, d.key, retry) == 0)
                                        return q->heap[0].ready_ns;
                                ap_keymap_remove(&q->waiting, d.key, NULL);
                                free(d.key);
                                return q->n_heap ? q->heap[0].ready_ns : 0;
                        }
                        ap_keymap_remove(&q->waiting, d.key, NULL);
                }
                free(d.key);
        }
        return 0;
}

/* Finish key (lock held): stop tracking it, re-queue it when it was added meanwhile. Returns how long it
 * was processed (ns); *ret_free is an item for the caller to free after unlocking, or NULL. */
static int64_t done_locked(struct ap_kube_workqueue *q, char *key, int64_t now, struct item **ret_free)
{
        struct item *it = item_of(key);
        int64_t took = now - it->start_ns;
        it->processing = false;
        q->n_processing--;
        if (it->dirty) {
                q->n_requeue--;
                if (fifo_push(q, it) == 0) {
                        wake_one(q); /* a worker for the re-queued key */
                        it = NULL;
                } else {
                        it->dirty = false;
                        item_drop(q, it);
                }
        } else {
                item_drop(q, it);
        }
        *ret_free = it;
        if (q->shutting_down) {
                wake_all(q); /* workers waiting out a re-queue */
                pthread_cond_broadcast(&q->drained);
        }
        return took;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/* Before blocking, one worker at a time polls for a key for SPIN_NS with the lock released:
 * when keys arrive about as fast as workers take them the queue runs empty between keys, and a sleep
 * costs a futex wake-up in add() and two context switches, several times the work of a key (at most
 * one spinner, so idle workers on a small machine do not steal the producer's CPU). Lock held on entry
 * and return. */
static void spin_for_key(struct ap_kube_workqueue *q)
{
        q->n_spinning++;
        pthread_mutex_unlock(&q->lock);
        int64_t until = ap_mono_ns() + SPIN_NS;
        for (unsigned i = 1; atomic_load_explicit(&q->ready, memory_order_relaxed) == 0; i++) {
                cpu_relax();
                if (i % 32 == 0 && ap_mono_ns() > until)
                        break;
        }
        pthread_mutex_lock(&q->lock);
        q->n_spinning--;
}

/* Wait for the next key (lock held); now is the time the caller read on taking the lock. 0 with *ret_key
 * and how long it waited (ns), or -ESHUTDOWN. */
static int get_locked(struct ap_kube_workqueue *q, int64_t now, char **ret_key, int64_t *ret_waited)
{
        bool spun = false;
        for (;;) {
                if (q->paused)
                        return -ECANCELED;
                int64_t next = q->shutting_down ? 0 : promote_due(q);
                if (q->count > 0)
                        break;
                if (q->shutting_down && q->n_requeue == 0)
                        return -ESHUTDOWN;
                if (!spun && q->n_spinning == 0 && !q->shutting_down && !q->paused) {
                        spun = true;
                        spin_for_key(q);
                        now = 0;
                        continue;
                }
                q->n_waiters++;
                if (next && !q->shutting_down) {
                        struct timespec ts = {(time_t)(next / 1000000000LL), (long)(next % 1000000000LL)};
                        pthread_cond_timedwait(&q->cond, &q->lock, &ts);
                } else {
                        pthread_cond_wait(&q->cond, &q->lock);
                }
                q->n_waiters--;
                if (q->n_woken > 0)
                        q->n_woken--;
                now = 0;
        }
        struct item *it = fifo_pop(q);
        if (!now)
                now = ap_mono_ns();
        it->dirty = false;
        it->processing = true;
        it->start_ns = now;
        q->n_processing++;
        *ret_waited = now - it->added_ns;
        *ret_key = it->key;
        return 0;
}

int ap_kube_workqueue_next(struct ap_kube_workqueue *q, char *done_key, char **ret_key)
{
        int64_t took = -1, waited = -1;
        char *key = NULL;
        pthread_mutex_lock(&q->lock);
        int64_t now = ap_mono_ns(); /* one clock read for done() and, when nothing waits, get() */
        struct item *finished = NULL;
        if (done_key)
                took = done_locked(q, done_key, now, &finished);
        int r = get_locked(q, now, &key, &waited);
        pthread_mutex_unlock(&q->lock);
        free(finished);
        if (took >= 0)
                ap_kube_metric_observe(q->m_work_dur, (double)took / 1e9);
        if (r < 0)
                return r;
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
        struct item *finished = NULL;
        pthread_mutex_lock(&q->lock);
        int64_t took = done_locked(q, key, ap_mono_ns(), &finished);
        pthread_mutex_unlock(&q->lock);
        free(finished);
        ap_kube_metric_observe(q->m_work_dur, (double)took / 1e9);
}

void ap_kube_workqueue_pause(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->paused = true;
        wake_all(q);
        pthread_mutex_unlock(&q->lock);
        /* a worker spinning without the lock sees ready == 0 or takes the lock and sees paused */
}

void ap_kube_workqueue_resume(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->paused = false;
        wake_all(q);
        pthread_mutex_unlock(&q->lock);
}

void ap_kube_workqueue_shutdown(struct ap_kube_workqueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->shutting_down = true;
        for (size_t i = 0; i < q->n_heap; i++)
                free(q->heap[i].key);
        q->n_heap = 0;
        ap_keymap_release(&q->waiting, NULL);
        wake_all(q);
        pthread_cond_broadcast(&q->drained);
        pthread_mutex_unlock(&q->lock);
}

void ap_kube_workqueue_shutdown_drain(struct ap_kube_workqueue *q)
{
        ap_kube_workqueue_shutdown(q);
        pthread_mutex_lock(&q->lock);
        while (q->count > 0 || q->n_processing > 0)
                pthread_cond_wait(&q->drained, &q->lock);
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
