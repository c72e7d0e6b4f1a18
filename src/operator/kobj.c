/* kobj.c - how the reconcilers act on the cluster: apply only what differs from the live object, delete
 * if present, patch annotations and finalizers without needless writes, record Events. Every write is
 * counted in app_platform_kube_writes_total, which the idempotence tests read. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "kube/status.h"
#include "operator/operator_internal.h"

bool op_json_subset(const json_t *want, const json_t *have)
{
        if (!have)
                return false;
        if (json_is_object(want)) {
                if (!json_is_object(have))
                        return false;
                const char *k;
                const json_t *v;
                json_object_foreach((json_t *)want, k, v)
                {
                        if (!op_json_subset(v, json_object_get(have, k)))
                                return false;
                }
                return true;
        }
        if (json_is_array(want)) {
                if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
                        return false;
                for (size_t i = 0; i < json_array_size(want); i++)
                        if (!op_json_subset(json_array_get(want, i), json_array_get(have, i)))
                                return false;
                return true;
        }
        return json_equal((json_t *)want, (json_t *)have);
}

size_t op_inventory_ns_len(const char *id)
{
        const char *us = id ? strchr(id, '_') : NULL;
        return us ? (size_t)(us - id) : 0;
}

static void count_write(struct ap_operator *op)
{
        ap_kube_metric_inc(op->m_writes);
}

int op_apply(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *obj, bool *ret_written,
             struct ap_error *err)
{
        return op_apply_rv(op, res, obj, ret_written, NULL, 0, err);
}

int op_apply_rv(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *obj,
                bool *ret_written, char *ret_rv, size_t rv_size, struct ap_error *err)
{
        const char *name = ap_kube_obj_name(obj), *ns = ap_kube_obj_namespace(obj);
        struct ap_kube_opts o = {.timeout_ms = 30000};
        json_t *live = NULL;
        int r = ap_kube_get(op->kube, res, ns, name, &o, &live, NULL, err);
        if (r < 0 && r != AP_KUBE_E_NOT_FOUND)
                return r;
        bool same = r == 0 && op_json_subset(obj, live);
        json_decref(live);
        if (ret_written)
                *ret_written = !same;
        if (same)
                return 0;
        ap_error_clear(err);
        struct ap_kube_opts ao = {.field_manager = AP_FIELD_MANAGER, .force = true, .timeout_ms = 30000};
        count_write(op);
        json_t *applied = NULL;
        r = ap_kube_apply(op->kube, res, obj, &ao, ret_rv ? &applied : NULL, NULL, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot apply %s '%s%s%s'", res->kind, ns ? ns : "",
                                       ns ? "/" : "", name);
        if (ret_rv && rv_size) {
                const char *rv = ap_kube_obj_resource_version(applied);
                snprintf(ret_rv, rv_size, "%s", rv ? rv : "");
        }
        json_decref(applied);
        return 0;
}

int op_delete(struct ap_operator *op, const struct ap_kube_resource *res, const char *ns, const char *name,
              struct ap_error *err)
{
        struct ap_kube_opts o = {.timeout_ms = 30000};
        int r = ap_kube_get(op->kube, res, ns, name, &o, NULL, NULL, err);
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        count_write(op);
        o.propagation_policy = "Background";
        r = ap_kube_delete(op->kube, res, ns, name, &o, NULL, NULL, err);
        if (r == AP_KUBE_E_NOT_FOUND) {
                ap_error_clear(err);
                return 0;
        }
        if (r < 0)
                return ap_error_prefix(err, "cannot delete %s '%s%s%s'", res->kind, ns ? ns : "",
                                       ns ? "/" : "", name);
        return 0;
}

static bool annotations_match(const json_t *live, const json_t *anns)
{
        if (!live)
                return false;
        const json_t *have = json_object_get(json_object_get(live, "metadata"), "annotations");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)anns, k, v)
        {
                const json_t *h = json_object_get(have, k);
                if (json_is_null(v) ? h != NULL : !(h && json_equal((json_t *)v, (json_t *)h)))
                        return false;
        }
        return true;
}

static int patch_annotations(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live,
                             const char *ns, const char *name, const json_t *anns, const char *rv,
                             char *ret_rv, size_t rv_size, struct ap_error *err)
{
        if (annotations_match(live, anns))
                return 0;
        json_t *patch =
            rv ? json_pack("{s:{s:O, s:s}}", "metadata", "annotations", anns, "resourceVersion", rv)
               : json_pack("{s:{s:O}}", "metadata", "annotations", anns);
        if (!patch)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_opts o = {.timeout_ms = 30000};
        count_write(op);
        json_t *got = NULL;
        int r = ap_kube_patch(op->kube, res, ns, name, AP_KUBE_PATCH_MERGE, patch, &o, ret_rv ? &got : NULL,
                              NULL, err);
        json_decref(patch);
        if (r == 0 && ret_rv && ap_kube_obj_resource_version(got))
                snprintf(ret_rv, rv_size, "%s", ap_kube_obj_resource_version(got));
        json_decref(got);
        if (r < 0)
                return ap_error_prefix(err, "cannot annotate %s '%s%s%s'", res->kind, ns ? ns : "",
                                       ns ? "/" : "", name);
        return 0;
}

int op_patch_annotations(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live,
                         const char *ns, const char *name, const json_t *anns, struct ap_error *err)
{
        return patch_annotations(op, res, live, ns, name, anns, NULL, NULL, 0, err);
}

int op_patch_annotations_at(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live,
                            const json_t *anns, const char *rv, char *ret_rv, size_t rv_size,
                            struct ap_error *err)
{
        return patch_annotations(op, res, live, ap_kube_obj_namespace(live), ap_kube_obj_name(live), anns, rv,
                                 ret_rv, rv_size, err);
}

static bool has_finalizer(const json_t *obj)
{
        const json_t *f = json_object_get(json_object_get(obj, "metadata"), "finalizers");
        for (size_t i = 0; i < json_array_size(f); i++)
                if (json_string_value(json_array_get(f, i)) &&
                    strcmp(json_string_value(json_array_get(f, i)), AP_FINALIZER) == 0)
                        return true;
        return false;
}

int op_patch_meta(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live,
                  const json_t *anns, bool add_finalizer, const char *rv, struct ap_error *err)
{
        const json_t *md = json_object_get(live, "metadata");
        const char *ns = ap_kube_obj_namespace(live), *name = ap_kube_obj_name(live);
        if (!rv)
                rv = ap_kube_obj_resource_version(live);
        if (!add_finalizer || has_finalizer(live))
                return patch_annotations(op, res, live, ns, name, anns, rv, NULL, 0, err);
        json_t *fins = json_deep_copy(json_object_get(md, "finalizers"));
        if (!fins)
                fins = json_array();
        json_t *patch = NULL;
        if (fins && json_array_append_new(fins, json_string(AP_FINALIZER)) == 0)
                patch = json_pack("{s:{s:s, s:o, s:O}}", "metadata", "resourceVersion", rv, "finalizers",
                                  fins, "annotations", anns);
        else
                json_decref(fins);
        if (!patch)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_opts o = {.timeout_ms = 30000};
        count_write(op);
        int r = ap_kube_patch(op->kube, res, ns, name, AP_KUBE_PATCH_MERGE, patch, &o, NULL, NULL, err);
        json_decref(patch);
        if (r < 0)
                return ap_error_prefix(err, "cannot update %s '%s%s%s'", res->kind, ns ? ns : "",
                                       ns ? "/" : "", name);
        return 0;
}

struct fin_ctx {
        bool present;
};

static int fin_mutate(void *userdata, json_t *obj)
{
        struct fin_ctx *c = userdata;
        if (has_finalizer(obj) == c->present)
                return 1;
        json_t *md = json_object_get(obj, "metadata");
        json_t *f = json_object_get(md, "finalizers");
        if (c->present) {
                if (!f) {
                        f = json_array();
                        if (!f || json_object_set_new(md, "finalizers", f) < 0)
                                return -ENOMEM;
                }
                return json_array_append_new(f, json_string(AP_FINALIZER)) < 0 ? -ENOMEM : 0;
        }
        for (size_t i = json_array_size(f); i-- > 0;)
                if (json_string_value(json_array_get(f, i)) &&
                    strcmp(json_string_value(json_array_get(f, i)), AP_FINALIZER) == 0)
                        json_array_remove(f, i);
        return 0;
}

int op_finalizer(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live, bool present,
                 struct ap_error *err)
{
        if (has_finalizer(live) == present)
                return 0;
        struct fin_ctx c = {.present = present};
        struct ap_kube_opts o = {.timeout_ms = 30000};
        count_write(op);
        const char *ns = ap_kube_obj_namespace(live), *name = ap_kube_obj_name(live);
        int r = ap_kube_update_retry(op->kube, res, ns, name, fin_mutate, &c, 0, &o, NULL, err);
        if (r == AP_KUBE_E_NOT_FOUND && !present) {
                ap_error_clear(err);
                return 0;
        }
        if (r < 0)
                return ap_error_prefix(err, "cannot %s the finalizer %s %s '%s%s%s'",
                                       present ? "add" : "remove", AP_FINALIZER, present ? "to" : "from",
                                       ns ? ns : "", ns ? "/" : "", name);
        return 0;
}

void op_event(struct ap_operator *op, const json_t *obj, bool warning, const char *reason, const char *action,
              const char *fmt, ...)
{
        if (!op->rec || !obj)
                return;
        char note[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(note, sizeof(note), fmt, ap);
        va_end(ap);
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_recorder_event(op->rec, obj, warning ? AP_KUBE_EVENT_WARNING : AP_KUBE_EVENT_NORMAL,
                                   reason, action, note, &err) < 0)
                ap_log(AP_LOG_WARN, "cannot record the event %s about '%s': %s", reason,
                       ap_kube_obj_name(obj), ap_error_message(&err));
}
