/* github_standin.c - a STAND-IN for GitHub's REST API (GitHub itself cannot run here), used by the forge
 * contract test. It implements only what src/forge calls, as GitHub documents the requests and responses:
 *   GET    /repos/{owner}/{repo}             https://docs.github.com/en/rest/repos/repos#get-a-repository
 *   POST   /orgs/{org}/repos https://docs.github.com/en/rest/repos/repos#create-an-organization-repository
 *   POST   /user/repos
 * https://docs.github.com/en/rest/repos/repos#create-a-repository-for-the-authenticated-user PATCH
 * /repos/{owner}/{repo}             https://docs.github.com/en/rest/repos/repos#update-a-repository GET
 * /repos/{owner}/{repo}/keys        https://docs.github.com/en/rest/deploy-keys/deploy-keys#list-deploy-keys
 *   POST   /repos/{owner}/{repo}/keys
 * https://docs.github.com/en/rest/deploy-keys/deploy-keys#create-a-deploy-key DELETE
 * /repos/{owner}/{repo}/keys/{id} https://docs.github.com/en/rest/deploy-keys/deploy-keys#delete-a-deploy-key
 *   DELETE /repos/{owner}/{repo}             https://docs.github.com/en/rest/repos/repos#delete-a-repository
 *   PATCH  /repos/{owner}/{repo} {"archived": true}: archived repositories are read-only afterwards
 *   GET    /users/{username}  https://docs.github.com/en/rest/users/users#get-a-user ("type": "User" or
 *          "Organization")
 *   GET    /user              https://docs.github.com/en/rest/users/users#get-the-authenticated-user (403
 *          "Resource not accessible by integration" for an installation token)
 *   POST   /app/installations/{id}/access_tokens
 *          https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app, with the
 *          RS256 JWT checked as
 * https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
 *          describes (iss = app id, exp at most 10 minutes after iat), its signature verified with the App's
 *          public key.
 * Status codes follow the docs: 201 on create, 422 "name already exists on this account" / "key is already
 * in use", 404 for unknown repos or orgs, 401 "Bad credentials", 403 without a User-Agent
 * (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
 *
 * Every answer carries the rate-limit headers of
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api (x-ratelimit-limit,
 * -remaining, -used, -reset, -resource). 422 bodies are GitHub's: {"message": "Repository creation
 * failed." | "Validation Failed", "errors": [{"resource", "code", "field", "message"}]}, e.g. "name
 * already exists on this account", "key is already in use", "description control characters are not
 * allowed".
 *
 * Accounts: ORG is an Organization; the PAT belongs to the User "standin-user"; "other-user" is a User.
 *
 * Usage: github_standin APP_PUBLIC_KEY_PEM PAT APP_ID INSTALLATION_ID ORG TOKEN_TTL_SECONDS
 * Prints the port it listens on (127.0.0.1) and serves until stdin closes. Test controls (no auth):
 *   GET  /_standin/stats  -> {"tokens_issued": n, "requests": n}
 *   POST /_standin/faults {"count": n, "status": s, "message": m, "retry_after": secs, "remaining_zero":
 *        true, "reset_in": secs, "after": true}: the next n API requests are answered with that status and
 *        message, a Retry-After header when retry_after is given, and x-ratelimit-remaining 0 with
 *        x-ratelimit-reset now + reset_in when remaining_zero (GitHub's primary and secondary rate limits,
 *        5xx); with "after" the request is carried out first and only its answer is lost. */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/buf.h"

#define MAX_REPOS 64
#define MAX_KEYS  16

struct key {
        long long id;
        char title[128], key[1024];
        int read_only;
};

struct repo {
        char owner[64], name[128], description[256], default_branch[128];
        int private_, archived;
        long long id;
        struct key keys[MAX_KEYS];
        int nkeys;
};

