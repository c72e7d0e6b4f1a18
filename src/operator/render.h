/* render.h - what the operator writes, as pure functions from a struct ap_platform (and key material
 * passed in) to Kubernetes objects (jansson, new references) or file bytes. Nothing here does I/O, reads
 * a clock or draws randomness, so the same state always renders the same bytes; golden-file tests in
 * test/operator pin them. Objects carry the labels of DESIGN 1.2 (labrats.work/app and
 * app.kubernetes.io/managed-by). Functions returning json_t * return NULL only when out of memory. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"
#include "operator/model.h"

/* ---- platform repo (render_platform.c) ---- */

/* .sops.yaml: one creation rule for secrets/ with the app's recipient and encrypted_regex. */
_warn_unused_ int ap_render_sops_config(const struct ap_platform *p, struct ap_buf *out,
                                        struct ap_error *err);
/* README.md: what the repository is and who writes what. */
_warn_unused_ int ap_render_readme(const struct ap_platform *p, struct ap_buf *out, struct ap_error *err);

/* ---- objects (render_objects.c) ---- */

/* metadata.labels of everything the operator creates for the app. */
json_t *ap_render_labels(const struct ap_platform *p);
/* A Namespace: the platform namespace (platform true) or an env namespace, with the app and role labels
 * and Flux's prune-disabled annotation (a namespace is never deleted by pruning the Flux repo). */
json_t *ap_render_namespace(const struct ap_platform *p, const char *name, bool platform);
/* The ServiceAccount '<app>-flux' in the platform namespace (the platform Kustomization runs as it). */
json_t *ap_render_flux_sa(const struct ap_platform *p);
/* RoleBinding '<app>-flux' in ns binding '<app>-flux' to ClusterRole app-platform-flux (platform
 * namespace) or app-platform-admin (env namespaces). */
json_t *ap_render_flux_rolebinding(const struct ap_platform *p, const char *ns);
/* The Secret '<app>-platform-age-key' in the platform namespace holding the age key file (key
 * age.agekey) kustomize-controller decrypts the platform repo with. keyfile is secret. */
json_t *ap_render_age_secret(const struct ap_platform *p, const char *keyfile, size_t keyfile_len);
/* The Secret '<app>-platform-git-auth' in the platform namespace: the deploy key Flux clones with
 * (identity, identity.pub, known_hosts). identity is secret. */
json_t *ap_render_git_auth_secret(const struct ap_platform *p, const char *identity, const char *identity_pub,
                                  const char *known_hosts);
/* The GitRepository and the Kustomization '<app>-platform' in the platform namespace. */
json_t *ap_render_gitrepository(const struct ap_platform *p);
json_t *ap_render_kustomization(const struct ap_platform *p);
/* RoleBinding 'app-platform-<role>' in ns for every spec.access group with that role (group names with
 * the prefix), bound to ClusterRole clusterrole; NULL with *ret_none set when no group has the role. */
json_t *ap_render_access_rolebinding(const struct ap_platform *p, const char *ns, enum ap_role role,
                                     const char *clusterrole, bool *ret_none);
/* RoleBinding 'app-platform-dashboard' in the platform namespace: the dashboard's ServiceAccount sa_ns/sa
 * may read the app's Secrets there (ClusterRole app-platform-dashboard-secrets; the dashboard keeps key
 * names and status, never values). */
json_t *ap_render_dashboard_rolebinding(const struct ap_platform *p, const char *sa_ns, const char *sa);
/* Role and RoleBinding 'secret-reader' in the platform namespace: 'get' on exactly the Secrets named
 * (managed and OIDC secrets, never the age key or the deploy key) for the ServiceAccount 'secret-reader'
 * of every env namespace. names sorted; with none the Role has no rules. */
json_t *ap_render_secret_reader_role(const struct ap_platform *p, const char *const *names, size_t n);
json_t *ap_render_secret_reader_binding(const struct ap_platform *p);

