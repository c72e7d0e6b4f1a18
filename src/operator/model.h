/* model.h - the desired platform of one app as the renderers see it: everything derived from its
 * AppPlatformRegistration and the operator configuration, already validated. Renderers are pure
 * functions of this (plus key material passed explicitly); see render.h. Strings are borrowed. */
#pragma once

#include <stddef.h>

#include "operator/names.h"

enum ap_role { AP_ROLE_ADMIN, AP_ROLE_DEVELOPER, AP_ROLE_READER, AP_ROLE_COUNT };

/* "admin", "developer", "reader". */
const char *ap_role_name(enum ap_role r);
/* Parse a role name; -EINVAL for anything else. */
_warn_unused_ int ap_role_parse(const char *s, enum ap_role *ret);

struct ap_access {
        const char *group; /* the SSO group as the ID token names it (without the RBAC prefix) */
        enum ap_role role;
};

struct ap_platform {
        const struct ap_app_names *names;
        const char *const *namespaces; /* env namespaces from spec.namespaces: sorted, unique, validated */
        size_t n_namespaces;
        const struct ap_access *access; /* spec.access, sorted by group then role */
        size_t n_access;
        const char *group_prefix; /* prepended to group names in RoleBindings (e.g. "oidc:"), may be "" */
        const char *recipient;    /* the app's age recipient "age1..." */
        const char *clone_url;    /* the platform repo URL Flux clones */
        const char *branch;       /* the platform repo branch */
        const char *repo_display; /* "owner/name" or a path, for the README */
        const char *git_interval; /* GitRepository spec.interval, e.g. "1m0s" */
        const char *ks_interval;  /* Kustomization spec.interval, e.g. "10m0s" */
};
