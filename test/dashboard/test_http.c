/* test_http.c - request-text parsers: cookies, percent-decoding, form/query strings; and the
 * impersonation rules (prefix checks, groups such as system:masters always prefixed, unusable names
 * dropped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dashboard/authz.h"
#include "dashboard/http.h"

static void cookie(const char *hdr, const char *name, const char *want)
{
        const char *v;
        size_t n;
        bool found = ap_dash_cookie_find(hdr, strlen(hdr), name, &v, &n);
        if (!want) {
                assert_false(found);
                return;
        }
        assert_true(found);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
}

static void test_cookies(void **state)
{
        cookie("a=1; b=2", "a", "1");
        cookie("a=1; b=2", "b", "2");
        cookie("a=1;b=2  ", "b", "2");
        cookie("aa=1; a=3", "a", "3");
        cookie("x=\"quoted\"", "x", "quoted");
        cookie("a=1", "b", NULL);
        cookie("", "a", NULL);
        cookie(";;;=;a", "a", NULL);
        cookie("__Host-ap-session=v1.k.abc; other=x", "__Host-ap-session", "v1.k.abc");
        cookie("a=", "a", "");
}

static void test_percent(void **state)
{
        struct ap_dash_arena *a = ap_dash_arena_new();
        assert_string_equal(ap_dash_percent_decode(a, "a%20b+c", 7, true), "a b c");
        assert_string_equal(ap_dash_percent_decode(a, "a%20b+c", 7, false), "a b+c");
        assert_null(ap_dash_percent_decode(a, "%2", 2, false));
        assert_null(ap_dash_percent_decode(a, "%zz", 3, false));
        assert_null(ap_dash_percent_decode(a, "a%00b", 5, false)); /* no NUL smuggled into C strings */
        assert_string_equal(ap_dash_form_get(a, "code=x%2By&state=s&iss=http%3A%2F%2Fi", 37, "iss"),
                            "http://i");
        assert_string_equal(ap_dash_form_get(a, "code=x%2By&state=s", 18, "code"), "x+y");
        assert_null(ap_dash_form_get(a, "code=1", 6, "state"));
        assert_string_equal(ap_dash_form_get(a, "&&k&v=1", 7, "k"), "");
        ap_dash_arena_free(a);
}

static void test_escape(void **state)
{
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_dash_url_escape(&b, "a b+c/d~e:%"), 0);
        assert_string_equal(b.data, "a%20b%2Bc%2Fd~e%3A%25");
        ap_buf_release(&b);
}

static void test_prefix(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_dash_authz_check_prefix("oidc:", &err), 0);
        assert_int_equal(ap_dash_authz_check_prefix("", &err), -EINVAL);
        assert_int_equal(ap_dash_authz_check_prefix("system:", &err), -EINVAL);
        assert_int_equal(ap_dash_authz_check_prefix("system:oidc:", &err), -EINVAL);
        assert_int_equal(ap_dash_authz_check_prefix("oidc", &err),
                         -EINVAL); /* "oidcsystem:..." would read oddly */
}

static void test_user(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_authz *z = NULL;
        assert_int_equal(ap_dash_authz_new(NULL, NULL, "oidc:", "platform-admins", 0, &z, &err), 0);
        struct ap_dash_arena *a = ap_dash_arena_new();
        json_t *s =
            json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "sid", "x", "sub", "u-1", "usr", "mallory", "grp",
                      "system:masters", "app-a-readers", "", "bad\ngroup", "platform-admins");
        struct ap_dash_user u;
        assert_int_equal(ap_dash_authz_user(z, a, s, &u, &err), 0);
        assert_string_equal(u.imp_user, "oidc:mallory");
        assert_int_equal(u.n_imp_groups, 3);
        assert_string_equal(u.imp_groups[0], "oidc:system:masters");
        assert_string_equal(u.imp_groups[1], "oidc:app-a-readers");
        for (size_t i = 0; i < u.n_imp_groups; i++)
                assert_true(strncmp(u.imp_groups[i], "system:", 7) != 0);
        assert_true(u.platform_admin);
        json_decref(s);
        s = json_pack("{s:s, s:s, s:s}", "sid", "x", "sub", "u-1", "usr", "bad\x01name");
        assert_int_equal(ap_dash_authz_user(z, a, s, &u, &err), -EINVAL);
        json_decref(s);
        ap_dash_arena_free(a);
        ap_dash_authz_free(z);
}

static void test_arena(void **state)
{
        struct ap_dash_arena *a = ap_dash_arena_new();
        for (int i = 0; i < 1000; i++) {
                char *p = ap_dash_printf(a, "item-%d", i);
                assert_string_equal(p, p); /* touch */
        }
        void *big = ap_dash_alloc(a, 100000);
        assert_non_null(big);
        assert_true(ap_dash_arena_used(a) >= 100000);
        ap_dash_arena_free(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cookies), cmocka_unit_test(test_percent), cmocka_unit_test(test_escape),
            cmocka_unit_test(test_prefix),  cmocka_unit_test(test_user),    cmocka_unit_test(test_arena),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
