/* commit.c - turning a set of file changes into one commit on top of a given tip: blobs, a tree rebuilt
 * from the tip's tree plus the changes (git_tree_create_updated, so untouched files keep their objects),
 * the "unchanged" test (same tree id), the message with its trailers, and an optional SSH signature in
 * the gpgsig header. Nothing here touches refs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/ssh_key_sig.h"
#include "git/repo_internal.h"

#define MAX_PATH 4096

static void tree_freep(git_tree **t)
{
        git_tree_free(*t);
}

static void commit_freep(git_commit **c)
{
        git_commit_free(*c);
}

static void sig_freep(git_signature **s)
{
        git_signature_free(*s);
}

static void tree_entry_freep(git_tree_entry **e)
{
        git_tree_entry_free(*e);
}

int ap_git_check_path(const char *path, struct ap_error *err)
{
        size_t n = path ? strlen(path) : 0;
        if (n == 0 || n > MAX_PATH)
                return ap_error_set(err, AP_E_INVALID, "a file path to commit is empty or too long");
        if (path[0] == '/' || path[n - 1] == '/')
                return ap_error_set(err, AP_E_INVALID, "'%s' must be a relative file path", path);
        for (const char *p = path; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
                        return ap_error_set(err, AP_E_INVALID,
                                            "'%.200s' contains a control character or backslash", path);
        for (const char *c = path; *c;) {
                size_t len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.') ||
                    (len == 4 && strncasecmp(c, ".git", 4) == 0))
                        return ap_error_set(err, AP_E_INVALID,
                                            "'%s' has an empty, '.', '..' or '.git' component", path);
                c += len;
                if (*c == '/')
                        c++;
        }
        return 0;
}

static int lib_error(struct ap_git_repo *r, const char *what, struct ap_error *err)
{
        struct ap_git_op op = {.r = r};
        ap_git_fault(r, &op, -1, what, err);
        return err ? err->code : -EIO;
}

/* message: subject, blank line, body, blank line, trailers (git-interpret-trailers(1) layout) */
static int build_message(const struct ap_git_commit_request *req, struct ap_buf *msg, struct ap_error *err)
{
        if (!req->subject || !req->subject[0] || strchr(req->subject, '\n'))
                return ap_error_set(err, AP_E_INVALID, "a commit needs a one-line subject");
        int rc = ap_buf_printf(msg, "%s\n", req->subject);
        if (rc >= 0 && req->body && req->body[0]) {
                size_t n = strlen(req->body);
                rc = ap_buf_printf(msg, "\n%s%s", req->body, req->body[n - 1] == '\n' ? "" : "\n");
        }
        if (rc >= 0 && (req->app || req->requested_by))
                rc = ap_buf_addch(msg, '\n');
        if (rc >= 0 && req->app)
                rc = ap_buf_printf(msg, "App: %s\n", req->app);
        if (rc >= 0 && req->requested_by)
                rc = ap_buf_printf(msg, "Requested-by: %s\n", req->requested_by);
        if (rc >= 0 &&
            ((req->app && strchr(req->app, '\n')) || (req->requested_by && strchr(req->requested_by, '\n'))))
                return ap_error_set(err, AP_E_INVALID, "commit trailers must be one line each");
        if (rc < 0)
                return ap_error_set(err, rc, "the commit message is too long");
        return 0;
}

