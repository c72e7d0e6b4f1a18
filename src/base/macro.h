/* macro.h - small language helpers shared by every layer: cleanup attributes, ownership transfer,
 * array sizes and branch hints. Header only; nothing here allocates. */
#pragma once

#include <stddef.h>
#include <stdlib.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _nonnull_(...) __attribute__((nonnull(__VA_ARGS__)))
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define AP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AP_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define AP_MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Hand ownership of *p to the caller and leave NULL behind, so a cleanup attribute frees nothing. */
#define TAKE_PTR(p)                                                                                          \
        ({                                                                                                   \
                __typeof__(p) _tp_ = (p);                                                                    \
                (p) = NULL;                                                                                  \
                _tp_;                                                                                        \
        })

static inline void ap_freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(ap_freep)

/* Define fooo_freep(T **p) calling func(*p) if non-NULL, for use with _cleanup_. */
#define AP_DEFINE_CLEANUP(type, func)                                                                        \
        static inline void func##p(type *p)                                                                  \
        {                                                                                                    \
                if (*p)                                                                                      \
                        func(*p);                                                                            \
        }
