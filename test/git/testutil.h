/* testutil.h - helpers shared by the git/forge tests: temporary folders, running a shell command and
 * capturing its output, writing small files. Header only (static functions), test code only. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "base/fileio.h"

/* Run a shell command built from fmt; append its stdout to out (if not NULL); return the exit status
 * (or -1 when it could not run). */
static inline _printf_(2, 3) int t_sh(struct ap_buf *out, const char *fmt, ...)
{
        char cmd[8192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        FILE *f = popen(cmd, "r");
        if (!f)
                return -1;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                if (out)
                        ap_buf_add(out, chunk, n);
        int st = pclose(f);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* mkdtemp under TMPDIR (or /tmp) with the given tag; returns a malloc'd path the caller frees. */
static inline char *t_tmpdir(const char *tag)
{
        const char *base = secure_getenv("TMPDIR");
        char path[512];
        snprintf(path, sizeof(path), "%s/ap-%s-XXXXXX", base && *base ? base : "/tmp", tag);
        return mkdtemp(path) ? strdup(path) : NULL;
}

static inline int t_write(const char *path, const char *text)
{
        return ap_write_file_atomic(path, text, strlen(text), 0600, NULL);
}
