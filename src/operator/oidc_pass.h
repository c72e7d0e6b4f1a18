/* oidc_pass.h - shared by the two passes of the OIDC client reconciler: oidc_client.c (keyed by app: the
 * checks, the clientSecret, labrats.work/oidc-status, Events; the managed-secret hooks) and
 * oidc_authelia.c (one key: the whole Authelia file, its Secret, the rollout). Both classify every OIDC
 * Secret the same way from the caches (oidc_set_load), so they agree on which clients are valid and who
 * owns a client_id. Not for use outside these files. */
#pragma once

#include "operator/oidc.h"
#include "operator/operator_internal.h"

struct oidc_item {
        const json_t *obj; /* borrowed from the set's list */
        const char *ns, *name;
        char app[AP_NAME_BUF];
        bool deleting; /* being deleted or marked for deletion: not a client any more */
        bool valid;
        char why[1024]; /* !valid: the message after "Error: " */
        struct ap_oidc_spec spec;
        struct ap_buf secret; /* the clientSecret when spec.has_secret (secret buffer) */
};

struct oidc_set {
        json_t *list; /* every OIDC Secret in the cache (owned) */
        struct oidc_item *items;
        size_t n;
};

/* Classify every OIDC Secret this operator handles (platform namespaces; with --watch-label-selector
 * only the selected registrations' apps). -ENOMEM only. */
int oidc_set_load(struct ap_operator *op, struct oidc_set *set);
void oidc_set_release(struct oidc_set *set);

/* What the last successful Authelia pass gave Authelia; the per-app pass reads it to tell Registered
 * from Pending. lock guards every field. */
struct op_oidc_state {
        pthread_mutex_t lock;
        bool known;                /* an Authelia pass has completed since start */
        struct ap_keymap rolled;   /* client_id -> fingerprint (char[65], malloc'd) Authelia runs with */
        char message[1024];        /* why the last Authelia pass failed, "" when it did not */
        struct ap_keymap verified; /* client_id -> struct oidc_verified: digests known to verify */
};

/* The pass of OP_OIDC_AUTHELIA_KEY (oidc_authelia.c). */
int oidc_authelia_reconcile(struct ap_operator *op, struct ap_kube_reconcile_result *res);
