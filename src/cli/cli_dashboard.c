/* cli_dashboard.c - `app-platform dashboard`: flags (each with its APP_PLATFORM_* environment twin; a flag
 * wins over its twin), the Kubernetes client (kubeconfig or in-cluster), then the dashboard runs until
 * SIGINT/SIGTERM and stops gracefully. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_kube.h"
#include "dashboard/dashboard.h"
#include "kube/client.h"
#include "kube/config.h"

enum kind { STR, BOOL, UINT, SIZE, DURATION, NUM };

struct flag {
        const char *name; /* without "--" */
        enum kind kind;
        const char *def; /* shown in --help; NULL = none */
        const char *help;
        const char *value; /* from argv or the environment */
};

static struct flag flags[] = {
    {"kubeconfig", STR, "$KUBECONFIG, else in-cluster", "how to reach the apiserver", NULL},
    {"listen", STR, ":8080", "HTTP(S) listen address", NULL},
    {"health-addr", STR, ":8081", "/healthz and /readyz address; 0 = off", NULL},
    {"public-url", STR, NULL, "where browsers reach the dashboard (https://dash.example); required", NULL},
    {"tls-cert-file", STR, NULL, "PEM certificate: serve HTTPS (with --tls-key-file)", NULL},
    {"tls-key-file", STR, NULL, "PEM private key", NULL},
    {"insecure-cookies", BOOL, "false", "cookies without Secure and __Host- (local plain-HTTP use only)",
     NULL},
    {"session-key-dir", STR, NULL, "folder of session keys (a mounted Secret); none = one random key", NULL},
    {"session-ttl", DURATION, "12h", "how long a login lasts", NULL},
    {"session-key-grace", DURATION, "the session TTL", "how long a replaced session key still opens cookies",
     NULL},
    {"oidc-issuer-url", STR, "https://my-id.hcl.labrats.work", "the OIDC provider", NULL},
    {"oidc-client-id", STR, "app-platform-dashboard", "the dashboard's client id at the provider", NULL},
    {"oidc-client-secret-file", STR, NULL, "file holding the client secret (a mounted Secret)", NULL},
    {"oidc-ca-file", STR, NULL, "CA bundle for the provider; none = the system store", NULL},
    {"oidc-scopes", STR, "openid profile email groups offline_access", "scopes asked for", NULL},
    {"oidc-username-claim", STR, "preferred_username", "claim naming the user (falls back to sub)", NULL},
    {"oidc-groups-claim", STR, "groups", "claim listing the user's groups", NULL},
    {"impersonate-prefix", STR, "oidc:", "prefix of impersonated users and groups (never system:)", NULL},
    {"platform-admin-group", STR, "platform-admins", "IdP group that sees and edits app registrations", NULL},
    {"threads", UINT, "4", "HTTP worker threads", NULL},
    {"max-body-bytes", SIZE, "1048576", "request body limit (413)", NULL},
    {"max-header-bytes", SIZE, "32768", "request line + headers limit (431/414)", NULL},
    {"max-url-bytes", SIZE, "8192", "URL limit (414)", NULL},
    {"max-connections", UINT, "1024", "open connections at most", NULL},
    {"max-streams-per-user", UINT, "4", "live event streams per user", NULL},
    {"sse-heartbeat", DURATION, "15s", "comment line on idle event streams", NULL},
    {"authz-cache", DURATION, "10s", "how long access-review answers are kept", NULL},
    {"kube-qps", NUM, "50", "apiserver requests per second (token bucket)", NULL},
    {"kube-burst", UINT, "100", "token bucket size", NULL},
    {"assets-dir", STR, NULL, "serve the web front end from this folder instead of the embedded build", NULL},
    {"log-format", STR, "text", "text | json", NULL},
    {"log-level", STR, "info", "debug | info | warn | error", NULL},
};

static void env_name(const char *flag, char *out, size_t n)
{
        size_t o = (size_t)snprintf(out, n, "APP_PLATFORM_");
        for (; *flag && o + 1 < n; flag++)
                out[o++] = *flag == '-' ? '_' : (char)(*flag >= 'a' && *flag <= 'z' ? *flag - 32 : *flag);
        out[o] = '\0';
}

