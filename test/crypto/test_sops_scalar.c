/* test_sops_scalar.c - go-yaml v3 scalar typing (the table of notes §3.4, checked against sops v3.13.2's
 * yaml store), Go float formatting, Go int/float/bool parsing, timestamps, and go-yaml's quoting choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sops_go.h"
#include "crypto/sops_scalar.h"

struct typing_case {
        const char *in;
        const char *type;  /* "str", "int", "float", "bool", "time", "null", "error" */
        const char *bytes; /* what sops hashes (ToBytes) */
};

/* Plain scalars: expected type and MAC bytes as sops's yaml store reports them. */
static const struct typing_case plain_cases[] = {
    {"0x1F", "int", "31"},
    {"0o17", "int", "15"},
    {"0b101", "int", "5"},
    {"0777", "int", "511"},
    {"08", "float", "8"},
    {"09", "float", "9"},
    {"1_000", "int", "1000"},
    {"-0x10", "int", "-16"},
    {"+5", "int", "5"},
    {".5", "float", "0.5"},
    {".5e3", "float", "500"},
    {"._5", "str", "._5"},
    {".5_5", "float", "0.55"},
    {"1e400", "str", "1e400"},
    {"1e-400", "float", "0"},
    {"-0.0", "float", "-0"},
    {"1.0", "float", "1"},
    {"1.50", "float", "1.5"},
    {"1e21", "float", "1000000000000000000000"},
    {"9223372036854775807", "int", "9223372036854775807"},
    {"-9223372036854775809", "float", "-9223372036854776000"},
    {"99999999999999999999", "float", "100000000000000000000"},
    {"+18446744073709551615", "float", "18446744073709552000"},
    {"18446744073709551615", "error", NULL},
    {"0X1F", "int", "31"},
    {"0B11", "int", "3"},
    {"-0b11", "int", "-3"},
    {"2024-01-01", "time", "2024-01-01T00:00:00Z"},
    {"2024-1-2T3:4:5Z", "time", "2024-01-02T03:04:05Z"},
    {"2024-01-01t10:00:00.123456789123+02:00", "time", "2024-01-01T10:00:00.123456789+02:00"},
    {"2024-01-01 10:00:00.5", "time", "2024-01-01T10:00:00.5Z"},
    {"2024-02-30", "str", "2024-02-30"},
    {"2024-02-29", "time", "2024-02-29T00:00:00Z"},
    {"2023-02-29", "str", "2023-02-29"},
    {"2024-01-01T24:00:00Z", "str", "2024-01-01T24:00:00Z"},
    {"2024-01-01T10:00:00+00:00", "time", "2024-01-01T10:00:00Z"},
    {"2024-01-01T10:00:00,5Z", "time", "2024-01-01T10:00:00.5Z"},
    {"20240-01-01", "str", "20240-01-01"},
    {".inf", "float", "+Inf"},
    {"-.Inf", "float", "-Inf"},
    {"+.inf", "float", "+Inf"},
    {".NaN", "float", "NaN"},
    {".Nan", "str", ".Nan"},
    {"yes", "str", "yes"},
    {"no", "str", "no"},
    {"on", "str", "on"},
    {"y", "str", "y"},
    {"true", "bool", "True"},
    {"False", "bool", "False"},
    {"TRUE", "bool", "True"},
    {"tRUE", "str", "tRUE"},
    {"~", "null", NULL},
    {"Null", "null", NULL},
    {"", "null", NULL},
    {"nULL", "str", "nULL"},
    {"1__0", "int", "10"},
    {"0x_1F", "int", "31"},
    {"1.e5", "float", "100000"},
    {"0.", "float", "0"},
    {"12e3", "float", "12000"},
    {"0x1p3", "str", "0x1p3"},
    {"1_0.5", "float", "10.5"},
    {"00", "int", "0"},
    {"0o", "str", "0o"},
    {"-", "str", "-"},
    {"+.5", "float", "0.5"},
    {"-.5e-3", "float", "-0.0005"},
    {"0.000001", "float", "0.000001"},
    {"123456789012345678", "int", "123456789012345678"},
    {"<<", "str", "<<"},
    {"hello world", "str", "hello world"},
    {"k8s.io/name", "str", "k8s.io/name"},
};