static struct {
        pthread_mutex_t lock;
        EVP_PKEY *app_key;
        const char *pat, *app_id, *installation_id, *org;
        long token_ttl;
        char tokens[32][64];
        time_t token_expiry[32];
        int ntokens;
        struct repo repos[MAX_REPOS];
        int nrepos;
        long long next_id;
        long requests;
        /* injected faults (POST /_standin/faults) */
        int fault_count;
        unsigned fault_status;
        char fault_message[256];
        long fault_retry_after; /* -1: no Retry-After header */
        int fault_remaining_zero, fault_after;
        long fault_reset_in;
        /* headers of the answer being built (under lock) */
        long hdr_retry_after;
        int hdr_remaining_zero, hdr_replace;
        long hdr_reset_in;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1000, .fault_retry_after = -1, .hdr_retry_after = -1};

#define PAT_USER   "standin-user"
#define OTHER_USER "other-user"
#define RATE_LIMIT 5000

struct req {
        struct ap_buf body;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *j)
{
        if (S.hdr_replace) { /* the request was carried out, but its answer is lost: the fault instead */
                S.hdr_replace = 0;
                json_decref(j);
                status = S.fault_status;
                j = json_pack("{s:s, s:s}", "message", S.fault_message, "documentation_url",
                              "https://docs.github.com/rest");
        }
        char *text = j ? json_dumps(j, JSON_COMPACT) : strdup("");
        json_decref(j);
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(r, "X-GitHub-Api-Version-Selected", "2022-11-28");
        char num[32];
        long used = S.requests % RATE_LIMIT;
        snprintf(num, sizeof(num), "%d", RATE_LIMIT);
        MHD_add_response_header(r, "x-ratelimit-limit", num);
        snprintf(num, sizeof(num), "%ld", S.hdr_remaining_zero ? 0 : RATE_LIMIT - used);
        MHD_add_response_header(r, "x-ratelimit-remaining", num);
        snprintf(num, sizeof(num), "%ld", S.hdr_remaining_zero ? (long)RATE_LIMIT : used);
        MHD_add_response_header(r, "x-ratelimit-used", num);
        snprintf(num, sizeof(num), "%lld",
                 (long long)time(NULL) + (S.hdr_remaining_zero ? S.hdr_reset_in : 3600));
        MHD_add_response_header(r, "x-ratelimit-reset", num);
        MHD_add_response_header(r, "x-ratelimit-resource", "core");
        if (S.hdr_retry_after >= 0) {
                snprintf(num, sizeof(num), "%ld", S.hdr_retry_after);
                MHD_add_response_header(r, "Retry-After", num);
        }
        enum MHD_Result ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result message(struct MHD_Connection *c, unsigned status, const char *msg)
{
        return reply(
            c, status,
            json_pack("{s:s, s:s}", "message", msg, "documentation_url", "https://docs.github.com/rest"));
}

static enum MHD_Result validation(struct MHD_Connection *c, const char *resource, const char *field,
                                  const char *msg)
{
        return reply(c, 422,
                     json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}], s:s}", "message",
                               strcmp(resource, "Repository") == 0 ? "Repository creation failed."
                                                                   : "Validation Failed",
                               "errors", "resource", resource, "code", "custom", "field", field, "message",
                               msg, "documentation_url", "https://docs.github.com/rest"));
}

static json_t *repo_json(const struct repo *r)
{
        char full[200], html[300], url[300], ssh[300], clone[300];
        snprintf(full, sizeof(full), "%s/%s", r->owner, r->name);
        snprintf(html, sizeof(html), "https://github.com/%s", full);
        snprintf(url, sizeof(url), "https://api.github.com/repos/%s", full);
        snprintf(ssh, sizeof(ssh), "git@github.com:%s.git", full);
        snprintf(clone, sizeof(clone), "https://github.com/%s.git", full);
        int is_org = strcmp(r->owner, S.org) == 0;
        return json_pack("{s:I, s:s, s:s, s:b, s:{s:s, s:I, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                         "id", r->id, "name", r->name, "full_name", full, "private", r->private_, "owner",
                         "login", r->owner, "id", (json_int_t)7, "type", is_org ? "Organization" : "User",
                         "html_url", html, "description", r->description, "url", url, "ssh_url", ssh,
                         "clone_url", clone, "default_branch", r->default_branch, "visibility",
                         r->private_ ? "private" : "public", "archived", r->archived);
}

