/* test_url.c - URL building (core/grouped, namespaced/cluster-scoped, subresources, escaping of names and
 * selectors, rejected names) and the keymap under churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kube/keymap.h"
#include "kube/url.h"

static const char *build(struct ap_buf *b, const struct ap_kube_resource *r, const char *ns, const char *name,
                         const struct ap_kube_opts *o)
{
        ap_buf_reset(b);
        struct ap_error err = AP_ERROR_INIT;
        int rc = ap_kube_url_build(b, "https://127.0.0.1:6443/", r, ns, name, o, &err);
        return rc == 0 ? b->data : NULL;
}

static void test_paths(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_string_equal(build(&b, &ap_kube_res_secrets, "ns1", "s1", NULL),
                            "https://127.0.0.1:6443/api/v1/namespaces/ns1/secrets/s1");
        assert_string_equal(build(&b, &ap_kube_res_secrets, NULL, NULL, NULL),
                            "https://127.0.0.1:6443/api/v1/secrets");
        assert_string_equal(build(&b, &ap_kube_res_namespaces, NULL, "ns1", NULL),
                            "https://127.0.0.1:6443/api/v1/namespaces/ns1");
        assert_string_equal(
            build(&b, &ap_kube_res_leases, "kube-system", "op", NULL),
            "https://127.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/op");
        struct ap_kube_resource apr = {"labrats.work", "v1alpha1", "appplatformregistrations",
                                       "AppPlatformRegistration", false};
        struct ap_kube_opts st = {.subresource = "status"};
        assert_string_equal(
            build(&b, &apr, NULL, "my-diet", &st),
            "https://127.0.0.1:6443/apis/labrats.work/v1alpha1/appplatformregistrations/my-diet/status");
}

static void test_query_escaping(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        struct ap_kube_opts o = {
            .label_selector = "labrats.work/managed-secret=true,app in (a,b),!x",
            .field_selector = "metadata.name=a b",
            .limit = 500,
            .continue_token = "eyJ2Ijo+/=",
            .resource_version = "0",
            .watch = true,
            .allow_watch_bookmarks = true,
            .timeout_seconds = 300,
        };
        assert_string_equal(
            build(&b, &ap_kube_res_secrets, "p", NULL, &o),
            "https://127.0.0.1:6443/api/v1/namespaces/p/secrets"
            "?labelSelector=labrats.work%2Fmanaged-secret%3Dtrue%2Capp%20in%20%28a%2Cb%29%2C%21x"
            "&fieldSelector=metadata.name%3Da%20b&limit=500&continue=eyJ2Ijo%2B%2F%3D&resourceVersion=0"
            "&watch=1&allowWatchBookmarks=true&timeoutSeconds=300");
        struct ap_kube_opts a = {.field_manager = "app-platform", .force = true, .dry_run = true};
        assert_string_equal(build(&b, &ap_kube_res_configmaps, "p", "c", &a),
                            "https://127.0.0.1:6443/api/v1/namespaces/p/configmaps/c"
                            "?fieldManager=app-platform&force=true&dryRun=All");
        /* a name with odd bytes is escaped, never interpreted */
        assert_string_equal(build(&b, &ap_kube_res_configmaps, "p", "a?b#c%d", NULL),
                            "https://127.0.0.1:6443/api/v1/namespaces/p/configmaps/a%3Fb%23c%25d");
}

static void test_rejected(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_null(build(&b, &ap_kube_res_secrets, "p", "..", NULL));
        assert_null(build(&b, &ap_kube_res_secrets, "p", "a/b", NULL));
        assert_null(build(&b, &ap_kube_res_secrets, "", "a", NULL));
        assert_null(build(&b, &ap_kube_res_secrets, NULL, "a", NULL));   /* namespaced needs ns */
        assert_null(build(&b, &ap_kube_res_namespaces, "x", "a", NULL)); /* cluster-scoped has none */
        struct ap_kube_opts st = {.subresource = "status"};
        assert_null(build(&b, &ap_kube_res_secrets, "p", NULL, &st));
        assert_int_equal(ap_kube_url_build(&b, "https://h", &ap_kube_res_secrets, "p", "..", NULL, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "'..'"));
}

static void test_api_version(void **state)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_kube_resource_api_version(&ap_kube_res_secrets, &b), 0);
        assert_string_equal(b.data, "v1");
        ap_buf_reset(&b);
        assert_int_equal(ap_kube_resource_api_version(&ap_kube_res_events, &b), 0);
        assert_string_equal(b.data, "events.k8s.io/v1");
}

static void test_keymap_churn(void **state)
{
        struct ap_keymap m = AP_KEYMAP_INIT;
        char k[32];
        for (uintptr_t i = 0; i < 5000; i++) {
                snprintf(k, sizeof(k), "ns/%lu", (unsigned long)i);
                assert_int_equal(ap_keymap_put(&m, k, (void *)(i + 1), NULL), 0);
        }
        assert_int_equal(ap_keymap_size(&m), 5000);
        /* remove every odd key, then check every key */
        for (uintptr_t i = 1; i < 5000; i += 2) {
                snprintf(k, sizeof(k), "ns/%lu", (unsigned long)i);
                void *old = NULL;
                assert_true(ap_keymap_remove(&m, k, &old));
                assert_ptr_equal(old, (void *)(i + 1));
        }
        for (uintptr_t i = 0; i < 5000; i++) {
                snprintf(k, sizeof(k), "ns/%lu", (unsigned long)i);
                if (i % 2)
                        assert_false(ap_keymap_contains(&m, k));
                else
                        assert_ptr_equal(ap_keymap_get(&m, k), (void *)(i + 1));
        }
        size_t it = 0, n = 0;
        while (ap_keymap_next(&m, &it, NULL, NULL))
                n++;
        assert_int_equal(n, 2500);
        void *old = NULL;
        assert_int_equal(ap_keymap_put(&m, "ns/0", (void *)7, &old), 0);
        assert_ptr_equal(old, (void *)1);
        assert_int_equal(ap_keymap_size(&m), 2500);
        ap_keymap_release(&m, NULL);
        assert_int_equal(ap_keymap_size(&m), 0);
        assert_false(ap_keymap_remove(&m, "x", NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_paths),        cmocka_unit_test(test_query_escaping),
            cmocka_unit_test(test_rejected),     cmocka_unit_test(test_api_version),
            cmocka_unit_test(test_keymap_churn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
