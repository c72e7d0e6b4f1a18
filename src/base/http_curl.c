/* http_curl.c - libcurl initialisation, common handle options, body and header collection, and the
 * mapping of transfer failures and HTTP statuses onto the shared codes. */
#include "http_curl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
        init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ap_http_global_init(struct ap_error *err)
{
        pthread_once(&init_once, global_init);
        if (init_rc != CURLE_OK)
                return ap_error_set(err, AP_E_UNAVAILABLE, "cannot initialise libcurl: %s",
                                    curl_easy_strerror(init_rc));
        return 0;
}

int ap_http_curl_code(CURLcode cc)
{
        switch (cc) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return AP_E_TIMEOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return AP_E_CANCELLED;
        case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
        case CURLE_SSL_CACERT:
#endif
                return AP_E_CORRUPT;
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return AP_E_INVALID;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_FILESIZE_EXCEEDED:
                return AP_E_TOO_LARGE;
        default:
                return AP_E_UNAVAILABLE;
        }
}

static const char *cause(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return "cannot resolve the host name";
        case CURLE_COULDNT_CONNECT:
                return "cannot connect";
        case CURLE_OPERATION_TIMEDOUT:
                return "no answer in time";
        case CURLE_SSL_CONNECT_ERROR:
                return "the TLS handshake failed";
        case CURLE_PEER_FAILED_VERIFICATION:
                return "the server's certificate does not verify against the trusted CA";
        case CURLE_SSL_CERTPROBLEM:
                return "the client certificate or key cannot be used";
        case CURLE_SSL_CACERT_BADFILE:
                return "the CA bundle cannot be read";
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return "the connection failed";
        case CURLE_GOT_NOTHING:
                return "the server closed the connection without answering";
        case CURLE_PARTIAL_FILE:
                return "the answer was cut short";
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return "HTTP/2 framing failed";
        case CURLE_ABORTED_BY_CALLBACK:
                return "cancelled";
        default:
                return NULL;
        }
}

int ap_http_curl_error(CURLcode cc, const char *errbuf, const char *method, const char *url,
                       struct ap_error *err)
{
        int code = ap_http_curl_code(cc);
        if (code == 0)
                return 0;
        const char *why = cause(cc);
        const char *detail = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc);
        if (cc == CURLE_ABORTED_BY_CALLBACK)
                return ap_error_set(err, code, "%s %s: cancelled", method, url);
        if (why)
                return ap_error_set(err, code, "%s %s: %s: %s", method, url, why, detail);
        return ap_error_set(err, code, "%s %s: %s", method, url, detail);
}

int ap_http_status_code(long status)
{
        if (status < 400)
                return 0;
        switch (status) {
        case 400:
        case 422:
                return AP_E_INVALID;
        case 401:
                return AP_E_UNAUTHORIZED;
        case 403:
                return AP_E_FORBIDDEN;
        case 404:
        case 410:
                return AP_E_NOT_FOUND;
        case 409:
                return AP_E_CONFLICT;
        case 413:
                return AP_E_TOO_LARGE;
        case 429:
                return AP_E_RATE_LIMITED;
        default:
                return status >= 500 ? AP_E_UNAVAILABLE : AP_E_INVALID;
        }
}

void ap_http_response_info_init(struct ap_http_response_info *info)
{
        *info = (struct ap_http_response_info){0, 0, -1, -1};
}

/* The value of header `name` (lowercase, with the colon) in line, trimmed, into buf; false if the line is
 * another header or the value does not fit. */
static bool header_value(const char *line, size_t n, const char *name, char *buf, size_t size)
{
        size_t k = strlen(name);
        if (n <= k || strncasecmp(line, name, k) != 0)
                return false;
        const char *v = line + k, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if ((size_t)(end - v) >= size)
                return false;
        memcpy(buf, v, (size_t)(end - v));
        buf[end - v] = '\0';
        return true;
}

/* A non-negative decimal, or -1. */
static long long parse_count(const char *s)
{
        char *end;
        if (!*s || *s == '-' || *s == '+')
                return -1;
        long long v = strtoll(s, &end, 10);
        return *end || v < 0 ? -1 : v;
}

void ap_http_parse_header(const char *line, size_t n, struct ap_http_response_info *info)
{
        char v[64];
        if (header_value(line, n, "retry-after:", v, sizeof(v))) {
                long long s = parse_count(v);
                if (s > 0 && s < 86400)
                        info->retry_after_ms = (long)s * 1000;
        } else if (header_value(line, n, "x-ratelimit-remaining:", v, sizeof(v))) {
                long long r = parse_count(v);
                info->ratelimit_remaining = r >= 0 && r < 1000000000 ? (long)r : -1;
        } else if (header_value(line, n, "x-ratelimit-reset:", v, sizeof(v))) {
                info->ratelimit_reset = parse_count(v);
        }
}

void ap_http_setup_handle(CURL *h, const struct ap_http_options *o)
{
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         o->http1_only ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
        if (o->timeout_ms > 0)
                curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
}

struct collect {
        struct ap_buf *body;
        struct ap_http_response_info *info;
        int error;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
        struct collect *c = ud;
        int r = ap_buf_add(c->body, p, size * nmemb);
        if (r < 0) {
                c->error = r;
                return CURL_WRITEFUNC_ERROR;
        }
        return size * nmemb;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
        struct collect *c = ud;
        ap_http_parse_header(p, size * nmemb, c->info);
        return size * nmemb;
}

int ap_http_perform(CURL *h, const struct ap_http_options *o, const struct ap_http_request *req,
                    struct ap_buf *resp, struct ap_http_response_info *ret_info, struct ap_error *err)
{
        struct ap_http_response_info info;
        ap_http_response_info_init(&info);
        struct collect c = {.body = resp, .info = &info};
        char errbuf[CURL_ERROR_SIZE] = "";
        size_t start = resp->len;
        curl_easy_reset(h); /* keeps live connections, the DNS cache and TLS sessions */
        ap_http_setup_handle(h, o);
        curl_easy_setopt(h, CURLOPT_URL, req->url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
        if (req->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        } else if (strcmp(req->method, "GET") == 0) {
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        CURLcode cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &info.status);
        /* the handle must not keep pointers to this call's data */
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        if (cc == CURLE_WRITE_ERROR && c.error < 0) {
                ap_buf_truncate(resp, start);
                if (c.error == -E2BIG)
                        return ap_error_set(err, AP_E_TOO_LARGE,
                                            "%s %s: the response is larger than %zu bytes", req->method,
                                            req->url, resp->max);
                return ap_error_set(err, c.error, "%s %s: out of memory", req->method, req->url);
        }
        if (cc != CURLE_OK) {
                ap_buf_truncate(resp, start);
                return ap_http_curl_error(cc, errbuf, req->method, req->url, err);
        }
        if (ret_info)
                *ret_info = info;
        return 0;
}
