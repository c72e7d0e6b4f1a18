/* dashboard.c - wiring: configuration defaults, then the key ring, the OIDC relying party, the event hub,
 * the caches, authorization, the HTTP server and the health endpoints; and the graceful stop. */
#include "dashboard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "dash.h"
#include "kube/health.h"
#include "server.h"

#define COPY(field)                                                                                          \
        do {                                                                                                 \
                if (cfg->field) {                                                                            \
                        if (n_strs >= AP_ARRAY_SIZE(d->strs) || !(d->strs[n_strs] = strdup(cfg->field)))     \
                                goto oom;                                                                    \
                        d->cfg.field = d->strs[n_strs++];                                                    \
                }                                                                                            \
        } while (0)

static void defaults(struct ap_dash_config *c)
{
        if (!c->listen)
                c->listen = ":8080";
        if (!c->health_addr)
                c->health_addr = ":8081";
        if (!c->threads)
                c->threads = 4;
        if (!c->max_body)
                c->max_body = 1 << 20;
        if (!c->max_header)
                c->max_header = 32 << 10;
        if (!c->max_url)
                c->max_url = 8 << 10;
        if (!c->max_connections)
                c->max_connections = 1024;
        if (!c->connection_timeout_s)
                c->connection_timeout_s = 60;
        if (!c->session_ttl_s)
                c->session_ttl_s = 12 * 3600;
        if (!c->key_grace_s)
                c->key_grace_s = c->session_ttl_s;
        if (!c->oidc_username_claim)
                c->oidc_username_claim = "preferred_username";
        if (!c->oidc_groups_claim)
                c->oidc_groups_claim = "groups";
        if (!c->impersonate_prefix)
                c->impersonate_prefix = "oidc:";
        if (!c->platform_admin_group)
                c->platform_admin_group = "platform-admins";
}

static int copy_config(struct ap_dash *d, const struct ap_dash_config *cfg, struct ap_error *err)
{
        size_t n_strs = 0;
        d->cfg = *cfg;
        COPY(listen);
        COPY(health_addr);
        COPY(tls_cert_file);
        COPY(tls_key_file);
        COPY(public_url);
        COPY(session_key_dir);
        COPY(oidc_issuer);
        COPY(oidc_client_id);
        COPY(oidc_client_secret);
        COPY(oidc_ca_file);
        COPY(oidc_scopes);
        COPY(oidc_username_claim);
        COPY(oidc_groups_claim);
        COPY(impersonate_prefix);
        COPY(platform_admin_group);
        COPY(assets_dir);
        defaults(&d->cfg);
        return 0;
oom:
        return ap_error_set(err, -ENOMEM, "out of memory");
}

static int check_config(const struct ap_dash_config *c, struct ap_error *err)
{
        if (!c->public_url ||
            (strncmp(c->public_url, "https://", 8) != 0 && strncmp(c->public_url, "http://", 7) != 0))
                return ap_error_set(err, -EINVAL, "the public URL ('%s') must be an http:// or https:// URL",
                                    c->public_url ? c->public_url : "");
        if (!c->oidc_issuer || !c->oidc_client_id)
                return ap_error_set(err, -EINVAL, "the OIDC issuer and client id are required");
        if (!!c->tls_cert_file != !!c->tls_key_file)
                return ap_error_set(err, -EINVAL, "TLS needs both a certificate and a key file");
        if (strncmp(c->public_url, "http://", 7) == 0 && !c->insecure_cookies)
                return ap_error_set(err, -EINVAL,
                                    "a plain-HTTP public URL needs insecure cookies (browsers drop "
                                    "Secure cookies for http:// sites other than localhost)");
        return ap_dash_authz_check_prefix(c->impersonate_prefix, err);
}

