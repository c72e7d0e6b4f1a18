/* operator_internal.h - the state one operator process shares between its reconcilers (registration.c,
 * managed_secret.c), and the helpers they use to act on the cluster (kobj.c), on Git (gitops.c), on
 * status (status.c) and on per-app state (app_state.c). Not for use outside src/operator. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/age.h"
#include "crypto/ssh_key.h"
#include "forge/forge.h"
#include "git/repo.h"
#include "kube/api.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/keymap.h"
#include "kube/manager.h"
#include "kube/metrics.h"
#include "kube/meta.h"
#include "kube/obj.h"
#include "operator/config.h"
#include "operator/model.h"
#include "operator/names.h"

/* Resources the operator works with beyond the core ones src/kube defines (resources.c). */
extern const struct ap_kube_resource op_res_registrations;
extern const struct ap_kube_resource op_res_rolebindings;
extern const struct ap_kube_resource op_res_roles;
extern const struct ap_kube_resource op_res_gitrepositories;
extern const struct ap_kube_resource op_res_kustomizations;
extern const struct ap_kube_resource op_res_deployments;

/* Credentials read from Secrets in the operator namespace at start (operator.c); all secret strings are
 * wiped on release. */
struct op_creds {
        char *flux_identity;    /* SSH private key for the Flux repo, or NULL */
        char *flux_known_hosts; /* its known_hosts, or NULL */
        char *flux_token;       /* HTTPS token for the Flux repo, or NULL */
        char *forge_token;      /* forge API token, or NULL (GitHub App below, or local) */
        char *forge_app_id, *forge_installation_id, *forge_private_key;
        char *clone_known_hosts; /* known_hosts Flux verifies the platform repos' SSH host with, or NULL */
        char *forge_ssh_identity, *forge_ssh_known_hosts; /* forge local over SSH: the operator's push key */
};

/* One app's runtime state. work_lock serialises the registration and managed-secret reconciles of the
 * app (they share the platform repo, the key and the namespace list); lock guards the fields;
 * status_lock orders the writes of the registration's status by its two passes (the full one under
 * work_lock and the Flux-status one, which never takes work_lock). */
/* A path whose committed file is known to hold exactly its rendering (match_memo.c). */
struct op_memo_entry {
        char *path;
        unsigned char tag[32];
};

struct op_app {
        char app[AP_NAME_BUF];
        pthread_mutex_t work_lock;
        pthread_mutex_t lock;
        pthread_mutex_t status_lock;      /* serialises the registration's status writes (registration.c) */
        bool ready;                       /* key and repository are known: secrets can be committed */
        struct ap_age_identity *identity; /* the app's age key (owned) */
        struct ap_age_recipient *rcp;     /* its recipient (owned) */
        char recipient[128];
        char *push_url;   /* where the operator pushes the platform repo */
        char *clone_url;  /* where Flux clones it from */
        char *repo_label; /* "owner/name" for messages */
        struct ap_git_repo *repo;
        int64_t repo_synced_ms; /* monotonic ms of the last fetch of repo */
        atomic_bool needs_sync; /* Flux saw a new revision: fetch before the next pass */
        char pushed[41];        /* the last commit the secrets pass pushed (under lock) */
        bool restore_pending;   /* the key was adopted after a disaster: recreate the intents from Git */
        size_t restore_expect;  /* after a restore: plan nothing until the cache holds this many intents */
        int64_t restore_deadline_ms;
        uint64_t reader_hash; /* the names the secret-reader Role was last applied with (under lock) */
        bool reader_applied;  /* ... and that apply succeeded */
        char swept_rev[128];  /* the revision Flux applied whose orphans were swept (under lock) */
        char flux_rv[2][32];  /* resourceVersions our last applies of the GitRepository and the Kustomization
                               * wrote (under lock): their add events are our own writes, not news */
        struct op_memo_entry *memo; /* under work_lock (match_memo.c) */
        size_t n_memo, cap_memo;
};