static json_t *key_json(const struct repo *r, const struct key *k)
{
        char url[300];
        snprintf(url, sizeof(url), "https://api.github.com/repos/%s/%s/keys/%lld", r->owner, r->name, k->id);
        return json_pack("{s:I, s:s, s:s, s:s, s:b, s:s, s:b, s:n, s:n}", "id", (json_int_t)k->id, "key",
                         k->key, "url", url, "title", k->title, "verified", 1, "created_at",
                         "2026-01-01T00:00:00Z", "read_only", k->read_only, "added_by", "last_used");
}

static json_t *account_json(const char *login, const char *type)
{
        char url[300];
        snprintf(url, sizeof(url), "https://api.github.com/users/%s", login);
        return json_pack("{s:s, s:I, s:s, s:s, s:b}", "login", login, "id", (json_int_t)(strlen(login) * 7),
                         "url", url, "type", type, "site_admin", 0);
}

static struct repo *find_repo(const char *owner, const char *name)
{
        for (int i = 0; i < S.nrepos; i++)
                if (strcmp(S.repos[i].owner, owner) == 0 && strcmp(S.repos[i].name, name) == 0)
                        return &S.repos[i];
        return NULL;
}

/* base64url JSON segment -> jansson object */
static json_t *segment(const char *p, size_t n)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        if (ap_base64_decode(&b, p, n, AP_B64_URL_RAW) < 0)
                return NULL;
        return json_loadb(b.data, b.len, 0, NULL);
}

/* Check the App JWT: three parts, RS256, signature by the App key, iss, iat/exp window. */
static const char *check_jwt(const char *jwt)
{
        const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        if (!d1 || !d2 || strchr(d2 + 1, '.'))
                return "A JSON web token could not be decoded";
        json_t *h = segment(jwt, (size_t)(d1 - jwt)), *p = segment(d1 + 1, (size_t)(d2 - d1 - 1));
        const char *why = NULL;
        time_t now = time(NULL);
        if (!h || !p || !json_is_string(json_object_get(h, "alg")) ||
            strcmp(json_string_value(json_object_get(h, "alg")), "RS256") != 0)
                why = "A JSON web token could not be decoded";
        else {
                json_t *iat = json_object_get(p, "iat"), *exp = json_object_get(p, "exp"),
                       *iss = json_object_get(p, "iss");
                const char *issuer = json_is_string(iss) ? json_string_value(iss) : NULL;
                char num[32];
                if (json_is_integer(iss)) {
                        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(iss));
                        issuer = num;
                }
                if (!json_is_integer(iat) || !json_is_integer(exp) || !issuer)
                        why = "A JSON web token could not be decoded";
                else if (strcmp(issuer, S.app_id) != 0)
                        why = "Integration not found";
                else if (json_integer_value(exp) - json_integer_value(iat) > 600)
                        why = "'Expiration time' claim ('exp') is too far in the future";
                else if (json_integer_value(exp) <= now)
                        why = "'Expiration time' claim ('exp') must be a numeric value representing the "
                              "future time at "
                              "which the assertion expires";
                else if (json_integer_value(iat) > now + 60)
                        why = "'Issued at' claim ('iat') must be an Integer representing the time that the "
                              "assertion "
                              "was issued";
        }
        json_decref(h);
        json_decref(p);
        if (why)
                return why;
        _cleanup_buf_ struct ap_buf sig = AP_BUF_INIT;
        if (ap_base64_decode(&sig, d2 + 1, strlen(d2 + 1), AP_B64_URL_RAW) < 0)
                return "A JSON web token could not be decoded";
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, S.app_key) == 1 &&
                 EVP_DigestVerify(ctx, (const unsigned char *)sig.data, sig.len, (const unsigned char *)jwt,
                                  (size_t)(d2 - jwt)) == 1;
        EVP_MD_CTX_free(ctx);
        return ok ? NULL : "A JSON web token could not be decoded";
}

static const char *bearer(struct MHD_Connection *c)
{
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!a)
                return NULL;
        if (strncmp(a, "Bearer ", 7) == 0)
                return a + 7;
        if (strncmp(a, "token ", 6) == 0)
                return a + 6;
        return NULL;
}

