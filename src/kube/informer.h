/* informer.h - a watched cache of one resource type: list (paged) then watch with bookmarks, resume from
 * the last resourceVersion when a stream drops, and on 410 Gone a fresh consistent list diffed against
 * the cache so the deletes and updates it missed are delivered as events. Label and field selectors are
 * applied by the apiserver, so only matching objects are ever held. Indexes (by namespace, by a label
 * value, or custom) and event handlers; one thread per informer; has_synced after the first list.
 * The cache keeps each object as compact JSON (see store.h) and parses it back on every read, so what a
 * read returns is the caller's own copy. */
#pragma once

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
        /* Called on every object before it enters the cache and before handlers see it (may be NULL). */
        void (*transform)(void *userdata, json_t *obj);
        void *transform_userdata;
};

/* A transform for Secret informers: every value of data/stringData blanked (keys kept) and the kubectl
 * last-applied-configuration annotation removed, so no secret value is ever held in the cache. */
void ap_kube_transform_strip_secret_values(void *userdata, json_t *obj);

struct ap_kube_informer_stats {
        unsigned long lists;   /* completed lists */
        unsigned long relists; /* lists forced by 410 Gone */
        unsigned long watches; /* watch requests started */
        unsigned long events;  /* watch events applied (bookmarks excluded) */
        unsigned long errors;  /* failed list/watch requests */
        char last_list_rv[64]; /* resourceVersion of the last completed list */
};

/* client must outlive the informer. Strings in opts are copied. */
int ap_kube_informer_new(struct ap_kube_client *client, const struct ap_kube_informer_options *opts,
                         struct ap_kube_informer **ret, struct ap_error *err);
/* Stops (if running) and frees the cache. Accepts NULL. */
struct ap_kube_informer *ap_kube_informer_free(struct ap_kube_informer *inf);
AP_DEFINE_CLEANUP(struct ap_kube_informer *, ap_kube_informer_free);

size_t ap_kube_index_namespace(void *userdata, const json_t *obj, const char **values, size_t max);
/* userdata: the label key (a string that outlives the informer). */
size_t ap_kube_index_label(void *userdata, const json_t *obj, const char **values, size_t max);

/* Before start only. */
int ap_kube_informer_add_index(struct ap_kube_informer *inf, const char *name, ap_kube_index_fn fn,
                               void *userdata);
int ap_kube_informer_add_handlers(struct ap_kube_informer *inf, const struct ap_kube_informer_handlers *h);

int ap_kube_informer_start(struct ap_kube_informer *inf, struct ap_error *err);
/* Stop the thread (aborting a request in flight) and join it. Idempotent; the cache stays readable. */
void ap_kube_informer_stop(struct ap_kube_informer *inf);
bool ap_kube_informer_has_synced(struct ap_kube_informer *inf);
/* Wait until synced: 0, or -ETIMEDOUT after timeout_ms (<0 = forever), -ECANCELED if stopped. */
int ap_kube_informer_wait_synced(struct ap_kube_informer *inf, long timeout_ms);

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
