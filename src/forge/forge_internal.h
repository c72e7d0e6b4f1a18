/* forge_internal.h - what the forge providers share: the ap_forge object with its provider table, the
 * HTTP client (http.c), what an HTTP answer means (status.c), the JSON readers for forge responses
 * (json.c, fuzzed), the REST provider behind GitHub and Gitea (rest.c: calls, owners, repositories;
 * rest_keys.c: deploy keys), GitHub App tokens (github_app.c) and the local provider (local.c). */
#pragma once

#include <jansson.h>
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
        int (*delete_repo)(struct ap_forge *f, const char *repo, bool *ret_deleted, struct ap_error *err);
        int (*archive_repo)(struct ap_forge *f, const char *repo, bool *ret_archived, struct ap_error *err);
};

/* What the owner of platform repositories is, learned from the forge on first need. */
enum ap_forge_owner_kind {
        AP_FORGE_OWNER_UNKNOWN,
        AP_FORGE_OWNER_ORG,  /* POST /orgs/{owner}/repos */
        AP_FORGE_OWNER_USER, /* the authenticated user: POST /user/repos */
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
        long retry_timeout_ms, backoff_initial_ms, backoff_max_ms;
        struct ap_forge_http *http;
        /* GitHub App: the cached installation token and when it stops working (unix seconds) */
        struct ap_buf app_token;
        time_t app_token_expires;
        enum ap_forge_owner_kind owner_kind;
};

extern const struct ap_forge_ops ap_forge_rest_ops;
extern const struct ap_forge_ops ap_forge_local_ops;

/* ---- http.c: JSON over HTTP with libcurl ---- */
/* What an answer says about waiting: Retry-After (any forge) and GitHub's rate-limit headers. */
struct ap_forge_http_meta {
        long long retry_after_s;       /* Retry-After in seconds (libcurl converts a date); -1: absent */
        long long ratelimit_remaining; /* x-ratelimit-remaining; -1: absent */
        long long ratelimit_reset;     /* x-ratelimit-reset, unix seconds; 0: absent */
};
void ap_forge_http_meta_init(struct ap_forge_http_meta *m);

struct ap_forge_http *ap_forge_http_new(const char *user_agent, long timeout_ms);
struct ap_forge_http *ap_forge_http_free(struct ap_forge_http *h);
/* Send method url with optional JSON body and extra header lines (NULL-terminated array); the status goes
 * to *ret_status, the wait headers to *ret_meta (may be NULL) and the body to out (capped). Transport
 * failures are errors (AP_E_UNAVAILABLE: could not connect or the connection broke; AP_E_TIMEOUT); any
 * HTTP status is not. */
int ap_forge_http_request(struct ap_forge_http *h, const char *method, const char *url, const char *body,
                          const char *const *headers, long *ret_status, struct ap_forge_http_meta *ret_meta,
                          struct ap_buf *out, struct ap_error *err) _warn_unused_;

/* ---- status.c: what an answer means ---- */
/* The shared error code for a non-success status (body: the answer, to tell "already exists" and rate
 * limits apart), and in *ret_wait_ms how long the forge asks us to wait before trying again (-1: no hint;
 * set for AP_E_RATE_LIMITED, always, and for AP_E_UNAVAILABLE with Retry-After). now: unix seconds. */
int ap_forge_status_error(long status, const struct ap_forge_http_meta *m, const char *body, size_t len,
                          time_t now, int64_t *ret_wait_ms);

/* ---- rest.c, rest_keys.c: the GitHub / Gitea provider ---- */
struct ap_forge_rest_resp {
        long status;
        struct ap_forge_http_meta meta;
        struct ap_buf body; /* capped at AP_FORGE_RESPONSE_MAX */
};
void ap_forge_rest_resp_init(struct ap_forge_rest_resp *r);
void ap_forge_rest_resp_release(struct ap_forge_rest_resp *r);
/* One API call (path appended to api_url) with the configured retries of rate limits, 5xx and
 * connection failures; the last answer goes to resp. Any HTTP status is a success here. */
int ap_forge_rest_call(struct ap_forge *f, const char *method, const char *path, const char *body,
                       struct ap_forge_rest_resp *resp, struct ap_error *err) _warn_unused_;
/* ap_forge_rest_call, then ap_forge_rest_fail(what) unless the status is ok or also_ok (0: none). */
int ap_forge_rest_expect(struct ap_forge *f, const char *method, const char *path, const char *body, long ok,
                         long also_ok, const char *what, struct ap_forge_rest_resp *resp,
                         struct ap_error *err) _warn_unused_;
/* Set err from a failed answer ("<what>: <api> answered http <status> <message>", the shared code,
 * retry_after_ms for rate limits); returns the code. */
int ap_forge_rest_fail(struct ap_forge *f, const struct ap_forge_rest_resp *resp, const char *what,
                       struct ap_error *err);
int ap_forge_rest_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                                    const struct ap_ssh_pubkey *want, bool rotate,
                                    enum ap_forge_key_result *ret, struct ap_error *err) _warn_unused_;

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
/* Whether an error answer says that what was to be created exists already (GitHub errors[].code
 * "already_exists" or errors[].message, Gitea message). */
bool ap_forge_json_says_exists(const char *json, size_t len);
/* An account (GET /user, GET /users/{name}): its login, and whether GitHub calls it an Organization. */
int ap_forge_json_owner(const char *json, size_t len, char *login, size_t n, bool *ret_is_org,
                        struct ap_error *err) _warn_unused_;
/* A compact JSON text of j (NULL when j is NULL or out of memory; free() it). */
char *ap_forge_json_dump(json_t *j);
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
