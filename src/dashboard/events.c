/* events.c - the SSE hub (see events.h). Lock order: hub lock, then whatever the notify callback takes;
 * readers never hold a transport lock while they take the hub lock. */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"

struct event {
        uint64_t id;
        char *app; /* NULL = platform admins only */
        char *name;
        char *data;
};

struct ap_dash_sub {
        struct ap_dash_hub *hub;
        atomic_int refs;
        char *user;
        bool admin;
        char **apps;
        size_t n_apps;
        /* guarded by hub->lock: */
        uint64_t cursor; /* last event id considered */
        bool heartbeat, closed, resync, hello;
        void (*notify)(void *ud);
        void *notify_ud;
        struct ap_dash_sub *prev, *next;
        struct ap_buf pending; /* formatted bytes not yet read (touched only by the reader) */
};

struct ap_dash_hub {
        pthread_mutex_t lock; /* guards everything below, and each sub's guarded fields */
        pthread_cond_t cond;  /* the heartbeat thread's sleep */
        struct event *ring;
        size_t cap, len, head; /* ring[(head + i) % cap] for i < len, oldest first */
        uint64_t last_id;
        struct ap_dash_sub *subs;
        size_t n_subs;
        unsigned max_per_user;
        long heartbeat_ms;
        bool stopping, closing;
        pthread_t thread;
};

static void notify_locked(struct ap_dash_sub *s)
{
        if (s->notify)
                s->notify(s->notify_ud);
}

static void *heartbeat_main(void *ud)
{
        struct ap_dash_hub *h = ud;
        pthread_mutex_lock(&h->lock);
        while (!h->stopping) {
                struct timespec ts = ap_mono_timespec_after_ms(h->heartbeat_ms);
                pthread_cond_timedwait(&h->cond, &h->lock, &ts);
                if (h->stopping)
                        break;
                for (struct ap_dash_sub *s = h->subs; s; s = s->next) {
                        s->heartbeat = true;
                        notify_locked(s);
                }
        }
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

int ap_dash_hub_new(size_t ring, unsigned max_per_user, long heartbeat_ms, struct ap_dash_hub **ret,
                    struct ap_error *err)
{
        struct ap_dash_hub *h = calloc(1, sizeof(*h));
        if (!h)
                return ap_error_set(err, -ENOMEM, "out of memory");
        h->cap = ring ? ring : 1024;
        h->ring = calloc(h->cap, sizeof(*h->ring));
        h->max_per_user = max_per_user ? max_per_user : 4;
        h->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
        pthread_mutex_init(&h->lock, NULL);
        ap_cond_init_monotonic(&h->cond);
        if (!h->ring || pthread_create(&h->thread, NULL, heartbeat_main, h) != 0) {
                free(h->ring);
                free(h);
                return ap_error_set(err, -ENOMEM, "cannot start the event hub");
        }
        *ret = h;
        return 0;
}

void ap_dash_hub_close_all(struct ap_dash_hub *h)
{
        pthread_mutex_lock(&h->lock);
        h->closing = true;
        for (struct ap_dash_sub *s = h->subs; s; s = s->next)
                notify_locked(s);
        pthread_mutex_unlock(&h->lock);
}

static void event_clear(struct event *e)
{
        free(e->app);
        free(e->name);
        free(e->data);
        *e = (struct event){0};
}

struct ap_dash_hub *ap_dash_hub_free(struct ap_dash_hub *h)
{
        if (!h)
                return NULL;
        ap_dash_hub_close_all(h);
        pthread_mutex_lock(&h->lock);
        h->stopping = true;
        pthread_cond_broadcast(&h->cond);
        /* detach what the transport still holds: their reads now end */
        for (struct ap_dash_sub *s = h->subs, *n; s; s = n) {
                n = s->next;
                s->hub = NULL;
                s->closed = true;
                s->prev = s->next = NULL;
        }
        h->subs = NULL;
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->thread, NULL);
        for (size_t i = 0; i < h->cap; i++)
                event_clear(&h->ring[i]);
        free(h->ring);
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        free(h);
        return NULL;
}

uint64_t ap_dash_hub_last_id(struct ap_dash_hub *h)
{
        pthread_mutex_lock(&h->lock);
        uint64_t id = h->last_id;
        pthread_mutex_unlock(&h->lock);
        return id;
}

static bool visible(const struct ap_dash_sub *s, const char *app)
{
        if (s->admin)
                return true;
        if (!app)
                return false;
        for (size_t i = 0; i < s->n_apps; i++)
                if (strcmp(s->apps[i], app) == 0)
                        return true;
        return false;
}

void ap_dash_hub_publish(struct ap_dash_hub *h, const char *app, const char *name, const char *data)
{
        struct event e = {.app = app ? strdup(app) : NULL, .name = strdup(name), .data = strdup(data)};
        if ((app && !e.app) || !e.name || !e.data) {
                event_clear(&e);
                return;
        }
        pthread_mutex_lock(&h->lock);
        e.id = ++h->last_id;
        struct event *slot;
        if (h->len == h->cap) {
                slot = &h->ring[h->head];
                event_clear(slot);
                h->head = (h->head + 1) % h->cap;
        } else
                slot = &h->ring[(h->head + h->len++) % h->cap];
        *slot = e;
        for (struct ap_dash_sub *s = h->subs; s; s = s->next)
                if (visible(s, app))
                        notify_locked(s);
        pthread_mutex_unlock(&h->lock);
}