static const char *type_of(const struct ap_sops_node *n)
{
        return n->type == AP_SOPS_NULL ? "null" : ap_sops_scalar_type_name(n);
}

static void test_plain_typing(void **state)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(plain_cases); i++) {
                const struct typing_case *c = &plain_cases[i];
                struct ap_sops_node n = {0};
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_sops_scalar_resolve(&n, NULL, true, c->in, strlen(c->in), &err);
                if (strcmp(c->type, "error") == 0) {
                        assert_int_equal(r, AP_E_INVALID);
                        assert_null(strstr(err.msg, c->in)); /* never the value: it may be a secret */
                        assert_non_null(strstr(err.msg, "out of range"));
                        continue;
                }
                assert_int_equal(r, 0);
                if (strcmp(type_of(&n), c->type) != 0)
                        fail_msg("'%s': type %s, want %s", c->in, type_of(&n), c->type);
                if (c->bytes) {
                        struct ap_buf b = AP_BUF_INIT;
                        assert_int_equal(ap_sops_scalar_bytes(&n, &b), 0);
                        if (strcmp(b.data, c->bytes) != 0)
                                fail_msg("'%s': bytes '%s', want '%s'", c->in, b.data, c->bytes);
                        ap_buf_release(&b);
                }
                free(n.str);
        }
}

static void test_tags_and_quotes(void **state)
{
        struct {
                const char *tag;
                bool plain;
                const char *in, *type, *bytes;
        } cases[] = {
            {NULL, false, "123", "str", "123"},
            {NULL, false, "true", "str", "true"},
            {"!", true, "12", "int", "12"},
            {"tag:yaml.org,2002:str", true, "12", "str", "12"},
            {"tag:yaml.org,2002:int", false, "12", "int", "12"},
            {"tag:yaml.org,2002:float", true, "3", "float", "3"},
            {"tag:yaml.org,2002:binary", true, "aGVsbG8=", "str", "hello"},
            {"tag:yaml.org,2002:binary", false, "aGVs\nbG8=\n", "str", "hello"},
            {"!local", true, "12", "str", "12"},
            {"tag:yaml.org,2002:int", true, "3.5", "error", NULL},
            {"tag:yaml.org,2002:bool", true, "yes", "error", NULL},
            {"tag:yaml.org,2002:binary", true, "!!!", "error", NULL},
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(cases); i++) {
                struct ap_sops_node n = {0};
                struct ap_error err = AP_ERROR_INIT;
                int r = ap_sops_scalar_resolve(&n, cases[i].tag, cases[i].plain, cases[i].in,
                                               strlen(cases[i].in), &err);
                if (strcmp(cases[i].type, "error") == 0) {
                        assert_true(r < 0);
                        assert_true(err.msg[0] != 0);
                        free(n.str);
                        continue;
                }
                assert_int_equal(r, 0);
                assert_string_equal(type_of(&n), cases[i].type);
                struct ap_buf b = AP_BUF_INIT;
                assert_int_equal(ap_sops_scalar_bytes(&n, &b), 0);
                assert_string_equal(b.data, cases[i].bytes);
                ap_buf_release(&b);
                free(n.str);
        }
}

static void check_float(double v, enum ap_go_float_fmt f, const char *want)
{
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_go_format_float(&b, v, f), 0);
        if (strcmp(b.data, want) != 0)
                fail_msg("%.17g: '%s', want '%s'", v, b.data, want);
        ap_buf_release(&b);
}

