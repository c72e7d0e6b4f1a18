/* rest.c - the GitHub and Gitea/Forgejo providers: the same operations over REST, with the small
 * differences in a dialect (auth header, headers, conflict status). Requests follow GitHub's docs
 * (https://docs.github.com/en/rest/repos/repos: get, create in org / for the user, update;
 * https://docs.github.com/en/rest/deploy-keys/deploy-keys: list, create, delete) and Gitea's API
 * (https://docs.gitea.com/api: repoGet, createOrgRepo, createCurrentUserRepo, repoEdit, repoListKeys,
 * repoCreateKey, repoDeleteKey), which takes the same paths and bodies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ssh_key.h"
#include "forge/forge_internal.h"

static bool is_github(const struct ap_forge *f)
{
        return f->kind == AP_FORGE_GITHUB;
}

/* Build the Authorization header line into auth (secret). */
static int auth_header(struct ap_forge *f, struct ap_buf *auth, struct ap_error *err)
{
        int r;
        if (is_github(f) && f->app_id) {
                _cleanup_buf_ struct ap_buf tok = AP_BUF_INIT_SECRET;
                if ((r = ap_forge_app_token(f, &tok, err)) < 0)
                        return r;
                r = ap_buf_printf(auth, "Authorization: Bearer %s", tok.data);
        } else {
                r = ap_buf_printf(auth, "Authorization: %s %s", is_github(f) ? "Bearer" : "token", f->token);
        }
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

/* One API call; path is appended to api_url. */
static int call(struct ap_forge *f, const char *method, const char *path, const char *body, long *status,
                struct ap_buf *resp, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf auth = AP_BUF_INIT_SECRET;
        int r = auth_header(f, &auth, err);
        if (r < 0)
                return r;
        char url[AP_FORGE_URL_MAX + 512];
        snprintf(url, sizeof(url), "%s%s", f->api_url, path);
        const char *gh[] = {auth.data, "Accept: application/vnd.github+json",
                            "X-GitHub-Api-Version: 2022-11-28", NULL};
        const char *gt[] = {auth.data, "Accept: application/json", NULL};
        ap_buf_reset(resp);
        return ap_forge_http_request(f->http, method, url, body, is_github(f) ? gh : gt, status, resp, err);
}

/* The shared error code for an HTTP status the forge answered with (base/error.h). */
static int status_code(long status)
{
        switch (status) {
        case 401:
                return AP_E_UNAUTHORIZED;
        case 403:
                return AP_E_FORBIDDEN;
        case 404:
                return AP_E_NOT_FOUND;
        case 409:
        case 422:
                return AP_E_EXISTS;
        case 429:
                return AP_E_RATE_LIMITED;
        default:
                return status >= 500 ? AP_E_UNAVAILABLE : -EIO;
        }
}

/* "<what>: <api> answered http <status> <message>": names the object, the URL and the forge's reason. */
static int http_fail(struct ap_forge *f, long status, const struct ap_buf *resp, const char *what,
                     struct ap_error *err)
{
        char msg[300];
        ap_forge_json_message(resp->data, resp->len, msg, sizeof(msg));
        return ap_error_set(err, status_code(status), "%s: %s answered http %ld%s%s", what, f->api_url,
                            status, msg[0] ? " " : "", msg);
}

/* A JSON body from an object (caller frees with free()). */
static char *dump(json_t *j)
{
        return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

static int get_repo(struct ap_forge *f, const char *name, long *status, struct ap_forge_repo *ret,
                    struct ap_error *err)
{
        char path[512];
        snprintf(path, sizeof(path), "/repos/%s/%s", f->owner, name);
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        ap_buf_init(&resp, AP_FORGE_RESPONSE_MAX);
        int r = call(f, "GET", path, NULL, status, &resp, err);
        if (r < 0)
                return r;
        if (*status == 200)
                return ap_forge_json_repo(resp.data, resp.len, ret, err);
        if (*status == 404)
                return 0;
        char what[300];
        snprintf(what, sizeof(what), "cannot look up repository '%s/%s'", f->owner, name);
        return http_fail(f, *status, &resp, what, err);
}

static int create_repo(struct ap_forge *f, const char *name, const char *description, long *status,
                       struct ap_forge_repo *ret, struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:s, s:s, s:b, s:b}", "name", name, "description", description ? description : "",
                      "private", 1, "auto_init", 0);
        if (j && !is_github(f))
                json_object_set_new(j, "default_branch", json_string("main"));
        _cleanup_free_ char *body = dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        ap_buf_init(&resp, AP_FORGE_RESPONSE_MAX);
        char path[512];
        for (int pass = 0; pass < 2; pass++) {
                if (f->owner_is_user)
                        snprintf(path, sizeof(path), "/user/repos");
                else
                        snprintf(path, sizeof(path), "/orgs/%s/repos", f->owner);
                int r = call(f, "POST", path, body, status, &resp, err);
                if (r < 0)
                        return r;
                if (*status == 201)
                        return ap_forge_json_repo(resp.data, resp.len, ret, err);
                /* no such organisation: the owner is the token's own user account */
                if (*status == 404 && !f->owner_is_user) {
                        f->owner_is_user = true;
                        continue;
                }
                break;
        }
        if (*status == 409 || *status == 422)
                return 0; /* created in the meantime: the caller looks again */
        char what[300];
        snprintf(what, sizeof(what), "cannot create repository '%s/%s'", f->owner, name);
        return http_fail(f, *status, &resp, what, err);
}

