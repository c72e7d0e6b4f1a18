/* repo.c - struct ap_git_repo: configuration, locking (a mutex per repo plus an advisory file lock on
 * the cache), the frame every call runs in (cancellation; a corrupt cache discarded, cloned again and the
 * call repeated once), and the read side: sync, read, list. Commit + push lives in push.c. */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/str.h"
#include "git/repo_internal.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* Process-wide libgit2 settings: no system/global/XDG git config may change what we do (insteadOf,
 * proxies, hooks paths), so search paths are emptied once. The object cache (shared by every open repo,
 * 256 MiB by default) is held to a few MiB: an operator keeps a hundred small repos open, and what it
 * reads again (a tree or file at the tip) is cheap to inflate. */
static void global_init(void)
{
        git_libgit2_init();
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
        git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(4 << 20));
}

struct ap_git_repo *ap_git_repo_free(struct ap_git_repo *r)
{
        if (!r)
                return NULL;
        ap_git_ssh_close(r);
        git_repository_free(r->git);
        free(r->name);
        free(r->url);
        free(r->branch);
        free(r->cache_dir);
        free(r->lock_path);
        free(r->ssh_user);
        free(r->token_user);
        free(r->author_name);
        free(r->author_email);
        ap_secure_free_str(r->identity);
        ap_secure_free_str(r->token);
        ap_known_hosts_free(r->known_hosts);
        ap_ssh_key_free(r->signing_key);
        pthread_mutex_destroy(&r->lock);
        free(r);
        git_libgit2_shutdown();
        return NULL;
}

static int check_branch(const char *b, struct ap_error *err)
{
        char ref[300];
        snprintf(ref, sizeof(ref), "refs/heads/%s", b);
        int valid = 0;
        if (strlen(b) > 200 || git_reference_name_is_valid(&valid, ref) < 0 || !valid)
                return ap_error_set(err, AP_E_INVALID, "'%s' is not a valid branch name", b);
        return 0;
}

