/* buf.h - the one growable byte buffer (after git's strbuf and curl's dynbuf): never NULL, always
 * NUL-terminated, with a hard size cap so no input can grow memory without bound. A buffer marked secret
 * is wiped with OPENSSL_cleanse whenever its memory is released or moved. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

/* The growing functions' results must be checked (-E2BIG past the cap, -ENOMEM). The attribute is on
 * where AP_BUF_CHECKED is defined (base and kube are built with it); other layers still ignore some
 * results and get it once they check them all. */
#ifdef AP_BUF_CHECKED
#define _buf_checked_ _warn_unused_
#else
#define _buf_checked_
#endif

#define AP_BUF_DEFAULT_MAX ((size_t)64 << 20) /* 64 MiB unless the owner says otherwise */

struct ap_buf {
        char *data;  /* never NULL; points at a shared empty string while nothing is allocated */
        size_t len;  /* bytes in use, excluding the terminating NUL */
        size_t cap;  /* bytes allocated (0 while data is the shared empty string) */
        size_t max;  /* hard cap on len; growing past it fails with -E2BIG */
        bool secret; /* wipe on release, on growth and on reset */
};

extern char ap_buf_empty[];
#define AP_BUF_INIT                                                                                          \
        {                                                                                                    \
                ap_buf_empty, 0, 0, AP_BUF_DEFAULT_MAX, false                                                \
        }
#define AP_BUF_INIT_SECRET                                                                                   \
        {                                                                                                    \
                ap_buf_empty, 0, 0, AP_BUF_DEFAULT_MAX, true                                                 \
        }

void ap_buf_init(struct ap_buf *b, size_t max);
void ap_buf_init_secret(struct ap_buf *b, size_t max);
/* Free the contents (wiping a secret buffer); leaves b ready for reuse with the same max/secret. */
void ap_buf_release(struct ap_buf *b);
/* Keep the allocation, drop the contents (wiped when secret). */
void ap_buf_reset(struct ap_buf *b);
/* Make room for n more bytes; -E2BIG past max, -ENOMEM when allocation fails. */
int ap_buf_grow(struct ap_buf *b, size_t n) _buf_checked_;
int ap_buf_add(struct ap_buf *b, const void *p, size_t n) _buf_checked_;
int ap_buf_addstr(struct ap_buf *b, const char *s) _buf_checked_;
int ap_buf_addch(struct ap_buf *b, char c) _buf_checked_;
int ap_buf_printf(struct ap_buf *b, const char *fmt, ...) _printf_(2, 3) _buf_checked_;
/* Shorten to len bytes (len <= b->len). */
void ap_buf_truncate(struct ap_buf *b, size_t len);
/* Hand the data out as a malloc'd NUL-terminated string (caller frees); b is left empty. */
char *ap_buf_detach(struct ap_buf *b, size_t *ret_len);
bool ap_buf_equal(const struct ap_buf *b, const void *p, size_t n);

static inline void ap_buf_releasep(struct ap_buf *b)
{
        ap_buf_release(b);
}
#define _cleanup_buf_ _cleanup_(ap_buf_releasep)

/* Wipe memory that held secrets, in a way the compiler cannot optimise out. */
void ap_secure_wipe(void *p, size_t n);
/* Wipe then free a malloc'd region of n bytes; accepts NULL. */
void ap_secure_free(void *p, size_t n);
/* Wipe then free a NUL-terminated malloc'd string; accepts NULL. */
void ap_secure_free_str(char *s);
/* _cleanup_secret_str_ char *s: wiped and freed at the end of the scope, then set to NULL. */
static inline void ap_secure_free_strp(char **s)
{
        ap_secure_free_str(*s);
        *s = NULL;
}
#define _cleanup_secret_str_ _cleanup_(ap_secure_free_strp)