/* 0 = the PAT, 1 = an installation token, -1 = bad */
static int token_kind(const char *t)
{
        if (!t)
                return -1;
        if (strcmp(t, S.pat) == 0)
                return 0;
        for (int i = 0; i < S.ntokens; i++)
                if (strcmp(t, S.tokens[i]) == 0 && time(NULL) < S.token_expiry[i])
                        return 1;
        return -1;
}

static enum MHD_Result access_token(struct MHD_Connection *c, const char *installation)
{
        const char *jwt = bearer(c);
        const char *why = jwt ? check_jwt(jwt) : "A JSON web token could not be decoded";
        if (why)
                return message(c, 401, why);
        if (strcmp(installation, S.installation_id) != 0)
                return message(c, 404, "Not Found");
        if (S.ntokens == 32)
                return message(c, 500, "stand-in token table full");
        time_t exp = time(NULL) + S.token_ttl;
        snprintf(S.tokens[S.ntokens], 64, "ghs_standin%08d%08ld", S.ntokens, (long)exp % 100000000);
        S.token_expiry[S.ntokens] = exp;
        char when[32];
        struct tm tm;
        gmtime_r(&exp, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *j = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "token", S.tokens[S.ntokens], "expires_at",
                              when, "permissions", "administration", "write", "contents", "write",
                              "repository_selection", "all");
        S.ntokens++;
        return reply(c, 201, j);
}

static enum MHD_Result create_repo(struct MHD_Connection *c, const char *owner, json_t *body)
{
        const char *name = json_string_value(json_object_get(body, "name"));
        const char *desc = json_string_value(json_object_get(body, "description"));
        if (!name || !name[0] || strlen(name) > 100)
                return validation(c, "Repository", "name", "name is invalid");
        for (const char *p = desc; p && *p; p++)
                if ((unsigned char)*p < 0x20)
                        return validation(c, "Repository", "description",
                                          "description control characters are not allowed");
        if (find_repo(owner, name))
                return validation(c, "Repository", "name", "name already exists on this account");
        if (S.nrepos == MAX_REPOS)
                return message(c, 500, "stand-in repo table full");
        struct repo *r = &S.repos[S.nrepos++];
        memset(r, 0, sizeof(*r));
        snprintf(r->owner, sizeof(r->owner), "%s", owner);
        snprintf(r->name, sizeof(r->name), "%s", name);
        snprintf(r->description, sizeof(r->description), "%s", desc ? desc : "");
        snprintf(r->default_branch, sizeof(r->default_branch), "main");
        json_t *priv = json_object_get(body, "private");
        r->private_ = json_is_true(priv);
        r->id = S.next_id++;
        return reply(c, 201, repo_json(r));
}