static void test_float_format(void **state)
{
        /* FormatFloat 'f' -1: never an exponent */
        check_float(1.0, AP_GO_FLOAT_F, "1");
        check_float(1.5, AP_GO_FLOAT_F, "1.5");
        check_float(1234567890.0, AP_GO_FLOAT_F, "1234567890");
        check_float(0.1, AP_GO_FLOAT_F, "0.1");
        check_float(1e-7, AP_GO_FLOAT_F, "0.0000001");
        check_float(1e21, AP_GO_FLOAT_F, "1000000000000000000000");
        check_float(-0.0, AP_GO_FLOAT_F, "-0");
        check_float(0.0, AP_GO_FLOAT_F, "0");
        check_float(1.0 / 3, AP_GO_FLOAT_F, "0.3333333333333333");
        check_float(INFINITY, AP_GO_FLOAT_F, "+Inf");
        check_float(NAN, AP_GO_FLOAT_F, "NaN");
        /* 'g' -1 as go-yaml writes floats: exponent from 1e6 and below 1e-4 */
        check_float(1234567.0, AP_GO_FLOAT_G, "1.234567e+06");
        check_float(100000.0, AP_GO_FLOAT_G, "100000");
        check_float(1e6, AP_GO_FLOAT_G, "1e+06");
        check_float(1e-7, AP_GO_FLOAT_G, "1e-07");
        check_float(0.0001, AP_GO_FLOAT_G, "0.0001");
        check_float(1.5e300, AP_GO_FLOAT_G, "1.5e+300");
        check_float(1.2345678901234567e19, AP_GO_FLOAT_G, "1.2345678901234567e+19");
        check_float(-INFINITY, AP_GO_FLOAT_G, "-.inf");
        check_float(NAN, AP_GO_FLOAT_G, ".nan");
        check_float(0.0, AP_GO_FLOAT_G, "0");
        /* encoding/json */
        check_float(1e-7, AP_GO_FLOAT_JSON, "1e-7");
        check_float(1e21, AP_GO_FLOAT_JSON, "1e+21");
        check_float(1e20, AP_GO_FLOAT_JSON, "100000000000000000000");
        check_float(0.000001, AP_GO_FLOAT_JSON, "0.000001");
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_go_format_float(&b, NAN, AP_GO_FLOAT_JSON), -EINVAL);
        ap_buf_release(&b);
}

static void test_go_parsers(void **state)
{
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        assert_int_equal(ap_go_parse_int("-9223372036854775808", 20, &i), 0);
        assert_true(i == INT64_MIN);
        assert_int_equal(ap_go_parse_int("9223372036854775808", 19, &i), -ERANGE);
        assert_int_equal(ap_go_parse_int("0x", 2, &i), -EINVAL);
        assert_int_equal(ap_go_parse_int("+", 1, &i), -EINVAL);
        assert_int_equal(ap_go_parse_uint("18446744073709551615", 20, &u), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(ap_go_parse_uint("-1", 2, &u), -EINVAL);
        assert_int_equal(ap_go_atoi("0777", 4, &i), 0);
        assert_int_equal(i, 777);
        assert_int_equal(ap_go_atoi("0x1", 3, &i), -EINVAL);
        assert_int_equal(ap_go_parse_float("Infinity", 8, &f), 0);
        assert_true(isinf(f));
        assert_int_equal(ap_go_parse_float("-inf", 4, &f), 0);
        assert_true(isinf(f) && f < 0);
        assert_int_equal(ap_go_parse_float("infin", 5, &f), -EINVAL);
        assert_int_equal(ap_go_parse_float("+nan", 4, &f), -EINVAL);
        assert_int_equal(ap_go_parse_float("1_000.5", 7, &f), 0);
        assert_true(f == 1000.5);
        assert_int_equal(ap_go_parse_float("1__0", 4, &f), -EINVAL);
        assert_int_equal(ap_go_parse_float("0x1p-2", 6, &f), 0);
        assert_true(f == 0.25);
        assert_int_equal(ap_go_parse_float("0x1", 3, &f), -EINVAL);
        assert_int_equal(ap_go_parse_float("1e400", 5, &f), -ERANGE);
        assert_int_equal(ap_go_parse_float(" 1", 2, &f), -EINVAL);
        assert_int_equal(ap_go_parse_bool("T", 1, &b), 0);
        assert_true(b);
        assert_int_equal(ap_go_parse_bool("0", 1, &b), 0);
        assert_false(b);
        assert_int_equal(ap_go_parse_bool("yes", 3, &b), -EINVAL);
}

static void test_times(void **state)
{
        struct ap_go_time t;
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_go_time_parse_rfc3339("2024-11-12T13:33:42Z", 20, &t), 0);
        assert_int_equal(ap_go_time_format(&b, &t, false), 0);
        assert_string_equal(b.data, "2024-11-12T13:33:42Z");
        ap_buf_reset(&b);
        assert_int_equal(ap_go_time_parse_rfc3339("2024-11-12T13:33:42.120+00:00", 29, &t), 0);
        assert_int_equal(ap_go_time_format(&b, &t, false), 0);
        assert_string_equal(b.data, "2024-11-12T13:33:42Z"); /* the MAC AAD sops derives */
        ap_buf_reset(&b);
        assert_int_equal(ap_go_time_format(&b, &t, true), 0);
        assert_string_equal(b.data, "2024-11-12T13:33:42.12Z");
        ap_buf_reset(&b);
        assert_int_equal(ap_go_time_parse_rfc3339("2024-11-12T13:33:42-05:30", 25, &t), 0);
        assert_int_equal(ap_go_time_format(&b, &t, false), 0);
        assert_string_equal(b.data, "2024-11-12T13:33:42-05:30");
        ap_buf_release(&b);
        assert_true(ap_go_time_parse_rfc3339("2024-11-12T3:33:42Z", 19, &t) < 0);
        assert_true(ap_go_time_parse_rfc3339("2024-11-12 13:33:42Z", 20, &t) < 0);
        assert_true(ap_go_time_parse_rfc3339("2024-11-12T13:33:42", 19, &t) < 0);
        assert_true(ap_go_time_parse_rfc3339("2024-11-12T13:33:42+24:00", 25, &t) < 0);
        assert_false(ap_go_time_parse_yaml("2024-01-01x", 11, &t));
        assert_false(ap_go_time_parse_yaml("2024-13-01", 10, &t));
}

