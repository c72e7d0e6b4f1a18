/* fileio.c - capped reads, the atomic write (temporary file, fsync, rename; symlinks written through) and
 * the removal of temporary files when a signal ends the process. */
#include "fileio.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"

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
                        ssize_t k;
                        while ((k = read(fd, &c, 1)) < 0 && errno == EINTR)
                                ;
                        if (k == 0)
                                return 0;
                        if (k < 0)
                                return ap_error_set(err, -errno, "cannot read '%s': %s", name,
                                                    strerror(errno));
                        return ap_error_set(err, AP_E_TOO_LARGE, "'%s' is larger than the limit of %zu bytes",
                                            name, out->max);
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

/* ---- temporary files removed by a signal ---- */

/* Slot i holds a temporary path while used[i] is set. The handler only reads them; the paths live in
 * static storage so that it never sees freed memory. claim_lock guards claiming and releasing slots. */
static char cleanup_paths[AP_ATOMIC_OPEN_MAX][PATH_MAX];
static volatile sig_atomic_t cleanup_used[AP_ATOMIC_OPEN_MAX];
static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;

static int cleanup_claim(const char *tmp)
{
        if (strlen(tmp) >= PATH_MAX)
                return -ENAMETOOLONG;
        int slot = -EMFILE;
        pthread_mutex_lock(&claim_lock);
        for (int i = 0; i < AP_ATOMIC_OPEN_MAX; i++)
                if (!cleanup_used[i]) {
                        memcpy(cleanup_paths[i], tmp, strlen(tmp) + 1);
                        __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the path is complete before it counts */
                        cleanup_used[i] = 1;
                        slot = i;
                        break;
                }
        pthread_mutex_unlock(&claim_lock);
        return slot;
}

static void cleanup_release(int slot)
{
        if (slot < 0)
                return;
        pthread_mutex_lock(&claim_lock);
        cleanup_used[slot] = 0;
        pthread_mutex_unlock(&claim_lock);
}

static void on_fatal_signal(int sig)
{
        int saved = errno;
        for (int i = 0; i < AP_ATOMIC_OPEN_MAX; i++)
                if (cleanup_used[i])
                        (void)unlink(cleanup_paths[i]); /* async-signal-safe */
        errno = saved;
        /* SA_RESETHAND restored the default action: the signal, pending until we return, ends us */
        (void)raise(sig);
}

int ap_fileio_cleanup_on_signals(void)
{
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
        for (size_t i = 0; i < AP_ARRAY_SIZE(sigs); i++) {
                struct sigaction old, sa = {.sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND};
                sigemptyset(&sa.sa_mask);
                if (sigaction(sigs[i], NULL, &old) < 0)
                        return -errno;
                if (old.sa_handler == SIG_IGN) /* nohup and friends: keep ignoring it */
                        continue;
                if (sigaction(sigs[i], &sa, NULL) < 0)
                        return -errno;
        }
        return 0;
}

/* ---- atomic writes ---- */

/* path with its symlinks followed (the last target may not exist yet: the write creates it). NULL with
 * errno set on failure (ELOOP after 40 links, as the kernel). */
static char *resolve_target(const char *path)
{
        char *cur = strdup(path);
        for (int hops = 0; cur; hops++) {
                struct stat st;
                if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
                        return cur; /* a missing file is created where it is named */
                if (hops == 40) {
                        free(cur);
                        errno = ELOOP;
                        return NULL;
                }
                char link[PATH_MAX];
                ssize_t k = readlink(cur, link, sizeof(link));
                if (k < 0 || (size_t)k >= sizeof(link)) {
                        int e = k < 0 ? errno : ENAMETOOLONG;
                        free(cur);
                        errno = e;
                        return NULL;
                }
                link[k] = '\0';
                _cleanup_buf_ struct ap_buf next = AP_BUF_INIT;
                const char *slash = strrchr(cur, '/');
                int r = link[0] == '/' || !slash
                            ? ap_buf_add(&next, link, (size_t)k)
                            : ap_buf_printf(&next, "%.*s/%s", (int)(slash - cur), cur, link);
                free(cur);
                cur = r == 0 ? ap_buf_detach(&next, NULL) : NULL;
                if (!cur)
                        errno = ENOMEM;
        }
        return NULL;
}

/* Create ".NAME.tmpXXXXXX" beside f->target, 0600. Its name is in the cleanup list before the file exists,
 * so a signal never misses it (mkostemp would only say the name once the file is there). */
