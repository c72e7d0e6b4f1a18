/* informer.c - list/watch loop, the cache with its indexes, and relist-with-diff after 410 Gone. */
#include "informer.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "api.h"
#include "store.h"
#include "obj.h"
#include "watch_stream.h"

#define MAX_HANDLERS 8

enum event_type { EV_ADD, EV_UPDATE, EV_DELETE };

/* A change to hand to the handlers once the cache shows it. Objects are parsed only at dispatch. */
struct event {
        enum event_type type;
        struct ap_kube_store_entry *old; /* owned: the replaced (update) or removed (delete) entry */
        struct ap_kube_store_entry *cur; /* borrowed from the cache (add, update); only the informer's
                                          * thread changes the cache, and it dispatches first */
};

struct events {
        struct event *v;
        size_t n, cap;
};

struct ap_kube_informer {
        struct ap_kube_client *client;
        const struct ap_kube_resource *res;
        char *api_version; /* "v1", "group/version": stamped on list items, which arrive without it */
        char *ns, *label_selector, *field_selector;
        long page_size, watch_timeout, backoff_initial, backoff_max, missing_retry;
        bool keep_managed_fields;
        bool optional;
        void (*transform)(void *userdata, json_t *obj);
        void *transform_userdata;

        pthread_rwlock_t lock; /* guards store and rv */
        struct ap_kube_store store;
        char *index_names[AP_KUBE_STORE_MAX_INDEXES];
        char *rv;

        struct ap_kube_informer_handlers handlers[MAX_HANDLERS];
        size_t n_handlers;

        pthread_t thread;
        bool running;
        atomic_bool stop;
        pthread_mutex_t state_lock; /* guards synced, stats and last_error */
        pthread_cond_t state_cond;  /* signalled when synced or stopping */
        bool synced;
        bool missing; /* optional, and the resource type does not exist (404 on list) */
        struct ap_kube_informer_stats stats;
        char last_error[AP_ERROR_MSG_MAX];

        atomic_bool resync; /* re-deliver every object: an event could not be handed over */

        /* used by the informer thread only */
        bool rv_unavailable;
        struct ap_kube_lines lines;
        struct ap_error stream_err;
        unsigned long stream_events;
};

