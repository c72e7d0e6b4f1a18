/* config.c - the operator's flags and their APP_PLATFORM_* twins, from one table (see config.h). */
#include "operator/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "crypto/age.h"

enum kind { K_STR, K_BOOL, K_INT, K_DURATION };

struct flag {
        const char *name; /* without "--" */
        enum kind kind;
        size_t off;
        const char *def; /* default as text; NULL = none */
        const char *help;
};

#define S(field) offsetof(struct ap_op_config, field)

static const struct flag flags[] = {
    {"kubeconfig", K_STR, S(kubeconfig), NULL, "kubeconfig file (default: $KUBECONFIG, else in-cluster)"},
    {"namespace", K_STR, S(namespace), NULL,
     "the operator namespace, where age keys live (default: the pod's namespace, else app-platform-system)"},
    {"flux-repo-url", K_STR, S(flux_repo_url), NULL,
     "required: the cluster Flux repo (ssh://..., https://..., file:// or an absolute path)"},
    {"flux-repo-branch", K_STR, S(flux_repo_branch), "main", "branch of the Flux repo"},
    {"flux-repo-path", K_STR, S(flux_repo_path), "apps", "folder of the per-app entries in the Flux repo"},
    {"flux-repo-credentials-secret", K_STR, S(flux_repo_credentials_secret), NULL,
     "Secret with 'identity' + 'known_hosts' (SSH) or 'token' (HTTPS) for the Flux repo"},
    {"cluster-age-recipient", K_STR, S(cluster_age_recipient), NULL,
     "required: age1... recipient of the cluster key Flux decrypts the Flux repo with"},
    {"forge", K_STR, S(forge_name), "github", "where platform repos are created: github, gitea or local"},
    {"forge-api-url", K_STR, S(forge_api_url), NULL,
     "forge API base (default https://api.github.com; Gitea: https://HOST/api/v1)"},
    {"forge-owner", K_STR, S(forge_owner), NULL,
     "organisation or user owning platform repos (required unless local)"},
    {"forge-credentials-secret", K_STR, S(forge_credentials_secret), NULL,
     "Secret with 'token', or 'app-id' + 'installation-id' + 'private-key.pem' (required unless local; with "
     "local, "
     "optional 'identity' + 'known_hosts' to push over SSH to the clone URL)"},
    {"forge-clone-url", K_STR, S(forge_clone_url), NULL,
     "URL template Flux clones platform repos from, with {owner} and {repo} (default "
     "ssh://git@github.com/{owner}/{repo}.git; local: the repo path)"},
    {"forge-known-hosts-secret", K_STR, S(forge_known_hosts_secret), NULL,
     "Secret with 'known_hosts' for the clone URL's SSH host, given to Flux"},
    {"local-repos-dir", K_STR, S(local_repos_dir), NULL,
     "forge=local: bare repos are created as DIR/<repo>.git"},
    {"authelia-namespace", K_STR, S(authelia_namespace), "authelia", "namespace of Authelia"},
    {"authelia-clients-secret", K_STR, S(authelia_clients_secret), "authelia-oidc-clients",
     "Secret (key clients.yml) the operator renders the OIDC clients into"},
    {"authelia-deployment", K_STR, S(authelia_deployment), "authelia",
     "Deployment rolled when the OIDC clients change; empty = don't roll"},
    {"oidc-issuer-url", K_STR, S(oidc_issuer_url), "https://my-id.hcl.labrats.work",
     "the OIDC issuer shown to apps"},
    {"base-domain", K_STR, S(base_domain), "hcl.labrats.work",
     "app hostnames must be <app>.DOMAIN or end in .<app>.DOMAIN"},
    {"git-author", K_STR, S(git_author), "app-platform-operator <operator@localhost>",
     "author of operator commits, 'NAME <EMAIL>'"},
    {"metrics-addr", K_STR, S(metrics_addr), ":8080", "address of /metrics; 0 disables"},
    {"health-addr", K_STR, S(health_addr), ":8081", "address of /healthz and /readyz; 0 disables"},
    {"leader-elect", K_BOOL, S(leader_elect), "false",
     "elect a leader through the Lease app-platform-operator in the operator namespace"},
    {"workers", K_INT, S(workers), "4", "concurrent reconciles per controller"},
    {"log-format", K_STR, S(log_format), "text", "text or json"},
    {"log-level", K_STR, S(log_level), "info", "debug, info, warn or error"},
    {"cache-dir", K_STR, S(cache_dir), NULL, "Git caches (default: $TMPDIR/app-platform-operator)"},
    {"rbac-group-prefix", K_STR, S(rbac_group_prefix), "oidc:",
     "prefix of group names in RoleBindings (as the apiserver's --oidc-groups-prefix and the dashboard use)"},
    {"platform-repo-branch", K_STR, S(platform_branch), "main", "branch of the platform repos"},
    {"resync-interval", K_DURATION, S(resync_ms), "10m",
     "reconcile every registration and its secrets at least this often (restores hand-edited files)"},
    {"batch-window", K_DURATION, S(batch_ms), "50ms",
     "how long a secret change waits for more changes of the same app, to share one commit"},
    {"git-retry-timeout", K_DURATION, S(git_retry_ms), "60s",
     "how long one Git fetch or push retries a remote that cannot be reached (or a branch that keeps "
     "moving) before the reconcile fails and is retried later"},
    {"flux-git-interval", K_STR, S(git_interval), "1m0s", "spec.interval of the platform GitRepository"},
    {"flux-kustomization-interval", K_STR, S(ks_interval), "10m0s",
     "spec.interval of the platform Kustomization"},
    {"kube-api-qps", K_INT, S(kube_qps), NULL,
     "client-side limit of apiserver requests per second (default: none once the apiserver shows API "
     "Priority and Fairness, which queues fairly itself; else 50)"},
    {"kube-api-burst", K_INT, S(kube_burst), NULL,
     "burst of the client-side limit (default: 100; with either flag set, the limit holds with API "
     "Priority and Fairness too)"},
    {"dashboard-service-account", K_STR, S(dashboard_sa), "app-platform-dashboard",
     "the dashboard's ServiceAccount in the operator namespace, given read access to each platform "
     "namespace's "
     "Secrets; empty = none"},
    {"flux-reconcile-request", K_BOOL, S(request_reconcile), "true",
     "after a push, ask Flux to fetch the platform repo at once (reconcile.fluxcd.io/requestedAt) instead of "
     "at its "
     "next interval"},
    {"test-fault", K_STR, S(test_fault), NULL,
     "crash tests only: POINT[:N] kills the process (SIGKILL) the Nth time (default 1st) it reaches POINT: "
     "after-encrypt, after-local-commit, push-sending"},
    {"watch-label-selector", K_STR, S(watch_selector), NULL,
     "handle only the registrations matching this label selector (and their secrets); default: all"},
};

