/* status.h - the apiserver's errors as values: a metav1.Status body (or just an HTTP code when the body
 * is not a Status) parsed into struct ap_kube_status, mapped onto one negative errno per reason, and
 * turned into a user-facing ap_error message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/error.h"

enum ap_kube_reason {
        AP_KUBE_REASON_UNKNOWN = 0,
        AP_KUBE_REASON_BAD_REQUEST,
        AP_KUBE_REASON_UNAUTHORIZED,
        AP_KUBE_REASON_FORBIDDEN,
        AP_KUBE_REASON_NOT_FOUND,
        AP_KUBE_REASON_METHOD_NOT_ALLOWED,
        AP_KUBE_REASON_NOT_ACCEPTABLE,
        AP_KUBE_REASON_ALREADY_EXISTS,
        AP_KUBE_REASON_CONFLICT,
        AP_KUBE_REASON_GONE,
        AP_KUBE_REASON_EXPIRED,
        AP_KUBE_REASON_REQUEST_ENTITY_TOO_LARGE,
        AP_KUBE_REASON_UNSUPPORTED_MEDIA_TYPE,
        AP_KUBE_REASON_INVALID,
        AP_KUBE_REASON_TOO_MANY_REQUESTS,
        AP_KUBE_REASON_INTERNAL_ERROR,
        AP_KUBE_REASON_SERVICE_UNAVAILABLE,
        AP_KUBE_REASON_TIMEOUT,
        AP_KUBE_REASON_SERVER_TIMEOUT,
};

/* The errno each reason maps to (what every kube function returns for it). */
#define AP_KUBE_E_NOT_FOUND      (-ENOENT)
#define AP_KUBE_E_ALREADY_EXISTS (-EEXIST)
#define AP_KUBE_E_CONFLICT       (-EBUSY)  /* resourceVersion changed: re-read and retry */
#define AP_KUBE_E_GONE           (-ESTALE) /* 410 Gone / Expired: relist */
#define AP_KUBE_E_FORBIDDEN      (-EACCES)
#define AP_KUBE_E_UNAUTHORIZED   (-EPERM)
#define AP_KUBE_E_INVALID        (-EINVAL) /* 422: see the causes */
#define AP_KUBE_E_BAD_REQUEST    (-EBADMSG)
#define AP_KUBE_E_TOO_MANY       (-EAGAIN) /* 429 / 503: wait retry_after_seconds */
#define AP_KUBE_E_TIMEOUT        (-ETIMEDOUT)
#define AP_KUBE_E_UNSUPPORTED    (-EOPNOTSUPP)
#define AP_KUBE_E_TOO_LARGE      (-EFBIG)
#define AP_KUBE_E_SERVER         (-EIO)

struct ap_kube_cause {
        char *type;    /* "FieldValueInvalid", "FieldValueRequired", ... */
        char *field;   /* "spec.namespaces[0]" */
        char *message; /* the apiserver's words */
};

struct ap_kube_status {
        int code; /* HTTP status code (Status.code when present) */
        enum ap_kube_reason reason;
        char *reason_str; /* Status.reason as sent ("NotFound"), or NULL */
        char *message;    /* Status.message, or NULL */
        char *details_name, *details_group, *details_kind;
        struct ap_kube_cause *causes;
        size_t n_causes;
        long retry_after_seconds; /* details.retryAfterSeconds or the Retry-After header; 0 = none */
};

#define AP_KUBE_STATUS_INIT                                                                                  \
        {                                                                                                    \
                0                                                                                            \
        }

void ap_kube_status_release(struct ap_kube_status *st);

/* Parse an error response: http_code and the body (a Status JSON object, or anything else, in which case
 * the reason comes from the code). retry_after is the Retry-After header value in seconds (0 = none).
 * Always fills *ret (previous contents released); returns the mapped errno (negative). */
int ap_kube_status_parse(long http_code, const char *body, size_t len, long retry_after,
                         struct ap_kube_status *ret);
/* Parse a Status JSON object (already decoded, e.g. a watch ERROR event's object). */

int ap_kube_status_from_json(const json_t *obj, long http_code, struct ap_kube_status *ret);

enum ap_kube_reason ap_kube_reason_from_string(const char *s);
enum ap_kube_reason ap_kube_reason_from_code(long http_code);
const char *ap_kube_reason_name(enum ap_kube_reason r);
int ap_kube_reason_errno(enum ap_kube_reason r);

/* Fill err: "<what>: <apiserver message> (<code> <Reason>)[; <field>: <cause message>...]" plus a next
 * step for reasons that have one. Returns the mapped errno. */
int ap_kube_status_error(const struct ap_kube_status *st, struct ap_error *err, const char *fmt, ...)
    _printf_(3, 4);
