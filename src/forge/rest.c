/* rest.c - the GitHub and Gitea/Forgejo providers: API calls (auth header, retries of 429, 5xx and
 * secondary rate limits with backoff), errors from answers, the owner (an organisation or the
 * authenticated user), and repositories: get, create, delete, archive, default branch. Deploy keys are in
 * rest_keys.c. Requests follow GitHub's docs (https://docs.github.com/en/rest/repos/repos: get, create in
 * an organisation / for the authenticated user, update, delete; /rest/users/users: get a user, get the
 * authenticated user) and Gitea's API (https://docs.gitea.com/api: repoGet, createOrgRepo,
 * createCurrentUserRepo, repoEdit, repoDelete, orgGet, userGet, userGetCurrent), which takes the same
 * paths and bodies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "forge/forge_internal.h"

static bool is_github(const struct ap_forge *f)
{
        return f->kind == AP_FORGE_GITHUB;
}

void ap_forge_rest_resp_init(struct ap_forge_rest_resp *r)
{
        r->status = 0;
        ap_forge_http_meta_init(&r->meta);
        ap_buf_init(&r->body, AP_FORGE_RESPONSE_MAX);
}

void ap_forge_rest_resp_release(struct ap_forge_rest_resp *r)
{
        ap_buf_release(&r->body);
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

/* An answer worth asking again for: a rate limit or a server-side failure. *ret_wait_ms: the forge's own
 * hint, -1 when it gave none. */
static bool try_again(const struct ap_forge_rest_resp *resp, int64_t *ret_wait_ms)
{
        long s = resp->status;
        if (s != 403 && s != 429 && s < 500)
                return false;
        int code =
            ap_forge_status_error(s, &resp->meta, resp->body.data, resp->body.len, time(NULL), ret_wait_ms);
        return code == AP_E_RATE_LIMITED || code == AP_E_UNAVAILABLE;
}

int ap_forge_rest_call(struct ap_forge *f, const char *method, const char *path, const char *body,
                       struct ap_forge_rest_resp *resp, struct ap_error *err)
{
        char url[AP_FORGE_URL_MAX + 512];
        snprintf(url, sizeof(url), "%s%s", f->api_url, path);
        int64_t deadline = ap_deadline_after_ms(f->retry_timeout_ms < 0 ? 0 : f->retry_timeout_ms);
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_buf_ struct ap_buf auth = AP_BUF_INIT_SECRET;
                int r = auth_header(f, &auth, err);
                if (r < 0)
                        return r;
                const char *gh[] = {auth.data, "Accept: application/vnd.github+json",
                                    "X-GitHub-Api-Version: 2022-11-28", NULL};
                const char *gt[] = {auth.data, "Accept: application/json", NULL};
                ap_buf_reset(&resp->body);
                r = ap_forge_http_request(f->http, method, url, body, is_github(f) ? gh : gt, &resp->status,
                                          &resp->meta, &resp->body, err);
                int64_t wait = -1;
                if (r < 0 && r != AP_E_UNAVAILABLE)
                        return r;
                if (r >= 0 && !try_again(resp, &wait))
                        return 0;
                if (wait < 0)
                        wait = ap_backoff_ms(attempt, f->backoff_initial_ms, f->backoff_max_ms);
                /* a wait past the budget goes back to the caller as it is (AP_E_RATE_LIMITED with the
                 * forge's hint in retry_after_ms, or the last failure) */
                if (ap_deadline_passed(deadline) || wait > ap_deadline_left_ms(deadline) ||
                    f->retry_timeout_ms < 0)
                        return r < 0 ? r : 0;
                ap_sleep_ms(wait);
        }
}

int ap_forge_rest_expect(struct ap_forge *f, const char *method, const char *path, const char *body, long ok,
                         long also_ok, const char *what, struct ap_forge_rest_resp *resp,
                         struct ap_error *err)
{
        int r = ap_forge_rest_call(f, method, path, body, resp, err);
        if (r >= 0 && resp->status != ok && (!also_ok || resp->status != also_ok))
                r = ap_forge_rest_fail(f, resp, what, err);
        return r < 0 ? r : 0;
}

int ap_forge_rest_fail(struct ap_forge *f, const struct ap_forge_rest_resp *resp, const char *what,
                       struct ap_error *err)
{
        char msg[300], wait_text[64] = "";
        ap_forge_json_message(resp->body.data, resp->body.len, msg, sizeof(msg));
        int64_t wait = -1;
        int code = ap_forge_status_error(resp->status, &resp->meta, resp->body.data, resp->body.len,
                                         time(NULL), &wait);
        if (code == AP_E_RATE_LIMITED)
                snprintf(wait_text, sizeof(wait_text), " (rate limited: retry in %lld s)",
                         (long long)(wait + 999) / 1000);
        ap_error_set(err, code, "%s: %s answered http %ld%s%s%s", what, f->api_url, resp->status,
                     msg[0] ? " " : "", msg, wait_text);
        ap_error_set_retry_after(err, wait > 0 ? (long)wait : 0);
        return code;
}

