/* arena.c - per-request bump allocator: 4 KiB-or-larger chunks in a list, freed together. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 4096

struct chunk {
        struct chunk *next;
        size_t cap, used;
        _Alignas(max_align_t) unsigned char data[];
};

struct ap_dash_arena {
        struct chunk *head;
        size_t total;
};

struct ap_dash_arena *ap_dash_arena_new(void)
{
        return calloc(1, sizeof(struct ap_dash_arena));
}

struct ap_dash_arena *ap_dash_arena_free(struct ap_dash_arena *a)
{
        if (!a)
                return NULL;
        for (struct chunk *c = a->head, *n; c; c = n) {
                n = c->next;
                free(c);
        }
        free(a);
        return NULL;
}

void *ap_dash_alloc(struct ap_dash_arena *a, size_t n)
{
        const size_t align = _Alignof(max_align_t);
        n = (n + align - 1) & ~(align - 1);
        if (n == 0)
                n = align;
        struct chunk *c = a->head;
        if (!c || c->cap - c->used < n) {
                size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
                if (cap > SIZE_MAX - sizeof(*c))
                        return NULL;
                c = malloc(sizeof(*c) + cap);
                if (!c)
                        return NULL;
                c->cap = cap;
                c->used = 0;
                c->next = a->head;
                a->head = c;
        }
        void *p = c->data + c->used;
        c->used += n;
        a->total += n;
        memset(p, 0, n);
        return p;
}

char *ap_dash_strndup(struct ap_dash_arena *a, const char *s, size_t n)
{
        if (!s)
                return NULL;
        char *p = ap_dash_alloc(a, n + 1);
        if (p && n)
                memcpy(p, s, n);
        return p;
}

char *ap_dash_strdup(struct ap_dash_arena *a, const char *s)
{
        return s ? ap_dash_strndup(a, s, strlen(s)) : NULL;
}

char *ap_dash_vprintf(struct ap_dash_arena *a, const char *fmt, va_list ap)
{
        va_list cp;
        va_copy(cp, ap);
        int n = vsnprintf(NULL, 0, fmt, cp);
        va_end(cp);
        if (n < 0)
                return NULL;
        char *p = ap_dash_alloc(a, (size_t)n + 1);
        if (p)
                vsnprintf(p, (size_t)n + 1, fmt, ap);
        return p;
}

char *ap_dash_printf(struct ap_dash_arena *a, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *p = ap_dash_vprintf(a, fmt, ap);
        va_end(ap);
        return p;
}

size_t ap_dash_arena_used(const struct ap_dash_arena *a)
{
        return a->total;
}