/* "flux-repo-url" -> "APP_PLATFORM_FLUX_REPO_URL" */
static void env_name(const char *flag, char *out, size_t size)
{
        size_t n = (size_t)snprintf(out, size, "APP_PLATFORM_");
        for (const char *p = flag; *p && n + 1 < size; p++)
                out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        out[n] = '\0';
}

/* "90s", "10m", "1h", "250ms", "1m30s" -> milliseconds. */
static int parse_duration(const char *s, long *ret)
{
        long total = 0;
        const char *p = s;
        if (!*p)
                return -EINVAL;
        while (*p) {
                char *end;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (errno || end == p || v < 0)
                        return -EINVAL;
                long mult;
                if (strncmp(end, "ms", 2) == 0) {
                        mult = 1;
                        end += 2;
                } else if (*end == 's') {
                        mult = 1000;
                        end++;
                } else if (*end == 'm') {
                        mult = 60000;
                        end++;
                } else if (*end == 'h') {
                        mult = 3600000;
                        end++;
                } else {
                        return -EINVAL;
                }
                if (v > (1L << 40) / mult)
                        return -ERANGE;
                total += v * mult;
                p = end;
        }
        *ret = total;
        return 0;
}

static int set_value(struct ap_op_config *c, const struct flag *f, const char *v, const char *src,
                     struct ap_error *err)
{
        char *base = (char *)c;
        switch (f->kind) {
        case K_STR: {
                char **slot = (char **)(base + f->off);
                char *dup = strdup(v);
                if (!dup)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                free(*slot);
                *slot = dup;
                return 0;
        }
        case K_BOOL: {
                bool *slot = (bool *)(base + f->off);
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
                        *slot = true;
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
                        *slot = false;
                else
                        return ap_error_set(err, AP_E_INVALID, "%s: '%s' is not true or false", src, v);
                return 0;
        }
        case K_INT: {
                char *end;
                errno = 0;
                long n = strtol(v, &end, 10);
                if (errno || end == v || *end || n < 0 || n > 1000000)
                        return ap_error_set(err, AP_E_INVALID,
                                            "%s: '%s' is not a number between 0 and 1000000", src, v);
                *(long *)(base + f->off) = n;
                return 0;
        }
        case K_DURATION:
                if (parse_duration(v, (long *)(base + f->off)) < 0)
                        return ap_error_set(err, AP_E_INVALID,
                                            "%s: '%s' is not a duration (e.g. 250ms, 30s, 10m, 1h)", src, v);
                return 0;
        }
        return -EINVAL;
}

