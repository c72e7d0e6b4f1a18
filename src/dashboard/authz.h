/* authz.h - who the user is to Kubernetes and what they may do. The user and groups from the IdP become
 * impersonation headers with a configured prefix ("oidc:"), so no IdP value can ever name a system:
 * identity or group; values that are empty, over 256 bytes or hold control characters are dropped. Reads
 * of an app's objects are allowed by the user's role in the app's spec.access (checked here against the
 * cache); writes are sent as the user and Kubernetes RBAC decides. Which actions to offer comes from
 * SelfSubjectAccessReviews sent as the user, cached briefly. Thread-safe. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "base/error.h"
#include "cache.h"
#include "kube/client.h"
#include "kube/url.h"

struct ap_dash_user {
        const char *sub;     /* the IdP subject */
        const char *name;    /* the username claim (or sub) */
        const char *sid;     /* session id (CSRF binding) */
        const char **groups; /* IdP groups as sent (for spec.access) */
        size_t n_groups;
        bool platform_admin;  /* in the platform-admin group */
        const char *imp_user; /* prefix + name */
        const char **imp_groups;
        size_t n_imp_groups;
};

struct ap_dash_authz;

/* prefix: must be non-empty, not start with "system:" and end in ':' or '-' or '/'. */
int ap_dash_authz_new(struct ap_kube_client *kc, struct ap_dash_cache *cache, const char *prefix,
                      const char *platform_admin_group, long cache_ms, struct ap_dash_authz **ret,
                      struct ap_error *err);
struct ap_dash_authz *ap_dash_authz_free(struct ap_dash_authz *z);
/* Check an impersonation prefix (the rules above). */
int ap_dash_authz_check_prefix(const char *prefix, struct ap_error *err);

/* Fill u (strings in arena) from a session payload {sid, sub, usr, grp}. -EINVAL when the user name is
 * unusable. */
int ap_dash_authz_user(struct ap_dash_authz *z, struct ap_dash_arena *a, const json_t *session,
                       struct ap_dash_user *u, struct ap_error *err);
/* Set o's impersonation fields to u (borrowed pointers). */
void ap_dash_authz_as(const struct ap_dash_user *u, struct ap_kube_opts *o);

/* The user's role in app (the highest of their groups' access rows); ROLE_NONE when none. */
enum ap_dash_role ap_dash_authz_role(const struct ap_dash_user *u, const struct ap_dash_app *app);
/* The names of the apps u holds a role in (all apps for a platform admin), arena strings. */
size_t ap_dash_authz_apps(const struct ap_dash_user *u, const struct ap_dash_apps *apps,
                          struct ap_dash_arena *a, const char ***ret);

/* What u may do in app, from SelfSubjectAccessReviews as u (cached): a new object
 * {"secrets":{create,update,delete}, "gitrepositories":{ns:{create,delete,patch}}, "kustomizations":...}. */
int ap_dash_authz_permissions(struct ap_dash_authz *z, const struct ap_dash_user *u,
                              const struct ap_dash_app *app, json_t **ret, struct ap_error *err);
/* One SelfSubjectAccessReview as u: *ret_allowed. */
int ap_dash_authz_can(struct ap_dash_authz *z, const struct ap_dash_user *u, const char *verb,
                      const char *group, const char *resource, const char *ns, const char *name,
                      bool *ret_allowed, struct ap_error *err);
