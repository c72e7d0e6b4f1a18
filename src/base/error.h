/* error.h - the error object every fallible library function fills in: a negative errno-style code plus
 * a human message ("what is wrong, where, what to do"). Libraries never log; the top of the call chain
 * reads the message and logs it once. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define AP_ERROR_MSG_MAX 1024

/* The shared error vocabulary: every layer returns these codes for these meanings, so a caller (the
 * operator's backoff, a dashboard handler choosing an HTTP status, a Kubernetes condition reason) can act
 * on an error without knowing which layer produced it. They are plain negative errno values, so
 * strerror() can always print them; layers may return other errno values for meanings not listed here
 * (-ENOMEM, -ENOKEY, -EOPNOTSUPP, -ECANCELED, ...). */
#define AP_E_NOT_FOUND    (-ENOENT)     /* the object, file, repository or key is not there */
#define AP_E_CONFLICT     (-EBUSY)      /* changed by someone else meanwhile: re-read and retry */
#define AP_E_EXISTS       (-EEXIST)     /* already exists (and was not expected to) */
#define AP_E_UNAUTHORIZED (-EPERM)      /* credentials missing, wrong or expired (HTTP 401) */
#define AP_E_FORBIDDEN    (-EACCES)     /* authenticated, but not allowed (HTTP 403, push refused) */
#define AP_E_RATE_LIMITED (-EUSERS)     /* too many requests: wait err->retry_after_ms, then retry */
#define AP_E_UNAVAILABLE  (-EAGAIN)     /* the peer is down or overloaded (5xx, DNS, TLS, connect) */
#define AP_E_TIMEOUT      (-ETIMEDOUT)  /* no answer in time */
#define AP_E_INVALID      (-EINVAL)     /* the input is wrong; retrying the same input cannot help */
#define AP_E_TOO_LARGE    (-E2BIG)      /* past a size limit (the message names the limit) */
#define AP_E_CORRUPT      (-EBADMSG)    /* malformed data, or an authentication tag / MAC mismatch */
#define AP_E_NO_KEY       (-ENOKEY)     /* no key or identity able to decrypt */
#define AP_E_UNSUPPORTED  (-EOPNOTSUPP) /* a valid input this program does not implement */
#define AP_E_CANCELLED    (-ECANCELED)  /* stopped on request (shutdown, leadership lost) */
#define AP_E_NO_SPACE     (-ENOSPC)     /* disk full */

struct ap_error {
        int code;                   /* negative errno value; 0 while no error is set */
        long retry_after_ms;        /* with AP_E_RATE_LIMITED / AP_E_UNAVAILABLE: the peer's wait hint */
        char msg[AP_ERROR_MSG_MAX]; /* NUL-terminated, lowercase, no trailing period */
};

#define AP_ERROR_INIT                                                                                        \
        {                                                                                                    \
                0, 0,                                                                                        \
                {                                                                                            \
                        0                                                                                    \
                }                                                                                            \
        }

/* True for failures that may go away by themselves when the same request is retried later (conflict,
 * rate limit, unavailable, timeout, connection refused/reset, network unreachable); false for input,
 * permission and corruption errors, which need a person to change something first. */
bool ap_error_retryable(int code);

/* A short CamelCase name for a code of the shared vocabulary ("NotFound", "Conflict", "RateLimited",
 * ...), "Failed" for anything else: usable as a Kubernetes condition or Event reason. Never NULL. */
const char *ap_error_code_name(int code);

/* Record the peer's wait hint on an error already set (ms, 0 = none). */
void ap_error_set_retry_after(struct ap_error *err, long retry_after_ms);

/* Set code and message (retry_after_ms reset to 0); returns code (a negative errno) so callers can `return
 * ap_error_set(...)`. err may be NULL, in which case only the code is returned. code must be negative. */
int ap_error_set(struct ap_error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prefix the existing message with context ("reading 'x.yaml': <old message>"); returns err->code.
 * With err NULL returns -EINVAL. */
int ap_error_prefix(struct ap_error *err, const char *fmt, ...) _printf_(2, 3);

/* Reset to "no error". */
void ap_error_clear(struct ap_error *err);

/* The message, or strerror(-code) when no message was set; never NULL. */
const char *ap_error_message(const struct ap_error *err);
