/* test_sops_rules.c - crypt rules (suffix/regex/comment regex decisions over key paths), the RE2 -> POSIX
 * translation (what matches like Go's regexp.Match, what is refused), and .sops.yaml creation rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/sops_config.h"
#include "crypto/sops_rules.h"

static bool matches(const char *re2, const char *s)
{
        regex_t re;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_sops_regex_compile(&re, re2, "test", &err) < 0)
                fail_msg("'%s' refused: %s", re2, err.msg);
        bool m = ap_sops_regex_match(&re, s, strlen(s));
        regfree(&re);
        return m;
}

static void test_regex(void **state)
{
        struct {
                const char *re, *s;
                bool match;
        } cases[] = {
            {"^(data|stringData)$", "data", true},
            {"^(data|stringData)$", "stringData", true},
            {"^(data|stringData)$", "metadata", false},
            {"^(data|stringData)$", "data2", false},
            {"data", "metadata", true}, /* unanchored, as regexp.Match */
            {"(?i)^PASSWORD$", "password", true},
            {"^\\d+$", "123", true},
            {"^\\d+$", "12a", false},
            {"^\\w+$", "a_b9", true},
            {"^\\w+$", "a-b", false},
            {"\\s", "a b", true},
            {"^\\S+$", "a b", false},
            {"^(?:a|b)c$", "bc", true},
            {"^a.*?b$", "axxb", true},
            {"^spec\\.", "spec.x", true},
            {"^spec\\.", "specx", false},
            {"^[\\d]+$", "42", true},
            {"^[a\\-z]$", "-", true},
            {"^[a\\-z]$", "b", false},
            {"^[\\]x]$", "]", true},
            {"^[^\\]]$", "a", true},
            {"^[.]$", "a", false},
            {"^a\\x2db$", "a-b", true},
            {"^a\\tb$", "a\tb", true},
            {"\\/", "a/b", true},
            {"^[[:alpha:]]+$", "abc", true},
            {".*_secret$", "db_secret", true},
            {"^x{2,3}$", "xxx", true},
            {"^x{2,3}?$", "xx", true},
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(cases); i++)
                if (matches(cases[i].re, cases[i].s) != cases[i].match)
                        fail_msg("'%s' on '%s' should %smatch", cases[i].re, cases[i].s,
                                 cases[i].match ? "" : "not ");
}

static void test_regex_refused(void **state)
{
        static const char *const bad[] = {"\\bword\\b", "(?P<n>x)", "a(?i)b", "\\pL",
                                          "\\Aa\\z",    "[\\D]",    "(?s).",  "\\1"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++) {
                regex_t re;
                struct ap_error err = AP_ERROR_INIT;
                if (ap_sops_regex_compile(&re, bad[i], "encrypted_regex", &err) == 0) {
                        regfree(&re);
                        fail_msg("'%s' accepted", bad[i]);
                }
                assert_non_null(strstr(err.msg, "encrypted_regex"));
        }
        regex_t re;
        struct ap_error err = AP_ERROR_INIT;
        assert_true(ap_sops_regex_compile(&re, "a(b", "encrypted_regex", &err) < 0);
        assert_non_null(strstr(err.msg, "not a valid regular expression"));
}

static bool decide(enum ap_sops_rule_kind kind, const char *value, const char *path)
{
        struct ap_sops_str keys[8];
        size_t n = 0;
        for (const char *p = path; *p && n < 8;) {
                const char *dot = strchr(p, '.');
                size_t len = dot ? (size_t)(dot - p) : strlen(p);
                keys[n++] = (struct ap_sops_str){p, len};
                p += len + (dot != NULL);
        }
        struct ap_sops_rule rule;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_rule_init(&rule, kind, value, &err), 0);
        bool r = ap_sops_rule_encrypts(&rule, keys, n, NULL, false);
        ap_sops_rule_release(&rule);
        return r;
}