int ap_dash_new(const struct ap_dash_config *cfg, struct ap_kube_client *kc, struct ap_dash **ret,
                struct ap_error *err)
{
        struct ap_dash *d = calloc(1, sizeof(*d));
        if (!d)
                return ap_error_set(err, -ENOMEM, "out of memory");
        d->kc = kc;
        int r = copy_config(d, cfg, err);
        if (r == 0)
                r = check_config(&d->cfg, err);
        if (r == 0) {
                size_t n = strlen(d->cfg.public_url);
                while (n && d->cfg.public_url[n - 1] == '/')
                        ((char *)d->cfg.public_url)[--n] = '\0';
                d->session_cookie = d->cfg.insecure_cookies ? "ap-session" : "__Host-ap-session";
                d->login_cookie = d->cfg.insecure_cookies ? "ap-login" : "__Host-ap-login";
                if (asprintf(&d->redirect_url, "%s/auth/callback", d->cfg.public_url) < 0)
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (r < 0) {
                ap_dash_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

static void serve(void *ud, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        ap_dash_route(ud, req, resp);
}

static void close_streams(void *ud)
{
        struct ap_dash *d = ud;
        ap_dash_hub_close_all(d->hub);
}

static bool ready_check(void *ud)
{
        struct ap_dash *d = ud;
        return ap_dash_cache_ready(d->cache);
}

static int start_server(struct ap_dash *d, struct ap_error *err)
{
        char host[256];
        int port = 0;
        bool off = false;
        int r = ap_kube_parse_listen_addr(d->cfg.listen, host, sizeof(host), &port, &off, err);
        if (r < 0 || off)
                return r < 0 ? r : ap_error_set(err, -EINVAL, "the dashboard needs a listen address");
        struct ap_dash_server_options so = {.host = host,
                                            .port = port,
                                            .tls_cert_file = d->cfg.tls_cert_file,
                                            .tls_key_file = d->cfg.tls_key_file,
                                            .threads = d->cfg.threads,
                                            .max_body = d->cfg.max_body,
                                            .max_header = d->cfg.max_header,
                                            .max_url = d->cfg.max_url,
                                            .max_connections = d->cfg.max_connections,
                                            .timeout_s = (unsigned)d->cfg.connection_timeout_s};
        if ((r = ap_dash_server_start(&so, serve, d, &d->server, err)) < 0)
                return r;
        if ((r = ap_kube_health_start("0", d->cfg.health_addr, NULL, &d->health, err)) < 0)
                return r;
        if (d->health &&
            (r = ap_kube_health_add_check(d->health, AP_KUBE_CHECK_READYZ, "caches", ready_check, d)) < 0)
                return ap_error_set(err, r, "out of memory");
        return 0;
}

int ap_dash_start(struct ap_dash *d, struct ap_error *err)
{
        const char *algs[] = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", NULL};
        struct ap_dash_oidc_config oc = {.issuer = d->cfg.oidc_issuer,
                                         .client_id = d->cfg.oidc_client_id,
                                         .client_secret = d->cfg.oidc_client_secret,
                                         .redirect_url = d->redirect_url,
                                         .scopes = d->cfg.oidc_scopes,
                                         .ca_file = d->cfg.oidc_ca_file,
                                         .algs = algs};
        int r = ap_dash_keyring_new(d->cfg.session_key_dir, d->cfg.key_grace_s, &d->keys, err);
        if (r == 0 && !d->cfg.session_key_dir)
                ap_warn(
                    "no session key folder: a random key is used, so sessions end when this process does and "
                    "replicas cannot share them");
        if (r == 0)
                r = ap_dash_oidc_new(&oc, &d->oidc, err);
        if (r == 0)
                r = ap_dash_hub_new(0, d->cfg.max_streams, d->cfg.heartbeat_ms, &d->hub, err);
        if (r == 0)
                r = ap_dash_cache_new(d->kc, d->hub, d->cfg.oidc_issuer, &d->cache, err);
        if (r == 0)
                r = ap_dash_authz_new(d->kc, d->cache, d->cfg.impersonate_prefix, d->cfg.platform_admin_group,
                                      d->cfg.authz_cache_ms, &d->authz, err);
        if (r == 0 && ap_dash_refresher_new(&d->refresher) < 0)
                r = ap_error_set(err, -ENOMEM, "out of memory");
        if (r == 0)
                r = ap_dash_cache_start(d->cache, 60000, err);
        if (r == 0)
                r = start_server(d, err);
        if (r == 0) {
                struct ap_error derr = AP_ERROR_INIT;
                if (ap_dash_oidc_discover(d->oidc, &derr) < 0)
                        ap_warn("OIDC discovery failed (retried at the first login): %s", derr.msg);
        }
        return r;
}

int ap_dash_port(const struct ap_dash *d)
{
        return d->server ? ap_dash_server_port(d->server) : 0;
}

void ap_dash_stop(struct ap_dash *d)
{
        if (!d || d->stopped)
                return;
        d->stopped = true;
        if (d->server)
                ap_dash_server_shutdown(d->server, close_streams, d, 10000);
        if (d->cache)
                ap_dash_cache_stop(d->cache);
}

struct ap_dash *ap_dash_free(struct ap_dash *d)
{
        if (!d)
                return NULL;
        ap_dash_stop(d);
        d->health = ap_kube_health_free(d->health);
        d->server = ap_dash_server_free(d->server);
        d->cache = ap_dash_cache_free(d->cache);
        d->authz = ap_dash_authz_free(d->authz);
        d->hub = ap_dash_hub_free(d->hub);
        d->oidc = ap_dash_oidc_free(d->oidc);
        d->keys = ap_dash_keyring_free(d->keys);
        d->refresher = ap_dash_refresher_free(d->refresher);
        for (size_t i = 0; i < AP_ARRAY_SIZE(d->strs); i++) {
                if (d->strs[i] && d->strs[i] == d->cfg.oidc_client_secret)
                        ap_secure_free_str(d->strs[i]);
                else
                        free(d->strs[i]);
        }
        free(d->redirect_url);
        free(d);
        return NULL;
}
