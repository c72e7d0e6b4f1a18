/* test_view.c - API views: a managed secret's status (Pending, Error, Committed, Applied once every
 * platform Kustomization applied its commit, Deleting), key names without values, the Secret transform
 * (values blanked, last-applied annotation gone), the OIDC transform (hostname kept, client secret gone),
 * Flux views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dashboard/view.h"
#include "kube/informer.h"

static json_t *secret(const char *committed, const char *commit, const char *err, const char *del)
{
        json_t *ann =
            json_pack("{s:s, s:s}", AP_DASH_ANN_TARGETS, "a-dev, a-prod", AP_DASH_ANN_REQUESTED_BY, "alice");
        if (committed)
                json_object_set_new(ann, AP_DASH_ANN_COMMITTED, json_string(committed));
        if (commit)
                json_object_set_new(ann, AP_DASH_ANN_COMMIT, json_string(commit));
        if (err)
                json_object_set_new(ann, AP_DASH_ANN_LAST_ERROR, json_string(err));
        if (del)
                json_object_set_new(ann, AP_DASH_ANN_DELETE, json_string(del));
        json_object_set_new(ann, "kubectl.kubernetes.io/last-applied-configuration",
                            json_string("{\"data\":\"s3cr3t\"}"));
        return json_pack("{s:{s:s, s:s, s:s, s:o}, s:{s:s, s:s}}", "metadata", "name", "db", "namespace",
                         "a-platform", "resourceVersion", "7", "annotations", ann, "data", "password",
                         "czNjcjN0", "<b>html</b>", "eA==");
}

static json_t *kust(const char *rev)
{
        return json_pack("{s:{s:s}}", "status", "lastAppliedRevision", rev);
}

static void test_status(void **state)
{
        json_t *k = json_pack("[o]", kust("main@sha1:abc123"));
        json_t *s = secret(NULL, NULL, NULL, NULL);
        assert_string_equal(ap_dash_secret_status(s, k), "Pending");
        json_decref(s);
        s = secret("false", NULL, "target 'b-dev' is not a namespace of 'a'", NULL);
        assert_string_equal(ap_dash_secret_status(s, k), "Error");
        json_decref(s);
        s = secret("true", "def456", NULL, NULL);
        assert_string_equal(ap_dash_secret_status(s, k), "Committed");
        json_decref(s);
        s = secret("true", "abc123", NULL, NULL);
        assert_string_equal(ap_dash_secret_status(s, k), "Applied");
        assert_string_equal(ap_dash_secret_status(s, NULL), "Committed"); /* no Kustomization: not applied */
        json_array_append_new(k, kust("main@sha1:0000"));
        assert_string_equal(ap_dash_secret_status(s, k), "Committed"); /* every one must have applied it */
        json_decref(s);
        s = secret("true", "abc123", NULL, "true");
        assert_string_equal(ap_dash_secret_status(s, k), "Deleting");
        json_decref(s);
        json_decref(k);
}

static void test_secret_view(void **state)
{
        json_t *s = secret("true", "abc", NULL, NULL);
        ap_kube_transform_strip_secret_values(NULL, s);
        assert_null(ap_dash_annotation(s, "kubectl.kubernetes.io/last-applied-configuration"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(s, "data"), "password")), "");
        json_t *v = ap_dash_view_secret(s, NULL);
        char *out = json_dumps(v, 0);
        assert_null(strstr(out, "czNjcjN0"));
        assert_null(strstr(out, "s3cr3t"));
        assert_non_null(strstr(out, "\"<b>html</b>\"")); /* key names are data, not markup */
        assert_string_equal(json_string_value(json_object_get(v, "targetName")), "db");
        assert_int_equal(json_array_size(json_object_get(v, "targetNamespaces")), 2);
        assert_string_equal(json_string_value(json_array_get(json_object_get(v, "targetNamespaces"), 1)),
                            "a-prod");
        assert_int_equal(json_array_size(json_object_get(v, "keys")), 2);
        free(out);
        json_decref(v);
        json_decref(s);
}

static void test_oidc_transform(void **state)
{
        json_t *s = json_pack("{s:{s:s, s:s, s:{s:s}}, s:{s:s, s:s}}", "metadata", "name", "c", "namespace",
                              "a-platform", "labels", AP_DASH_LABEL_OIDC, "my-app", "data", "hostname",
                              "YXBwLmV4YW1wbGU=", "clientSecret", "c3VwZXJzZWNyZXQ=");
        ap_dash_transform_oidc_secret(NULL, s);
        char *raw = json_dumps(s, 0);
        assert_null(strstr(raw, "c3VwZXJzZWNyZXQ="));
        json_t *v = ap_dash_view_oidc_client(s, "https://idp");
        assert_string_equal(json_string_value(json_object_get(v, "hostname")), "app.example");
        assert_string_equal(json_string_value(json_object_get(v, "callbackURL")),
                            "https://app.example/api/auth/oidc/callback");
        assert_string_equal(json_string_value(json_object_get(v, "clientId")), "my-app");
        free(raw);
        json_decref(v);
        json_decref(s);
}

static void test_flux_views(void **state)
{
        json_t *k = json_pack("{s:{s:s, s:s, s:{s:s}}, s:{s:s, s:b, s:[{s:s}], s:{s:{s:s}}}, s:{s:s, s:s, "
                              "s:[{s:s, s:s, s:s, s:s}]}}",
                              "metadata", "name", "app", "namespace", "a-dev", "labels",
                              AP_DASH_LABEL_MANAGED_BY, AP_DASH_OPERATOR, "spec", "path", "./k8s", "suspend",
                              1, "dependsOn", "name", "infra", "postBuild", "substitute", "x", "1", "status",
                              "lastAppliedRevision", "main@sha1:1", "lastAttemptedRevision", "main@sha1:2",
                              "conditions", "type", "Ready", "status", "False", "reason",
                              "DependencyNotReady", "message", "dependency 'a-dev/infra' is not ready");
        json_t *v = ap_dash_view_kustomization(k);
        assert_true(json_is_true(json_object_get(v, "managed")));
        assert_true(json_is_true(json_object_get(v, "suspended")));
        assert_string_equal(json_string_value(json_object_get(json_object_get(v, "ready"), "reason")),
                            "DependencyNotReady");
        assert_string_equal(json_string_value(json_object_get(v, "lastAttemptedRevision")), "main@sha1:2");
        assert_non_null(
            ap_dash_condition_find(json_object_get(json_object_get(k, "status"), "conditions"), "Ready"));
        assert_null(
            ap_dash_condition_find(json_object_get(json_object_get(k, "status"), "conditions"), "Healthy"));
        json_decref(v);
        json_decref(k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_status),
            cmocka_unit_test(test_secret_view),
            cmocka_unit_test(test_oidc_transform),
            cmocka_unit_test(test_flux_views),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