struct ap_operator {
        const struct ap_op_config *cfg;
        struct ap_kube_client *kube;
        struct ap_kube_manager *mgr;
        struct ap_kube_metrics *metrics;
        struct ap_kube_recorder *rec;
        struct ap_kube_informer *regs;       /* AppPlatformRegistrations */
        struct ap_kube_informer *intents;    /* Secrets labelled managed-secret=true, indexed by namespace */
        struct ap_kube_informer *namespaces; /* Namespaces labelled labrats.work/app */
        struct ap_kube_informer *gitrepos; /* the platform GitRepositories (optional: Flux may be missing) */
        struct ap_kube_informer *kustomizations;
        struct ap_kube_informer *oidc; /* Secrets labelled labrats.work/oidc-client, by namespace */
        struct ap_kube_controller *reg_ctl, *sec_ctl, *oidc_ctl, *fst_ctl;
        struct ap_kube_workqueue *reg_q, *sec_q, *oidc_q, *fst_q; /* fst: Flux status of registrations */
        struct op_oidc_state *oidc_state; /* what Authelia was last given (oidc_authelia.c) */

        struct op_creds creds;
        struct ap_age_recipient *cluster_recipient;

        struct ap_git_repo *flux_repo;
        pthread_mutex_t flux_lock; /* guards flux_synced_ms */
        int64_t flux_synced_ms;

        pthread_mutex_t forges_lock; /* guards forges: one ap_forge per repository owner */
        struct ap_keymap forges;

        pthread_mutex_t apps_lock; /* guards apps: app name -> struct op_app * */
        struct ap_keymap apps;

        const char *identity; /* this process's leader-election identity (borrowed for the run) */
        pthread_t wl_thread;  /* watch_log.c */
        bool wl_running;
        atomic_bool wl_stop;

        char fault_point[64]; /* --test-fault */
        atomic_long fault_left;
        struct ap_kube_metric *m_writes, *m_commits_platform, *m_commits_flux, *m_push_fail, *m_encrypt,
            *m_reconcile_secrets;
};

/* ---- flux_orphans.c ---- */
/* Once per revision Flux finished applying (op_flux_applied_revision of kustomization and gitrepo, the
 * app's platform objects as cached; borrowed, may be NULL), delete the Secrets in the app's namespaces
 * that Flux delivered from its platform repo and no longer tracks, with an Event on reg. */
_warn_unused_ int op_flux_orphans_sweep(struct ap_operator *op, struct op_app *app, const json_t *reg,
                                        const struct ap_app_names *n, const json_t *kustomization,
                                        const json_t *gitrepo, struct ap_error *err);

/* ---- app_state.c ---- */
/* The state of app (created on first use; lives as long as the operator). NULL when out of memory. */
struct op_app *op_app_get(struct ap_operator *op, const char *app);
/* Forget the key and repository of app (registration deleted). */
void op_app_reset(struct op_app *a);

/* match_memo.c: the keyed digest of (recipient, committed file, rendering); whether path last matched
 * with this digest; remember it (tag) or forget the path (tag NULL); drop everything. work_lock held. */
int op_memo_tag(const char *recipient, const void *committed, size_t committed_len, const void *plain,
                size_t plain_len, unsigned char ret_tag[32]) _warn_unused_;
bool op_memo_hit(struct op_app *a, const char *path, const unsigned char tag[32]);
void op_memo_put(struct op_app *a, const char *path, const unsigned char *tag);
void op_memo_clear(struct op_app *a);
void op_apps_free(struct ap_operator *op);
/* Free n strings and the array; accepts NULL. */
void op_strv_free(char **v, size_t n);

/* ---- kobj.c: acting on the cluster ---- */
/* True when every field of want is present in have with the same value (objects recursively; arrays
 * element by element, same length): what server-side apply of want would leave unchanged. */
bool op_json_subset(const json_t *want, const json_t *have);
/* The length of the namespace in a Flux inventory entry id ("<namespace>_<name>_<group>_<kind>"); 0 for a
 * cluster-scoped object ("_<name>_...") or an id without '_'. */
size_t op_inventory_ns_len(const char *id);
/* Server-side apply obj (field manager app-platform-operator, force) unless the live object already
 * holds it (op_json_subset), so a reconcile with nothing new writes nothing. *ret_written (may be NULL)
 * tells whether a write happened. */
_warn_unused_ int op_apply(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *obj,
                           bool *ret_written, struct ap_error *err);
/* op_apply, and the resourceVersion of what the apply wrote into ret_rv ("" when nothing was written). */
_warn_unused_ int op_apply_rv(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *obj,
                              bool *ret_written, char *ret_rv, size_t rv_size, struct ap_error *err);
