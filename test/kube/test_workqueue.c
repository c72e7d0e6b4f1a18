/* test_workqueue.c - the workqueue (FIFO order, de-duplication, re-queue of keys added while in flight,
 * backoff values, forget, add_after, shutdown and drain, concurrent producers and workers) and the
 * controller's workers and result handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/controller.h"
#include "kube/workqueue.h"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static char *get(struct ap_kube_workqueue *q)
{
        char *k = NULL;
        assert_int_equal(ap_kube_workqueue_get(q, &k), 0);
        return k;
}

static void test_fifo_and_dedup(void **state)
{
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(NULL);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "b"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0); /* already waiting: no-op */
        assert_int_equal(ap_kube_workqueue_add(q, "c"), 0);
        assert_int_equal(ap_kube_workqueue_len(q), 3);
        const char *want[] = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
                char *k = get(q);
                assert_string_equal(k, want[i]);
                ap_kube_workqueue_done(q, k);
        }
        assert_int_equal(ap_kube_workqueue_len(q), 0);
        ap_kube_workqueue_free(q);
}

static void test_requeue_while_processing(void **state)
{
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(NULL);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        char *k = get(q);
        /* added twice while in flight: queued once, and only after done() */
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_len(q), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "b"), 0);
        assert_int_equal(ap_kube_workqueue_len(q), 1);
        ap_kube_workqueue_done(q, k);
        assert_int_equal(ap_kube_workqueue_len(q), 2);
        k = get(q);
        assert_string_equal(k, "b");
        ap_kube_workqueue_done(q, k);
        k = get(q);
        assert_string_equal(k, "a");
        ap_kube_workqueue_done(q, k);
        assert_int_equal(ap_kube_workqueue_len(q), 0);
        ap_kube_workqueue_free(q);
}

static void test_backoff_values(void **state)
{
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 0), 5);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 1), 10);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 2), 20);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 10), 5120);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 17), 655360);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 18), 1000000); /* 1000 s cap */
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, 500), 1000000);
        assert_int_equal(ap_kube_workqueue_backoff_ms(5, 1000000, -1), 5);
}

static void test_rate_limited_and_forget(void **state)
{
        struct ap_kube_workqueue_options o = {.base_delay_ms = 20};
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(&o);
        int64_t t0 = now_ms();
        assert_int_equal(ap_kube_workqueue_add_rate_limited(q, "x"), 0); /* 20 ms */
        assert_int_equal(ap_kube_workqueue_num_requeues(q, "x"), 1);
        assert_int_equal(ap_kube_workqueue_len(q), 0);
        char *k = get(q);
        int64_t d1 = now_ms() - t0;
        assert_true(d1 >= 19);
        ap_kube_workqueue_done(q, k);
        t0 = now_ms();
        assert_int_equal(ap_kube_workqueue_add_rate_limited(q, "x"), 0); /* 40 ms */
        k = get(q);
        int64_t d2 = now_ms() - t0;
        assert_true(d2 >= 39);
        ap_kube_workqueue_done(q, k);
        assert_int_equal(ap_kube_workqueue_num_requeues(q, "x"), 2);
        ap_kube_workqueue_forget(q, "x");
        assert_int_equal(ap_kube_workqueue_num_requeues(q, "x"), 0);
        t0 = now_ms();
        assert_int_equal(ap_kube_workqueue_add_rate_limited(q, "x"), 0); /* back to 20 ms */
        k = get(q);
        assert_true(now_ms() - t0 < 39 + 100);
        ap_kube_workqueue_done(q, k);
        ap_kube_workqueue_free(q);
}

static void test_add_after(void **state)
{
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(NULL);
        int64_t t0 = now_ms();
        assert_int_equal(ap_kube_workqueue_add_after(q, "late", 120), 0);
        assert_int_equal(ap_kube_workqueue_add_after(q, "early", 40), 0);
        assert_int_equal(ap_kube_workqueue_add_after(q, "late", 500),
                         0); /* a later time never postpones an earlier one */
        assert_int_equal(ap_kube_workqueue_delayed(q), 2);
        char *k = get(q);
        assert_string_equal(k, "early");
        assert_true(now_ms() - t0 >= 39);
        ap_kube_workqueue_done(q, k);
        k = get(q);
        assert_string_equal(k, "late");
        int64_t el = now_ms() - t0;
        assert_true(el >= 119 && el < 450);
        ap_kube_workqueue_done(q, k);
        /* an immediate add while a delayed one waits: processed now, and once more when the delay ends */
        assert_int_equal(ap_kube_workqueue_add_after(q, "d", 60), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "d"), 0);
        k = get(q);
        assert_string_equal(k, "d");
        ap_kube_workqueue_done(q, k);
        k = get(q);
        assert_string_equal(k, "d");
        ap_kube_workqueue_done(q, k);
        assert_int_equal(ap_kube_workqueue_add_after(q, "z", 0), 0); /* no delay: a plain add */
        assert_int_equal(ap_kube_workqueue_len(q), 1);
        ap_kube_workqueue_free(q);
}

