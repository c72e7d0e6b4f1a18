/* idp_http.c - libcurl calls to the identity provider (see idp_http.h). */
#include "idp_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "base/base64.h"
#include "http.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct ap_buf *b = ud;
        return ap_buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

static int basic_header(const char *user, const char *pass, struct ap_buf *out)
{
        _cleanup_(ap_buf_releasep) struct ap_buf cred = AP_BUF_INIT_SECRET;
        int r = ap_dash_url_escape(&cred, user);
        if (r == 0)
                r = ap_buf_addch(&cred, ':');
        if (r == 0)
                r = ap_dash_url_escape(&cred, pass);
        if (r == 0)
                r = ap_buf_addstr(out, "Authorization: Basic ");
        if (r == 0)
                r = ap_base64_encode(out, cred.data, cred.len, AP_B64_STD);
        return r;
}

int ap_dash_http_do(const struct ap_dash_http_call *c, long *ret_code, struct ap_buf *resp,
                    struct ap_error *err)
{
        pthread_once(&once, global_init);
        CURL *h = curl_easy_init();
        if (!h)
                return ap_error_set(err, -ENOMEM, "out of memory");
        _cleanup_(ap_buf_releasep) struct ap_buf auth = AP_BUF_INIT_SECRET;
        struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
        int r = 0;
        if (c->bearer)
                r = ap_buf_printf(&auth, "Authorization: Bearer %s", c->bearer);
        else if (c->basic_user)
                r = basic_header(c->basic_user, c->basic_pass ? c->basic_pass : "", &auth);
        if (r == 0 && auth.len)
                hdrs = curl_slist_append(hdrs, auth.data);
        size_t cap = resp->max;
        resp->max = AP_MIN(resp->max, (size_t)1 << 20);
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 5000L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "app-platform-dashboard");
        if (c->ca_file)
                curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        if (c->form) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->form);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->form));
        }
        CURLcode cc = r == 0 ? curl_easy_perform(h) : CURLE_OUT_OF_MEMORY;
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        resp->max = cap;
        if (cc == CURLE_OPERATION_TIMEDOUT)
                return ap_error_set(err, AP_E_TIMEOUT, "no answer from '%s' in time", c->url);
        if (cc == CURLE_WRITE_ERROR)
                return ap_error_set(err, AP_E_TOO_LARGE, "the answer from '%s' is over 1 MiB", c->url);
        if (cc != CURLE_OK)
                return ap_error_set(err, AP_E_UNAVAILABLE, "cannot reach '%s': %s", c->url,
                                    curl_easy_strerror(cc));
        *ret_code = code;
        return 0;
}