int ap_git_repo_new(const struct ap_git_repo_config *cfg, struct ap_git_repo **ret, struct ap_error *err)
{
        pthread_once(&global_once, global_init);
        struct ap_git_url u;
        int rc = ap_git_url_parse(cfg->url ? cfg->url : "", &u, err);
        if (rc < 0)
                return rc;
        const char *branch = cfg->branch && *cfg->branch ? cfg->branch : "main";
        if ((rc = check_branch(branch, err)) < 0)
                return rc;
        if (!cfg->cache_dir || !cfg->cache_dir[0] || strlen(cfg->cache_dir) > 4000)
                return ap_error_set(err, AP_E_INVALID, "a git repository needs a cache folder");
        if (u.scheme == AP_GIT_SSH && !cfg->known_hosts)
                return ap_error_set(err, AP_E_INVALID,
                                    "ssh url '%s' needs pinned known_hosts lines (the server's host keys, "
                                    "checked out of band)",
                                    cfg->url);

        git_libgit2_init(); /* balanced by the shutdown in ap_git_repo_free */
        struct ap_git_repo *r = calloc(1, sizeof(*r));
        if (!r) {
                git_libgit2_shutdown();
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        pthread_mutex_init(&r->lock, NULL);
        r->last_call_ms = ap_mono_ms();
        r->ssh_fd = -1;
        char shown[512];
        r->u = u;
        r->url = strdup(cfg->url);
        r->name = ap_strdup_or(cfg->name, ap_git_url_redact(cfg->url, shown, sizeof(shown)));
        r->branch = strdup(branch);
        r->cache_dir = strdup(cfg->cache_dir);
        r->ssh_user = ap_strdup_or(cfg->ssh_user, NULL);
        r->token_user = ap_strdup_or(cfg->token_user, "x-access-token");
        r->author_name = ap_strdup_or(cfg->author_name, "app-platform-operator");
        r->author_email = ap_strdup_or(cfg->author_email, "operator@localhost");
        r->identity = cfg->identity ? strdup(cfg->identity) : NULL;
        r->token = cfg->token ? strdup(cfg->token) : NULL;
        if (asprintf(&r->lock_path, "%s.lock", cfg->cache_dir) < 0)
                r->lock_path = NULL;
        r->retry_timeout_ms = cfg->retry_timeout_ms ? cfg->retry_timeout_ms : 60000;
        r->backoff_initial_ms = cfg->backoff_initial_ms ? cfg->backoff_initial_ms : 200;
        r->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : 10000;
        r->token_fn = cfg->token_fn;
        r->token_userdata = cfg->token_userdata;
        r->cancel = cfg->cancel;
        r->before_push = cfg->before_push;
        r->on_retry = cfg->on_retry;
        r->fault_hook = cfg->fault_hook;
        r->auto_compact = !cfg->no_auto_compact;
        r->compact_loose = cfg->compact_loose_objects ? cfg->compact_loose_objects : 256;
        r->compact_packs = cfg->compact_packs ? cfg->compact_packs : 16;
        r->hook_userdata = cfg->hook_userdata;
        snprintf(r->tracking_ref, sizeof(r->tracking_ref), "refs/remotes/origin/%s", branch);
        snprintf(r->remote_ref, sizeof(r->remote_ref), "refs/heads/%s", branch);
        snprintf(r->pending_ref, sizeof(r->pending_ref), "refs/ap-pending/%s", branch);
        if (!r->url || !r->name || !r->branch || !r->cache_dir || !r->token_user || !r->author_name ||
            !r->author_email || !r->lock_path || (cfg->identity && !r->identity) ||
            (cfg->token && !r->token)) {
                ap_git_repo_free(r);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (cfg->known_hosts && (rc = ap_known_hosts_parse(cfg->known_hosts, strlen(cfg->known_hosts),
                                                           &r->known_hosts, err)) < 0) {
                ap_git_repo_free(r);
                return ap_error_prefix(err, "pinned known_hosts for '%s'", cfg->url);
        }
        if (cfg->identity) {
                /* parse now so a bad key is reported at configuration time, not at the first push */
                _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
                if ((rc = ap_ssh_key_parse_private(cfg->identity, strlen(cfg->identity), &k, err)) < 0) {
                        ap_git_repo_free(r);
                        return ap_error_prefix(err, "ssh identity for '%s'", r->name);
                }
        }
        if (cfg->signing_key && (rc = ap_ssh_key_from_seed(cfg->signing_key->seed, cfg->signing_key->comment,
                                                           &r->signing_key, err)) < 0) {
                ap_git_repo_free(r);
                return rc;
        }
        *ret = r;
        return 0;
}

/* Take the repo's mutex and the cache's file lock; *ret_fd is the lock file to release. */
static int lock_repo(struct ap_git_repo *r, int *ret_fd, struct ap_error *err)
{
        pthread_mutex_lock(&r->lock);
        int fd = open(r->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                pthread_mutex_unlock(&r->lock);
                return ap_error_set(err, -e, "cannot lock the git cache '%s': %s", r->lock_path, strerror(e));
        }
        *ret_fd = fd;
        return 0;
}

static void unlock_repo(struct ap_git_repo *r, int fd)
{
        close(fd); /* drops the flock */
        pthread_mutex_unlock(&r->lock);
}

int ap_git_give_up(struct ap_git_repo *r, struct ap_error *err)
{
        if (ap_git_cancelled(r))
                return ap_git_cancel_error(r, err);
        ap_error_prefix(err, "gave up after %u s", (r->retry_timeout_ms + 999) / 1000);
        err->code = AP_E_TIMEOUT;
        return AP_E_TIMEOUT;
}

int ap_git_sync_locked(struct ap_git_repo *r, int64_t deadline, struct ap_error *err)
{
        int rc = ap_git_cache_open(r, err);
        if (rc < 0)
                return rc;
        for (unsigned step = 0;; step++) {
                enum ap_git_fault fault = AP_GIT_FAULT_PERMANENT;
                rc = ap_git_cache_fetch(r, &fault, err);
                if (rc >= 0)
                        return 0;
                if (fault != AP_GIT_FAULT_TRANSIENT)
                        return rc;
                if (!ap_git_backoff(r, step, deadline, err))
                        return ap_git_give_up(r, err);
        }
}

int ap_git_run_locked(struct ap_git_repo *r, const atomic_bool *call_cancel, ap_git_locked_fn fn, void *args,
                      struct ap_error *err)
{
        struct ap_error local = AP_ERROR_INIT;
        if (!err)
                err = &local; /* the classification below reads the code */
        int fd = -1, rc = lock_repo(r, &fd, err);
        if (rc < 0)
                return rc;
        r->call_cancel = call_cancel;
        ap_git_cache_revalidate(r);
        int64_t deadline = ap_deadline_after_ms(r->retry_timeout_ms);
        for (int round = 0;; round++) {
                if (ap_git_cancelled(r)) {
                        rc = ap_git_cancel_error(r, err);
                        break;
                }
                rc = fn(r, args, deadline, err);
                if (rc != AP_E_CORRUPT || round > 0)
                        break;
                /* damaged on disk: start from a fresh clone, then do it once more */
                ap_git_cache_discard(r);
                if ((rc = ap_git_sync_locked(r, deadline, err)) < 0)
                        break;
        }
        r->call_cancel = NULL;
        r->last_call_ms = ap_mono_ms();
        unlock_repo(r, fd);
        return rc;
}

bool ap_git_repo_release_idle(struct ap_git_repo *r, int64_t idle_ms)
{
        if (!r || pthread_mutex_trylock(&r->lock) != 0)
                return false; /* a call is running: it is not idle */
        bool released = false;
        if ((r->git || r->ssh_session) && ap_mono_ms() - r->last_call_ms >= idle_ms) {
                ap_git_ssh_close(r);
                if (r->git) {
                        git_repository_free(r->git);
                        r->git = NULL;
                        r->idle_closed = true;
                }
                released = true;
        }
        pthread_mutex_unlock(&r->lock);
        return released;
}

static int sync_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        int rc = ap_git_sync_locked(r, deadline, err);
        if (rc >= 0)
                ap_git_maybe_compact(r);
        return rc;
}

int ap_git_repo_sync(struct ap_git_repo *r, struct ap_error *err)
{
        return ap_git_run_locked(r, NULL, sync_fn, NULL, err);
}

/* A libgit2 failure while reading the cache, classified (a damaged cache is AP_E_CORRUPT). */
static int read_fail(struct ap_git_repo *r, const char *what, struct ap_error *err)
{
        (void)ap_git_fault(r, NULL, -1, what, err);
        return err->code;
}

/* The tree at the cached tip; *ret NULL for an empty branch. */
static int tip_tree(struct ap_git_repo *r, git_tree **ret, struct ap_error *err)
{
        int rc = ap_git_cache_open(r, err);
        if (rc < 0)
                return rc;
        git_oid tip;
        bool found = false;
        if ((rc = ap_git_cache_tip(r, &tip, &found, err)) < 0)
                return rc;
        *ret = NULL;
        if (!found)
                return 0;
        git_commit *c = NULL;
        rc = git_commit_lookup(&c, r->git, &tip) < 0 || git_commit_tree(ret, c) < 0
                 ? read_fail(r, "read the branch tip of", err)
                 : 0;
        git_commit_free(c);
        return rc;
}

static void tree_freep(git_tree **t)
{
        git_tree_free(*t);
}

struct read_args {
        const char *path;
        struct ap_buf *out;
        bool found;
};

static int read_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        struct read_args *a = args;
        _cleanup_(tree_freep) git_tree *t = NULL;
        int rc = ap_git_check_path(a->path, err);
        if (rc < 0 || (rc = tip_tree(r, &t, err)) < 0)
                return rc;
        a->found = false;
        git_tree_entry *e = NULL;
        git_blob *b = NULL;
        if (!t || git_tree_entry_bypath(&e, t, a->path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
                rc = 0; /* no such file */
        } else if (git_blob_lookup(&b, r->git, git_tree_entry_id(e)) < 0) {
                rc = read_fail(r, "read a file of", err);
        } else if ((size_t)git_blob_rawsize(b) > AP_GIT_MAX_FILE) {
                rc = ap_error_set(err, AP_E_TOO_LARGE, "'%s' in '%s' is larger than %zu bytes", a->path,
                                  r->name, AP_GIT_MAX_FILE);
        } else if ((rc = ap_buf_add(a->out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b))) < 0) {
                rc = ap_error_set(err, rc, "'%s' in '%s' does not fit the buffer", a->path, r->name);
        } else {
                a->found = true;
        }
        git_blob_free(b);
        git_tree_entry_free(e);
        return rc;
}