static void test_plain_ok(void **state)
{
        static const char *const plain[] = {
            "hello", "a b", "k8s.io/name", "-x",    ":x",    "?x",
            "a#b",   "ünï", "<<",          "1.2.3", "3.9.0", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"};
        static const char *const quoted[] = {"yes",        "No",   "ON",   "y",     "n",   "true",
                                             "null",       "~",    "",     "1",     "1.5", "0x1F",
                                             "2024-01-01", "1:20", ".inf", "1_000", "0o17"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(plain); i++)
                if (!ap_sops_scalar_plain_ok(plain[i], strlen(plain[i])))
                        fail_msg("'%s' should be plain", plain[i]);
        for (size_t i = 0; i < AP_ARRAY_SIZE(quoted); i++)
                if (ap_sops_scalar_plain_ok(quoted[i], strlen(quoted[i])))
                        fail_msg("'%s' should be quoted", quoted[i]);
}

static void test_set_typed(void **state)
{
        struct ap_sops_node n = {0};
        assert_int_equal(ap_sops_scalar_set_typed(&n, "int", 3, "-42", 3), 0);
        assert_int_equal(n.type, AP_SOPS_INT);
        assert_int_equal(n.i, -42);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "float", 5, "1.50", 4), 0);
        assert_true(n.f == 1.5);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "bool", 4, "False", 5), 0);
        assert_false(n.b);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "time", 4, "2024-01-01T00:00:00Z", 20), 0);
        assert_int_equal(n.type, AP_SOPS_TIME);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "comment", 7, " note", 5), 0);
        assert_int_equal(n.type, AP_SOPS_COMMENT);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "int", 3, "0x1", 3), -EINVAL);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "bool", 4, "yes", 3), -EINVAL);
        assert_int_equal(ap_sops_scalar_set_typed(&n, "blob", 4, "x", 1), -EINVAL);
        free(n.str);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_plain_typing), cmocka_unit_test(test_tags_and_quotes),
            cmocka_unit_test(test_float_format), cmocka_unit_test(test_go_parsers),
            cmocka_unit_test(test_times),        cmocka_unit_test(test_plain_ok),
            cmocka_unit_test(test_set_typed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
