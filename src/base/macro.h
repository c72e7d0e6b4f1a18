/* macro.h - small language helpers shared by every layer: cleanup attributes, ownership transfer and
 * array sizes. Header only; nothing here allocates. */
#pragma once

#include <stddef.h>
#include <stdlib.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
/* On every function that returns an error: ignoring it is a compile error under -Werror. */
#define _warn_unused_ __attribute__((warn_unused_result))

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

/* The cleanup functions reset the pointer after freeing: a cleanup that runs twice (or a pointer used after
 * an early explicit cleanup) finds NULL, never a dangling pointer. */
static inline void ap_freep(void *p)
{
        free(*(void **)p);
        *(void **)p = NULL;
}
#define _cleanup_free_ _cleanup_(ap_freep)

/* Define func##p(T *p) calling func(*p) if non-NULL and then setting *p to NULL, for use with _cleanup_. */
#define AP_DEFINE_CLEANUP(type, func)                                                                        \
        static inline void func##p(type *p)                                                                  \
        {                                                                                                    \
                if (*p)                                                                                      \
                        func(*p);                                                                            \
                *p = NULL;                                                                                   \
        }
