/* secret.h - a secret string (a key, a passphrase, a decrypted value): owned, length-carrying, always
 * NUL-terminated, wiped with OPENSSL_cleanse whenever its memory is released, reset or moved. It is a type
 * of its own so that the logger can refuse it: a call to ap_log, ap_debug, ap_info, ap_warn, ap_err or
 * ap_log_error with a struct ap_secret (or a pointer to one) among its arguments does not compile (log.h).
 * The bytes reach a message only through ap_secret_reveal(), in plain sight of a reviewer. Header only. */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "macro.h"

struct ap_secret {
        struct ap_buf buf; /* a secret buffer: read it through ap_secret_reveal / ap_secret_len */
};

#define AP_SECRET_INIT                                                                                       \
        {                                                                                                    \
                AP_BUF_INIT_SECRET                                                                           \
        }

/* Replace the contents with n bytes of p (the old ones are wiped); -E2BIG past 64 MiB, -ENOMEM. */
static inline _warn_unused_ int ap_secret_set(struct ap_secret *s, const void *p, size_t n)
{
        ap_buf_reset(&s->buf);
        return ap_buf_add(&s->buf, p, n);
}

/* The bytes, NUL-terminated (borrowed until the next change): the one way to read them. */
static inline const char *ap_secret_reveal(const struct ap_secret *s)
{
        return s->buf.data;
}

static inline size_t ap_secret_len(const struct ap_secret *s)
{
        return s->buf.len;
}

/* Wipe and free the contents; s stays usable (empty). */
static inline void ap_secret_release(struct ap_secret *s)
{
        ap_buf_release(&s->buf);
}
#define _cleanup_secret_ _cleanup_(ap_secret_release)

/* 1 when x (not evaluated) is a struct ap_secret or a pointer to one, else 0. */
#define AP_IS_SECRET(x)                                                                                      \
        _Generic((x), struct ap_secret : 1, struct ap_secret * : 1, const struct ap_secret * : 1, default : 0)
