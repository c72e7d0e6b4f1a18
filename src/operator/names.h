/* names.h - the names the platform derives from an app name (DESIGN 1.1-1.3) and the checks Kubernetes
 * applies to names, so that bad input is refused with a clear message before anything is written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define AP_APP_NAME_MAX 40 /* so '<app>-platform' and '<app>-<env>' stay valid namespace names */
#define AP_NAME_BUF     64 /* a DNS-1123 label and its NUL */

#define AP_LABEL_APP            "labrats.work/app"
#define AP_LABEL_NS_ROLE        "labrats.work/namespace-role"
#define AP_LABEL_MANAGED_BY     "app.kubernetes.io/managed-by"
#define AP_MANAGED_BY           "app-platform-operator"
#define AP_LABEL_MANAGED_SECRET "labrats.work/managed-secret"
#define AP_LABEL_OIDC_CLIENT    "labrats.work/oidc-client"
#define AP_ANN_TARGET_NS        "labrats.work/target-namespaces"
#define AP_ANN_TARGET_NAME      "labrats.work/target-name"
#define AP_ANN_COMMITTED        "labrats.work/committed"
#define AP_ANN_DELETE           "labrats.work/marked-for-deletion"
#define AP_ANN_LAST_ERROR       "labrats.work/last-error"
#define AP_ANN_COMMIT           "labrats.work/commit"
#define AP_ANN_REQUESTED_BY     "labrats.work/requested-by"
#define AP_ANN_OIDC_STATUS      "labrats.work/oidc-status"
#define AP_ANN_CONTENT_HASH     "labrats.work/content-hash"
#define AP_ANN_ROTATE_KEY       "labrats.work/rotate-key"
#define AP_ANN_ROTATION         "labrats.work/rotation"        /* on the key Secret: the request handled */
#define AP_ANN_ROTATION_PHASE   "labrats.work/rotation-phase"  /* dual, reencrypted, done */
#define AP_ANN_ROTATION_COMMIT  "labrats.work/rotation-commit" /* the re-encryption commit */
#define AP_ANN_RESTORE          "labrats.work/restore-secrets" /* on the age key Secret: recreate intents from Git */
#define AP_ANN_SOURCE           "labrats.work/source" /* on delivered Secrets: <app>-platform/<intent> */
#define AP_FINALIZER            "labrats.work/cleanup"
#define AP_FIELD_MANAGER        "app-platform-operator"
#define AP_FLUX_PRUNE_ANN       "kustomize.toolkit.fluxcd.io/prune"
#define AP_FLUX_REQUESTED_AT    "reconcile.fluxcd.io/requestedAt"

#define AP_AGE_KEY_FILE_KEY                                                                                  \
        "age.agekey" /* the key of the age-key Secret (kustomize-controller wants *.agekey) */

/* The names of one app's objects; every field is NUL-terminated and fits a DNS-1123 label. */
struct ap_app_names {
        char app[AP_NAME_BUF];
        char platform_ns[AP_NAME_BUF];     /* <app>-platform */
        char age_secret[AP_NAME_BUF];      /* <app>-platform-age-key (operator ns and platform ns) */
        char git_auth_secret[AP_NAME_BUF]; /* <app>-platform-git-auth (operator ns and platform ns) */
        char flux_sa[AP_NAME_BUF];         /* <app>-flux, in the platform ns */
        char flux_object[AP_NAME_BUF];     /* <app>-platform: the GitRepository and the Kustomization */
        char default_repo[AP_NAME_BUF];    /* <app>-platform */
};

/* Check an app name (a DNS-1123 label of at most 40 characters) and fill in the derived names. */
_warn_unused_ int ap_app_names_init(struct ap_app_names *n, const char *app, struct ap_error *err);

/* DNS-1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric. */
bool ap_is_dns1123_label(const char *s);
/* DNS-1123 subdomain: 1-253 characters, labels of [a-z0-9-] separated by dots (a Secret's name). */
bool ap_is_dns1123_subdomain(const char *s);
/* A Secret data key: 1-253 of [-._a-zA-Z0-9]. */
bool ap_is_secret_key(const char *s);

/* The app a namespace belongs to by name when it is '<app>-platform' (copied into app, size >= 64), or
 * false. */
bool ap_app_from_platform_ns(const char *ns, char *app, size_t size);