int ap_dash_hub_subscribe(struct ap_dash_hub *h, const char *user, bool platform_admin,
                          const char *const *apps, size_t n_apps, uint64_t last_event_id,
                          struct ap_dash_sub **ret, struct ap_error *err)
{
        struct ap_dash_sub *s = calloc(1, sizeof(*s));
        if (!s)
                return ap_error_set(err, -ENOMEM, "out of memory");
        atomic_init(&s->refs, 1);
        s->user = strdup(user);
        s->admin = platform_admin;
        s->apps = calloc(n_apps + 1, sizeof(char *));
        bool ok = s->user && s->apps;
        for (size_t i = 0; ok && i < n_apps; i++)
                ok = (s->apps[s->n_apps++] = strdup(apps[i])) != NULL;
        ap_buf_init(&s->pending, 1 << 20);
        if (!ok) {
                s->hub = NULL;
                ap_dash_sub_unref(s);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        s->hello = true;
        pthread_mutex_lock(&h->lock);
        unsigned mine = 0;
        for (struct ap_dash_sub *o = h->subs; o; o = o->next)
                mine += strcmp(o->user, user) == 0;
        int r = 0;
        if (h->closing)
                r = ap_error_set(err, AP_E_UNAVAILABLE, "the dashboard is shutting down; reconnect");
        else if (mine >= h->max_per_user)
                r = ap_error_set(err, -EUSERS,
                                 "you already have %u live event streams open (the limit); close a tab",
                                 mine);
        if (r == 0) {
                uint64_t oldest = h->len ? h->ring[h->head].id : h->last_id + 1;
                if (last_event_id == 0 || last_event_id > h->last_id)
                        s->cursor = h->last_id;
                else if (last_event_id + 1 < oldest) {
                        s->cursor = h->last_id; /* missed events the ring no longer holds */
                        s->resync = true;
                } else
                        s->cursor = last_event_id;
                s->hub = h;
                s->next = h->subs;
                if (h->subs)
                        h->subs->prev = s;
                h->subs = s;
                h->n_subs++;
        }
        pthread_mutex_unlock(&h->lock);
        if (r < 0) {
                ap_dash_sub_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

void ap_dash_sub_set_notify(struct ap_dash_sub *s, void (*fn)(void *ud), void *ud)
{
        struct ap_dash_hub *h = s->hub;
        if (h)
                pthread_mutex_lock(&h->lock);
        s->notify = fn;
        s->notify_ud = ud;
        if (h)
                pthread_mutex_unlock(&h->lock);
}

/* Format what is due into s->pending. Caller holds the hub lock. */
static int fill_locked(struct ap_dash_hub *h, struct ap_dash_sub *s)
{
        int r = 0;
        if (s->hello) {
                s->hello = false;
                r = ap_buf_addstr(&s->pending, "retry: 3000\n: connected\n\n");
        }
        if (s->resync) {
                s->resync = false;
                r = ap_buf_printf(&s->pending, "id: %llu\nevent: resync\ndata: {}\n\n",
                                  (unsigned long long)h->last_id);
        }
        for (size_t i = 0; r == 0 && i < h->len; i++) {
                struct event *e = &h->ring[(h->head + i) % h->cap];
                if (e->id <= s->cursor)
                        continue;
                if (s->pending.len > 256 * 1024)
                        break; /* the rest on the next read */
                s->cursor = e->id;
                if (visible(s, e->app))
                        r = ap_buf_printf(&s->pending, "id: %llu\nevent: %s\ndata: %s\n\n",
                                          (unsigned long long)e->id, e->name, e->data);
        }
        if (r == 0 && s->heartbeat && !s->pending.len)
                r = ap_buf_addstr(&s->pending, ": ping\n\n");
        s->heartbeat = false;
        return r;
}

bool ap_dash_sub_ready(struct ap_dash_sub *s)
{
        struct ap_dash_hub *h = s->hub;
        if (s->pending.len)
                return true;
        if (!h)
                return true;
        pthread_mutex_lock(&h->lock);
        bool ready =
            h->closing || s->closed || s->hello || s->resync || s->heartbeat || h->last_id > s->cursor;
        pthread_mutex_unlock(&h->lock);
        return ready;
}

ssize_t ap_dash_sub_read(struct ap_dash_sub *s, char *buf, size_t max)
{
        struct ap_dash_hub *h = s->hub;
        if (!s->pending.len && h) {
                pthread_mutex_lock(&h->lock);
                bool end = h->closing || s->closed;
                if (!end && fill_locked(h, s) < 0)
                        end = true;
                pthread_mutex_unlock(&h->lock);
                if (end && !s->pending.len)
                        return -1;
        }
        if (!s->pending.len)
                return h ? 0 : -1;
        size_t n = AP_MIN(max, s->pending.len);
        memcpy(buf, s->pending.data, n);
        memmove(s->pending.data, s->pending.data + n, s->pending.len - n);
        ap_buf_truncate(&s->pending, s->pending.len - n);
        return (ssize_t)n;
}

struct ap_dash_sub *ap_dash_sub_ref(struct ap_dash_sub *s)
{
        atomic_fetch_add(&s->refs, 1);
        return s;
}

void ap_dash_sub_unref(struct ap_dash_sub *s)
{
        if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
                return;
        struct ap_dash_hub *h = s->hub;
        if (h) {
                pthread_mutex_lock(&h->lock);
                if (s->prev)
                        s->prev->next = s->next;
                else if (h->subs == s)
                        h->subs = s->next;
                if (s->next)
                        s->next->prev = s->prev;
                h->n_subs--;
                pthread_mutex_unlock(&h->lock);
        }
        for (size_t i = 0; i < s->n_apps; i++)
                free(s->apps[i]);
        free(s->apps);
        free(s->user);
        ap_buf_release(&s->pending);
        free(s);
}

size_t ap_dash_hub_streams(struct ap_dash_hub *h)
{
        pthread_mutex_lock(&h->lock);
        size_t n = h->n_subs;
        pthread_mutex_unlock(&h->lock);
        return n;
}
