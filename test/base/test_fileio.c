/* test_fileio.c - capped reads and atomic 0600 writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"

static void test_write_then_read(void **state)
{
        char dir[] = "/tmp/ap-fileio-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/secret.txt", dir);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_write_file_atomic(path, "abc", 3, 0600, &err), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_read_file(path, &b, &err), 0);
        assert_string_equal(b.data, "abc");

        _cleanup_buf_ struct ap_buf small = AP_BUF_INIT;
        ap_buf_init(&small, 2);
        assert_int_equal(ap_read_file(path, &small, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "larger than the limit"));

        _cleanup_buf_ struct ap_buf exact = AP_BUF_INIT;
        ap_buf_init(&exact, 3);
        assert_int_equal(ap_read_file(path, &exact, &err), 0);
        assert_string_equal(exact.data, "abc");
        unlink(path);
        rmdir(dir);
}

static void test_missing_file_names_path(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_read_file("/nonexistent/x", &b, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'/nonexistent/x'"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_write_then_read),
            cmocka_unit_test(test_missing_file_names_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
