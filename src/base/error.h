/* error.h - the error object every fallible library function fills in: a negative errno-style code plus
 * a human message ("what is wrong, where, what to do"). Libraries never log; the top of the call chain
 * reads the message and logs it once. */
#pragma once

#include <errno.h>
#include <stddef.h>

#include "macro.h"

#define AP_ERROR_MSG_MAX 1024

struct ap_error {
        int code;                   /* negative errno value; 0 while no error is set */
        char msg[AP_ERROR_MSG_MAX]; /* NUL-terminated, lowercase, no trailing period */
};

#define AP_ERROR_INIT                                                                                        \
        {                                                                                                    \
                0,                                                                                           \
                {                                                                                            \
                        0                                                                                    \
                }                                                                                            \
        }

/* Set code and message; returns code (a negative errno) so callers can `return ap_error_set(...)`.
 * err may be NULL, in which case only the code is returned. code must be negative. */
int ap_error_set(struct ap_error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prefix the existing message with context ("reading 'x.yaml': <old message>"); returns err->code.
 * With err NULL returns -EINVAL. */
int ap_error_prefix(struct ap_error *err, const char *fmt, ...) _printf_(2, 3);

/* Reset to "no error". */
void ap_error_clear(struct ap_error *err);

/* The message, or strerror(-code) when no message was set; never NULL. */
const char *ap_error_message(const struct ap_error *err);
