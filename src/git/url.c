/* url.c - splitting Git remote URLs (git-clone(1) "GIT URLS") into scheme, user, host, port and path. */
#include "git/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct ap_error *err, const char *url, const char *why)
{
        char shown[256];
        return ap_error_set(err, AP_E_INVALID, "'%s' is not a usable git url: %s",
                            ap_git_url_redact(url, shown, sizeof(shown)), why);
}

static bool copy(char *dst, size_t cap, const char *s, size_t n)
{
        if (n >= cap)
                return false;
        memcpy(dst, s, n);
        dst[n] = '\0';
        return true;
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* "user@host:port" or "[v6]:port" between the scheme and the path. */
static int parse_authority(const char *url, const char *a, size_t n, struct ap_git_url *u,
                           struct ap_error *err)
{
        const char *at = memrchr(a, '@', n);
        if (at) {
                const char *colon = memchr(a, ':', (size_t)(at - a));
                size_t ulen = colon ? (size_t)(colon - a) : (size_t)(at - a); /* password dropped */
                if (!copy(u->user, sizeof(u->user), a, ulen))
                        return bad(err, url, "user name too long");
                n -= (size_t)(at + 1 - a);
                a = at + 1;
        }
        const char *hend = a + n, *portstr = NULL;
        if (n > 0 && *a == '[') {
                const char *rb = memchr(a, ']', n);
                if (!rb)
                        return bad(err, url, "unterminated '[' in host");
                if (!copy(u->host, sizeof(u->host), a + 1, (size_t)(rb - a - 1)))
                        return bad(err, url, "host too long");
                if (rb + 1 < a + n) {
                        if (rb[1] != ':')
                                return bad(err, url, "junk after ']'");
                        portstr = rb + 2;
                }
        } else {
                const char *colon = memchr(a, ':', n);
                if (colon) {
                        hend = colon;
                        portstr = colon + 1;
                }
                if (!copy(u->host, sizeof(u->host), a, (size_t)(hend - a)))
                        return bad(err, url, "host too long");
        }
        if (!u->host[0])
                return bad(err, url, "no host");
        if (portstr && portstr < a + n) {
                unsigned long port = 0;
                for (const char *p = portstr; p < a + n; p++) {
                        if (*p < '0' || *p > '9' || port > 65535)
                                return bad(err, url, "bad port");
                        port = port * 10 + (unsigned long)(*p - '0');
                }
                if (port == 0 || port > 65535)
                        return bad(err, url, "port out of range");
                u->port = (unsigned)port;
        }
        return 0;
}

int ap_git_url_parse(const char *url, struct ap_git_url *ret, struct ap_error *err)
{
        struct ap_git_url u = {0};
        if (strlen(url) >= AP_GIT_URL_MAX || !url[0])
                return bad(err, url, "empty or too long");
        if (!printable(url))
                return bad(err, url, "contains spaces or control characters");
        const char *sep = strstr(url, "://");
        if (sep) {
                size_t sl = (size_t)(sep - url);
                if (sl == 3 && strncmp(url, "ssh", 3) == 0)
                        u.scheme = AP_GIT_SSH, u.port = 22;
                else if (sl == 5 && strncmp(url, "https", 5) == 0)
                        u.scheme = AP_GIT_HTTPS, u.port = 443;
                else if (sl == 4 && strncmp(url, "http", 4) == 0)
                        u.scheme = AP_GIT_HTTP, u.port = 80;
                else if (sl == 4 && strncmp(url, "file", 4) == 0)
                        u.scheme = AP_GIT_LOCAL;
                else
                        return bad(err, url, "scheme must be ssh, https, http or file");
                const char *a = sep + 3;
                const char *slash = strchr(a, '/');
                if (u.scheme == AP_GIT_LOCAL) {
                        if (a != slash)
                                return bad(err, url, "file urls must be file:///absolute/path");
                } else {
                        if (!slash)
                                return bad(err, url, "no repository path");
                        int r = parse_authority(url, a, (size_t)(slash - a), &u, err);
                        if (r < 0)
                                return r;
                }
                if (!copy(u.path, sizeof(u.path), slash, strlen(slash)))
                        return bad(err, url, "path too long");
        } else if (url[0] == '/' || url[0] == '.') {
                u.scheme = AP_GIT_LOCAL;
                if (!copy(u.path, sizeof(u.path), url, strlen(url)))
                        return bad(err, url, "path too long");
        } else {
                /* scp-like: [user@]host:path, the colon before any slash (git-clone(1)) */
                const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
                if (!colon || (slash && slash < colon))
                        return bad(err, url, "use ssh://, https://, http://, file:// or an absolute path");
                u.scheme = AP_GIT_SSH;
                u.port = 22;
                int r = parse_authority(url, url, (size_t)(colon - url), &u, err);
                if (r < 0)
                        return r;
                if (u.port != 22)
                        return bad(err, url, "scp-like urls cannot carry a port; use ssh://host:port/path");
                if (!copy(u.path, sizeof(u.path), colon + 1, strlen(colon + 1)))
                        return bad(err, url, "path too long");
        }
        if (!u.path[0] || strcmp(u.path, "/") == 0)
                return bad(err, url, "no repository path");
        *ret = u;
        return 0;
}

const char *ap_git_url_redact(const char *url, char *out, size_t outlen)
{
        const char *sep = strstr(url, "://");
        const char *a = sep ? sep + 3 : NULL;
        const char *slash = a ? strchr(a, '/') : NULL;
        const char *at = a ? memrchr(a, '@', slash ? (size_t)(slash - a) : strlen(a)) : NULL;
        const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
        if (colon)
                snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
        else
                snprintf(out, outlen, "%s", url);
        return out;
}