int ap_git_repo_read(struct ap_git_repo *r, const char *path, struct ap_buf *out, bool *ret_found,
                     struct ap_error *err)
{
        struct read_args a = {.path = path, .out = out};
        size_t before = out->len;
        int rc = ap_git_run_locked(r, NULL, read_fn, &a, err);
        if (rc < 0)
                ap_buf_truncate(out, before); /* a first, corrupt round may have added part of it */
        else
                *ret_found = a.found;
        return rc;
}

struct same_args {
        const char *commit;
        const char *const *paths;
        size_t n;
        bool same;
};

/* The blob id of path in t into *id; *found false when t has no file there. */
static void blob_at(git_tree *t, const char *path, git_oid *id, bool *found)
{
        git_tree_entry *e = NULL;
        *found = t && git_tree_entry_bypath(&e, t, path) == 0 && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
        if (*found)
                git_oid_cpy(id, git_tree_entry_id(e));
        git_tree_entry_free(e);
}

static int same_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        (void)deadline;
        struct same_args *a = args;
        _cleanup_(tree_freep) git_tree *tip = NULL;
        _cleanup_(tree_freep) git_tree *then = NULL;
        int rc = tip_tree(r, &tip, err);
        a->same = false;
        git_oid id;
        git_commit *c = NULL;
        if (rc < 0 || strlen(a->commit) != GIT_OID_HEXSZ || git_oid_fromstr(&id, a->commit) < 0)
                return rc;
        if (git_commit_lookup(&c, r->git, &id) < 0 || git_commit_tree(&then, c) < 0) {
                git_commit_free(c);
                return 0; /* not in the cache (or not a commit) */
        }
        git_commit_free(c);
        a->same = true;
        for (size_t i = 0; a->same && i < a->n; i++) {
                git_oid x, y;
                bool fx, fy;
                blob_at(tip, a->paths[i], &x, &fx);
                blob_at(then, a->paths[i], &y, &fy);
                a->same = fx == fy && (!fx || git_oid_equal(&x, &y));
        }
        return 0;
}

