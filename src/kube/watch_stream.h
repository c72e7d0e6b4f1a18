/* watch_stream.h - the watch protocol's framing: a bounded, incremental splitter of the newline-delimited
 * JSON stream (chunks arrive cut anywhere) and the parser of one event line into its type and object. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define AP_KUBE_WATCH_LINE_MAX ((size_t)16 << 20) /* one event: an object is at most ~1.5 MiB in etcd */

enum ap_kube_watch_type {
        AP_KUBE_WATCH_ADDED,
        AP_KUBE_WATCH_MODIFIED,
        AP_KUBE_WATCH_DELETED,
        AP_KUBE_WATCH_BOOKMARK,
        AP_KUBE_WATCH_ERROR,
};

struct ap_kube_lines {
        struct ap_buf partial; /* bytes of the line not yet terminated; capped at max line length */
};

/* max: longest line accepted (0 = AP_KUBE_WATCH_LINE_MAX). */
void ap_kube_lines_init(struct ap_kube_lines *l, size_t max);
void ap_kube_lines_release(struct ap_kube_lines *l);

/* Called once per complete line (without the '\n', never empty). A negative return stops feeding and is
 * passed back from ap_kube_lines_feed. */
typedef int (*ap_kube_line_fn)(void *userdata, const char *line, size_t len);

/* Feed the next chunk. Complete lines are handed to fn; a trailing partial line is kept. A line longer than
 * the maximum fails with -E2BIG (the stream must then be dropped). Blank lines and a trailing '\r' are
 * skipped. */
int ap_kube_lines_feed(struct ap_kube_lines *l, const char *data, size_t n, ap_kube_line_fn fn,
                       void *userdata, struct ap_error *err) _warn_unused_;
/* Bytes buffered of an unfinished line. */
static inline size_t ap_kube_lines_pending(const struct ap_kube_lines *l)
{
        return l->partial.len;
}

/* Parse one event line {"type": ..., "object": {...}}. *ret_obj is a new reference the caller decrefs.
 * For ADDED/MODIFIED/DELETED/BOOKMARK the object must carry metadata.resourceVersion. */
int ap_kube_watch_event_parse(const char *line, size_t len, enum ap_kube_watch_type *ret_type,
                              json_t **ret_obj, struct ap_error *err) _warn_unused_;
const char *ap_kube_watch_type_name(enum ap_kube_watch_type t);
