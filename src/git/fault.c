/* fault.c - what a libgit2 failure means for the caller: a clear ap_error naming the repository and the
 * cause, with a code of the shared vocabulary (base/error.h: bad credentials, refused, unknown host key,
 * missing repository, disk full, remote unreachable, corrupt cache), and whether retrying can help.
 * libgit2 reports most transport failures only as text, so some of this matches the messages of
 * libgit2 1.x and of git's server programs. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/backoff.h"
#include "git/repo_internal.h"

static bool has(const char *msg, const char *needle)
{
        return strcasestr(msg, needle) != NULL;
}

/* An HTTP status number in a message, not part of a longer number or hex object id. */
static bool has_status(const char *msg, const char *code)
{
        size_t n = strlen(code);
        for (const char *p = strstr(msg, code); p; p = strstr(p + 1, code))
                if ((p == msg || !isxdigit((unsigned char)p[-1])) && !isxdigit((unsigned char)p[n]))
                        return true;
        return false;
}

static bool missing_repo(const char *m)
{
        return has(m, "does not appear to be a git repository") || has(m, "repository not found") ||
               has(m, "could not find repository") || has(m, "not found") || has_status(m, "404") ||
               has(m, "does not exist") || has(m, "no such file or directory");
}

/* the server does not accept who we are (HTTP 401, ssh publickey refused) */
static bool auth_failure(const char *m)
{
        return has(m, "authentication") || has_status(m, "401") || has(m, "unauthorized") ||
               has(m, "publickey");
}

/* the server knows who we are and refuses the operation (HTTP 403, a read-only deploy key, Gitea's
 * "not authorized to write", a protected branch) */
static bool refused(const char *m)
{
        return has_status(m, "403") || has(m, "permission denied") || has(m, "not authorized") ||
               has(m, "forbidden") || has(m, "not allowed") || has(m, "read-only") || has(m, "read only") ||
               has(m, "access denied") || has(m, "protected branch");
}

/* the cache itself is damaged: an object missing, unreadable or not matching its id, a ref file that is
 * garbage. Decided by libgit2's error class (the object database, zlib, object parsing, refs), so that
 * remote and transport failures never count. */
static bool corrupt(int klass, const char *m)
{
        return klass == GIT_ERROR_ODB || klass == GIT_ERROR_ZLIB || klass == GIT_ERROR_OBJECT ||
               (klass == GIT_ERROR_REFERENCE &&
                (has(m, "corrupt") || has(m, "invalid") || has(m, "garbage")));
}

static bool disk_full(int sys_errno, const char *m)
{
        return sys_errno == ENOSPC || sys_errno == EDQUOT || sys_errno == EFBIG || has(m, "no space left") ||
               has(m, "quota exceeded") || has(m, "file too large");
}

const char *ap_git_last_message(void)
{
        const git_error *e = git_error_last();
        return e && e->message && e->message[0] ? e->message : "unknown error";
}

enum ap_git_fault ap_git_fault(struct ap_git_repo *r, struct ap_git_op *op, int rc, const char *what,
                               struct ap_error *err)
{
        int sys_errno = errno;
        const git_error *e = git_error_last();
        /* some local failures (a full disk while deflating an object) leave no libgit2 error: use errno */
        const char *m = e && e->message ? e->message : sys_errno ? strerror(sys_errno) : "unknown error";
        int klass = e ? e->klass : GIT_ERROR_NONE;

        if ((op && op->cancelled) || ap_git_cancelled(r)) {
                ap_error_set(err, AP_E_CANCELLED, "cannot %s '%s': cancelled", what, r->name);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (op && op->cred_err.code < 0) {
                ap_error_set(err, op->cred_err.code, "cannot %s '%s': cannot get credentials: %s", what,
                             r->name, op->cred_err.msg);
                return ap_error_retryable(op->cred_err.code) ? AP_GIT_FAULT_TRANSIENT
                                                             : AP_GIT_FAULT_PERMANENT;
        }
        if (op && op->host_err.code < 0) {
                ap_error_set(err, op->host_err.code, "cannot %s '%s': %s", what, r->name, op->host_err.msg);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (disk_full(klass == GIT_ERROR_OS || !e ? sys_errno : 0, m)) {
                ap_error_set(err, AP_E_NO_SPACE,
                             "cannot %s '%s': the disk holding the cache '%s' is full (%s)", what, r->name,
                             r->cache_dir, m);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (corrupt(klass, m)) {
                ap_error_set(err, AP_E_CORRUPT, "cannot %s '%s': the git cache '%s' is damaged (%s)", what,
                             r->name, r->cache_dir, m);
                return AP_GIT_FAULT_CORRUPT;
        }
        if (rc == GIT_ENONFASTFORWARD) {
                ap_error_set(err, AP_E_CONFLICT, "cannot %s '%s': the branch '%s' moved on the remote", what,
                             r->name, r->branch);
                return AP_GIT_FAULT_CONFLICT;
        }
        if (rc == GIT_EAUTH || (op && op->cred_calls > 1) || (op && op->no_credentials) ||
            (klass != GIT_ERROR_OS && auth_failure(m))) {
                ap_error_set(err, AP_E_UNAUTHORIZED,
                             "cannot %s '%s': authentication failed (%s): the server does not accept the "
                             "key or token",
                             what, r->name, m);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (klass != GIT_ERROR_OS && refused(m)) {
                ap_error_set(err, AP_E_FORBIDDEN,
                             "cannot %s '%s': the server refused access (%s): the key or token may not "
                             "write to the repository",
                             what, r->name, m);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (rc == GIT_ECERTIFICATE) {
                ap_error_set(err, -EKEYREJECTED, "cannot %s '%s': the server's certificate was refused (%s)",
                             what, r->name, m);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (r->u.scheme == AP_GIT_LOCAL && access(r->u.path, F_OK) < 0) {
                /* libgit2 only picks its local transport for an existing folder */
                ap_error_set(err, AP_E_NOT_FOUND, "cannot %s '%s': the repository '%s' does not exist", what,
                             r->name, r->u.path);
                return AP_GIT_FAULT_PERMANENT;
        }
        bool transport = klass == GIT_ERROR_NET || klass == GIT_ERROR_SSH || klass == GIT_ERROR_HTTP ||
                         klass == GIT_ERROR_SSL;
        /* a local path remote that is missing shows up as an os or repository error */
        if ((transport || r->u.scheme == AP_GIT_LOCAL) && missing_repo(m) && !has(m, "failed to connect")) {
                ap_error_set(err, AP_E_NOT_FOUND,
                             "cannot %s '%s': the repository does not exist on the remote (%s)", what,
                             r->name, m);
                return AP_GIT_FAULT_PERMANENT;
        }
        if (transport || has(m, "failed to connect") || has(m, "connection refused") || has(m, "timed out") ||
            has(m, "early eof") || has(m, "unexpected eof") || has(m, "connection reset")) {
                ap_error_set(err, AP_E_UNAVAILABLE, "cannot %s '%s': the remote is unreachable (%s)", what,
                             r->name, m);
                return AP_GIT_FAULT_TRANSIENT;
        }
        ap_error_set(err, -EIO, "cannot %s '%s': %s", what, r->name, m);
        return AP_GIT_FAULT_PERMANENT;
}

bool ap_git_cancelled(const struct ap_git_repo *r)
{
        return ap_cancelled(r->cancel) || ap_cancelled(r->call_cancel);
}

int ap_git_cancel_error(struct ap_git_repo *r, struct ap_error *err)
{
        return ap_error_set(err, AP_E_CANCELLED, "the operation on '%s' was cancelled", r->name);
}
