/* config.h - how to reach an apiserver: a kubeconfig file (current or named context; client certificate
 * and key as files or *-data, bearer token or tokenFile, CA as file or data, insecure-skip-tls-verify) or
 * the in-cluster service account (token file re-read as it rotates). The CLI passes in the paths and
 * environment values; nothing here reads the environment. */
#pragma once

#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"

#define AP_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct ap_kube_config {
        char *server;          /* "https://host:port" with no trailing slash */
        char *tls_server_name; /* SNI and the name the server's certificate is verified against, instead
                                * of the server URL's host (the connection still goes to that host) */
        struct ap_buf ca_pem;  /* PEM bundle to trust, alone; empty = the system store */
        struct ap_buf cert_pem;
        struct ap_buf key_pem; /* secret */
        char *token;           /* static bearer token (secret), or NULL */
        char *token_file;      /* bearer token re-read from this file as it rotates, or NULL */
        bool insecure;         /* insecure-skip-tls-verify */
        char *namespace;       /* the context's namespace, or the pod's namespace in-cluster; may be NULL */
        char *context;         /* the context used (kubeconfig), or NULL */
};

/* Load a kubeconfig. context NULL = current-context. Relative file paths inside are resolved against the
 * kubeconfig's directory, and files are read now. *ret is owned by the caller (ap_kube_config_free). */
int ap_kube_config_load_kubeconfig(const char *path, const char *context, struct ap_kube_config **ret,
                                   struct ap_error *err) _warn_unused_;
/* The same from YAML text; dir resolves relative paths (NULL = the working directory). */
int ap_kube_config_parse_kubeconfig(const char *yaml, size_t len, const char *dir, const char *context,
                                    struct ap_kube_config **ret, struct ap_error *err) _warn_unused_;
/* In-cluster: host/port are KUBERNETES_SERVICE_HOST/PORT as the CLI read them; sa_dir holds token,
 * ca.crt and namespace (NULL = AP_KUBE_SA_DIR). */
int ap_kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                              struct ap_kube_config **ret, struct ap_error *err) _warn_unused_;
struct ap_kube_config *ap_kube_config_free(struct ap_kube_config *c);
AP_DEFINE_CLEANUP(struct ap_kube_config *, ap_kube_config_free);
