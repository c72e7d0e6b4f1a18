/* test_sops_yaml.c - the YAML and JSON stores: data/sops-yaml/NAME.in.* must come out exactly as sops's own
 * stores write NAME.out.*, output is stable (out -> out), and bad input fails with the line and key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "crypto/sops_json.h"
#include "crypto/sops_yaml.h"

#ifndef AP_SOPS_DATA
#define AP_SOPS_DATA "test/crypto/data/sops-yaml"
#endif

static void read_all(const char *path, struct ap_buf *b)
{
        struct ap_error err = AP_ERROR_INIT;
        if (ap_read_file(path, b, &err) < 0)
                fail_msg("%s", err.msg);
}

static void convert(const char *in, size_t n, bool json, int indent, struct ap_buf *out)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        int r = json ? ap_sops_json_load(in, n, 0, &docs, &err) : ap_sops_yaml_load(in, n, &docs, &err);
        if (r < 0)
                fail_msg("load: %s", err.msg);
        r = json ? ap_sops_json_emit(docs.docs[0], indent ? indent : AP_SOPS_JSON_INDENT_TAB, out, &err)
                 : ap_sops_yaml_emit(&docs, indent, out, &err);
        if (r < 0)
                fail_msg("emit: %s", err.msg);
        ap_sops_docs_release(&docs);
}

static void test_cases(void **state)
{
        DIR *d = opendir(AP_SOPS_DATA);
        assert_non_null(d);
        struct dirent *e;
        int n = 0;
        while ((e = readdir(d))) {
                const char *dot = strstr(e->d_name, ".in.");
                if (!dot)
                        continue;
                bool json = strcmp(dot, ".in.json") == 0;
                const char *ind = strstr(e->d_name, "-indent");
                int indent = ind && ind < dot ? (int)strtol(ind + 7, NULL, 10) : 0;
                char in_path[512], out_path[512];
                snprintf(in_path, sizeof(in_path), "%s/%s", AP_SOPS_DATA, e->d_name);
                snprintf(out_path, sizeof(out_path), "%s/%.*s.out.%s", AP_SOPS_DATA, (int)(dot - e->d_name),
                         e->d_name, json ? "json" : "yaml");
                struct ap_buf in = AP_BUF_INIT, want = AP_BUF_INIT, got = AP_BUF_INIT, again = AP_BUF_INIT;
                read_all(in_path, &in);
                read_all(out_path, &want);
                convert(in.data, in.len, json, indent, &got);
                if (!ap_buf_equal(&got, want.data, want.len))
                        fail_msg("%s: output differs from sops's:\n--- got\n%s--- want\n%s", e->d_name,
                                 got.data, want.data);
                convert(want.data, want.len, json, indent, &again);
                if (!ap_buf_equal(&again, want.data, want.len))
                        fail_msg("%s: output is not stable", e->d_name);
                ap_buf_release(&in);
                ap_buf_release(&want);
                ap_buf_release(&got);
                ap_buf_release(&again);
                n++;
        }
        closedir(d);
        assert_true(n >= 10);
}

static void fails_with(const char *doc, bool json, const char *msg)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        int r = json ? ap_sops_json_load(doc, strlen(doc), 0, &docs, &err)
                     : ap_sops_yaml_load(doc, strlen(doc), &docs, &err);
        if (r == 0)
                fail_msg("accepted: %s", doc);
        if (!strstr(err.msg, msg))
                fail_msg("'%s': message '%s' lacks '%s'", doc, err.msg, msg);
        assert_int_equal(docs.n, 0);
        ap_sops_docs_release(&docs);
}

static void test_errors(void **state)
{
        fails_with("a: 1\na: 2\n", false, "line 2: mapping key 'a' already defined");
        fails_with("spec:\n  data:\n    x: 1\n    x: 2\n", false, "key 'x' already defined (at 'spec.data')");
        fails_with("a:\n  - b: 1\n    b: 2\n", false, "(at 'a[0]')");
        fails_with("1: x\n", false, "key '1' is a int, not a string");
        fails_with("a:\n  true: x\n", false, "'a'");
        fails_with("? [a, b]\n: x\n", false, "only string keys");
        fails_with("- a\n- b\n", false, "sequences are not supported");
        fails_with("just a string\n", false, "values are not supported");
        fails_with("a: 18446744073709551615\n", false, "out of range");
        fails_with("data:\n  n: 18446744073709551616000\n  m: 18446744073709551615\n", false, "'data.m'");
        fails_with("a: [1, 2\n", false, "line ");
        fails_with("a: *nope\n", false, "unknown anchor");
        fails_with("a: &x [1, *x]\n", false, "contains itself");
        fails_with("a: 1\n---\nb: [\n", false, "line 4");
        fails_with("[1, 2]", true, "top-level object");
        fails_with("{\"a\": 1, \"a\": 2}", true, "duplicate key 'a'");
        fails_with("{\"a\": }", true, "line 1");
}

/* Errors in a document to be encrypted (or just decrypted) never quote its text, and name the real place. */
static void fails_quietly(const char *doc, size_t n, bool json, int code, const char *msg, const char *secret)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        int r = json ? ap_sops_json_load(doc, n, 0, &docs, &err) : ap_sops_yaml_load(doc, n, &docs, &err);
        if (r != code)
                fail_msg("'%s': code %d, want %d (%s)", doc, r, code, err.msg);
        if (!strstr(err.msg, msg))
                fail_msg("'%s': message '%s' lacks '%s'", doc, err.msg, msg);
        if (secret && strstr(err.msg, secret))
                fail_msg("'%s': message '%s' quotes the document", doc, err.msg);
        assert_int_equal(docs.n, 0);
}