/* ---- cluster Flux repo entries, DESIGN 1.3 (render_flux.c) ---- */

struct ap_flux_files {
        struct ap_buf kustomization; /* apps/<app>-platform/kustomization.yaml */
        struct ap_buf namespace;     /* namespace.yaml: the platform and env namespaces */
        struct ap_buf rbac;          /* rbac.yaml: '<app>-flux' and its RoleBindings */
        struct ap_buf sync;          /* sync.yaml: GitRepository + Kustomization */
};
void ap_flux_files_init(struct ap_flux_files *f);
void ap_flux_files_release(struct ap_flux_files *f);
/* Render the four plain files. flux_ns are the namespaces '<app>-flux' is bound in (the env namespaces
 * plus any still holding objects Flux must prune), sorted. */
_warn_unused_ int ap_render_flux_files(const struct ap_platform *p, const char *const *flux_ns,
                                       size_t n_flux_ns, struct ap_flux_files *out, struct ap_error *err);
/* The file names in the app's folder, in the kustomization's order. */
extern const char *const ap_flux_file_names[6];
/* registration.yaml: a copy of the registration (name, labels, spec; keys sorted) beside the entries,
 * NOT listed in kustomization.yaml (Flux never applies it): after a disaster an admin re-creates the
 * registrations from these files. */
#define AP_FLUX_REGISTRATION_FILE "registration.yaml"
_warn_unused_ int ap_render_registration_backup(const struct ap_platform *p, const json_t *labels,
                                                const json_t *spec, struct ap_buf *out, struct ap_error *err);

/* ---- target Secrets of managed secrets (render_secret.c) ---- */

struct ap_secret_source {
        const char *name;      /* the intent's name in the platform namespace */
        const char *type;      /* the intent's type; NULL/"" = Opaque */
        const json_t *data;    /* the intent's data: key -> base64 value (borrowed) */
        const char *target_ns; /* one of its targets */
        const char *target_name;
};
/* The plaintext v1 Secret manifest for one target (keys sorted), as a YAML document, into out (a secret
 * buffer). */
_warn_unused_ int ap_render_target_secret(const struct ap_platform *p, const struct ap_secret_source *s,
                                          struct ap_buf *out, struct ap_error *err);
/* secrets/<target-ns>/<name>.sops.yaml */
_warn_unused_ int ap_render_secret_path(const char *target_ns, const char *name, struct ap_buf *out);

/* A '# ...' header naming the generator, prepended to every plain file the operator writes. */
#define AP_RENDER_HEADER "# Generated by app-platform-operator. Do not edit: changes are overwritten.\n"

/* ---- Authelia's OIDC clients, DESIGN 1.3 (render_authelia.c) ---- */

/* One client of the rendered list. Strings borrowed; digest is the '$pbkdf2-sha512$...' of its secret. */
struct ap_authelia_client {
        const char *client_id;
        const char *client_name;
        const char *digest;
        const char *redirect_uri;         /* absolute https */
        const char *authorization_policy; /* one_factor | two_factor */
        const char *auth_method;          /* client_secret_basic | client_secret_post */
        bool offline_access;              /* also scope offline_access and grant refresh_token */
};
/* The whole file Authelia reads as one more configuration file: identity_providers.oidc.claims_policies
 * (AP_OIDC_CLAIMS_POLICY: groups, preferred_username and email in the ID token) and
 * identity_providers.oidc.clients, every client confidential, authorization code flow, scopes openid,
 * profile, email, groups (with offline_access: also that scope and the refresh_token grant). clients must be
 * sorted by client_id without duplicates (AP_E_INVALID otherwise); with none the clients key is left out. */
_warn_unused_ int ap_render_authelia_clients(const struct ap_authelia_client *clients, size_t n,
                                             struct ap_buf *out, struct ap_error *err);
/* The Secret ns/name holding file under the key clients.yml (labelled managed-by). */
json_t *ap_render_authelia_secret(const char *ns, const char *name, const struct ap_buf *file);
