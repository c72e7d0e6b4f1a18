/* test_status.c - metav1.Status parsing: reasons, codes, causes, Retry-After, non-JSON bodies, messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kube/status.h"
#include "kube/timefmt.h"

static void test_not_found(void **state)
{
        const char *body =
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"secrets \\\"x\\\" not found\",\"reason\":\"NotFound\","
            "\"details\":{\"name\":\"x\",\"kind\":\"secrets\"},\"code\":404}";
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        assert_int_equal(ap_kube_status_parse(404, body, strlen(body), 0, &st), AP_KUBE_E_NOT_FOUND);
        assert_int_equal(st.reason, AP_KUBE_REASON_NOT_FOUND);
        assert_int_equal(st.code, 404);
        assert_string_equal(st.message, "secrets \"x\" not found");
        assert_string_equal(st.details_name, "x");
        assert_string_equal(st.details_kind, "secrets");
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_status_error(&st, &err, "cannot get secret '%s'", "p/x"), -ENOENT);
        assert_string_equal(err.msg, "cannot get secret 'p/x': secrets \"x\" not found (404 NotFound)");
        ap_kube_status_release(&st);
}

static void test_invalid_causes(void **state)
{
        const char *body =
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"Thing.x "
            "\\\"Bad\\\" "
            "is invalid\",\"reason\":\"Invalid\",\"details\":{\"name\":\"Bad\",\"group\":\"labrats.work\","
            "\"kind\":\"Thing\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: "
            "\\\"Bad\\\": must be "
            "lowercase\",\"field\":\"metadata.name\"},{\"reason\":\"FieldValueRequired\","
            "\"message\":\"Required value\",\"field\":\"spec.access\"}]},\"code\":422}";
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        assert_int_equal(ap_kube_status_parse(422, body, strlen(body), 0, &st), AP_KUBE_E_INVALID);
        assert_int_equal(st.reason, AP_KUBE_REASON_INVALID);
        assert_int_equal(st.n_causes, 2);
        assert_string_equal(st.causes[0].type, "FieldValueInvalid");
        assert_string_equal(st.causes[0].field, "metadata.name");
        assert_string_equal(st.causes[1].field, "spec.access");
        assert_string_equal(st.details_group, "labrats.work");
        struct ap_error err = AP_ERROR_INIT;
        ap_kube_status_error(&st, &err, "creating 'Bad'");
        assert_non_null(strstr(err.msg, "(422 Invalid)"));
        assert_non_null(strstr(err.msg, "metadata.name: Invalid value: \"Bad\": must be lowercase"));
        assert_non_null(strstr(err.msg, "spec.access: Required value"));
        ap_kube_status_release(&st);
}

static void test_conflict_vs_exists(void **state)
{
        const char *c =
            "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409,\"message\":\"the object has "
            "been modified\"}";
        const char *e = "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}";
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        assert_int_equal(ap_kube_status_parse(409, c, strlen(c), 0, &st), AP_KUBE_E_CONFLICT);
        struct ap_error err = AP_ERROR_INIT;
        ap_kube_status_error(&st, &err, "updating");
        assert_non_null(strstr(err.msg, "read it again and retry"));
        assert_int_equal(ap_kube_status_parse(409, e, strlen(e), 0, &st), AP_KUBE_E_ALREADY_EXISTS);
        assert_int_equal(st.reason, AP_KUBE_REASON_ALREADY_EXISTS);
        ap_kube_status_release(&st);
}

static void test_gone_and_retry_after(void **state)
{
        const char *g = "{\"type\":\"ERROR\"}";
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        /* not a Status: the code decides */
        assert_int_equal(ap_kube_status_parse(410, g, strlen(g), 0, &st), AP_KUBE_E_GONE);
        const char *exp = "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410,\"message\":\"too old "
                          "resource version: 1 (5)\"}";
        assert_int_equal(ap_kube_status_parse(410, exp, strlen(exp), 0, &st), AP_KUBE_E_GONE);
        assert_int_equal(st.reason, AP_KUBE_REASON_EXPIRED);
        const char *tm = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,\"details\":"
                         "{\"retryAfterSeconds\":3}}";
        assert_int_equal(ap_kube_status_parse(429, tm, strlen(tm), 9, &st), AP_KUBE_E_TOO_MANY);
        assert_int_equal(st.retry_after_seconds, 3);
        assert_int_equal(ap_kube_status_parse(429, "", 0, 9, &st), AP_KUBE_E_TOO_MANY);
        assert_int_equal(st.retry_after_seconds, 9);
        ap_kube_status_release(&st);
}

