/* manager.c - start-up and orderly shutdown of informers, controllers, leader election and endpoints. */
#include "manager.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

#define MAX_PARTS 32

struct ap_kube_manager {
        struct ap_kube_client *client;
        struct ap_kube_metrics *metrics;
        struct ap_kube_health *health;
        struct ap_kube_leader *leader;
        struct ap_kube_informer *informers[MAX_PARTS];
        size_t n_informers;
        struct ap_kube_controller *controllers[MAX_PARTS];
        size_t n_controllers;
        long sync_timeout_ms;
        long grace_ms;
        void (*on_leading)(void *userdata, bool leading);
        void *userdata;

        pthread_mutex_t lock; /* guards the flags below; cond signals any change */
        pthread_cond_t cond;
        bool stop_requested;
        bool shutting_down; /* no controller starts any more */
        bool controllers_running;
};

static bool informers_synced(void *userdata)
{
        struct ap_kube_manager *m = userdata;
        for (size_t i = 0; i < m->n_informers; i++)
                if (!ap_kube_informer_has_synced(m->informers[i]))
                        return false;
        return true;
}

static void on_started_leading(void *userdata);
static void on_stopped_leading(void *userdata);

static bool always_ok(void *userdata)
{
        return true;
}

int ap_kube_manager_new(struct ap_kube_client *client, const struct ap_kube_manager_options *opts,
                        struct ap_kube_manager **ret, struct ap_error *err)
{
        struct ap_kube_manager *m = calloc(1, sizeof(*m));
        if (!m)
                return ap_error_set(err, -ENOMEM, "out of memory");
        m->client = client;
        m->sync_timeout_ms = opts->cache_sync_timeout_ms > 0 ? opts->cache_sync_timeout_ms : 120000;
        m->grace_ms = opts->shutdown_grace_ms > 0 ? opts->shutdown_grace_ms : 30000;
        m->on_leading = opts->on_leading;
        m->userdata = opts->userdata;
        pthread_mutex_init(&m->lock, NULL);
        ap_cond_init_monotonic(&m->cond);
        m->metrics = ap_kube_metrics_new();
        if (!m->metrics) {
                ap_kube_manager_free(m);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        int r = ap_kube_health_start(opts->metrics_addr, opts->health_addr, m->metrics, &m->health, err);
        if (r < 0) {
                ap_kube_manager_free(m);
                return r;
        }
        if (ap_kube_health_add_check(m->health, AP_KUBE_CHECK_HEALTHZ, "ping", always_ok, NULL) < 0 ||
            ap_kube_health_add_check(m->health, AP_KUBE_CHECK_READYZ, "informers", informers_synced, m) < 0) {
                ap_kube_manager_free(m);
                return ap_error_set(err, -ENOMEM, "cannot register the health checks");
        }
        *ret = m;
        if (opts->leader_elect) {
                struct ap_kube_leader_options lo = {
                    .namespace = opts->lease_namespace,
                    .name = opts->lease_name,
                    .identity = opts->identity,
                    .lease_duration_ms = opts->lease_duration_ms,
                    .renew_deadline_ms = opts->renew_deadline_ms,
                    .retry_period_ms = opts->retry_period_ms,
                    .recampaign = true,
                    .metrics = m->metrics,
                    .on_started_leading = on_started_leading,
                    .on_stopped_leading = on_stopped_leading,
                    .userdata = m,
                };
                r = ap_kube_leader_new(client, &lo, &m->leader, err);
                if (r < 0) {
                        *ret = ap_kube_manager_free(m);
                        return r;
                }
        }
        return 0;
}

struct ap_kube_manager *ap_kube_manager_free(struct ap_kube_manager *m)
{
        if (!m)
                return NULL;
        ap_kube_leader_free(m->leader);
        for (size_t i = 0; i < m->n_controllers; i++)
                ap_kube_controller_free(m->controllers[i]);
        for (size_t i = 0; i < m->n_informers; i++)
                ap_kube_informer_free(m->informers[i]);
        ap_kube_health_free(m->health);
        ap_kube_metrics_free(m->metrics);
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        free(m);
        return NULL;
}

struct ap_kube_metrics *ap_kube_manager_metrics(struct ap_kube_manager *m)
{
        return m->metrics;
}

struct ap_kube_health *ap_kube_manager_health(struct ap_kube_manager *m)
{
        return m->health;
}

int ap_kube_manager_add_informer(struct ap_kube_manager *m, struct ap_kube_informer *inf)
{
        if (m->n_informers >= MAX_PARTS)
                return -ENOSPC;
        m->informers[m->n_informers++] = inf;
        return 0;
}

int ap_kube_manager_add_controller(struct ap_kube_manager *m, struct ap_kube_controller *c)
{
        if (m->n_controllers >= MAX_PARTS)
                return -ENOSPC;
        m->controllers[m->n_controllers++] = c;
        return 0;
}

int ap_kube_block_stop_signals(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
        return r ? -r : 0;
}

void ap_kube_manager_request_stop(struct ap_kube_manager *m)
{
        pthread_mutex_lock(&m->lock);
        m->stop_requested = true;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
}

static bool lease_gate(void *userdata)
{
        struct ap_kube_manager *m = userdata;
        return ap_kube_leader_lease_valid(m->leader);
}

static int start_controllers(struct ap_kube_manager *m, struct ap_error *err)
{
        pthread_mutex_lock(&m->lock);
        bool no = m->shutting_down;
        pthread_mutex_unlock(&m->lock);
        if (no)
                return 0;
        for (size_t i = 0; i < m->n_controllers; i++) {
                if (m->leader)
                        ap_kube_controller_set_gate(m->controllers[i], lease_gate, m);
                int r = ap_kube_controller_start(m->controllers[i], err);
                if (r < 0)
                        return r;
        }
        pthread_mutex_lock(&m->lock);
        m->controllers_running = true;
        pthread_mutex_unlock(&m->lock);
        if (m->on_leading)
                m->on_leading(m->userdata, true);
        return 0;
}

/* Every controller takes no new key at once; reconciles in flight get grace_ms (shared) to finish, then
 * are cancelled; the workers are joined. Queues are kept for the next leadership. */
static void stop_controllers(struct ap_kube_manager *m, long grace_ms)
{
        for (size_t i = 0; i < m->n_controllers; i++)
                ap_kube_workqueue_pause(ap_kube_controller_queue(m->controllers[i]));
        int64_t deadline = ap_deadline_after_ms(grace_ms);
        for (size_t i = 0; i < m->n_controllers; i++) {
                int64_t left = ap_deadline_left_ms(deadline);
                ap_kube_controller_stop(m->controllers[i], grace_ms == 0 ? 0 : left > 0 ? (long)left : 0);
        }
        pthread_mutex_lock(&m->lock);
        bool was = m->controllers_running;
        m->controllers_running = false;
        pthread_mutex_unlock(&m->lock);
        if (was && m->on_leading)
                m->on_leading(m->userdata, false);
}

static void on_started_leading(void *userdata)
{
        struct ap_kube_manager *m = userdata;
        struct ap_error err = AP_ERROR_INIT;
        if (start_controllers(m, &err) < 0)
                ap_kube_manager_request_stop(m);
}

static void on_stopped_leading(void *userdata)
{
        struct ap_kube_manager *m = userdata;
        /* the work must stop before the lease can pass to someone else: no grace. The elector then
         * follows and campaigns again; the informers keep the caches warm meanwhile. */
        stop_controllers(m, 0);
}

/* A thread that turns a blocked SIGTERM/SIGINT into a stop request. */
struct sigwaiter {
        struct ap_kube_manager *m;
        atomic_bool done;
};

static void *signal_thread(void *arg)
{
        struct sigwaiter *w = arg;
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        while (!atomic_load(&w->done)) {
                struct timespec tmo = {0, 200 * 1000000L};
                if (sigtimedwait(&set, NULL, &tmo) > 0) {
                        ap_kube_manager_request_stop(w->m);
                        break;
                }
        }
        return NULL;
}

int ap_kube_manager_run(struct ap_kube_manager *m, struct ap_error *err)
{
        int r = 0;
        struct sigwaiter w = {.m = m};
        pthread_t sig;
        bool sig_started = pthread_create(&sig, NULL, signal_thread, &w) == 0;
        for (size_t i = 0; i < m->n_informers && r >= 0; i++)
                r = ap_kube_informer_start(m->informers[i], err);
        /* wait for the caches (controllers must not act on a partial view), or a stop request */
        int64_t waited = 0;
        for (size_t i = 0; i < m->n_informers && r >= 0; i++) {
                for (;;) {
                        int s = ap_kube_informer_wait_synced(m->informers[i], 200);
                        if (s == 0)
                                break;
                        waited += 200;
                        pthread_mutex_lock(&m->lock);
                        bool stop = m->stop_requested;
                        pthread_mutex_unlock(&m->lock);
                        if (stop)
                                goto shutdown;
                        if (waited >= m->sync_timeout_ms) {
                                char why[AP_ERROR_MSG_MAX] = "";
                                ap_kube_informer_last_error(m->informers[i], why, sizeof(why));
                                r = ap_error_set(err, -ETIMEDOUT, "caches did not sync within %ld s%s%s",
                                                 m->sync_timeout_ms / 1000, why[0] ? ": " : "", why);
                                goto shutdown;
                        }
                }
        }
        if (r >= 0) {
                if (m->leader) {
                        r = ap_kube_leader_start(m->leader, err);
                } else {
                        r = start_controllers(m, err);
                }
        }
        if (r >= 0) {
                pthread_mutex_lock(&m->lock);
                while (!m->stop_requested)
                        pthread_cond_wait(&m->cond, &m->lock);
                pthread_mutex_unlock(&m->lock);
        }
shutdown:
        /* 1. no new reconcile, those in flight finish within the grace (the lease is still renewed
         * meanwhile), then are cancelled; 2. no new events; 3. hand the lease over */
        pthread_mutex_lock(&m->lock);
        m->shutting_down = true;
        pthread_mutex_unlock(&m->lock);
        stop_controllers(m, m->grace_ms);
        for (size_t i = 0; i < m->n_informers; i++)
                ap_kube_informer_stop(m->informers[i]);
        if (m->leader)
                ap_kube_leader_stop(m->leader); /* releases the lease if we held it */
        atomic_store(&w.done, true);
        if (sig_started)
                pthread_join(sig, NULL);
        return r;
}