static int fill_clone_url(struct ap_forge *f, const char *name, struct ap_forge_repo *repo,
                          struct ap_error *err)
{
        if (!f->clone_url_template && repo->ssh_url[0]) {
                snprintf(repo->clone_url, sizeof(repo->clone_url), "%s", repo->ssh_url);
                return 0;
        }
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int r = ap_forge_clone_url(f, name, &url, err);
        if (r < 0)
                return r;
        snprintf(repo->clone_url, sizeof(repo->clone_url), "%s", url.data);
        return 0;
}

static int rest_ensure_repo(struct ap_forge *f, const char *name, const char *description,
                            struct ap_forge_repo *ret, struct ap_error *err)
{
        struct ap_forge_repo repo = {0};
        long status = 0;
        int r = get_repo(f, name, &status, &repo, err);
        if (r < 0)
                return r;
        if (status == 404) {
                if ((r = create_repo(f, name, description, &status, &repo, err)) < 0)
                        return r;
                if (status == 201) {
                        repo.created = true;
                } else {
                        if ((r = get_repo(f, name, &status, &repo, err)) < 0)
                                return r;
                        if (status == 404)
                                return ap_error_set(err, AP_E_FORBIDDEN,
                                                    "repository '%s/%s' exists on %s but the credentials "
                                                    "cannot see it",
                                                    f->owner, name, f->api_url);
                }
        }
        if ((r = fill_clone_url(f, name, &repo, err)) < 0)
                return r;
        *ret = repo;
        return 0;
}

static int list_keys(struct ap_forge *f, const char *repo, struct ap_forge_key **ret, size_t *ret_n,
                     struct ap_error *err)
{
        char path[512];
        /* one page is plenty: a platform repository carries one or two deploy keys */
        snprintf(path, sizeof(path), "/repos/%s/%s/keys?%s", f->owner, repo,
                 is_github(f) ? "per_page=100" : "limit=50");
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        ap_buf_init(&resp, AP_FORGE_RESPONSE_MAX);
        long status = 0;
        int r = call(f, "GET", path, NULL, &status, &resp, err);
        if (r < 0)
                return r;
        if (status != 200) {
                char what[300];
                snprintf(what, sizeof(what), "cannot list the deploy keys of '%s/%s'", f->owner, repo);
                return http_fail(f, status, &resp, what, err);
        }
        return ap_forge_json_keys(resp.data, resp.len, ret, ret_n, err);
}

static int delete_key(struct ap_forge *f, const char *repo, long long id, struct ap_error *err)
{
        char path[512];
        snprintf(path, sizeof(path), "/repos/%s/%s/keys/%lld", f->owner, repo, id);
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        long status = 0;
        int r = call(f, "DELETE", path, NULL, &status, &resp, err);
        if (r < 0)
                return r;
        if (status != 204 && status != 404) {
                char what[300];
                snprintf(what, sizeof(what), "cannot remove deploy key %lld of '%s/%s'", id, f->owner, repo);
                return http_fail(f, status, &resp, what, err);
        }
        return 0;
}

static int add_key(struct ap_forge *f, const char *repo, const char *title, const char *key,
                   struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:s, s:s, s:b}", "title", title, "key", key, "read_only", 1);
        _cleanup_free_ char *body = dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char path[512];
        snprintf(path, sizeof(path), "/repos/%s/%s/keys", f->owner, repo);
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        long status = 0;
        int r = call(f, "POST", path, body, &status, &resp, err);
        if (r < 0)
                return r;
        if (status == 201)
                return 0;
        char what[300];
        snprintf(what, sizeof(what), "cannot add deploy key '%s' to '%s/%s'", title, f->owner, repo);
        r = http_fail(f, status, &resp, what, err);
        if (r == AP_E_EXISTS) {
                char msg[300];
                ap_forge_json_message(resp.data, resp.len, msg, sizeof(msg));
                ap_error_set(
                    err, AP_E_EXISTS,
                    "%s: %s; a key can be a deploy key once (generate one key per repository) and Gitea "
                    "takes a title once (rotate to replace the key)",
                    what, msg[0] ? msg : "already in use");
        }
        return r;
}