static void test_shutdown(void **state)
{
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(NULL);
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add_after(q, "later", 10000), 0);
        ap_kube_workqueue_shutdown(q);
        assert_true(ap_kube_workqueue_shutting_down(q));
        assert_int_equal(ap_kube_workqueue_add(q, "b"), 0); /* ignored */
        char *k = get(q);                                   /* what was queued is still handed out */
        assert_string_equal(k, "a");
        ap_kube_workqueue_done(q, k);
        char *none = NULL;
        assert_int_equal(ap_kube_workqueue_get(q, &none), -ESHUTDOWN);
        assert_int_equal(ap_kube_workqueue_delayed(q), 0);
        ap_kube_workqueue_free(q);
}

static void *block_get(void *arg)
{
        char *k = NULL;
        int r = ap_kube_workqueue_get(arg, &k);
        return (void *)(intptr_t)r;
}

static void test_shutdown_wakes_waiters(void **state)
{
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(NULL);
        pthread_t t;
        pthread_create(&t, NULL, block_get, q);
        sleep_ms(30);
        ap_kube_workqueue_shutdown(q);
        void *rv;
        pthread_join(t, &rv);
        assert_int_equal((intptr_t)rv, -ESHUTDOWN);
        ap_kube_workqueue_free(q);
}

/* ---- many producers and workers at once ---- */

#define STRESS_KEYS 64
#define STRESS_ADDS 20000

struct stress {
        struct ap_kube_workqueue *q;
        atomic_int gen[STRESS_KEYS];  /* bumped just before each add of key i */
        atomic_int seen[STRESS_KEYS]; /* gen[i] as a worker read it when it started on key i */
        atomic_bool inflight[STRESS_KEYS];
        atomic_int overlaps, processed, add_errors;
        atomic_uint seed;
};

static int key_index(const char *k) /* "ns/k<i>" -> i */
{
        return (int)strtol(k + 4, NULL, 10);
}

static void *stress_worker(void *arg)
{
        struct stress *st = arg;
        char *k = NULL;
        while (ap_kube_workqueue_next(st->q, k, &k) == 0) {
                int i = key_index(k);
                if (atomic_exchange(&st->inflight[i], true))
                        atomic_fetch_add(&st->overlaps, 1);
                atomic_store(&st->seen[i], atomic_load(&st->gen[i]));
                atomic_fetch_add(&st->processed, 1);
                if (i % 7 == 0)
                        sched_yield(); /* some keys stay in flight long enough to be added again */
                atomic_store(&st->inflight[i], false);
        }
        return NULL;
}

static void *stress_producer(void *arg)
{
        struct stress *st = arg;
        unsigned x = atomic_fetch_add(&st->seed, 7919) + 1;
        for (int n = 0; n < STRESS_ADDS; n++) {
                x = x * 1103515245u + 12345u;
                int i = (int)((x >> 16) % STRESS_KEYS);
                char key[16];
                snprintf(key, sizeof(key), "ns/k%d", i);
                atomic_fetch_add(&st->gen[i], 1);
                if (ap_kube_workqueue_add(st->q, key) < 0) /* no cmocka asserts off the main thread */
                        atomic_fetch_add(&st->add_errors, 1);
                if (n % 256 == 0)
                        sleep_ms(1); /* let the queue run empty so workers block and are woken */
        }
        return NULL;
}

static bool stress_caught_up(struct stress *st)
{
        for (int i = 0; i < STRESS_KEYS; i++)
                if (atomic_load(&st->seen[i]) != atomic_load(&st->gen[i]))
                        return false;
        return ap_kube_workqueue_len(st->q) == 0;
}

/* Every key added is processed after its last add (a key added while in flight comes back once), never
 * on two workers at once, and drain ends with nothing left: no wake-up is lost between producers,
 * polling workers and sleeping ones. */