/* Every reason lands on the shared vocabulary of base/error.h, with the peer's wait hint. */
static void test_shared_codes(void **state)
{
        static const struct {
                long http;
                const char *body;
                int code;
        } cases[] = {
            {400, "{\"kind\":\"Status\",\"reason\":\"BadRequest\",\"code\":400}", AP_E_INVALID},
            {400, NULL, AP_E_INVALID},
            {401, NULL, AP_E_UNAUTHORIZED},
            {403, NULL, AP_E_FORBIDDEN},
            {404, NULL, AP_E_NOT_FOUND},
            {405, NULL, AP_E_UNSUPPORTED},
            {409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409}", AP_E_CONFLICT},
            {409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}", AP_E_EXISTS},
            {410, NULL, -ESTALE},
            {413, NULL, AP_E_TOO_LARGE},
            {415, NULL, AP_E_UNSUPPORTED},
            {422, NULL, AP_E_INVALID},
            {429, NULL, AP_E_RATE_LIMITED},
            {500, NULL, AP_E_UNAVAILABLE},
            {500, "{\"kind\":\"Status\",\"reason\":\"ServerTimeout\",\"code\":500}", AP_E_UNAVAILABLE},
            {502, NULL, AP_E_UNAVAILABLE},
            {503, NULL, AP_E_UNAVAILABLE},
            {504, NULL, AP_E_UNAVAILABLE},
            {504, "{\"kind\":\"Status\",\"reason\":\"Timeout\",\"code\":504}", AP_E_UNAVAILABLE},
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(cases); i++) {
                struct ap_kube_status st = AP_KUBE_STATUS_INIT;
                const char *b = cases[i].body;
                int r = ap_kube_status_parse(cases[i].http, b, b ? strlen(b) : 0, 0, &st);
                if (r != cases[i].code)
                        fail_msg("HTTP %ld: got %d, want %d", cases[i].http, r, cases[i].code);
                struct ap_error err = AP_ERROR_INIT;
                assert_int_equal(ap_kube_status_error(&st, &err, "GET /x"), cases[i].code);
                assert_int_equal(err.code, cases[i].code);
                assert_int_equal(err.retry_after_ms, 0);
                ap_kube_status_release(&st);
        }
        assert_true(ap_error_retryable(AP_KUBE_E_CONFLICT));
        assert_false(ap_error_retryable(AP_KUBE_E_TLS_VERIFY));
        /* the wait hint reaches err for 429 (header or details) and for 5xx that send one */
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        const char *tm = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,\"details\":"
                         "{\"retryAfterSeconds\":3}}";
        ap_kube_status_parse(429, tm, strlen(tm), 0, &st);
        assert_int_equal(ap_kube_status_error(&st, &err, "GET /x"), AP_E_RATE_LIMITED);
        assert_int_equal(err.retry_after_ms, 3000);
        assert_string_equal(ap_error_code_name(err.code), "RateLimited");
        ap_kube_status_parse(503, NULL, 0, 7, &st);
        assert_int_equal(ap_kube_status_error(&st, &err, "GET /x"), AP_E_UNAVAILABLE);
        assert_int_equal(err.retry_after_ms, 7000);
        ap_kube_status_parse(409, NULL, 0, 7, &st);
        assert_int_equal(ap_kube_status_error(&st, &err, "GET /x"), AP_E_CONFLICT);
        assert_int_equal(err.retry_after_ms, 0);
        ap_kube_status_release(&st);
}

