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

/* The code each reason maps to (what every kube function returns for it): the shared vocabulary of
 * base/error.h, so callers in other layers test AP_E_* directly. The AP_KUBE_E_* names are aliases kept
 * for readability; only AP_KUBE_E_GONE is kube's own. Transport failures of the client (client.h) use
 * the same codes: DNS, connect, TLS handshake or reset -> AP_E_UNAVAILABLE, timeouts -> AP_E_TIMEOUT,
 * cancellation -> AP_E_CANCELLED, a server certificate that does not verify -> AP_E_CORRUPT. */
#define AP_KUBE_E_NOT_FOUND      AP_E_NOT_FOUND    /* 404 */
#define AP_KUBE_E_ALREADY_EXISTS AP_E_EXISTS       /* 409 AlreadyExists */
#define AP_KUBE_E_CONFLICT       AP_E_CONFLICT     /* 409 Conflict: resourceVersion changed, re-read */
#define AP_KUBE_E_GONE           (-ESTALE)         /* 410 Gone / Expired: relist */
#define AP_KUBE_E_FORBIDDEN      AP_E_FORBIDDEN    /* 403 */
#define AP_KUBE_E_UNAUTHORIZED   AP_E_UNAUTHORIZED /* 401 */
#define AP_KUBE_E_INVALID        AP_E_INVALID      /* 422: see the causes */
#define AP_KUBE_E_BAD_REQUEST    AP_E_INVALID      /* 400 */
#define AP_KUBE_E_RATE_LIMITED   AP_E_RATE_LIMITED /* 429: wait err->retry_after_ms */
#define AP_KUBE_E_UNAVAILABLE    AP_E_UNAVAILABLE  /* 500 / 502 / 503 / 504, transport failures */
#define AP_KUBE_E_TIMEOUT        AP_E_TIMEOUT      /* no answer in time (client side) */
#define AP_KUBE_E_UNSUPPORTED    AP_E_UNSUPPORTED  /* 405 / 406 / 415 */
#define AP_KUBE_E_TOO_LARGE      AP_E_TOO_LARGE    /* 413, or a response past the client's cap */
#define AP_KUBE_E_TLS_VERIFY     AP_E_CORRUPT /* the server's certificate does not verify: not retryable */
/* older names */
#define AP_KUBE_E_TOO_MANY AP_KUBE_E_RATE_LIMITED
#define AP_KUBE_E_SERVER   AP_KUBE_E_UNAVAILABLE

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

/* Fill err: "<what>: <apiserver message> (<code> <Reason>)[; <field>: <cause message>...]" plus what
 * the reason means for the caller where that helps. Sets err->retry_after_ms from retry_after_seconds
 * for AP_E_RATE_LIMITED and AP_E_UNAVAILABLE. Returns the mapped code. */
int ap_kube_status_error(const struct ap_kube_status *st, struct ap_error *err, const char *fmt, ...)
    _printf_(3, 4);
