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
        err->retry_after_ms = 0;
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
        err->retry_after_ms = 0;
        err->msg[0] = '\0';
}

void ap_error_set_retry_after(struct ap_error *err, long retry_after_ms)
{
        if (err)
                err->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
}

bool ap_error_retryable(int code)
{
        switch (code) {
        case AP_E_CONFLICT:
        case AP_E_RATE_LIMITED:
        case AP_E_UNAVAILABLE:
        case AP_E_TIMEOUT:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -ENETDOWN:
        case -EPIPE:
                return true;
        default:
                return false;
        }
}

const char *ap_error_code_name(int code)
{
        switch (code) {
        case AP_E_NOT_FOUND:
                return "NotFound";
        case AP_E_CONFLICT:
                return "Conflict";
        case AP_E_EXISTS:
                return "AlreadyExists";
        case AP_E_UNAUTHORIZED:
                return "Unauthorized";
        case AP_E_FORBIDDEN:
                return "Forbidden";
        case AP_E_RATE_LIMITED:
                return "RateLimited";
        case AP_E_UNAVAILABLE:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -ENETDOWN:
        case -EPIPE:
                return "Unavailable";
        case AP_E_TIMEOUT:
                return "Timeout";
        case AP_E_INVALID:
                return "Invalid";
        case AP_E_TOO_LARGE:
                return "TooLarge";
        case AP_E_CORRUPT:
                return "Corrupt";
        case AP_E_NO_KEY:
                return "NoKey";
        case AP_E_UNSUPPORTED:
                return "Unsupported";
        case AP_E_CANCELLED:
                return "Cancelled";
        case AP_E_NO_SPACE:
                return "NoSpace";
        case -ENOMEM:
                return "OutOfMemory";
        default:
                return "Failed";
        }
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
