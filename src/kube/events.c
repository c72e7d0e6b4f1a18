/* events.c - events.k8s.io/v1 Events with client-side series aggregation, written by one thread from a
 * bounded queue. */
#include "events.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "base/clock.h"
#include "base/log.h"
#include "keymap.h"
#include "obj.h"
#include "timefmt.h"

#define NOTE_MAX       1024
#define PATCH_EVERY_MS 10000

static const struct ap_kube_resource events_res = {"events.k8s.io", "v1", "events", "Event", true};

/* What the writer remembers of an Event it created, for aggregation. Writer thread only. */
struct entry {
        char *name; /* the Event object's name */
        char *ns;
        long count;         /* occurrences so far */
        long written_count; /* what the apiserver has */
        int64_t last_seen_ms;
        int64_t last_write_ms;
        struct timespec last_seen; /* realtime, for lastObservedTime */
};

/* One recorded occurrence waiting for the writer: every string it needs, copied, in one allocation. */
struct pending {
        struct pending *next;
        int64_t seen_ms;
        struct timespec seen;
        const char *key; /* aggregation key */
        const char *api_version, *kind, *name, *obj_ns, *uid, *rv, *type, *reason, *action, *note;
        char buf[];
};

struct ap_kube_recorder {
        struct ap_kube_client *client;
        char *controller, *instance;
        size_t cache_size, queue_max;
        long window_ms;
        struct ap_kube_metric *m_dropped, *m_errors;

        pthread_mutex_t lock; /* guards the queue, the flush handshake and the error state */
        pthread_cond_t cond;  /* writer: work or stop; flushers: progress */
        struct pending *head, *tail;
        size_t queued;
        bool stop;
        unsigned long enqueued_seq, written_seq; /* occurrences queued / handled so far */
        unsigned long flush_req, flush_done;     /* series flushes asked for / done */
        int flush_error;                         /* first write error since the last flush */
        char flush_msg[AP_ERROR_MSG_MAX];
        char last_error[AP_ERROR_MSG_MAX];
        atomic_ulong dropped, write_errors;
        pthread_t thread;
        bool running;

        struct ap_keymap cache; /* aggregation key -> struct entry; writer thread only */
};

/* Events count against the client's second rate-limit bucket: a burst of them never delays the
 * reconcilers' own requests (and theirs never starve the Events) */
static const struct ap_kube_opts background = {.rate_limit = AP_KUBE_LIMIT_BACKGROUND};

static void entry_free(void *v)
{
        struct entry *e = v;
        if (!e)
                return;
        free(e->name);
        free(e->ns);
        free(e);
}

static void write_failed(struct ap_kube_recorder *rec, const struct ap_error *err)
{
        atomic_fetch_add(&rec->write_errors, 1);
        ap_kube_metric_inc(rec->m_errors);
        pthread_mutex_lock(&rec->lock);
        snprintf(rec->last_error, sizeof(rec->last_error), "%s", ap_error_message(err));
        if (!rec->flush_error) {
                rec->flush_error = err->code < 0 ? err->code : AP_E_UNAVAILABLE;
                snprintf(rec->flush_msg, sizeof(rec->flush_msg), "%s", ap_error_message(err));
        }
        pthread_mutex_unlock(&rec->lock);
        ap_debug("cannot write an event: %s", ap_error_message(err));
}

