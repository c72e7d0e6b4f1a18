/* list_stream.h - incremental parsing of a List response ({"kind": ..., "metadata": {...}, "items": [...]})
 * as it streams in: each item is cut out of the byte stream and parsed on its own, so memory holds one
 * item at a time, never the page (the apiserver's watch cache answers resourceVersion=0 lists in a single
 * page whatever the limit). Bounded: an item or the metadata larger than the cap is an error. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

/* Receives each item (borrowed; incref to keep). A negative return stops the stream with that code. */
typedef int (*ap_kube_list_item_fn)(void *userdata, json_t *item);

struct ap_kube_list_stream {
        ap_kube_list_item_fn fn;
        void *userdata;
        struct ap_buf capture; /* bytes of the item (or metadata) being cut out */
        json_t *metadata;
        int depth;
        bool in_string, escape, started, done, in_items;
        int state;    /* where we are among the top-level object's members */
        int cap;      /* what is being captured */
        char key[16]; /* the current top-level member name (truncated) */
        size_t key_len;
        size_t items;
};

/* max_item: the largest item accepted (0 = 16 MiB). */
void ap_kube_list_stream_init(struct ap_kube_list_stream *s, ap_kube_list_item_fn fn, void *userdata,
                              size_t max_item);
void ap_kube_list_stream_release(struct ap_kube_list_stream *s);
int ap_kube_list_stream_feed(struct ap_kube_list_stream *s, const char *data, size_t n,
                             struct ap_error *err) _warn_unused_;
/* After the last chunk: fails unless a complete list object was seen. The list's resourceVersion and
 * continue token are handed out (malloc'd; NULL when absent); either pointer may be NULL. */
int ap_kube_list_stream_finish(struct ap_kube_list_stream *s, char **ret_rv, char **ret_continue,
                               struct ap_error *err) _warn_unused_;