static void test_concurrent_adds(void **state)
{
        static struct stress st;
        memset(&st, 0, sizeof(st));
        st.q = ap_kube_workqueue_new(NULL);
        pthread_t w[4], p[2];
        for (int i = 0; i < 4; i++)
                pthread_create(&w[i], NULL, stress_worker, &st);
        for (int i = 0; i < 2; i++)
                pthread_create(&p[i], NULL, stress_producer, &st);
        for (int i = 0; i < 2; i++)
                pthread_join(p[i], NULL);
        /* before shutdown (which wakes every worker and would hide a lost wake-up): all caught up */
        int64_t deadline = now_ms() + 10000;
        while (!stress_caught_up(&st) && now_ms() < deadline)
                sleep_ms(1);
        assert_true(stress_caught_up(&st));
        /* and one key added to a queue whose workers all sleep (past their polling) wakes one of them */
        for (int round = 0; round < 3; round++) {
                sleep_ms(20);
                atomic_fetch_add(&st.gen[round], 1);
                char key[16];
                snprintf(key, sizeof(key), "ns/k%d", round);
                assert_int_equal(ap_kube_workqueue_add(st.q, key), 0);
                deadline = now_ms() + 10000;
                while (!stress_caught_up(&st) && now_ms() < deadline)
                        sleep_ms(1);
                assert_true(stress_caught_up(&st));
        }
        ap_kube_workqueue_shutdown_drain(st.q);
        for (int i = 0; i < 4; i++)
                pthread_join(w[i], NULL);
        assert_int_equal(atomic_load(&st.add_errors), 0);
        assert_int_equal(atomic_load(&st.overlaps), 0);
        for (int i = 0; i < STRESS_KEYS; i++)
                if (atomic_load(&st.gen[i]) > 0)
                        assert_int_equal(atomic_load(&st.seen[i]), atomic_load(&st.gen[i]));
        assert_true(atomic_load(&st.processed) >= STRESS_KEYS / 2);
        assert_int_equal(ap_kube_workqueue_len(st.q), 0);
        ap_kube_workqueue_free(st.q);
}

/* The overall bucket: 100 qps, burst 10: 30 keys failing at once come back over ~200 ms, the first ten
 * at their own (1 ms) backoff. */
static void test_overall_bucket(void **state)
{
        struct ap_kube_workqueue_options o = {.base_delay_ms = 1, .qps = 100, .burst = 10};
        struct ap_kube_workqueue *q = ap_kube_workqueue_new(&o);
        int64_t t0 = now_ms();
        for (int i = 0; i < 30; i++)
                assert_int_equal(ap_kube_workqueue_add_rate_limited(
                                     q, (char[]){'r', (char)('0' + i / 10), (char)('0' + i % 10), 0}),
                                 0);
        int64_t tenth = 0;
        for (int i = 0; i < 30; i++) {
                char *k = get(q);
                if (i == 9)
                        tenth = now_ms() - t0;
                ap_kube_workqueue_done(q, k);
        }
        int64_t last = now_ms() - t0;
        print_message("# 30 rate-limited keys: 10th after %lld ms, last after %lld ms\n", (long long)tenth,
                      (long long)last);
        assert_true(tenth < 60);
        assert_true(last >= 180 && last < 1000);
        ap_kube_workqueue_free(q);
        /* off: all at their backoff */
        struct ap_kube_workqueue_options off = {.base_delay_ms = 1, .qps = -1};
        q = ap_kube_workqueue_new(&off);
        t0 = now_ms();
        for (int i = 0; i < 30; i++)
                assert_int_equal(ap_kube_workqueue_add_rate_limited(
                                     q, (char[]){'r', (char)('0' + i / 10), (char)('0' + i % 10), 0}),
                                 0);
        for (int i = 0; i < 30; i++)
                ap_kube_workqueue_done(q, get(q));
        assert_true(now_ms() - t0 < 100);
        ap_kube_workqueue_free(q);
}

/* ---- the controller ---- */

struct recon {
        pthread_mutex_t lock;
        int calls[8];
        atomic_int concurrent, max_concurrent;
        atomic_int fail_until; /* "f" fails this many times */
        atomic_int total;
};

