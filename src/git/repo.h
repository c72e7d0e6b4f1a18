/* repo.h - one remote Git repository as the operator uses it: a local bare cache (cloned once, fetched
 * after, re-cloned by itself when found corrupt), reads of files at the remote branch tip, and "write
 * these files as ONE commit on the branch and push it" that survives concurrent pushers, remote outages,
 * lost answers and crashes without losing or duplicating a change. SSH with in-memory keys and pinned
 * host keys, HTTPS with a token (or a callback handing out fresh ones), or a local path. Calls can be
 * cancelled through a flag.
 *
 * Threads: an ap_git_repo may be shared; every call takes the repo's lock (and an advisory file lock on
 * the cache folder, so two processes never use one cache at once). The process should ignore SIGPIPE
 * (a server closing a connection mid-write must be an error, not a signal). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/ssh_key.h"

#define AP_GIT_MAX_FILE  ((size_t)16 << 20) /* a file we read or write through the cache */
#define AP_GIT_MAX_FILES 10000              /* changes in one commit */

struct ap_git_repo;

/* Everything is copied by ap_git_repo_new; secrets into wiped memory. */
struct ap_git_repo_config {
        const char *name;      /* for messages, e.g. "acme-platform"; default: the URL without secrets */
        const char *url;       /* ssh://, scp-like, https://, http://, file:// or an absolute path */
        const char *branch;    /* default "main" */
        const char *cache_dir; /* folder holding the bare cache of this repo (created if missing) */

        /* SSH: the OpenSSH private key (unencrypted; ed25519 works with every libssh2) and the pinned
         * known_hosts lines the server's host key must match. */
        const char *identity;
        const char *known_hosts;
        const char *ssh_user; /* default: the URL's user, else "git" */

        /* HTTPS: a token sent as the password of token_user (GitHub: "x-access-token"). */
        const char *token;
        const char *token_user; /* default "x-access-token" */
        /* HTTPS with tokens that expire (GitHub App installation tokens live an hour): called whenever a
         * connection needs credentials (once per fetch or push, with the repo's lock held) to append the
         * current token to out (a secret buffer). Return 0, or a negative code with err set: a retryable
         * code (ap_error_retryable: the forge is down, rate limited) is retried like a network failure,
         * any other ends the call with that code. Takes precedence over token; token_userdata is
         * borrowed and must outlive the repo. */
        int (*token_fn)(void *userdata, struct ap_buf *out, struct ap_error *err);
        void *token_userdata;

        const char *author_name;              /* default "app-platform-operator" */
        const char *author_email;             /* default "operator@localhost" */
        const struct ap_ssh_key *signing_key; /* optional: SSH-sign commits (gpgsig, namespace "git") */

        /* Transient failures (network, remote down, a concurrent push) are retried with exponential
         * backoff until this much time has passed since the call began. 0 = defaults. */
        unsigned retry_timeout_ms;   /* default 60000 */
        unsigned backoff_initial_ms; /* default 200 */
        unsigned backoff_max_ms;     /* default 10000 */

        /* Cancellation (borrowed, must outlive the repo; NULL = none): once *cancel is true, every call
         * (sync, read, list, commit_push) stops at its next step, backoff sleep or transfer callback
         * (fetch progress, sideband, pack building, push upload) and returns AP_E_CANCELLED. The cache is
         * left consistent (only whole objects and refs are written); a push cut off after its pack was
         * sent is recognised by the next commit_push of the same change. A blocking network read is not
         * interrupted: it ends at the server's answer or the transport's I/O timeout. */
        const atomic_bool *cancel;

        /* Compaction (ap_git_repo_compact does it on request): after every 8th sync or commit_push the
         * cache's files are counted; past compact_loose_objects loose objects (each commit writes a few)
         * they are packed into one pack, and past compact_packs packs (each fetch and each packing writes
         * one) everything is repacked into one and unreferenced objects are dropped, so the cache stays
         * within a few times the size git gc would give. 0 = defaults (256 and 16); no_auto_compact
         * leaves it to ap_git_repo_compact. */
        unsigned compact_loose_objects;
        unsigned compact_packs;
        bool no_auto_compact;

