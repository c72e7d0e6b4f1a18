/* forge.h - where platform repositories live, behind one interface: GitHub (token or GitHub App),
 * Gitea/Forgejo (/api/v1) and local bare repositories. Every operation is idempotent: create a private
 * repository (already there: fine), add a read-only deploy key (already there: fine; rotate on request),
 * set the default branch, and say which URL Flux clones from.
 *
 * Threads: one ap_forge may be shared; calls are serialised by its lock (one libcurl handle).
 *
 * Errors (base/error.h codes; messages name the repository or owner, the API URL and the forge's reason,
 * never a command-line flag):
 *   AP_E_UNAUTHORIZED  the token or App credentials are not accepted (HTTP 401)
 *   AP_E_FORBIDDEN     authenticated, but not allowed (HTTP 403 that is not a rate limit)
 *   AP_E_NOT_FOUND     the repository or owner does not exist, or the credentials cannot see it
 *   AP_E_EXISTS        a deploy key already in use elsewhere (Gitea: a title taken)
 *   AP_E_CONFLICT      HTTP 409 that is not "already exists"
 *   AP_E_RATE_LIMITED  over a rate limit for longer than the retry budget: wait err->retry_after_ms
 *   AP_E_INVALID       the forge refused the input (HTTP 400, or 422 that is not "already exists"),
 *                      bad names
 *   AP_E_UNAVAILABLE   the forge cannot be reached or answers 5xx past the retry budget (with its
 *                      Retry-After, if any, in err->retry_after_ms)
 *   AP_E_TIMEOUT       no answer within timeout_ms
 *   AP_E_CORRUPT       the forge's answer cannot be read
 *   AP_E_UNSUPPORTED   the operation does not apply to this kind of forge
 *   -EKEYREJECTED      the forge's TLS certificate is not trusted */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

enum ap_forge_kind { AP_FORGE_GITHUB, AP_FORGE_GITEA, AP_FORGE_LOCAL };

#define AP_FORGE_NAME_MAX 100 /* repository names: [A-Za-z0-9._-], GitHub's limit */
#define AP_FORGE_URL_MAX  2048

/* Everything is copied by ap_forge_new; secrets into wiped memory. */
struct ap_forge_config {
        enum ap_forge_kind kind;
        const char *api_url; /* GitHub default "https://api.github.com"; Gitea "https://host/api/v1" */
        const char *owner;   /* organisation or user that owns platform repositories (not for local) */
        const char *token;   /* GitHub or Gitea access token */
        /* GitHub App instead of a token: RS256 JWT -> installation access token, cached */
        const char *app_id;
        const char *installation_id;
        const char *app_private_key_pem;
        /* URL Flux clones from, with {owner} and {repo}; GitHub default
         * "ssh://git@github.com/{owner}/{repo}.git"; Gitea default: its ssh_url; local: the path */
        const char *clone_url_template;
        const char *local_dir;  /* local: bare repositories are DIR/<repo>.git */
        const char *user_agent; /* default "app-platform" */
        long timeout_ms;        /* per HTTP request; default 30000 */
        /* Answers that say "try again" (429, 5xx, GitHub's secondary rate limits, a forge that cannot be
         * reached) are retried with exponential backoff while the wait fits in retry_timeout_ms from the
         * start of the call; a longer wait (a primary rate limit resets hourly) is returned at once as
         * AP_E_RATE_LIMITED with err->retry_after_ms. 0 = defaults; retry_timeout_ms < 0: never retry. */
        long retry_timeout_ms;   /* default 20000 */
        long backoff_initial_ms; /* default 500 */
        long backoff_max_ms;     /* default 8000 */
};

struct ap_forge;

int ap_forge_new(const struct ap_forge_config *cfg, struct ap_forge **ret,
                 struct ap_error *err) _warn_unused_;
struct ap_forge *ap_forge_free(struct ap_forge *f);
AP_DEFINE_CLEANUP(struct ap_forge *, ap_forge_free)

