/* cache.c - the local bare cache of one remote repository: created atomically (init in a temporary
 * folder, then rename: base/dir_atomic.h), fetched into refs/remotes/origin/<branch> through an anonymous
 * remote (the URL lives in our configuration, not in the cache), thrown away and recloned when it is found
 * unusable. Only refs and immutable objects change here, so a crash never leaves it half-updated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/dir_atomic.h"
#include "base/fileio.h"
#include "git/repo_internal.h"

void ap_git_cache_discard(struct ap_git_repo *r)
{
        git_repository_free(r->git);
        r->git = NULL;
        r->idle_closed = false;
        bool removed;
        if (ap_dir_remove_atomic(r->cache_dir, &removed, NULL) < 0)
                (void)ap_remove_tree(r->cache_dir); /* could not rename it away: delete in place */
}

static int git_fail(struct ap_git_repo *r, const char *what, struct ap_error *err)
{
        (void)ap_git_fault(r, NULL, -1, what, err);
        return err ? err->code : -EIO;
}

static int init_bare(const char *tmp, void *userdata, struct ap_error *err)
{
        struct ap_git_repo *r = userdata;
        git_repository *repo = NULL;
        int rc = git_repository_init(&repo, tmp, 1);
        git_repository_free(repo);
        return rc < 0 ? git_fail(r, "create the git cache of", err) : 0;
}

static int create_cache(struct ap_git_repo *r, struct ap_error *err)
{
        bool created;
        int rc = ap_dir_create_atomic(r->cache_dir, init_bare, r, &created, err);
        return rc < 0 ? ap_error_prefix(err, "cannot create the git cache of '%s'", r->name) : 0;
}

#define MARK_FILE "ap-compacted"

/* The folder's inode and the compaction mark's inode and mtime (0 when absent). */
static void look(const struct ap_git_repo *r, ino_t *dir, ino_t *mark, struct timespec *mtime)
{
        char path[4200];
        struct stat st;
        *dir = stat(r->cache_dir, &st) == 0 ? st.st_ino : 0;
        snprintf(path, sizeof(path), "%s/" MARK_FILE, r->cache_dir);
        bool have = stat(path, &st) == 0;
        *mark = have ? st.st_ino : 0;
        *mtime = have ? st.st_mtim : (struct timespec){0, 0};
}

/* The folder looks as it did when the cache was last opened. */
static bool unchanged(const struct ap_git_repo *r, ino_t dir, ino_t mark, struct timespec mtime)
{
        return dir == r->seen_dir_ino && mark == r->seen_mark_ino &&
               mtime.tv_sec == r->seen_mark_mtime.tv_sec && mtime.tv_nsec == r->seen_mark_mtime.tv_nsec;
}

void ap_git_cache_revalidate(struct ap_git_repo *r)
{
        if (!r->git)
                return;
        ino_t dir, mark;
        struct timespec mtime;
        look(r, &dir, &mark, &mtime);
        if (unchanged(r, dir, mark, mtime))
                return;
        git_repository_free(r->git);
        r->git = NULL;
}

int ap_git_cache_mark_compacted(struct ap_git_repo *r, struct ap_error *err)
{
        char path[4200];
        snprintf(path, sizeof(path), "%s/" MARK_FILE, r->cache_dir);
        int rc = ap_write_file_atomic(path, "compacted\n", 10, 0600, err);
        bool need_fetch = r->need_fetch;
        git_repository_free(r->git); /* no handle to a deleted pack may stay */
        r->git = NULL;
        int rc2 = ap_git_cache_open(r, err);
        if (rc2 >= 0)
                r->need_fetch = need_fetch;
        return rc < 0 ? rc : rc2;
}

