/* watch_stream.c - incremental line splitting of watch streams and event parsing. */
#include "watch_stream.h"

#include "obj.h"

#include <string.h>

void ap_kube_lines_init(struct ap_kube_lines *l, size_t max)
{
        ap_buf_init_secret(&l->partial, max ? max : AP_KUBE_WATCH_LINE_MAX); /* events may carry Secrets */
}

void ap_kube_lines_release(struct ap_kube_lines *l)
{
        ap_buf_release(&l->partial);
}

static int emit(const char *p, size_t n, ap_kube_line_fn fn, void *userdata)
{
        if (n > 0 && p[n - 1] == '\r')
                n--;
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        if (i == n)
                return 0;
        return fn(userdata, p, n);
}

int ap_kube_lines_feed(struct ap_kube_lines *l, const char *data, size_t n, ap_kube_line_fn fn,
                       void *userdata, struct ap_error *err)
{
        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t take = nl ? (size_t)(nl - data) : n;
                int r;
                if (l->partial.len == 0 && nl) {
                        /* fast path: a whole line inside this chunk, no copy */
                        r = emit(data, take, fn, userdata);
                } else {
                        r = ap_buf_add(&l->partial, data, take);
                        if (r < 0) {
                                ap_buf_release(&l->partial);
                                return ap_error_set(err, -E2BIG,
                                                    "watch event longer than %zu bytes: dropping the stream",
                                                    l->partial.max);
                        }
                        if (!nl)
                                return 0;
                        r = emit(l->partial.data, l->partial.len, fn, userdata);
                        ap_buf_reset(&l->partial);
                }
                if (r < 0)
                        return r;
                data += take + 1;
                n -= take + 1;
        }
        return 0;
}

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *ap_kube_watch_type_name(enum ap_kube_watch_type t)
{
        return (size_t)t < AP_ARRAY_SIZE(type_names) ? type_names[t] : "UNKNOWN";
}

int ap_kube_watch_event_parse(const char *line, size_t len, enum ap_kube_watch_type *ret_type,
                              json_t **ret_obj, struct ap_error *err)
{
        json_error_t jerr;
        json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!ev) {
                char why[128];
                ap_kube_json_error_cause(&jerr, why, sizeof(why));
                return ap_error_set(err, AP_E_CORRUPT, "watch event is not JSON: %s (column %d)", why,
                                    jerr.column);
        }
        int r = 0;
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *obj = json_object_get(ev, "object");
        enum ap_kube_watch_type t = AP_KUBE_WATCH_ERROR;
        size_t i;
        for (i = 0; type && i < AP_ARRAY_SIZE(type_names); i++)
                if (strcmp(type, type_names[i]) == 0) {
                        t = (enum ap_kube_watch_type)i;
                        break;
                }
        if (!json_is_object(ev) || !type || i == AP_ARRAY_SIZE(type_names)) {
                r = ap_error_set(err, -EBADMSG, "watch event has no known 'type' (got '%s')",
                                 type ? type : "(none)");
                goto out;
        }
        if (!json_is_object(obj)) {
                r = ap_error_set(err, -EBADMSG, "watch %s event has no 'object'", type);
                goto out;
        }
        if (t != AP_KUBE_WATCH_ERROR) {
                const char *rv = ap_kube_obj_resource_version(obj);
                if (!rv || !rv[0]) {
                        r = ap_error_set(err, -EBADMSG, "watch %s event has no metadata.resourceVersion",
                                         type);
                        goto out;
                }
                if (t != AP_KUBE_WATCH_BOOKMARK && (!ap_kube_obj_name(obj) || !ap_kube_obj_name(obj)[0])) {
                        r = ap_error_set(err, -EBADMSG, "watch %s event has no metadata.name", type);
                        goto out;
                }
        }
        *ret_type = t;
        *ret_obj = json_incref(obj);
out:
        json_decref(ev);
        return r;
}
