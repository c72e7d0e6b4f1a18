/* dir_atomic.h - folders that appear and disappear whole: one is built under a temporary name beside its
 * final path and renamed into place, and one is removed by renaming it out of the way first, so a crash
 * never leaves a half-made or half-deleted folder under the final name. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "macro.h"

/* Fills the new, empty folder tmp (mode 0700); returns 0 or a negative errno with err set. */
typedef int (*ap_dir_fill_fn)(const char *tmp, void *userdata, struct ap_error *err);

/* Create path: make "<path>.tmp-XXXXXX", fill it, rename it to path. *ret_created is true when this call
 * made path, false when path appeared meanwhile (made by another process: the temporary folder is
 * removed and that is no error). On failure nothing is left behind. */
int ap_dir_create_atomic(const char *path, ap_dir_fill_fn fill, void *userdata, bool *ret_created,
                         struct ap_error *err) _warn_unused_;

/* Remove path and everything below it: first renamed to "<path>.del-XXXXXX" (atomic: afterwards path is
 * gone as a whole), then deleted. A missing path is success (*ret_removed false). */
int ap_dir_remove_atomic(const char *path, bool *ret_removed, struct ap_error *err) _warn_unused_;