static void test_decisions(void **state)
{
        /* default: unencrypted_suffix _unencrypted, on any component */
        assert_true(decide(AP_SOPS_RULE_NONE, NULL, "kind"));
        assert_false(decide(AP_SOPS_RULE_NONE, NULL, "a_unencrypted.b"));
        assert_false(decide(AP_SOPS_RULE_NONE, NULL, "a.b_unencrypted"));
        assert_true(decide(AP_SOPS_ENCRYPTED_SUFFIX, "_enc", "a_enc.b"));
        assert_false(decide(AP_SOPS_ENCRYPTED_SUFFIX, "_enc", "a.b"));
        assert_true(decide(AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", "stringData.token"));
        assert_false(decide(AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", "metadata.name"));
        assert_true(decide(AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", "spec.template.data.x"));
        assert_false(decide(AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", "")); /* top-level comments */
        assert_false(decide(AP_SOPS_UNENCRYPTED_REGEX, "^(kind|apiVersion)$", "kind"));
        assert_true(decide(AP_SOPS_UNENCRYPTED_REGEX, "^(kind|apiVersion)$", "data.kind2"));
        assert_true(decide(AP_SOPS_RULE_NONE, NULL, ""));
}

static void test_comment_rules(void **state)
{
        struct ap_sops_rule rule;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_sops_str lvl0[] = {{"sops:enc", 8}}, lvl1[] = {{" plain", 6}};
        const struct ap_sops_str *levels[] = {lvl0, lvl1};
        size_t n[] = {1, 1};
        struct ap_sops_comment_stack cs = {levels, n, 2};
        struct ap_sops_str key = {"a", 1};
        assert_int_equal(ap_sops_rule_init(&rule, AP_SOPS_ENCRYPTED_COMMENT_REGEX, "^sops:enc$", &err), 0);
        assert_true(ap_sops_rule_encrypts(&rule, &key, 1, &cs, false));
        size_t n0[] = {1, 0};
        struct ap_sops_comment_stack only_marker = {levels, n0, 1};
        /* the marker comment itself stays in clear */
        assert_false(ap_sops_rule_encrypts(&rule, &key, 1, &only_marker, true));
        ap_sops_rule_release(&rule);
        assert_int_equal(ap_sops_rule_init(&rule, AP_SOPS_UNENCRYPTED_COMMENT_REGEX, "plain", &err), 0);
        assert_false(ap_sops_rule_encrypts(&rule, &key, 1, &cs, false));
        assert_true(ap_sops_rule_encrypts(&rule, &key, 1, &only_marker, false));
        ap_sops_rule_release(&rule);
}

static void test_config(void **state)
{
        const char *text = "stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 0\n"
                           "creation_rules:\n"
                           "  - path_regex: secrets/.*\\.sops\\.yaml$\n"
                           "    encrypted_regex: ^(data|stringData)$\n"
                           "    age: age1aaa, age1bbb ,age1ccc\n"
                           "  - path_regex: \\.env$\n"
                           "    age:\n      - age1ddd\n    mac_only_encrypted: true\n"
                           "  - key_groups:\n      - age: [age1eee]\n      - age: [age1fff, age1ggg]\n"
                           "    shamir_threshold: 2\n";
        struct ap_sops_config c;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_config_parse(text, strlen(text), ".sops.yaml", &c, &err), 0);
        assert_int_equal(c.n_rules, 3);
        assert_int_equal(c.yaml_indent, 2);
        assert_true(c.has_json_indent);
        assert_int_equal(c.json_indent, 0);
        const struct ap_sops_creation_rule *r = ap_sops_config_match(&c, "secrets/my-app-dev/db.sops.yaml");
        assert_ptr_equal(r, &c.rules[0]);
        assert_int_equal(r->n_groups, 1);
        assert_int_equal(r->groups[0].n_age, 3);
        assert_string_equal(r->groups[0].age[1], "age1bbb");
        assert_int_equal(r->rule, AP_SOPS_ENCRYPTED_REGEX);
        assert_string_equal(r->rule_value, "^(data|stringData)$");
        r = ap_sops_config_match(&c, "x/.env");
        assert_ptr_equal(r, &c.rules[1]);
        assert_true(r->mac_only_encrypted);
        assert_string_equal(r->groups[0].age[0], "age1ddd");
        r = ap_sops_config_match(&c, "anything.json"); /* no path_regex: catch-all */
        assert_ptr_equal(r, &c.rules[2]);
        assert_int_equal(r->n_groups, 2);
        assert_int_equal(r->groups[1].n_age, 2);
        assert_int_equal(r->shamir_threshold, 2);
        ap_sops_config_release(&c);

        const char *two = "creation_rules:\n  - encrypted_regex: a\n    unencrypted_regex: b\n";
        assert_true(ap_sops_config_parse(two, strlen(two), ".sops.yaml", &c, &err) < 0);
        assert_non_null(strstr(err.msg, "creation rule 1"));
        const char *badre = "creation_rules:\n  - path_regex: '\\bx'\n";
        assert_true(ap_sops_config_parse(badre, strlen(badre), ".sops.yaml", &c, &err) < 0);
        assert_non_null(strstr(err.msg, "path_regex"));
        const char *none = "creation_rules:\n  - path_regex: ^only$\n    age: age1x\n";
        assert_int_equal(ap_sops_config_parse(none, strlen(none), ".sops.yaml", &c, &err), 0);
        assert_null(ap_sops_config_match(&c, "other"));
        ap_sops_config_release(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_regex),     cmocka_unit_test(test_regex_refused),
            cmocka_unit_test(test_decisions), cmocka_unit_test(test_comment_rules),
            cmocka_unit_test(test_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
