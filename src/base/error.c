/* error.c - formatting and chaining of struct ap_error messages. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ap_error_set(struct ap_error *err, int code, const char *fmt, ...)
{
        if (code >= 0)
                code = -EINVAL;
        if (!err)
                return code;
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return code;
}

int ap_error_prefix(struct ap_error *err, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        char prefix[AP_ERROR_MSG_MAX];
        char old[AP_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        snprintf(old, sizeof(old), "%s", ap_error_message(err));
        snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
        if (err->code >= 0)
                err->code = -EINVAL;
        return err->code;
}

void ap_error_clear(struct ap_error *err)
{
        if (!err)
                return;
        err->code = 0;
        err->msg[0] = '\0';
}

const char *ap_error_message(const struct ap_error *err)
{
        if (!err)
                return "unknown error";
        if (err->msg[0])
                return err->msg;
        if (err->code < 0)
                return strerror(-err->code);
        return "no error";
}