static const struct flag *find_flag(const char *name, size_t n)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++)
                if (strlen(flags[i].name) == n && strncmp(flags[i].name, name, n) == 0)
                        return &flags[i];
        return NULL;
}

void ap_op_config_usage(FILE *f)
{
        fprintf(f, "usage: app-platform operator [options]\n\n"
                   "Run the App Platform operator: reconcile AppPlatformRegistrations and managed secrets.\n"
                   "Every option can also be set by its environment variable; options win.\n\n"
                   "options:\n");
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++) {
                char env[96];
                env_name(flags[i].name, env, sizeof(env));
                fprintf(f, "  --%s%s\n      %s\n      env %s", flags[i].name,
                        flags[i].kind == K_BOOL ? "" : " VALUE", flags[i].help, env);
                if (flags[i].def && *flags[i].def)
                        fprintf(f, ", default %s", flags[i].def);
                fprintf(f, "\n");
        }
        fprintf(f, "  -h, --help\n      show this help\n");
}

struct ap_op_config *ap_op_config_free(struct ap_op_config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++)
                if (flags[i].kind == K_STR)
                        free(*(char **)((char *)c + flags[i].off));
        free(c->git_author_name);
        free(c->git_author_email);
        free(c);
        return NULL;
}

static int require(const char *v, const char *flag, const char *why, struct ap_error *err)
{
        if (v && *v)
                return 0;
        char env[96];
        env_name(flag, env, sizeof(env));
        return ap_error_set(err, AP_E_INVALID, "--%s (or %s) is required%s", flag, env, why);
}

