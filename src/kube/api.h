/* api.h - the verbs of the Kubernetes API on top of the REST client: get, list (one page, each item
 * page by page, or everything), create, update (with resourceVersion, optionally the status
 * subresource), patch (merge, JSON, strategic merge, server-side apply), delete (preconditions,
 * propagation) and a read-modify-write helper that retries on conflicts. Objects are jansson values;
 * returned objects are new references the caller decrefs. Errors: see status.h. */
#pragma once

#include "base/macro.h"

#include <jansson.h>

#include "client.h"

enum ap_kube_patch_type {
        AP_KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
        AP_KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
        AP_KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
        AP_KUBE_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply, needs field_manager */
};

/* ret may be NULL everywhere a result object is optional. st may be NULL (see client.h). */
int ap_kube_get(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns, const char *name,
                const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                struct ap_error *err) _warn_unused_;

/* One page as the server returns it ({items, metadata: {resourceVersion, continue}}). ns NULL lists across
 * namespaces. */
int ap_kube_list(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                 const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                 struct ap_error *err) _warn_unused_;

/* Walk every item of a paged list (page size o->limit, default 500), handing each item (borrowed; incref to
 * keep) to fn as it streams in, so memory holds one item at a time (not even a page: the watch cache may
 * ignore the limit). A negative return from fn stops the walk and is
 * returned. *ret_rv (may be NULL) receives the list's resourceVersion (malloc'd) on success. An expired
 * continue token fails with AP_KUBE_E_GONE: the caller starts over. */
typedef int (*ap_kube_item_fn)(void *userdata, json_t *item);
int ap_kube_list_each(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                      const struct ap_kube_opts *o, ap_kube_item_fn fn, void *userdata, char **ret_rv,
                      struct ap_kube_status *st, struct ap_error *err) _warn_unused_;
/* All pages merged into one list object {items: [...], metadata: {resourceVersion}}. */
int ap_kube_list_all(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                     const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                     struct ap_error *err) _warn_unused_;

/* ns NULL = the object's metadata.namespace. */
int ap_kube_create(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                   const json_t *obj, const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err) _warn_unused_;
/* PUT the whole object (name and namespace from its metadata). With metadata.resourceVersion set the write
 * only succeeds if nobody changed the object meanwhile (else AP_KUBE_E_CONFLICT). o->subresource =
 * "status" writes the status subresource. */
int ap_kube_update(struct ap_kube_client *c, const struct ap_kube_resource *r, const json_t *obj,
                   const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err) _warn_unused_;
int ap_kube_patch(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                  const char *name, enum ap_kube_patch_type type, const json_t *patch,
                  const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                  struct ap_error *err) _warn_unused_;
/* Server-side apply of the full desired object (apiVersion, kind, metadata.name[, namespace] required);
 * o->field_manager is required, o->force takes conflicting fields over. */
int ap_kube_apply(struct ap_kube_client *c, const struct ap_kube_resource *r, const json_t *obj,
                  const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                  struct ap_error *err) _warn_unused_;
/* DELETE with o->precondition_uid / precondition_rv, o->propagation_policy, o->grace_period_seconds.
 * *ret (may be NULL) gets what the server returned (the object while finalizers hold it, or a Status). */
int ap_kube_delete(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                   const char *name, const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err) _warn_unused_;

/* Read-modify-write: GET the object, let mutate change it in place (return 0 to write, 1 to skip the
 * write as nothing changed, negative to fail), PUT it with the read resourceVersion; on a conflict start
 * over, up to `attempts` times (0 = 5) with a short growing pause. *ret (may be NULL) gets the result. */
typedef int (*ap_kube_mutate_fn)(void *userdata, json_t *obj);
int ap_kube_update_retry(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                         const char *name, ap_kube_mutate_fn mutate, void *userdata, int attempts,
                         const struct ap_kube_opts *o, json_t **ret, struct ap_error *err) _warn_unused_;

/* Generic JSON request: body may be NULL; *ret (may be NULL) gets the decoded 2xx body. */
int ap_kube_request_json(struct ap_kube_client *c, const char *method, const char *url,
                         const char *content_type, const json_t *body, const struct ap_kube_opts *o,
                         json_t **ret, struct ap_kube_status *st, struct ap_error *err) _warn_unused_;
