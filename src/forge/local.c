/* local.c - the local provider: platform repositories are bare Git repositories DIR/<repo>.git (for the
 * demo and tests; Flux can clone them by path or through an SSH server on the same folder). Created
 * atomically (init in a temporary folder, then rename). Deploy keys are recorded in
 * DIR/<repo>.git/deploy-keys ("title key" lines) so a local SSH server can be pointed at them. */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dir_atomic.h"
#include "base/fileio.h"
#include "crypto/ssh_key.h"
#include "forge/forge_internal.h"

#define KEYS_FILE     "deploy-keys"
#define ARCHIVED_FILE "archived" /* present: the repository is archived (read-only) */
#define ARCHIVED_HOOK                                                                                        \
        "#!/bin/sh\n# written by app-platform when the repository was archived\n"                            \
        "echo 'this repository is archived and read-only' >&2\nexit 1\n"

static int lib_fail(const char *what, const char *path, struct ap_error *err)
{
        const git_error *e = git_error_last();
        return ap_error_set(err, -EIO, "cannot %s '%s': %s", what, path,
                            e && e->message ? e->message : "unknown error");
}

static void repo_path(struct ap_forge *f, const char *name, char *out, size_t n)
{
        snprintf(out, n, "%s/%s.git", f->local_dir, name);
}

struct init_args {
        const char *path, *description;
};

static int init_bare(const char *tmp, void *userdata, struct ap_error *err)
{
        const struct init_args *a = userdata;
        git_repository_init_options o;
        git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
        o.initial_head = "main";
        o.description = a->description;
        git_repository *g = NULL;
        int rc = git_repository_init_ext(&g, tmp, &o);
        git_repository_free(g);
        return rc < 0 ? lib_fail("create repository", a->path, err) : 0;
}

static int local_ensure_repo(struct ap_forge *f, const char *name, const char *description,
                             struct ap_forge_repo *ret, struct ap_error *err)
{
        char path[4200], head[4300];
        repo_path(f, name, path, sizeof(path));
        snprintf(head, sizeof(head), "%s/HEAD", path);
        struct ap_forge_repo repo = {.is_private = true};
        if (access(head, F_OK) != 0) {
                if (mkdir(f->local_dir, 0755) < 0 && errno != EEXIST)
                        return ap_error_set(err, -errno, "cannot create the repository folder '%s': %s",
                                            f->local_dir, strerror(errno));
                struct init_args a = {path, description};
                int rc = ap_dir_create_atomic(path, init_bare, &a, &repo.created, err);
                if (rc < 0)
                        return rc;
        }
        git_repository *g = NULL;
        git_reference *h = NULL;
        if (git_repository_open_bare(&g, path) < 0)
                return lib_fail("open repository", path, err);
        if (git_reference_lookup(&h, g, "HEAD") == 0 && git_reference_type(h) == GIT_REFERENCE_SYMBOLIC) {
                const char *t = git_reference_symbolic_target(h);
                if (strncmp(t, "refs/heads/", 11) == 0)
                        snprintf(repo.default_branch, sizeof(repo.default_branch), "%s", t + 11);
        }
        git_reference_free(h);
        git_repository_free(g);
        char marker[4400];
        snprintf(marker, sizeof(marker), "%s/" ARCHIVED_FILE, path);
        repo.archived = access(marker, F_OK) == 0;
        snprintf(repo.ssh_url, sizeof(repo.ssh_url), "%s", "");
        snprintf(repo.https_url, sizeof(repo.https_url), "%s", "");
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int r = ap_forge_clone_url(f, name, &url, err);
        if (r < 0)
                return r;
        snprintf(repo.clone_url, sizeof(repo.clone_url), "%s", url.data);
        *ret = repo;
        return 0;
}

/* DIR/<repo>.git/hooks (git init makes it; a repository made by other tools may lack it). */
static int mkdir_p_hooks(const char *path, struct ap_error *err)
{
        char hooks[4400];
        snprintf(hooks, sizeof(hooks), "%s/hooks", path);
        if (mkdir(hooks, 0755) < 0 && errno != EEXIST)
                return ap_error_set(err, -errno, "cannot create '%s': %s", hooks, strerror(errno));
        return 0;
}

