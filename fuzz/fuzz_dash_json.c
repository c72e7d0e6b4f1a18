/* fuzz_dash_json.c - libFuzzer target: JSON the dashboard reads (request bodies, and objects from the
 * apiserver): parsed as jansson does for a request body, then put through every view and the Flux form
 * checks; nothing may crash, and a Secret view never carries a data value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/flux_form.h"
#include "dashboard/view.h"
#include "kube/informer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!o)
                return 0;
        json_t *views[] = {ap_dash_view_registration(o), ap_dash_view_gitrepository(o),
                           ap_dash_view_kustomization(o), ap_dash_view_namespace("n", "app", o),
                           ap_dash_view_oidc_client(o, "https://idp")};
        for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
                json_decref(views[i]);
        json_t *kusts = json_pack("[O]", o);
        ap_dash_secret_status(o, kusts);
        ap_dash_transform_oidc_secret(NULL, o);
        ap_kube_transform_strip_secret_values(NULL, o);
        json_t *sv = ap_dash_view_secret(o, kusts);
        json_t *d = json_object_get(o, "data");
        const char *k;
        json_t *v;
        json_object_foreach(d, k, v) if (json_string_length(v) != 0) abort(); /* stripped */
        json_decref(sv);
        struct ap_dash_resp resp = {.body = AP_BUF_INIT};
        ap_dash_flux_ref(json_object_get(o, "ref"), &resp);
        ap_dash_flux_interval(json_string_value(json_object_get(o, "interval")), &resp);
        ap_buf_release(&resp.body);
        json_decref(kusts);
        json_decref(o);
        return 0;
}