static int reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        struct recon *r = userdata;
        int c = atomic_fetch_add(&r->concurrent, 1) + 1;
        int m = atomic_load(&r->max_concurrent);
        while (c > m && !atomic_compare_exchange_weak(&r->max_concurrent, &m, c))
                ;
        sleep_ms(2);
        atomic_fetch_add(&r->total, 1);
        int ret = 0;
        pthread_mutex_lock(&r->lock);
        if (key[0] >= 'a' && key[0] < 'a' + 8)
                r->calls[key[0] - 'a']++;
        int n = key[0] >= 'a' && key[0] < 'a' + 8 ? r->calls[key[0] - 'a'] : 0;
        pthread_mutex_unlock(&r->lock);
        if (strcmp(key, "f") == 0 && n <= atomic_load(&r->fail_until))
                ret = -EIO;
        if (strcmp(key, "g") == 0 && n == 1)
                res->requeue_after_ms = 20;
        if (strcmp(key, "h") == 0 && n == 1)
                res->requeue = true;
        atomic_fetch_sub(&r->concurrent, 1);
        return ret;
}

static double metric(struct ap_kube_metrics *m, const char *family, const char *result)
{
        return ap_kube_metric_value(
            result ? ap_kube_metrics_series(m, family, "controller", "t", "result", result, NULL)
                   : ap_kube_metrics_series(m, family, "controller", "t", NULL));
}

static void test_controller(void **state)
{
        struct ap_kube_metrics *m = ap_kube_metrics_new();
        struct recon r = {.lock = PTHREAD_MUTEX_INITIALIZER};
        atomic_store(&r.fail_until, 3);
        struct ap_kube_controller_options o = {
            .name = "t",
            .workers = 4,
            .reconcile = reconcile,
            .userdata = &r,
            .metrics = m,
            .base_delay_ms = 5,
        };
        struct ap_kube_controller *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_controller_new(&o, &c, &err), 0);
        struct ap_kube_workqueue *q = ap_kube_controller_queue(c);
        assert_int_equal(ap_kube_controller_start(c, &err), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "f"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "g"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "h"), 0);
        for (int i = 0; i < 200; i++)
                assert_int_equal(
                    ap_kube_workqueue_add(q, (char[]){(char)('0' + i % 10), (char)('0' + i / 10 % 10),
                                                      (char)('0' + i / 100), 0}),
                    0);
        /* f: 3 failures with 5, 10, 20 ms backoff then success; g: requeue after 20 ms; h: requeue */
        int64_t t0 = now_ms();
        for (;;) {
                pthread_mutex_lock(&r.lock);
                bool done = r.calls['f' - 'a'] >= 4 && r.calls['g' - 'a'] >= 2 && r.calls['h' - 'a'] >= 2;
                pthread_mutex_unlock(&r.lock);
                if (done && atomic_load(&r.total) >= 208)
                        break;
                assert_true(now_ms() - t0 < 5000);
                sleep_ms(5);
        }
        sleep_ms(20);
        assert_int_equal(ap_kube_workqueue_num_requeues(q, "f"), 0); /* forgotten after success */
        ap_kube_controller_stop(c, -1);
        assert_true(atomic_load(&r.max_concurrent) > 1);
        assert_true(atomic_load(&r.max_concurrent) <= 4);
        assert_int_equal(r.calls['f' - 'a'], 4);
        assert_int_equal(metric(m, "controller_runtime_reconcile_errors_total", NULL), 3);
        assert_int_equal(metric(m, "controller_runtime_reconcile_total", "error"), 3);
        assert_int_equal(metric(m, "controller_runtime_reconcile_total", "requeue_after"), 1);
        assert_int_equal(metric(m, "controller_runtime_reconcile_total", "requeue"), 1);
        assert_int_equal(metric(m, "controller_runtime_reconcile_total", "success"), 203);
        assert_int_equal(metric(m, "controller_runtime_reconcile_time_seconds", NULL), 208);
        assert_int_equal(metric(m, "controller_runtime_active_workers", NULL), 0);
        assert_int_equal(metric(m, "controller_runtime_max_concurrent_reconciles", NULL), 4);
        ap_kube_controller_free(c);
        ap_kube_metrics_free(m);
}

static void test_controller_drains_on_stop(void **state)
{
        struct recon r = {.lock = PTHREAD_MUTEX_INITIALIZER};
        struct ap_kube_controller_options o = {
            .name = "d", .workers = 2, .reconcile = reconcile, .userdata = &r};
        struct ap_kube_controller *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_controller_new(&o, &c, &err), 0);
        struct ap_kube_workqueue *q = ap_kube_controller_queue(c);
        for (int i = 0; i < 50; i++)
                assert_int_equal(
                    ap_kube_workqueue_add(q, (char[]){'k', (char)('0' + i / 10), (char)('0' + i % 10), 0}),
                    0);
        assert_int_equal(ap_kube_controller_start(c, &err), 0);
        ap_kube_controller_drain(c); /* queued keys are still reconciled */
        assert_int_equal(atomic_load(&r.total), 50);
        ap_kube_controller_free(c);
}

