/* transport.c - the libgit2 remote callbacks of one fetch or push: the HTTPS token (from memory or from
 * the token callback, fresh for each connection), the TLS verdict, the per-ref push status (a push can
 * "succeed" while the server refuses the ref), cancellation and the "push-sending" fault point in the
 * progress callbacks, and for SSH our own transport (ssh_transport.c: key from memory, host key against
 * the pinned known_hosts). */
#include <stdio.h>
#include <string.h>

#include "base/backoff.h"

#include "git/repo_internal.h"

/* HTTP(S) only (SSH goes through ssh_transport.c): the token once; libgit2 asks again after the server
 * refused it, and a second ask means it was wrong. */
static int on_credentials(git_credential **out, const char *url, const char *username_from_url,
                          unsigned int allowed, void *payload)
{
        struct ap_git_op *op = payload;
        struct ap_git_repo *r = op->r;
        if (op->cred_calls++ > 0) {
                git_error_set_str(GIT_ERROR_NET, "authentication failed");
                return GIT_EAUTH;
        }
        if (r->token_fn && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
                _cleanup_buf_ struct ap_buf tok = AP_BUF_INIT_SECRET;
                int rc = r->token_fn(r->token_userdata, &tok, &op->cred_err);
                if (rc < 0 || !tok.len) {
                        if (op->cred_err.code >= 0)
                                ap_error_set(&op->cred_err, rc < 0 ? rc : AP_E_UNAUTHORIZED,
                                             rc < 0 ? "the token callback failed"
                                                    : "the token callback gave no token");
                        git_error_set_str(GIT_ERROR_NET, "cannot get credentials");
                        return GIT_EUSER;
                }
                return git_credential_userpass_plaintext_new(out, r->token_user, tok.data); /* copies */
        }
        if (r->token && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT))
                return git_credential_userpass_plaintext_new(out, r->token_user, r->token);
        op->no_credentials = true;
        git_error_set_str(GIT_ERROR_NET, "the server asks for credentials and none are configured");
        return GIT_EAUTH;
}

/* TLS: libgit2 verified the chain against the system store; keep its verdict, with a clear message. */
static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
        struct ap_git_op *op = payload;
        if (cert->cert_type == GIT_CERT_X509 && valid)
                return 0;
        ap_error_set(&op->host_err, -EKEYREJECTED,
                     "the tls certificate of '%s' is not trusted by the system certificate store", host);
        return GIT_ECERTIFICATE;
}

static int on_push_ref(const char *refname, const char *status, void *payload)
{
        struct ap_git_op *op = payload;
        if (strcmp(refname, op->r->remote_ref) != 0)
                return 0;
        op->ref_reported = true;
        snprintf(op->ref_status, sizeof(op->ref_status), "%s", status ? status : "");
        return 0;
}

/* Every progress callback: a non-zero return makes libgit2 stop the transfer. */
static int check_cancel(struct ap_git_op *op)
{
        if (!ap_git_cancelled(op->r))
                return 0;
        op->cancelled = true;
        git_error_set_str(GIT_ERROR_NET, "cancelled");
        return GIT_EUSER;
}

/* The server's side band: progress, and what it or its hooks say about a refused ref ("error: cannot
 * lock ref ...", a pre-receive hook's reason). Kept for the error message: the last "error:"/"fatal:"
 * line, else the last line that is not a progress report. */
static int on_sideband(const char *str, int len, void *payload)
{
        struct ap_git_op *op = payload;
        const char *end = str + (len > 0 ? len : 0);
        for (const char *p = str; p < end;) {
                const char *eol = p;
                while (eol < end && *eol != '\n' && *eol != '\r')
                        eol++;
                size_t n = (size_t)(eol - p);
                bool progress =
                    (eol < end && *eol == '\r') || memmem(p, n, "% (", 3) || memmem(p, n, ", done.", 7);
                while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                        n--;
                bool error = n > 6 && (memcmp(p, "error:", 6) == 0 || memcmp(p, "fatal:", 6) == 0);
                if (n > 0 && !progress && (error || !op->remote_said_error)) {
                        snprintf(op->remote_said, sizeof(op->remote_said), "%.*s",
                                 (int)AP_MIN(n, sizeof(op->remote_said) - 1), p);
                        op->remote_said_error |= error;
                }
                p = eol + 1;
        }
        return check_cancel(op);
}

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
        return check_cancel(payload);
}

static int on_pack(int stage, uint32_t current, uint32_t total, void *payload)
{
        return check_cancel(payload);
}

/* Called first after the first chunk of the pack went out (smart transports), or while the local
 * transport writes the pack into the remote: the "push-sending" fault point. */
static int on_push_transfer(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
        struct ap_git_op *op = payload;
        if (!op->sending) {
                op->sending = true;
                if (op->r->fault_hook)
                        op->r->fault_hook(op->r->hook_userdata, "push-sending");
        }
        return check_cancel(op);
}

void ap_git_op_callbacks(struct ap_git_op *op, git_remote_callbacks *cb)
{
        git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
        cb->credentials = on_credentials;
        cb->certificate_check = on_certificate;
        cb->push_update_reference = on_push_ref;
        cb->sideband_progress = on_sideband;
        cb->transfer_progress = on_transfer;
        cb->pack_progress = on_pack;
        cb->push_transfer_progress = on_push_transfer;
        cb->payload = op;
        if (op->r->u.scheme == AP_GIT_SSH)
                cb->transport = ap_git_ssh_transport; /* kept sessions, pinned host keys (ssh_transport.c) */
}
