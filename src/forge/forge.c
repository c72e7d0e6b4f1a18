/* forge.c - the ap_forge object: configuration checks, the provider table, locking, repository name
 * rules and clone URL templates; the operations themselves live in rest.c (GitHub, Gitea) and local.c. */
#include <git2.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "forge/forge_internal.h"

int ap_forge_parse_kind(const char *s, enum ap_forge_kind *ret)
{
        if (!s)
                return AP_E_INVALID;
        if (strcmp(s, "github") == 0)
                *ret = AP_FORGE_GITHUB;
        else if (strcmp(s, "gitea") == 0 || strcmp(s, "forgejo") == 0)
                *ret = AP_FORGE_GITEA;
        else if (strcmp(s, "local") == 0)
                *ret = AP_FORGE_LOCAL;
        else
                return AP_E_INVALID;
        return 0;
}

int ap_forge_check_name(const char *name, struct ap_error *err)
{
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > AP_FORGE_NAME_MAX ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n ||
            name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".git") == 0))
                return ap_error_set(
                    err, AP_E_INVALID,
                    "'%.100s' is not a valid repository name (1-100 of A-Z a-z 0-9 . _ -, not starting "
                    "with '.', not ending in '.git')",
                    name ? name : "");
        return 0;
}

struct ap_forge *ap_forge_free(struct ap_forge *f)
{
        if (!f)
                return NULL;
        free(f->api_url);
        free(f->owner);
        free(f->clone_url_template);
        free(f->local_dir);
        free(f->user_agent);
        free(f->app_id);
        free(f->installation_id);
        ap_secure_free_str(f->token);
        ap_secure_free_str(f->app_key_pem);
        ap_buf_release(&f->app_token);
        ap_forge_http_free(f->http);
        if (f->kind == AP_FORGE_LOCAL)
                git_libgit2_shutdown();
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
}

static int check_config(const struct ap_forge_config *c, struct ap_error *err)
{
        if (c->kind == AP_FORGE_LOCAL) {
                if (!c->local_dir || !c->local_dir[0])
                        return ap_error_set(err, AP_E_INVALID,
                                            "forge 'local' needs a folder for its repositories");
                return 0;
        }
        const char *kind = c->kind == AP_FORGE_GITHUB ? "github" : "gitea";
        if (!c->owner || ap_forge_check_name(c->owner, NULL) < 0)
                return ap_error_set(
                    err, AP_E_INVALID,
                    "forge '%s' needs an owner (an organisation or user name); '%.100s' is not one", kind,
                    c->owner ? c->owner : "");
        if (c->kind == AP_FORGE_GITEA && (!c->api_url || !c->api_url[0]))
                return ap_error_set(err, AP_E_INVALID,
                                    "forge 'gitea' needs an api url (https://host/api/v1)");
        if (c->api_url && strncmp(c->api_url, "https://", 8) != 0 && strncmp(c->api_url, "http://", 7) != 0)
                return ap_error_set(err, AP_E_INVALID,
                                    "forge api url '%s' must start with https:// (or http://)", c->api_url);
        bool app = c->app_id || c->installation_id || c->app_private_key_pem;
        if (app && c->kind != AP_FORGE_GITHUB)
                return ap_error_set(err, AP_E_INVALID,
                                    "github app credentials only work with forge 'github'");
        if (app && (!c->app_id || !c->installation_id || !c->app_private_key_pem))
                return ap_error_set(err, AP_E_INVALID,
                                    "github app credentials need the app id, the installation id and the "
                                    "private key together");
        if (app && strspn(c->app_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.") !=
                       strlen(c->app_id))
                return ap_error_set(err, AP_E_INVALID,
                                    "github app id '%.40s' must be the numeric app id or the client id",
                                    c->app_id);
        if (!app && (!c->token || !c->token[0]))
                return ap_error_set(err, AP_E_INVALID, "forge '%s' needs a token (or github app credentials)",
                                    kind);
        if (c->token && strcspn(c->token, " \t\r\n") != strlen(c->token))
                return ap_error_set(err, AP_E_INVALID, "the forge token contains white space");
        return 0;
}

int ap_forge_new(const struct ap_forge_config *cfg, struct ap_forge **ret, struct ap_error *err)
{
        int r = check_config(cfg, err);
        if (r < 0)
                return r;
        struct ap_forge *f = calloc(1, sizeof(*f));
        if (!f)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&f->lock, NULL);
        ap_buf_init_secret(&f->app_token, 4096);
        f->kind = cfg->kind;
        f->ops = cfg->kind == AP_FORGE_LOCAL ? &ap_forge_local_ops : &ap_forge_rest_ops;
        f->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
        f->retry_timeout_ms = cfg->retry_timeout_ms ? cfg->retry_timeout_ms : 20000;
        f->backoff_initial_ms = cfg->backoff_initial_ms > 0 ? cfg->backoff_initial_ms : 500;
        f->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 8000;
        const char *api = cfg->api_url && *cfg->api_url ? cfg->api_url : "https://api.github.com";
        f->api_url = strdup(api);
        if (f->api_url && f->api_url[0] && f->api_url[strlen(f->api_url) - 1] == '/')
                f->api_url[strlen(f->api_url) - 1] = '\0';
        f->owner = ap_strdup_or(cfg->owner, NULL);
        f->clone_url_template = ap_strdup_or(cfg->clone_url_template, NULL);
        if (!f->clone_url_template && cfg->kind == AP_FORGE_GITHUB)
                f->clone_url_template = strdup("ssh://git@github.com/{owner}/{repo}.git");
        f->local_dir = ap_strdup_or(cfg->local_dir, NULL);
        f->user_agent = ap_strdup_or(cfg->user_agent, "app-platform");
        f->token = ap_strdup_or(cfg->token, NULL);
        f->app_id = ap_strdup_or(cfg->app_id, NULL);
        f->installation_id = ap_strdup_or(cfg->installation_id, NULL);
        f->app_key_pem = ap_strdup_or(cfg->app_private_key_pem, NULL);
        if (cfg->kind != AP_FORGE_LOCAL)
                f->http = ap_forge_http_new(f->user_agent ? f->user_agent : "app-platform", f->timeout_ms);
        else
                git_libgit2_init();
        if (!f->api_url || !f->user_agent || (cfg->kind != AP_FORGE_LOCAL && !f->http) ||
            (cfg->token && !f->token) || (cfg->app_private_key_pem && !f->app_key_pem)) {
                ap_forge_free(f);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = f;
        return 0;
}

int ap_forge_clone_url(struct ap_forge *f, const char *repo, struct ap_buf *out, struct ap_error *err)
{
        int r = ap_forge_check_name(repo, err);
        if (r < 0)
                return r;
        if (!f->clone_url_template) {
                if (f->kind != AP_FORGE_LOCAL)
                        return ap_error_set(err, AP_E_INVALID, "forge '%s' has no clone url template",
                                            f->api_url);
                r = ap_buf_printf(out, "%s/%s.git", f->local_dir, repo);
                return r < 0 ? ap_error_set(err, r, "clone url too long") : 0;
        }
        for (const char *p = f->clone_url_template; *p;) {
                if (strncmp(p, "{owner}", 7) == 0) {
                        r = ap_buf_addstr(out, f->owner ? f->owner : "");
                        p += 7;
                } else if (strncmp(p, "{repo}", 6) == 0) {
                        r = ap_buf_addstr(out, repo);
                        p += 6;
                } else {
                        r = ap_buf_addch(out, *p++);
                }
                if (r < 0)
                        return ap_error_set(err, r, "clone url too long");
        }
        return 0;
}

int ap_forge_ensure_repo(struct ap_forge *f, const char *name, const char *description,
                         struct ap_forge_repo *ret, struct ap_error *err)
{
        int r = ap_forge_check_name(name, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&f->lock);
        r = f->ops->ensure_repo(f, name, description, ret, err);
        pthread_mutex_unlock(&f->lock);
        return r;
}

int ap_forge_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                               const char *public_key, bool rotate, enum ap_forge_key_result *ret,
                               struct ap_error *err)
{
        int r = ap_forge_check_name(repo, err);
        if (r < 0)
                return r;
        if (!title || !title[0] || strlen(title) > 100)
                return ap_error_set(err, AP_E_INVALID, "a deploy key needs a title of 1-100 characters");
        struct ap_ssh_pubkey want;
        ap_ssh_pubkey_init(&want);
        r = ap_ssh_pubkey_parse(public_key, strlen(public_key), &want, err);
        if (r < 0)
                return ap_error_prefix(err, "deploy key '%s' for '%s'", title, repo);
        pthread_mutex_lock(&f->lock);
        r = f->ops->ensure_deploy_key(f, repo, title, &want, rotate, ret, err);
        pthread_mutex_unlock(&f->lock);
        ap_ssh_pubkey_release(&want);
        return r;
}

