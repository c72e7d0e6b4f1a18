/* rest_keys.c - deploy keys on GitHub and Gitea/Forgejo (https://docs.github.com/en/rest/deploy-keys:
 * list, create, delete; Gitea repoListKeys, repoCreateKey, repoDeleteKey, same paths and bodies): make
 * one key present and read-only, rotate the others with its title away, and treat "already there" from
 * a retried POST as done. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ssh_key.h"
#include "forge/forge_internal.h"

static int list_keys(struct ap_forge *f, const char *repo, struct ap_forge_key **ret, size_t *ret_n,
                     struct ap_error *err)
{
        char path[512], what[300];
        /* one page is plenty: a platform repository carries one or two deploy keys */
        snprintf(path, sizeof(path), "/repos/%s/%s/keys?%s", f->owner, repo,
                 f->kind == AP_FORGE_GITHUB ? "per_page=100" : "limit=50");
        snprintf(what, sizeof(what), "cannot list the deploy keys of '%s/%s'", f->owner, repo);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_expect(f, "GET", path, NULL, 200, 0, what, &resp, err);
        if (r >= 0)
                r = ap_forge_json_keys(resp.body.data, resp.body.len, ret, ret_n, err);
        ap_forge_rest_resp_release(&resp);
        return r;
}

static int delete_key(struct ap_forge *f, const char *repo, long long id, struct ap_error *err)
{
        char path[512], what[300];
        snprintf(path, sizeof(path), "/repos/%s/%s/keys/%lld", f->owner, repo, id);
        snprintf(what, sizeof(what), "cannot remove deploy key %lld of '%s/%s'", id, f->owner, repo);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_expect(f, "DELETE", path, NULL, 204, 404, what, &resp, err);
        ap_forge_rest_resp_release(&resp);
        return r;
}

/* POST the key; AP_E_EXISTS when the forge says the key (or, on Gitea, the title) is taken. */
static int add_key(struct ap_forge *f, const char *repo, const char *title, const char *key,
                   struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j =
            json_pack("{s:s, s:s, s:b}", "title", title, "key", key, "read_only", 1);
        _cleanup_free_ char *body = ap_forge_json_dump(j);
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char path[512], what[300];
        snprintf(path, sizeof(path), "/repos/%s/%s/keys", f->owner, repo);
        snprintf(what, sizeof(what), "cannot add deploy key '%s' to '%s/%s'", title, f->owner, repo);
        struct ap_forge_rest_resp resp;
        ap_forge_rest_resp_init(&resp);
        int r = ap_forge_rest_call(f, "POST", path, body, &resp, err);
        if (r >= 0 && resp.status != 201) {
                r = ap_forge_rest_fail(f, &resp, what, err);
                if (r == AP_E_EXISTS) {
                        char msg[300];
                        ap_forge_json_message(resp.body.data, resp.body.len, msg, sizeof(msg));
                        ap_error_set(err, AP_E_EXISTS,
                                     "%s: %s; a key can be the deploy key of one repository only, and Gitea "
                                     "takes a title once",
                                     what, msg[0] ? msg : "already in use");
                }
        }
        ap_forge_rest_resp_release(&resp);
        return r < 0 ? r : 0;
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

static const struct ap_forge_key *find_key(const struct ap_forge_key *keys, size_t n,
                                           const struct ap_ssh_pubkey *want)
{
        for (size_t i = 0; i < n; i++)
                if (keys[i].id >= 0 && same_key(keys[i].key, want))
                        return &keys[i];
        return NULL;
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

/* Add want; "already there" answers are checked against the list (a POST retried after a lost answer
 * finds its own key) and, with rotate, make room by removing the keys with the same title. */
static int add_checked(struct ap_forge *f, const char *repo, const char *title, const struct ap_buf *line,
                       const struct ap_ssh_pubkey *want, bool rotate, struct ap_forge_key *keys, size_t n,
                       struct ap_error *err)
{
        int r = add_key(f, repo, title, line->data, err);
        if (r != AP_E_EXISTS)
                return r;
        struct ap_error again = AP_ERROR_INIT;
        _cleanup_free_ struct ap_forge_key *now = NULL;
        size_t m = 0;
        if (list_keys(f, repo, &now, &m, &again) == 0) {
                const struct ap_forge_key *k = find_key(now, m, want);
                if (k && k->read_only)
                        return 0;
        }
        if (!rotate)
                return r;
        /* titles are unique per repository on Gitea: make room first, then add */
        if ((r = delete_same_title(f, repo, title, want, keys, n, err)) < 0)
                return r;
        return add_key(f, repo, title, line->data, err);
}

int ap_forge_rest_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                                    const struct ap_ssh_pubkey *want, bool rotate,
                                    enum ap_forge_key_result *ret, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf line = AP_BUF_INIT;
        _cleanup_free_ struct ap_forge_key *keys = NULL;
        size_t n = 0;
        int r = ap_ssh_pubkey_write(want, &line);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        if ((r = list_keys(f, repo, &keys, &n, err)) < 0)
                return r;
        const struct ap_forge_key *mine = find_key(keys, n, want);
        enum ap_forge_key_result result = AP_FORGE_KEY_PRESENT;
        if (mine && !mine->read_only) {
                /* ours, but with write access: replace it with a read-only one */
                if ((r = delete_key(f, repo, mine->id, err)) < 0)
                        return r;
                mine = NULL;
        }
        if (!mine) {
                if ((r = add_checked(f, repo, title, &line, want, rotate, keys, n, err)) < 0)
                        return r;
                result = AP_FORGE_KEY_ADDED;
        }
        if (rotate && (r = delete_same_title(f, repo, title, want, keys, n, err)) < 0)
                return r;
        for (size_t i = 0; rotate && i < n; i++)
                if (keys[i].id < 0)
                        result = AP_FORGE_KEY_ROTATED;
        *ret = result;
        return 0;
}
