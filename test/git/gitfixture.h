/* gitfixture.h - what the git integration tests share: a real sshd (test/git/gitserver) in a private
 * folder, an operator key in its authorized_keys, bare repositories next to it, ap_git_repo objects
 * pointed at them, and `git` CLI checks. Header only, test code only. */
#pragma once

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "crypto/ssh_key.h"
#include "git/repo.h"
#include "testutil.h"

struct fixture {
        char *dir;          /* private folder: server config, repos, caches */
        const char *server; /* path of test/git/gitserver */
        unsigned port;      /* sshd */
        char user[64];      /* ssh login = the current user */
        struct ap_buf known_hosts;
        struct ap_buf identity; /* operator key, OpenSSH text */
        struct ap_ssh_key *key;
        unsigned n_caches;
};

static struct fixture fx;

static inline int fx_start_sshd(void)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (t_sh(&out, "'%s' sshd '%s'", fx.server, fx.dir) != 0)
                return -1;
        fx.port = (unsigned)strtoul(out.data, NULL, 10);
        char path[700];
        snprintf(path, sizeof(path), "%s/known_hosts", fx.dir);
        ap_buf_reset(&fx.known_hosts);
        return ap_read_file(path, &fx.known_hosts, NULL);
}

/* Restart sshd on the same port (after fx_stop_sshd). */
static inline int fx_restart_sshd(void)
{
        return t_sh(NULL, "'%s' sshd '%s' %u >/dev/null", fx.server, fx.dir, fx.port);
}

static inline void fx_stop_sshd(void)
{
        t_sh(NULL, "'%s' stop '%s' sshd", fx.server, fx.dir);
}

static inline int fx_setup(const char *tag)
{
        signal(SIGPIPE, SIG_IGN);
        fx.server = getenv("GITSERVER");
        if (!fx.server || access(fx.server, X_OK) != 0) {
                fprintf(stderr, "GITSERVER must name test/git/gitserver\n");
                return -1;
        }
        fx.dir = t_tmpdir(tag);
        struct passwd *pw = getpwuid(getuid());
        if (!fx.dir || !pw)
                return -1;
        snprintf(fx.user, sizeof(fx.user), "%s", pw->pw_name);
        ap_buf_init(&fx.known_hosts, 1 << 20);
        ap_buf_init_secret(&fx.identity, 1 << 16);
        if (fx_start_sshd() < 0)
                return -1;
        if (ap_ssh_key_generate("operator@test", &fx.key, NULL) < 0 ||
            ap_ssh_key_write_private(fx.key, &fx.identity, NULL) < 0)
                return -1;
        _cleanup_buf_ struct ap_buf pub = AP_BUF_INIT;
        ap_ssh_key_write_public(fx.key, &pub);
        return t_sh(NULL, "echo '%s' >> '%s/authorized_keys'", pub.data, fx.dir);
}

static inline int fx_teardown(void)
{
        t_sh(NULL, "'%s' stop '%s'", fx.server, fx.dir);
        if (!getenv("KEEP_TMP"))
                t_sh(NULL, "rm -rf '%s'", fx.dir);
        free(fx.dir);
        ap_buf_release(&fx.known_hosts);
        ap_buf_release(&fx.identity);
        fx.key = ap_ssh_key_free(fx.key);
        return 0;
}

/* A fresh bare repo DIR/<name>.git on branch main; returns its path in a static buffer. */
static inline const char *fx_bare(const char *name)
{
        static char path[700];
        snprintf(path, sizeof(path), "%s/%s.git", fx.dir, name);
        if (t_sh(NULL, "git init -q --bare -b main '%s'", path) != 0)
                return NULL;
        return path;
}

static inline const char *fx_ssh_url(const char *name)
{
        static char url[800];
        snprintf(url, sizeof(url), "ssh://%s@127.0.0.1:%u%s/%s.git", fx.user, fx.port, fx.dir, name);
        return url;
}

/* Default config for an SSH repo with its own cache folder; adjust before ap_git_repo_new. */
static inline struct ap_git_repo_config fx_config(const char *name)
{
        static char caches[16][700];
        char *cache = caches[fx.n_caches++ % 16];
        snprintf(cache, 700, "%s/cache-%s-%u", fx.dir, name, fx.n_caches);
        return (struct ap_git_repo_config){
            .name = name,
            .url = fx_ssh_url(name),
            .cache_dir = cache,
            .identity = fx.identity.data,
            .known_hosts = fx.known_hosts.data,
            .author_name = "Test Operator",
            .author_email = "operator@example.test",
            .retry_timeout_ms = 20000,
            .backoff_initial_ms = 50,
            .backoff_max_ms = 1000,
        };
}

/* `git` output for a command run against bare repo <name>; trailing newline stripped. */
static inline _printf_(3, 4) int fx_git(struct ap_buf *out, const char *name, const char *fmt, ...)
{
        char args[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(args, sizeof(args), fmt, ap);
        va_end(ap);
        ap_buf_reset(out);
        int rc = t_sh(out, "git --git-dir='%s/%s.git' %s", fx.dir, name, args);
        while (out->len && out->data[out->len - 1] == '\n')
                ap_buf_truncate(out, out->len - 1);
        return rc;
}

static inline unsigned fx_count_commits(const char *name)
{
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        if (fx_git(&out, name, "rev-list --count main 2>/dev/null") != 0)
                return 0;
        return (unsigned)strtoul(out.data, NULL, 10);
}