int ap_git_repo_same_at(struct ap_git_repo *r, const char *commit, const char *const *paths, size_t n,
                        bool *ret_same, struct ap_error *err)
{
        for (size_t i = 0; i < n; i++) {
                int rc = ap_git_check_path(paths[i], err);
                if (rc < 0)
                        return rc;
        }
        struct same_args a = {.commit = commit, .paths = paths, .n = n};
        int rc = ap_git_run_locked(r, NULL, same_fn, &a, err);
        if (rc >= 0)
                *ret_same = a.same;
        return rc;
}

struct list_ctx {
        size_t prefix_len; /* dir plus its '/' */
        const char *dir;
        int (*fn)(const char *path, void *userdata);
        void *userdata;
        int ret;
};

static int list_entry(const char *root, const git_tree_entry *e, void *payload)
{
        struct list_ctx *c = payload;
        if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
                return 0;
        char path[4200];
        snprintf(path, sizeof(path), "%s%s%s", c->dir, c->prefix_len ? "/" : "", root);
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%s", git_tree_entry_name(e));
        c->ret = c->fn(path, c->userdata);
        return c->ret ? -1 : 0;
}

static int list_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        struct list_ctx *c = args;
        _cleanup_(tree_freep) git_tree *root = NULL;
        int rc = c->dir[0] ? ap_git_check_path(c->dir, err) : 0;
        if (rc < 0 || (rc = tip_tree(r, &root, err)) < 0 || !root)
                return rc;
        git_tree *sub = NULL;
        git_tree_entry *e = NULL;
        c->ret = 0;
        if (!c->dir[0]) {
                if (git_tree_walk(root, GIT_TREEWALK_PRE, list_entry, c) < 0 && !c->ret)
                        rc = read_fail(r, "list", err);
        } else if (git_tree_entry_bypath(&e, root, c->dir) == 0 &&
                   git_tree_entry_type(e) == GIT_OBJECT_TREE) {
                if (git_tree_lookup(&sub, r->git, git_tree_entry_id(e)) < 0 ||
                    (git_tree_walk(sub, GIT_TREEWALK_PRE, list_entry, c) < 0 && !c->ret))
                        rc = read_fail(r, "list a folder of", err);
        }
        git_tree_entry_free(e);
        git_tree_free(sub);
        return rc < 0 ? rc : c->ret;
}

int ap_git_repo_list(struct ap_git_repo *r, const char *dir, int (*fn)(const char *path, void *userdata),
                     void *userdata, struct ap_error *err)
{
        dir = dir ? dir : "";
        struct list_ctx c = {.prefix_len = strlen(dir), .dir = dir, .fn = fn, .userdata = userdata};
        return ap_git_run_locked(r, NULL, list_fn, &c, err);
}
