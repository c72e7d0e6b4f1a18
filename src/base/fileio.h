/* fileio.h - whole-file reads with a size cap, and atomic writes (temp file in the same directory, fsync,
 * rename) so a crash never leaves a half-written file. Files that may hold secrets are created 0600. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

/* Append the contents of path ("-" = stdin) to out, failing with -E2BIG past out->max. */
int ap_read_file(const char *path, struct ap_buf *out, struct ap_error *err);
int ap_read_fd(int fd, const char *name, struct ap_buf *out, struct ap_error *err);
/* Write data to path atomically with the given mode ("-" = stdout). */
int ap_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, struct ap_error *err);
/* Remove path and everything below it without following symlinks; a missing path is fine.
 * Best effort: returns the first error met (negative errno) but keeps going. */
int ap_remove_tree(const char *path);
/* Write all of n bytes to fd, retrying on EINTR and short writes. */
int ap_write_all(int fd, const void *data, size_t n);
