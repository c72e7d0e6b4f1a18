/* status.c - metav1.Status parsing, reason <-> errno mapping and error messages. */
#include "status.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/str.h"

static const struct {
        enum ap_kube_reason reason;
        const char *name;
        int code;
        int err;
} reasons[] = {
    {AP_KUBE_REASON_BAD_REQUEST, "BadRequest", 400, AP_KUBE_E_BAD_REQUEST},
    {AP_KUBE_REASON_UNAUTHORIZED, "Unauthorized", 401, AP_KUBE_E_UNAUTHORIZED},
    {AP_KUBE_REASON_FORBIDDEN, "Forbidden", 403, AP_KUBE_E_FORBIDDEN},
    {AP_KUBE_REASON_NOT_FOUND, "NotFound", 404, AP_KUBE_E_NOT_FOUND},
    {AP_KUBE_REASON_METHOD_NOT_ALLOWED, "MethodNotAllowed", 405, AP_KUBE_E_UNSUPPORTED},
    {AP_KUBE_REASON_NOT_ACCEPTABLE, "NotAcceptable", 406, AP_KUBE_E_UNSUPPORTED},
    {AP_KUBE_REASON_ALREADY_EXISTS, "AlreadyExists", 409, AP_KUBE_E_ALREADY_EXISTS},
    {AP_KUBE_REASON_CONFLICT, "Conflict", 409, AP_KUBE_E_CONFLICT},
    {AP_KUBE_REASON_GONE, "Gone", 410, AP_KUBE_E_GONE},
    {AP_KUBE_REASON_EXPIRED, "Expired", 410, AP_KUBE_E_GONE},
    {AP_KUBE_REASON_REQUEST_ENTITY_TOO_LARGE, "RequestEntityTooLarge", 413, AP_KUBE_E_TOO_LARGE},
    {AP_KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", 415, AP_KUBE_E_UNSUPPORTED},
    {AP_KUBE_REASON_INVALID, "Invalid", 422, AP_KUBE_E_INVALID},
    {AP_KUBE_REASON_TOO_MANY_REQUESTS, "TooManyRequests", 429, AP_KUBE_E_RATE_LIMITED},
    {AP_KUBE_REASON_INTERNAL_ERROR, "InternalError", 500, AP_KUBE_E_UNAVAILABLE},
    {AP_KUBE_REASON_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503, AP_KUBE_E_UNAVAILABLE},
    /* the apiserver answers 504 Timeout when a request ran out of time on its side, and 500
     * ServerTimeout when it could not finish in time: the peer was overloaded, retry */
    {AP_KUBE_REASON_TIMEOUT, "Timeout", 504, AP_KUBE_E_UNAVAILABLE},
    {AP_KUBE_REASON_SERVER_TIMEOUT, "ServerTimeout", 500, AP_KUBE_E_UNAVAILABLE},
};

enum ap_kube_reason ap_kube_reason_from_string(const char *s)
{
        if (!s)
                return AP_KUBE_REASON_UNKNOWN;
        for (size_t i = 0; i < AP_ARRAY_SIZE(reasons); i++)
                if (strcmp(reasons[i].name, s) == 0)
                        return reasons[i].reason;
        return AP_KUBE_REASON_UNKNOWN;
}

enum ap_kube_reason ap_kube_reason_from_code(long code)
{
        /* the first table entry for a code is its generic reason (409 -> Conflict is ambiguous; the
         * apiserver always names the reason, so this only matters for non-Status bodies) */
        if (code == 409)
                return AP_KUBE_REASON_CONFLICT;
        if (code == 500)
                return AP_KUBE_REASON_INTERNAL_ERROR;
        for (size_t i = 0; i < AP_ARRAY_SIZE(reasons); i++)
                if (reasons[i].code == code)
                        return reasons[i].reason;
        if (code >= 500)
                return AP_KUBE_REASON_INTERNAL_ERROR;
        if (code >= 400)
                return AP_KUBE_REASON_BAD_REQUEST;
        return AP_KUBE_REASON_UNKNOWN;
}

const char *ap_kube_reason_name(enum ap_kube_reason r)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(reasons); i++)
                if (reasons[i].reason == r)
                        return reasons[i].name;
        return "Unknown";
}

int ap_kube_reason_errno(enum ap_kube_reason r)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(reasons); i++)
                if (reasons[i].reason == r)
                        return reasons[i].err;
        return AP_KUBE_E_UNAVAILABLE;
}

void ap_kube_status_release(struct ap_kube_status *st)
{
        if (!st)
                return;
        free(st->reason_str);
        free(st->message);
        free(st->details_name);
        free(st->details_group);
        free(st->details_kind);
        for (size_t i = 0; i < st->n_causes; i++) {
                free(st->causes[i].type);
                free(st->causes[i].field);
                free(st->causes[i].message);
        }
        free(st->causes);
        *st = (struct ap_kube_status)AP_KUBE_STATUS_INIT;
}

static char *dup_str(const json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));
        return s ? strdup(s) : NULL;
}

#define AP_KUBE_MAX_CAUSES 64

