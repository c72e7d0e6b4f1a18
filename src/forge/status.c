/* status.c - what a forge's HTTP answer means (pure; unit-tested): the shared error code of a status,
 * whether it is a rate limit and how long the forge asks us to wait, and "already exists" told apart from
 * other 409/422 answers by their body. Rate limits follow GitHub's "Rate limits for the REST API": 429, or
 * 403 with x-ratelimit-remaining 0 (primary: wait until x-ratelimit-reset), or 403/429 with retry-after or
 * a "secondary rate limit" message (wait retry-after seconds, else at least a minute). */
#include <string.h>
#include <strings.h>

#include "forge/forge_internal.h"

#define SECONDARY_WAIT_MS 60000 /* GitHub: "otherwise, wait for at least one minute" */

void ap_forge_http_meta_init(struct ap_forge_http_meta *m)
{
        *m =
            (struct ap_forge_http_meta){.retry_after_s = -1, .ratelimit_remaining = -1, .ratelimit_reset = 0};
}

static bool says_rate_limit(const char *body, size_t len)
{
        char msg[300];
        ap_forge_json_message(body, len, msg, sizeof(msg));
        return strcasestr(msg, "rate limit") != NULL;
}

int ap_forge_status_error(long status, const struct ap_forge_http_meta *m, const char *body, size_t len,
                          time_t now, int64_t *ret_wait_ms)
{
        int64_t wait = m->retry_after_s >= 0 ? m->retry_after_s * 1000 : -1;
        int code;
        bool limited = status == 429 ||
                       (status == 403 &&
                        (m->ratelimit_remaining == 0 || m->retry_after_s >= 0 || says_rate_limit(body, len)));
        if (limited) {
                code = AP_E_RATE_LIMITED;
                if (wait < 0 && m->ratelimit_remaining == 0 && m->ratelimit_reset > 0)
                        /* primary limit: until the window resets (one second of slack for clock skew) */
                        wait = ((int64_t)m->ratelimit_reset > (int64_t)now
                                    ? ((int64_t)m->ratelimit_reset - (int64_t)now) * 1000
                                    : 0) +
                               1000;
                if (wait < 0)
                        wait = SECONDARY_WAIT_MS;
        } else if (status == 401) {
                code = AP_E_UNAUTHORIZED;
        } else if (status == 403) {
                code = AP_E_FORBIDDEN;
        } else if (status == 404 || status == 410) {
                code = AP_E_NOT_FOUND;
        } else if (status == 409) {
                code = ap_forge_json_says_exists(body, len) ? AP_E_EXISTS : AP_E_CONFLICT;
        } else if (status == 422) {
                code = ap_forge_json_says_exists(body, len) ? AP_E_EXISTS : AP_E_INVALID;
        } else if (status == 400) {
                code = AP_E_INVALID;
        } else if (status >= 500) {
                code = AP_E_UNAVAILABLE;
        } else {
                code = -EIO;
        }
        if (code != AP_E_RATE_LIMITED && code != AP_E_UNAVAILABLE)
                wait = -1;
        *ret_wait_ms = wait;
        return code;
}
