/* meta.c - finalizers with optimistic concurrency, and metav1.Condition lists. */
#include "meta.h"

#include <errno.h>
#include <string.h>

#include "base/clock.h"
#include "obj.h"

#define FINALIZER_ATTEMPTS 8
#define REASON_MAX         1024
#define MESSAGE_MAX        32768

bool ap_kube_obj_has_finalizer(const json_t *obj, const char *finalizer)
{
        const json_t *list = json_object_get(json_object_get(obj, "metadata"), "finalizers");
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);
                if (s && strcmp(s, finalizer) == 0)
                        return true;
        }
        return false;
}

/* The finalizer list of obj with finalizer added or removed (a new array). */
static json_t *finalizers_with(const json_t *obj, const char *finalizer, bool add)
{
        json_t *out = json_array();
        const json_t *list = json_object_get(json_object_get(obj, "metadata"), "finalizers");
        size_t i;
        const json_t *v;
        if (!out)
                return NULL;
        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);
                if (s && strcmp(s, finalizer) == 0)
                        continue;
                if (json_array_append(out, (json_t *)v) < 0)
                        goto oom;
        }
        if (add && json_array_append_new(out, json_string(finalizer)) < 0)
                goto oom;
        return out;
oom:
        json_decref(out);
        return NULL;
}

static int finalizer_change(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                            const char *name, const char *finalizer, bool add, const struct ap_kube_opts *o,
                            json_t **ret_obj, struct ap_error *err)
{
        if (!finalizer || !finalizer[0])
                return ap_error_set(err, AP_E_INVALID, "an empty finalizer name");
        for (int attempt = 0;; attempt++) {
                json_t *obj = NULL;
                int rc = ap_kube_get(c, r, ns, name, o, &obj, NULL, err);
                if (rc == AP_E_NOT_FOUND && !add) {
                        ap_error_clear(err);
                        if (ret_obj)
                                *ret_obj = NULL;
                        return 0;
                }
                if (rc < 0)
                        return rc;
                if (ap_kube_obj_has_finalizer(obj, finalizer) == add) {
                        /* already as wanted: no write */
                        if (ret_obj)
                                *ret_obj = obj;
                        else
                                json_decref(obj);
                        return 0;
                }
                const char *rv = ap_kube_obj_resource_version(obj);
                json_t *list = finalizers_with(obj, finalizer, add);
                /* the resourceVersion makes the patch conditional: a writer meanwhile -> 409 Conflict */
                json_t *patch = list && rv ? json_pack("{s:{s:s, s:o}}", "metadata", "resourceVersion", rv,
                                                       "finalizers", list)
                                           : NULL;
                json_decref(obj);
                if (!patch) {
                        json_decref(list);
                        return ap_error_set(err, -ENOMEM, "out of memory");
                }
                json_t *res = NULL;
                rc = ap_kube_patch(c, r, ns, name, AP_KUBE_PATCH_MERGE, patch, o, ret_obj ? &res : NULL, NULL,
                                   err);
                json_decref(patch);
                if (rc == AP_E_CONFLICT && attempt + 1 < FINALIZER_ATTEMPTS) {
                        ap_error_clear(err);
                        ap_sleep_ms(AP_MIN(10 << attempt, 500));
                        continue;
                }
                if (rc == AP_E_NOT_FOUND && !add) {
                        ap_error_clear(err);
                        res = NULL;
                        rc = 0;
                }
                if (rc < 0)
                        return ap_error_prefix(err, "cannot %s finalizer '%s' %s '%s'",
                                               add ? "add" : "remove", finalizer, add ? "to" : "from", name);
                if (ret_obj)
                        *ret_obj = res;
                return 0;
        }
}

int ap_kube_finalizer_add(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                          const char *name, const char *finalizer, const struct ap_kube_opts *o,
                          json_t **ret_obj, struct ap_error *err)
{
        return finalizer_change(c, r, ns, name, finalizer, true, o, ret_obj, err);
}

int ap_kube_finalizer_remove(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                             const char *name, const char *finalizer, const struct ap_kube_opts *o,
                             json_t **ret_obj, struct ap_error *err)
{
        return finalizer_change(c, r, ns, name, finalizer, false, o, ret_obj, err);
}