static int validate(struct ap_op_config *c, struct ap_error *err)
{
        int r;
        if ((r = require(c->flux_repo_url, "flux-repo-url", "", err)) < 0 ||
            (r = require(c->cluster_age_recipient, "cluster-age-recipient", "", err)) < 0)
                return r;
        struct ap_age_recipient *rcp = NULL;
        struct ap_error e = AP_ERROR_INIT;
        if (ap_age_recipient_parse(c->cluster_age_recipient, strlen(c->cluster_age_recipient), &rcp, &e) < 0)
                return ap_error_set(err, AP_E_INVALID, "--cluster-age-recipient: %s", ap_error_message(&e));
        ap_age_recipient_free(rcp);
        if (ap_forge_parse_kind(c->forge_name, &c->forge) < 0)
                return ap_error_set(err, AP_E_INVALID, "--forge: '%s' is not github, gitea or local",
                                    c->forge_name);
        if (c->forge == AP_FORGE_LOCAL) {
                if ((r = require(c->local_repos_dir, "local-repos-dir", " with --forge local", err)) < 0)
                        return r;
                if (c->local_repos_dir[0] != '/')
                        return ap_error_set(err, AP_E_INVALID,
                                            "--local-repos-dir: '%s' is not an absolute path",
                                            c->local_repos_dir);
        } else {
                if ((r = require(c->forge_owner, "forge-owner", " unless --forge local", err)) < 0 ||
                    (r = require(c->forge_credentials_secret, "forge-credentials-secret",
                                 " unless --forge local", err)) < 0)
                        return r;
                if (c->forge == AP_FORGE_GITEA && !(c->forge_api_url && *c->forge_api_url))
                        return require(NULL, "forge-api-url", " with --forge gitea (https://HOST/api/v1)",
                                       err);
        }
        if (c->workers < 1 || c->workers > 64)
                return ap_error_set(err, AP_E_INVALID, "--workers: %ld is not between 1 and 64", c->workers);
        /* "NAME <EMAIL>" */
        const char *lt = strchr(c->git_author, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (!lt || !gt || lt == c->git_author || gt[1] != '\0')
                return ap_error_set(err, AP_E_INVALID, "--git-author: '%s' is not 'NAME <EMAIL>'",
                                    c->git_author);
        size_t nl = (size_t)(lt - c->git_author);
        while (nl > 0 && c->git_author[nl - 1] == ' ')
                nl--;
        c->git_author_name = ap_strndup(c->git_author, nl);
        c->git_author_email = ap_strndup(lt + 1, (size_t)(gt - lt - 1));
        if (!c->git_author_name || !c->git_author_email)
                return ap_error_set(err, -ENOMEM, "out of memory");
        if (c->resync_ms < 10000)
                return ap_error_set(err, AP_E_INVALID, "--resync-interval: must be at least 10s");
        if (c->batch_ms > 10000)
                return ap_error_set(err, AP_E_INVALID, "--batch-window: must be at most 10s");
        if (c->git_retry_ms < 1000 || c->git_retry_ms > 3600000)
                return ap_error_set(err, AP_E_INVALID, "--git-retry-timeout: must be between 1s and 1h");
        return 0;
}

int ap_op_config_parse(int argc, char **argv, ap_op_getenv_fn env, struct ap_op_config **ret,
                       struct ap_error *err)
{
        struct ap_op_config *c = calloc(1, sizeof(*c));
        if (!c)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = 0;
        /* defaults, then the environment */
        for (size_t i = 0; r == 0 && i < AP_ARRAY_SIZE(flags); i++) {
                char name[96];
                env_name(flags[i].name, name, sizeof(name));
                const char *v = env ? env(name) : NULL;
                if (flags[i].def)
                        r = set_value(c, &flags[i], flags[i].def, "default", err);
                if (r == 0 && v)
                        r = set_value(c, &flags[i], v, name, err);
        }
        /* then the flags: --name VALUE, --name=VALUE, --bool */
        for (int i = 1; r == 0 && i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        ap_op_config_usage(stdout);
                        ap_op_config_free(c);
                        return 1;
                }
                if (strncmp(a, "--", 2) != 0) {
                        r = ap_error_set(err, AP_E_INVALID, "unexpected argument '%s'", a);
                        break;
                }
                const char *name = a + 2, *eq = strchr(name, '=');
                const struct flag *f = find_flag(name, eq ? (size_t)(eq - name) : strlen(name));
                if (!f) {
                        r = ap_error_set(err, AP_E_INVALID, "unknown option '%s'", a);
                        break;
                }
                char src[128];
                snprintf(src, sizeof(src), "--%s", f->name);
                const char *v = eq ? eq + 1 : NULL;
                if (!v && f->kind == K_BOOL)
                        v = i + 1 < argc &&
                                    (strcmp(argv[i + 1], "true") == 0 || strcmp(argv[i + 1], "false") == 0)
                                ? argv[++i]
                                : "true";
                if (!v) {
                        if (i + 1 >= argc) {
                                r = ap_error_set(err, AP_E_INVALID, "option '--%s' needs a value", f->name);
                                break;
                        }
                        v = argv[++i];
                }
                r = set_value(c, f, v, src, err);
        }
        if (r == 0)
                r = validate(c, err);
        if (r < 0) {
                ap_op_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