/* A reconcile that runs until the controller's cancel flag rises ("slow"), or returns at once. */
struct slow {
        struct ap_kube_controller *c;
        atomic_int started, cancelled, quick;
        atomic_bool in_slow;
};

static int slow_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        struct slow *s = userdata;
        if (strcmp(key, "slow") != 0) {
                atomic_fetch_add(&s->quick, 1);
                return 0;
        }
        atomic_fetch_add(&s->started, 1);
        atomic_store(&s->in_slow, true);
        const atomic_bool *cancel = ap_kube_controller_cancel_flag(s->c);
        while (!atomic_load(cancel))
                sleep_ms(1);
        atomic_store(&s->in_slow, false);
        atomic_fetch_add(&s->cancelled, 1);
        return -ECANCELED;
}

static bool gate_open;
static bool gate(void *userdata)
{
        return __atomic_load_n(&gate_open, __ATOMIC_SEQ_CST);
}

/* Stop takes no new key, gives reconciles in flight their grace, then cancels them; queued and
 * cancelled keys wait for the next start; a closed gate starts nothing. */
static void test_controller_stop_cancel_restart(void **state)
{
        struct slow s = {0};
        struct ap_kube_controller_options o = {
            .name = "s", .workers = 2, .reconcile = slow_reconcile, .userdata = &s};
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_controller_new(&o, &s.c, &err), 0);
        struct ap_kube_workqueue *q = ap_kube_controller_queue(s.c);
        assert_int_equal(ap_kube_controller_start(s.c, &err), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "slow"), 0);
        while (!atomic_load(&s.in_slow))
                sleep_ms(1);
        /* graceful stop: 150 ms for the slow one, then the flag */
        int64_t t0 = now_ms();
        ap_kube_controller_stop(s.c, 150);
        int64_t took = now_ms() - t0;
        assert_true(took >= 140 && took < 2000);
        assert_int_equal(atomic_load(&s.cancelled), 1);
        assert_true(atomic_load(ap_kube_controller_cancel_flag(s.c)));
        /* stopped: adds queue up, nothing runs */
        assert_int_equal(ap_kube_workqueue_add(q, "a"), 0);
        assert_int_equal(ap_kube_workqueue_add(q, "b"), 0);
        sleep_ms(30);
        assert_int_equal(atomic_load(&s.quick), 0);
        assert_int_equal(ap_kube_workqueue_len(q), 3); /* slow (cancelled: again), a, b */
        /* a closed gate: started, but no key runs */
        __atomic_store_n(&gate_open, false, __ATOMIC_SEQ_CST);
        ap_kube_controller_set_gate(s.c, gate, NULL);
        assert_int_equal(ap_kube_controller_start(s.c, &err), 0);
        assert_false(atomic_load(ap_kube_controller_cancel_flag(s.c)));
        sleep_ms(50);
        assert_int_equal(atomic_load(&s.quick), 0);
        assert_int_equal(atomic_load(&s.started), 1);
        __atomic_store_n(&gate_open, true, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 2000 && (atomic_load(&s.quick) < 2 || !atomic_load(&s.in_slow)); i++)
                sleep_ms(1);
        assert_int_equal(atomic_load(&s.quick), 2);
        assert_int_equal(atomic_load(&s.started), 2);
        /* stop now (a lost lease): no grace */
        t0 = now_ms();
        ap_kube_controller_stop(s.c, 0);
        assert_true(now_ms() - t0 < 1000);
        assert_int_equal(atomic_load(&s.cancelled), 2);
        ap_kube_controller_stop(s.c, 0); /* idempotent */
        ap_kube_controller_free(s.c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fifo_and_dedup),
            cmocka_unit_test(test_requeue_while_processing),
            cmocka_unit_test(test_backoff_values),
            cmocka_unit_test(test_rate_limited_and_forget),
            cmocka_unit_test(test_add_after),
            cmocka_unit_test(test_shutdown),
            cmocka_unit_test(test_shutdown_wakes_waiters),
            cmocka_unit_test(test_concurrent_adds),
            cmocka_unit_test(test_overall_bucket),
            cmocka_unit_test(test_controller),
            cmocka_unit_test(test_controller_drains_on_stop),
            cmocka_unit_test(test_controller_stop_cancel_restart),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