/* Delete the object if it exists (already gone is success). */
_warn_unused_ int op_delete(struct ap_operator *op, const struct ap_kube_resource *res, const char *ns,
                            const char *name, struct ap_error *err);
/* Merge-patch metadata.annotations of an object: set each string member of anns, remove each null
 * one. Skips the write when live (the cached object, may be NULL) already matches. */
_warn_unused_ int op_patch_annotations(struct ap_operator *op, const struct ap_kube_resource *res,
                                       const json_t *live, const char *ns, const char *name,
                                       const json_t *anns, struct ap_error *err);
/* The same, made only on resource version rv (a newer one fails with AP_E_CONFLICT), with ret_rv (may be
 * NULL; rv_size bytes) set to the version the write made. Without a write (live already matches) ret_rv
 * is left alone. */
_warn_unused_ int op_patch_annotations_at(struct ap_operator *op, const struct ap_kube_resource *res,
                                          const json_t *live, const json_t *anns, const char *rv,
                                          char *ret_rv, size_t rv_size, struct ap_error *err);
/* One merge patch of live's metadata: the annotations anns (string = set, null = remove) and, with
 * add_finalizer, the finalizer list plus labrats.work/cleanup, guarded by resourceVersion rv (live's
 * when NULL): a newer version fails with AP_E_CONFLICT (its own pass settles it). */
_warn_unused_ int op_patch_meta(struct ap_operator *op, const struct ap_kube_resource *res,
                                const json_t *live, const json_t *anns, bool add_finalizer, const char *rv,
                                struct ap_error *err);
/* Add or remove the labrats.work/cleanup finalizer (no write when already so). */
_warn_unused_ int op_finalizer(struct ap_operator *op, const struct ap_kube_resource *res, const json_t *live,
                               bool present, struct ap_error *err);
/* Record an Event about obj (asynchronous; failures are logged, never returned). */
void op_event(struct ap_operator *op, const json_t *obj, bool warning, const char *reason, const char *action,
              const char *fmt, ...) _printf_(6, 7);
/* Cancellation flag of the calling reconcile (NULL when none). */
const atomic_bool *op_cancel_flag(struct ap_operator *op);

/* ---- gitops.c ---- */
/* Bring r's cache up to date unless it was fetched within max_age_ms (*synced_ms updated). */
_warn_unused_ int op_repo_sync(struct ap_git_repo *r, int64_t *synced_ms, int64_t max_age_ms,
                               struct ap_error *err);
/* What a push result adds to a commit's log line: "" for a first-time push, else how it went (several
 * attempts, or an earlier unconfirmed push found on the remote). A static per-thread string. */
const char *op_push_attempts_note(const struct ap_git_push_result *pr);
/* HMAC-SHA256 of plaintext keyed by a key derived from the app's identity, as 64 hex characters: the
 * content hash recorded in SOPS files the operator cannot decrypt itself (the Flux repo's are encrypted
 * to the cluster key). */
_warn_unused_ int op_content_hash(const struct ap_age_identity *id, const char *plaintext, size_t n,
                                  char out[65]);
/* The value of metadata.annotations[labrats.work/content-hash] and the sops age recipients of a
 * committed SOPS YAML file, without decrypting it. *ret_hash is "" when absent. */
_warn_unused_ int op_sops_file_info(const char *file, size_t n, char ret_hash[65], json_t **ret_recipients,
                                    struct ap_error *err);
/* SOPS-encrypt a YAML document to recipients with encrypted_regex ^(data|stringData)$ into out. */
_warn_unused_ int op_sops_encrypt(struct ap_operator *op, const char *plain, size_t n,
                                  struct ap_age_recipient *const *rcp, size_t n_rcp, const char *previous,
                                  size_t previous_len, struct ap_age_identity *const *ids, size_t n_ids,
                                  struct ap_buf *out, struct ap_error *err);

/* ---- status.c (conditions themselves: kube/meta.h) ---- */
/* "True" when status.conditions[type].status is True. */
bool op_condition_true(const json_t *obj, const char *type);

/* ---- registration.c / managed_secret.c ---- */
int op_registration_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res);
/* The registration's FluxReady (and Ready) conditions from Flux's status alone, without the app's
 * work_lock, so Flux's status updates after each push never queue behind or in front of secrets; a
 * registration whose last full pass did not end Ready for its generation gets a full pass instead. */
