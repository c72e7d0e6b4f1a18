/* transport.c - the libgit2 remote callbacks of one fetch or push: credentials from memory (SSH key text
 * or HTTPS token, never ssh-agent or ~/.ssh), the host-key check against the pinned known_hosts, and the
 * per-ref push status (a push can "succeed" while the server refuses the ref). */
#include <stdio.h>
#include <string.h>

#include "git/repo_internal.h"

/* libgit2 asks again after the server refused a credential: hand out the key or token once only. */
static int on_credentials(git_credential **out, const char *url, const char *username_from_url,
                          unsigned int allowed, void *payload)
{
        struct ap_git_op *op = payload;
        struct ap_git_repo *r = op->r;
        const char *user = r->ssh_user                               ? r->ssh_user
                           : username_from_url && *username_from_url ? username_from_url
                                                                     : "git";
        if (r->u.scheme == AP_GIT_SSH && (allowed & GIT_CREDENTIAL_USERNAME) &&
            !(allowed & GIT_CREDENTIAL_SSH_MEMORY))
                return git_credential_username_new(out, user);
        if (op->cred_calls++ > 0) {
                git_error_set_str(GIT_ERROR_NET, "authentication failed");
                return GIT_EAUTH;
        }
        if (r->u.scheme == AP_GIT_SSH && r->identity && (allowed & GIT_CREDENTIAL_SSH_MEMORY))
                return git_credential_ssh_key_memory_new(out, user, NULL, r->identity, NULL);
        if (r->u.scheme != AP_GIT_SSH && r->token && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT))
                return git_credential_userpass_plaintext_new(out, r->token_user, r->token);
        op->no_credentials = true;
        git_error_set_str(GIT_ERROR_NET, "the server asks for credentials and none are configured");
        return GIT_EAUTH;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
        struct ap_git_op *op = payload;
        struct ap_git_repo *r = op->r;
        if (cert->cert_type == GIT_CERT_X509) {
                /* TLS: libgit2 verified the chain against the system store; keep its verdict */
                if (valid)
                        return 0;
                ap_error_set(&op->host_err, -EKEYREJECTED,
                             "the tls certificate of '%s' is not trusted by the system certificate store",
                             host);
                return GIT_ECERTIFICATE;
        }
        if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
                ap_error_set(&op->host_err, -EKEYREJECTED, "unsupported certificate type from '%s'", host);
                return GIT_ECERTIFICATE;
        }
        const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
        if (!(hk->type & GIT_CERT_SSH_RAW)) {
                ap_error_set(&op->host_err, -EKEYREJECTED, "no raw host key from '%s' to check", host);
                return GIT_ECERTIFICATE;
        }
        if (!r->known_hosts) {
                ap_error_set(&op->host_err, -ENOKEY,
                             "no known_hosts pinned for '%s'; configure the known_hosts of the ssh server",
                             host);
                return GIT_ECERTIFICATE;
        }
        /* libgit2 passes the host without the port; the port comes from our own URL */
        if (ap_known_hosts_check(r->known_hosts, host, r->u.port, hk->hostkey, hk->hostkey_len,
                                 &op->host_err) < 0)
                return GIT_ECERTIFICATE;
        return 0;
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

void ap_git_op_callbacks(struct ap_git_op *op, git_remote_callbacks *cb)
{
        git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
        cb->credentials = on_credentials;
        cb->certificate_check = on_certificate;
        cb->push_update_reference = on_push_ref;
        cb->payload = op;
        if (op->r->u.scheme == AP_GIT_SSH)
                cb->transport = ap_git_ssh_transport; /* kept sessions, pinned host keys (ssh_transport.c) */
}