int ap_git_cache_open(struct ap_git_repo *r, struct ap_error *err)
{
        if (r->git)
                return 0;
        char head[4200];
        snprintf(head, sizeof(head), "%s/HEAD", r->cache_dir);
        struct stat st;
        if (stat(head, &st) < 0) {
                (void)ap_remove_tree(r->cache_dir); /* a folder without HEAD is nothing we made completely */
                int ret = create_cache(r, err);
                if (ret < 0)
                        return ret;
        }
        git_repository *repo = NULL;
        if (git_repository_open_bare(&repo, r->cache_dir) < 0) {
                /* unusable (corrupt, from an older layout): start over */
                (void)ap_remove_tree(r->cache_dir);
                int ret = create_cache(r, err);
                if (ret < 0)
                        return ret;
                if (git_repository_open_bare(&repo, r->cache_dir) < 0)
                        return git_fail(r, "open the git cache of", err);
        }
        r->git = repo;
        ino_t dir, mark;
        struct timespec mtime;
        look(r, &dir, &mark, &mtime);
        /* closed only for being idle, and the folder is the one we closed: its tracking ref is as current
         * as it was then; anything else is fetched */
        r->need_fetch = r->idle_closed && unchanged(r, dir, mark, mtime) ? r->need_fetch : true;
        r->idle_closed = false;
        r->seen_dir_ino = dir;
        r->seen_mark_ino = mark;
        r->seen_mark_mtime = mtime;
        return 0;
}

int ap_git_remote(struct ap_git_repo *r, git_remote **ret)
{
        /* anonymous, and no url.<x>.insteadOf lookups: the URL is exactly the configured one (this also
         * avoids a per-call leak in libgit2 1.5's config regex matching) */
        git_remote_create_options o;
        git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
        o.repository = r->git;
        o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
        return git_remote_create_with_opts(ret, r->url, &o);
}

int ap_git_remote_run(struct ap_git_repo *r, struct ap_git_op *op, const char *refspec, bool push)
{
        char *specs[] = {(char *)refspec};
        git_strarray arr = {specs, 1};
        git_remote *remote = NULL;
        int rc = ap_git_remote(r, &remote);
        if (rc >= 0 && push) {
                git_push_options opts;
                git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
                ap_git_op_callbacks(op, &opts.callbacks);
                rc = git_remote_push(remote, &arr, &opts);
        } else if (rc >= 0) {
                git_fetch_options opts;
                git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
                ap_git_op_callbacks(op, &opts.callbacks);
                opts.prune = GIT_FETCH_PRUNE;
                opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
                opts.update_fetchhead = 0;
                rc = git_remote_fetch(remote, &arr, &opts, NULL);
        }
        git_remote_free(remote);
        return rc;
}

int ap_git_cache_fetch(struct ap_git_repo *r, enum ap_git_fault *ret_fault, struct ap_error *err)
{
        struct ap_git_op op = {.r = r};
        char refspec[700];
        snprintf(refspec, sizeof(refspec), "+%s:%s", r->remote_ref, r->tracking_ref);
        int rc = ap_git_remote_run(r, &op, refspec, false);
        if (rc < 0) {
                *ret_fault = ap_git_fault(r, &op, rc, "fetch", err);
                return err ? err->code : -EIO;
        }
        r->need_fetch = false;
        return 0;
}

int ap_git_cache_tip(struct ap_git_repo *r, git_oid *ret, bool *ret_found, struct ap_error *err)
{
        git_oid oid;
        int rc = git_reference_name_to_id(&oid, r->git, r->tracking_ref);
        if (rc == GIT_ENOTFOUND) {
                *ret_found = false;
                return 0;
        }
        if (rc < 0)
                return git_fail(r, "read the branch tip of", err);
        *ret = oid;
        *ret_found = true;
        return 0;
}

#define CANCEL_POLL_MS 10

bool ap_git_backoff(struct ap_git_repo *r, unsigned step, int64_t deadline, const struct ap_error *cause)
{
        if (ap_deadline_passed(deadline) || ap_git_cancelled(r))
                return false;
        if (r->on_retry)
                r->on_retry(r->hook_userdata, r->name, step, cause);
        /* one last attempt right at the deadline */
        int64_t until = AP_MIN(
            ap_deadline_after_ms(ap_backoff_ms(step, r->backoff_initial_ms, r->backoff_max_ms)), deadline);
        for (int64_t left; (left = ap_deadline_left_ms(until)) > 0;) {
                if (ap_git_cancelled(r))
                        return false;
                ap_sleep_ms(AP_MIN(left, CANCEL_POLL_MS));
        }
        return !ap_git_cancelled(r);
}
