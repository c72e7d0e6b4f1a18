/* test_config.c - the operator's flags and APP_PLATFORM_* twins (src/operator/config.c): defaults, the
 * environment, flags winning, required flags named with their twin, bad values refused; and the JSON
 * subset check behind "apply only what differs" (src/operator/kobj.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "operator/config.h"
#include "operator/operator_internal.h"

static const char *const *fake_env;

static const char *env(const char *name)
{
        for (const char *const *e = fake_env; e && *e; e += 2)
                if (strcmp(e[0], name) == 0)
                        return e[1];
        return NULL;
}

static int parse(const char *const *envv, int argc, const char **argv, struct ap_op_config **ret,
                 struct ap_error *err)
{
        fake_env = envv;
        return ap_op_config_parse(argc, (char **)argv, env, ret, err);
}

#define RCP "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

static void test_defaults_env_flags(void **state)
{
        const char *envv[] = {"APP_PLATFORM_FLUX_REPO_URL",
                              "ssh://git@h/flux.git",
                              "APP_PLATFORM_CLUSTER_AGE_RECIPIENT",
                              RCP,
                              "APP_PLATFORM_FORGE_OWNER",
                              "env-owner",
                              "APP_PLATFORM_FORGE_CREDENTIALS_SECRET",
                              "creds",
                              "APP_PLATFORM_WORKERS",
                              "2",
                              NULL};
        const char *argv[] = {"operator", "--forge-owner", "flag-owner", "--leader-elect",
                              "--resync-interval=1m30s"};
        struct ap_op_config *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(parse(envv, 5, argv, &c, &err), 0);
        assert_string_equal(c->forge_owner, "flag-owner"); /* flags win */
        assert_int_equal(c->workers, 2);                   /* from the environment */
        assert_string_equal(c->flux_repo_branch, "main");  /* default */
        assert_string_equal(c->flux_repo_path, "apps");
        assert_true(c->leader_elect);
        assert_int_equal(c->resync_ms, 90000);
        assert_string_equal(c->git_author_name, "app-platform-operator");
        assert_string_equal(c->git_author_email, "operator@localhost");
        assert_int_equal(c->forge, AP_FORGE_GITHUB);
        ap_op_config_free(c);
}

static void test_required(void **state)
{
        const char *argv[] = {"operator"};
        struct ap_op_config *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(parse(NULL, 1, argv, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "--flux-repo-url (or APP_PLATFORM_FLUX_REPO_URL) is required"));
        const char *argv2[] = {"operator", "--flux-repo-url", "/x", "--cluster-age-recipient", RCP};
        assert_int_equal(parse(NULL, 5, argv2, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "--forge-owner"));
        const char *argv3[] = {"operator", "--flux-repo-url", "/x",   "--cluster-age-recipient",
                               RCP,        "--forge",         "local"};
        assert_int_equal(parse(NULL, 7, argv3, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "--local-repos-dir"));
        const char *argv4[] = {"operator", "--flux-repo-url", "/x",    "--cluster-age-recipient",
                               RCP,        "--forge",         "local", "--local-repos-dir",
                               "/repos"};
        assert_int_equal(parse(NULL, 9, argv4, &c, &err), 0);
        assert_int_equal(c->forge, AP_FORGE_LOCAL);
        ap_op_config_free(c);
}

static void test_bad_values(void **state)
{
        struct ap_op_config *c = NULL;
        struct ap_error err = AP_ERROR_INIT;
        const char *a1[] = {"operator", "--cluster-age-recipient", "age1nope", "--flux-repo-url", "/x"};
        assert_int_equal(parse(NULL, 5, a1, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "--cluster-age-recipient"));
        const char *a2[] = {"operator", "--workers", "many"};
        assert_int_equal(parse(NULL, 3, a2, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "--workers"));
        const char *a3[] = {"operator", "--no-such-flag"};
        assert_int_equal(parse(NULL, 2, a3, &c, &err), AP_E_INVALID);
        const char *envv[] = {"APP_PLATFORM_LEADER_ELECT", "perhaps", NULL};
        const char *a4[] = {"operator"};
        assert_int_equal(parse(envv, 1, a4, &c, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "APP_PLATFORM_LEADER_ELECT"));
        const char *a5[] = {"operator", "--resync-interval", "10x"};
        assert_int_equal(parse(NULL, 3, a5, &c, &err), AP_E_INVALID);
        const char *a6[] = {"operator", "--git-author", "nobody"};
        assert_int_equal(parse(NULL, 3, a6, &c, &err), AP_E_INVALID);
}

static void test_subset(void **state)
{
        json_t *want = json_pack("{s:{s:s}, s:[{s:s}]}", "metadata", "name", "x", "subjects", "name", "g");
        json_t *have = json_pack("{s:{s:s, s:s}, s:[{s:s, s:s}], s:s}", "metadata", "name", "x", "uid", "u",
                                 "subjects", "name", "g", "kind", "Group", "extra", "y");
        assert_true(op_json_subset(want, have));
        json_t *fewer = json_pack("{s:{s:s}, s:[]}", "metadata", "name", "x", "subjects");
        assert_false(op_json_subset(want, fewer)); /* a removed subject is a change */
        assert_false(op_json_subset(want, NULL));
        json_decref(want);
        json_decref(have);
        json_decref(fewer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults_env_flags),
            cmocka_unit_test(test_required),
            cmocka_unit_test(test_bad_values),
            cmocka_unit_test(test_subset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