/* PATCH the series of one entry. */
static int write_series(struct ap_kube_recorder *rec, struct entry *e, struct ap_error *err)
{
        char seen[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(seen, sizeof(seen), &e->last_seen);
        json_t *patch =
            json_pack("{s:{s:I, s:s}}", "series", "count", (json_int_t)e->count, "lastObservedTime", seen);
        if (!patch)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_kube_patch(rec->client, &events_res, e->ns, e->name, AP_KUBE_PATCH_MERGE, patch,
                              &background, NULL, NULL, err);
        json_decref(patch);
        if (r >= 0) {
                e->written_count = e->count;
                e->last_write_ms = ap_mono_ms();
        }
        return r;
}

static void evict(struct ap_kube_recorder *rec, int64_t now)
{
        if (ap_keymap_size(&rec->cache) < rec->cache_size)
                return;
        /* drop what fell out of the window; if that is not enough, forget everything (worst case: a
         * repeat starts a new Event instead of counting on the old one) */
        struct ap_keymap keep = AP_KEYMAP_INIT;
        size_t it = 0;
        const char *k;
        void *v;
        while (ap_keymap_next(&rec->cache, &it, &k, &v)) {
                struct entry *e = v;
                if (now - e->last_seen_ms < rec->window_ms && e->count == e->written_count &&
                    ap_keymap_put(&keep, k, e, NULL) == 0)
                        continue;
                entry_free(e);
        }
        ap_keymap_release(&rec->cache, NULL);
        rec->cache = keep;
        if (ap_keymap_size(&rec->cache) >= rec->cache_size)
                ap_keymap_release(&rec->cache, entry_free);
}

/* Create the Event for a first occurrence and remember it. */
static int create_event(struct ap_kube_recorder *rec, const struct pending *p, struct ap_error *err)
{
        const char *ns = p->obj_ns ? p->obj_ns : "default";
        unsigned char rnd[8];
        char suffix[17];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return ap_error_set(err, AP_E_UNAVAILABLE, "cannot draw random bytes for an event name");
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(suffix + 2 * i, 3, "%02x", rnd[i]);
        char ev_name[320];
        snprintf(ev_name, sizeof(ev_name), "%.200s.%s", p->name, suffix);
        char when[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(when, sizeof(when), &p->seen);
        json_t *ref =
            json_pack("{s:s, s:s, s:s}", "apiVersion", p->api_version, "kind", p->kind, "name", p->name);
        if (ref && p->obj_ns)
                json_object_set_new(ref, "namespace", json_string(p->obj_ns));
        if (ref && p->uid)
                json_object_set_new(ref, "uid", json_string(p->uid));
        if (ref && p->rv)
                json_object_set_new(ref, "resourceVersion", json_string(p->rv));
        json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o*}",
                               "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", ev_name,
                               "namespace", ns, "eventTime", when, "reportingController", rec->controller,
                               "reportingInstance", rec->instance, "action", p->action, "reason", p->reason,
                               "type", p->type, "note", p->note, "regarding", ref);
        if (!ev)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_kube_create(rec->client, &events_res, ns, ev, &background, NULL, NULL, err);
        json_decref(ev);
        if (r < 0)
                return r;
        evict(rec, p->seen_ms);
        struct entry *n = calloc(1, sizeof(*n));
        if (n && (n->name = strdup(ev_name)) && (n->ns = strdup(ns))) {
                n->count = n->written_count = 1;
                n->last_seen_ms = n->last_write_ms = p->seen_ms;
                n->last_seen = p->seen;
                void *old = NULL;
                if (ap_keymap_put(&rec->cache, p->key, n, &old) < 0)
                        entry_free(n); /* out of memory: a repeat starts a new Event */
                else
                        entry_free(old);
        } else {
                entry_free(n);
        }
        return 0;
}

/* One occurrence: count it on a live series or create an Event. Writer thread. */
static int handle(struct ap_kube_recorder *rec, const struct pending *p, struct ap_error *err)
{
        struct entry *e = ap_keymap_get(&rec->cache, p->key);
        if (e && p->seen_ms - e->last_seen_ms < rec->window_ms) {
                e->count++;
                e->last_seen_ms = p->seen_ms;
                e->last_seen = p->seen;
                if (ap_mono_ms() - e->last_write_ms < PATCH_EVERY_MS)
                        return 0;
                int r = write_series(rec, e, err);
                if (r != AP_E_NOT_FOUND)
                        return r;
                /* the Event expired (its TTL is an hour by default): start over */
                ap_error_clear(err);
                ap_keymap_remove(&rec->cache, p->key, NULL);
                entry_free(e);
        }
        return create_event(rec, p, err);
}

/* Write every series count the apiserver does not have yet. Writer thread. */
static void write_pending_series(struct ap_kube_recorder *rec, bool all)
{
        int64_t now = ap_mono_ms();
        size_t it = 0;
        void *v;
        while (ap_keymap_next(&rec->cache, &it, NULL, &v)) {
                struct entry *e = v;
                if (e->count == e->written_count || (!all && now - e->last_write_ms < PATCH_EVERY_MS))
                        continue;
                struct ap_error err = AP_ERROR_INIT;
                if (write_series(rec, e, &err) < 0)
                        write_failed(rec, &err);
        }
}

static bool series_due(struct ap_kube_recorder *rec)
{
        int64_t now = ap_mono_ms();
        size_t it = 0;
        void *v;
        while (ap_keymap_next(&rec->cache, &it, NULL, &v)) {
                struct entry *e = v;
                if (e->count != e->written_count && now - e->last_write_ms >= PATCH_EVERY_MS)
                        return true;
        }
        return false;
}