/* Parse "github|gitea|forgejo|local". */
int ap_forge_parse_kind(const char *s, enum ap_forge_kind *ret) _warn_unused_;

struct ap_forge_repo {
        bool created; /* made by this call (false: it was already there) */
        bool is_private;
        bool archived;                    /* read-only on the forge (ap_forge_archive_repo) */
        char default_branch[256];         /* "" while the repository is empty and has none */
        char clone_url[AP_FORGE_URL_MAX]; /* from the template: what Flux clones */
        char ssh_url[AP_FORGE_URL_MAX];   /* as the forge reports it, in ssh:// form */
        char https_url[AP_FORGE_URL_MAX];
};

/* Create the private repository name under the owner unless it exists. A repository that exists but is
 * public (or archived) is reported (is_private false, archived true), not changed.
 * The owner is an organisation, or the user the credentials belong to: which one is asked of the forge
 * once (GitHub: GET /users/{owner} "type", then GET /user; Gitea: GET /orgs/{owner}, then GET /user). Any
 * other owner is refused (AP_E_NOT_FOUND when no such account exists, AP_E_FORBIDDEN for another user's
 * account, or a user account with GitHub App credentials), never replaced by the credentials' own. */
int ap_forge_ensure_repo(struct ap_forge *f, const char *name, const char *description,
                         struct ap_forge_repo *ret, struct ap_error *err) _warn_unused_;

enum ap_forge_key_result {
        AP_FORGE_KEY_PRESENT, /* the key was already there, read-only */
        AP_FORGE_KEY_ADDED,   /* added */
        AP_FORGE_KEY_ROTATED, /* added, and the other keys with this title were removed */
};

/* Make sure the public key line ("ssh-ed25519 AAAA… [comment]") is a read-only deploy key of repo with
 * this title. With rotate, every other deploy key carrying the same title is removed afterwards (add
 * first, so there is never a moment without a key). Keys with other titles are never touched. */
int ap_forge_ensure_deploy_key(struct ap_forge *f, const char *repo, const char *title,
                               const char *public_key, bool rotate, enum ap_forge_key_result *ret,
                               struct ap_error *err) _warn_unused_;

/* Delete the repository (deletionPolicy: Delete). Already gone is success. *ret_deleted (may be NULL) says
 * whether this call deleted it. GitHub needs a token allowed to delete (classic: delete_repo scope; App:
 * administration write), else AP_E_FORBIDDEN. Local: the bare repository folder is removed whole. */
int ap_forge_delete_repo(struct ap_forge *f, const char *repo, bool *ret_deleted,
                         struct ap_error *err) _warn_unused_;

/* Archive the repository: read-only from then on, kept for the record. Already archived, or gone, is
 * success; *ret_archived (may be NULL) says whether this call archived it. Local: a marker file
 * "archived" and a pre-receive hook refusing pushes (git-receive-pack runs it; libgit2's own local
 * transport does not run hooks). */
int ap_forge_archive_repo(struct ap_forge *f, const char *repo, bool *ret_archived,
                          struct ap_error *err) _warn_unused_;

/* Point the repository's default branch (HEAD) at branch. */
int ap_forge_set_default_branch(struct ap_forge *f, const char *repo, const char *branch,
                                struct ap_error *err) _warn_unused_;

/* The clone URL of repo from the template (no network). */
int ap_forge_clone_url(struct ap_forge *f, const char *repo, struct ap_buf *out,
                       struct ap_error *err) _warn_unused_;

/* A token the operator can push over HTTPS with (GitHub: the PAT or a fresh installation token; Gitea:
 * the token). out should be a secret buffer. -ENOTSUP for local. */
int ap_forge_git_token(struct ap_forge *f, struct ap_buf *out, struct ap_error *err) _warn_unused_;

/* Check a repository name: 1-100 of [A-Za-z0-9._-], not starting with '.' and not ending in ".git". */
int ap_forge_check_name(const char *name, struct ap_error *err) _warn_unused_;
