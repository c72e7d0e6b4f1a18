/* reg.h - one pass of the AppPlatformRegistration reconciler, shared by its step files: registration.c
 * (the flow, the spec, namespaces, status), reg_keys.c (the age key and the deploy key), reg_repo.c (the
 * platform repository), reg_flux.c (the cluster Flux repo entries and the Flux objects), reg_rbac.c (the
 * RoleBindings) and reg_delete.c (the finalizer's cleanup). Not for use outside these files. */
#pragma once

#include "operator/operator_internal.h"
#include "operator/render.h"

enum reg_cond { C_NAMESPACES, C_KEY, C_REPO, C_FLUX, C_RBAC, C_COUNT };

struct reg_cond_state {
        bool set;
        const char *status; /* "True", "False", "Unknown" */
        char reason[64];
        char message[1024];
};

struct reg {
        struct ap_operator *op;
        const struct ap_op_config *cfg;
        json_t *obj; /* the registration as cached (owned) */
        struct ap_app_names n;
        long long generation;
        struct op_app *app;

        /* the spec, validated */
        char **namespaces; /* usable env namespaces: listed, valid, not another app's (sorted) */
        size_t n_namespaces;
        struct ap_access *access;
        size_t n_access;
        char *repo_owner, *repo_name; /* the repository; owner NULL for local */
        bool delete_policy;           /* deletionPolicy: Delete */

        struct reg_cond_state conds[C_COUNT];
        bool failed;     /* a step failed: retry with backoff */
        bool repo_ready; /* the platform repo and deploy key are usable */

        struct ap_platform plat;

        /* key material (secret buffers) */
        struct ap_buf age_keyfile;     /* the age-keygen file text */
        struct ap_buf deploy_identity; /* OpenSSH private key */
        struct ap_buf deploy_pub;      /* "ssh-ed25519 AAAA... comment" */
        char *clone_url, *repo_url_shown;

        /* key rotation (reg_rotate.c), from the annotations of the key Secret */
        char rot_req[256];   /* the labrats.work/rotate-key value being (or last) handled */
        char rot_phase[16];  /* "", "dual", "reencrypted", "done" */
        char rot_commit[41]; /* the platform-repo commit that re-encrypted everything */
        char key_rv[64];     /* resourceVersion of the key Secret */
        bool requeue_soon;   /* a rotation step is due: reconcile again shortly */
        bool flux_checked;   /* C_FLUX comes from Flux's status: re-read it when the status is written */
        char *status_repo_url;
};

/* Record a condition's outcome (the first False of a pass wins its message). */
void reg_cond(struct reg *g, enum reg_cond c, bool ok, const char *reason, const char *fmt, ...)
    _printf_(5, 6);
/* Record a failed step from err: condition c False with reason, message "<what>: <err>", and mark the
 * pass failed (retried with backoff). Returns err->code. */
int reg_fail(struct reg *g, enum reg_cond c, const char *reason, const struct ap_error *err,
             const char *what);

/* reg_keys.c */
int reg_step_key(struct reg *g);        /* C_KEY: age key Secret, adopt or generate */
int reg_load_deploy_key(struct reg *g); /* the deploy key Secret, adopt or generate */
/* reg_rotate.c: labrats.work/rotate-key. begin runs in reg_step_key once the key file is loaded: on a
 * new request it puts a new key in front of the old one (both decrypt); the encryption key stays the old
 * one (index 1) until advance, run after the Flux step, has re-encrypted every file to the new key in one
 * commit and Flux applied it; then the old key is retired. Returns the index of the encryption identity
 * in the key file. */
int reg_rotation_begin(struct reg *g, struct ap_error *err);
void reg_rotation_advance(struct reg *g);
/* Replace the key Secret's key file (and set/clear annotations), guarded by its resourceVersion. */
int reg_update_key_secret(struct reg *g, const struct ap_buf *keyfile, json_t *anns, struct ap_error *err);

/* reg_repo.c */
int reg_step_repo(struct reg *g); /* C_REPO: repository, deploy key on the forge, .sops.yaml, README */
/* reg_flux.c */
int reg_step_flux(struct reg *g); /* C_FLUX: Flux repo entries, Flux objects, Flux's own status */
/* C_FLUX from Flux's own status of the platform GitRepository and Kustomization (the informers' caches;
 * no API call); replaces what C_FLUX held and sets flux_checked. ret_objs (may be NULL) gets the two
 * objects it read (the caller's, NULL when absent). */
void reg_flux_status(struct reg *g, json_t *ret_objs[2]);
/* reg_rbac.c */
int reg_step_rbac(struct reg *g); /* C_RBAC: access and secret-reader bindings, stale ones removed */
/* The namespaces a '<app>-flux' RoleBinding is needed in (sorted, owned strings in *ret). */
int reg_flux_namespaces(struct reg *g, char ***ret, size_t *ret_n);
/* Delete the app's RoleBindings of a kind ('<app>-flux'; 'app-platform-<role>' and 'secret-reader'; or
 * both) in every namespace not in keep; with keep NULL everywhere, else the platform namespace is kept. */
enum reg_prune { REG_PRUNE_FLUX, REG_PRUNE_ACCESS, REG_PRUNE_ALL };
int reg_prune_rolebindings(struct reg *g, char **keep, size_t n_keep, enum reg_prune which,
                           struct ap_error *err);
/* reg_delete.c */
int reg_finalize(struct reg *g, struct ap_kube_reconcile_result *res);
