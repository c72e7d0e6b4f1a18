/* client.c - libcurl plumbing: handle pool, TLS material from memory, auth, headers, status errors. */
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "ap_config.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/fileio.h"
#include "base/http_curl.h"
#include "base/log.h"
#include "mux.h"

#define POOL_MAX          16
#define TOKEN_MAX         ((size_t)64 << 10)
#define TOKEN_REREAD_SECS 60
#define RETRY_WAIT_MAX_MS 10000 /* the longest Retry-After we honour between two attempts */

struct ap_kube_client {
        struct ap_kube_config *cfg; /* a private copy: server, TLS material, token */
        long connect_timeout_ms;
        long request_timeout_ms;
        size_t max_body;
        char *user_agent;
        bool http1_only;
        int max_retries;         /* after 429 / 503 with Retry-After */
        struct ap_kube_mux *mux; /* runs every transfer, sharing connections; NULL = each on its own */
        /* tls-server-name: requests go to a URL naming it (so libcurl sends it as SNI and verifies the
         * certificate against it) while CURLOPT_CONNECT_TO sends the connection to the server's host */
        size_t authority_len;          /* of "https://host:port" at the start of cfg->server */
        char *sni_authority;           /* "https://<tls-server-name>:port", or NULL */
        struct curl_slist *connect_to; /* "<tls-server-name>:port:host:port" */

        pthread_mutex_t bucket_lock; /* guards the token buckets */
        bool limit_unless_apf;       /* opts->limit_unless_apf */
        atomic_bool apf_seen;        /* an answer showed API Priority and Fairness: no limit */
        struct ap_token_bucket buckets[AP_KUBE_N_LIMITS]; /* by enum ap_kube_limit */

        pthread_mutex_t lock; /* guards everything below */
        CURL *pool[POOL_MAX]; /* idle easy handles, each keeping its own live connections */
        size_t n_pool;
        char *token;          /* current bearer token (secret): cfg->token or the token file's text */
        time_t token_read_at; /* when token_file was last read */
        struct timespec token_mtime;

        atomic_ulong n_requests, n_http2, n_connects, n_throttled, n_retries;
};

static int copy_buf(struct ap_buf *dst, const struct ap_buf *src)
{
        return src->len ? ap_buf_add(dst, src->data, src->len) : 0;
}

static int dup_opt(char **dst, const char *s)
{
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

static struct ap_kube_config *config_copy(const struct ap_kube_config *src)
{
        struct ap_kube_config *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        ap_buf_init(&c->ca_pem, 0);
        ap_buf_init(&c->cert_pem, 0);
        ap_buf_init_secret(&c->key_pem, 0);
        c->insecure = src->insecure;
        if (dup_opt(&c->server, src->server) < 0 || dup_opt(&c->tls_server_name, src->tls_server_name) < 0 ||
            dup_opt(&c->token, src->token) < 0 || dup_opt(&c->token_file, src->token_file) < 0 ||
            dup_opt(&c->namespace, src->namespace) < 0 || dup_opt(&c->context, src->context) < 0 ||
            copy_buf(&c->ca_pem, &src->ca_pem) < 0 || copy_buf(&c->cert_pem, &src->cert_pem) < 0 ||
            copy_buf(&c->key_pem, &src->key_pem) < 0)
                return ap_kube_config_free(c);
        return c;
}

/* tls-server-name: verify the server's certificate against that name instead of the URL's host. libcurl
 * takes SNI and the name to verify from the URL, so the URL names the tls-server-name and
 * CURLOPT_CONNECT_TO maps that name (and port) to the real host. */
static int setup_server_name(struct ap_kube_client *c, struct ap_error *err)
{
        const char *name = c->cfg->tls_server_name, *server = c->cfg->server;
        if (!name || !name[0])
                return 0;
        if (strncmp(server, "https://", 8) != 0)
                return 0; /* plain HTTP: no TLS, nothing to verify */
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '.'))
                        return ap_error_set(err, AP_E_INVALID, "tls-server-name '%s' is not a host name",
                                            name);
        const char *host = server + 8;
        const char *end = host + strcspn(host, "/?#");
        const char *colon = NULL;
        if (*host == '[') { /* an IPv6 literal */
                const char *close = memchr(host, ']', (size_t)(end - host));
                if (!close)
                        return ap_error_set(err, AP_E_INVALID,
                                            "server URL '%s' has an unterminated IPv6 address", server);
                colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        } else {
                colon = memchr(host, ':', (size_t)(end - host));
        }
        const char *host_end = colon ? colon : end;
        const char *port = colon ? colon + 1 : "443";
        int port_len = colon ? (int)(end - colon - 1) : 3;
        char *connect_to = NULL;
        if (asprintf(&connect_to, "%s:%.*s:%.*s:%.*s", name, port_len, port, (int)(host_end - host), host,
                     port_len, port) < 0 ||
            asprintf(&c->sni_authority, "https://%s:%.*s", name, port_len, port) < 0) {
                free(connect_to);
                c->sni_authority = NULL;
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        c->connect_to = curl_slist_append(NULL, connect_to);
        free(connect_to);
        if (!c->connect_to)
                return ap_error_set(err, -ENOMEM, "out of memory");
        c->authority_len = (size_t)(end - server);
        return 0;
}

