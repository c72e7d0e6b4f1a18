/* secret_pass.h - one pass of the managed-secret reconciler over all intents of one app, shared by
 * managed_secret.c (the flow: commit, annotations, deletions) and secret_plan.c (validation and the
 * change set). Not for use outside these files. */
#pragma once

#include "operator/operator_internal.h"
#include "operator/render.h"

#define SEC_MAX_DATA    ((size_t)1 << 20) /* Kubernetes' limit on a Secret's data */
#define SEC_NAME_MAX    253
#define SEC_TARGETS_MAX 64

struct sec_intent {
        const json_t *obj; /* borrowed from the pass's list */
        const char *name;
        bool deleting;  /* marked-for-deletion, or being deleted */
        bool finalizer; /* carries labrats.work/cleanup */
        bool valid;
        char error[1024]; /* why it is refused (valid false) */
        char **targets;   /* valid: its target namespaces (owned, sorted) */
        size_t n_targets;
        char *target_name;
        char requested_by[128]; /* sanitised labrats.work/requested-by, "" when unset */
        bool touched;           /* a file of it is written or removed by this pass */
        char rv[64];            /* the resourceVersion this pass works on (our own writes move it on) */
        bool stale;             /* the Secret changed during the pass: its next pass settles it */
        /* an OIDC Secret delivered to target-namespaces (oidc_client.c): */
        json_t *data;     /* what is delivered instead of the Secret's own data (owned), or NULL */
        bool quiet;       /* not deliverable now (the OIDC reconciler says why): files kept, no annotations */
        bool keep_object; /* deleting means undelivering: files and finalizer go, the Secret stays */
        bool restored;    /* ... because the committed file had been changed by hand */
};

struct sec_change {
        char *path;
        struct ap_buf data; /* the SOPS file */
        bool remove;
        int intent;      /* index into the intents, -1 for a file no intent owns */
        const char *why; /* "update", "create", "restore", "delete", "remove" */
};

struct sec_pass {
        struct ap_operator *op;
        struct op_app *a;
        struct ap_app_names n;
        json_t *reg;  /* the registration (owned), NULL when there is none */
        json_t *list; /* the intents (owned array) */
        struct sec_intent *in;
        size_t n_in;
        const char **spec_ns; /* spec.namespaces of the registration (borrowed from reg) */
        size_t n_spec_ns;
        char **files; /* paths under secrets/ at the branch tip (owned) */
        size_t n_files, cap_files;
        struct sec_change *ch;
        size_t n_ch, cap_ch;
        struct ap_platform plat;
        /* the keys of the pass: files are (re-)encrypted to enc_rcp and kept when they already are;
         * committed files are read with dec_ids (normally the app's key; a rotation passes the new
         * recipient and the old key) */
        struct ap_age_recipient *enc_rcp;
        const char *enc_recipient;
        struct ap_age_identity *dec_id;
        bool rotate;         /* also re-encrypt the files refused intents keep */
        const char *rot_req; /* the rotation request, for the commit message */
        bool tip_tried;      /* settle asked the remote for the tip (untouched_commit) */
};

/* Add a change to the pass's change set (data taken, may be NULL for a removal). */
int sec_add_change(struct sec_pass *s, const char *path, struct ap_buf *data, bool remove, int intent,
                   const char *why);
/* Recreate the intents of the app from the files under secrets/ (disaster recovery; see
 * secret_restore.c), Committed at tip; *ret_restored counts them. */
int sec_restore(struct sec_pass *s, const char *tip, size_t *ret_restored, struct ap_error *err);
/* The next name of a target-namespaces value (names separated by commas and spaces) at *p: its length
 * (0 at the end) and its start in *ret; *p moves past it. The one reading of that value: the planner's
 * (sec_parse_targets) and the Flux-orphan sweep's (flux_orphans.c) must agree on what an intent targets. */
size_t sec_next_target(const char **p, const char **ret);
/* Split a target-namespaces value into sorted unique names (*ret owned, freed with op_strv_free), each
 * one of spec_ns; -1 with a sentence in why when refused, -ENOMEM. */
int sec_parse_targets(const char *const *spec_ns, size_t n_spec_ns, const char *app, const char *value,
                      char ***ret, size_t *ret_n, char *why, size_t why_size);
/* Validate every intent (name, targets, target name, keys, size) against the registration. */
int sec_classify(struct sec_pass *s);
/* The change set: each valid intent's files re-encrypted only when what is committed differs, files of
 * deleted intents and files no intent owns removed. Reads the platform repo (synced by the caller). */
int sec_plan(struct sec_pass *s, struct ap_error *err);
