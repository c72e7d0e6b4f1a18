/* watch_stream.c - incremental line splitting of watch streams and event parsing. */
#include "watch_stream.h"

#include <string.h>

void ap_kube_lines_init(struct ap_kube_lines *l, size_t max)
{
        ap_buf_init(&l->partial, max ? max : AP_KUBE_WATCH_LINE_MAX);
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

const char *ap_kube_obj_name(const json_t *obj)
{
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

const char *ap_kube_obj_namespace(const json_t *obj)
{
        const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
        return ns && ns[0] ? ns : NULL;
}

const char *ap_kube_obj_resource_version(const json_t *obj)
{
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

const char *ap_kube_obj_uid(const json_t *obj)
{
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

const char *ap_kube_obj_label(const json_t *obj, const char *key)
{
        const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
        return json_string_value(json_object_get(labels, key));
}

int ap_kube_obj_key(const json_t *obj, struct ap_buf *out)
{
        const char *name = ap_kube_obj_name(obj);
        const char *ns = ap_kube_obj_namespace(obj);
        if (!name || !name[0])
                return -EINVAL;
        return ns ? ap_buf_printf(out, "%s/%s", ns, name) : ap_buf_addstr(out, name);
}

int ap_kube_watch_event_parse(const char *line, size_t len, enum ap_kube_watch_type *ret_type,
                              json_t **ret_obj, struct ap_error *err)
{
        json_error_t jerr;
        json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!ev)
                return ap_error_set(err, -EBADMSG, "watch event is not JSON: %s (column %d)", jerr.text,
                                    jerr.column);
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
