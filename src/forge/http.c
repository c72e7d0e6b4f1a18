/* http.c - the forge's HTTP client: one libcurl easy handle (connections are reused between calls),
 * JSON bodies, a capped response buffer, TLS verified against the system store, and the headers that say
 * how long to wait (read_meta). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge/forge_internal.h"

struct ap_forge_http {
        CURL *curl;
        char *user_agent;
        long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct ap_forge_http *ap_forge_http_new(const char *user_agent, long timeout_ms)
{
        pthread_once(&curl_once, curl_init);
        struct ap_forge_http *h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        h->curl = curl_easy_init();
        h->user_agent = strdup(user_agent);
        h->timeout_ms = timeout_ms;
        if (!h->curl || !h->user_agent)
                return ap_forge_http_free(h);
        return h;
}

struct ap_forge_http *ap_forge_http_free(struct ap_forge_http *h)
{
        if (!h)
                return NULL;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        free(h->user_agent);
        free(h);
        return NULL;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
        struct ap_buf *out = userdata;
        return ap_buf_add(out, p, size * n) < 0 ? 0 : size * n;
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

/* A numeric header of the last answer, or fallback when absent or not a number. */
static long long header_number(CURL *c, const char *name, long long fallback)
{
        struct curl_header *h = NULL;
        if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
                return fallback;
        char *end = NULL;
        long long v = strtoll(h->value, &end, 10);
        return end != h->value && v >= 0 ? v : fallback;
}

/* Retry-After (libcurl parses seconds and HTTP dates) and GitHub's x-ratelimit-remaining/-reset of the
 * last answer. */
static void read_meta(CURL *c, struct ap_forge_http_meta *m)
{
        ap_forge_http_meta_init(m);
        struct curl_header *h = NULL;
        curl_off_t after = 0;
        if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
            curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after >= 0)
                m->retry_after_s = (long long)after;
        m->ratelimit_remaining = header_number(c, "x-ratelimit-remaining", -1);
        m->ratelimit_reset = header_number(c, "x-ratelimit-reset", 0);
}

int ap_forge_http_request(struct ap_forge_http *h, const char *method, const char *url, const char *body,
                          const char *const *headers, long *ret_status, struct ap_forge_http_meta *ret_meta,
                          struct ap_buf *out, struct ap_error *err)
{
        _cleanup_(slist_freep) struct curl_slist *hdrs = NULL;
        for (const char *const *p = headers; p && *p; p++) {
                struct curl_slist *n = curl_slist_append(hdrs, *p);
                if (!n)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                hdrs = n;
        }
        if (body) {
                struct curl_slist *n = curl_slist_append(hdrs, "Content-Type: application/json");
                if (!n)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                hdrs = n;
        }
        CURL *c = h->curl;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        } else if (strcmp(method, "GET") == 0) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_WRITE_ERROR)
                return ap_error_set(err, AP_E_TOO_LARGE, "%s %s: the response is larger than %zu bytes",
                                    method, url, out->max);
        if (rc != CURLE_OK) {
                int code = rc == CURLE_OPERATION_TIMEDOUT         ? AP_E_TIMEOUT
                           : rc == CURLE_PEER_FAILED_VERIFICATION ? -EKEYREJECTED
                           : rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                                   rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
                                   rc == CURLE_GOT_NOTHING || rc == CURLE_SSL_CONNECT_ERROR
                               ? AP_E_UNAVAILABLE
                               : -EIO;
                return ap_error_set(err, code, "%s %s: %s", method, url, curl_easy_strerror(rc));
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (ret_meta)
                read_meta(c, ret_meta);
        *ret_status = status;
        return 0;
}