static void *writer(void *arg)
{
        struct ap_kube_recorder *rec = arg;
        pthread_mutex_lock(&rec->lock);
        for (;;) {
                if (rec->head) {
                        struct pending *p = rec->head;
                        rec->head = p->next;
                        if (!rec->head)
                                rec->tail = NULL;
                        rec->queued--;
                        pthread_mutex_unlock(&rec->lock);
                        struct ap_error err = AP_ERROR_INIT;
                        if (handle(rec, p, &err) < 0)
                                write_failed(rec, &err);
                        free(p);
                        pthread_mutex_lock(&rec->lock);
                        rec->written_seq++;
                        pthread_cond_broadcast(&rec->cond);
                        continue;
                }
                if (rec->flush_req != rec->flush_done) {
                        unsigned long req = rec->flush_req;
                        pthread_mutex_unlock(&rec->lock);
                        write_pending_series(rec, true);
                        pthread_mutex_lock(&rec->lock);
                        rec->flush_done = req;
                        pthread_cond_broadcast(&rec->cond);
                        continue;
                }
                if (rec->stop)
                        break;
                /* repeats are counted on a series at most every PATCH_EVERY_MS: look again then */
                pthread_mutex_unlock(&rec->lock);
                bool due = series_due(rec);
                if (due)
                        write_pending_series(rec, false);
                pthread_mutex_lock(&rec->lock);
                if (!rec->head && rec->flush_req == rec->flush_done && !rec->stop) {
                        struct timespec ts = ap_mono_timespec_after_ms(PATCH_EVERY_MS / 2);
                        pthread_cond_timedwait(&rec->cond, &rec->lock, &ts);
                }
        }
        pthread_mutex_unlock(&rec->lock);
        return NULL;
}

