/* fileio.c - capped reads and atomic writes. */
#include "fileio.h"

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ap_read_fd(int fd, const char *name, struct ap_buf *out, struct ap_error *err)
{
        for (;;) {
                int r = ap_buf_grow(out, 65536 < out->max - out->len ? 65536 : out->max - out->len);
                if (r < 0)
                        return ap_error_set(err, r, "cannot read '%s': %s", name, strerror(-r));
                size_t room = AP_MIN(out->cap - out->len - 1, out->max - out->len);
                if (room == 0) {
                        /* at the cap: one more byte means the input is too large */
                        char c;
                        ssize_t k = read(fd, &c, 1);
                        if (k == 0)
                                return 0;
                        return ap_error_set(err, -E2BIG, "'%s' is larger than the limit of %zu bytes", name,
                                            out->max);
                }
                ssize_t k = read(fd, out->data + out->len, room);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return ap_error_set(err, -errno, "cannot read '%s': %s", name, strerror(errno));
                }
                if (k == 0)
                        return 0;
                out->len += (size_t)k;
                out->data[out->len] = '\0';
        }
}

int ap_read_file(const char *path, struct ap_buf *out, struct ap_error *err)
{
        if (strcmp(path, "-") == 0)
                return ap_read_fd(STDIN_FILENO, "<stdin>", out, err);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return ap_error_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        int r = ap_read_fd(fd, path, out, err);
        close(fd);
        return r;
}

int ap_write_all(int fd, const void *data, size_t n)
{
        const char *p = data;
        while (n) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int ap_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, struct ap_error *err)
{
        if (strcmp(path, "-") == 0) {
                int r = ap_write_all(STDOUT_FILENO, data, n);
                if (r < 0)
                        return ap_error_set(err, r, "cannot write to stdout: %s", strerror(-r));
                return 0;
        }
        _cleanup_free_ char *dup = strdup(path);
        if (!dup)
                return ap_error_set(err, -ENOMEM, "out of memory");
        const char *dir = dirname(dup);
        _cleanup_buf_ struct ap_buf tmp = AP_BUF_INIT;
        ap_buf_printf(&tmp, "%s/.%s.tmpXXXXXX", dir, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
        int fd = mkostemp(tmp.data, O_CLOEXEC);
        if (fd < 0)
                return ap_error_set(err, -errno, "cannot create a temporary file beside '%s': %s", path,
                                    strerror(errno));
        int r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0)
                r = ap_write_all(fd, data, n);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp.data, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp.data);
                return ap_error_set(err, r, "cannot write '%s': %s", path, strerror(-r));
        }
        return 0;
}

/* first error of the current ap_remove_tree call; nftw has no context pointer, so per thread */
static _Thread_local int remove_tree_errno;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        int r = type == FTW_DP ? rmdir(path) : unlink(path);
        if (r < 0 && errno != ENOENT && remove_tree_errno == 0)
                remove_tree_errno = -errno;
        return 0;
}

int ap_remove_tree(const char *path)
{
        remove_tree_errno = 0;
        if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return -errno;
        return remove_tree_errno;
}
