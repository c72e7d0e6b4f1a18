/* config.h - the operator's configuration (DESIGN 1.5): every flag, its APP_PLATFORM_* environment
 * twin (flags win) and its default, parsed and validated once at start. Secrets are never flag values:
 * flags name Secrets in the operator namespace, read later by operator.c. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"
#include "forge/forge.h"

struct ap_op_config {
        char *kubeconfig; /* NULL: $KUBECONFIG (resolved by the caller), else in-cluster */
        char *namespace;  /* the operator namespace */
        char *flux_repo_url, *flux_repo_branch, *flux_repo_path, *flux_repo_credentials_secret;
        char *cluster_age_recipient;
        enum ap_forge_kind forge;
        char *forge_name; /* "github", "gitea" or "local", as given */
        char *forge_api_url, *forge_owner, *forge_credentials_secret, *forge_clone_url;
        char *forge_known_hosts_secret, *local_repos_dir;
        char *authelia_namespace, *authelia_clients_secret, *authelia_deployment;
        char *oidc_issuer_url, *base_domain;
        char *git_author; /* "NAME <EMAIL>" */
        char *git_author_name, *git_author_email;
        char *metrics_addr, *health_addr;
        bool leader_elect;
        long workers;
        char *log_format, *log_level;
        /* beyond DESIGN 1.5 */
        char *cache_dir;         /* Git caches of the Flux and platform repos */
        char *rbac_group_prefix; /* prepended to spec.access groups in RoleBindings */
        char *platform_branch;   /* branch of the platform repos */
        long resync_ms;          /* every registration and its secrets are reconciled at least this often */
        long batch_ms;           /* how long a managed-secret change waits for more changes of its app */
        long git_retry_ms;       /* a Git fetch or push retries a remote that is down this long */
        char *git_interval, *ks_interval; /* the platform GitRepository's and Kustomization's spec.interval */
        long kube_qps, kube_burst;        /* 0 = not given: 50/100 unless the apiserver runs APF */
        char *dashboard_sa;               /* the dashboard's ServiceAccount (operator namespace), "" = none */
        char *test_fault;       /* "POINT[:N]": SIGKILL at the Nth time POINT is reached (crash tests) */
        bool request_reconcile; /* annotate the platform GitRepository after a push */
        char
            *watch_selector; /* label selector of the registrations this operator handles (sharding, tests) */
};

/* Looks an environment variable up (the CLI passes getenv); NULL when unset. */
typedef const char *(*ap_op_getenv_fn)(const char *name);

/* Parse argv (argv[0] is the subcommand name) over the defaults and the environment; validate. On
 * --help prints the usage to stdout and returns 1 (*ret unset). A usage error returns AP_E_INVALID with
 * a message naming the flag and its environment twin. */
_warn_unused_ int ap_op_config_parse(int argc, char **argv, ap_op_getenv_fn env, struct ap_op_config **ret,
                                     struct ap_error *err);
struct ap_op_config *ap_op_config_free(struct ap_op_config *c);
AP_DEFINE_CLEANUP(struct ap_op_config *, ap_op_config_free)

/* The usage text: every flag, its environment twin and default. */
void ap_op_config_usage(FILE *f);