int ap_kube_recorder_new(struct ap_kube_client *client, const struct ap_kube_recorder_options *opts,
                         struct ap_kube_recorder **ret, struct ap_error *err)
{
        if (!opts || !opts->controller || !opts->instance)
                return ap_error_set(err, AP_E_INVALID,
                                    "an event recorder needs a controller and an instance name");
        struct ap_kube_recorder *rec = calloc(1, sizeof(*rec));
        if (!rec)
                return ap_error_set(err, -ENOMEM, "out of memory");
        rec->client = client;
        rec->controller = strdup(opts->controller);
        rec->instance = strdup(opts->instance);
        rec->cache_size = opts->cache_size ? opts->cache_size : 4096;
        rec->queue_max = opts->queue_size ? opts->queue_size : 1024;
        rec->window_ms = opts->series_window_ms > 0 ? opts->series_window_ms : 6 * 60 * 1000;
        pthread_mutex_init(&rec->lock, NULL);
        ap_cond_init_monotonic(&rec->cond);
        if (opts->metrics) {
                struct ap_kube_metrics *m = opts->metrics;
                if (ap_kube_metrics_register(m, "app_platform_events_dropped_total", AP_KUBE_COUNTER,
                                             "Events dropped because the recorder's queue was full", NULL,
                                             0) < 0 ||
                    ap_kube_metrics_register(m, "app_platform_event_write_errors_total", AP_KUBE_COUNTER,
                                             "Events the apiserver did not accept", NULL, 0) < 0) {
                        ap_kube_recorder_free(rec);
                        return ap_error_set(err, -ENOMEM, "out of memory");
                }
                rec->m_dropped = ap_kube_metrics_series(m, "app_platform_events_dropped_total", NULL);
                rec->m_errors = ap_kube_metrics_series(m, "app_platform_event_write_errors_total", NULL);
        }
        if (!rec->controller || !rec->instance) {
                ap_kube_recorder_free(rec);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        int r = pthread_create(&rec->thread, NULL, writer, rec);
        if (r != 0) {
                ap_kube_recorder_free(rec);
                return ap_error_set(err, -r, "cannot start the event writer: %s", strerror(r));
        }
        rec->running = true;
        *ret = rec;
        return 0;
}

struct ap_kube_recorder *ap_kube_recorder_free(struct ap_kube_recorder *rec)
{
        if (!rec)
                return NULL;
        if (rec->running) {
                struct ap_error err = AP_ERROR_INIT;
                if (ap_kube_recorder_flush(rec, &err) < 0) {
                        /* freeing: the failure was counted and logged at debug level by the writer */
                }
                pthread_mutex_lock(&rec->lock);
                rec->stop = true;
                pthread_cond_broadcast(&rec->cond);
                pthread_mutex_unlock(&rec->lock);
                pthread_join(rec->thread, NULL);
        }
        for (struct pending *p = rec->head, *n; p; p = n) {
                n = p->next;
                free(p);
        }
        ap_keymap_release(&rec->cache, entry_free);
        pthread_mutex_destroy(&rec->lock);
        pthread_cond_destroy(&rec->cond);
        free(rec->controller);
        free(rec->instance);
        free(rec);
        return NULL;
}

/* Copy s (may be NULL) into the pending item's buffer at *at. */
static const char *put(struct pending *p, size_t *at, const char *s)
{
        if (!s)
                return NULL;
        size_t n = strlen(s) + 1;
        char *d = p->buf + *at;
        memcpy(d, s, n);
        *at += n;
        return d;
}

static size_t len0(const char *s)
{
        return s ? strlen(s) + 1 : 0;
}

int ap_kube_recorder_event(struct ap_kube_recorder *rec, const json_t *regarding, const char *type,
                           const char *reason, const char *action, const char *note, struct ap_error *err)
{
        const char *name = ap_kube_obj_name(regarding);
        const char *kind = json_string_value(json_object_get(regarding, "kind"));
        const char *api_version = json_string_value(json_object_get(regarding, "apiVersion"));
        if (!name || !kind || !api_version || !type || !reason || !action)
                return ap_error_set(err, AP_E_INVALID,
                                    "an event needs an object with apiVersion, kind and name, a "
                                    "type, a reason and an action");
        const char *obj_ns = ap_kube_obj_namespace(regarding);
        const char *uid = ap_kube_obj_uid(regarding);
        const char *rv = ap_kube_obj_resource_version(regarding);
        char notebuf[NOTE_MAX + 1];
        snprintf(notebuf, sizeof(notebuf), "%s", note ? note : "");
        _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
        if (ap_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", uid ? uid : "",
                          obj_ns ? obj_ns : "default", kind, name, type, reason, action, notebuf) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t size = key.len + 1 + len0(api_version) + len0(kind) + len0(name) + len0(obj_ns) + len0(uid) +
                      len0(rv) + len0(type) + len0(reason) + len0(action) + len0(notebuf);
        struct pending *p = malloc(sizeof(*p) + size);
        if (!p)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t at = 0;
        p->next = NULL;
        p->seen_ms = ap_mono_ms();
        clock_gettime(CLOCK_REALTIME, &p->seen);
        p->key = put(p, &at, key.data);
        p->api_version = put(p, &at, api_version);
        p->kind = put(p, &at, kind);
        p->name = put(p, &at, name);
        p->obj_ns = put(p, &at, obj_ns);
        p->uid = put(p, &at, uid);
        p->rv = put(p, &at, rv);
        p->type = put(p, &at, type);
        p->reason = put(p, &at, reason);
        p->action = put(p, &at, action);
        p->note = put(p, &at, notebuf);
        pthread_mutex_lock(&rec->lock);
        bool full = rec->queued >= rec->queue_max;
        if (!full) {
                if (rec->tail)
                        rec->tail->next = p;
                else
                        rec->head = p;
                rec->tail = p;
                rec->queued++;
                rec->enqueued_seq++;
                pthread_cond_broadcast(&rec->cond);
        }
        pthread_mutex_unlock(&rec->lock);
        if (full) {
                free(p);
                atomic_fetch_add(&rec->dropped, 1);
                ap_kube_metric_inc(rec->m_dropped);
                ap_debug("event queue full (%zu): dropped %s '%s' about %s '%s'", rec->queue_max, type,
                         reason, kind, name);
        }
        return 0;
}

int ap_kube_recorder_flush(struct ap_kube_recorder *rec, struct ap_error *err)
{
        pthread_mutex_lock(&rec->lock);
        unsigned long upto = rec->enqueued_seq;
        unsigned long req = ++rec->flush_req;
        pthread_cond_broadcast(&rec->cond);
        while (rec->running && (rec->written_seq < upto || rec->flush_done < req))
                pthread_cond_wait(&rec->cond, &rec->lock);
        int r = rec->flush_error;
        if (r < 0)
                ap_error_set(err, r, "%s", rec->flush_msg);
        rec->flush_error = 0;
        rec->flush_msg[0] = '\0';
        pthread_mutex_unlock(&rec->lock);
        return r;
}

unsigned long ap_kube_recorder_dropped(struct ap_kube_recorder *rec)
{
        return atomic_load(&rec->dropped);
}

unsigned long ap_kube_recorder_write_errors(struct ap_kube_recorder *rec)
{
        return atomic_load(&rec->write_errors);
}

bool ap_kube_recorder_last_error(struct ap_kube_recorder *rec, char *buf, size_t size)
{
        pthread_mutex_lock(&rec->lock);
        bool has = rec->last_error[0] != '\0';
        if (size)
                snprintf(buf, size, "%s", rec->last_error);
        pthread_mutex_unlock(&rec->lock);
        return has;
}
