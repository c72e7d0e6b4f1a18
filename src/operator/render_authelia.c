/* render_authelia.c - Authelia's complete OIDC client list, one file (pure; see render.h). Authelia has
 * no dynamic client registration and replaces lists across configuration files, so every client of every
 * app is in this one file, sorted by client_id, each field in a fixed order: the same clients always give
 * the same bytes. Keys and values follow Authelia v4.39's schema and validator
 * (internal/configuration/schema/identity_providers.go, validator/identity_providers.go). */
#include <string.h>

#include "base/base64.h"
#include "operator/oidc.h"
#include "operator/render.h"
#include "operator/yaml_out.h"

static json_t *client(const struct ap_authelia_client *c)
{
        json_t *scopes = json_pack("[s,s,s,s]", "openid", "profile", "email", "groups");
        json_t *grants = json_pack("[s]", "authorization_code");
        /* Authelia wants both or neither (validator: refresh_token without offline_access warns) */
        if (scopes && grants && c->offline_access &&
            (json_array_append_new(scopes, json_string("offline_access")) < 0 ||
             json_array_append_new(grants, json_string("refresh_token")) < 0)) {
                json_decref(scopes);
                scopes = NULL;
        }
        if (!scopes || !grants) {
                json_decref(scopes);
                json_decref(grants);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:b, s:s, s:[s], s:o, s:o, s:[s], s:s, s:s}", "client_id",
                         c->client_id, "client_name", c->client_name, "client_secret", c->digest, "public", 0,
                         "authorization_policy", c->authorization_policy, "redirect_uris", c->redirect_uri,
                         "scopes", scopes, "grant_types", grants, "response_types", "code",
                         "token_endpoint_auth_method", c->auth_method, "claims_policy",
                         AP_OIDC_CLAIMS_POLICY);
}

int ap_render_authelia_clients(const struct ap_authelia_client *clients, size_t n, struct ap_buf *out,
                               struct ap_error *err)
{
        for (size_t i = 1; i < n; i++)
                if (strcmp(clients[i - 1].client_id, clients[i].client_id) >= 0)
                        return ap_error_set(err, AP_E_INVALID,
                                            "OIDC clients are not sorted by client_id or repeat '%s'",
                                            clients[i].client_id);
        json_t *list = json_array();
        json_t *doc =
            list ? json_pack("{s:{s:{s:{s:{s:[s,s,s]}}}}}", "identity_providers", "oidc", "claims_policies",
                             AP_OIDC_CLAIMS_POLICY, "id_token", "groups", "preferred_username", "email")
                 : NULL;
        bool ok = doc != NULL;
        for (size_t i = 0; ok && i < n; i++)
                ok = json_array_append_new(list, client(&clients[i])) == 0;
        if (ok && n > 0)
                ok = json_object_set(json_object_get(json_object_get(doc, "identity_providers"), "oidc"),
                                     "clients", list) == 0;
        json_decref(list);
        if (!ok) {
                json_decref(doc);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        size_t start = out->len;
        int r = ap_buf_addstr(out, AP_RENDER_HEADER);
        if (r == 0)
                r = ap_yaml_emit1(out, doc, err);
        else
                ap_error_set(err, r, "cannot render the OIDC clients: out of memory");
        json_decref(doc);
        if (r < 0)
                ap_buf_truncate(out, start);
        return r;
}

json_t *ap_render_authelia_secret(const char *ns, const char *name, const struct ap_buf *file)
{
        struct ap_buf b = AP_BUF_INIT;
        json_t *obj = NULL;
        if (ap_base64_encode(&b, file->data, file->len, AP_B64_STD) == 0)
                obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:s%}}", "apiVersion", "v1",
                                "kind", "Secret", "metadata", "name", name, "namespace", ns, "labels",
                                AP_LABEL_MANAGED_BY, AP_MANAGED_BY, "type", "Opaque", "data",
                                AP_OIDC_CLIENTS_KEY, b.data, b.len);
        ap_buf_release(&b);
        return obj;
}
