/* obj.c - metadata accessors of Kubernetes objects held as jansson values. */
#include "obj.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

const char *ap_kube_obj_annotation(const json_t *obj, const char *key)
{
        const json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
        return json_string_value(json_object_get(a, key));
}

bool ap_kube_obj_same(const json_t *a, const json_t *b)
{
        return (!a && !b) || json_equal((json_t *)a, (json_t *)b);
}

long long ap_kube_obj_generation(const json_t *obj)
{
        return (long long)json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
}

void ap_kube_json_error_cause(const json_error_t *jerr, char *buf, size_t size)
{
        const char *near = strstr(jerr->text, " near ");
        int n = near ? (int)(near - jerr->text) : (int)strlen(jerr->text);
        snprintf(buf, size, "%.*s", n, jerr->text);
}
