/* leader.c - Lease-based leader election (client-go's algorithm, with a stricter renew deadline). */
#include "leader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "api.h"
#include "timefmt.h"

struct ap_kube_leader {
        struct ap_kube_client *client;
        char *ns, *name, *identity;
        long lease_ms, renew_ms, retry_ms;
        bool keep_on_stop;
        void (*on_started)(void *);
        void (*on_stopped)(void *);
        void (*on_new_leader)(void *, const char *);
        void *userdata;
        struct ap_kube_metric *m_status;

        pthread_t thread;
        bool running;
        atomic_bool stop;
        atomic_bool leading;
        atomic_bool lost;
        atomic_bool release_failed;      /* the lease could not be released on stop: it runs out instead */
        atomic_int_fast64_t valid_until; /* monotonic ms until which our hold is certain; 0 = none */
        atomic_ulong losses;
        bool recampaign;
        pthread_mutex_t lock; /* with cond: interruptible sleeps */
        pthread_cond_t cond;

        /* election thread only */
        json_t *observed;       /* the last Lease we read or wrote */
        char *observed_key;     /* holder + renewTime + transitions: what "the record changed" compares */
        int64_t observed_at_ms; /* monotonic time the record last changed */
        char *last_holder;
};

int ap_kube_leader_new(struct ap_kube_client *client, const struct ap_kube_leader_options *opts,
                       struct ap_kube_leader **ret, struct ap_error *err)
{
        if (!opts->namespace || !opts->name || !opts->identity || !opts->identity[0])
                return ap_error_set(err, -EINVAL,
                                    "leader election needs a lease namespace, name and identity");
        long lease = opts->lease_duration_ms > 0 ? opts->lease_duration_ms : 15000;
        long renew = opts->renew_deadline_ms > 0 ? opts->renew_deadline_ms : 10000;
        long retry = opts->retry_period_ms > 0 ? opts->retry_period_ms : 2000;
        if (renew >= lease)
                return ap_error_set(err, -EINVAL,
                                    "the renew deadline (%ld ms) must be shorter than the lease "
                                    "duration (%ld ms)",
                                    renew, lease);
        if (retry >= renew)
                return ap_error_set(err, -EINVAL,
                                    "the retry period (%ld ms) must be shorter than the renew "
                                    "deadline (%ld ms)",
                                    retry, renew);
        if (lease < 1000)
                return ap_error_set(err, -EINVAL, "the lease duration must be at least 1 s");
        struct ap_kube_leader *le = calloc(1, sizeof(*le));
        if (!le)
                return ap_error_set(err, -ENOMEM, "out of memory");
        le->client = client;
        le->ns = strdup(opts->namespace);
        le->name = strdup(opts->name);
        le->identity = strdup(opts->identity);
        le->lease_ms = lease;
        le->renew_ms = renew;
        le->retry_ms = retry;
        le->keep_on_stop = opts->keep_on_stop;
        le->recampaign = opts->recampaign;
        le->on_started = opts->on_started_leading;
        le->on_stopped = opts->on_stopped_leading;
        le->on_new_leader = opts->on_new_leader;
        le->userdata = opts->userdata;
        pthread_mutex_init(&le->lock, NULL);
        ap_cond_init_monotonic(&le->cond);
        if (!le->ns || !le->name || !le->identity) {
                ap_kube_leader_free(le);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        le->m_status =
            ap_kube_metrics_series(opts->metrics, "leader_election_master_status", "name", le->name, NULL);
        ap_kube_metric_set(le->m_status, 0);
        *ret = le;
        return 0;
}

struct ap_kube_leader *ap_kube_leader_free(struct ap_kube_leader *le)
{
        if (!le)
                return NULL;
        ap_kube_leader_stop(le);
        json_decref(le->observed);
        free(le->observed_key);
        free(le->last_holder);
        free(le->ns);
        free(le->name);
        free(le->identity);
        pthread_mutex_destroy(&le->lock);
        pthread_cond_destroy(&le->cond);
        free(le);
        return NULL;
}

/* Sleep until the monotonic deadline or until stop. */
static void sleep_until(struct ap_kube_leader *le, int64_t deadline_ms)
{
        struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
        pthread_mutex_lock(&le->lock);
        while (!atomic_load(&le->stop) && ap_mono_ms() < deadline_ms)
                pthread_cond_timedwait(&le->cond, &le->lock, &ts);
        pthread_mutex_unlock(&le->lock);
}

static const char *spec_str(const json_t *lease, const char *key)
{
        return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

static json_int_t spec_int(const json_t *lease, const char *key)
{
        return json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

static void observe(struct ap_kube_leader *le, json_t *lease, int64_t at_ms)
{
        char *key = NULL;
        const char *holder = spec_str(lease, "holderIdentity");
        if (asprintf(&key, "%s|%s|%lld", holder ? holder : "", spec_str(lease, "renewTime") ?: "",
                     (long long)spec_int(lease, "leaseTransitions")) < 0)
                key = NULL;
        if (!le->observed_key || !key || strcmp(key, le->observed_key) != 0) {
                free(le->observed_key);
                le->observed_key = key;
                le->observed_at_ms = at_ms;
        } else {
                free(key);
        }
        json_decref(le->observed);
        le->observed = json_incref(lease);
        if (holder && holder[0] && (!le->last_holder || strcmp(le->last_holder, holder) != 0)) {
                free(le->last_holder);
                le->last_holder = strdup(holder);
                if (le->on_new_leader)
                        le->on_new_leader(le->userdata, holder);
        }
}

static json_t *lease_spec(struct ap_kube_leader *le, const char *acquire_time, const char *renew_time,
                          json_int_t transitions)
{
        return json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity", le->identity, "leaseDurationSeconds",
                         (json_int_t)((le->lease_ms + 999) / 1000), "acquireTime", acquire_time, "renewTime",
                         renew_time, "leaseTransitions", transitions);
}

/* One attempt: 1 = we hold the lease now, 0 = someone else does (or the write lost a race), <0 = error. */
static int try_acquire_or_renew(struct ap_kube_leader *le, long timeout_ms, struct ap_error *err)
{
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        char nowbuf[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(nowbuf, sizeof(nowbuf), &now);
        struct ap_kube_opts o = {.timeout_ms = timeout_ms, .field_manager = "app-platform-leader-election"};
        json_t *lease = NULL;
        int r = ap_kube_get(le->client, &ap_kube_res_leases, le->ns, le->name, &o, &lease, NULL, err);
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                json_t *obj =
                    json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1", "kind",
                              "Lease", "metadata", "name", le->name, "namespace", le->ns, "spec",
                              lease_spec(le, nowbuf, nowbuf, 0));
                json_t *created = NULL;
                r = obj ? ap_kube_create(le->client, &ap_kube_res_leases, le->ns, obj, &o, &created, NULL,
                                         err)
                        : ap_error_set(err, -ENOMEM, "out of memory");
                json_decref(obj);
                if (r == AP_KUBE_E_ALREADY_EXISTS) {
                        ap_error_clear(err);
                        return 0; /* someone else created it first */
                }
                if (r < 0)
                        return r;
                observe(le, created, ap_mono_ms());
                json_decref(created);
                return 1;
        }
        if (r < 0)
                return r;
        int64_t t = ap_mono_ms();
        observe(le, lease, t);
        const char *holder = spec_str(lease, "holderIdentity");
        bool mine = holder && strcmp(holder, le->identity) == 0;
        json_int_t dur_s = spec_int(lease, "leaseDurationSeconds");
        if (dur_s <= 0)
                dur_s = (le->lease_ms + 999) / 1000;
        if (holder && holder[0] && !mine && le->observed_at_ms + dur_s * 1000 > t) {
                json_decref(lease);
                return 0; /* held, and not expired by our clock */
        }
        json_int_t transitions = spec_int(lease, "leaseTransitions");
        const char *acquire = mine ? spec_str(lease, "acquireTime") : NULL;
        json_t *spec =
            lease_spec(le, acquire ? acquire : nowbuf, nowbuf, mine ? transitions : transitions + 1);
        json_t *updated = NULL;
        if (!spec || json_object_set_new(lease, "spec", spec) < 0) {
                json_decref(lease);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        /* lease still carries the resourceVersion we read: a concurrent writer makes this a conflict */
        r = ap_kube_update(le->client, &ap_kube_res_leases, lease, &o, &updated, NULL, err);
        json_decref(lease);
        if (r == AP_KUBE_E_CONFLICT) {
                ap_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        observe(le, updated, ap_mono_ms());
        json_decref(updated);
        return 1;
}

static int release(struct ap_kube_leader *le)
{
        if (!le->observed)
                return 0;
        const char *holder = spec_str(le->observed, "holderIdentity");
        if (!holder || strcmp(holder, le->identity) != 0)
                return 0;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        char nowbuf[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(nowbuf, sizeof(nowbuf), &now);
        json_t *lease = json_deep_copy(le->observed);
        json_t *spec = json_object_get(lease, "spec");
        /* client-go's release: no holder, a 1 s lease, renewTime now; the resourceVersion guards it */
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        json_object_set_new(spec, "renewTime", json_string(nowbuf));
        json_object_set_new(spec, "acquireTime", json_string(nowbuf));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_opts o = {.timeout_ms = le->retry_ms};
        /* best effort: when the release fails the lease simply runs out (its holder stopped renewing) */
        int r = ap_kube_update(le->client, &ap_kube_res_leases, lease, &o, NULL, NULL, &err);
        json_decref(lease);
        return r;
}

/* Campaign until we hold the lease (1) or are stopped (0). *ret_start: when the winning attempt began. */
static int campaign(struct ap_kube_leader *le, int64_t *ret_start)
{
        struct ap_error err = AP_ERROR_INIT;
        while (!atomic_load(&le->stop)) {
                ap_error_clear(&err);
                int64_t start = ap_mono_ms();
                int r = try_acquire_or_renew(le, le->retry_ms, &err);
                if (r == 1) {
                        *ret_start = start;
                        return 1;
                }
                int64_t next = ap_mono_ms() + le->retry_ms;
                if (r == 0 && le->observed) {
                        /* wake right when the holder's lease runs out by our clock, if that is sooner */
                        json_int_t dur_s = spec_int(le->observed, "leaseDurationSeconds");
                        int64_t expiry = le->observed_at_ms + (dur_s > 0 ? dur_s * 1000 : le->lease_ms) + 1;
                        if (expiry > ap_mono_ms() && expiry < next)
                                next = expiry;
                }
                sleep_until(le, next);
        }
        return 0;
}

/* Lead: renew, and give up once renewDeadline has passed since the last successful renewal began.
 * Returns true when stopped while leading, false when the lease was lost. */
static bool lead(struct ap_kube_leader *le, int64_t last_ok_start)
{
        struct ap_error err = AP_ERROR_INIT;
        for (;;) {
                sleep_until(le, ap_mono_ms() + le->retry_ms);
                if (atomic_load(&le->stop))
                        return true;
                bool renewed = false;
                while (!atomic_load(&le->stop)) {
                        int64_t start = ap_mono_ms();
                        long left = (long)(last_ok_start + le->renew_ms - start);
                        if (left <= 0)
                                break;
                        ap_error_clear(&err);
                        int r = try_acquire_or_renew(le, AP_MIN(left, le->retry_ms), &err);
                        if (r == 1) {
                                last_ok_start = start;
                                atomic_store(&le->valid_until, start + le->renew_ms);
                                renewed = true;
                                break;
                        }
                        if (r == 0) {
                                const char *holder = spec_str(le->observed, "holderIdentity");
                                if (holder && strcmp(holder, le->identity) != 0)
                                        break; /* someone else holds it: we lost */
                                /* a conflict on our own lease (e.g. an earlier write we timed out on
                                 * landed after all): read again */
                        }
                        sleep_until(le, AP_MIN(start + le->retry_ms / 4 + 1, last_ok_start + le->renew_ms));
                }
                if (atomic_load(&le->stop))
                        return true;
                if (!renewed)
                        return false;
        }
}

static void *run(void *arg)
{
        struct ap_kube_leader *le = arg;
        for (;;) {
                int64_t start = 0;
                if (!campaign(le, &start))
                        return NULL;
                /* the work may start only while the renew deadline has not passed since this write
                 * began: the same rule that makes us give up below */
                atomic_store(&le->valid_until, start + le->renew_ms);
                atomic_store(&le->leading, true);
                ap_kube_metric_set(le->m_status, 1);
                if (le->on_started)
                        le->on_started(le->userdata);
                bool stopped = lead(le, start);
                atomic_store(&le->valid_until, 0);
                atomic_store(&le->leading, false);
                ap_kube_metric_set(le->m_status, 0);
                if (stopped) {
                        /* stopped while leading: stop the work first, then hand the lease over */
                        if (le->on_stopped)
                                le->on_stopped(le->userdata);
                        if (!le->keep_on_stop && release(le) < 0)
                                atomic_store(&le->release_failed, true);
                        return NULL;
                }
                atomic_fetch_add(&le->losses, 1);
                if (!le->recampaign)
                        atomic_store(&le->lost, true);
                if (le->on_stopped)
                        le->on_stopped(le->userdata);
                if (!le->recampaign)
                        return NULL;
                /* follow, and campaign again: the holder's record must be seen to change anew */
                free(le->observed_key);
                le->observed_key = NULL;
        }
}

int ap_kube_leader_start(struct ap_kube_leader *le, struct ap_error *err)
{
        if (le->running)
                return 0;
        atomic_store(&le->stop, false);
        int r = pthread_create(&le->thread, NULL, run, le);
        if (r != 0)
                return ap_error_set(err, -r, "cannot start leader election: %s", strerror(r));
        le->running = true;
        return 0;
}

void ap_kube_leader_stop(struct ap_kube_leader *le)
{
        if (!le || !le->running)
                return;
        pthread_mutex_lock(&le->lock);
        atomic_store(&le->stop, true);
        pthread_cond_broadcast(&le->cond);
        pthread_mutex_unlock(&le->lock);
        pthread_join(le->thread, NULL);
        le->running = false;
}

bool ap_kube_leader_is_leader(struct ap_kube_leader *le)
{
        return atomic_load(&le->leading);
}

bool ap_kube_leader_lost(struct ap_kube_leader *le)
{
        return atomic_load(&le->lost);
}

bool ap_kube_leader_lease_valid(struct ap_kube_leader *le)
{
        int64_t until = atomic_load(&le->valid_until);
        return until > 0 && ap_mono_ms() < until;
}

unsigned long ap_kube_leader_losses(struct ap_kube_leader *le)
{
        return atomic_load(&le->losses);
}