int ap_kube_client_new(const struct ap_kube_config *cfg, const struct ap_kube_client_options *opts,
                       struct ap_kube_client **ret, struct ap_error *err)
{
        static const struct ap_kube_client_options defaults = {0};
        if (!opts)
                opts = &defaults;
        int r0 = ap_http_global_init(err);
        if (r0 < 0)
                return r0;
        if (!cfg->server)
                return ap_error_set(err, AP_E_INVALID, "the kube configuration has no server URL");
        struct ap_kube_client *c = calloc(1, sizeof(*c));
        if (!c)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&c->lock, NULL);
        c->cfg = config_copy(cfg);
        c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
        c->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 60000;
        c->max_body = opts->max_body > 0 ? opts->max_body : (size_t)256 << 20;
        c->http1_only = opts->http1_only;
        c->max_retries = opts->rate_limit_retries < 0   ? 0
                         : opts->rate_limit_retries > 0 ? opts->rate_limit_retries
                                                        : 10;
        pthread_mutex_init(&c->bucket_lock, NULL);
        if (!opts->separate_connections && !(c->mux = ap_kube_mux_new())) {
                ap_kube_client_free(c);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        c->limit_unless_apf = opts->limit_unless_apf;
        for (int i = 0; i < AP_KUBE_N_LIMITS; i++)
                ap_token_bucket_init(&c->buckets[i], opts->qps, opts->burst, ap_mono_ns());
        if (opts->user_agent)
                c->user_agent = strdup(opts->user_agent);
        else if (asprintf(&c->user_agent, "app-platform/%s", AP_VERSION) < 0)
                c->user_agent = NULL;
        if (!c->cfg || !c->user_agent) {
                ap_kube_client_free(c);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        int r1 = setup_server_name(c, err);
        if (r1 < 0) {
                ap_kube_client_free(c);
                return r1;
        }
        if (c->cfg->token && !(c->token = strdup(c->cfg->token))) {
                ap_kube_client_free(c);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = c;
        return 0;
}

struct ap_kube_client *ap_kube_client_free(struct ap_kube_client *c)
{
        if (!c)
                return NULL;
        ap_kube_mux_free(c->mux); /* every transfer has ended: the caller stopped what watches */
        for (size_t i = 0; i < c->n_pool; i++)
                curl_easy_cleanup(c->pool[i]);
        ap_kube_config_free(c->cfg);
        free(c->sni_authority);
        curl_slist_free_all(c->connect_to);
        ap_secure_free_str(c->token);
        free(c->user_agent);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->bucket_lock);
        free(c);
        return NULL;
}

const char *ap_kube_client_server(const struct ap_kube_client *c)
{
        return c->cfg->server;
}

void ap_kube_client_get_stats(struct ap_kube_client *c, struct ap_kube_client_stats *ret)
{
        ret->requests = atomic_load(&c->n_requests);
        ret->http2 = atomic_load(&c->n_http2);
        ret->new_connections = atomic_load(&c->n_connects);
        ret->throttled = atomic_load(&c->n_throttled);
        ret->retries = atomic_load(&c->n_retries);
}

size_t ap_kube_client_max_body(const struct ap_kube_client *c)
{
        return c->max_body;
}

const char *ap_kube_client_namespace(const struct ap_kube_client *c)
{
        return c->cfg->namespace;
}

/* Re-read the token file when it changed or force is set (after a 401). Called with the lock held. */
static int refresh_token_locked(struct ap_kube_client *c, bool force, struct ap_error *err)
{
        if (!c->cfg->token_file)
                return 0;
        time_t now = time(NULL);
        struct stat st;
        bool changed = stat(c->cfg->token_file, &st) == 0 && (st.st_mtim.tv_sec != c->token_mtime.tv_sec ||
                                                              st.st_mtim.tv_nsec != c->token_mtime.tv_nsec);
        if (c->token && !force && !changed && now - c->token_read_at < TOKEN_REREAD_SECS)
                return 0;
        _cleanup_buf_ struct ap_buf t = AP_BUF_INIT_SECRET;
        t.max = TOKEN_MAX;
        int r = ap_read_file(c->cfg->token_file, &t, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot read the bearer token");
        while (t.len > 0 &&
               (t.data[t.len - 1] == '\n' || t.data[t.len - 1] == '\r' || t.data[t.len - 1] == ' '))
                ap_buf_truncate(&t, t.len - 1);
        if (t.len == 0)
                return ap_error_set(err, -EINVAL, "the token file '%s' is empty", c->cfg->token_file);
        ap_secure_free_str(c->token);
        c->token = ap_buf_detach(&t, NULL);
        c->token_read_at = now;
        if (changed)
                c->token_mtime = st.st_mtim;
        return 0;
}

static CURL *handle_get(struct ap_kube_client *c)
{
        CURL *h = NULL;
        pthread_mutex_lock(&c->lock);
        if (c->n_pool > 0)
                h = c->pool[--c->n_pool];
        pthread_mutex_unlock(&c->lock);
        if (h) {
                curl_easy_reset(h); /* keeps live connections, the DNS cache and TLS sessions */
                return h;
        }
        return curl_easy_init();
}

static void handle_put(struct ap_kube_client *c, CURL *h)
{
        pthread_mutex_lock(&c->lock);
        if (c->n_pool < POOL_MAX) {
                c->pool[c->n_pool++] = h;
                h = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        if (h)
                curl_easy_cleanup(h);
}

struct transfer {
        CURL *h;
        const struct ap_kube_http *req;
        struct ap_buf *body;               /* non-2xx bodies, and 2xx bodies when there is no on_data */
        struct ap_http_response_info info; /* Retry-After and the like */
        bool flow_control;                 /* X-Kubernetes-PF-FlowSchema-UID: the server runs APF */
        int cb_error;                      /* first negative code from on_data or the body buffer */
        bool code_known;
        bool success;
};

/* Body bytes of the answer whose status is code: to the caller's stream handler (2xx with on_data) or
 * into the body buffer. Runs on the requesting thread (also for multiplexed transfers). */
static int deliver(void *ud, long code, const char *p, size_t n)
{
        struct transfer *t = ud;
        if (!t->code_known) {
                t->success = code >= 200 && code < 300;
                t->code_known = true;
        }
        int r = t->success && t->req->on_data ? t->req->on_data(t->req->userdata, p, n)
                                              : ap_buf_add(t->body, p, n);
        if (r < 0)
                t->cb_error = r;
        return r;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
        struct transfer *t = ud;
        size_t n = size * nmemb;
        long code = 0;
        if (!t->code_known)
                curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
        return deliver(t, code, p, n) < 0 ? CURL_WRITEFUNC_ERROR : n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
        struct transfer *t = ud;
        size_t n = size * nmemb;
        static const char apf[] = "x-kubernetes-pf-flowschema-uid:";
        if (n >= sizeof(apf) - 1 && strncasecmp(p, apf, sizeof(apf) - 1) == 0)
                t->flow_control = true;
        ap_http_parse_header(p, n, &t->info);
        return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        const struct transfer *t = ud;
        return t->req->cancel && atomic_load(t->req->cancel) ? 1 : 0;
}

static bool header_value_ok(const char *s)
{
        for (; *s; s++)
                if (*s == '\r' || *s == '\n' || (unsigned char)*s < 0x20)
                        return false;
        return true;
}

static int add_header(struct curl_slist **list, const char *name, const char *value, struct ap_error *err)
{
        if (!header_value_ok(value))
                return ap_error_set(err, -EINVAL, "header value '%s' contains control characters", value);
        char *line = NULL;
        /* "Name:" with no value tells libcurl not to send a header it would add by itself */
        if (asprintf(&line, "%s:%s%s", name, value[0] ? " " : "", value) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct curl_slist *n = curl_slist_append(*list, line);
        free(line);
        if (!n)
                return ap_error_set(err, -ENOMEM, "out of memory");
        *list = n;
        return 0;
}

static int build_headers(const struct ap_kube_http *req, struct curl_slist **ret, struct ap_error *err)
{
        struct curl_slist *list = NULL;
        int r = add_header(&list, "Accept", "application/json", err);
        if (r >= 0 && req->body)
                r = add_header(&list, "Content-Type",
                               req->content_type ? req->content_type : "application/json", err);
        if (r >= 0)
                r = add_header(&list, "Expect", "", err);
        const struct ap_kube_opts *o = req->opts;
        if (r >= 0 && o && o->impersonate_user)
                r = add_header(&list, "Impersonate-User", o->impersonate_user, err);
        for (size_t i = 0; r >= 0 && o && i < o->n_impersonate_groups; i++)
                r = add_header(&list, "Impersonate-Group", o->impersonate_groups[i], err);
        if (r < 0) {
                curl_slist_free_all(list);
                return r;
        }
        *ret = list;
        return 0;
}

static void set_tls(struct ap_kube_client *c, CURL *h)
{
        const struct ap_kube_config *cfg = c->cfg;
        if (cfg->ca_pem.len) {
                /* the cluster CA and nothing else, as client-go does: the blob replaces the default bundle
                 * file, but libcurl would still hand OpenSSL its default CA directory (/etc/ssl/certs),
                 * which it consults for any issuer not in the blob, so a server certificate from any
                 * system CA would pass; it would also cost file lookups */
                struct curl_blob ca = {cfg->ca_pem.data, cfg->ca_pem.len, CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
                curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
                curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        }
        if (cfg->cert_pem.len && cfg->key_pem.len) {
                struct curl_blob cert = {cfg->cert_pem.data, cfg->cert_pem.len, CURL_BLOB_NOCOPY};
                struct curl_blob key = {cfg->key_pem.data, cfg->key_pem.len, CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
                curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
                curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
                curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        }
        if (cfg->insecure) {
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
}

static int perform(struct ap_kube_client *c, const struct ap_kube_http *req, long timeout_ms, long *ret_code,
                   struct ap_buf *collect, struct ap_kube_status *st, bool *ret_unauthorized,
                   struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf errbody = AP_BUF_INIT_SECRET; /* a Status may quote what was sent */
        errbody.max = (size_t)1 << 20;
        struct ap_buf *body = req->on_data ? &errbody : collect;
        size_t body_start = body->len;
        char *token = NULL;
        pthread_mutex_lock(&c->lock);
        int r = refresh_token_locked(c, *ret_unauthorized, err);
        if (r >= 0 && c->token && !(token = strdup(c->token)))
                r = ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        *ret_unauthorized = false;

        struct curl_slist *headers = NULL;
        r = build_headers(req, &headers, err);
        if (r < 0) {
                ap_secure_free_str(token);
                return r;
        }
        CURL *h = handle_get(c);
        if (!h) {
                curl_slist_free_all(headers);
                ap_secure_free_str(token);
                return ap_error_set(err, -ENOMEM, "cannot create a libcurl handle");
        }
        char errbuf[CURL_ERROR_SIZE] = "";
        struct transfer t = {.h = h, .req = req, .body = body};
        ap_http_response_info_init(&t.info);
        _cleanup_free_ char *sni_url = NULL;
        if (c->sni_authority && strncmp(req->url, c->cfg->server, c->authority_len) == 0 &&
            asprintf(&sni_url, "%s%s", c->sni_authority, req->url + c->authority_len) < 0)
                sni_url = NULL;
        if (c->sni_authority && !sni_url) {
                curl_easy_cleanup(h);
                curl_slist_free_all(headers);
                ap_secure_free_str(token);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        curl_easy_setopt(h, CURLOPT_URL, sni_url ? sni_url : req->url);
        if (sni_url)
                curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
        struct ap_http_options ho = {.user_agent = c->user_agent,
                                     .connect_timeout_ms = c->connect_timeout_ms,
                                     .timeout_ms = timeout_ms > 0 ? timeout_ms : 0,
                                     .http1_only = c->http1_only};
        ap_http_setup_handle(h, &ho);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
        if (req->cancel) {
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        }
        if (req->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        set_tls(c, h);
        if (token) {
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
                curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token);
        }
        /* every request runs on the multiplexer, as a stream of one HTTP/2 connection */
        bool muxed = c->mux != NULL;
        if (muxed)
                curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L); /* wait for a connection to multiplex on */
        CURLcode cc = muxed ? ap_kube_mux_perform(c->mux, h, req->cancel, deliver, &t) : curl_easy_perform(h);
        long code = 0, version = 0, connects = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (t.flow_control && c->limit_unless_apf && !atomic_exchange(&c->apf_seen, true))
                ap_info("the apiserver runs API Priority and Fairness: it queues our requests fairly, the "
                        "client-side rate limit (%.0f/s, burst %.0f) is lifted",
                        c->buckets[AP_KUBE_LIMIT_DEFAULT].qps, c->buckets[AP_KUBE_LIMIT_DEFAULT].burst);
        curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        if (code > 0) {
                atomic_fetch_add(&c->n_requests, 1);
                if (version == CURL_HTTP_VERSION_2_0)
                        atomic_fetch_add(&c->n_http2, 1);
        }
        atomic_fetch_add(&c->n_connects, (unsigned long)connects);
        /* the pool must not keep pointers to this request's data */
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, NULL);
        curl_slist_free_all(headers);
        ap_secure_free_str(token);
        if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && t.cb_error < 0)) {
                if (cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR ||
                    cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_HTTP2 ||
                    cc == CURLE_HTTP2_STREAM || cc == CURLE_PARTIAL_FILE)
                        curl_easy_cleanup(h); /* don't pool a handle whose connection may be broken */
                else
                        handle_put(c, h);
                ap_buf_truncate(body, body_start);
                return ap_http_curl_error(cc, errbuf, req->method, req->url, err);
        }
        handle_put(c, h);
        if (t.cb_error < 0) {
                if (t.cb_error == -E2BIG && !(t.success && req->on_data))
                        return ap_error_set(err, AP_E_TOO_LARGE,
                                            "%s %s: the response is larger than %zu bytes", req->method,
                                            req->url, body->max);
                if (err && err->code == 0)
                        ap_error_set(err, t.cb_error, "%s %s: stream handler failed", req->method, req->url);
                return t.cb_error;
        }
        *ret_code = code;
        if (code >= 200 && code < 300)
                return 0;
        struct ap_kube_status local = AP_KUBE_STATUS_INIT;
        struct ap_kube_status *s = st ? st : &local;
        ap_kube_status_parse(code, body->data + body_start, body->len - body_start,
                             t.info.retry_after_ms / 1000, s);
        ap_buf_truncate(body, body_start);
        if (code == 401 && c->cfg->token_file)
                *ret_unauthorized = true;
        r = ap_kube_status_error(s, err, "%s %s", req->method, req->url);
        ap_kube_status_release(&local);
        return r;
}

/* Take a token from the request's bucket (ap_kube_opts.rate_limit), waiting for one (in slices, so the cancel
 * flag is seen) until the deadline at most. 0, AP_E_RATE_LIMITED when the wait would pass the deadline
 * (the token is not taken; err->retry_after_ms says how long it would have been), or AP_E_CANCELLED. */
static int take_token(struct ap_kube_client *c, const struct ap_kube_http *req, int64_t deadline,
                      struct ap_error *err)
{
        enum ap_kube_limit which = req->opts ? req->opts->rate_limit : AP_KUBE_LIMIT_DEFAULT;
        struct ap_token_bucket *b =
            &c->buckets[(unsigned)which < AP_KUBE_N_LIMITS ? which : AP_KUBE_LIMIT_DEFAULT];
        if (b->qps <= 0 || atomic_load(&c->apf_seen))
                return 0;
        pthread_mutex_lock(&c->bucket_lock);
        int64_t wait_ms = ap_token_bucket_wait_ms(b, ap_mono_ns());
        bool fits = deadline == AP_DEADLINE_NONE || ap_mono_ms() + wait_ms <= deadline;
        if (fits)
                ap_token_bucket_take(b); /* reserved: later callers wait behind us */
        double qps = b->qps;
        pthread_mutex_unlock(&c->bucket_lock);
        if (!fits) {
                ap_error_set(err, AP_E_RATE_LIMITED,
                             "%s %s: the client's rate limit (%.1f requests/s) allows no request before the "
                             "timeout",
                             req->method, req->url, qps);
                ap_error_set_retry_after(err, (long)wait_ms);
                return AP_E_RATE_LIMITED;
        }
        if (wait_ms <= 0)
                return 0;
        atomic_fetch_add(&c->n_throttled, 1);
        int64_t until = ap_mono_ms() + wait_ms;
        for (;;) {
                if (req->cancel && atomic_load(req->cancel))
                        return ap_error_set(err, AP_E_CANCELLED, "%s %s: cancelled", req->method, req->url);
                int64_t left = until - ap_mono_ms();
                if (left <= 0)
                        return 0;
                ap_sleep_ms(AP_MIN(left, 50));
        }
}

/* Sleep ms (at most), checking the cancel flag; false when cancelled. */
static bool pause_cancellable(const struct ap_kube_http *req, long ms)
{
        int64_t until = ap_mono_ms() + ms;
        for (;;) {
                if (req->cancel && atomic_load(req->cancel))
                        return false;
                int64_t left = until - ap_mono_ms();
                if (left <= 0)
                        return true;
                ap_sleep_ms(AP_MIN(left, 50));
        }
}

int ap_kube_client_do(struct ap_kube_client *c, const struct ap_kube_http *h, long *ret_code,
                      struct ap_buf *resp, struct ap_kube_status *st, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf scratch = AP_BUF_INIT_SECRET;
        if (!resp) {
                scratch.max = c->max_body;
                resp = &scratch;
        }
        struct ap_error local_err = AP_ERROR_INIT;
        if (!err)
                err = &local_err; /* the retry decision reads the wait hint */
        long tmo = h->no_timeout                        ? -1
                   : h->opts && h->opts->timeout_ms > 0 ? h->opts->timeout_ms
                                                        : c->request_timeout_ms;
        int64_t deadline = ap_deadline_after_ms(tmo);
        /* watches are long-lived: they do not count against the request rate (as in client-go) */
        bool limited = !(h->opts && h->opts->watch) && !h->no_timeout;
        bool unauthorized = false;
        long code = 0;
        int r;
        for (int attempt = 0;; attempt++) {
                if (limited && (r = take_token(c, h, deadline, err)) < 0)
                        return r;
                long left = tmo < 0 ? -1 : (long)ap_deadline_left_ms(deadline);
                if (tmo >= 0 && left <= 0)
                        return ap_error_set(err, AP_E_TIMEOUT, "%s %s: no answer in time", h->method, h->url);
                if (st)
                        ap_kube_status_release(st);
                r = perform(c, h, left, &code, resp, st, &unauthorized, err);
                if (r < 0 && unauthorized) {
                        /* the token may have rotated under us: read it again and retry once */
                        ap_error_clear(err);
                        if (st)
                                ap_kube_status_release(st);
                        left = tmo < 0 ? -1 : (long)ap_deadline_left_ms(deadline);
                        r = perform(c, h, left > 0 || tmo < 0 ? left : 1, &code, resp, st, &unauthorized,
                                    err);
                }
                if (r >= 0)
                        break;
                /* the server asked us to come back later: do, a bounded number of times, while the
                 * request's own timeout allows */
                bool told = (r == AP_E_RATE_LIMITED && code == 429) ||
                            (r == AP_E_UNAVAILABLE && code == 503 && err->retry_after_ms > 0);
                if (!told || attempt >= c->max_retries)
                        return r;
                long wait = err->retry_after_ms > 0 ? err->retry_after_ms : 1000;
                wait = AP_MIN(wait, RETRY_WAIT_MAX_MS);
                if (tmo >= 0 && ap_mono_ms() + wait >= deadline)
                        return r; /* no time left to wait: the caller gets the error and its hint */
                atomic_fetch_add(&c->n_retries, 1);
                if (!pause_cancellable(h, wait))
                        return ap_error_set(err, AP_E_CANCELLED, "%s %s: cancelled", h->method, h->url);
                ap_error_clear(err);
        }
        *ret_code = code;
        if (!h->no_timeout)
                ap_debug("kube: %s %s: %ld", h->method, h->url, code);
        return 0;
}
