/* ssh_transport.c - our SSH subtransport for libgit2's smart protocol, on libssh2. One authenticated
 * session per repository stays open between operations (each git command is one exec channel on it), so
 * a push costs a channel instead of a TCP connect + key exchange + authentication. The server's host key
 * must match the pinned known_hosts; the client key comes from memory. Replaces libgit2's own ssh
 * transport, which reads ~/.ssh/known_hosts and reconnects every time. */
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <git2/sys/transport.h>

#include "base/clock.h"
#include "git/repo_internal.h"

#define CONNECT_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS      60000
#define MAX_IDLE_MS        120000 /* reconnect rather than trust a session idle for longer */

/* libssh2 host key algorithms we can name in a method preference */
static const char *const supported_hostkeys[] = {
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
};

struct ssh_stream {
        git_smart_subtransport_stream parent;
        struct ssh_sub *sub;
        LIBSSH2_CHANNEL *channel;
};

struct ssh_sub {
        git_smart_subtransport parent;
        struct ap_git_op *op;
        struct ssh_stream *current;
};

static void ssh_fail(struct ap_git_repo *r, const char *what)
{
        char *msg = NULL;
        if (r->ssh_session)
                libssh2_session_last_error(r->ssh_session, &msg, NULL, 0);
        git_error_set(GIT_ERROR_SSH, "%s: %s", what, msg && *msg ? msg : "connection lost");
}

void ap_git_ssh_close(struct ap_git_repo *r)
{
        if (r->ssh_session) {
                libssh2_session_disconnect(r->ssh_session, "closing");
                libssh2_session_free(r->ssh_session);
                r->ssh_session = NULL;
        }
        if (r->ssh_fd >= 0) {
                close(r->ssh_fd);
                r->ssh_fd = -1;
        }
}

