/* status.c - condition lookups on cached objects, over src/kube/meta.h (see operator_internal.h). */
#include <string.h>

#include "kube/meta.h"
#include "operator/operator_internal.h"

bool op_condition_true(const json_t *obj, const char *type)
{
        return ap_kube_condition_is_true(json_object_get(json_object_get(obj, "status"), "conditions"), type);
}
