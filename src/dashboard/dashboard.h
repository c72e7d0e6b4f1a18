/* dashboard.h - the dashboard server as one object: configuration in, then run until stopped. It owns the
 * HTTP server, the OIDC relying party, the session key ring, the informer caches, the SSE hub and the
 * health endpoints. src/cli/cli_dashboard.c fills the configuration from flags and APP_PLATFORM_*. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "kube/client.h"

struct ap_dash_config {
        const char *listen;        /* "HOST:PORT" or ":PORT"; default ":8080" */
        const char *health_addr;   /* /healthz, /readyz; default ":8081"; "0" = off */
        const char *tls_cert_file; /* PEM; with tls_key_file: serve HTTPS */
        const char *tls_key_file;
        unsigned threads;            /* worker threads; 0 = 4 */
        size_t max_body;             /* request body limit (413); 0 = 1 MiB */
        size_t max_header;           /* request line + headers limit (431/414); 0 = 32 KiB */
        size_t max_url;              /* URL limit (414); 0 = 8 KiB */
        unsigned max_connections;    /* 0 = 1024 */
        unsigned max_streams;        /* SSE streams per user; 0 = 4 */
        long heartbeat_ms;           /* SSE heartbeat; 0 = 15 s */
        long connection_timeout_s;   /* idle connection timeout; 0 = 60 s */
        const char *public_url;      /* where browsers reach us ("https://dash.example"); required */
        bool insecure_cookies;       /* plain HTTP for local use: no Secure attribute, no __Host- prefix */
        const char *session_key_dir; /* mounted Secret with the session keys; NULL = one random key */
        long session_ttl_s;          /* 0 = 12 h */
        long key_grace_s;            /* how long a replaced key still opens cookies; 0 = session_ttl_s */
        const char *oidc_issuer;
        const char *oidc_client_id;
        const char *oidc_client_secret; /* secret (read from a file by the CLI) */
        const char *oidc_ca_file;
        const char *oidc_scopes;
        const char *oidc_username_claim;  /* default "preferred_username" (falls back to sub) */
        const char *oidc_groups_claim;    /* default "groups" */
        const char *impersonate_prefix;   /* default "oidc:"; may not be empty or start with "system:" */
        const char *platform_admin_group; /* IdP group of platform admins; default "platform-admins" */
        long authz_cache_ms;              /* access review answers kept; 0 = 10 s */
        const char *assets_dir;           /* serve the web build from here instead of the embedded one */
};

struct ap_dash;

/* kc is borrowed (it must outlive the dashboard): the dashboard's own identity; user actions add
 * impersonation headers to it. */
int ap_dash_new(const struct ap_dash_config *cfg, struct ap_kube_client *kc, struct ap_dash **ret,
                struct ap_error *err);
/* Start the informers and the servers; returns once listening. */
int ap_dash_start(struct ap_dash *d, struct ap_error *err);
/* The port the HTTP server listens on (after start). */
int ap_dash_port(const struct ap_dash *d);
/* Graceful stop: stop accepting, end the SSE streams, let requests in flight finish (up to 10 s), stop
 * the informers. Idempotent. */
void ap_dash_stop(struct ap_dash *d);
struct ap_dash *ap_dash_free(struct ap_dash *d);
AP_DEFINE_CLEANUP(struct ap_dash *, ap_dash_free);
