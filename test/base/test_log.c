/* test_log.c - the logger: text and JSON lines, level filtering, and the secret string type it refuses
 * (that refusal is a compile error; meson.build compiles both a refused and an accepted call and passes
 * the results in as AP_SECRET_LOG_REFUSED / AP_REVEALED_LOG_COMPILES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/secret.h"

/* Run fn with stderr captured into out. */
static void capture(void (*fn)(void), struct ap_buf *out)
{
        char path[] = "/tmp/ap-log-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        fn();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_read_file(path, out, &err), 0);
        unlink(path);
}

static void log_some(void)
{
        struct ap_secret s = AP_SECRET_INIT;
        assert_int_equal(ap_secret_set(&s, "hunter2", 7), 0);
        ap_debug("hidden %d", 1);
        ap_info("repo '%s' pushed, %d files", "app", 3);
        ap_warn("quote \" and newline\n");
        struct ap_error err = AP_ERROR_INIT;
        ap_error_set(&err, AP_E_CONFLICT, "changed meanwhile");
        assert_int_equal(ap_log_error(&err, "cannot push '%s'", "app"), AP_E_CONFLICT);
        /* only an explicit reveal reaches a message */
        ap_info("length %zu", ap_secret_len(&s));
        ap_secret_release(&s);
}

static void test_text_and_json(void **state)
{
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT, json = AP_BUF_INIT;
        ap_log_setup(AP_LOG_TEXT, AP_LOG_INFO);
        capture(log_some, &text);
        assert_null(strstr(text.data, "hidden"));
        assert_non_null(strstr(text.data, " info  repo 'app' pushed, 3 files\n"));
        assert_non_null(strstr(text.data, " error cannot push 'app': changed meanwhile\n"));
        assert_null(strstr(text.data, "hunter2"));
        ap_log_setup(AP_LOG_JSON, AP_LOG_DEBUG);
        capture(log_some, &json);
        assert_non_null(strstr(json.data, "\"level\":\"debug\",\"msg\":\"hidden 1\"}\n"));
        assert_non_null(strstr(json.data, "\"msg\":\"quote \\\" and newline\\n\"}\n"));
        ap_log_setup(AP_LOG_TEXT, AP_LOG_INFO);
}

static void test_parse_settings(void **state)
{
        enum ap_log_level l;
        enum ap_log_format f;
        assert_int_equal(ap_log_parse_level("warn", &l), 0);
        assert_int_equal(l, AP_LOG_WARN);
        assert_int_equal(ap_log_parse_level("loud", &l), -EINVAL);
        assert_int_equal(ap_log_parse_format("json", &f), 0);
        assert_int_equal(f, AP_LOG_JSON);
        assert_int_equal(ap_log_parse_format("xml", &f), -EINVAL);
}

/* A struct ap_secret or a pointer to one among a log call's arguments is a compile error; the revealed
 * bytes are not. */
static void test_secret_refused_at_compile_time(void **state)
{
        assert_int_equal(AP_SECRET_LOG_REFUSED, 1);
        assert_int_equal(AP_REVEALED_LOG_COMPILES, 1);
        struct ap_secret s = AP_SECRET_INIT;
        assert_int_equal(AP_IS_SECRET(s), 1);
        assert_int_equal(AP_IS_SECRET(&s), 1);
        assert_int_equal(AP_IS_SECRET(ap_secret_reveal(&s)), 0);
        /* contents are wiped and replaced */
        assert_int_equal(ap_secret_set(&s, "one", 3), 0);
        assert_int_equal(ap_secret_set(&s, "two!", 4), 0);
        assert_string_equal(ap_secret_reveal(&s), "two!");
        assert_true(s.buf.secret);
        ap_secret_release(&s);
        assert_int_equal(ap_secret_len(&s), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_text_and_json),
            cmocka_unit_test(test_parse_settings),
            cmocka_unit_test(test_secret_refused_at_compile_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
