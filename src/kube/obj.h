/* obj.h - small accessors of the metadata every Kubernetes object carries (name, namespace,
 * resourceVersion, uid, labels, annotations, generation) and the "namespace/name" key the cache and the
 * workqueue use. Objects are jansson values; strings returned are borrowed from the object (valid while it
 * lives and is not changed), NULL when absent. */
#pragma once

#include <jansson.h>

#include "base/buf.h"

const char *ap_kube_obj_name(const json_t *obj);
/* NULL for cluster-scoped objects (an empty namespace counts as none). */
const char *ap_kube_obj_namespace(const json_t *obj);
const char *ap_kube_obj_resource_version(const json_t *obj);
const char *ap_kube_obj_uid(const json_t *obj);
const char *ap_kube_obj_label(const json_t *obj, const char *key);
const char *ap_kube_obj_annotation(const json_t *obj, const char *key);
/* Whether two values are equal, where two absent (NULL) values are equal too (json_equal says they
 * differ). */
bool ap_kube_obj_same(const json_t *a, const json_t *b);
/* metadata.generation, 0 when absent. */
long long ap_kube_obj_generation(const json_t *obj);
/* Append "namespace/name", or "name" for cluster-scoped objects, to out: the cache and workqueue key.
 * -EINVAL without a name; -E2BIG / -ENOMEM from the buffer. */
int ap_kube_obj_key(const json_t *obj, struct ap_buf *out) _warn_unused_;

/* jansson's parse error text without its " near '<input>'" part, so a message never quotes what was
 * parsed (it may be Secret data). */
void ap_kube_json_error_cause(const json_error_t *jerr, char *buf, size_t size);
