/* test_dir_atomic.c - folders created and removed whole (base/dir_atomic.h): a failing fill leaves
 * nothing, a folder made meanwhile by someone else wins without error, removal is idempotent and leaves
 * no sibling behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dir_atomic.h"
#include "base/fileio.h"

static char base[256];

static int setup(void **state)
{
        snprintf(base, sizeof(base), "/tmp/ap-dir-atomic-XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
        return ap_remove_tree(base);
}

/* entries in base, for checking that no temporary sibling is left */
static int count_entries(void)
{
        DIR *d = opendir(base);
        int n = 0;
        for (struct dirent *e; d && (e = readdir(d));)
                n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        if (d)
                closedir(d);
        return n;
}

static int fill_file(const char *tmp, void *userdata, struct ap_error *err)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/marker", tmp);
        return ap_write_file_atomic(p, userdata, strlen(userdata), 0600, err);
}

static int fill_fail(const char *tmp, void *userdata, struct ap_error *err)
{
        return ap_error_set(err, AP_E_NO_SPACE, "disk full (test)");
}

static void test_create_fail_and_race(void **state)
{
        char path[300], marker[320];
        snprintf(path, sizeof(path), "%s/repo.git", base);
        snprintf(marker, sizeof(marker), "%s/marker", path);
        struct ap_error err = AP_ERROR_INIT;
        bool created = false;

        assert_int_equal(ap_dir_create_atomic(path, fill_fail, NULL, &created, &err), AP_E_NO_SPACE);
        assert_string_equal(err.msg, "disk full (test)");
        assert_int_equal(count_entries(), 0); /* the temporary folder is gone too */

        assert_int_equal(ap_dir_create_atomic(path, fill_file, "first", &created, &err), 0);
        assert_true(created);
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_read_file(marker, &b, &err), 0);
        assert_string_equal(b.data, "first");

        /* it exists: the second creator's copy is dropped, the first stays */
        assert_int_equal(ap_dir_create_atomic(path, fill_file, "second", &created, &err), 0);
        assert_false(created);
        ap_buf_reset(&b);
        assert_int_equal(ap_read_file(marker, &b, &err), 0);
        assert_string_equal(b.data, "first");
        ap_buf_release(&b);
        assert_int_equal(count_entries(), 1);
}

static void test_remove(void **state)
{
        char path[300];
        snprintf(path, sizeof(path), "%s/gone.git", base);
        struct ap_error err = AP_ERROR_INIT;
        bool created = false, removed = false;
        assert_int_equal(ap_dir_create_atomic(path, fill_file, "x", &created, &err), 0);
        int before = count_entries();
        assert_int_equal(ap_dir_remove_atomic(path, &removed, &err), 0);
        assert_true(removed);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(count_entries(), before - 1);
        /* already gone: success */
        assert_int_equal(ap_dir_remove_atomic(path, &removed, &err), 0);
        assert_false(removed);
        assert_int_equal(count_entries(), before - 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_create_fail_and_race),
            cmocka_unit_test(test_remove),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
