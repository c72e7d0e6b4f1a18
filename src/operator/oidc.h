/* oidc.h - OIDC client registrations (DESIGN 1.2, 1.3; the developer guide's "OIDC / SSO Integration"):
 * what an app's Secret labelled labrats.work/oidc-client=<client_id> asks for, checked against the app
 * and the base domain, and what it yields (the redirect URI, the values delivered to the app's
 * namespaces). Pure functions (oidc_spec.c), unit-tested; the reconciler is oidc_client.c and
 * oidc_authelia.c, the rendering of Authelia's client list render_authelia.c (render.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

/* Keys of the OIDC Secret's data. */
#define AP_OIDC_KEY_HOSTNAME "hostname"     /* required: <app>.<base-domain> or *.<app>.<base-domain> */
#define AP_OIDC_KEY_CALLBACK "callbackPath" /* optional, default AP_OIDC_DEFAULT_CALLBACK */
#define AP_OIDC_KEY_SECRET   "clientSecret" /* written once by the operator */
#define AP_OIDC_KEY_NAME     "clientName"   /* optional: shown on Authelia's consent page */
#define AP_OIDC_KEY_POLICY   "authorizationPolicy" /* optional: two_factor (default), one_factor */
#define AP_OIDC_KEY_AUTH_METHOD                                                                              \
        "tokenEndpointAuthMethod" /* optional: client_secret_basic (default), _post                          \
                                   */
#define AP_OIDC_KEY_OFFLINE                                                                                  \
        "offlineAccess" /* optional: "true" adds the offline_access scope and the refresh_token grant */
#define AP_OIDC_DEFAULT_CALLBACK  "/api/auth/oidc/callback"
#define AP_OIDC_CLIENT_ID_MAX     100 /* Authelia's limit */
#define AP_OIDC_NAME_MAX          100
#define AP_OIDC_CALLBACK_MAX      512
#define AP_OIDC_SECRET_LEN        72 /* generated: 72 characters, 432 bits */
#define AP_OIDC_SECRET_MIN        64 /* a clientSecret written by hand must be at least this long */
#define AP_OIDC_SECRET_MAX        256
#define AP_OIDC_CLAIMS_POLICY     "app-platform" /* the claims policy every rendered client uses */
#define AP_OIDC_CLIENTS_KEY       "clients.yml"  /* the key of the rendered Secret */
#define AP_ANN_OIDC_CLIENTS_HASH  "labrats.work/oidc-clients-hash" /* on Authelia's pod template */
#define AP_OIDC_STATUS_REGISTERED "Registered"
#define AP_OIDC_STATUS_PENDING    "Pending"

/* Delivered keys (labrats.work/target-namespaces). */
#define AP_OIDC_OUT_SECRET   "clientSecret"
#define AP_OIDC_OUT_ID       "client-id"
#define AP_OIDC_OUT_ISSUER   "issuer-url"
#define AP_OIDC_OUT_CALLBACK "callback-url"

/* One client as checked. Strings are NUL-terminated copies; policy and auth method point at static
 * strings. */
struct ap_oidc_spec {
        char client_id[AP_OIDC_CLIENT_ID_MAX + 1];
        char client_name[AP_OIDC_NAME_MAX + 1];
        char hostname[254];
        char callback_path[AP_OIDC_CALLBACK_MAX + 1];
        char redirect_uri[8 + 253 + AP_OIDC_CALLBACK_MAX + 1]; /* https://<hostname><callbackPath> */
        const char *authorization_policy;                      /* "two_factor" or "one_factor" */
        const char *auth_method; /* "client_secret_basic" or "client_secret_post" */
        bool offline_access;     /* refresh tokens: offline_access scope, refresh_token grant */
        bool has_secret;         /* data holds a usable clientSecret */
};

/* Check the request of one OIDC Secret of app (NULL for a platform client: a Secret in the operator
 * namespace, for the platform's own services such as the dashboard, whose hostname may be any name
 * under base_domain): client_id (its label value) and data (the Secret's data:
 * key -> base64). base_domain is --base-domain. On success fills *ret and, when ret_secret is not NULL
 * and data holds one, appends the clientSecret to ret_secret (a secret buffer). Returns 0 when valid,
 * AP_E_INVALID with a sentence for the user in why (never a secret value) otherwise, -ENOMEM. */
_warn_unused_ int ap_oidc_spec_parse(const char *app, const char *base_domain, const char *client_id,
                                     const json_t *data, struct ap_oidc_spec *ret, struct ap_buf *ret_secret,
                                     char *why, size_t why_size);

/* A clientSecret the operator generates: AP_OIDC_SECRET_LEN characters from the OS CSPRNG into out
 * (a secret buffer). */
_warn_unused_ int ap_oidc_generate_secret(struct ap_buf *out);

/* What target-namespaces delivery puts into each target Secret: clientSecret, client-id, issuer-url and
 * callback-url, as a Secret's data object (base64 values, keys sorted). NULL when out of memory. */
json_t *ap_oidc_delivery_data(const struct ap_oidc_spec *s, const char *issuer_url, const char *secret,
                              size_t secret_len);

/* A fingerprint of everything the rendered client depends on (the spec and the plaintext secret), as 64
 * hex characters: equal fingerprints render the same client. */
void ap_oidc_fingerprint(const struct ap_oidc_spec *s, const char *secret, size_t secret_len, char out[65]);