/* ---- the owner ---- */

/* The login the credentials belong to (GET /user). */
static int authenticated_login(struct ap_forge *f, char *login, size_t n, struct ap_error *err)
{
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_call(f, "GET", "/user", NULL, &resp, err);
        bool is_org = false;
        if (r >= 0 && resp.status == 200)
                r = ap_forge_json_owner(resp.body.data, resp.body.len, login, n, &is_org, err);
        else if (r >= 0 && resp.status == 403 && is_github(f) && f->app_id)
                r = ap_error_set(err, AP_E_FORBIDDEN,
                                 "cannot create repositories under '%s' on %s: it is a user account, and a "
                                 "github app installation can create repositories only in organisations",
                                 f->owner, f->api_url);
        else if (r >= 0)
                r = ap_forge_rest_fail(f, &resp, "cannot read the account of the forge credentials", err);
        ap_forge_rest_resp_release(&resp);
        return r;
}

/* GET path: 1 when 200 (the body stays in resp), 0 when 404, else an error. */
static int exists(struct ap_forge *f, const char *path, struct ap_forge_rest_resp *resp, const char *what,
                  struct ap_error *err)
{
        int r = ap_forge_rest_call(f, "GET", path, NULL, resp, err);
        if (r < 0)
                return r;
        if (resp->status == 200)
                return 1;
        if (resp->status == 404)
                return 0;
        return ap_forge_rest_fail(f, resp, what, err);
}

/* Learn whether the owner is an organisation or the authenticated user; anything else is refused. */
static int resolve_owner(struct ap_forge *f, struct ap_error *err)
{
        if (f->owner_kind != AP_FORGE_OWNER_UNKNOWN)
                return 0;
        char path[300], what[300], login[256];
        snprintf(what, sizeof(what), "cannot look up the owner '%s'", f->owner);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        bool is_org = false;
        int r = 0, found;
        if (!is_github(f)) { /* Gitea: /orgs/{org} knows organisations; /users/{name} every account */
                snprintf(path, sizeof(path), "/orgs/%s", f->owner);
                if ((found = exists(f, path, &resp, what, err)) < 0)
                        goto out;
                is_org = found;
        }
        if (!is_org) { /* GitHub: /users/{name} says "type": "User" or "Organization" */
                snprintf(path, sizeof(path), "/users/%s", f->owner);
                if ((found = r = exists(f, path, &resp, what, err)) < 0)
                        goto out;
                if (!found) {
                        r = ap_error_set(err, AP_E_NOT_FOUND, "the owner '%s' does not exist on %s", f->owner,
                                         f->api_url);
                        goto out;
                }
                if (is_github(f) && (r = ap_forge_json_owner(resp.body.data, resp.body.len, login,
                                                             sizeof(login), &is_org, err)) < 0)
                        goto out;
        }
        if (is_org) {
                f->owner_kind = AP_FORGE_OWNER_ORG;
                r = 0;
                goto out;
        }
        /* a user account: only the one the credentials belong to can have repositories created in it */
        if ((r = authenticated_login(f, login, sizeof(login), err)) < 0)
                goto out;
        if (strcasecmp(login, f->owner) != 0) {
                r = ap_error_set(err, AP_E_FORBIDDEN,
                                 "cannot create repositories under '%s' on %s: it is the user account of "
                                 "someone else (the credentials belong to '%s')",
                                 f->owner, f->api_url, login);
                goto out;
        }
        f->owner_kind = AP_FORGE_OWNER_USER;
        r = 0;
out:
        ap_forge_rest_resp_release(&resp);
        return r;
}

/* ---- repositories ---- */

/* GET the repository: *ret_found false (and ret untouched) on 404. */
static int get_repo(struct ap_forge *f, const char *name, bool *ret_found, struct ap_forge_repo *ret,
                    struct ap_error *err)
{
        char path[512], what[300];
        snprintf(path, sizeof(path), "/repos/%s/%s", f->owner, name);
        snprintf(what, sizeof(what), "cannot look up repository '%s/%s'", f->owner, name);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = exists(f, path, &resp, what, err);
        if (r > 0)
                r = ap_forge_json_repo(resp.body.data, resp.body.len, ret, err);
        if (r >= 0)
                *ret_found = resp.status == 200;
        ap_forge_rest_resp_release(&resp);
        return r < 0 ? r : 0;
}

/* POST the repository. *ret_created false when the forge says it exists already (made meanwhile, or by
 * a retried POST whose first answer was lost): the caller looks again. */
