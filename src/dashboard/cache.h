/* cache.h - what the dashboard reads, held by informers (so no read goes to the apiserver): the
 * registrations, the apps' namespaces, managed-secret and OIDC-client Secrets (values stripped before
 * caching: only key names remain), GitRepositories and Kustomizations. From the registrations it keeps a
 * snapshot of every app (namespaces, access rows) for authorization. Rendered list bodies are cached per
 * (kind, app) with a gzip twin and dropped when that kind changes, so a list request costs one lookup.
 * Every change is published on the SSE hub as the object's view. Thread-safe. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"
#include "events.h"
#include "http.h"
#include "kube/client.h"
#include "kube/url.h"

enum ap_dash_kind {
        AP_DASH_REGISTRATIONS,
        AP_DASH_NAMESPACES,
        AP_DASH_SECRETS,
        AP_DASH_OIDC,
        AP_DASH_GITREPOS,
        AP_DASH_KUSTS,
        AP_DASH_N_KINDS,
};

extern const struct ap_kube_resource ap_dash_res_registrations;
extern const struct ap_kube_resource ap_dash_res_gitrepositories;
extern const struct ap_kube_resource ap_dash_res_kustomizations;

enum ap_dash_role { AP_DASH_ROLE_NONE, AP_DASH_ROLE_READER, AP_DASH_ROLE_DEVELOPER, AP_DASH_ROLE_ADMIN };
const char *ap_dash_role_name(enum ap_dash_role r);
enum ap_dash_role ap_dash_role_parse(const char *s);

struct ap_dash_access {
        char *group; /* as the IdP sends it (unprefixed) */
        enum ap_dash_role role;
};

struct ap_dash_app {
        char *name;
        char *platform_ns; /* "<app>-platform" */
        char **namespaces; /* spec.namespaces */
        size_t n_ns;
        struct ap_dash_access *access;
        size_t n_access;
};

/* An immutable snapshot of every registered app, reference-counted. */
struct ap_dash_apps {
        int refs;
        struct ap_dash_app *v;
        size_t n;
};

struct ap_dash_cache;

/* kc and hub are borrowed. issuer: shown in OIDC client views. */
int ap_dash_cache_new(struct ap_kube_client *kc, struct ap_dash_hub *hub, const char *issuer,
                      struct ap_dash_cache **ret, struct ap_error *err);
/* Start the informers; waits up to timeout_ms for the core ones (registrations, namespaces, secrets). */
int ap_dash_cache_start(struct ap_dash_cache *c, long timeout_ms, struct ap_error *err);
void ap_dash_cache_stop(struct ap_dash_cache *c);
struct ap_dash_cache *ap_dash_cache_free(struct ap_dash_cache *c);
bool ap_dash_cache_synced(struct ap_dash_cache *c, enum ap_dash_kind k);
/* Whether the core informers have synced (readiness). */
bool ap_dash_cache_ready(struct ap_dash_cache *c);

/* The current snapshot (a reference: ap_dash_apps_unref). Never NULL. */
struct ap_dash_apps *ap_dash_cache_apps(struct ap_dash_cache *c);
void ap_dash_apps_unref(struct ap_dash_apps *a);
const struct ap_dash_app *ap_dash_apps_find(const struct ap_dash_apps *a, const char *name);
/* The app owning namespace ns ('<app>-platform' or a spec.namespaces entry), or NULL. */
const struct ap_dash_app *ap_dash_apps_by_namespace(const struct ap_dash_apps *a, const char *ns);
bool ap_dash_app_has_namespace(const struct ap_dash_app *app, const char *ns);

/* The cached list body {"items":[...]} of kind for app (ignored for registrations), gzip-encoded when
 * gzip; a reference the caller drops. NULL when out of memory. */
struct ap_dash_blob *ap_dash_cache_list(struct ap_dash_cache *c, enum ap_dash_kind k, const char *app,
                                        bool gzip);
/* One cached object (a copy the caller owns), or NULL. ns NULL for cluster-scoped kinds. */
json_t *ap_dash_cache_get(struct ap_dash_cache *c, enum ap_dash_kind k, const char *ns, const char *name);
/* The view of one object as list items show it (a new reference), or NULL when absent. */
json_t *ap_dash_cache_view(struct ap_dash_cache *c, enum ap_dash_kind k, const char *app, const json_t *obj);
