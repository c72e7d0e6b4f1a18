/* meta.h - what controllers do to object metadata and status: finalizers added and removed on a live
 * object with optimistic concurrency (a merge patch carrying the resourceVersion read, retried on
 * conflict, no write when already as wanted), and metav1.Condition lists set the way the apimachinery
 * helpers do (lastTransitionTime changes only when the status flips; the caller learns whether anything
 * changed, so an unchanged status need not be written). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "api.h"

bool ap_kube_obj_has_finalizer(const json_t *obj, const char *finalizer);

/* Make sure obj (resource r, ns/name) carries finalizer (add) or does not (remove): GET it, and unless
 * it already is as wanted, PATCH metadata.finalizers with the resourceVersion read (a conflict re-reads
 * and retries, up to 8 times). o: impersonation and timeout (may be NULL). *ret_obj (may be NULL) gets
 * the object as it now is (a new reference). remove on an object that is gone returns 0 with *ret_obj
 * set to NULL; add on one returns AP_E_NOT_FOUND. Adding to an object being deleted is refused by the
 * apiserver (AP_E_INVALID / AP_E_FORBIDDEN). */
int ap_kube_finalizer_add(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                          const char *name, const char *finalizer, const struct ap_kube_opts *o,
                          json_t **ret_obj, struct ap_error *err) _warn_unused_;
int ap_kube_finalizer_remove(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                             const char *name, const char *finalizer, const struct ap_kube_opts *o,
                             json_t **ret_obj, struct ap_error *err) _warn_unused_;

/* The condition of that type in a status.conditions array (borrowed), or NULL. */
const json_t *ap_kube_condition_find(const json_t *conditions, const char *type);
/* True when the condition of that type exists with status "True". */
bool ap_kube_condition_is_true(const json_t *conditions, const char *type);

/* Set the condition of that type in conditions (a JSON array, changed in place) as metav1's
 * SetStatusCondition does: a new type is appended with lastTransitionTime = now_rfc3339; for an existing
 * one lastTransitionTime changes only when status changes, and reason, message and observedGeneration
 * are updated. status is "True", "False" or "Unknown"; reason is CamelCase (metav1's pattern,
 * ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$, at most 1024 bytes); message at most 32768 bytes (NULL = "");
 * observed_generation < 0 leaves the field out. *ret_changed (may be NULL) tells whether anything
 * changed. AP_E_INVALID for a bad argument, AP_E_TOO_LARGE for a long message, -ENOMEM. */
int ap_kube_condition_set(json_t *conditions, const char *type, const char *status, const char *reason,
                          const char *message, long long observed_generation, const char *now_rfc3339,
                          bool *ret_changed) _warn_unused_;
