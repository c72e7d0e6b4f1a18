/* fileio.h - whole-file reads with a size cap, and the one atomic write (temporary file beside the target,
 * fsync, rename) so neither a crash nor a failure nor a catchable signal leaves a half-written file. Files
 * that may hold secrets are created 0600. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"
#include "macro.h"

/* Append the contents of path ("-" = stdin) to out. Past out->max: AP_E_TOO_LARGE, and the message names
 * the file and the limit. */
int ap_read_file(const char *path, struct ap_buf *out, struct ap_error *err) _warn_unused_;
int ap_read_fd(int fd, const char *name, struct ap_buf *out, struct ap_error *err) _warn_unused_;

/* Write data to path atomically with the given mode ("-" = stdout); see ap_atomic_open. */
int ap_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode,
                         struct ap_error *err) _warn_unused_;

/* An output written atomically. Opening creates a temporary file ".NAME.tmpXXXXXX" (mode 0600 until
 * fchmod'ed to the caller's mode) beside the file the write lands on: path itself, or, when path is a
 * symlink, the file it points to (the link stays a link and the file behind it is replaced, as sops and
 * age do). ap_atomic_commit fsyncs and renames it over that file; ap_atomic_abort removes it. A device or
 * FIFO (-o /dev/null, a named pipe) is written in place, stdout ("-" or NULL) directly. While it is open,
 * the temporary file is also removed by the handlers of ap_fileio_cleanup_on_signals. */
struct ap_atomic_file {
        int fd;       /* where to write */
        char *path;   /* the name the caller gave (for messages); NULL for stdout */
        char *target; /* the file the rename replaces */
        char *tmp;    /* the temporary file; NULL when writing in place or to stdout */
        int slot;     /* its entry in the signal cleanup list; -1 for none */
};
#define AP_ATOMIC_FILE_INIT                                                                                  \
        {                                                                                                    \
                -1, NULL, NULL, NULL, -1                                                                     \
        }

/* mode is applied as given (no umask): pass 0600 for plaintext. f is initialised here; on failure nothing
 * is left behind and f needs no abort. */
int ap_atomic_open(struct ap_atomic_file *f, const char *path, mode_t mode,
                   struct ap_error *err) _warn_unused_;
/* Finish: fsync, close and rename the temporary file into place (a device, FIFO or stdout is just
 * closed/left open). On failure the temporary file is removed. f is released in both cases. */
int ap_atomic_commit(struct ap_atomic_file *f, struct ap_error *err) _warn_unused_;
/* Drop what was written: remove the temporary file and release f. Accepts a released or never opened f. */
void ap_atomic_abort(struct ap_atomic_file *f);
/* The name to use in messages: the caller's path, or "<stdout>". */
const char *ap_atomic_name(const struct ap_atomic_file *f);

/* For programs that a signal ends (the command line): install handlers for SIGTERM, SIGINT, SIGHUP and
 * SIGQUIT that remove the temporary files of the atomic writes still open, then let the signal end the
 * process as before (signals inherited as ignored stay ignored). A daemon that handles SIGTERM itself must
 * not call this; it aborts its writes on its own. At most AP_ATOMIC_OPEN_MAX atomic writes may be open at
 * once (ap_atomic_open fails past that). */
#define AP_ATOMIC_OPEN_MAX 16
int ap_fileio_cleanup_on_signals(void) _warn_unused_;

/* Remove path and everything below it without following symlinks; a missing path is fine.
 * Best effort: returns the first error met (negative errno) but keeps going; callers may ignore it. */
int ap_remove_tree(const char *path);
/* Write all of n bytes to fd, retrying on EINTR and short writes; a negative errno on failure. */
int ap_write_all(int fd, const void *data, size_t n) _warn_unused_;
