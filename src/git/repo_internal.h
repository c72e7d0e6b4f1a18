/* repo_internal.h - the state behind struct ap_git_repo and the helpers the src/git files share:
 * transport callbacks (transport.c), the cache (cache.c), commit building (commit.c) and error
 * classification (fault.c). Not for use outside src/git. */
#pragma once

#include <git2.h>
#include <libssh2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "git/known_hosts.h"
#include "git/repo.h"
#include "git/url.h"

struct ap_git_repo {
        pthread_mutex_t lock; /* one caller at a time: guards every field below and the cache folder */
        char *name, *url, *branch, *cache_dir, *lock_path;
        char *ssh_user, *token_user, *author_name, *author_email;
        char *identity; /* secret: the OpenSSH private key text, wiped on free */
        char *token;    /* secret */
        struct ap_known_hosts *known_hosts;
        struct ap_ssh_key *signing_key;
        struct ap_git_url u;
        unsigned retry_timeout_ms, backoff_initial_ms, backoff_max_ms;
        int (*token_fn)(void *userdata, struct ap_buf *out, struct ap_error *err);
        void *token_userdata;
        const atomic_bool *cancel;      /* the configuration's flag (borrowed) */
        const atomic_bool *call_cancel; /* the running call's own flag (req->cancel), NULL between calls */
        void (*before_push)(void *userdata, unsigned attempt);
        void (*fault_hook)(void *userdata, const char *point);
        void (*on_retry)(void *userdata, const char *repo_name, unsigned step, const struct ap_error *cause);
        void *hook_userdata;
        bool auto_compact;
        unsigned compact_loose, compact_packs; /* thresholds (compact.c) */
        unsigned calls_since_check;            /* calls since the cache's files were last counted */
        unsigned compactions;                  /* done by this object (for tests and debugging) */

        LIBSSH2_SESSION *ssh_session; /* kept open between operations (ssh_transport.c); NULL when none */
        int ssh_fd;                   /* its socket, -1 when none */
        int64_t ssh_last_used;        /* ap_mono_ms() */

        git_repository *git; /* the open cache; NULL until first use or after it was found unusable */
        /* what the cache folder looked like when git was opened: another object (or process) may since
         * have compacted it (new "ap-compacted" file) or replaced it (new folder), and then git is stale */
        ino_t seen_dir_ino, seen_mark_ino;
        struct timespec seen_mark_mtime;
        bool need_fetch;        /* the tracking ref may be behind the remote */
        bool idle_closed;       /* git was closed by ap_git_repo_release_idle: need_fetch still holds */
        int64_t last_call_ms;   /* ap_mono_ms() when the last call ended (or the object was made) */
        char tracking_ref[300]; /* refs/remotes/origin/<branch> */
        char remote_ref[300];   /* refs/heads/<branch> */
        char pending_ref[300];  /* refs/ap-pending/<branch>: what a push sends; stays until the push is
                                   confirmed, so a process killed meanwhile leaves a trace for the next */
};

/* How a failed operation should be handled. */
enum ap_git_fault {
        AP_GIT_FAULT_TRANSIENT, /* network or remote down: retry after a backoff */
        AP_GIT_FAULT_CONFLICT,  /* the branch moved under us: fetch, re-apply, retry */
        AP_GIT_FAULT_PERMANENT, /* retrying cannot help: report */
        AP_GIT_FAULT_CORRUPT,   /* the cache is damaged (AP_E_CORRUPT): discard it, clone, repeat once */
};

/* Per-operation state the libgit2 callbacks fill in. */
struct ap_git_op {
        struct ap_git_repo *r;
        unsigned cred_calls;      /* credential callback invocations (libgit2 asks again after a failure) */
        bool no_credentials;      /* the server wanted credentials we do not have */
        struct ap_error host_err; /* set when the host key check refused the server */
        bool ref_reported;        /* push_update_reference was called for our ref */
        char ref_status[256];     /* its status ("" = accepted) */
        char remote_said[400];    /* what the server said on its side band (transport.c) */
        bool remote_said_error;   /* ... and it is an "error:" line */
        bool cancelled;           /* a callback stopped the transfer because the call was cancelled */
        bool sending;             /* push_transfer_progress was called: the pack went (partly) out */
        struct ap_error cred_err; /* set when token_fn failed */
};

/* The call was cancelled (cfg.cancel or the running request's flag). */
bool ap_git_cancelled(const struct ap_git_repo *r);
/* AP_E_CANCELLED naming the repository. */
int ap_git_cancel_error(struct ap_git_repo *r, struct ap_error *err);

/* Fill callbacks (credentials, certificate check, push status) bound to op. */
void ap_git_op_callbacks(struct ap_git_op *op, git_remote_callbacks *cb);

