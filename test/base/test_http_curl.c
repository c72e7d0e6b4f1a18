/* test_http_curl.c - the libcurl wrapper against a local libmicrohttpd server: a request with a body, the
 * captured headers (Retry-After, x-ratelimit-*), the body cap, HTTP status and CURLcode mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/http_curl.h"

struct upload {
        char data[256];
        size_t len;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **ctx)
{
        if (!*ctx) {
                *ctx = calloc(1, sizeof(struct upload));
                return MHD_YES;
        }
        struct upload *u = *ctx;
        if (*upload_size) {
                size_t n = AP_MIN(*upload_size, sizeof(u->data) - 1 - u->len);
                memcpy(u->data + u->len, upload, n);
                u->len += n;
                *upload_size = 0;
                return MHD_YES;
        }
        char body[512];
        snprintf(body, sizeof(body), "{\"method\":\"%s\",\"got\":\"%s\"}", method, u->data);
        unsigned code = 200;
        if (strcmp(url, "/limited") == 0)
                code = 403;
        else if (strcmp(url, "/big") == 0)
                memset(body, 'x', sizeof(body) - 1), body[sizeof(body) - 1] = '\0';
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        if (code == 403) {
                MHD_add_response_header(r, "X-RateLimit-Remaining", "0");
                MHD_add_response_header(r, "X-RateLimit-Reset", "1767225600");
                MHD_add_response_header(r, "Retry-After", "7");
        }
        enum MHD_Result ret = MHD_queue_response(conn, code, r);
        MHD_destroy_response(r);
        free(u);
        *ctx = NULL;
        return ret;
}

static void test_perform(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_http_global_init(&err), 0);
        struct MHD_Daemon *d =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, NULL, MHD_OPTION_END);
        assert_non_null(d);
        int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
        CURL *h = curl_easy_init();
        struct ap_http_options o = {.user_agent = "test/1", .timeout_ms = 5000};
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        struct ap_http_request req = {
            .method = "POST", .url = url, .headers = hdrs, .body = "{\"a\":1}", .body_len = 7};
        struct ap_buf b = AP_BUF_INIT_SECRET;
        struct ap_http_response_info info;
        assert_int_equal(ap_http_perform(h, &o, &req, &b, &info, &err), 0);
        assert_int_equal(info.status, 200);
        assert_string_equal(b.data, "{\"method\":\"POST\",\"got\":\"{\"a\":1}\"}"); /* echoed as is */
        assert_int_equal(info.ratelimit_remaining, -1);
        assert_int_equal(info.retry_after_ms, 0);
        /* a rate-limit answer: the status is the caller's to judge, the headers are captured */
        ap_buf_release(&b);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/limited", port);
        struct ap_http_request get = {.method = "GET", .url = url};
        assert_int_equal(ap_http_perform(h, &o, &get, &b, &info, &err), 0);
        assert_int_equal(info.status, 403);
        assert_int_equal(ap_http_status_code(info.status), AP_E_FORBIDDEN);
        assert_int_equal(info.ratelimit_remaining, 0);
        assert_int_equal(info.ratelimit_reset, 1767225600LL);
        assert_int_equal(info.retry_after_ms, 7000);
        /* the cap */
        ap_buf_release(&b);
        b.max = 100;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
        assert_int_equal(ap_http_perform(h, &o, &get, &b, &info, &err), AP_E_TOO_LARGE);
        assert_non_null(strstr(err.msg, "larger than 100 bytes"));
        assert_int_equal(b.len, 0);
        ap_buf_release(&b);
        MHD_stop_daemon(d);
        /* nobody there any more */
        assert_int_equal(ap_http_perform(h, &o, &get, &b, &info, &err), AP_E_UNAVAILABLE);
        assert_non_null(strstr(err.msg, "cannot connect"));
        assert_non_null(strstr(err.msg, url));
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
}

static void test_mappings(void **state)
{
        assert_int_equal(ap_http_status_code(200), 0);
        assert_int_equal(ap_http_status_code(304), 0);
        assert_int_equal(ap_http_status_code(400), AP_E_INVALID);
        assert_int_equal(ap_http_status_code(401), AP_E_UNAUTHORIZED);
        assert_int_equal(ap_http_status_code(404), AP_E_NOT_FOUND);
        assert_int_equal(ap_http_status_code(409), AP_E_CONFLICT);
        assert_int_equal(ap_http_status_code(413), AP_E_TOO_LARGE);
        assert_int_equal(ap_http_status_code(418), AP_E_INVALID);
        assert_int_equal(ap_http_status_code(429), AP_E_RATE_LIMITED);
        assert_int_equal(ap_http_status_code(502), AP_E_UNAVAILABLE);
        assert_int_equal(ap_http_curl_code(CURLE_OK), 0);
        assert_int_equal(ap_http_curl_code(CURLE_COULDNT_RESOLVE_HOST), AP_E_UNAVAILABLE);
        assert_int_equal(ap_http_curl_code(CURLE_SSL_CONNECT_ERROR), AP_E_UNAVAILABLE);
        assert_int_equal(ap_http_curl_code(CURLE_RECV_ERROR), AP_E_UNAVAILABLE);
        assert_int_equal(ap_http_curl_code(CURLE_OPERATION_TIMEDOUT), AP_E_TIMEOUT);
        assert_int_equal(ap_http_curl_code(CURLE_ABORTED_BY_CALLBACK), AP_E_CANCELLED);
        assert_int_equal(ap_http_curl_code(CURLE_PEER_FAILED_VERIFICATION), AP_E_CORRUPT);
        assert_false(ap_error_retryable(ap_http_curl_code(CURLE_PEER_FAILED_VERIFICATION)));
        assert_int_equal(ap_http_curl_code(CURLE_SSL_CERTPROBLEM), AP_E_INVALID);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_http_curl_error(CURLE_COULDNT_RESOLVE_HOST,
                                            "Could not resolve host: nope.invalid", "GET",
                                            "https://nope.invalid/", &err),
                         AP_E_UNAVAILABLE);
        assert_string_equal(err.msg,
                            "GET https://nope.invalid/: cannot resolve the host name: Could not resolve "
                            "host: nope.invalid");
        struct ap_http_response_info info;
        ap_http_response_info_init(&info);
        ap_http_parse_header("retry-after: 12\r\n", 17, &info);
        assert_int_equal(info.retry_after_ms, 12000);
        ap_http_parse_header("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 44, &info);
        assert_int_equal(info.retry_after_ms, 12000); /* dates ignored */
        ap_http_parse_header("x-ratelimit-remaining: -3\r\n", 27, &info);
        assert_int_equal(info.ratelimit_remaining, -1);
        ap_http_parse_header("X-RateLimit-Remaining:4999\r\n", 28, &info);
        assert_int_equal(info.ratelimit_remaining, 4999);
        ap_http_parse_header("Content-Type: x\r\n", 17, &info);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_perform),
            cmocka_unit_test(test_mappings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
