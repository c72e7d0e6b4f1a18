/* cli_operator.c - the 'operator' subcommand: configuration from flags and APP_PLATFORM_* variables,
 * logging, the apiserver client, then the operator until SIGTERM. */
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_kube.h"
#include "kube/manager.h"
#include "operator/operator.h"

static const char *env_lookup(const char *name)
{
        return getenv(name);
}

/* The defaults that depend on the environment: the namespace and the cache folder. */
static int fill_defaults(struct ap_op_config *c, const char *context_ns, struct ap_error *err)
{
        if (!c->namespace) {
                c->namespace = strdup(
                    context_ns && getenv("KUBERNETES_SERVICE_HOST") ? context_ns : "app-platform-system");
                if (!c->namespace)
                        return ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (!c->cache_dir) {
                const char *tmp = getenv("TMPDIR");
                size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 32;
                c->cache_dir = malloc(n);
                if (!c->cache_dir)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                snprintf(c->cache_dir, n, "%s/app-platform-operator", tmp && *tmp ? tmp : "/tmp");
        }
        return 0;
}

int cli_operator_main(int argc, char **argv)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_op_config *cfg = NULL;
        int r = ap_op_config_parse(argc, argv, env_lookup, &cfg, &err);
        if (r == 1)
                return AP_EXIT_OK;
        if (r < 0)
                return cli_usage_error("operator", "%s", ap_error_message(&err));
        enum ap_log_format lf;
        enum ap_log_level ll;
        if (ap_log_parse_format(cfg->log_format, &lf) < 0 || ap_log_parse_level(cfg->log_level, &ll) < 0) {
                ap_op_config_free(cfg);
                return cli_usage_error("operator",
                                       "--log-format must be text or json, --log-level debug, info, warn "
                                       "or error");
        }
        ap_log_setup(lf, ll);
        cli_limit_malloc_arenas();
        /* before any thread: SIGTERM/SIGINT are taken by the manager; a closed connection is an error */
        signal(SIGPIPE, SIG_IGN);
        if (ap_kube_block_stop_signals() < 0) {
                ap_op_config_free(cfg);
                return AP_EXIT_FAILURE;
        }
        struct ap_kube_client_options ko = {.user_agent = "app-platform-operator",
                                            .qps = cfg->kube_qps ? (double)cfg->kube_qps : 50,
                                            .burst = cfg->kube_burst ? (int)cfg->kube_burst : 100,
                                            .limit_unless_apf = !cfg->kube_qps && !cfg->kube_burst};
        struct ap_kube_client *kube = NULL;
        char *ctx_ns = NULL;
        r = cli_kube_client(cfg->kubeconfig, &ko, &kube, &ctx_ns, &err);
        if (r == 0)
                r = fill_defaults(cfg, ctx_ns, &err);
        free(ctx_ns);
        char identity[128];
        unsigned char rnd[4] = {0};
        char host[64] = "operator";
        gethostname(host, sizeof(host) - 1);
        RAND_bytes(rnd, sizeof(rnd));
        snprintf(identity, sizeof(identity), "%s_%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3]);
        if (r == 0)
                r = ap_operator_run(cfg, kube, identity, &err);
        if (r < 0)
                ap_log_error(&err, "operator");
        ap_kube_client_free(kube);
        ap_op_config_free(cfg);
        return r < 0 ? AP_EXIT_FAILURE : AP_EXIT_OK;
}