int ap_forge_set_default_branch(struct ap_forge *f, const char *repo, const char *branch,
                                struct ap_error *err)
{
        int r = ap_forge_check_name(repo, err);
        if (r < 0)
                return r;
        if (!branch || !branch[0] || strlen(branch) > 200 || strcspn(branch, " \t\r\n\"\\") != strlen(branch))
                return ap_error_set(err, AP_E_INVALID, "'%s' is not a valid branch name",
                                    branch ? branch : "");
        pthread_mutex_lock(&f->lock);
        r = f->ops->set_default_branch(f, repo, branch, err);
        pthread_mutex_unlock(&f->lock);
        return r;
}

/* Run a repository operation under the lock after checking the name. */
static int repo_op(struct ap_forge *f, const char *repo, bool *ret_changed,
                   int (*op)(struct ap_forge *f, const char *repo, bool *ret_changed, struct ap_error *err),
                   struct ap_error *err)
{
        int r = ap_forge_check_name(repo, err);
        if (r < 0)
                return r;
        bool changed = false;
        pthread_mutex_lock(&f->lock);
        r = op(f, repo, &changed, err);
        pthread_mutex_unlock(&f->lock);
        if (r >= 0 && ret_changed)
                *ret_changed = changed;
        return r < 0 ? r : 0;
}

int ap_forge_delete_repo(struct ap_forge *f, const char *repo, bool *ret_deleted, struct ap_error *err)
{
        return repo_op(f, repo, ret_deleted, f->ops->delete_repo, err);
}

int ap_forge_archive_repo(struct ap_forge *f, const char *repo, bool *ret_archived, struct ap_error *err)
{
        return repo_op(f, repo, ret_archived, f->ops->archive_repo, err);
}

int ap_forge_git_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err)
{
        pthread_mutex_lock(&f->lock);
        int r = f->ops->git_token(f, out, err);
        pthread_mutex_unlock(&f->lock);
        return r;
}