static int cmp_path(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every path valid, none changed twice, nothing inside a folder that remove_dir deletes. Sorting makes
 * this O(n log n): duplicates are neighbours, and the paths under "d/" start at the first one >= "d/". */
static int check_changes(struct ap_git_repo *r, const struct ap_git_commit_request *req, struct ap_error *err)
{
        size_t n = req->n_changes;
        for (size_t i = 0; i < n; i++)
                if (ap_git_check_path(req->changes[i].path, err) < 0)
                        return ap_error_prefix(err, "cannot commit to '%s'", r->name);
        _cleanup_free_ const char **sorted = calloc(n ? n : 1, sizeof(*sorted));
        if (!sorted)
                return ap_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                sorted[i] = req->changes[i].path;
        qsort(sorted, n, sizeof(*sorted), cmp_path);
        for (size_t i = 1; i < n; i++)
                if (strcmp(sorted[i - 1], sorted[i]) == 0)
                        return ap_error_set(err, AP_E_INVALID, "cannot commit to '%s': '%s' is changed twice",
                                            r->name, sorted[i]);
        for (size_t i = 0; i < n; i++) {
                const char *d = req->changes[i].path;
                size_t dl = strlen(d);
                if (!req->changes[i].remove_dir)
                        continue;
                size_t lo = 0, hi = n; /* first path >= "d/" */
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        int c = strncmp(sorted[mid], d, dl);
                        if (c < 0 || (c == 0 && (unsigned char)sorted[mid][dl] < '/'))
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo < n && strncmp(sorted[lo], d, dl) == 0 && sorted[lo][dl] == '/')
                        return ap_error_set(
                            err, AP_E_INVALID,
                            "cannot commit to '%s': '%s' lies in the folder '%s', which the same "
                            "commit removes",
                            r->name, sorted[lo], d);
        }
        return 0;
}

/* A removal of path: dropped (a no-op) when base has nothing there; refused when it is the other kind. */
static int prepare_removal(struct ap_git_repo *r, const struct ap_git_change *c, git_tree *base,
                           git_tree_update *ups, size_t *n, struct ap_error *err)
{
        _cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
        if (!base || git_tree_entry_bypath(&e, base, c->path) < 0)
                return 0;
        bool folder = git_tree_entry_type(e) == GIT_OBJECT_TREE;
        if (folder != c->remove_dir)
                return ap_error_set(
                    err, AP_E_INVALID,
                    folder ? "cannot commit to '%s': '%s' is a folder (remove it with remove_dir)"
                           : "cannot commit to '%s': '%s' is a file, not a folder",
                    r->name, c->path);
        /* git_tree_create_updated removes the entry, a subtree as a whole, and drops emptied folders */
        ups[(*n)++] = (git_tree_update){.action = GIT_TREE_UPDATE_REMOVE, .path = c->path};
        return 0;
}

/* Blobs and the update list; removals of paths that are not there are dropped (no-ops). */
static int prepare_updates(struct ap_git_repo *r, const struct ap_git_commit_request *req, git_tree *base,
                           git_tree_update *ups, size_t *ret_n, struct ap_error *err)
{
        int rc = check_changes(r, req, err);
        if (rc < 0)
                return rc;
        size_t n = 0;
        for (size_t i = 0; i < req->n_changes; i++) {
                const struct ap_git_change *c = &req->changes[i];
                if (c->remove || c->remove_dir) {
                        if ((rc = prepare_removal(r, c, base, ups, &n, err)) < 0)
                                return rc;
                        continue;
                }
                if (c->len > AP_GIT_MAX_FILE)
                        return ap_error_set(err, AP_E_TOO_LARGE,
                                            "cannot commit to '%s': '%s' is larger than %zu bytes", r->name,
                                            c->path, AP_GIT_MAX_FILE);
                git_tree_update *u = &ups[n++];
                *u = (git_tree_update){.action = GIT_TREE_UPDATE_UPSERT,
                                       .path = c->path,
                                       .filemode =
                                           c->executable ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB};
                if (git_blob_create_from_buffer(&u->id, r->git, c->len ? c->data : "", c->len) < 0)
                        return lib_error(r, "write a file into the cache of", err);
        }
        *ret_n = n;
        return 0;
}

