/* view.h - what the API shows of each Kubernetes object: pure functions from a cached object to the JSON
 * shape of DESIGN 1.6 (README "Dashboard API"). Secret views carry key names only: the caches hold no
 * values, and these functions never read data values either. All return new references (NULL when out of
 * memory). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#define AP_DASH_LABEL_APP        "labrats.work/app"
#define AP_DASH_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define AP_DASH_OPERATOR         "app-platform-operator"
#define AP_DASH_LABEL_SECRET     "labrats.work/managed-secret"
#define AP_DASH_LABEL_OIDC       "labrats.work/oidc-client"
#define AP_DASH_LABEL_NS_ROLE    "labrats.work/namespace-role"
#define AP_DASH_ANN_TARGETS      "labrats.work/target-namespaces"
#define AP_DASH_ANN_TARGET_NAME  "labrats.work/target-name"
#define AP_DASH_ANN_COMMITTED    "labrats.work/committed"
#define AP_DASH_ANN_DELETE       "labrats.work/marked-for-deletion"
#define AP_DASH_ANN_LAST_ERROR   "labrats.work/last-error"
#define AP_DASH_ANN_COMMIT       "labrats.work/commit"
#define AP_DASH_ANN_REQUESTED_BY "labrats.work/requested-by"
#define AP_DASH_ANN_OIDC_STATUS  "labrats.work/oidc-status"
#define AP_DASH_ANN_RECONCILE    "reconcile.fluxcd.io/requestedAt"
/* where the OIDC transform keeps the two non-secret fields of an OIDC client Secret */
#define AP_DASH_OIDC_FIELDS "x-dashboard-oidc"

/* The condition of that type in a conditions array (borrowed), or NULL. Stands in for
 * ap_kube_condition_find until src/kube has it. */
const json_t *ap_dash_condition_find(const json_t *conditions, const char *type);
/* A label or annotation value (borrowed), or NULL. */
const char *ap_dash_label(const json_t *obj, const char *key);
const char *ap_dash_annotation(const json_t *obj, const char *key);
/* True when the operator made the object (the "Managed" badge: read-only through the API). */
bool ap_dash_is_managed(const json_t *obj);

json_t *ap_dash_view_registration(const json_t *obj);
json_t *ap_dash_view_gitrepository(const json_t *obj);
json_t *ap_dash_view_kustomization(const json_t *obj);
/* name with its role ("platform" or "app") and the Namespace object when it exists (may be NULL). */
json_t *ap_dash_view_namespace(const char *name, const char *role, const json_t *ns_obj);
/* platform_kusts: the operator's Kustomizations in '<app>-platform' (they apply the platform repo), for
 * the Applied status; may be NULL. */
json_t *ap_dash_view_secret(const json_t *obj, const json_t *platform_kusts);
/* The status a secret view shows ("Pending", "Committed", "Applied", "Deleting", "Error"). */
const char *ap_dash_secret_status(const json_t *obj, const json_t *platform_kusts);
json_t *ap_dash_view_oidc_client(const json_t *obj, const char *issuer);
/* Keep an OIDC client Secret's hostname and callbackPath (not secret) under AP_DASH_OIDC_FIELDS, then
 * strip every value (ap_kube_transform_strip_secret_values). An informer transform. */
void ap_dash_transform_oidc_secret(void *userdata, json_t *obj);
