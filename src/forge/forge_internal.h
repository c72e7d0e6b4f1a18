/* forge_internal.h - what the forge providers share: the ap_forge object with its provider table, the
 * HTTP client (http.c), the JSON readers for forge responses (json.c, fuzzed), the REST provider behind
 * GitHub and Gitea (rest.c), GitHub App tokens (github_app.c) and the local provider (local.c). */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "crypto/ssh_key.h"
#include "forge/forge.h"

#define AP_FORGE_RESPONSE_MAX ((size_t)4 << 20)

struct ap_forge_ops {
        int (*ensure_repo)(struct ap_forge *f, const char *name, const char *description,
                           struct ap_forge_repo *ret, struct ap_error *err);
        /* want: the caller's key, already parsed and checked (borrowed for the call) */
        int (*ensure_deploy_key)(struct ap_forge *f, const char *repo, const char *title,
                                 const struct ap_ssh_pubkey *want, bool rotate, enum ap_forge_key_result *ret,
                                 struct ap_error *err);
        int (*set_default_branch)(struct ap_forge *f, const char *repo, const char *branch,
                                  struct ap_error *err);
        int (*git_token)(struct ap_forge *f, struct ap_buf *out, struct ap_error *err);
};

struct ap_forge_http; /* http.c */

struct ap_forge {
        pthread_mutex_t
            lock; /* one call at a time: guards everything below (the curl handle, the token cache) */
        enum ap_forge_kind kind;
        const struct ap_forge_ops *ops;
        char *api_url, *owner, *clone_url_template, *local_dir, *user_agent;
        char *token; /* secret */
        char *app_id, *installation_id;
        char *app_key_pem; /* secret */
        long timeout_ms;
        struct ap_forge_http *http;
        /* GitHub App: the cached installation token and when it stops working (unix seconds) */
        struct ap_buf app_token;
        time_t app_token_expires;
        bool owner_is_user; /* learned on the first create: POST /user/repos instead of /orgs/{owner}/repos */
};

extern const struct ap_forge_ops ap_forge_rest_ops;
extern const struct ap_forge_ops ap_forge_local_ops;

/* ---- http.c: JSON over HTTP with libcurl ---- */
struct ap_forge_http *ap_forge_http_new(const char *user_agent, long timeout_ms);
struct ap_forge_http *ap_forge_http_free(struct ap_forge_http *h);
/* Send method url with optional JSON body and extra header lines (NULL-terminated array); the status goes
 * to *ret_status and the body to out (capped). Transport failures are errors; any HTTP status is not. */
int ap_forge_http_request(struct ap_forge_http *h, const char *method, const char *url, const char *body,
                          const char *const *headers, long *ret_status, struct ap_buf *out,
                          struct ap_error *err) _warn_unused_;

/* ---- json.c: forge responses (untrusted input) ---- */
struct ap_forge_key {
        long long id;
        char title[256];
        char key[8192]; /* "type base64" as the forge returns it */
        bool read_only;
};
/* A deploy-key list (GitHub and Gitea share the shape): *ret is malloc'd, caller frees. */
int ap_forge_json_keys(const char *json, size_t len, struct ap_forge_key **ret, size_t *ret_n,
                       struct ap_error *err) _warn_unused_;
/* A repository object: private, default_branch, ssh_url (normalised to ssh://), clone_url. */
int ap_forge_json_repo(const char *json, size_t len, struct ap_forge_repo *ret,
                       struct ap_error *err) _warn_unused_;
/* A GitHub installation token response: token (into a secret buffer) and expires_at (unix seconds). */
int ap_forge_json_app_token(const char *json, size_t len, struct ap_buf *token, time_t *ret_expires,
                            struct ap_error *err) _warn_unused_;
/* The "message" of an error response, for error texts ("" when absent). */
void ap_forge_json_message(const char *json, size_t len, char *out, size_t outlen);
/* "2016-07-11T22:14:10Z" -> unix seconds; -EINVAL otherwise. */
int ap_forge_parse_time(const char *s, time_t *ret) _warn_unused_;

/* ---- github_app.c ---- */
/* An RS256 JWT for the App (iat now-60 s, exp now+9 min, iss app_id), appended to out. */
int ap_forge_app_jwt(const char *app_id, const char *pem, time_t now, struct ap_buf *out,
                     struct ap_error *err) _warn_unused_;
/* The installation token, from the cache unless it expires within 5 minutes (then a new one is fetched
 * with POST /app/installations/{id}/access_tokens). Appended to out (a secret buffer). */
int ap_forge_app_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err) _warn_unused_;