static int dup_opt(char **dst, const char *s)
{
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

int ap_kube_informer_new(struct ap_kube_client *client, const struct ap_kube_informer_options *opts,
                         struct ap_kube_informer **ret, struct ap_error *err)
{
        if (!opts || !opts->resource)
                return ap_error_set(err, -EINVAL, "an informer needs a resource type");
        struct ap_kube_informer *inf = calloc(1, sizeof(*inf));
        if (!inf)
                return ap_error_set(err, -ENOMEM, "out of memory");
        inf->client = client;
        inf->res = opts->resource;
        inf->page_size = opts->page_size > 0 ? opts->page_size : 500;
        inf->watch_timeout = opts->watch_timeout_seconds;
        inf->backoff_initial = opts->backoff_initial_ms > 0 ? opts->backoff_initial_ms : 800;
        inf->backoff_max = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 30000;
        inf->keep_managed_fields = opts->keep_managed_fields;
        inf->optional = opts->optional;
        inf->missing_retry = opts->missing_retry_ms > 0 ? opts->missing_retry_ms : 10000;
        inf->transform = opts->transform;
        inf->transform_userdata = opts->transform_userdata;
        ap_kube_store_init(&inf->store);
        pthread_rwlock_init(&inf->lock, NULL);
        pthread_mutex_init(&inf->state_lock, NULL);
        ap_cond_init_monotonic(&inf->state_cond);
        struct ap_buf av = AP_BUF_INIT;
        if (opts->namespace && ap_kube_check_segment("namespace", opts->namespace, err) < 0) {
                ap_kube_informer_free(inf);
                return err ? err->code : -EINVAL;
        }
        if (ap_kube_resource_api_version(inf->res, &av) < 0 ||
            !(inf->api_version = ap_buf_detach(&av, NULL)) || dup_opt(&inf->ns, opts->namespace) < 0 ||
            dup_opt(&inf->label_selector, opts->label_selector) < 0 ||
            dup_opt(&inf->field_selector, opts->field_selector) < 0) {
                ap_buf_release(&av);
                ap_kube_informer_free(inf);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = inf;
        return 0;
}

struct ap_kube_informer *ap_kube_informer_free(struct ap_kube_informer *inf)
{
        if (!inf)
                return NULL;
        ap_kube_informer_stop(inf);
        ap_kube_store_release(&inf->store);
        for (size_t i = 0; i < inf->store.n_indexes; i++)
                free(inf->index_names[i]);
        free(inf->rv);
        free(inf->api_version);
        free(inf->ns);
        free(inf->label_selector);
        free(inf->field_selector);
        pthread_rwlock_destroy(&inf->lock);
        pthread_mutex_destroy(&inf->state_lock);
        pthread_cond_destroy(&inf->state_cond);
        free(inf);
        return NULL;
}

size_t ap_kube_index_namespace(void *userdata, const json_t *obj, const char **values, size_t max)
{
        const char *ns = ap_kube_obj_namespace(obj);
        if (!ns || max == 0)
                return 0;
        values[0] = ns;
        return 1;
}

size_t ap_kube_index_label(void *userdata, const json_t *obj, const char **values, size_t max)
{
        const char *v = ap_kube_obj_label(obj, userdata);
        if (!v || max == 0)
                return 0;
        values[0] = v;
        return 1;
}

int ap_kube_informer_add_index(struct ap_kube_informer *inf, const char *name, ap_kube_index_fn fn,
                               void *userdata)
{
        if (inf->running || inf->store.n_indexes >= AP_KUBE_STORE_MAX_INDEXES)
                return -EBUSY;
        char *n = strdup(name);
        if (!n)
                return -ENOMEM;
        size_t i = inf->store.n_indexes;
        int r = ap_kube_store_add_index(&inf->store, n, fn, userdata);
        if (r < 0) {
                free(n);
                return r;
        }
        inf->index_names[i] = n;
        return 0;
}

int ap_kube_informer_add_handlers(struct ap_kube_informer *inf, const struct ap_kube_informer_handlers *h)
{
        if (inf->running || inf->n_handlers >= MAX_HANDLERS)
                return -EBUSY;
        inf->handlers[inf->n_handlers++] = *h;
        return 0;
}

static void set_rv_locked(struct ap_kube_informer *inf, const char *rv)
{
        if (!rv || (inf->rv && strcmp(inf->rv, rv) == 0))
                return;
        char *n = strdup(rv);
        if (!n)
                return; /* keep the older one: resuming from it only replays events */
        free(inf->rv);
        inf->rv = n;
}

/* ---- events ---- */

/* Room for n events, taken before the cache changes so that no event can be lost to a failed
 * allocation half-way through a diff. */
static int events_reserve(struct events *ev, size_t n)
{
        if (n <= ev->cap)
                return 0;
        struct event *v = realloc(ev->v, n * sizeof(*v));
        if (!v)
                return -ENOMEM;
        ev->v = v;
        ev->cap = n;
        return 0;
}

static void events_push(struct events *ev, enum event_type type, struct ap_kube_store_entry *old,
                        struct ap_kube_store_entry *cur)
{
        assert(ev->n < ev->cap); /* reserved */
        ev->v[ev->n++] = (struct event){type, old, cur};
}

/* An event could not be handed to the handlers (out of memory parsing its object): relist and
 * re-deliver every object, rather than let a controller miss a change. */
static void lost_event(struct ap_kube_informer *inf)
{
        atomic_store(&inf->resync, true);
}

static bool wants(const struct ap_kube_informer *inf, enum event_type type)
{
        for (size_t i = 0; i < inf->n_handlers; i++) {
                const struct ap_kube_informer_handlers *h = &inf->handlers[i];
                if ((type == EV_ADD && h->on_add) || (type == EV_UPDATE && h->on_update) ||
                    (type == EV_DELETE && h->on_delete))
                        return true;
        }
        return false;
}

/* Call the handlers with parsed objects (old_obj for updates, obj the new or last state). */
static void dispatch(struct ap_kube_informer *inf, enum event_type type, json_t *old_obj, json_t *obj)
{
        for (size_t i = 0; i < inf->n_handlers; i++) {
                const struct ap_kube_informer_handlers *h = &inf->handlers[i];
                if (type == EV_ADD && h->on_add)
                        h->on_add(h->userdata, obj);
                else if (type == EV_UPDATE && h->on_update)
                        h->on_update(h->userdata, old_obj, obj);
                else if (type == EV_DELETE && h->on_delete)
                        h->on_delete(h->userdata, obj);
        }
}

static void events_dispatch_release(struct ap_kube_informer *inf, struct events *ev)
{
        for (size_t i = 0; i < ev->n; i++) {
                struct event *e = &ev->v[i];
                if (wants(inf, e->type)) {
                        /* one event's objects at a time: memory stays at the cache's size */
                        json_t *old_obj =
                            e->old && e->type == EV_UPDATE ? ap_kube_store_entry_parse(e->old) : NULL;
                        json_t *obj = ap_kube_store_entry_parse(e->type == EV_DELETE ? e->old : e->cur);
                        if (obj && (old_obj || e->type != EV_UPDATE))
                                dispatch(inf, e->type, old_obj, obj);
                        else
                                lost_event(inf);
                        json_decref(old_obj);
                        json_decref(obj);
                }
                ap_kube_store_entry_free(e->old);
        }
        free(ev->v);
        *ev = (struct events){0};
}

/* Make an object fit for the cache: the caller's transform, drop managedFields, stamp apiVersion/kind
 * (list items lack them). */
static void prepare(struct ap_kube_informer *inf, json_t *obj)
{
        if (inf->transform)
                inf->transform(inf->transform_userdata, obj);
        if (!inf->keep_managed_fields)
                json_object_del(json_object_get(obj, "metadata"), "managedFields");
        if (!json_object_get(obj, "apiVersion"))
                json_object_set_new(obj, "apiVersion", json_string(inf->api_version));
        if (!json_object_get(obj, "kind") && inf->res->kind)
                json_object_set_new(obj, "kind", json_string(inf->res->kind));
}

/* ---- list ---- */

struct relist_ctx {
        struct ap_kube_informer *inf;
        struct ap_kube_store fresh;
        struct ap_buf key;
};

static int relist_item(void *userdata, json_t *item)
{
        struct relist_ctx *ctx = userdata;
        ap_buf_reset(&ctx->key);
        if (ap_kube_obj_key(item, &ctx->key) < 0)
                return 0; /* nameless: nothing a controller could address */
        prepare(ctx->inf, item);
        struct ap_kube_store_entry *e = ap_kube_store_entry_new(&ctx->fresh, item);
        if (!e)
                return ap_kube_obj_resource_version(item) ? -ENOMEM : 0;
        return ap_kube_store_put(&ctx->fresh, ctx->key.data, e, NULL);
}

static void set_error(struct ap_kube_informer *inf, const struct ap_error *err)
{
        pthread_mutex_lock(&inf->state_lock);
        snprintf(inf->last_error, sizeof(inf->last_error), "%s", ap_error_message(err));
        inf->stats.errors++;
        pthread_mutex_unlock(&inf->state_lock);
}

static int relist(struct ap_kube_informer *inf, struct ap_error *err)
{
        struct relist_ctx ctx = {.inf = inf, .key = AP_BUF_INIT};
        pthread_rwlock_rdlock(&inf->lock);
        /* after 410 a consistent read (""), else what we had ("0" the first time: the watch cache may
         * answer) */
        char *rv = strdup(inf->rv_unavailable ? "" : inf->rv ? inf->rv : "0");
        pthread_rwlock_unlock(&inf->lock);
        if (!rv)
                return ap_error_set(err, -ENOMEM, "out of memory");
        /* only this thread changes the store, so its index definitions can be read without the lock */
        ap_kube_store_init_like(&ctx.fresh, &inf->store);
        struct ap_kube_opts o = {
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
            .limit = inf->page_size,
            .resource_version = rv,
            .timeout_ms = 120000,
        };
        char *list_rv = NULL;
        bool resync = atomic_exchange(&inf->resync, false);
        int r = ap_kube_list_each(inf->client, inf->res, inf->ns, &o, relist_item, &ctx, &list_rv, NULL, err);
        free(rv);
        ap_buf_release(&ctx.key);
        bool missing = false;
        if (r == AP_E_NOT_FOUND && inf->optional) {
                /* the resource type does not exist (yet): synced and empty until it appears */
                ap_error_clear(err);
                ap_kube_store_release(&ctx.fresh);
                ap_kube_store_init_like(&ctx.fresh, &inf->store);
                free(list_rv);
                list_rv = NULL;
                missing = true;
                r = 0;
        }
        struct events ev = {0};
        if (r >= 0 && events_reserve(&ev, ap_kube_store_len(&ctx.fresh) + ap_kube_store_len(&inf->store)) < 0)
                r = ap_error_set(err, -ENOMEM, "out of memory diffing the list of '%s'", inf->res->resource);
        if (r < 0) {
                if (resync)
                        atomic_store(&inf->resync, true);
                free(ev.v);
                if (r == -ENOMEM && err && !err->code)
                        ap_error_set(err, r, "out of memory while listing '%s'", inf->res->resource);
                ap_kube_store_release(&ctx.fresh);
                free(list_rv);
                return r;
        }

        /* diff against the cache: what the new list adds, changes and no longer has (and, to resync,
         * what it still has) */
        pthread_rwlock_wrlock(&inf->lock);
        size_t it = 0;
        const char *k;
        struct ap_kube_store_entry *e;
        while (ap_kube_store_next(&ctx.fresh, &it, &k, &e)) {
                struct ap_kube_store_entry *old = NULL;
                /* move each old entry out of the cache as it is matched: what remains was deleted */
                if (!ap_kube_store_remove(&inf->store, k, &old))
                        events_push(&ev, EV_ADD, NULL, e);
                else if (resync || strcmp(ap_kube_store_entry_rv(old), ap_kube_store_entry_rv(e)) != 0)
                        events_push(&ev, EV_UPDATE, old, e);
                else
                        ap_kube_store_entry_free(old);
        }
        it = 0;
        while (ap_kube_store_next(&inf->store, &it, &k, &e))
                events_push(&ev, EV_DELETE, e, NULL);
        /* the deleted entries now belong to their events: empty the old store without freeing them */
        ap_keymap_release(&inf->store.items, NULL);
        ap_kube_store_release(&inf->store);
        inf->store = ctx.fresh;
        if (list_rv && list_rv[0])
                set_rv_locked(inf, list_rv);
        pthread_rwlock_unlock(&inf->lock);

        pthread_mutex_lock(&inf->state_lock);
        inf->stats.lists++;
        snprintf(inf->stats.last_list_rv, sizeof(inf->stats.last_list_rv), "%s", list_rv ? list_rv : "");
        if (inf->rv_unavailable)
                inf->stats.relists++;
        if (resync)
                inf->stats.resyncs++;
        inf->missing = missing;
        pthread_mutex_unlock(&inf->state_lock);
        free(list_rv);
        inf->rv_unavailable = false;
        events_dispatch_release(inf, &ev);
        return 0;
}

/* ---- watch ---- */

static int apply_event(struct ap_kube_informer *inf, enum ap_kube_watch_type type, json_t *obj)
{
        const char *rv = ap_kube_obj_resource_version(obj);
        if (type == AP_KUBE_WATCH_BOOKMARK) {
                pthread_rwlock_wrlock(&inf->lock);
                set_rv_locked(inf, rv);
                pthread_rwlock_unlock(&inf->lock);
                return 0;
        }
        if (type == AP_KUBE_WATCH_ERROR) {
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                int r = ap_kube_status_from_json(obj, 500, &st);
                ap_kube_status_error(&st, &inf->stream_err, "watching '%s'", inf->res->resource);
                ap_kube_status_release(&st);
                return r;
        }
        prepare(inf, obj);
        _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
        if (ap_kube_obj_key(obj, &key) < 0)
                return 0;
        enum event_type et = EV_ADD;
        bool emit = false;
        struct ap_kube_store_entry *old = NULL;
        pthread_rwlock_wrlock(&inf->lock);
        if (type == AP_KUBE_WATCH_DELETED) {
                emit = ap_kube_store_remove(&inf->store, key.data, &old);
                et = EV_DELETE;
        } else {
                struct ap_kube_store_entry *cur = ap_kube_store_get(&inf->store, key.data);
                /* the same resourceVersion again (a watch resumed at an older point): not an event */
                if (!cur || strcmp(ap_kube_store_entry_rv(cur), rv) != 0) {
                        struct ap_kube_store_entry *e = ap_kube_store_entry_new(&inf->store, obj);
                        if (!e || ap_kube_store_put(&inf->store, key.data, e, &old) < 0) {
                                pthread_rwlock_unlock(&inf->lock);
                                return ap_error_set(&inf->stream_err, -ENOMEM, "out of memory caching '%s'",
                                                    key.data);
                        }
                        et = old ? EV_UPDATE : EV_ADD;
                        emit = true;
                }
        }
        set_rv_locked(inf, rv);
        pthread_rwlock_unlock(&inf->lock);
        inf->stream_events++;
        pthread_mutex_lock(&inf->state_lock);
        inf->stats.events++;
        pthread_mutex_unlock(&inf->state_lock);
        if (emit && wants(inf, et)) {
                json_t *old_obj = et == EV_UPDATE ? ap_kube_store_entry_parse(old) : NULL;
                if (et != EV_UPDATE || old_obj)
                        dispatch(inf, et, old_obj, obj);
                else
                        lost_event(inf);
                json_decref(old_obj);
        }
        ap_kube_store_entry_free(old);
        return 0;
}

static int on_line(void *userdata, const char *line, size_t len)
{
        struct ap_kube_informer *inf = userdata;
        enum ap_kube_watch_type type;
        json_t *obj = NULL;
        int r = ap_kube_watch_event_parse(line, len, &type, &obj, &inf->stream_err);
        if (r < 0)
                return r;
        r = apply_event(inf, type, obj);
        json_decref(obj);
        return r;
}

static int on_data(void *userdata, const char *data, size_t n)
{
        struct ap_kube_informer *inf = userdata;
        if (atomic_load(&inf->resync))
                return ap_error_set(&inf->stream_err, AP_E_CANCELLED, "watch of '%s' ended for a resync",
                                    inf->res->resource);
        return ap_kube_lines_feed(&inf->lines, data, n, on_line, inf, &inf->stream_err);
}

static int watch(struct ap_kube_informer *inf, struct ap_error *err)
{
        pthread_rwlock_rdlock(&inf->lock);
        char *rv = inf->rv ? strdup(inf->rv) : NULL;
        pthread_rwlock_unlock(&inf->lock);
        if (!rv)
                return ap_error_set(err, -ENOMEM, "out of memory");
        long timeout = inf->watch_timeout > 0 ? inf->watch_timeout : 300 + (long)(ap_mono_ms() % 300);
        struct ap_kube_opts o = {
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
            .resource_version = rv,
            .watch = true,
            .allow_watch_bookmarks = true,
            .timeout_seconds = timeout,
            .timeout_ms = (timeout + 60) * 1000, /* a dead peer that TCP keepalive missed */
        };
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int r = ap_kube_url_build(&url, ap_kube_client_server(inf->client), inf->res, inf->ns, NULL, &o, err);
        free(rv);
        if (r < 0)
                return r;
        ap_kube_lines_init(&inf->lines, 0);
        ap_error_clear(&inf->stream_err);
        struct ap_kube_http h = {
            .method = "GET",
            .url = url.data,
            .opts = &o,
            .on_data = on_data,
            .userdata = inf,
            .cancel = &inf->stop,
        };
        pthread_mutex_lock(&inf->state_lock);
        inf->stats.watches++;
        pthread_mutex_unlock(&inf->state_lock);
        long code = 0;
        r = ap_kube_client_do(inf->client, &h, &code, NULL, NULL, err);
        if (r < 0 && inf->stream_err.code < 0) {
                /* the stream itself reported the failure (ERROR event, bad line): that is the cause */
                *err = inf->stream_err;
                r = inf->stream_err.code;
        }
        ap_kube_lines_release(&inf->lines);
        return r;
}

/* ---- the thread ---- */

static void pause_ms(struct ap_kube_informer *inf, long ms)
{
        struct timespec ts = ap_mono_timespec_after_ms(ms);
        pthread_mutex_lock(&inf->state_lock);
        while (!atomic_load(&inf->stop) &&
               pthread_cond_timedwait(&inf->state_cond, &inf->state_lock, &ts) == 0)
                ;
        pthread_mutex_unlock(&inf->state_lock);
}

static bool transient(int r)
{
        /* the network, the apiserver's load, or a broken stream: watch again from where we were */
        return (ap_error_retryable(r) && r != AP_E_CONFLICT) || r == AP_E_CORRUPT || r == AP_E_TOO_LARGE ||
               r == -ENOMEM;
}

static void *run(void *arg)
{
        struct ap_kube_informer *inf = arg;
        long backoff = inf->backoff_initial;
        bool need_list = true;
        while (!atomic_load(&inf->stop)) {
                struct ap_error err = AP_ERROR_INIT;
                if (need_list) {
                        int r = relist(inf, &err);
                        if (atomic_load(&inf->stop))
                                break;
                        if (r < 0) {
                                set_error(inf, &err);
                                if (r == AP_KUBE_E_GONE && !inf->rv_unavailable) {
                                        inf->rv_unavailable = true;
                                        continue; /* straight to a consistent list */
                                }
                                pause_ms(inf, backoff);
                                backoff = AP_MIN(backoff * 2, inf->backoff_max);
                                continue;
                        }
                        need_list = false;
                        pthread_mutex_lock(&inf->state_lock);
                        inf->synced = true;
                        bool missing = inf->missing;
                        pthread_cond_broadcast(&inf->state_cond);
                        pthread_mutex_unlock(&inf->state_lock);
                        if (missing) {
                                /* look again later: a CRD may be installed meanwhile */
                                pause_ms(inf, inf->missing_retry);
                                need_list = true;
                                continue;
                        }
                        backoff = inf->backoff_initial;
                }
                int64_t t0 = ap_mono_ms();
                inf->stream_events = 0;
                int r = watch(inf, &err);
                if (atomic_load(&inf->stop))
                        break;
                if (atomic_load(&inf->resync)) {
                        need_list = true;
                        continue;
                }
                if (r == 0 || inf->stream_events > 0)
                        backoff = inf->backoff_initial; /* the stream worked for a while */
                if (r == 0) {
                        if (ap_mono_ms() - t0 < 1000 && inf->stream_events == 0)
                                pause_ms(inf, backoff); /* closed at once: don't spin */
                        continue;
                }
                set_error(inf, &err);
                if (r == AP_KUBE_E_GONE) {
                        /* our resourceVersion is compacted away: consistent relist, diff, resume */
                        inf->rv_unavailable = true;
                        need_list = true;
                        continue;
                }
                if (!transient(r))
                        need_list = true; /* e.g. 403 until RBAC is fixed, 404 when a CRD went away */
                pause_ms(inf, backoff);
                backoff = AP_MIN(backoff * 2, inf->backoff_max);
        }
        pthread_mutex_lock(&inf->state_lock);
        pthread_cond_broadcast(&inf->state_cond);
        pthread_mutex_unlock(&inf->state_lock);
        return NULL;
}

int ap_kube_informer_start(struct ap_kube_informer *inf, struct ap_error *err)
{
        if (inf->running)
                return 0;
        atomic_store(&inf->stop, false);
        int r = pthread_create(&inf->thread, NULL, run, inf);
        if (r != 0)
                return ap_error_set(err, -r, "cannot start the '%s' informer: %s", inf->res->resource,
                                    strerror(r));
        inf->running = true;
        return 0;
}

void ap_kube_informer_stop(struct ap_kube_informer *inf)
{
        if (!inf || !inf->running)
                return;
        pthread_mutex_lock(&inf->state_lock);
        atomic_store(&inf->stop, true);
        pthread_cond_broadcast(&inf->state_cond);
        pthread_mutex_unlock(&inf->state_lock);
        pthread_join(inf->thread, NULL);
        inf->running = false;
}

bool ap_kube_informer_has_synced(struct ap_kube_informer *inf)
{
        pthread_mutex_lock(&inf->state_lock);
        bool s = inf->synced;
        pthread_mutex_unlock(&inf->state_lock);
        return s;
}

int ap_kube_informer_wait_synced(struct ap_kube_informer *inf, long timeout_ms)
{
        struct timespec ts = ap_mono_timespec_after_ms(timeout_ms >= 0 ? timeout_ms : 0);
        int r = 0;
        pthread_mutex_lock(&inf->state_lock);
        while (!inf->synced) {
                if (atomic_load(&inf->stop) || !inf->running) {
                        r = -ECANCELED;
                        break;
                }
                int w = timeout_ms >= 0 ? pthread_cond_timedwait(&inf->state_cond, &inf->state_lock, &ts)
                                        : pthread_cond_wait(&inf->state_cond, &inf->state_lock);
                if (w == ETIMEDOUT && !inf->synced) {
                        r = -ETIMEDOUT;
                        break;
                }
        }
        pthread_mutex_unlock(&inf->state_lock);
        return r;
}

json_t *ap_kube_informer_get(struct ap_kube_informer *inf, const char *key)
{
        pthread_rwlock_rdlock(&inf->lock);
        struct ap_kube_store_entry *e = ap_kube_store_get(&inf->store, key);
        json_t *obj = e ? ap_kube_store_entry_parse(e) : NULL;
        pthread_rwlock_unlock(&inf->lock);
        return obj;
}

json_t *ap_kube_informer_list(struct ap_kube_informer *inf)
{
        json_t *arr = json_array();
        if (!arr)
                return NULL;
        pthread_rwlock_rdlock(&inf->lock);
        size_t it = 0;
        struct ap_kube_store_entry *e;
        while (ap_kube_store_next(&inf->store, &it, NULL, &e))
                json_array_append_new(arr, ap_kube_store_entry_parse(e));
        pthread_rwlock_unlock(&inf->lock);
        return arr;
}

json_t *ap_kube_informer_by_index(struct ap_kube_informer *inf, const char *index, const char *value)
{
        json_t *arr = json_array();
        if (!arr)
                return NULL;
        pthread_rwlock_rdlock(&inf->lock);
        const struct ap_keymap *set = NULL;
        if (ap_kube_store_index_keys(&inf->store, index, value, &set) == 0 && set) {
                size_t it = 0;
                const char *k;
                while (ap_keymap_next(set, &it, &k, NULL)) {
                        struct ap_kube_store_entry *e = ap_kube_store_get(&inf->store, k);
                        if (e)
                                json_array_append_new(arr, ap_kube_store_entry_parse(e));
                }
        }
        pthread_rwlock_unlock(&inf->lock);
        return arr;
}

size_t ap_kube_informer_len(struct ap_kube_informer *inf)
{
        pthread_rwlock_rdlock(&inf->lock);
        size_t n = ap_kube_store_len(&inf->store);
        pthread_rwlock_unlock(&inf->lock);
        return n;
}

char *ap_kube_informer_resource_version(struct ap_kube_informer *inf)
{
        pthread_rwlock_rdlock(&inf->lock);
        char *rv = inf->rv ? strdup(inf->rv) : NULL;
        pthread_rwlock_unlock(&inf->lock);
        return rv;
}

void ap_kube_informer_get_stats(struct ap_kube_informer *inf, struct ap_kube_informer_stats *ret)
{
        pthread_mutex_lock(&inf->state_lock);
        *ret = inf->stats;
        pthread_mutex_unlock(&inf->state_lock);
}

bool ap_kube_informer_last_error(struct ap_kube_informer *inf, char *buf, size_t size)
{
        pthread_mutex_lock(&inf->state_lock);
        bool has = inf->last_error[0] != '\0';
        if (size)
                snprintf(buf, size, "%s", inf->last_error);
        pthread_mutex_unlock(&inf->state_lock);
        return has;
}

bool ap_kube_informer_resource_missing(struct ap_kube_informer *inf)
{
        pthread_mutex_lock(&inf->state_lock);
        bool m = inf->missing;
        pthread_mutex_unlock(&inf->state_lock);
        return m;
}

void ap_kube_informer_resync(struct ap_kube_informer *inf)
{
        lost_event(inf);
}

static void blank_values(json_t *map)
{
        const char *k;
        json_t *v;
        json_object_foreach(map, k, v)
        {
                if (json_is_string(v))
                        json_string_set(v, ""); /* in place: the old value is freed (and wiped by the
                                                 * allocator when one that wipes is installed) */
                else
                        json_object_set_new(map, k, json_string(""));
        }
}

void ap_kube_transform_strip_secret_values(void *userdata, json_t *obj)
{
        blank_values(json_object_get(obj, "data"));
        blank_values(json_object_get(obj, "stringData"));
        json_object_del(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                        "kubectl.kubernetes.io/last-applied-configuration");
}