static int connect_socket(struct ap_git_repo *r)
{
        char port[16];
        snprintf(port, sizeof(port), "%u", r->u.port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
        int e = getaddrinfo(r->u.host, port, &hints, &res);
        if (e != 0) {
                git_error_set(GIT_ERROR_NET, "failed to connect to %s: cannot resolve: %s", r->u.host,
                              gai_strerror(e));
                return -1;
        }
        int fd = -1, last = ECONNREFUSED;
        for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (fd < 0) {
                        last = errno;
                        continue;
                }
                int rc = connect(fd, a->ai_addr, a->ai_addrlen);
                if (rc < 0 && errno == EINPROGRESS) {
                        struct pollfd p = {.fd = fd, .events = POLLOUT};
                        int n = poll(&p, 1, CONNECT_TIMEOUT_MS);
                        socklen_t len = sizeof(last);
                        if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &len) == 0 && last == 0)
                                rc = 0;
                        else if (n == 0)
                                last = ETIMEDOUT;
                } else if (rc < 0) {
                        last = errno;
                }
                if (rc < 0) {
                        close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(res);
        if (fd < 0) {
                git_error_set(GIT_ERROR_NET, "failed to connect to %s:%u: %s", r->u.host, r->u.port,
                              strerror(last));
                return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
}

static int open_session(struct ap_git_repo *r, struct ap_git_op *op)
{
        r->ssh_fd = connect_socket(r);
        if (r->ssh_fd < 0)
                return -1;
        r->ssh_session = libssh2_session_init();
        if (!r->ssh_session) {
                ap_git_ssh_close(r);
                git_error_set_oom();
                return -1;
        }
        libssh2_session_set_blocking(r->ssh_session, 1);
        libssh2_session_set_timeout(r->ssh_session, IO_TIMEOUT_MS);

        /* ask for a host key type we have pinned (the server may hold several) */
        char types[256], pref[256] = "";
        ap_known_hosts_types(r->known_hosts, r->u.host, r->u.port, types, sizeof(types));
        for (const char *p = types; *p;) {
                size_t l = strcspn(p, ",");
                for (size_t i = 0; i < AP_ARRAY_SIZE(supported_hostkeys); i++)
                        if (strlen(supported_hostkeys[i]) == l && strncmp(p, supported_hostkeys[i], l) == 0 &&
                            strlen(pref) + l + 2 < sizeof(pref))
                                snprintf(pref + strlen(pref), sizeof(pref) - strlen(pref), "%s%.*s",
                                         pref[0] ? "," : "", (int)l, p);
                p += l + (p[l] == ',');
        }
        if (pref[0])
                libssh2_session_method_pref(r->ssh_session, LIBSSH2_METHOD_HOSTKEY, pref);

        if (libssh2_session_handshake(r->ssh_session, r->ssh_fd) < 0) {
                ssh_fail(r, "ssh handshake failed");
                ap_git_ssh_close(r);
                return -1;
        }
        size_t keylen = 0;
        int keytype = 0;
        const char *key = libssh2_session_hostkey(r->ssh_session, &keylen, &keytype);
        if (!key ||
            ap_known_hosts_check(r->known_hosts, r->u.host, r->u.port, key, keylen, &op->host_err) < 0) {
                if (!key)
                        ap_error_set(&op->host_err, -EKEYREJECTED, "'%s' sent no host key", r->u.host);
                ap_git_ssh_close(r);
                git_error_set_str(GIT_ERROR_SSH, "host key refused");
                return GIT_ECERTIFICATE;
        }
        const char *user = r->ssh_user ? r->ssh_user : r->u.user[0] ? r->u.user : "git";
        if (!r->identity) {
                op->no_credentials = true;
                ap_git_ssh_close(r);
                git_error_set_str(GIT_ERROR_SSH, "the server asks for credentials and none are configured");
                return GIT_EAUTH;
        }
        if (libssh2_userauth_publickey_frommemory(r->ssh_session, user, strlen(user), NULL, 0, r->identity,
                                                  strlen(r->identity), NULL) < 0) {
                int e = libssh2_session_last_errno(r->ssh_session);
                ssh_fail(r, "authentication failed");
                ap_git_ssh_close(r);
                bool refused =
                    e == LIBSSH2_ERROR_AUTHENTICATION_FAILED || e == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED;
                return refused ? GIT_EAUTH : -1;
        }
        return 0;
}

/* The remote command, with the path single-quoted as git does for ssh (quote.c sq_quote_buf). */
static int build_command(struct ap_git_repo *r, const char *cmd, struct ap_buf *out)
{
        const char *path = r->u.path;
        if (path[0] == '/' && path[1] == '~') /* ssh://host/~user/repo means ~user/repo */
                path++;
        int rc = ap_buf_printf(out, "%s '", cmd);
        for (const char *p = path; rc >= 0 && *p; p++)
                rc = *p == '\'' ? ap_buf_addstr(out, "'\\''") : ap_buf_addch(out, *p);
        return rc < 0 ? rc : ap_buf_addch(out, '\'');
}

/* A channel running cmd, on the kept session when it still works, else on a new one. */
static int open_channel(struct ap_git_repo *r, struct ap_git_op *op, const char *cmd, LIBSSH2_CHANNEL **ret)
{
        _cleanup_buf_ struct ap_buf line = AP_BUF_INIT;
        if (build_command(r, cmd, &line) < 0) {
                git_error_set_oom();
                return -1;
        }
        if (r->ssh_session && ap_mono_ms() - r->ssh_last_used > MAX_IDLE_MS)
                ap_git_ssh_close(r);
        for (int attempt = 0; attempt < 2; attempt++) {
                bool fresh = !r->ssh_session;
                if (fresh) {
                        int rc = open_session(r, op);
                        if (rc < 0)
                                return rc;
                }
                LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(r->ssh_session);
                if (ch && libssh2_channel_exec(ch, line.data) == 0) {
                        r->ssh_last_used = ap_mono_ms();
                        *ret = ch;
                        return 0;
                }
                ssh_fail(r, "cannot run git on the ssh server");
                if (ch)
                        libssh2_channel_free(ch);
                ap_git_ssh_close(r); /* the kept session went stale: one more try on a new one */
                if (fresh)
                        return -1;
        }
        return -1;
}

/* Between reads and writes: a cancelled call stops here (a read already waiting is not interrupted). */
static int stop_if_cancelled(struct ap_git_op *op)
{
        if (!ap_git_cancelled(op->r))
                return 0;
        op->cancelled = true;
        git_error_set_str(GIT_ERROR_NET, "cancelled");
        return -1;
}

static int stream_read(git_smart_subtransport_stream *stream, char *buffer, size_t size, size_t *bytes_read)
{
        struct ssh_stream *s = (struct ssh_stream *)stream;
        struct ap_git_repo *r = s->sub->op->r;
        *bytes_read = 0;
        if (stop_if_cancelled(s->sub->op) < 0)
                return -1;
        ssize_t n = libssh2_channel_read(s->channel, buffer, size);
        if (n < 0) {
                ssh_fail(r, "ssh read failed");
                return -1;
        }
        if (n == 0) {
                /* no output: the command failed; its stderr says why ("does not appear to be a git
                 * repository") */
                char msg[1024];
                ssize_t m = libssh2_channel_read_stderr(s->channel, msg, sizeof(msg) - 1);
                if (m > 0) {
                        while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == '\r'))
                                m--;
                        msg[m] = '\0';
                        for (char *c = msg; *c; c++) /* one line for the error message */
                                if (*c == '\n' || *c == '\r' || (unsigned char)*c < 0x20)
                                        *c = ' ';
                        git_error_set(GIT_ERROR_SSH, "%s", msg);
                        return GIT_EEOF;
                }
        }
        r->ssh_last_used = ap_mono_ms();
        *bytes_read = (size_t)n;
        return 0;
}