static int local_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                                   const struct ap_ssh_pubkey *want, bool rotate,
                                   enum ap_forge_key_result *ret, struct ap_error *err)
{
        int r;
        if (strcspn(title, " \t\r\n") != strlen(title) || !title[0])
                return ap_error_set(err, AP_E_INVALID, "deploy key title '%s' must be one word", title);
        char path[4300], file[4400];
        repo_path(f, repo, path, sizeof(path));
        snprintf(file, sizeof(file), "%s/" KEYS_FILE, path);
        _cleanup_buf_ struct ap_buf old = AP_BUF_INIT, out = AP_BUF_INIT, mine = AP_BUF_INIT;
        if (access(path, F_OK) != 0)
                return ap_error_set(err, AP_E_NOT_FOUND, "repository '%s' does not exist", path);
        if (access(file, F_OK) == 0 && (r = ap_read_file(file, &old, err)) < 0)
                return r;
        enum ap_forge_key_result result = AP_FORGE_KEY_ADDED;
        bool present = false;
        int grown = 0; /* the first failure to grow out, if any */
        for (char *line = old.data; *line;) {
                char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t)(nl - line) : strlen(line);
                char *sp = memchr(line, ' ', n);
                struct ap_ssh_pubkey k;
                ap_ssh_pubkey_init(&k);
                bool same = sp && ap_ssh_pubkey_parse(sp + 1, n - (size_t)(sp + 1 - line), &k, NULL) == 0 &&
                            ap_ssh_pubkey_equal(&k, want);
                ap_ssh_pubkey_release(&k);
                bool same_title =
                    sp && (size_t)(sp - line) == strlen(title) && memcmp(line, title, strlen(title)) == 0;
                if (same)
                        present = true;
                if (rotate && same_title && !same)
                        result = AP_FORGE_KEY_ROTATED; /* dropped */
                else if (grown >= 0 && (grown = ap_buf_add(&out, line, n)) >= 0)
                        grown = ap_buf_addch(&out, '\n');
                line += n + (nl ? 1 : 0);
        }
        if (!present && grown >= 0 && (grown = ap_ssh_pubkey_write(want, &mine)) >= 0)
                grown = ap_buf_printf(&out, "%s %s\n", title, mine.data);
        if (grown < 0)
                return ap_error_set(err, grown, "cannot update the deploy keys of '%s': out of memory", path);
        if (present && result != AP_FORGE_KEY_ROTATED)
                result = AP_FORGE_KEY_PRESENT;
        if (result != AP_FORGE_KEY_PRESENT &&
            (r = ap_write_file_atomic(file, out.data, out.len, 0644, err)) < 0)
                return r;
        *ret = result;
        return 0;
}

static int local_set_default_branch(struct ap_forge *f, const char *repo, const char *branch,
                                    struct ap_error *err)
{
        char path[4300], ref[300];
        repo_path(f, repo, path, sizeof(path));
        snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
        int valid = 0;
        if (git_reference_name_is_valid(&valid, ref) < 0 || !valid || strlen(branch) > 200)
                return ap_error_set(err, AP_E_INVALID, "'%s' is not a valid branch name", branch);
        git_repository *g = NULL;
        if (git_repository_open_bare(&g, path) < 0)
                return ap_error_set(err, AP_E_NOT_FOUND, "repository '%s' does not exist", path);
        int rc = git_repository_set_head(g, ref); /* an unborn branch is fine: HEAD names it */
        git_repository_free(g);
        return rc < 0 ? lib_fail("set the default branch of", path, err) : 0;
}

static int local_delete_repo(struct ap_forge *f, const char *name, bool *ret_deleted, struct ap_error *err)
{
        char path[4300];
        repo_path(f, name, path, sizeof(path));
        return ap_dir_remove_atomic(path, ret_deleted, err);
}

static int local_archive_repo(struct ap_forge *f, const char *name, bool *ret_archived, struct ap_error *err)
{
        char path[4300], marker[4400], hook[4400];
        repo_path(f, name, path, sizeof(path));
        snprintf(marker, sizeof(marker), "%s/" ARCHIVED_FILE, path);
        snprintf(hook, sizeof(hook), "%s/hooks/pre-receive", path);
        if (access(path, F_OK) != 0 || access(marker, F_OK) == 0) {
                *ret_archived = false; /* gone, or archived already */
                return 0;
        }
        int r = 0;
        /* the hook first: once the marker says "archived", pushes are refused already */
        if (access(hook, F_OK) != 0 &&
            ((r = mkdir_p_hooks(path, err)) < 0 ||
             (r = ap_write_file_atomic(hook, ARCHIVED_HOOK, strlen(ARCHIVED_HOOK), 0755, err)) < 0))
                return r;
        if ((r = ap_write_file_atomic(marker, "archived by app-platform\n", 25, 0644, err)) < 0)
                return r;
        *ret_archived = true;
        return 0;
}

static int local_git_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err)
{
        return ap_error_set(err, AP_E_UNSUPPORTED, "local repositories need no token");
}

const struct ap_forge_ops ap_forge_local_ops = {
    .ensure_repo = local_ensure_repo,
    .ensure_deploy_key = local_ensure_deploy_key,
    .set_default_branch = local_set_default_branch,
    .git_token = local_git_token,
    .delete_repo = local_delete_repo,
    .archive_repo = local_archive_repo,
};
