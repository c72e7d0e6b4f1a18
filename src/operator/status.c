/* status.c - metav1.Condition bookkeeping for the registration status (see operator_internal.h). */
#include <string.h>

#include "operator/operator_internal.h"

const json_t *op_condition_find(const json_t *conditions, const char *type)
{
        for (size_t i = 0; i < json_array_size(conditions); i++) {
                const json_t *c = json_array_get(conditions, i);
                const char *t = json_string_value(json_object_get(c, "type"));
                if (t && strcmp(t, type) == 0)
                        return c;
        }
        return NULL;
}

bool op_condition_true(const json_t *obj, const char *type)
{
        const json_t *c =
            op_condition_find(json_object_get(json_object_get(obj, "status"), "conditions"), type);
        const char *s = json_string_value(json_object_get(c, "status"));
        return s && strcmp(s, "True") == 0;
}

static bool str_field_is(const json_t *c, const char *key, const char *want)
{
        const char *v = json_string_value(json_object_get(c, key));
        return v && strcmp(v, want) == 0;
}

int op_condition_set(json_t *conditions, const char *type, const char *status, const char *reason,
                     const char *message, long long generation, const char *now, bool *ret_changed)
{
        json_t *c = (json_t *)op_condition_find(conditions, type);
        bool changed = false;
        if (!c) {
                c = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", type, "status", status,
                              "observedGeneration", (json_int_t)generation, "lastTransitionTime", now,
                              "reason", reason, "message", message);
                if (!c || json_array_append_new(conditions, c) < 0)
                        return -ENOMEM;
                *ret_changed = true;
                return 0;
        }
        if (!str_field_is(c, "status", status)) {
                if (json_object_set_new(c, "status", json_string(status)) < 0 ||
                    json_object_set_new(c, "lastTransitionTime", json_string(now)) < 0)
                        return -ENOMEM;
                changed = true;
        }
        if (!str_field_is(c, "reason", reason)) {
                if (json_object_set_new(c, "reason", json_string(reason)) < 0)
                        return -ENOMEM;
                changed = true;
        }
        if (!str_field_is(c, "message", message)) {
                if (json_object_set_new(c, "message", json_string(message)) < 0)
                        return -ENOMEM;
                changed = true;
        }
        json_t *g = json_object_get(c, "observedGeneration");
        if (!json_is_integer(g) || json_integer_value(g) != generation) {
                if (json_object_set_new(c, "observedGeneration", json_integer(generation)) < 0)
                        return -ENOMEM;
                changed = true;
        }
        if (!json_string_value(json_object_get(c, "lastTransitionTime"))) {
                if (json_object_set_new(c, "lastTransitionTime", json_string(now)) < 0)
                        return -ENOMEM;
                changed = true;
        }
        *ret_changed = changed;
        return 0;
}