int ap_kube_status_from_json(const json_t *obj, long http_code, struct ap_kube_status *ret)
{
        ap_kube_status_release(ret);
        ret->code = (int)http_code;
        if (json_is_object(obj)) {
                json_int_t c = json_integer_value(json_object_get(obj, "code"));
                if (c >= 100 && c <= 599)
                        ret->code = (int)c;
                ret->reason_str = dup_str(obj, "reason");
                ret->message = dup_str(obj, "message");
                const json_t *d = json_object_get(obj, "details");
                if (json_is_object(d)) {
                        ret->details_name = dup_str(d, "name");
                        ret->details_group = dup_str(d, "group");
                        ret->details_kind = dup_str(d, "kind");
                        json_int_t ra = json_integer_value(json_object_get(d, "retryAfterSeconds"));
                        if (ra > 0 && ra < 86400)
                                ret->retry_after_seconds = (long)ra;
                        const json_t *causes = json_object_get(d, "causes");
                        size_t n = json_array_size(causes);
                        if (n > AP_KUBE_MAX_CAUSES)
                                n = AP_KUBE_MAX_CAUSES;
                        if (n > 0)
                                ret->causes = calloc(n, sizeof(*ret->causes));
                        if (ret->causes) {
                                for (size_t i = 0; i < n; i++) {
                                        const json_t *ce = json_array_get(causes, i);
                                        struct ap_kube_cause *cs = &ret->causes[ret->n_causes];
                                        if (!json_is_object(ce))
                                                continue;
                                        cs->type = dup_str(ce, "reason");
                                        cs->field = dup_str(ce, "field");
                                        cs->message = dup_str(ce, "message");
                                        ret->n_causes++;
                                }
                        }
                }
        }
        ret->reason = ap_kube_reason_from_string(ret->reason_str);
        if (ret->reason == AP_KUBE_REASON_UNKNOWN)
                ret->reason = ap_kube_reason_from_code(ret->code);
        return ap_kube_reason_errno(ret->reason);
}

int ap_kube_status_parse(long http_code, const char *body, size_t len, long retry_after,
                         struct ap_kube_status *ret)
{
        json_t *obj = NULL;
        if (body && len > 0)
                obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        int r = ap_kube_status_from_json(kind && strcmp(kind, "Status") == 0 ? obj : NULL, http_code, ret);
        if (!ret->message && body && len > 0 && !obj) {
                /* not JSON (a proxy, "404 page not found"): keep the first line as the message */
                size_t n = 0;
                while (n < len && n < 200 && body[n] != '\n' && body[n] != '\r' && body[n] != '\0')
                        n++;
                ret->message = ap_strndup(body, n);
        }
        if (retry_after > 0 && ret->retry_after_seconds == 0)
                ret->retry_after_seconds = retry_after;
        json_decref(obj);
        return r;
}

static const char *next_step(enum ap_kube_reason r)
{
        switch (r) {
        case AP_KUBE_REASON_UNAUTHORIZED:
                return "check the credentials in the kubeconfig or the service-account token";
        case AP_KUBE_REASON_FORBIDDEN:
                return "grant the missing permission in the ClusterRole or Role bound to this identity";
        case AP_KUBE_REASON_CONFLICT:
                return "the object changed meanwhile: read it again and retry";
        case AP_KUBE_REASON_GONE:
        case AP_KUBE_REASON_EXPIRED:
                return "the resource version is too old: list again";
        case AP_KUBE_REASON_TOO_MANY_REQUESTS:
        case AP_KUBE_REASON_SERVICE_UNAVAILABLE:
                return "the apiserver is overloaded: retry later";
        default:
                return NULL;
        }
}

int ap_kube_status_error(const struct ap_kube_status *st, struct ap_error *err, const char *fmt, ...)
{
        int code = ap_kube_reason_errno(st->reason);
        if (!err)
                return code;
        char what[AP_ERROR_MSG_MAX / 2];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        char msg[AP_ERROR_MSG_MAX];
        size_t n = (size_t)snprintf(msg, sizeof(msg), "%s: %s (%d %s)", what,
                                    st->message && st->message[0] ? st->message : "request failed", st->code,
                                    st->reason_str ? st->reason_str : ap_kube_reason_name(st->reason));
        for (size_t i = 0; i < st->n_causes && n < sizeof(msg); i++) {
                const struct ap_kube_cause *c = &st->causes[i];
                /* the apiserver's message usually quotes every cause already; add only what it lacks */
                if (c->message && st->message && strstr(st->message, c->message))
                        continue;
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "; %s%s%s", c->field ? c->field : "",
                                      c->field ? ": " : "", c->message ? c->message : "invalid");
        }
        const char *step = next_step(st->reason);
        if (step && n < sizeof(msg))
                snprintf(msg + n, sizeof(msg) - n, "; %s", step);
        ap_error_set(err, code, "%s", msg);
        if ((code == AP_E_RATE_LIMITED || code == AP_E_UNAVAILABLE) && st->retry_after_seconds > 0)
                ap_error_set_retry_after(err, st->retry_after_seconds * 1000);
        return code;
}
