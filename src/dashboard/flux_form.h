/* flux_form.h - checks and builders shared by the GitRepository and Kustomization create forms
 * (flux_form.c). Each check replies 422 with what is wrong and returns false. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "dash.h"

/* body.namespace is one of the app's namespaces and body.name a DNS label. */
bool ap_dash_flux_meta(const json_t *body, const struct ap_dash_app *app, struct ap_dash_resp *resp);
/* A Go duration such as "1m", "30s", "1h30m" (NULL passes: the default applies). */
bool ap_dash_flux_interval(const char *s, struct ap_dash_resp *resp);
/* {branch|tag|semver|commit|name: string}, one of them (NULL passes). */
bool ap_dash_flux_ref(const json_t *ref, struct ap_dash_resp *resp);
/* {apiVersion, kind, metadata{name, namespace}, spec{}} from body. */
json_t *ap_dash_flux_object(const json_t *body, const char *api_version, const char *kind);