static int create_tmp(struct ap_atomic_file *f)
{
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const char *slash = strrchr(f->target, '/');
        for (int attempt = 0; attempt < 100; attempt++) {
                unsigned char rnd[6];
                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return errno ? -errno : -EIO;
                char suffix[7];
                for (size_t i = 0; i < 6; i++)
                        suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
                suffix[6] = '\0';
                _cleanup_buf_ struct ap_buf tmp = AP_BUF_INIT;
                int r = slash ? ap_buf_printf(&tmp, "%.*s/.%s.tmp%s", (int)(slash - f->target), f->target,
                                              slash + 1, suffix)
                              : ap_buf_printf(&tmp, ".%s.tmp%s", f->target, suffix);
                if (r < 0)
                        return r;
                int slot = cleanup_claim(tmp.data);
                if (slot < 0)
                        return slot;
                int fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd < 0) {
                        r = -errno;
                        cleanup_release(slot);
                        if (r == -EEXIST)
                                continue;
                        return r;
                }
                f->tmp = ap_buf_detach(&tmp, NULL);
                f->fd = fd;
                f->slot = slot;
                if (!f->tmp) {
                        close(fd);
                        unlink(cleanup_paths[slot]);
                        cleanup_release(slot);
                        f->fd = f->slot = -1;
                        return -ENOMEM;
                }
                return 0;
        }
        return -EEXIST;
}

static void atomic_release(struct ap_atomic_file *f)
{
        cleanup_release(f->slot);
        free(f->path);
        free(f->target);
        free(f->tmp);
        *f = (struct ap_atomic_file)AP_ATOMIC_FILE_INIT;
}

const char *ap_atomic_name(const struct ap_atomic_file *f)
{
        return f->path ? f->path : "<stdout>";
}

int ap_atomic_open(struct ap_atomic_file *f, const char *path, mode_t mode, struct ap_error *err)
{
        *f = (struct ap_atomic_file)AP_ATOMIC_FILE_INIT;
        if (!path || strcmp(path, "-") == 0) {
                f->fd = STDOUT_FILENO;
                return 0;
        }
        f->path = strdup(path);
        f->target = resolve_target(path);
        if (!f->path || !f->target) {
                int r = f->path && errno != ENOMEM ? -errno : -ENOMEM;
                atomic_release(f);
                return ap_error_set(err, r, "cannot open '%s': %s", path, strerror(-r));
        }
        struct stat st;
        if (stat(f->target, &st) == 0 && !S_ISREG(st.st_mode)) {
                /* a device or a FIFO is written in place: a rename would put a regular file there */
                f->fd = open(f->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (f->fd < 0) {
                        int r = -errno;
                        atomic_release(f);
                        return ap_error_set(err, r, "cannot open '%s': %s", path, strerror(-r));
                }
                return 0;
        }
        int r = create_tmp(f);
        if (r < 0) {
                atomic_release(f);
                if (r == -EMFILE)
                        return ap_error_set(err, r,
                                            "cannot write '%s': more than %d atomic writes open at once",
                                            path, AP_ATOMIC_OPEN_MAX);
                return ap_error_set(err, r, "cannot create a temporary file beside '%s': %s", path,
                                    strerror(-r));
        }
        if (fchmod(f->fd, mode) < 0) {
                r = -errno;
                ap_atomic_abort(f);
                return ap_error_set(err, r, "cannot set the mode of '%s': %s", path, strerror(-r));
        }
        return 0;
}

void ap_atomic_abort(struct ap_atomic_file *f)
{
        if (f->path && f->fd >= 0)
                close(f->fd);
        if (f->tmp)
                unlink(f->tmp);
        atomic_release(f);
}

int ap_atomic_commit(struct ap_atomic_file *f, struct ap_error *err)
{
        if (!f->path) { /* stdout stays open */
                atomic_release(f);
                return 0;
        }
        int r = f->tmp && fsync(f->fd) < 0 ? -errno : 0;
        if (close(f->fd) < 0 && r == 0)
                r = -errno;
        f->fd = -1;
        if (r == 0 && f->tmp && rename(f->tmp, f->target) < 0)
                r = -errno;
        if (r < 0) {
                r = ap_error_set(err, r, "cannot write '%s': %s", f->path, strerror(-r));
                ap_atomic_abort(f);
                return r;
        }
        free(f->tmp); /* renamed: nothing left to remove */
        f->tmp = NULL;
        atomic_release(f);
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
        struct ap_atomic_file f;
        int r = ap_atomic_open(&f, path, mode, err);
        if (r < 0)
                return r;
        if ((r = ap_write_all(f.fd, data, n)) < 0) {
                ap_error_set(err, r, "cannot write '%s': %s", path, strerror(-r));
                ap_atomic_abort(&f);
                return r;
        }
        return ap_atomic_commit(&f, err);
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
