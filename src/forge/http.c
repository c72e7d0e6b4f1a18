/* http.c - the forge's HTTP client on the shared libcurl wrapper (base/http_curl.h): one easy handle
 * (connections are reused between calls), JSON bodies, a capped response buffer, TLS verified against
 * the system store, transfer failures and the waiting headers (Retry-After, x-ratelimit-*) read the same
 * way as the kube client reads them. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/http_curl.h"
#include "forge/forge_internal.h"

struct ap_forge_http {
        CURL *curl;
        struct ap_http_options opts;
        char *user_agent;
};

struct ap_forge_http *ap_forge_http_new(const char *user_agent, long timeout_ms)
{
        if (ap_http_global_init(NULL) < 0)
                return NULL;
        struct ap_forge_http *h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        h->curl = curl_easy_init();
        h->user_agent = strdup(user_agent);
        if (!h->curl || !h->user_agent)
                return ap_forge_http_free(h);
        h->opts = (struct ap_http_options){
            .user_agent = h->user_agent,
            .connect_timeout_ms = timeout_ms < 10000 ? timeout_ms : 10000,
            .timeout_ms = timeout_ms,
        };
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

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
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
        struct ap_http_request req = {
            .method = method, .url = url, .headers = hdrs, .body = body, .body_len = body ? strlen(body) : 0};
        struct ap_http_response_info info;
        int r = ap_http_perform(h->curl, &h->opts, &req, out, &info, err);
        if (r < 0)
                return r;
        if (ret_meta) {
                ap_forge_http_meta_init(ret_meta);
                if (info.retry_after_ms > 0)
                        ret_meta->retry_after_s = info.retry_after_ms / 1000;
                ret_meta->ratelimit_remaining = info.ratelimit_remaining;
                ret_meta->ratelimit_reset = info.ratelimit_reset > 0 ? info.ratelimit_reset : 0;
        }
        *ret_status = info.status;
        return 0;
}
