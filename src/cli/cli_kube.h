/* cli_kube.h - the apiserver client of the long-running subcommands (see cli_kube.c). */
#pragma once

#include "kube/client.h"

/* A client from kubeconfig (NULL/"" = $KUBECONFIG, else in-cluster). *ret_namespace (may be NULL) gets
 * the context's or the pod's namespace (malloc'd, or NULL when none). */
int cli_kube_client(const char *kubeconfig, const struct ap_kube_client_options *opts,
                    struct ap_kube_client **ret, char **ret_namespace, struct ap_error *err);

/* Before the first thread: at most two malloc arenas (glibc makes one per thread up to 8 per core, each
 * keeping its own free pages; the servers' threads mostly wait on sockets), unless MALLOC_ARENA_MAX is
 * set. */
void cli_limit_malloc_arenas(void);