int op_registration_flux_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res);
/* reg_rbac.c: the secret-reader Role of the platform namespace, naming the app's managed and OIDC secrets
 * (from the informers): applied by the registration's full pass (always) and by the secrets pass when
 * those names changed since the last apply (an intent created or deleted). work_lock held. */
struct ap_platform;
int op_reader_role_apply(struct ap_operator *op, struct op_app *a, const struct ap_platform *plat,
                         bool always, struct ap_error *err);
int op_secrets_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res);
/* Key rotation (the caller, the registration pass, holds a->work_lock): re-encrypt every file of the app
 * to new_rcp in ONE commit together with the new .sops.yaml; *ret_sha gets the commit (or the tip when
 * nothing changed). */
_warn_unused_ int op_secrets_rotate(struct ap_operator *op, struct op_app *a, const char *app,
                                    struct ap_age_identity *new_id, struct ap_age_recipient *new_rcp,
                                    const char *new_recipient, const char *sops_yaml, size_t sops_yaml_len,
                                    const char *request, char ret_sha[41], struct ap_error *err);

/* ---- housekeeping.c ---- */
/* Every 15 s (*last_ms: the last run, ap_mono_ms()): close repositories idle for a minute
 * and return freed memory to the system. Called by the watch_log.c thread. */
void op_housekeeping(struct ap_operator *op, int64_t *last_ms);

/* ---- watch_log.c ---- */
/* Log what the informers go through (failures and their cause, 410 relists, resuming), once a second
 * from a thread of its own; stop joins it (no-op when not started). */
_warn_unused_ int op_watch_log_start(struct ap_operator *op, struct ap_error *err);
void op_watch_log_stop(struct ap_operator *op);

/* ---- oidc_client.c / oidc_authelia.c: the OIDC client reconciler ---- */
/* The key of the pass that renders Authelia's whole client file (never an app name). */
#define OP_OIDC_AUTHELIA_KEY ":authelia"
/* The key of the platform clients: OIDC Secrets in the operator namespace (the dashboard's own client and
 * other services of the platform itself; never an app name). */
#define OP_OIDC_PLATFORM_KEY ":platform"
/* Keys: an app name (its OIDC Secrets: checks, clientSecret, oidc-status), OP_OIDC_PLATFORM_KEY or
 * OP_OIDC_AUTHELIA_KEY. */
int op_oidc_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res);
struct op_oidc_state *op_oidc_state_new(void);
struct op_oidc_state *op_oidc_state_free(struct op_oidc_state *st);
/* Hooks of the managed-secret pipeline: the OIDC Secrets of platform_ns it delivers (those with
 * labrats.work/target-namespaces or still holding its finalizer, not labelled managed-secret; a new
 * array), and the data to deliver for one of them: *ret a new object (clientSecret, client-id,
 * issuer-url, callback-url) when it is a valid client with its clientSecret, else NULL. */
json_t *op_oidc_delivery_list(struct ap_operator *op, const char *platform_ns);
_warn_unused_ int op_oidc_delivery_data(struct ap_operator *op, const json_t *obj, json_t **ret);

/* ---- operator.c ---- */
/* A named crash point (--test-fault): kills the process with SIGKILL when it is the configured one. */
void op_fault(struct ap_operator *op, const char *point);
void op_fault_hook(void *userdata, const char *point); /* the same, as src/git's fault_hook (userdata: op) */
/* src/git's on_retry: logs that a Git remote cannot be reached (or the branch moved) and is retried. */
void op_git_retry_hook(void *userdata, const char *repo_name, unsigned step, const struct ap_error *cause);
/* True while Flux's CRDs are not installed (the Flux informers have nothing to watch). */
bool op_flux_missing(struct ap_operator *op);
/* Delete the platform repository name on forge f (already gone is success). */
_warn_unused_ int op_forge_delete_repo(struct ap_operator *op, struct ap_forge *f, const char *name,
                                       struct ap_error *err);
/* The forge for owner (NULL = the configured owner), created on first use. */
_warn_unused_ int op_forge(struct ap_operator *op, const char *owner, struct ap_forge **ret,
                           struct ap_error *err);