        /* Test hooks (hook_userdata is passed to both). before_push runs after the commit is built and
         * right before each push attempt. fault_hook runs at named points so a crash test can kill the
         * process there: "after-local-commit" (the commit object is written in the cache, before any
         * push) and "push-sending" (inside a push: the transport is connected and the pack is being
         * sent; once per attempt). */
        void (*before_push)(void *userdata, unsigned attempt);
        void (*fault_hook)(void *userdata, const char *point);
        void *hook_userdata;

        /* Optional (hook_userdata is passed): told each time a sync or commit_push attempt failed
         * transiently (remote unreachable, the branch moved) and is about to be retried after a backoff;
         * step counts the retries of this call from 0, cause is that attempt's error (borrowed for the
         * call). Runs with the repo's lock held: it must not call into this repo. For logs ("the remote
         * is down, retrying"): the call's own error only comes once the retry budget is spent. */
        void (*on_retry)(void *userdata, const char *repo_name, unsigned step, const struct ap_error *cause);
};

/* Check the configuration and prepare the object; touches neither the network nor the cache. */
int ap_git_repo_new(const struct ap_git_repo_config *cfg, struct ap_git_repo **ret,
                    struct ap_error *err) _warn_unused_;

/* Free; accepts NULL, returns NULL. The cache folder stays for the next run. */
struct ap_git_repo *ap_git_repo_free(struct ap_git_repo *r);
AP_DEFINE_CLEANUP(struct ap_git_repo *, ap_git_repo_free)

/* Close what r keeps open between calls (its SSH session and its handle on the local cache) when no
 * call is running and the last one ended idle_ms ago or more; the next call opens them again (a
 * connect and key exchange, no extra fetch). Never waits for a running call. An operator holding a
 * hundred repositories calls it on a schedule: each kept libssh2 session holds ~60 KiB of buffers.
 * True when something was closed. Thread-safe. */
bool ap_git_repo_release_idle(struct ap_git_repo *r, int64_t idle_ms);

/* Bring the cache to the remote branch tip: clone when missing (or unusable), fetch otherwise. Retries
 * transient failures like a push does; cancelled through cfg.cancel.
 *
 * Every call that reads the cache (sync, read, list, commit_push) recognises a corrupt cache (it cannot
 * be opened, an object is missing or damaged, a ref file is garbage), throws it away, clones it again
 * and repeats the operation once; a second corruption in the same call is AP_E_CORRUPT. */
int ap_git_repo_sync(struct ap_git_repo *r, struct ap_error *err) _warn_unused_;

/* Read path at the cached branch tip (call ap_git_repo_sync first for the newest). A missing file (or an
 * empty branch) sets *ret_found = false and leaves out alone. */
int ap_git_repo_read(struct ap_git_repo *r, const char *path, struct ap_buf *out, bool *ret_found,
                     struct ap_error *err) _warn_unused_;

/* *ret_same: commit (40 hex digits) is in the cache and every one of the n paths has the same content there
 * as at the cached branch tip (both absent counts as the same). A commit the cache does not hold, or
 * malformed hex, is not an error: *ret_same = false. */
int ap_git_repo_same_at(struct ap_git_repo *r, const char *commit, const char *const *paths, size_t n,
                        bool *ret_same, struct ap_error *err) _warn_unused_;

/* Call fn for every file under dir ("" = the whole tree) at the cached branch tip, in tree order, with
 * its full path. fn returning non-zero stops the walk and is returned. An empty branch or a missing dir
 * lists nothing. When the walk meets a corrupt cache, it starts over on a fresh clone, so fn may see some
 * paths twice. */
int ap_git_repo_list(struct ap_git_repo *r, const char *dir, int (*fn)(const char *path, void *userdata),
                     void *userdata, struct ap_error *err) _warn_unused_;

/* One file to write or delete, or a folder to delete. path is relative ("secrets/ns/x.sops.yaml"),
 * '/'-separated, without "." or ".." components, a trailing '/' or ".git". Deleting a path that is not
 * there is a no-op. No other change of the same commit may lie inside a folder that remove_dir deletes. */
