/* events.c - events.k8s.io/v1 Events with client-side series aggregation. */
#include "events.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "api.h"
#include "keymap.h"
#include "timefmt.h"
#include "obj.h"
#include "watch_stream.h"

#define NOTE_MAX       1024
#define PATCH_EVERY_MS 10000

static const struct ap_kube_resource events_res = {"events.k8s.io", "v1", "events", "Event", true};

struct entry {
        char *name; /* the Event object's name */
        char *ns;
        long count;         /* occurrences so far */
        long written_count; /* what the apiserver has */
        int64_t last_seen_ms;
        int64_t last_write_ms;
        struct timespec last_seen; /* realtime, for lastObservedTime */
};

struct ap_kube_recorder {
        struct ap_kube_client *client;
        char *controller, *instance;
        size_t cache_size;
        long window_ms;
        pthread_mutex_t lock;   /* guards cache; held across the write of one event so repeats stay ordered */
        struct ap_keymap cache; /* aggregation key -> struct entry */
};

static void entry_free(void *v)
{
        struct entry *e = v;
        if (!e)
                return;
        free(e->name);
        free(e->ns);
        free(e);
}

int ap_kube_recorder_new(struct ap_kube_client *client, const struct ap_kube_recorder_options *opts,
                         struct ap_kube_recorder **ret, struct ap_error *err)
{
        if (!opts || !opts->controller || !opts->instance)
                return ap_error_set(err, -EINVAL,
                                    "an event recorder needs a controller and an instance name");
        struct ap_kube_recorder *rec = calloc(1, sizeof(*rec));
        if (!rec)
                return ap_error_set(err, -ENOMEM, "out of memory");
        rec->client = client;
        rec->controller = strdup(opts->controller);
        rec->instance = strdup(opts->instance);
        rec->cache_size = opts->cache_size ? opts->cache_size : 4096;
        rec->window_ms = opts->series_window_ms > 0 ? opts->series_window_ms : 6 * 60 * 1000;
        pthread_mutex_init(&rec->lock, NULL);
        if (!rec->controller || !rec->instance) {
                ap_kube_recorder_free(rec);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = rec;
        return 0;
}

struct ap_kube_recorder *ap_kube_recorder_free(struct ap_kube_recorder *rec)
{
        if (!rec)
                return NULL;
        if (ap_kube_recorder_flush(rec, NULL) < 0) {
                /* freeing: nobody to tell; the Event keeps the count it had */
        }
        ap_keymap_release(&rec->cache, entry_free);
        pthread_mutex_destroy(&rec->lock);
        free(rec->controller);
        free(rec->instance);
        free(rec);
        return NULL;
}

/* PATCH the series of one entry. Lock held. */
static int write_series(struct ap_kube_recorder *rec, struct entry *e, struct ap_error *err)
{
        char seen[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(seen, sizeof(seen), &e->last_seen);
        json_t *patch =
            json_pack("{s:{s:I, s:s}}", "series", "count", (json_int_t)e->count, "lastObservedTime", seen);
        if (!patch)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_kube_patch(rec->client, &events_res, e->ns, e->name, AP_KUBE_PATCH_MERGE, patch, NULL,
                              NULL, NULL, err);
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

int ap_kube_recorder_event(struct ap_kube_recorder *rec, const json_t *regarding, const char *type,
                           const char *reason, const char *action, const char *note, struct ap_error *err)
{
        const char *name = ap_kube_obj_name(regarding);
        const char *kind = json_string_value(json_object_get(regarding, "kind"));
        const char *api_version = json_string_value(json_object_get(regarding, "apiVersion"));
        if (!name || !kind || !api_version || !type || !reason || !action)
                return ap_error_set(err, -EINVAL,
                                    "an event needs an object with apiVersion, kind and name, a "
                                    "type, a reason and an action");
        const char *obj_ns = ap_kube_obj_namespace(regarding);
        const char *ns = obj_ns ? obj_ns : "default";
        const char *uid = ap_kube_obj_uid(regarding);
        char notebuf[NOTE_MAX + 1];
        snprintf(notebuf, sizeof(notebuf), "%s", note ? note : "");
        _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
        if (ap_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", uid ? uid : "", ns, kind,
                          name, type, reason, action, notebuf) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ms = ap_mono_ms();
        int r = 0;
        pthread_mutex_lock(&rec->lock);
        struct entry *e = ap_keymap_get(&rec->cache, key.data);
        if (e && now_ms - e->last_seen_ms < rec->window_ms) {
                e->count++;
                e->last_seen_ms = now_ms;
                e->last_seen = now;
                if (now_ms - e->last_write_ms >= PATCH_EVERY_MS) {
                        r = write_series(rec, e, err);
                        if (r == AP_KUBE_E_NOT_FOUND) {
                                /* the Event expired (its TTL is an hour by default): start over */
                                ap_error_clear(err);
                                ap_keymap_remove(&rec->cache, key.data, NULL);
                                entry_free(e);
                                e = NULL;
                                r = 0;
                        }
                }
                if (e) {
                        pthread_mutex_unlock(&rec->lock);
                        return r;
                }
        }
        /* a new Event */
        unsigned char rnd[8];
        char suffix[17];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                pthread_mutex_unlock(&rec->lock);
                return ap_error_set(err, -EIO, "cannot draw random bytes for an event name");
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(suffix + 2 * i, 3, "%02x", rnd[i]);
        char ev_name[320];
        snprintf(ev_name, sizeof(ev_name), "%.200s.%s", name, suffix);
        char when[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(when, sizeof(when), &now);
        json_t *ref = json_pack("{s:s, s:s, s:s}", "apiVersion", api_version, "kind", kind, "name", name);
        if (ref && obj_ns)
                json_object_set_new(ref, "namespace", json_string(obj_ns));
        if (ref && uid)
                json_object_set_new(ref, "uid", json_string(uid));
        const char *orv = ap_kube_obj_resource_version(regarding);
        if (ref && orv)
                json_object_set_new(ref, "resourceVersion", json_string(orv));
        json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o*}",
                               "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", ev_name,
                               "namespace", ns, "eventTime", when, "reportingController", rec->controller,
                               "reportingInstance", rec->instance, "action", action, "reason", reason, "type",
                               type, "note", notebuf, "regarding", ref);
        if (!ev) {
                pthread_mutex_unlock(&rec->lock);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        r = ap_kube_create(rec->client, &events_res, ns, ev, NULL, NULL, NULL, err);
        json_decref(ev);
        if (r >= 0) {
                evict(rec, now_ms);
                struct entry *n = calloc(1, sizeof(*n));
                if (n && (n->name = strdup(ev_name)) && (n->ns = strdup(ns))) {
                        n->count = n->written_count = 1;
                        n->last_seen_ms = n->last_write_ms = now_ms;
                        n->last_seen = now;
                        void *old = NULL;
                        if (ap_keymap_put(&rec->cache, key.data, n, &old) < 0)
                                entry_free(n);
                        else
                                entry_free(old);
                } else {
                        entry_free(n);
                }
        }
        pthread_mutex_unlock(&rec->lock);
        return r;
}

int ap_kube_recorder_flush(struct ap_kube_recorder *rec, struct ap_error *err)
{
        int ret = 0;
        pthread_mutex_lock(&rec->lock);
        size_t it = 0;
        void *v;
        while (ap_keymap_next(&rec->cache, &it, NULL, &v)) {
                struct entry *e = v;
                if (e->count == e->written_count)
                        continue;
                int r = write_series(rec, e, err);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        pthread_mutex_unlock(&rec->lock);
        return ret;
}