/* ssh_transport.c: a libgit2 transport (git_transport_cb; payload = struct ap_git_op *) speaking the
 * smart protocol over the repo's kept libssh2 session; and closing that session. */
int ap_git_ssh_transport(git_transport **out, git_remote *owner, void *payload) _warn_unused_;
void ap_git_ssh_close(struct ap_git_repo *r);

/* Turn a libgit2 failure (rc, git_error_last) of `what` into an ap_error naming the repository, and say
 * whether to retry. */
enum ap_git_fault ap_git_fault(struct ap_git_repo *r, struct ap_git_op *op, int rc, const char *what,
                               struct ap_error *err);
/* git_error_last()'s message, or "unknown error" when libgit2 left none (it may return NULL). */
const char *ap_git_last_message(void);

/* repo.c: what every call runs in. fn runs with the repo's locks held and err never NULL; deadline is the
 * call's retry deadline (base/clock.h). A cancelled call returns AP_E_CANCELLED before fn; fn returning
 * AP_E_CORRUPT gets the cache discarded and cloned again, then runs once more. call_cancel: the call's own
 * cancel flag (req->cancel), or NULL. */
typedef int (*ap_git_locked_fn)(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err);
int ap_git_run_locked(struct ap_git_repo *r, const atomic_bool *call_cancel, ap_git_locked_fn fn, void *args,
                      struct ap_error *err) _warn_unused_;
/* Open the cache and fetch, retrying transient failures until deadline. */
int ap_git_sync_locked(struct ap_git_repo *r, int64_t deadline, struct ap_error *err) _warn_unused_;
/* The retry budget is spent: AP_E_TIMEOUT with the last failure in err as the cause (AP_E_CANCELLED when
 * the wait ended because the call was cancelled). */
int ap_git_give_up(struct ap_git_repo *r, struct ap_error *err);

/* cache.c: open or create the bare cache (the caller holds r->lock). */
int ap_git_cache_open(struct ap_git_repo *r, struct ap_error *err) _warn_unused_;
/* Close the open cache when the folder changed under it since it was opened (compacted or replaced by
 * another object or process), so the next open sees the folder as it is now. */
void ap_git_cache_revalidate(struct ap_git_repo *r);
/* Note a compaction in the folder (the "ap-compacted" file other objects check) and reopen the cache. */
int ap_git_cache_mark_compacted(struct ap_git_repo *r, struct ap_error *err) _warn_unused_;
/* Drop the open cache and delete its folder, so the next open clones afresh. */
void ap_git_cache_discard(struct ap_git_repo *r);
/* An in-memory remote for the configured URL (caller frees with git_remote_free). */
int ap_git_remote(struct ap_git_repo *r, git_remote **ret) _warn_unused_;
/* Fetch (push false: with prune, no tags) or push refspec through an anonymous remote, with op's
 * callbacks; libgit2's return code. */
int ap_git_remote_run(struct ap_git_repo *r, struct ap_git_op *op, const char *refspec, bool push);
/* Fetch the branch into the tracking ref; classifies failures like ap_git_fault. */
int ap_git_cache_fetch(struct ap_git_repo *r, enum ap_git_fault *ret_fault,
                       struct ap_error *err) _warn_unused_;
/* The tracking ref's commit, or *ret_found = false when the branch is empty/missing. */
int ap_git_cache_tip(struct ap_git_repo *r, git_oid *ret, bool *ret_found,
                     struct ap_error *err) _warn_unused_;
/* Sleep for the next backoff step (cut short at the deadline, base/clock.h, or by cancellation); false
 * once the deadline has passed or the call was cancelled. Tells cfg.on_retry first (cause: the failed
 * attempt's error). */
bool ap_git_backoff(struct ap_git_repo *r, unsigned step, int64_t deadline, const struct ap_error *cause);

/* compact.c: after a call that wrote into the cache, pack it when it has grown past the thresholds
 * (best effort: a failure costs disk space, not the call). */
void ap_git_maybe_compact(struct ap_git_repo *r);

/* commit.c: the tree of req applied on the commit base (NULL = empty branch), written into the cache;
 * *ret_same when it is base's own tree. */
int ap_git_build_tree(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *base,
                      git_oid *ret_tree, bool *ret_same, struct ap_error *err) _warn_unused_;
/* Build the commit for req on top of tip (NULL = empty branch). *ret_unchanged when the tree is
 * identical to tip's (then no commit is written). */
int ap_git_build_commit(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *tip,
                        git_oid *ret, bool *ret_unchanged, struct ap_error *err) _warn_unused_;
/* Check one change's path (relative, no "."/".." components, not inside .git). */
int ap_git_check_path(const char *path, struct ap_error *err) _warn_unused_;
