/* flux_form.c - shared checks and builders of the Flux create forms (see flux_form.h). */
#include "flux_form.h"

#include <string.h>

#include "view.h"

bool ap_dash_flux_meta(const json_t *body, const struct ap_dash_app *app, struct ap_dash_resp *resp)
{
        const char *ns = json_string_value(json_object_get(body, "namespace"));
        const char *name = json_string_value(json_object_get(body, "name"));
        if (!ns || !ap_dash_app_has_namespace(app, ns)) {
                ap_dash_reply_error(resp, 422, "namespace must be one of the namespaces of '%s'", app->name);
                return false;
        }
        if (!ap_dash_dns_label(name, 63)) {
                ap_dash_reply_error(resp, 422, "name holds lowercase letters, digits and '-' (at most 63)");
                return false;
        }
        return true;
}

bool ap_dash_flux_interval(const char *s, struct ap_dash_resp *resp)
{
        if (!s)
                return true;
        bool ok = *s != '\0' && strlen(s) <= 32;
        for (const char *p = s; ok && *p;) {
                const char *start = p;
                while (*p >= '0' && *p <= '9')
                        p++;
                if (p == start)
                        ok = false;
                else if (strncmp(p, "ms", 2) == 0)
                        p += 2;
                else if (*p == 'h' || *p == 'm' || *p == 's')
                        p++;
                else
                        ok = false;
        }
        if (!ok)
                ap_dash_reply_error(resp, 422, "interval '%s' is not a duration like 1m, 30s or 1h30m", s);
        return ok;
}

bool ap_dash_flux_ref(const json_t *ref, struct ap_dash_resp *resp)
{
        static const char *const keys[] = {"branch", "tag", "semver", "commit", "name"};
        if (!ref)
                return true;
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ref, k, v)
        {
                bool known = false;
                for (size_t i = 0; i < AP_ARRAY_SIZE(keys); i++)
                        known |= strcmp(k, keys[i]) == 0;
                if (!known || !ap_dash_printable(json_string_value(v), 256)) {
                        ap_dash_reply_error(resp, 422,
                                            "ref.%s must be one of branch, tag, semver, commit, name with a "
                                            "string value",
                                            k);
                        return false;
                }
                n++;
        }
        if (!json_is_object(ref) || n == 0) {
                ap_dash_reply_error(resp, 422, "ref must name a branch, tag, semver range or commit");
                return false;
        }
        return true;
}

json_t *ap_dash_flux_object(const json_t *body, const char *api_version, const char *kind)
{
        const char *ns = json_string_value(json_object_get(body, "namespace"));
        const char *name = json_string_value(json_object_get(body, "name"));
        return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}", "apiVersion", api_version, "kind", kind,
                         "metadata", "name", name, "namespace", ns, "spec");
}
