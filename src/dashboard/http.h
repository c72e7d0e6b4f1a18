/* http.h - what a handler sees of an HTTP exchange, with no libmicrohttpd type in sight: the request
 * (method, decoded path, headers and query through lookups, the body, the per-request arena, the route's
 * path parameters, the logged-in user) and the response it fills in (status, body or a shared cached
 * body, extra headers, or an event stream). Also the small parsers of request text: cookies, query and
 * form strings, percent-decoding. All parsers take (ptr, len) slices and never read past them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "base/buf.h"

#define AP_DASH_MAX_PARAMS       4
#define AP_DASH_MAX_RESP_HEADERS 12

struct ap_dash_user;
struct ap_dash_blob;
struct ap_dash_sub;
struct ap_dash_app;
struct ap_dash_apps;

struct ap_dash_req {
        struct ap_dash_arena *arena;
        const char *method; /* "GET", ... */
        const char *path;   /* percent-decoded, without the query */
        /* header and query-argument lookups (case-insensitive names for headers); NULL when absent */
        const char *(*header)(void *ctx, const char *name);
        const char *(*query)(void *ctx, const char *name);
        void *ctx;
        const char *body; /* NUL-terminated; body_len excludes the NUL */
        size_t body_len;
        bool tls; /* served over TLS by us */
        /* filled by the router */
        const char *params[AP_DASH_MAX_PARAMS]; /* the route's {name} segments in order */
        size_t n_params;
        int route_arg;                   /* the route's own argument (e.g. which Flux kind) */
        const struct ap_dash_user *user; /* NULL on public routes */
        /* routes under /api/v1/apps/{app}: the app (the user holds a role in it, or is a platform admin),
         * borrowed from the snapshot apps, which the router holds until the handler returns */
        const struct ap_dash_app *app;
        struct ap_dash_apps *apps;
};

struct ap_dash_header {
        const char *name, *value; /* arena or static strings */
};

struct ap_dash_resp {
        int status;               /* 0 = 200 */
        const char *content_type; /* NULL = application/json */
        struct ap_buf body;
        struct ap_dash_blob *blob; /* instead of body: a shared immutable body (reference taken) */
        bool blob_gzip;            /* the blob is gzip-encoded */
        struct ap_dash_header headers[AP_DASH_MAX_RESP_HEADERS];
        size_t n_headers;
        struct ap_dash_sub *stream; /* an SSE subscription: the server streams it (reference taken) */
        bool is_api;                /* Cache-Control: no-store */
};

/* Add a response header (strings must outlive the request: arena or static). False when full. */
bool ap_dash_resp_header(struct ap_dash_resp *r, const char *name, const char *value);

static inline const char *ap_dash_req_header(const struct ap_dash_req *r, const char *name)
{
        return r->header ? r->header(r->ctx, name) : NULL;
}
static inline const char *ap_dash_req_query(const struct ap_dash_req *r, const char *name)
{
        return r->query ? r->query(r->ctx, name) : NULL;
}

/* An immutable reference-counted byte string shared between the view cache and responses in flight. */
struct ap_dash_blob {
        int refs; /* atomic */
        size_t len;
        char data[];
};
struct ap_dash_blob *ap_dash_blob_new(const void *data, size_t len); /* refs = 1; NULL on ENOMEM */
struct ap_dash_blob *ap_dash_blob_ref(struct ap_dash_blob *b);
void ap_dash_blob_unref(struct ap_dash_blob *b); /* accepts NULL */

/* ---- parsers ---- */

/* The value of cookie `name` in a Cookie header ("a=1; b=2"), as a slice into header; false when absent.
 * Quoted values ("v") are unquoted. Names compare exactly. */
bool ap_dash_cookie_find(const char *header, size_t len, const char *name, const char **ret_value,
                         size_t *ret_len);
/* Percent-decode s (and '+' as space when form is true) into a new arena string; NULL when malformed
 * (a bad %XX, or a decoded NUL byte). */
char *ap_dash_percent_decode(struct ap_dash_arena *a, const char *s, size_t n, bool form);
/* Walk an application/x-www-form-urlencoded (or query) string: each call yields the next key and value
 * (decoded, arena strings). Returns 1 for a pair, 0 at the end, -EINVAL on malformed escapes. */
int ap_dash_form_next(struct ap_dash_arena *a, const char **p, const char *end, char **ret_key,
                      char **ret_value);
/* The decoded value of key in a form/query string, or NULL (also when malformed). */
char *ap_dash_form_get(struct ap_dash_arena *a, const char *s, size_t n, const char *key);
/* Append s percent-encoded for a query value (everything but unreserved characters). */
int ap_dash_url_escape(struct ap_buf *out, const char *s);
/* Compare in constant time (for tokens); false when lengths differ. */
bool ap_dash_const_eq(const void *a, size_t alen, const void *b, size_t blen);
/* A string fit for an identity or a name shown back: 1..max bytes, valid UTF-8 is not checked, but no
 * control character (< 0x20, 0x7f). */
bool ap_dash_printable(const char *s, size_t max);