static int create_commit(struct ap_git_repo *r, const struct ap_buf *msg, const git_oid *tree_id,
                         git_commit *parent, git_oid *ret, struct ap_error *err)
{
        _cleanup_(sig_freep) git_signature *who = NULL;
        _cleanup_(tree_freep) git_tree *tree = NULL;
        if (git_signature_now(&who, r->author_name, r->author_email) < 0)
                return ap_error_set(err, AP_E_INVALID, "cannot commit to '%s': bad author '%s <%s>'", r->name,
                                    r->author_name, r->author_email);
        if (git_tree_lookup(&tree, r->git, tree_id) < 0)
                return lib_error(r, "read back the new tree of", err);
        const git_commit *parents[1] = {parent};
        size_t np = parent ? 1 : 0;
        if (!r->signing_key) {
                if (git_commit_create(ret, r->git, NULL, who, who, NULL, msg->data, tree, np, parents) < 0)
                        return lib_error(r, "write the commit for", err);
                return 0;
        }
        git_buf content = GIT_BUF_INIT;
        if (git_commit_create_buffer(&content, r->git, who, who, NULL, msg->data, tree, np, parents) < 0)
                return lib_error(r, "write the commit for", err);
        _cleanup_buf_ struct ap_buf sig = AP_BUF_INIT;
        int rc = ap_ssh_key_sshsig(r->signing_key, "git", content.ptr, content.size, &sig, err);
        if (rc >= 0 && git_commit_create_with_signature(ret, r->git, content.ptr, sig.data, NULL) < 0)
                rc = lib_error(r, "write the signed commit for", err);
        git_buf_dispose(&content);
        return rc;
}

#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

/* The tree of req on base_tree (NULL = empty); *ret_same when nothing changes. */
static int tree_for(struct ap_git_repo *r, const struct ap_git_commit_request *req, git_tree *base_tree,
                    git_oid *ret_tree, bool *ret_same, struct ap_error *err)
{
        if (req->n_changes > AP_GIT_MAX_FILES)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "cannot commit to '%s': more than %d files in one commit", r->name,
                                    AP_GIT_MAX_FILES);
        _cleanup_free_ git_tree_update *ups = calloc(req->n_changes ? req->n_changes : 1, sizeof(*ups));
        size_t n = 0;
        if (!ups)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int rc = prepare_updates(r, req, base_tree, ups, &n, err);
        if (rc < 0)
                return rc;
        git_oid tree_id;
        if (git_tree_create_updated(&tree_id, r->git, base_tree, n, ups) < 0) {
                const git_error *e = git_error_last();
                if (e && e->klass == GIT_ERROR_TREE)
                        return ap_error_set(err, AP_E_INVALID, "cannot commit to '%s': %s", r->name,
                                            ap_git_last_message());
                return lib_error(r, "write the tree for", err);
        }
        /* byte-identical: the same tree (an empty branch stays empty when nothing is written) */
        *ret_same = base_tree ? git_oid_equal(&tree_id, git_tree_id(base_tree))
                              : git_oid_streq(&tree_id, EMPTY_TREE) == 0;
        *ret_tree = tree_id;
        return 0;
}

/* The commit base and its tree (both NULL for an empty branch). */
static int open_base(struct ap_git_repo *r, const git_oid *base, git_commit **ret_commit, git_tree **ret_tree,
                     struct ap_error *err)
{
        if (!base)
                return 0;
        if (git_commit_lookup(ret_commit, r->git, base) < 0 || git_commit_tree(ret_tree, *ret_commit) < 0)
                return lib_error(r, "read the branch tip of", err);
        return 0;
}

int ap_git_build_tree(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *base,
                      git_oid *ret_tree, bool *ret_same, struct ap_error *err)
{
        _cleanup_(commit_freep) git_commit *parent = NULL;
        _cleanup_(tree_freep) git_tree *base_tree = NULL;
        int rc = open_base(r, base, &parent, &base_tree, err);
        return rc < 0 ? rc : tree_for(r, req, base_tree, ret_tree, ret_same, err);
}

int ap_git_build_commit(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *tip,
                        git_oid *ret, bool *ret_unchanged, struct ap_error *err)
{
        _cleanup_(commit_freep) git_commit *parent = NULL;
        _cleanup_(tree_freep) git_tree *base = NULL;
        _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
        int rc = build_message(req, &msg, err);
        if (rc < 0)
                return ap_error_prefix(err, "cannot commit to '%s'", r->name);
        if ((rc = open_base(r, tip, &parent, &base, err)) < 0)
                return rc;
        git_oid tree_id;
        bool same = false;
        if ((rc = tree_for(r, req, base, &tree_id, &same, err)) < 0)
                return rc;
        if (same) {
                *ret_unchanged = true;
                return 0;
        }
        git_oid id;
        if ((rc = create_commit(r, &msg, &tree_id, parent, &id, err)) < 0)
                return rc;
        *ret = id;
        *ret_unchanged = false;
        return 0;
}
