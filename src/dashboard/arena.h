/* arena.h - the per-request arena (after h2o's memory pool): every string and small object a request
 * handler makes comes from here and is freed at once when the request ends. Not thread-safe: one request,
 * one thread at a time. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "base/macro.h"

struct ap_dash_arena;

/* NULL when out of memory. */
struct ap_dash_arena *ap_dash_arena_new(void);
/* Frees every allocation made from a (wiping none: never put secrets here). Accepts NULL. */
struct ap_dash_arena *ap_dash_arena_free(struct ap_dash_arena *a);
AP_DEFINE_CLEANUP(struct ap_dash_arena *, ap_dash_arena_free);

/* Zeroed memory, aligned for any type; NULL when out of memory. */
void *ap_dash_alloc(struct ap_dash_arena *a, size_t n);
char *ap_dash_strdup(struct ap_dash_arena *a, const char *s); /* NULL s -> NULL */
char *ap_dash_strndup(struct ap_dash_arena *a, const char *s, size_t n);
char *ap_dash_printf(struct ap_dash_arena *a, const char *fmt, ...) _printf_(2, 3);
char *ap_dash_vprintf(struct ap_dash_arena *a, const char *fmt, va_list ap) _printf_(2, 0);
/* Bytes handed out so far (for tests and limits). */
size_t ap_dash_arena_used(const struct ap_dash_arena *a);