static int create_repo(struct ap_forge *f, const char *name, const char *description, bool *ret_created,
                       struct ap_forge_repo *ret, struct ap_error *err)
{
        int r = resolve_owner(f, err);
        if (r < 0)
                return r;
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:s, s:s, s:b, s:b}", "name", name, "description", description ? description : "",
                      "private", 1, "auto_init", 0);
        if (j && !is_github(f))
                json_object_set_new(j, "default_branch", json_string("main"));
        _cleanup_free_ char *body = ap_forge_json_dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char path[512], what[300];
        bool org = f->owner_kind == AP_FORGE_OWNER_ORG;
        if (org)
                snprintf(path, sizeof(path), "/orgs/%s/repos", f->owner);
        else
                snprintf(path, sizeof(path), "/user/repos");
        snprintf(what, sizeof(what), "cannot create repository '%s/%s'", f->owner, name);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        if ((r = ap_forge_rest_call(f, "POST", path, body, &resp, err)) < 0)
                goto out;
        if (resp.status == 201) {
                *ret_created = true;
                r = ap_forge_json_repo(resp.body.data, resp.body.len, ret, err);
        } else if ((resp.status == 409 || resp.status == 422) &&
                   ap_forge_json_says_exists(resp.body.data, resp.body.len)) {
                *ret_created = false;
        } else if (resp.status == 404 && org) {
                /* never fall back to the credentials' own account: the repository would land elsewhere */
                r = ap_error_set(err, AP_E_NOT_FOUND,
                                 "%s: %s has no organisation '%s' in which the credentials may create "
                                 "repositories (http 404)",
                                 what, f->api_url, f->owner);
        } else {
                r = ap_forge_rest_fail(f, &resp, what, err);
        }
out:
        ap_forge_rest_resp_release(&resp);
        return r;
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
        bool found = false, created = false;
        int r = get_repo(f, name, &found, &repo, err);
        if (r < 0)
                return r;
        if (!found) {
                if ((r = create_repo(f, name, description, &created, &repo, err)) < 0)
                        return r;
                if (!created && (r = get_repo(f, name, &found, &repo, err)) < 0)
                        return r;
                if (!created && !found)
                        return ap_error_set(
                            err, AP_E_FORBIDDEN,
                            "repository '%s/%s' exists on %s but the credentials cannot see it", f->owner,
                            name, f->api_url);
                repo.created = created;
        }
        if ((r = fill_clone_url(f, name, &repo, err)) < 0)
                return r;
        *ret = repo;
        return 0;
}

static int rest_delete_repo(struct ap_forge *f, const char *name, bool *ret_deleted, struct ap_error *err)
{
        char path[512], what[300];
        snprintf(path, sizeof(path), "/repos/%s/%s", f->owner, name);
        snprintf(what, sizeof(what), "cannot delete repository '%s/%s'", f->owner, name);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_expect(f, "DELETE", path, NULL, 204, 404, what, &resp, err);
        if (r >= 0)
                *ret_deleted = resp.status == 204;
        ap_forge_rest_resp_release(&resp);
        return r;
}

/* PATCH /repos/{owner}/{repo} with body; ok when 200. */
static int patch_repo(struct ap_forge *f, const char *name, json_t *j, const char *what, struct ap_error *err)
{
        _cleanup_free_ char *body = ap_forge_json_dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char path[512];
        snprintf(path, sizeof(path), "/repos/%s/%s", f->owner, name);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_expect(f, "PATCH", path, body, 200, 0, what, &resp, err);
        ap_forge_rest_resp_release(&resp);
        return r;
}

static int rest_archive_repo(struct ap_forge *f, const char *name, bool *ret_archived, struct ap_error *err)
{
        struct ap_forge_repo repo = {0};
        bool found = false;
        int r = get_repo(f, name, &found, &repo, err);
        if (r < 0)
                return r;
        if (!found || repo.archived) {
                *ret_archived = false;
                return 0;
        }
        char what[300];
        snprintf(what, sizeof(what), "cannot archive repository '%s/%s'", f->owner, name);
        _cleanup_(json_decrefp) json_t *j = json_pack("{s:b}", "archived", 1);
        if ((r = patch_repo(f, name, j, what, err)) < 0)
                return r;
        *ret_archived = true;
        return 0;
}

static int rest_set_default_branch(struct ap_forge *f, const char *repo, const char *branch,
                                   struct ap_error *err)
{
        char what[300];
        snprintf(what, sizeof(what), "cannot set the default branch of '%s/%s' to '%s'", f->owner, repo,
                 branch);
        _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "default_branch", branch);
        return patch_repo(f, repo, j, what, err);
}

static int rest_git_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err)
{
        if (is_github(f) && f->app_id)
                return ap_forge_app_token(f, out, err);
        return ap_buf_addstr(out, f->token) < 0 ? ap_error_set(err, -ENOMEM, "out of memory") : 0;
}

const struct ap_forge_ops ap_forge_rest_ops = {
    .ensure_repo = rest_ensure_repo,
    .ensure_deploy_key = ap_forge_rest_ensure_deploy_key,
    .set_default_branch = rest_set_default_branch,
    .git_token = rest_git_token,
    .delete_repo = rest_delete_repo,
    .archive_repo = rest_archive_repo,
};
