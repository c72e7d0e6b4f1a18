/* cli_kube.c - how the long-running subcommands (operator, dashboard) reach the apiserver: an explicit
 * kubeconfig, else $KUBECONFIG, else the in-cluster service account; their process-wide malloc setting. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_kube.h"

int cli_kube_client(const char *kubeconfig, const struct ap_kube_client_options *opts,
                    struct ap_kube_client **ret, char **ret_namespace, struct ap_error *err)
{
        const char *path = kubeconfig && *kubeconfig ? kubeconfig : getenv("KUBECONFIG");
        struct ap_kube_config *cfg = NULL;
        int r;
        if (path && *path) {
                /* a KUBECONFIG list "a:b" is not merged: the first file is used */
                char *first = strdup(path);
                if (!first)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                char *colon = strchr(first, ':');
                if (colon)
                        *colon = '\0';
                r = ap_kube_config_load_kubeconfig(first, NULL, &cfg, err);
                free(first);
        } else {
                const char *host = getenv("KUBERNETES_SERVICE_HOST"),
                           *port = getenv("KUBERNETES_SERVICE_PORT");
                if (!host || !port)
                        return ap_error_set(
                            err, AP_E_INVALID,
                            "no kubeconfig: pass --kubeconfig or set KUBECONFIG (or run in a pod, "
                            "where KUBERNETES_SERVICE_HOST is set)");
                r = ap_kube_config_in_cluster(host, port, NULL, &cfg, err);
        }
        if (r < 0)
                return r;
        struct ap_kube_client *c = NULL;
        r = ap_kube_client_new(cfg, opts, &c, err);
        if (r == 0 && ret_namespace)
                *ret_namespace = cfg->namespace ? strdup(cfg->namespace) : NULL;
        ap_kube_config_free(cfg);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

void cli_limit_malloc_arenas(void)
{
#ifdef M_ARENA_MAX
        if (!getenv("MALLOC_ARENA_MAX"))
                mallopt(M_ARENA_MAX, 2);
#endif
}
