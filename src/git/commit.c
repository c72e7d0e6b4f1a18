/* commit.c - turning a set of file changes into one commit on top of a given tip: blobs, a tree rebuilt
 * from the tip's tree plus the changes (git_tree_create_updated, so untouched files keep their objects),
 * the "unchanged" test (same tree id), the message with its trailers, and an optional SSH signature in
 * the gpgsig header. Nothing here touches refs. */
#include <stdio.h>
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

/* Blobs and the update list; removals of paths that are not there are dropped (no-ops). */
static int prepare_updates(struct ap_git_repo *r, const struct ap_git_commit_request *req, git_tree *base,
                           git_tree_update *ups, size_t *ret_n, struct ap_error *err)
{
        size_t n = 0;
        for (size_t i = 0; i < req->n_changes; i++) {
                const struct ap_git_change *c = &req->changes[i];
                int rc = ap_git_check_path(c->path, err);
                if (rc < 0)
                        return ap_error_prefix(err, "cannot commit to '%s'", r->name);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(req->changes[j].path, c->path) == 0)
                                return ap_error_set(err, AP_E_INVALID,
                                                    "cannot commit to '%s': '%s' is changed twice", r->name,
                                                    c->path);
                if (c->remove) {
                        _cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
                        if (!base || git_tree_entry_bypath(&e, base, c->path) < 0)
                                continue;
                        if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
                                return ap_error_set(err, AP_E_INVALID,
                                                    "cannot commit to '%s': '%s' is a folder, not a file",
                                                    r->name, c->path);
                        ups[n++] = (git_tree_update){.action = GIT_TREE_UPDATE_REMOVE, .path = c->path};
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

int ap_git_build_commit(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *tip,
                        git_oid *ret, bool *ret_unchanged, struct ap_error *err)
{
        if (req->n_changes > AP_GIT_MAX_FILES)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "cannot commit to '%s': more than %d files in one commit", r->name,
                                    AP_GIT_MAX_FILES);
        _cleanup_(commit_freep) git_commit *parent = NULL;
        _cleanup_(tree_freep) git_tree *base = NULL;
        if (tip && (git_commit_lookup(&parent, r->git, tip) < 0 || git_commit_tree(&base, parent) < 0))
                return lib_error(r, "read the branch tip of", err);

        _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
        int rc = build_message(req, &msg, err);
        if (rc < 0)
                return ap_error_prefix(err, "cannot commit to '%s'", r->name);

        _cleanup_free_ git_tree_update *ups = calloc(req->n_changes ? req->n_changes : 1, sizeof(*ups));
        size_t n = 0;
        if (!ups)
                return ap_error_set(err, -ENOMEM, "out of memory");
        if ((rc = prepare_updates(r, req, base, ups, &n, err)) < 0)
                return rc;

        git_oid tree_id;
        if (git_tree_create_updated(&tree_id, r->git, base, n, ups) < 0) {
                const git_error *e = git_error_last();
                if (e && e->klass == GIT_ERROR_TREE)
                        return ap_error_set(err, AP_E_INVALID, "cannot commit to '%s': %s", r->name,
                                            e->message);
                return lib_error(r, "write the tree for", err);
        }
        /* byte-identical: the same tree (an empty branch stays empty when nothing is written) */
        bool same = base ? git_oid_equal(&tree_id, git_tree_id(base))
                         : git_oid_streq(&tree_id, "4b825dc642cb6eb9a060e54bf8d69288fbee4904") == 0;
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
