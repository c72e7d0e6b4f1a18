/* str.h - small string helpers for length-carrying slices. */
#pragma once

#include <stdlib.h>
#include <string.h>

/* Copy exactly n bytes of p into a new NUL-terminated string (caller frees). Unlike strndup it never
 * looks past p[n-1], so p need not be NUL-terminated anywhere. NULL when out of memory. */
static inline char *ap_strndup(const char *p, size_t n)
{
        char *s = malloc(n + 1);
        if (!s)
                return NULL;
        if (n)
                memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

/* strdup(s), or strdup(fallback) when s is NULL or empty (NULL only when out of memory or both are
 * NULL). */
static inline char *ap_strdup_or(const char *s, const char *fallback)
{
        const char *v = s && *s ? s : fallback;
        return v ? strdup(v) : NULL;
}