static void usage(FILE *f)
{
        fprintf(f, "usage: app-platform dashboard [options]\n\n"
                   "Serve the dashboard: OIDC login, the JSON API under /api/v1/ and live status over SSE.\n"
                   "Every option has an environment twin (--public-url = APP_PLATFORM_PUBLIC_URL); options "
                   "win.\n\n");
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++) {
                char env[96];
                env_name(flags[i].name, env, sizeof(env));
                fprintf(f, "  --%-26s %s%s%s%s\n  %-28s (%s)\n", flags[i].name, flags[i].help,
                        flags[i].def ? " [default: " : "", flags[i].def ? flags[i].def : "",
                        flags[i].def ? "]" : "", "", env);
        }
}

static struct flag *find(const char *name, size_t n)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++)
                if (strlen(flags[i].name) == n && strncmp(flags[i].name, name, n) == 0)
                        return &flags[i];
        return NULL;
}

static const char *val(const char *name)
{
        struct flag *f = find(name, strlen(name));
        return f ? f->value : NULL;
}

static int parse_args(int argc, char **argv)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(flags); i++) {
                char env[96];
                env_name(flags[i].name, env, sizeof(env));
                const char *e = getenv(env);
                if (e && *e)
                        flags[i].value = e;
        }
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        exit(AP_EXIT_OK);
                }
                if (strncmp(a, "--", 2) != 0)
                        return cli_usage_error("dashboard", "unexpected argument '%s'", a);
                const char *eq = strchr(a + 2, '=');
                size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
                struct flag *f = find(a + 2, n);
                if (!f)
                        return cli_usage_error("dashboard", "unknown option '%s'", a);
                if (f->kind == BOOL && !eq)
                        f->value = "true";
                else if (eq)
                        f->value = eq + 1;
                else if (i + 1 < argc)
                        f->value = argv[++i];
                else
                        return cli_usage_error("dashboard", "option '--%s' needs a value", f->name);
        }
        return 0;
}

/* "90", "90s", "15m", "12h" -> seconds (ms when ret_ms). */
static int duration(const char *name, long *ret, bool ms)
{
        const char *v = val(name);
        if (!v)
                return 0;
        char *end;
        double n = strtod(v, &end);
        double mult = 1;
        if (strcmp(end, "ms") == 0)
                mult = 0.001;
        else if (strcmp(end, "m") == 0)
                mult = 60;
        else if (strcmp(end, "h") == 0)
                mult = 3600;
        else if (*end && strcmp(end, "s") != 0)
                n = -1;
        if (end == v || n < 0)
                return cli_usage_error("dashboard", "--%s '%s' is not a duration like 30s, 15m or 12h", name,
                                       v);
        *ret = (long)(n * mult * (ms ? 1000 : 1));
        return 0;
}

static int number(const char *name, unsigned long *ret)
{
        const char *v = val(name);
        if (!v)
                return 0;
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
                return cli_usage_error("dashboard", "--%s '%s' is not a number", name, v);
        *ret = n;
        return 0;
}

