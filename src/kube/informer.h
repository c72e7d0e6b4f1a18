/* informer.h - a watched cache of one resource type: list (paged) then watch with bookmarks, resume from
 * the last resourceVersion when a stream drops, and on 410 Gone a fresh consistent list diffed against
 * the cache so the deletes and updates it missed are delivered as events. Label and field selectors are
 * applied by the apiserver, so only matching objects are ever held. Indexes (by namespace, by a label
 * value, or custom) and event handlers; one thread per informer; has_synced after the first list.
 * The cache keeps each object as compact JSON (see store.h) and parses it back on every read, so what a
 * read returns is the caller's own copy. */
#pragma once

#include "base/macro.h"

#include <jansson.h>
#include <stdbool.h>

#include "client.h"
#include "store.h"
#include "url.h"

struct ap_kube_informer;

/* Handlers run on the informer's thread, one event at a time, in the order the cache changed. They must
 * be quick (typically: add a key to a workqueue). Objects are borrowed for the call; incref to keep. */
struct ap_kube_informer_handlers {
        void (*on_add)(void *userdata, json_t *obj);
        void (*on_update)(void *userdata, json_t *old_obj, json_t *new_obj);
        void (*on_delete)(void *userdata, json_t *obj); /* the last state seen */
        void *userdata;
};

struct ap_kube_informer_options {
        const struct ap_kube_resource *resource;
        const char *namespace;      /* NULL = all namespaces */
        const char *label_selector; /* e.g. "labrats.work/managed-secret=true" */
        const char *field_selector;
        long page_size;             /* list page size; 0 = 500 */
        long watch_timeout_seconds; /* 0 = a random 300..600 s, so informers don't reconnect in step */
        bool keep_managed_fields;   /* default: drop metadata.managedFields to save memory */
        long backoff_initial_ms;    /* after a failure; 0 = 800 ms, doubling */
        long backoff_max_ms;        /* 0 = 30 s */
        /* The resource type may not exist yet (a CRD not installed, e.g. Flux's): a 404 on list counts as
         * synced and empty, ap_kube_informer_resource_missing() says so, and the list is tried again
         * every missing_retry_ms (0 = 10 s); once the type appears its objects arrive as adds and the
         * watch starts. If it goes away later, its objects are delivered as deletes. */
        bool optional;
        long missing_retry_ms;
        /* Called on every object (list items, watch events, relist items) before it enters the cache and
         * before any handler sees it, on the informer's thread; it edits obj in place (e.g.
         * ap_kube_transform_strip_secret_values). May be NULL. */
        void (*transform)(void *userdata, json_t *obj);
        void *transform_userdata;
};

/* A transform for informers that must never hold Secret values (the dashboard): every value under
 * `data` and `stringData` becomes "" (the key names stay), and the
 * kubectl.kubernetes.io/last-applied-configuration annotation, which repeats them, is removed. */
void ap_kube_transform_strip_secret_values(void *userdata, json_t *obj);

struct ap_kube_informer_stats {
        unsigned long lists;   /* completed lists */
        unsigned long relists; /* lists forced by 410 Gone */
        unsigned long watches; /* watch requests started */
        unsigned long events;  /* watch events applied (bookmarks excluded) */
        unsigned long errors;  /* failed list/watch requests */
        unsigned long resyncs; /* lists that re-delivered every object (an event could not be handed on) */
        char last_list_rv[64]; /* resourceVersion of the last completed list */
};

/* client must outlive the informer. Strings in opts are copied. */
int ap_kube_informer_new(struct ap_kube_client *client, const struct ap_kube_informer_options *opts,
                         struct ap_kube_informer **ret, struct ap_error *err) _warn_unused_;
/* Stops (if running) and frees the cache. Accepts NULL. */
struct ap_kube_informer *ap_kube_informer_free(struct ap_kube_informer *inf);
AP_DEFINE_CLEANUP(struct ap_kube_informer *, ap_kube_informer_free);

size_t ap_kube_index_namespace(void *userdata, const json_t *obj, const char **values, size_t max);
/* userdata: the label key (a string that outlives the informer). */
size_t ap_kube_index_label(void *userdata, const json_t *obj, const char **values, size_t max);

/* Before start only. */
int ap_kube_informer_add_index(struct ap_kube_informer *inf, const char *name, ap_kube_index_fn fn,
                               void *userdata) _warn_unused_;
int ap_kube_informer_add_handlers(struct ap_kube_informer *inf,
                                  const struct ap_kube_informer_handlers *h) _warn_unused_;

int ap_kube_informer_start(struct ap_kube_informer *inf, struct ap_error *err) _warn_unused_;
/* Stop the thread (aborting a request in flight) and join it. Idempotent; the cache stays readable. */
void ap_kube_informer_stop(struct ap_kube_informer *inf);
/* True after the first list (for an optional informer, also when the resource type is missing). */
bool ap_kube_informer_has_synced(struct ap_kube_informer *inf);
/* An optional informer whose resource type did not exist at the last list (404): the caller can report
 * it ("Flux is not installed"). False otherwise. */
bool ap_kube_informer_resource_missing(struct ap_kube_informer *inf);
/* Relist and deliver every object again (as updates, old == new), dropping the running watch: for a
 * handler that could not queue an event (out of memory). The informer does the same itself when it
 * cannot hand an event over. Thread-safe. */
void ap_kube_informer_resync(struct ap_kube_informer *inf);
/* Wait until synced: 0, or -ETIMEDOUT after timeout_ms (<0 = forever), -ECANCELED if stopped. */
int ap_kube_informer_wait_synced(struct ap_kube_informer *inf, long timeout_ms) _warn_unused_;

/* Cache reads: newly parsed objects the caller owns (NULL / an empty array when nothing matches). */
json_t *ap_kube_informer_get(struct ap_kube_informer *inf, const char *key);
json_t *ap_kube_informer_list(struct ap_kube_informer *inf);
json_t *ap_kube_informer_by_index(struct ap_kube_informer *inf, const char *index, const char *value);
size_t ap_kube_informer_len(struct ap_kube_informer *inf);
/* The resourceVersion the cache is at (malloc'd), or NULL before the first list. */
char *ap_kube_informer_resource_version(struct ap_kube_informer *inf);
void ap_kube_informer_get_stats(struct ap_kube_informer *inf, struct ap_kube_informer_stats *ret);
/* The last list/watch failure (for the caller to log), copied into buf; false if none yet. */
bool ap_kube_informer_last_error(struct ap_kube_informer *inf, char *buf, size_t size);