static int stream_write(git_smart_subtransport_stream *stream, const char *buffer, size_t len)
{
        struct ssh_stream *s = (struct ssh_stream *)stream;
        if (stop_if_cancelled(s->sub->op) < 0)
                return -1;
        for (size_t off = 0; off < len;) {
                ssize_t n = libssh2_channel_write(s->channel, buffer + off, len - off);
                if (n < 0) {
                        ssh_fail(s->sub->op->r, "ssh write failed");
                        return -1;
                }
                off += (size_t)n;
        }
        return 0;
}

static void stream_free(git_smart_subtransport_stream *stream)
{
        struct ssh_stream *s = (struct ssh_stream *)stream;
        if (!s)
                return;
        struct ap_git_repo *r = s->sub->op->r;
        if (s->sub->current == s)
                s->sub->current = NULL;
        /* a clean close keeps the session for the next command; a failed one drops it, and so does a
         * cancelled one (the server may still be sending: do not wait for it) */
        if (s->sub->op->cancelled || libssh2_channel_close(s->channel) < 0 ||
            libssh2_channel_wait_closed(s->channel) < 0)
                ap_git_ssh_close(r);
        if (r->ssh_session)
                libssh2_channel_free(s->channel);
        free(s);
}

static int sub_action(git_smart_subtransport_stream **out, git_smart_subtransport *subtransport,
                      const char *url, git_smart_service_t action)
{
        struct ssh_sub *t = (struct ssh_sub *)subtransport;
        *out = NULL;
        if (action == GIT_SERVICE_UPLOADPACK || action == GIT_SERVICE_RECEIVEPACK) {
                /* the command started by the *_LS step carries on */
                if (!t->current) {
                        git_error_set_str(GIT_ERROR_NET, "no ssh command is running");
                        return -1;
                }
                *out = &t->current->parent;
                return 0;
        }
        const char *cmd = action == GIT_SERVICE_UPLOADPACK_LS ? "git-upload-pack" : "git-receive-pack";
        struct ssh_stream *s = calloc(1, sizeof(*s));
        if (!s) {
                git_error_set_oom();
                return -1;
        }
        int rc = open_channel(t->op->r, t->op, cmd, &s->channel);
        if (rc < 0) {
                free(s);
                return rc;
        }
        s->parent.subtransport = subtransport;
        s->parent.read = stream_read;
        s->parent.write = stream_write;
        s->parent.free = stream_free;
        s->sub = t;
        t->current = s;
        *out = &s->parent;
        return 0;
}

static int sub_close(git_smart_subtransport *subtransport)
{
        return 0;
}

static void sub_free(git_smart_subtransport *subtransport)
{
        free(subtransport);
}

static int sub_new(git_smart_subtransport **out, git_transport *owner, void *param)
{
        struct ssh_sub *t = calloc(1, sizeof(*t));
        if (!t) {
                git_error_set_oom();
                return -1;
        }
        t->op = param;
        t->parent.action = sub_action;
        t->parent.close = sub_close;
        t->parent.free = sub_free;
        *out = &t->parent;
        return 0;
}

int ap_git_ssh_transport(git_transport **out, git_remote *owner, void *payload)
{
        git_smart_subtransport_definition def = {.callback = sub_new, .rpc = 0, .param = payload};
        return git_transport_smart(out, owner, &def);
}