struct ap_git_change {
        const char *path;
        const void *data; /* ignored when remove or remove_dir */
        size_t len;
        bool remove;     /* delete the file path (AP_E_INVALID when path is a folder) */
        bool remove_dir; /* delete the folder path and every file under it (AP_E_INVALID for a file) */
        bool executable; /* mode 100755 instead of 100644 */
};

struct ap_git_commit_request {
        const struct ap_git_change *changes;
        size_t n_changes;
        const char *subject;      /* first line, e.g. "secrets: update acme/db-password -> acme-dev" */
        const char *body;         /* optional paragraph(s) */
        const char *app;          /* trailer "App: <app>" when set */
        const char *requested_by; /* trailer "Requested-by: <who>" when set */
        /* Cancellation of this call only (borrowed, NULL = none), checked like cfg.cancel. */
        const atomic_bool *cancel;
};

struct ap_git_push_result {
        bool unchanged;  /* the branch already had exactly these bytes: no commit was made (a commit of
                            this change that an earlier attempt or a crashed process pushed, unconfirmed,
                            is reported as made: unchanged false, commit = that commit) */
        char commit[41]; /* hex id of the pushed commit (or of the tip when unchanged; "" on an empty branch)
                          */
        unsigned attempts; /* push attempts made (1 when nothing got in the way) */
};

/* Apply the changes on top of the remote branch tip as one commit (no merge commits: after a rejected
 * push the changes are re-applied on the new tip) and push it, checking the server accepted the ref.
 * When the result is byte-identical to the tip, no commit is made and ret->unchanged is set.
 * The cache is never left half-updated.
 *
 * A change is never committed twice: when a push attempt failed in a way that may have reached the
 * server (the connection broke, the answer was lost) or a previous process left an unconfirmed push in
 * this cache (refs/ap-pending/<branch>), the fetched branch is checked first: a commit on it (the tip or
 * an ancestor) whose tree is exactly this change set applied on its parent is taken as ours and returned
 * (unchanged false). After an attempt of this call that may have landed, a tip that already holds the
 * whole change set is returned the same way.
 *
 * Errors (base/error.h codes; the message names the repository and the cause):
 *   AP_E_UNAUTHORIZED  the server does not accept the key or token
 *   AP_E_FORBIDDEN     authenticated, but the push was refused (read-only key, hook, protected branch)
 *   AP_E_NOT_FOUND     the repository does not exist
 *   AP_E_TIMEOUT       the retry budget (retry_timeout_ms) ran out; the message gives the last cause
 *                      (remote unreachable, or the branch kept moving)
 *   AP_E_INVALID       bad paths, subject or trailers
 *   AP_E_TOO_LARGE     a file past AP_GIT_MAX_FILE, more than AP_GIT_MAX_FILES changes
 *   AP_E_NO_SPACE      the disk holding the cache is full
 *   AP_E_CANCELLED     cfg.cancel or req->cancel was set
 *   AP_E_CORRUPT       the cache was corrupt again after being cloned afresh
 *   (token_fn's code)  the credentials callback failed with a code that retrying cannot help
 *   -EKEYREJECTED      the server's SSH host key does not match the pinned known_hosts, or its TLS
 *                      certificate is not trusted (git-specific: a possible man-in-the-middle)
 *   -ENOKEY            the SSH server is not in the pinned known_hosts at all
 *   -EKEYREVOKED       its host key is marked @revoked
 * While retrying, single attempts fail with AP_E_UNAVAILABLE (remote unreachable) or AP_E_CONFLICT (the
 * branch moved); those are handled here and only reach the caller as the cause of AP_E_TIMEOUT. */
int ap_git_repo_commit_push(struct ap_git_repo *r, const struct ap_git_commit_request *req,
                            struct ap_git_push_result *ret, struct ap_error *err) _warn_unused_;

/* Repack the cache now, as git gc does: everything reachable from its refs into one pack (git's
 * packbuilder, with deltas); every other pack, every loose object and leftover temporary files deleted,
 * only after the new pack is complete. Takes the repo's locks, so it never runs beside another call on
 * the same cache (in any process); cancelled through cfg.cancel. Runs by itself too (see
 * compact_loose_objects). */
int ap_git_repo_compact(struct ap_git_repo *r, struct ap_error *err) _warn_unused_;
