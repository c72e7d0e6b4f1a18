/* names.c - derived names and Kubernetes name checks (see names.h). */
#include "names.h"

#include <stdio.h>
#include <string.h>

static bool label_chars(const char *s, size_t n)
{
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
                        return false;
        }
        return true;
}

bool ap_is_dns1123_label(const char *s)
{
        return s && label_chars(s, strlen(s));
}

bool ap_is_dns1123_subdomain(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 253)
                return false;
        const char *p = s;
        while (true) {
                const char *dot = strchr(p, '.');
                size_t len = dot ? (size_t)(dot - p) : strlen(p);
                if (!label_chars(p, len))
                        return false;
                if (!dot)
                        return true;
                p = dot + 1;
        }
}

bool ap_is_secret_key(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 253 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_'))
                        return false;
        }
        return true;
}

int ap_app_names_init(struct ap_app_names *n, const char *app, struct ap_error *err)
{
        if (!ap_is_dns1123_label(app) || strlen(app) > AP_APP_NAME_MAX)
                return ap_error_set(
                    err, AP_E_INVALID,
                    "app name '%s' is not valid: it must be 1-%d lowercase letters, digits and "
                    "'-', starting and ending with a letter or digit",
                    app ? app : "", AP_APP_NAME_MAX);
        memset(n, 0, sizeof(*n));
        snprintf(n->app, sizeof(n->app), "%s", app);
        snprintf(n->platform_ns, sizeof(n->platform_ns), "%s-platform", app);
        snprintf(n->age_secret, sizeof(n->age_secret), "%s-platform-age-key", app);
        snprintf(n->git_auth_secret, sizeof(n->git_auth_secret), "%s-platform-git-auth", app);
        snprintf(n->flux_sa, sizeof(n->flux_sa), "%s-flux", app);
        snprintf(n->flux_object, sizeof(n->flux_object), "%s-platform", app);
        snprintf(n->default_repo, sizeof(n->default_repo), "%s-platform", app);
        return 0;
}

bool ap_app_from_platform_ns(const char *ns, char *app, size_t size)
{
        static const char suffix[] = "-platform";
        size_t n = ns ? strlen(ns) : 0, sl = sizeof(suffix) - 1;
        if (n <= sl || strcmp(ns + n - sl, suffix) != 0 || n - sl > AP_APP_NAME_MAX || n - sl >= size)
                return false;
        memcpy(app, ns, n - sl);
        app[n - sl] = '\0';
        return ap_is_dns1123_label(app);
}