static bool truthy(const char *v)
{
        return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

static int numbers(struct ap_dash_config *c)
{
        unsigned long threads = 0, body = 0, hdr = 0, url = 0, conns = 0, streams = 0;
        long ttl = 0, grace = 0, hb = 0, authz = 0;
        int r = number("threads", &threads);
        if (r == 0)
                r = number("max-body-bytes", &body);
        if (r == 0)
                r = number("max-header-bytes", &hdr);
        if (r == 0)
                r = number("max-url-bytes", &url);
        if (r == 0)
                r = number("max-connections", &conns);
        if (r == 0)
                r = number("max-streams-per-user", &streams);
        if (r == 0)
                r = duration("session-ttl", &ttl, false);
        if (r == 0)
                r = duration("session-key-grace", &grace, false);
        if (r == 0)
                r = duration("sse-heartbeat", &hb, true);
        if (r == 0)
                r = duration("authz-cache", &authz, true);
        c->threads = (unsigned)threads;
        c->max_body = body;
        c->max_header = hdr;
        c->max_url = url;
        c->max_connections = (unsigned)conns;
        c->max_streams = (unsigned)streams;
        c->session_ttl_s = ttl;
        c->key_grace_s = grace;
        c->heartbeat_ms = hb;
        c->authz_cache_ms = authz;
        return r;
}

static int kube_client(struct ap_kube_client **ret, struct ap_error *err)
{
        const char *kc = val("kubeconfig");
        if (!kc)
                kc = getenv("KUBECONFIG");
        struct ap_kube_config *cfg = NULL;
        int r = kc && *kc ? ap_kube_config_load_kubeconfig(kc, NULL, &cfg, err)
                          : ap_kube_config_in_cluster(getenv("KUBERNETES_SERVICE_HOST"),
                                                      getenv("KUBERNETES_SERVICE_PORT"), NULL, &cfg, err);
        if (r < 0)
                return r;
        unsigned long burst = 100;
        const char *q = val("kube-qps");
        struct ap_kube_client_options o = {.qps = q ? strtod(q, NULL) : 50};
        number("kube-burst", &burst);
        o.burst = (int)burst;
        r = ap_kube_client_new(cfg, &o, ret, err);
        ap_kube_config_free(cfg);
        return r;
}

static int run(struct ap_dash_config *c)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_kube_client_freep) struct ap_kube_client *kc = NULL;
        if (kube_client(&kc, &err) < 0)
                return ap_log_error(&err, "cannot reach the apiserver"), AP_EXIT_FAILURE;
        _cleanup_(ap_dash_freep) struct ap_dash *d = NULL;
        if (ap_dash_new(c, kc, &d, &err) < 0)
                return cli_usage_error("dashboard", "%s", err.msg);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread started below inherits the mask */
        signal(SIGPIPE, SIG_IGN);
        if (ap_dash_start(d, &err) < 0)
                return ap_log_error(&err, "cannot start the dashboard"), AP_EXIT_FAILURE;
        ap_info("dashboard listening on port %d (%s)", ap_dash_port(d), c->public_url);
        printf("listening %d\n", ap_dash_port(d));
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        ap_info("signal %d: stopping", sig);
        ap_dash_stop(d);
        return AP_EXIT_OK;
}

int cli_dashboard_main(int argc, char **argv)
{
        int r = parse_args(argc, argv);
        if (r)
                return r;
        enum ap_log_format lf = AP_LOG_TEXT;
        enum ap_log_level ll = AP_LOG_INFO;
        if ((val("log-format") && ap_log_parse_format(val("log-format"), &lf) < 0) ||
            (val("log-level") && ap_log_parse_level(val("log-level"), &ll) < 0))
                return cli_usage_error("dashboard", "bad --log-format or --log-level");
        ap_log_setup(lf, ll);
        cli_limit_malloc_arenas();
        struct ap_dash_config c = {
            .listen = val("listen"),
            .health_addr = val("health-addr"),
            .public_url = val("public-url"),
            .tls_cert_file = val("tls-cert-file"),
            .tls_key_file = val("tls-key-file"),
            .insecure_cookies = truthy(val("insecure-cookies")),
            .session_key_dir = val("session-key-dir"),
            .oidc_issuer = val("oidc-issuer-url") ? val("oidc-issuer-url") : "https://my-id.hcl.labrats.work",
            .oidc_client_id = val("oidc-client-id") ? val("oidc-client-id") : "app-platform-dashboard",
            .oidc_ca_file = val("oidc-ca-file"),
            .oidc_scopes = val("oidc-scopes"),
            .oidc_username_claim = val("oidc-username-claim"),
            .oidc_groups_claim = val("oidc-groups-claim"),
            .impersonate_prefix = val("impersonate-prefix"),
            .platform_admin_group = val("platform-admin-group"),
            .assets_dir = val("assets-dir"),
        };
        if ((r = numbers(&c)))
                return r;
        if (!c.public_url)
                return cli_usage_error("dashboard", "--public-url is required");
        _cleanup_(ap_buf_releasep) struct ap_buf secret = AP_BUF_INIT_SECRET;
        if (val("oidc-client-secret-file")) {
                struct ap_error err = AP_ERROR_INIT;
                secret.max = 4096;
                if (ap_read_file(val("oidc-client-secret-file"), &secret, &err) < 0)
                        return ap_log_error(&err, "cannot read the OIDC client secret"), AP_EXIT_FAILURE;
                while (secret.len &&
                       (secret.data[secret.len - 1] == '\n' || secret.data[secret.len - 1] == '\r'))
                        secret.data[--secret.len] = '\0';
                c.oidc_client_secret = secret.data;
        }
        return run(&c);
}