static enum MHD_Result route(struct MHD_Connection *c, const char *method, const char *url, json_t *body)
{
        char a[128] = "", b[128] = "", d[32] = "";
        long long id = 0;
        int n = 0;
        if (strcmp(url, "/_standin/stats") == 0)
                return reply(
                    c, 200,
                    json_pack("{s:i, s:I}", "tokens_issued", S.ntokens, "requests", (json_int_t)S.requests));
        if (strcmp(url, "/_standin/faults") == 0 && strcmp(method, "POST") == 0) {
                const char *m = json_string_value(json_object_get(body, "message"));
                json_t *ra = json_object_get(body, "retry_after");
                S.fault_count = (int)json_integer_value(json_object_get(body, "count"));
                S.fault_status = (unsigned)json_integer_value(json_object_get(body, "status"));
                snprintf(S.fault_message, sizeof(S.fault_message), "%s", m ? m : "Server Error");
                S.fault_retry_after = json_is_integer(ra) ? (long)json_integer_value(ra) : -1;
                S.fault_remaining_zero = json_is_true(json_object_get(body, "remaining_zero"));
                S.fault_reset_in = (long)json_integer_value(json_object_get(body, "reset_in"));
                S.fault_after = json_is_true(json_object_get(body, "after"));
                return reply(c, 204, NULL);
        }
        S.requests++;
        if (S.fault_count > 0) {
                S.fault_count--;
                S.hdr_retry_after = S.fault_retry_after;
                S.hdr_remaining_zero = S.fault_remaining_zero;
                S.hdr_reset_in = S.fault_reset_in;
                if (!S.fault_after)
                        return message(c, S.fault_status, S.fault_message);
                S.hdr_replace = 1; /* carry the request out, then answer with the fault */
        }
        if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"))
                return message(
                    c, 403,
                    "Request forbidden by administrative rules. Please make sure your request has a "
                    "User-Agent header");
        const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Api-Version");
        if (ver && strcmp(ver, "2022-11-28") != 0)
                return message(c, 400, "Invalid API version");
        /* /app/installations/{id}/access_tokens */
        if (strncmp(url, "/app/installations/", 19) == 0) {
                const char *rest = url + 19, *slash = strchr(rest, '/');
                if (strcmp(method, "POST") == 0 && slash && strcmp(slash, "/access_tokens") == 0 &&
                    (size_t)(slash - rest) < sizeof(d)) {
                        memcpy(d, rest, (size_t)(slash - rest));
                        return access_token(c, d);
                }
                return message(c, 404, "Not Found");
        }
        int who = token_kind(bearer(c));
        if (who < 0)
                return message(c, 401, "Bad credentials");
        if (strcmp(url, "/user") == 0 && strcmp(method, "GET") == 0) {
                if (who == 1)
                        return message(c, 403, "Resource not accessible by integration");
                return reply(c, 200, account_json(PAT_USER, "User"));
        }
        if (strncmp(url, "/users/", 7) == 0 && strcmp(method, "GET") == 0) {
                const char *name = url + 7;
                if (strcmp(name, S.org) == 0)
                        return reply(c, 200, account_json(name, "Organization"));
                if (strcmp(name, PAT_USER) == 0 || strcmp(name, OTHER_USER) == 0)
                        return reply(c, 200, account_json(name, "User"));
                return message(c, 404, "Not Found");
        }
        if (strcmp(url, "/user/repos") == 0 && strcmp(method, "POST") == 0) {
                if (who == 1)
                        return message(c, 403, "Resource not accessible by integration");
                return create_repo(c, PAT_USER, body);
        }
        /* /orgs/{org}/repos */
        if (strncmp(url, "/orgs/", 6) == 0) {
                const char *rest = url + 6, *slash = strchr(rest, '/');
                if (!slash || strcmp(slash, "/repos") != 0 || strcmp(method, "POST") != 0 ||
                    (size_t)(slash - rest) >= sizeof(a))
                        return message(c, 404, "Not Found");
                memcpy(a, rest, (size_t)(slash - rest));
                if (strcmp(a, S.org) != 0)
                        return message(c, 404, "Not Found");
                return create_repo(c, a, body);
        }
        if (strncmp(url, "/repos/", 7) != 0)
                return message(c, 404, "Not Found");
        /* /repos/{owner}/{repo}[/keys[/{id}]] */
        char tail[64] = "";
        if (sscanf(url + 7, "%127[^/]/%127[^/?]%63[^?]%n", a, b, tail, &n) < 2)
                return message(c, 404, "Not Found");
        struct repo *r = find_repo(a, b);
        if (!r)
                return message(c, 404, "Not Found");
        if (!tail[0]) {
                if (strcmp(method, "GET") == 0)
                        return reply(c, 200, repo_json(r));
                if (strcmp(method, "DELETE") == 0) {
                        *r = S.repos[--S.nrepos];
                        return reply(c, 204, NULL);
                }
                if (strcmp(method, "PATCH") == 0) {
                        json_t *arch = json_object_get(body, "archived");
                        if (json_is_boolean(arch))
                                r->archived = json_is_true(arch);
                        else if (r->archived)
                                return message(c, 403, "Repository was archived so is read-only.");
                        const char *br = json_string_value(json_object_get(body, "default_branch"));
                        if (br) {
                                if (!br[0] || strlen(br) >= sizeof(r->default_branch))
                                        return validation(c, "Repository", "default_branch", "is invalid");
                                snprintf(r->default_branch, sizeof(r->default_branch), "%s", br);
                        }
                        return reply(c, 200, repo_json(r));
                }
                return message(c, 404, "Not Found");
        }
        if (strcmp(tail, "/keys") == 0 && strcmp(method, "GET") == 0) {
                json_t *list = json_array();
                for (int i = 0; i < r->nkeys; i++)
                        json_array_append_new(list, key_json(r, &r->keys[i]));
                return reply(c, 200, list);
        }
        if (strcmp(tail, "/keys") == 0 && strcmp(method, "POST") == 0) {
                const char *title = json_string_value(json_object_get(body, "title"));
                const char *key = json_string_value(json_object_get(body, "key"));
                if (!key || strncmp(key, "ssh-", 4) != 0 || strlen(key) >= sizeof(r->keys[0].key))
                        return validation(
                            c, "PublicKey", "key",
                            "key is invalid. You must supply a key in OpenSSH public key format");
                /* a deploy key is unique across all of GitHub */
                for (int i = 0; i < S.nrepos; i++)
                        for (int k = 0; k < S.repos[i].nkeys; k++)
                                if (strcmp(S.repos[i].keys[k].key, key) == 0)
                                        return validation(c, "PublicKey", "key", "key is already in use");
                if (r->nkeys == MAX_KEYS)
                        return message(c, 500, "stand-in key table full");
                struct key *k = &r->keys[r->nkeys++];
                k->id = S.next_id++;
                snprintf(k->title, sizeof(k->title), "%s", title ? title : "");
                snprintf(k->key, sizeof(k->key), "%s", key);
                json_t *ro = json_object_get(body, "read_only");
                k->read_only = json_is_true(ro);
                return reply(c, 201, key_json(r, k));
        }
        if (strncmp(tail, "/keys/", 6) == 0 && strcmp(method, "DELETE") == 0) {
                id = strtoll(tail + 6, NULL, 10);
                for (int i = 0; i < r->nkeys; i++) {
                        if (r->keys[i].id != id)
                                continue;
                        r->keys[i] = r->keys[--r->nkeys];
                        return reply(c, 204, NULL);
                }
                return message(c, 404, "Not Found");
        }
        return message(c, 404, "Not Found");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
        struct req *q = *con_cls;
        if (!q) {
                q = calloc(1, sizeof(*q));
                ap_buf_init(&q->body, 1 << 20);
                *con_cls = q;
                return MHD_YES;
        }
        if (*upload_size) {
                ap_buf_add(&q->body, upload, *upload_size);
                *upload_size = 0;
                return MHD_YES;
        }
        json_t *body = q->body.len ? json_loadb(q->body.data, q->body.len, 0, NULL) : json_object();
        if (!body)
                return message(c, 400, "Problems parsing JSON");
        pthread_mutex_lock(&S.lock);
        S.hdr_retry_after = -1;
        S.hdr_remaining_zero = 0;
        S.hdr_replace = 0;
        enum MHD_Result r = route(c, method, url, body);
        pthread_mutex_unlock(&S.lock);
        json_decref(body);
        return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct req *q = *con_cls;
        if (q) {
                ap_buf_release(&q->body);
                free(q);
        }
}

int main(int argc, char **argv)
{
        if (argc != 7) {
                fprintf(
                    stderr,
                    "usage: github_standin APP_PUBLIC_KEY_PEM PAT APP_ID INSTALLATION_ID ORG TOKEN_TTL\n");
                return 2;
        }
        FILE *f = fopen(argv[1], "r");
        S.app_key = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
        if (f)
                fclose(f);
        if (!S.app_key) {
                fprintf(stderr, "github_standin: cannot read the app public key '%s'\n", argv[1]);
                return 1;
        }
        S.pat = argv[2];
        S.app_id = argv[3];
        S.installation_id = argv[4];
        S.org = argv[5];
        S.token_ttl = strtol(argv[6], NULL, 10);
        struct sockaddr_in sa = {
            .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                                                MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                                                completed, NULL, MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "github_standin: cannot listen on 127.0.0.1\n");
                return 1;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        printf("%u\n", (unsigned)info->port);
        fflush(stdout);
        char buf[64];
        while (read(0, buf, sizeof(buf)) > 0)
                ;
        MHD_stop_daemon(d);
        EVP_PKEY_free(S.app_key);
        return 0;
}
