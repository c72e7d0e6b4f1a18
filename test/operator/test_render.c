/* test_render.c - the renderers (src/operator/render_*.c) against golden files in golden/: what lands in
 * the platform repo and the Flux repo, byte for byte, for one fixed platform. Also: rendering twice gives
 * the same bytes, strings YAML could misread are quoted, refused inputs. UPDATE_GOLDEN=1 rewrites the
 * golden files (review the diff before committing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "kube/yaml_json.h"
#include "operator/render.h"
#include "operator/yaml_out.h"

static struct ap_app_names names;
static const char *const namespaces[] = {"my-diet-dev", "my-diet-prod"};
static const struct ap_access access[] = {
    {"my-diet-admins", AP_ROLE_ADMIN}, {"my-diet-devs", AP_ROLE_DEVELOPER}, {"my-diet-ops", AP_ROLE_ADMIN}};
static struct ap_platform plat = {
    .names = &names,
    .namespaces = namespaces,
    .n_namespaces = 2,
    .access = access,
    .n_access = 3,
    .group_prefix = "oidc:",
    .recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    .clone_url = "ssh://git@github.com/labrats-work/my-diet-platform.git",
    .branch = "main",
    .repo_display = "labrats-work/my-diet-platform",
    .git_interval = "1m0s",
    .ks_interval = "10m0s",
};

static int setup(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        return ap_app_names_init(&names, "my-diet", &err);
}

/* Compare got with golden/<name> (or write it with UPDATE_GOLDEN=1). */
static void golden(const char *name, const struct ap_buf *got)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", AP_GOLDEN_DIR, name);
        struct ap_error err = AP_ERROR_INIT;
        if (getenv("UPDATE_GOLDEN")) {
                assert_int_equal(ap_write_file_atomic(path, got->data, got->len, 0644, &err), 0);
                return;
        }
        struct ap_buf want = AP_BUF_INIT;
        if (ap_read_file(path, &want, &err) < 0)
                fail_msg("%s: %s (run with UPDATE_GOLDEN=1 to create it)", path, ap_error_message(&err));
        if (want.len != got->len || memcmp(want.data, got->data, got->len) != 0)
                fail_msg("%s differs from the rendering:\n%s", name, got->data);
        ap_buf_release(&want);
}

static void test_platform_files(void **state)
{
        struct ap_buf sops = AP_BUF_INIT, readme = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_render_sops_config(&plat, &sops, &err), 0);
        assert_int_equal(ap_render_readme(&plat, &readme, &err), 0);
        golden("sops.yaml", &sops);
        golden("README.md", &readme);
        ap_buf_release(&sops);
        ap_buf_release(&readme);
}

static void test_flux_files(void **state)
{
        struct ap_flux_files f;
        ap_flux_files_init(&f);
        struct ap_error err = AP_ERROR_INIT;
        const char *flux_ns[] = {"my-diet-dev", "my-diet-old", "my-diet-prod"};
        assert_int_equal(ap_render_flux_files(&plat, flux_ns, 3, &f, &err), 0);
        golden("flux-kustomization.yaml", &f.kustomization);
        golden("flux-namespace.yaml", &f.namespace);
        golden("flux-rbac.yaml", &f.rbac);
        golden("flux-sync.yaml", &f.sync);
        /* twice gives the same bytes */
        struct ap_flux_files g;
        ap_flux_files_init(&g);
        assert_int_equal(ap_render_flux_files(&plat, flux_ns, 3, &g, &err), 0);
        assert_true(ap_buf_equal(&g.rbac, f.rbac.data, f.rbac.len));
        assert_true(ap_buf_equal(&g.sync, f.sync.data, f.sync.len));
        /* every file parses back as YAML */
        json_t *docs = NULL;
        assert_int_equal(ap_yaml_to_json_all(f.rbac.data, f.rbac.len, &docs, &err), 0);
        assert_int_equal(json_array_size(docs), 5); /* SA + platform + 3 namespaces */
        json_decref(docs);
        ap_flux_files_release(&f);
        ap_flux_files_release(&g);
}

static void test_registration_backup(void **state)
{
        json_t *spec =
            json_pack("{s:[s,s], s:[{s:s, s:s}], s:s}", "namespaces", "my-diet-prod", "my-diet-dev", "access",
                      "role", "admin", "group", "my-diet-admins", "deletionPolicy", "Retain");
        json_t *labels = json_pack("{s:s}", "team", "diet");
        struct ap_buf b = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_render_registration_backup(&plat, labels, spec, &b, &err), 0);
        golden("registration.yaml", &b); /* keys sorted, list order kept */
        ap_buf_release(&b);
        json_decref(spec);
        json_decref(labels);
}