/* Same key material (type + blob), comments ignored. */
static bool same_key(const char *line, const struct ap_ssh_pubkey *want)
{
        struct ap_ssh_pubkey k;
        ap_ssh_pubkey_init(&k);
        bool same = ap_ssh_pubkey_parse(line, strlen(line), &k, NULL) == 0 && ap_ssh_pubkey_equal(&k, want);
        ap_ssh_pubkey_release(&k);
        return same;
}

/* Remove the keys titled title that are not want; removed entries get id -1. */
static int delete_same_title(struct ap_forge *f, const char *repo, const char *title,
                             const struct ap_ssh_pubkey *want, struct ap_forge_key *keys, size_t n,
                             struct ap_error *err)
{
        for (size_t i = 0; i < n; i++) {
                if (keys[i].id < 0 || strcmp(keys[i].title, title) != 0 || same_key(keys[i].key, want))
                        continue;
                int r = delete_key(f, repo, keys[i].id, err);
                if (r < 0)
                        return r;
                keys[i].id = -1;
        }
        return 0;
}

static int rest_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                                  const struct ap_ssh_pubkey *want, bool rotate,
                                  enum ap_forge_key_result *ret, struct ap_error *err)
{
        int r;
        _cleanup_buf_ struct ap_buf line = AP_BUF_INIT;
        _cleanup_free_ struct ap_forge_key *keys = NULL;
        size_t n = 0;
        if ((r = ap_ssh_pubkey_write(want, &line)) < 0 || (r = list_keys(f, repo, &keys, &n, err)) < 0)
                goto out;
        const struct ap_forge_key *mine = NULL;
        for (size_t i = 0; i < n && !mine; i++)
                if (same_key(keys[i].key, want))
                        mine = &keys[i];
        enum ap_forge_key_result result = AP_FORGE_KEY_PRESENT;
        if (mine && !mine->read_only) {
                /* ours, but with write access: replace it with a read-only one */
                if ((r = delete_key(f, repo, mine->id, err)) < 0)
                        goto out;
                mine = NULL;
        }
        if (!mine) {
                r = add_key(f, repo, title, line.data, err);
                if (r == AP_E_EXISTS && rotate) {
                        /* titles are unique per repository on Gitea: make room first, then add */
                        if ((r = delete_same_title(f, repo, title, want, keys, n, err)) < 0)
                                goto out;
                        r = add_key(f, repo, title, line.data, err);
                }
                if (r < 0)
                        goto out;
                result = AP_FORGE_KEY_ADDED;
        }
        if (rotate && (r = delete_same_title(f, repo, title, want, keys, n, err)) < 0)
                goto out;
        for (size_t i = 0; rotate && i < n; i++)
                if (keys[i].id < 0)
                        result = AP_FORGE_KEY_ROTATED;
        *ret = result;
        r = 0;
out:
        return r;
}

static int rest_set_default_branch(struct ap_forge *f, const char *repo, const char *branch,
                                   struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "default_branch", branch);
        _cleanup_free_ char *body = dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char path[512];
        snprintf(path, sizeof(path), "/repos/%s/%s", f->owner, repo);
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT;
        ap_buf_init(&resp, AP_FORGE_RESPONSE_MAX);
        long status = 0;
        int r = call(f, "PATCH", path, body, &status, &resp, err);
        if (r < 0)
                return r;
        if (status != 200) {
                char what[300];
                snprintf(what, sizeof(what), "cannot set the default branch of '%s/%s' to '%s'", f->owner,
                         repo, branch);
                return http_fail(f, status, &resp, what, err);
        }
        return 0;
}

static int rest_git_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err)
{
        if (is_github(f) && f->app_id)
                return ap_forge_app_token(f, out, err);
        return ap_buf_addstr(out, f->token) < 0 ? ap_error_set(err, -ENOMEM, "out of memory") : 0;
}

const struct ap_forge_ops ap_forge_rest_ops = {
    .ensure_repo = rest_ensure_repo,
    .ensure_deploy_key = rest_ensure_deploy_key,
    .set_default_branch = rest_set_default_branch,
    .git_token = rest_git_token,
};
