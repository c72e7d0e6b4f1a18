/* test_fileio.c - capped reads and atomic 0600 writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"

/* Entries of dir whose name starts with ".": temporary files left behind. */
static int hidden_entries(const char *dir)
{
        DIR *d = opendir(dir);
        assert_non_null(d);
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        closedir(d);
        return n;
}

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
        assert_int_equal(ap_read_file(path, &small, &err), AP_E_TOO_LARGE);
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

/* Through a symlink the file it points to is replaced and the link stays a link, as sops and age do; a
 * link to a file that does not exist yet creates it. */
static void test_symlink_written_through(void **state)
{
        char dir[] = "/tmp/ap-fileio-XXXXXX", link[300], file[300], dangling[300], made[300];
        assert_non_null(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/real.yaml", dir);
        snprintf(link, sizeof(link), "%s/link.yaml", dir);
        snprintf(dangling, sizeof(dangling), "%s/dangling.yaml", dir);
        snprintf(made, sizeof(made), "%s/made.yaml", dir);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_write_file_atomic(file, "old", 3, 0644, &err), 0);
        assert_int_equal(symlink("real.yaml", link), 0);
        assert_int_equal(symlink("made.yaml", dangling), 0);
        assert_int_equal(ap_write_file_atomic(link, "new", 3, 0600, &err), 0);
        struct stat st;
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_read_file(file, &b, &err), 0);
        assert_string_equal(b.data, "new");
        assert_int_equal(ap_write_file_atomic(dangling, "x", 1, 0600, &err), 0);
        assert_int_equal(lstat(dangling, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(stat(made, &st), 0);
        assert_int_equal(hidden_entries(dir), 0);
        unlink(link);
        unlink(dangling);
        unlink(file);
        unlink(made);
        rmdir(dir);
}

/* abort removes the temporary file; a device is written in place; the target is untouched until commit. */
static void test_abort_and_devices(void **state)
{
        char dir[] = "/tmp/ap-fileio-XXXXXX", path[300];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/out", dir);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_atomic_file f;
        assert_int_equal(ap_atomic_open(&f, path, 0600, &err), 0);
        assert_int_equal(ap_write_all(f.fd, "partial", 7), 0);
        assert_int_equal(hidden_entries(dir), 1);
        assert_int_equal(access(path, F_OK), -1);
        ap_atomic_abort(&f);
        assert_int_equal(hidden_entries(dir), 0);
        assert_int_equal(access(path, F_OK), -1);
        ap_atomic_abort(&f); /* twice is fine */
        assert_int_equal(ap_atomic_open(&f, "/dev/null", 0600, &err), 0);
        assert_null(f.tmp);
        assert_int_equal(ap_write_all(f.fd, "x", 1), 0);
        assert_int_equal(ap_atomic_commit(&f, &err), 0);
        /* every slot of the signal cleanup list taken: the next open fails cleanly */
        struct ap_atomic_file many[AP_ATOMIC_OPEN_MAX + 1];
        for (int i = 0; i < AP_ATOMIC_OPEN_MAX; i++)
                assert_int_equal(ap_atomic_open(&many[i], path, 0600, &err), 0);
        assert_int_equal(ap_atomic_open(&many[AP_ATOMIC_OPEN_MAX], path, 0600, &err), -EMFILE);
        for (int i = 0; i < AP_ATOMIC_OPEN_MAX; i++)
                ap_atomic_abort(&many[i]);
        assert_int_equal(hidden_entries(dir), 0);
        rmdir(dir);
}

/* TERM, INT, HUP and QUIT while an atomic write is open: the temporary file goes, the target never
 * appears, and the process still dies of the signal. */
static void test_signal_removes_temporary_file(void **state)
{
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
                char dir[] = "/tmp/ap-fileio-XXXXXX", path[300];
                assert_non_null(mkdtemp(dir));
                snprintf(path, sizeof(path), "%s/plain.txt", dir);
                int ready[2];
                assert_int_equal(pipe(ready), 0);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        struct ap_error err = AP_ERROR_INIT;
                        struct ap_atomic_file f;
                        close(ready[0]);
                        /* as a process started normally: under nohup (SIGHUP ignored) the cleanup keeps
                         * the signal ignored on purpose, and this test would wait forever */
                        signal(sigs[i], SIG_DFL);
                        if (ap_fileio_cleanup_on_signals() < 0 || ap_atomic_open(&f, path, 0600, &err) < 0 ||
                            ap_write_all(f.fd, "plaintext", 9) < 0 || write(ready[1], "x", 1) != 1)
                                _exit(3);
                        for (;;)
                                pause();
                }
                close(ready[1]); /* a child that fails early gives EOF here, not a hang */
                char c;
                assert_int_equal(read(ready[0], &c, 1), 1);
                assert_int_equal(hidden_entries(dir), 1);
                assert_int_equal(kill(pid, sigs[i]), 0);
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), sigs[i]);
                assert_int_equal(hidden_entries(dir), 0);
                assert_int_equal(access(path, F_OK), -1);
                close(ready[0]);
                rmdir(dir);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_write_then_read),
            cmocka_unit_test(test_missing_file_names_path),
            cmocka_unit_test(test_symlink_written_through),
            cmocka_unit_test(test_abort_and_devices),
            cmocka_unit_test(test_signal_removes_temporary_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