static void test_errors_name_the_place_not_the_text(void **state)
{
        const char j1[] = "{\"password\": \"hunter2secret\", \"x\": tru}";
        fails_quietly(j1, strlen(j1), true, AP_E_INVALID, "line 1, column 36: expected a value", "hunter2");
        const char j2[] = "{\"p\": \"s3cr3t\" \"x\"}";
        fails_quietly(j2, strlen(j2), true, AP_E_INVALID, "line 1, column 16: expected ','", "s3cr3t");
        const char j3[] = "{\n  \"a\": \"ok\",\n  \"bé\": \"x\xff\"\n}";
        fails_quietly(j3, strlen(j3), true, AP_E_INVALID, "line 3, column 11: invalid UTF-8", NULL);
        const char j4[] = "{\"a\": \"\\ud800x\"}";
        fails_quietly(j4, strlen(j4), true, AP_E_INVALID, "lone high surrogate", NULL);
        const char j5[] = "{\"a\": 1e999}";
        fails_quietly(j5, strlen(j5), true, AP_E_INVALID, "too large for a float", "999");
        const char j6[] = "{\"a\": \"x\"} {\"b\": 1}";
        fails_quietly(j6, strlen(j6), true, AP_E_INVALID, "line 1, column 12: more after", NULL);
        const char y1[] = "a: ok\nb: \"hunter2\xff\"\n";
        fails_quietly(y1, strlen(y1), false, AP_E_INVALID, "line 2, column 12: invalid leading UTF-8",
                      "hunter2");
        const char y2[] = "a: 1\nn: 18446744073709551615\n";
        fails_quietly(y2, strlen(y2), false, AP_E_INVALID, "out of range", "18446744073709551615");
        const char y3[] = "a: !!int hunter2secret\n";
        fails_quietly(y3, strlen(y3), false, AP_E_INVALID, "cannot decode a !!str value as a !!int",
                      "hunter2");
        const char y4[] = "a: !!binary 'hunter2secret!'\n";
        fails_quietly(y4, strlen(y4), false, AP_E_INVALID, "invalid base64", "hunter2");
}

/* A repeated JSON key is an error in a document to encrypt, and kept (both entries, in order) in a file
 * sops wrote, as sops keeps it. */
static void test_json_duplicates(void **state)
{
        const char doc[] = "{\"a\": \"one\", \"b\": 2, \"a\": \"two\"}";
        fails_quietly(doc, strlen(doc), true, AP_E_INVALID, "line 1, column 22: duplicate key 'a'", NULL);
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_json_load(doc, strlen(doc), AP_SOPS_JSON_KEEP_DUPLICATES, &docs, &err), 0);
        assert_int_equal(docs.docs[0]->n, 3);
        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(ap_sops_json_emit(docs.docs[0], AP_SOPS_JSON_INDENT_TAB, &out, &err), 0);
        assert_string_equal(out.data, "{\n\t\"a\": \"one\",\n\t\"b\": 2,\n\t\"a\": \"two\"\n}\n");
        ap_sops_docs_release(&docs);
}

static void test_anchor_bomb(void **state)
{
        /* billion laughs: refused once expansion passes the budget */
        const char *doc = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                          "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                          "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                          "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                          "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                          "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                          "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        fails_with(doc, false, "aliases expand too much");
}

static void test_documents(void **state)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        const char *doc = "---\n---\na: 1\n---\nnull\n";
        assert_int_equal(ap_sops_yaml_load(doc, strlen(doc), &docs, &err), 0);
        assert_int_equal(docs.n, 3);
        assert_int_equal(docs.docs[0]->n, 0);
        assert_int_equal(docs.docs[2]->n, 0);
        struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(ap_sops_yaml_emit(&docs, 0, &out, &err), 0);
        assert_string_equal(out.data, "{}\n---\na: 1\n---\n{}\n");
        ap_buf_release(&out);
        ap_sops_docs_release(&docs);
        /* a comment-only stream has no document */
        assert_int_equal(ap_sops_yaml_load("# c\n", 4, &docs, &err), 0);
        assert_int_equal(docs.n, 0);
        ap_sops_docs_release(&docs);
}

static void test_literal_hint_is_readable(void **state)
{
        /* go-yaml writes "|4-" here, which no YAML parser reads back; we write the real offset */
        const char *doc = "l:\n  - \"\\n x\"\n  - k: \" a\\nb\"\n";
        struct ap_buf out = AP_BUF_INIT;
        convert(doc, strlen(doc), false, 0, &out);
        assert_string_equal(out.data, "l:\n    - |2-\n\n       x\n    - k: |2-\n         a\n        b\n");
        struct ap_buf again = AP_BUF_INIT;
        convert(out.data, out.len, false, 0, &again);
        assert_string_equal(again.data, out.data);
        ap_buf_release(&out);
        ap_buf_release(&again);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cases),
            cmocka_unit_test(test_errors_name_the_place_not_the_text),
            cmocka_unit_test(test_json_duplicates),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_anchor_bomb),
            cmocka_unit_test(test_documents),
            cmocka_unit_test(test_literal_hint_is_readable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