static void test_plain_bodies(void **state)
{
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        const char *p = "404 page not found\nmore";
        assert_int_equal(ap_kube_status_parse(404, p, strlen(p), 0, &st), AP_KUBE_E_NOT_FOUND);
        assert_string_equal(st.message, "404 page not found");
        assert_int_equal(ap_kube_status_parse(401, NULL, 0, 0, &st), AP_KUBE_E_UNAUTHORIZED);
        struct ap_error err = AP_ERROR_INIT;
        ap_kube_status_error(&st, &err, "GET /api");
        assert_string_equal(err.msg,
                            "GET /api: request failed (401 Unauthorized); check the credentials in the "
                            "kubeconfig or the service-account token");
        assert_int_equal(ap_kube_status_parse(403, "{}", 2, 0, &st), AP_KUBE_E_FORBIDDEN);
        assert_int_equal(ap_kube_status_parse(502, "x", 1, 0, &st), AP_KUBE_E_SERVER);
        assert_int_equal(ap_kube_status_parse(504, "x", 1, 0, &st), AP_KUBE_E_UNAVAILABLE);
        /* a reason the code contradicts: the reason wins */
        const char *f = "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"code\":403}";
        assert_int_equal(ap_kube_status_parse(500, f, strlen(f), 0, &st), AP_KUBE_E_FORBIDDEN);
        assert_int_equal(st.code, 403);
        ap_kube_status_release(&st);
        ap_kube_status_release(&st); /* idempotent */
}

static void test_reason_names(void **state)
{
        assert_int_equal(ap_kube_reason_from_string("Gone"), AP_KUBE_REASON_GONE);
        assert_int_equal(ap_kube_reason_from_string("Nope"), AP_KUBE_REASON_UNKNOWN);
        assert_string_equal(ap_kube_reason_name(AP_KUBE_REASON_TOO_MANY_REQUESTS), "TooManyRequests");
        assert_int_equal(ap_kube_reason_from_code(422), AP_KUBE_REASON_INVALID);
}

static void test_time(void **state)
{
        struct timespec ts = {1700000000, 123456789};
        char buf[AP_KUBE_TIME_MAX];
        ap_kube_format_micro_time(buf, sizeof(buf), &ts);
        assert_string_equal(buf, "2023-11-14T22:13:20.123456Z");
        ap_kube_format_time(buf, sizeof(buf), &ts);
        assert_string_equal(buf, "2023-11-14T22:13:20Z");
        struct timespec p;
        assert_int_equal(ap_kube_parse_time("2023-11-14T22:13:20.123456Z", &p), 0);
        assert_int_equal(p.tv_sec, 1700000000);
        assert_int_equal(p.tv_nsec, 123456000);
        assert_int_equal(ap_kube_parse_time("2023-11-14T23:13:20+01:00", &p), 0);
        assert_int_equal(p.tv_sec, 1700000000);
        assert_int_equal(ap_kube_parse_time("2000-02-29T00:00:00Z", &p), 0);
        assert_int_equal(p.tv_sec, 951782400);
        assert_int_equal(ap_kube_parse_time("2023-11-14 22:13:20Z", &p), -EINVAL);
        assert_int_equal(ap_kube_parse_time("2023-11-14T22:13:20", &p), -EINVAL);
        assert_int_equal(ap_kube_parse_time("2023-13-14T22:13:20Z", &p), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_not_found),          cmocka_unit_test(test_invalid_causes),
            cmocka_unit_test(test_conflict_vs_exists), cmocka_unit_test(test_gone_and_retry_after),
            cmocka_unit_test(test_shared_codes),       cmocka_unit_test(test_plain_bodies),
            cmocka_unit_test(test_reason_names),       cmocka_unit_test(test_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