static void emit_obj(json_t *obj, const char *name)
{
        assert_non_null(obj);
        struct ap_buf b = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_yaml_emit1(&b, obj, &err), 0);
        golden(name, &b);
        ap_buf_release(&b);
        json_decref(obj);
}

static void test_objects(void **state)
{
        const char keyfile[] = "# public key: age1...\nAGE-SECRET-KEY-1TEST\n";
        emit_obj(ap_render_age_secret(&plat, keyfile, strlen(keyfile)), "age-secret.yaml");
        emit_obj(ap_render_git_auth_secret(&plat, "-----BEGIN OPENSSH PRIVATE KEY-----\nX\n",
                                           "ssh-ed25519 AAAA flux", "[127.0.0.1]:2222 ssh-ed25519 AAAA\n"),
                 "git-auth-secret.yaml");
        bool none = true;
        emit_obj(
            ap_render_access_rolebinding(&plat, "my-diet-dev", AP_ROLE_ADMIN, "app-platform-admin", &none),
            "access-admin.yaml");
        assert_false(none);
        assert_null(
            ap_render_access_rolebinding(&plat, "my-diet-dev", AP_ROLE_READER, "app-platform-reader", &none));
        assert_true(none);
        const char *readable[] = {"my-diet-db", "my-diet-oidc"};
        emit_obj(ap_render_secret_reader_role(&plat, readable, 2), "secret-reader-role.yaml");
        emit_obj(ap_render_secret_reader_binding(&plat), "secret-reader-binding.yaml");
        emit_obj(ap_render_dashboard_rolebinding(&plat, "app-platform-system", "app-platform-dashboard"),
                 "dashboard-binding.yaml");
        json_t *empty = ap_render_secret_reader_role(&plat, NULL, 0);
        assert_int_equal(json_array_size(json_object_get(empty, "rules")), 0); /* never "all secrets" */
        json_decref(empty);
}

static void test_target_secret(void **state)
{
        json_t *data = json_pack("{s:s, s:s}", "user", "YXBw", "password", "czNjcjN0");
        struct ap_secret_source src = {.name = "my-diet-db",
                                       .type = NULL,
                                       .data = data,
                                       .target_ns = "my-diet-prod",
                                       .target_name = "db"};
        struct ap_buf b = AP_BUF_INIT, path = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_render_target_secret(&plat, &src, &b, &err), 0);
        golden("target-secret.yaml", &b); /* keys sorted, type Opaque, the source annotation */
        assert_int_equal(ap_render_secret_path("my-diet-prod", "my-diet-db", &path), 0);
        assert_string_equal(path.data, "secrets/my-diet-prod/my-diet-db.sops.yaml");
        ap_buf_release(&b);
        ap_buf_release(&path);
        json_decref(data);
}

static void test_yaml_quoting(void **state)
{
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:s}", "a", "true",
                                "b", "no", "c", "0755", "d", "1e3", "e", "", "f", "12:30", "g", "plain text",
                                "h", "null", "i", 7, "j", 1, "k", "- dash", "l", "x: y");
        struct ap_buf b = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_yaml_emit1(&b, doc, &err), 0);
        json_t *back = NULL;
        assert_int_equal(ap_yaml_to_json(b.data, b.len, &back, &err), 0);
        assert_true(json_equal(doc, back)); /* every string stays a string */
        assert_non_null(strstr(b.data, "g: plain text\n"));
        json_decref(back);
        json_decref(doc);
        ap_buf_release(&b);
}

static void test_names(void **state)
{
        struct ap_app_names n;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_app_names_init(&n, "a", &err), 0);
        assert_string_equal(n.age_secret, "a-platform-age-key");
        assert_int_equal(ap_app_names_init(&n, "Bad", &err), AP_E_INVALID);
        assert_int_equal(ap_app_names_init(&n, "a23456789012345678901234567890123456789012", &err),
                         AP_E_INVALID);
        assert_int_equal(ap_app_names_init(&n, "-a", &err), AP_E_INVALID);
        assert_true(ap_is_dns1123_subdomain("a.b-c.d"));
        assert_false(ap_is_dns1123_subdomain("a..b"));
        assert_true(ap_is_secret_key("tls.crt"));
        assert_false(ap_is_secret_key("a/b"));
        assert_false(ap_is_secret_key(".."));
        char app[64];
        assert_true(ap_app_from_platform_ns("my-diet-platform", app, sizeof(app)));
        assert_string_equal(app, "my-diet");
        assert_false(ap_app_from_platform_ns("-platform", app, sizeof(app)));
        assert_false(ap_app_from_platform_ns("my-diet-dev", app, sizeof(app)));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_platform_files),
            cmocka_unit_test(test_flux_files),
            cmocka_unit_test(test_objects),
            cmocka_unit_test(test_target_secret),
            cmocka_unit_test(test_yaml_quoting),
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_registration_backup),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
