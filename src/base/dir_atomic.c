/* dir_atomic.c - whole-folder creation and removal through rename (see dir_atomic.h). */
#include "dir_atomic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

#define PATH_MAX_LEN 4096

/* A fresh empty folder "<path><tag>XXXXXX" beside path, its name in out. */
static int make_sibling(const char *path, const char *tag, char *out, size_t n, struct ap_error *err)
{
        if (strlen(path) + strlen(tag) + 7 > n || strlen(path) > PATH_MAX_LEN)
                return ap_error_set(err, AP_E_INVALID, "the folder path '%.200s' is too long", path);
        snprintf(out, n, "%s%sXXXXXX", path, tag);
        if (!mkdtemp(out)) {
                int e = errno;
                return ap_error_set(err, e == ENOSPC ? AP_E_NO_SPACE : -e, "cannot create '%s': %s", out,
                                    strerror(e));
        }
        return 0;
}

int ap_dir_create_atomic(const char *path, ap_dir_fill_fn fill, void *userdata, bool *ret_created,
                         struct ap_error *err)
{
        char tmp[PATH_MAX_LEN + 32];
        int r = make_sibling(path, ".tmp-", tmp, sizeof(tmp), err);
        if (r < 0)
                return r;
        if ((r = fill(tmp, userdata, err)) < 0) {
                (void)ap_remove_tree(tmp);
                return r;
        }
        bool created = true;
        if (rename(tmp, path) < 0) {
                int e = errno;
                (void)ap_remove_tree(tmp);
                if (e != ENOTEMPTY && e != EEXIST)
                        return ap_error_set(err, e == ENOSPC ? AP_E_NO_SPACE : -e, "cannot create '%s': %s",
                                            path, strerror(e));
                created = false; /* made by someone else meanwhile */
        }
        *ret_created = created;
        return 0;
}

int ap_dir_remove_atomic(const char *path, bool *ret_removed, struct ap_error *err)
{
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                *ret_removed = false;
                return 0;
        }
        char gone[PATH_MAX_LEN + 32];
        int r = make_sibling(path, ".del-", gone, sizeof(gone), err);
        if (r < 0)
                return r;
        /* rename(2) may replace an empty folder: the one mkdtemp just made */
        if (rename(path, gone) < 0) {
                int e = errno;
                (void)rmdir(gone);
                if (e == ENOENT) { /* removed by someone else meanwhile */
                        *ret_removed = false;
                        return 0;
                }
                return ap_error_set(err, -e, "cannot remove '%s': %s", path, strerror(e));
        }
        if ((r = ap_remove_tree(gone)) < 0)
                return ap_error_set(err, r, "cannot remove '%s' (renamed to '%s'): %s", path, gone,
                                    strerror(-r));
        *ret_removed = true;
        return 0;
}
