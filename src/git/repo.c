/* repo.c - struct ap_git_repo: configuration, locking (a mutex per repo plus an advisory file lock on
 * the cache), and the two operations built on the cache: sync + read, and commit + push with retries on
 * conflicts and outages. */
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
 * proxies, hooks paths), so search paths are emptied once. */
static void global_init(void)
{
        git_libgit2_init();
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
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
        r->before_push = cfg->before_push;
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

/* The retry budget is spent: AP_E_TIMEOUT, with the last failure as the cause. */
static int give_up(struct ap_git_repo *r, struct ap_error *err)
{
        if (!err)
                return AP_E_TIMEOUT;
        ap_error_prefix(err, "gave up after %u s", (r->retry_timeout_ms + 999) / 1000);
        err->code = AP_E_TIMEOUT;
        return AP_E_TIMEOUT;
}

/* Open the cache and fetch, retrying transient failures until the deadline. */
static int sync_locked(struct ap_git_repo *r, int64_t deadline, struct ap_error *err)
{
        int rc = ap_git_cache_open(r, err);
        if (rc < 0)
                return rc;
        for (unsigned step = 0;; step++) {
                enum ap_git_fault fault = AP_GIT_FAULT_PERMANENT;
                rc = ap_git_cache_fetch(r, &fault, err);
                if (rc >= 0)
                        return 0;
                if (fault == AP_GIT_FAULT_PERMANENT)
                        return rc;
                if (!ap_git_backoff(r, step, deadline))
                        return give_up(r, err);
        }
}

int ap_git_repo_sync(struct ap_git_repo *r, struct ap_error *err)
{
        int fd, rc = lock_repo(r, &fd, err);
        if (rc < 0)
                return rc;
        rc = sync_locked(r, ap_deadline_after_ms(r->retry_timeout_ms), err);
        unlock_repo(r, fd);
        return rc;
}

static int read_locked(struct ap_git_repo *r, const char *path, struct ap_buf *out, bool *ret_found,
                       struct ap_error *err)
{
        int rc = ap_git_check_path(path, err);
        if (rc < 0)
                return rc;
        if ((rc = ap_git_cache_open(r, err)) < 0)
                return rc;
        git_oid tip;
        bool found = false;
        if ((rc = ap_git_cache_tip(r, &tip, &found, err)) < 0)
                return rc;
        if (!found) {
                *ret_found = false;
                return 0;
        }
        git_commit *c = NULL;
        git_tree *t = NULL;
        git_tree_entry *e = NULL;
        git_blob *b = NULL;
        rc = 0;
        if (git_commit_lookup(&c, r->git, &tip) < 0 || git_commit_tree(&t, c) < 0) {
                rc = ap_error_set(err, -EIO, "cannot read the tip of '%s': %s", r->name,
                                  ap_git_last_message());
        } else if (git_tree_entry_bypath(&e, t, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
                *ret_found = false;
        } else if (git_blob_lookup(&b, r->git, git_tree_entry_id(e)) < 0) {
                rc = ap_error_set(err, -EIO, "cannot read '%s' in '%s': %s", path, r->name,
                                  ap_git_last_message());
        } else if ((size_t)git_blob_rawsize(b) > AP_GIT_MAX_FILE) {
                rc = ap_error_set(err, AP_E_TOO_LARGE, "'%s' in '%s' is larger than %zu bytes", path, r->name,
                                  AP_GIT_MAX_FILE);
        } else if ((rc = ap_buf_add(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b))) < 0) {
                rc = ap_error_set(err, rc, "'%s' in '%s' does not fit the buffer", path, r->name);
        } else {
                *ret_found = true;
        }
        git_blob_free(b);
        git_tree_entry_free(e);
        git_tree_free(t);
        git_commit_free(c);
        return rc;
}

int ap_git_repo_read(struct ap_git_repo *r, const char *path, struct ap_buf *out, bool *ret_found,
                     struct ap_error *err)
{
        int fd, rc = lock_repo(r, &fd, err);
        if (rc < 0)
                return rc;
        rc = read_locked(r, path, out, ret_found, err);
        unlock_repo(r, fd);
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

static int list_locked(struct ap_git_repo *r, const char *dir, struct list_ctx *c, struct ap_error *err)
{
        int rc = dir[0] ? ap_git_check_path(dir, err) : 0;
        if (rc < 0 || (rc = ap_git_cache_open(r, err)) < 0)
                return rc;
        git_oid tip;
        bool found = false;
        if ((rc = ap_git_cache_tip(r, &tip, &found, err)) < 0 || !found)
                return rc;
        git_commit *commit = NULL;
        git_tree *root = NULL, *sub = NULL;
        git_tree_entry *e = NULL;
        rc = 0;
        if (git_commit_lookup(&commit, r->git, &tip) < 0 || git_commit_tree(&root, commit) < 0) {
                rc = ap_error_set(err, -EIO, "cannot read the tip of '%s': %s", r->name,
                                  ap_git_last_message());
        } else if (!dir[0]) {
                if (git_tree_walk(root, GIT_TREEWALK_PRE, list_entry, c) < 0 && !c->ret)
                        rc = ap_error_set(err, -EIO, "cannot list '%s': %s", r->name, ap_git_last_message());
        } else if (git_tree_entry_bypath(&e, root, dir) == 0 && git_tree_entry_type(e) == GIT_OBJECT_TREE) {
                if (git_tree_lookup(&sub, r->git, git_tree_entry_id(e)) < 0 ||
                    (git_tree_walk(sub, GIT_TREEWALK_PRE, list_entry, c) < 0 && !c->ret))
                        rc = ap_error_set(err, -EIO, "cannot list '%s' in '%s': %s", dir, r->name,
                                          ap_git_last_message());
        }
        git_tree_entry_free(e);
        git_tree_free(sub);
        git_tree_free(root);
        git_commit_free(commit);
        return rc < 0 ? rc : c->ret;
}

int ap_git_repo_list(struct ap_git_repo *r, const char *dir, int (*fn)(const char *path, void *userdata),
                     void *userdata, struct ap_error *err)
{
        dir = dir ? dir : "";
        struct list_ctx c = {.prefix_len = strlen(dir), .dir = dir, .fn = fn, .userdata = userdata};
        int fd, rc = lock_repo(r, &fd, err);
        if (rc < 0)
                return rc;
        rc = list_locked(r, dir, &c, err);
        unlock_repo(r, fd);
        return rc;
}

/* Push commit id to the branch. 0 when the server accepted the ref. */
static int push_once(struct ap_git_repo *r, const git_oid *id, enum ap_git_fault *ret_fault,
                     struct ap_error *err)
{
        git_reference *ref = NULL;
        if (git_reference_create(&ref, r->git, r->pending_ref, id, 1, NULL) < 0) {
                *ret_fault = ap_git_fault(r, NULL, -1, "prepare the push to", err);
                return err ? err->code : -EIO;
        }
        git_reference_free(ref);

        struct ap_git_op op = {.r = r};
        git_push_options opts;
        git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
        ap_git_op_callbacks(&op, &opts.callbacks);
        char refspec[700];
        snprintf(refspec, sizeof(refspec), "%s:%s", r->pending_ref, r->remote_ref);
        char *specs[] = {refspec};
        git_strarray arr = {specs, 1};
        git_remote *remote = NULL;
        int rc = ap_git_remote(r, &remote);
        if (rc >= 0)
                rc = git_remote_push(remote, &arr, &opts);
        git_remote_free(remote);
        if (rc < 0) {
                *ret_fault = ap_git_fault(r, &op, rc, "push to", err);
                return err ? err->code : -EIO;
        }
        if (!op.ref_reported) {
                *ret_fault = AP_GIT_FAULT_TRANSIENT;
                return ap_error_set(err, AP_E_UNAVAILABLE,
                                    "cannot push to '%s': the server did not report on '%s'", r->name,
                                    r->remote_ref);
        }
        if (op.ref_status[0]) {
                /* a concurrent update shows as one of these; anything else (hooks, protection) is final */
                const char *s = op.ref_status;
                bool moved = strstr(s, "non-fast-forward") || strstr(s, "fetch first") ||
                             strstr(s, "stale info") || strstr(s, "failed to update ref") ||
                             strstr(s, "failed to lock") || strstr(s, "cannot lock ref");
                *ret_fault = moved ? AP_GIT_FAULT_CONFLICT : AP_GIT_FAULT_PERMANENT;
                return ap_error_set(err, moved ? AP_E_CONFLICT : AP_E_FORBIDDEN,
                                    "the server refused the push of '%s' to '%s': %s", r->branch, r->name, s);
        }
        /* our view of the remote is now our commit; a failure here only costs a fetch later */
        if (git_reference_create(&ref, r->git, r->tracking_ref, id, 1, NULL) < 0)
                r->need_fetch = true;
        git_reference_free(ref);
        return 0;
}

static int commit_push_locked(struct ap_git_repo *r, const struct ap_git_commit_request *req,
                              struct ap_git_push_result *ret, struct ap_error *err)
{
        int64_t deadline = ap_deadline_after_ms(r->retry_timeout_ms);
        int rc = ap_git_cache_open(r, err);
        if (rc < 0)
                return rc;
        bool fetched = false, pushed_before = false;
        git_oid pushed = {{0}};
        unsigned attempts = 0;
        for (unsigned step = 0;;) {
                enum ap_git_fault fault = AP_GIT_FAULT_PERMANENT;
                if (r->need_fetch && (rc = ap_git_cache_fetch(r, &fault, err)) >= 0)
                        fetched = true;
                if (rc >= 0) {
                        git_oid tip, id;
                        bool have_tip = false, unchanged = false;
                        if ((rc = ap_git_cache_tip(r, &tip, &have_tip, err)) < 0)
                                return rc;
                        if ((rc = ap_git_build_commit(r, req, have_tip ? &tip : NULL, &id, &unchanged, err)) <
                            0)
                                return rc;
                        if (unchanged && !fetched) {
                                /* our cache may be behind: only the remote's current tip may say "unchanged"
                                 */
                                r->need_fetch = true;
                                continue;
                        }
                        if (unchanged) {
                                /* a push whose answer got lost may have landed: then the tip is ours */
                                ret->unchanged = !(pushed_before && have_tip && git_oid_equal(&tip, &pushed));
                                ret->attempts = attempts;
                                if (have_tip)
                                        git_oid_tostr(ret->commit, sizeof(ret->commit), &tip);
                                return 0;
                        }
                        attempts++;
                        if (r->before_push)
                                r->before_push(r->hook_userdata, attempts);
                        if ((rc = push_once(r, &id, &fault, err)) >= 0) {
                                ret->unchanged = false;
                                ret->attempts = attempts;
                                git_oid_tostr(ret->commit, sizeof(ret->commit), &id);
                                return 0;
                        }
                        pushed_before = true;
                        pushed = id;
                        if (fault == AP_GIT_FAULT_CONFLICT)
                                r->need_fetch = true;
                }
                if (fault == AP_GIT_FAULT_PERMANENT)
                        return rc;
                if (!ap_git_backoff(r, step++, deadline))
                        return give_up(r, err);
                rc = 0;
        }
}

int ap_git_repo_commit_push(struct ap_git_repo *r, const struct ap_git_commit_request *req,
                            struct ap_git_push_result *ret, struct ap_error *err)
{
        int fd, rc = lock_repo(r, &fd, err);
        if (rc < 0)
                return rc;
        struct ap_git_push_result res = {0};
        rc = commit_push_locked(r, req, &res, err);
        unlock_repo(r, fd);
        if (rc >= 0)
                *ret = res;
        return rc;
}
