/* url.h - the parts of a Git remote URL the transport needs: scheme, user, host, port and path, from
 * "ssh://user@host:port/path", scp-like "user@host:path", "https://host/path", "file:///path" or a plain
 * local path. Used to pick credentials and to match host keys against "[host]:port" lines. */
#pragma once

#include <stdbool.h>

#include "base/error.h"

enum ap_git_scheme { AP_GIT_SSH, AP_GIT_HTTPS, AP_GIT_HTTP, AP_GIT_LOCAL };

#define AP_GIT_URL_MAX 2048

struct ap_git_url {
        enum ap_git_scheme scheme;
        char user[128]; /* "" when the URL names none */
        char host[256]; /* without brackets for IPv6 literals; "" for local */
        unsigned port;  /* the scheme's default when the URL names none (22, 443, 80); 0 for local */
        char path[AP_GIT_URL_MAX];
};

/* Parse url into ret; -EINVAL with a message naming the URL when it is not one of the forms above. */
int ap_git_url_parse(const char *url, struct ap_git_url *ret, struct ap_error *err) _warn_unused_;

/* Write url into out (returned) with any password ("https://user:secret@host") replaced by "***", for
 * messages. */
const char *ap_git_url_redact(const char *url, char *out, size_t outlen);