const json_t *ap_kube_condition_find(const json_t *conditions, const char *type)
{
        size_t i;
        const json_t *v;
        if (!type)
                return NULL;
        json_array_foreach(conditions, i, v)
        {
                const char *t = json_string_value(json_object_get(v, "type"));
                if (t && strcmp(t, type) == 0)
                        return v;
        }
        return NULL;
}

bool ap_kube_condition_is_true(const json_t *conditions, const char *type)
{
        const char *s =
            json_string_value(json_object_get(ap_kube_condition_find(conditions, type), "status"));
        return s && strcmp(s, "True") == 0;
}

static bool reason_ok(const char *r)
{
        size_t n = r ? strlen(r) : 0;
        if (n == 0 || n > REASON_MAX)
                return false;
        if (!((r[0] >= 'A' && r[0] <= 'Z') || (r[0] >= 'a' && r[0] <= 'z')))
                return false;
        for (size_t i = 1; i < n; i++) {
                char ch = r[i];
                bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                             (ch >= '0' && ch <= '9') || ch == '_';
                if (!alnum && !(i + 1 < n && (ch == ',' || ch == ':')))
                        return false;
        }
        return true;
}

/* Set key of cond to the string value unless it already is; *changed on change. */
static int set_str(json_t *cond, const char *key, const char *value, bool *changed)
{
        const char *cur = json_string_value(json_object_get(cond, key));
        if (cur && strcmp(cur, value) == 0)
                return 0;
        *changed = true;
        return json_object_set_new(cond, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

int ap_kube_condition_set(json_t *conditions, const char *type, const char *status, const char *reason,
                          const char *message, long long observed_generation, const char *now_rfc3339,
                          bool *ret_changed)
{
        if (!json_is_array(conditions) || !type || !type[0] || !now_rfc3339 || !now_rfc3339[0])
                return AP_E_INVALID;
        if (!status ||
            (strcmp(status, "True") != 0 && strcmp(status, "False") != 0 && strcmp(status, "Unknown") != 0))
                return AP_E_INVALID;
        if (!reason_ok(reason))
                return AP_E_INVALID;
        if (!message)
                message = "";
        if (strlen(message) > MESSAGE_MAX)
                return AP_E_TOO_LARGE;
        bool changed = false;
        json_t *cond = (json_t *)ap_kube_condition_find(conditions, type);
        int r = 0;
        if (!cond) {
                cond = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                                 "lastTransitionTime", now_rfc3339, "reason", reason, "message", message);
                if (!cond)
                        return -ENOMEM;
                if (observed_generation >= 0 &&
                    json_object_set_new(cond, "observedGeneration", json_integer(observed_generation)) < 0) {
                        json_decref(cond);
                        return -ENOMEM;
                }
                if (json_array_append_new(conditions, cond) < 0)
                        return -ENOMEM;
                changed = true;
        } else {
                const char *cur = json_string_value(json_object_get(cond, "status"));
                if (!cur || strcmp(cur, status) != 0) {
                        r = set_str(cond, "status", status, &changed);
                        if (r >= 0)
                                r = set_str(cond, "lastTransitionTime", now_rfc3339, &changed);
                } else if (!json_string_value(json_object_get(cond, "lastTransitionTime"))) {
                        r = set_str(cond, "lastTransitionTime", now_rfc3339, &changed);
                }
                if (r >= 0)
                        r = set_str(cond, "reason", reason, &changed);
                if (r >= 0)
                        r = set_str(cond, "message", message, &changed);
                if (r >= 0 && observed_generation >= 0) {
                        json_t *g = json_object_get(cond, "observedGeneration");
                        if (!json_is_integer(g) || json_integer_value(g) != observed_generation) {
                                changed = true;
                                if (json_object_set_new(cond, "observedGeneration",
                                                        json_integer(observed_generation)) < 0)
                                        r = -ENOMEM;
                        }
                }
                if (r < 0)
                        return r;
        }
        if (ret_changed)
                *ret_changed = changed;
        return 0;
}
