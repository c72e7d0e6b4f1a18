/* test_sops_api.c - the SOPS library API end to end with real age keys: encrypt/decrypt round trips
 * (YAML, JSON, multi-document), metadata, byte-stable re-encryption through the IV stash, "matches",
 * wrong keys, tampering (MAC mismatch, --ignore-mac), Shamir key groups, and nothing written on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/age.h"
#include "crypto/sops.h"

static struct ap_age_identity *ids[3];
static struct ap_age_recipient *rcps[3];
static char names[3][80];

static int setup(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 3; i++) {
                assert_int_equal(ap_age_identity_generate(&ids[i], &err), 0);
                assert_int_equal(ap_age_identity_to_recipient(ids[i], &rcps[i], &err), 0);
                struct ap_buf b = AP_BUF_INIT;
                assert_int_equal(ap_age_recipient_format(rcps[i], &b), 0);
                snprintf(names[i], sizeof(names[i]), "%s", b.data);
                ap_buf_release(&b);
        }
        return 0;
}

static int teardown(void **state)
{
        for (int i = 0; i < 3; i++) {
                ap_age_identity_free(ids[i]);
                ap_age_recipient_free(rcps[i]);
        }
        return 0;
}

static int counter_random(void *ctx, void *buf, size_t n)
{
        uint8_t *p = buf, *ctr = ctx;
        for (size_t i = 0; i < n; i++)
                p[i] = (*ctr)++;
        return 0;
}

static const char secret[] =
    "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: app-dev\n"
    "stringData:\n    password: s3cr3t\n    port: 5432\n    ratio: 1.5\n    enabled: true\n"
    "    empty: \"\"\n    multi: |\n        line 1\n        line 2\n";

static void encrypt(const char *in, struct ap_sops_encrypt_opts *o, struct ap_buf *out)
{
        struct ap_error err = AP_ERROR_INIT;
        if (ap_sops_encrypt(in, strlen(in), o, out, &err) < 0)
                fail_msg("encrypt: %s", err.msg);
}

static int decrypt(const char *in, size_t n, struct ap_age_identity *id, enum ap_sops_format f,
                   bool ignore_mac, struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_decrypt_opts d = AP_SOPS_DECRYPT_OPTS_INIT;
        struct ap_age_identity *list[1] = {id};
        d.identities = list;
        d.n_identities = id ? 1 : 0;
        d.input = d.output = f;
        d.ignore_mac = ignore_mac;
        return ap_sops_decrypt(in, n, &d, out, err);
}

static void test_roundtrip_yaml(void **state)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 2;
        o.rule = AP_SOPS_ENCRYPTED_REGEX;
        o.rule_value = "^(data|stringData)$";
        struct ap_buf enc = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        encrypt(secret, &o, &enc);
        assert_null(strstr(enc.data, "s3cr3t"));
        assert_non_null(strstr(enc.data, "    name: db\n"));       /* metadata in clear */
        assert_non_null(strstr(enc.data, "\n    mac: ENC["));      /* Flux's marker: mac plain */
        assert_non_null(strstr(enc.data, "    lastmodified: \"")); /* quoted */
        assert_non_null(strstr(enc.data, "    encrypted_regex: ^(data|stringData)$\n"));
        assert_non_null(strstr(enc.data, "    version: 3.9.0\n"));
        assert_non_null(
            strstr(enc.data, "        - enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert_non_null(strstr(enc.data, names[0]));
        assert_non_null(strstr(enc.data, names[1]));
        assert_non_null(strstr(enc.data, "    empty: \"\"\n")); /* empty strings stay empty */
        assert_non_null(strstr(enc.data, "type:int]"));
        assert_non_null(strstr(enc.data, "type:float]"));
        assert_non_null(strstr(enc.data, "type:bool]"));
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 2; i++) {
                ap_buf_reset(&plain);
                assert_int_equal(decrypt(enc.data, enc.len, ids[i], AP_SOPS_FORMAT_YAML, false, &plain, &err),
                                 0);
                assert_string_equal(plain.data, secret);
        }
        /* the third key is not a recipient */
        ap_buf_reset(&plain);
        assert_int_equal(decrypt(enc.data, enc.len, ids[2], AP_SOPS_FORMAT_YAML, false, &plain, &err),
                         AP_E_NO_KEY);
        assert_non_null(strstr(err.msg, names[0]));
        assert_int_equal(plain.len, 0);
        assert_int_equal(decrypt(enc.data, enc.len, NULL, AP_SOPS_FORMAT_YAML, false, &plain, &err),
                         AP_E_NO_KEY);
        assert_non_null(strstr(err.msg, "no age identity was given"));
        assert_null(strstr(err.msg, "SOPS_AGE_KEY")); /* which variable to set is the CLI's business */
        ap_buf_release(&enc);
        ap_buf_release(&plain);
}

static void test_roundtrip_json_and_docs(void **state)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 1;
        o.input = o.output = AP_SOPS_FORMAT_JSON;
        const char *json =
            "{\n\t\"a\": \"x\",\n\t\"n\": 12,\n\t\"f\": 1.5,\n\t\"l\": [\n\t\ttrue,\n\t\tnull\n\t]\n}\n";
        struct ap_buf enc = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        encrypt(json, &o, &enc);
        assert_non_null(strstr(enc.data, "\"mac\": \"ENC[")); /* Flux's JSON marker */
        assert_non_null(strstr(enc.data, "\"unencrypted_suffix\": \"_unencrypted\""));
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(decrypt(enc.data, enc.len, ids[0], AP_SOPS_FORMAT_JSON, false, &plain, &err), 0);
        assert_string_equal(plain.data, json);
        ap_buf_reset(&enc);
        ap_buf_reset(&plain);
        /* multi-document YAML: the metadata goes into every document, the MAC covers all */
        const char *docs = "a: 1\n---\nb: two\n";
        o.input = o.output = AP_SOPS_FORMAT_YAML;
        encrypt(docs, &o, &enc);
        const char *second = strstr(enc.data, "---\n");
        assert_non_null(second);
        assert_non_null(strstr(second, "sops:\n"));
        assert_int_equal(decrypt(enc.data, enc.len, ids[0], AP_SOPS_FORMAT_YAML, false, &plain, &err), 0);
        assert_string_equal(plain.data, docs);
        ap_buf_release(&enc);
        ap_buf_release(&plain);
}

static void test_tamper(void **state)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 1;
        o.rule = AP_SOPS_ENCRYPTED_REGEX;
        o.rule_value = "^(data|stringData)$";
        struct ap_buf enc = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        encrypt(secret, &o, &enc);
        struct ap_error err = AP_ERROR_INIT;
        /* a clear value changed: the MAC no longer matches */
        char *p = strstr(enc.data, "name: db");
        p[7] = 'x';
        assert_int_equal(decrypt(enc.data, enc.len, ids[0], AP_SOPS_FORMAT_YAML, false, &plain, &err),
                         AP_E_CORRUPT);
        assert_non_null(strstr(err.msg, "MAC mismatch"));
        assert_int_equal(plain.len, 0);
        assert_int_equal(decrypt(enc.data, enc.len, ids[0], AP_SOPS_FORMAT_YAML, true, &plain, &err), 0);
        assert_non_null(strstr(plain.data, "name: dx"));
        p[7] = 'b';
        ap_buf_reset(&plain);
        /* an encrypted value moved to another key: its AAD no longer matches, the error names the key */
        char *pw = strstr(enc.data, "    password: ");
        char *port = strstr(enc.data, "    port: ");
        memcpy(pw + 4, "pzzzword", 8);
        (void)port;
        assert_int_equal(decrypt(enc.data, enc.len, ids[0], AP_SOPS_FORMAT_YAML, false, &plain, &err),
                         AP_E_CORRUPT);
        assert_non_null(strstr(err.msg, "'stringData.pzzzword'"));
        assert_int_equal(plain.len, 0);
        ap_buf_release(&enc);
        ap_buf_release(&plain);
}

static void test_stable_reencrypt_and_matches(void **state)
{
        uint8_t ctr = 0;
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 1;
        o.rule = AP_SOPS_ENCRYPTED_REGEX;
        o.rule_value = "^(data|stringData)$";
        o.now = 1731418422; /* 2024-11-12T13:33:42Z */
        o.random = counter_random;
        o.random_ctx = &ctr;
        struct ap_buf first = AP_BUF_INIT, second = AP_BUF_INIT, changed = AP_BUF_INIT;
        encrypt(secret, &o, &first);
        assert_non_null(strstr(first.data, "lastmodified: \"2024-11-12T13:33:42Z\""));
        /* same input, same key, same IVs (the stash) and same time: the same bytes */
        ctr = 200;
        o.previous = first.data;
        o.previous_len = first.len;
        o.identities = ids;
        o.n_identities = 1;
        encrypt(secret, &o, &second);
        /* only the MAC's own IV comes from the random source again */
        const char *m1 = strstr(first.data, "    mac: "), *m2 = strstr(second.data, "    mac: ");
        assert_int_equal(m1 - first.data, m2 - second.data);
        assert_memory_equal(first.data, second.data, (size_t)(m1 - first.data));
        /* one value changed: everything else keeps its ciphertext */
        char *edited = strdup(secret);
        memcpy(strstr(edited, "s3cr3t"), "n3wpw!", 6);
        encrypt(edited, &o, &changed);
        const char *a = strstr(first.data, "    port: "), *b = strstr(changed.data, "    port: ");
        assert_memory_equal(a, b, (size_t)(strchr(a, '\n') - a));
        assert_string_not_equal(strstr(first.data, "    password: "), strstr(changed.data, "    password: "));

        /* matches: same plaintext (even formatted differently), recipients and rule */
        struct ap_sops_match_opts mo = {.identities = ids,
                                        .n_identities = 1,
                                        .rule = AP_SOPS_ENCRYPTED_REGEX,
                                        .rule_value = "^(data|stringData)$"};
        const char *who[2] = {names[0], names[1]};
        mo.recipients = who;
        mo.n_recipients = 1;
        bool m = false;
        struct ap_error err = AP_ERROR_INIT;
        const char *reformatted =
            "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app-dev}\n"
            "stringData:\n  password: 's3cr3t'\n  port: 5432\n  ratio: 1.50\n  enabled: true\n"
            "  empty: ''\n  multi: \"line 1\\nline 2\\n\"\n";
        assert_int_equal(
            ap_sops_matches(first.data, first.len, reformatted, strlen(reformatted), &mo, &m, &err), 0);
        assert_true(m);
        assert_int_equal(ap_sops_matches(first.data, first.len, edited, strlen(edited), &mo, &m, &err), 0);
        assert_false(m);
        mo.n_recipients = 2; /* a recipient was added: re-encrypt */
        assert_int_equal(ap_sops_matches(first.data, first.len, secret, strlen(secret), &mo, &m, &err), 0);
        assert_false(m);
        mo.n_recipients = 1;
        mo.rule = AP_SOPS_RULE_NONE; /* another crypt rule: re-encrypt */
        assert_int_equal(ap_sops_matches(first.data, first.len, secret, strlen(secret), &mo, &m, &err), 0);
        assert_false(m);
        mo.identities = ids + 2; /* cannot decrypt: an error, not a mismatch */
        assert_true(ap_sops_matches(first.data, first.len, secret, strlen(secret), &mo, &m, &err) < 0);
        free(edited);
        ap_buf_release(&first);
        ap_buf_release(&second);
        ap_buf_release(&changed);
}

static void test_shamir_groups(void **state)
{
        struct ap_sops_recipient_group groups[3] = {{rcps, 1}, {rcps + 1, 1}, {rcps + 2, 1}};
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.groups = groups;
        o.n_groups = 3;
        o.shamir_threshold = 2;
        struct ap_buf enc = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        encrypt("a: secret\n", &o, &enc);
        assert_non_null(strstr(enc.data, "    key_groups:\n"));
        assert_non_null(strstr(enc.data, "    shamir_threshold: 2\n"));
        struct ap_error err = AP_ERROR_INIT;
        struct ap_sops_decrypt_opts d = AP_SOPS_DECRYPT_OPTS_INIT;
        struct ap_age_identity *two[2] = {ids[0], ids[2]};
        d.identities = two;
        d.n_identities = 2;
        assert_int_equal(ap_sops_decrypt(enc.data, enc.len, &d, &plain, &err), 0);
        assert_string_equal(plain.data, "a: secret\n");
        d.n_identities = 1; /* one share is not enough */
        ap_buf_reset(&plain);
        assert_int_equal(ap_sops_decrypt(enc.data, enc.len, &d, &plain, &err), AP_E_NO_KEY);
        assert_non_null(strstr(err.msg, "key groups"));
        ap_buf_release(&enc);
        ap_buf_release(&plain);
}

/* A SOPS YAML file whose metadata has n key groups without shamir_threshold, each holding the same
 * 33-byte share encrypted to rcp: anyone can write it with a public recipient. */
static void many_groups_file(size_t n, struct ap_age_recipient *rcp, struct ap_buf *out)
{
        struct ap_error err = AP_ERROR_INIT;
        uint8_t share[33] = {[32] = 1};
        struct ap_buf enc = AP_BUF_INIT, block = AP_BUF_INIT;
        assert_int_equal(ap_age_encrypt(&rcp, 1, share, sizeof(share), true, &enc, &err), 0);
        for (const char *line = enc.data; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                assert_int_equal(ap_buf_printf(&block, "                %.*s\n", (int)len, line), 0);
                line += len + (nl ? 1 : 0);
        }
        assert_int_equal(ap_buf_addstr(out, "a: x\nsops:\n    key_groups:\n"), 0);
        for (size_t g = 0; g < n; g++)
                assert_int_equal(ap_buf_printf(out,
                                               "        - age:\n            - recipient: %s\n"
                                               "              enc: |\n%s",
                                               names[0], block.data),
                                 0);
        assert_int_equal(ap_buf_addstr(out, "    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: \"\"\n"
                                            "    version: 3.9.0\n"),
                         0);
        ap_buf_release(&enc);
        ap_buf_release(&block);
}

/* 256 key groups (more than Shamir's scheme can have; they overflowed the share array) are refused while
 * the metadata is read, before any share is opened. */
static void test_too_many_key_groups(void **state)
{
        struct ap_buf file = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        struct ap_error err = AP_ERROR_INIT;
        many_groups_file(256, rcps[0], &file);
        assert_int_equal(decrypt(file.data, file.len, ids[0], AP_SOPS_FORMAT_YAML, true, &plain, &err),
                         AP_E_TOO_LARGE);
        assert_non_null(strstr(err.msg, "256 key groups"));
        assert_int_equal(plain.len, 0);
        ap_buf_release(&file);
        ap_buf_release(&plain);
}

static void test_bad_input(void **state)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 1;
        struct ap_buf out = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_encrypt("a: [1\n", 6, &o, &out, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "cannot parse YAML"));
        assert_int_equal(ap_sops_encrypt("sops: x\n", 8, &o, &out, &err), AP_E_EXISTS);
        assert_non_null(strstr(err.msg, "'sops'"));
        o.n_recipients = 0;
        assert_true(ap_sops_encrypt("a: 1\n", 5, &o, &out, &err) < 0);
        assert_non_null(strstr(err.msg, "no age recipient"));
        o.n_recipients = 1;
        o.rule = AP_SOPS_ENCRYPTED_REGEX;
        o.rule_value = "\\bx";
        assert_int_equal(ap_sops_encrypt("a: 1\n", 5, &o, &out, &err), AP_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "encrypted_regex"));
        assert_int_equal(out.len, 0);
        /* decrypting something that is not a SOPS file */
        assert_int_equal(decrypt("a: 1\n", 5, ids[0], AP_SOPS_FORMAT_YAML, false, &out, &err), AP_E_INVALID);
        assert_non_null(strstr(err.msg, "sops metadata not found"));
        const char *bad_enc = "a: ENC[AES256_GCM,data:zz,iv:zz,tag:zz,type:str]\nsops:\n    age: []\n";
        assert_int_equal(decrypt(bad_enc, strlen(bad_enc), ids[0], AP_SOPS_FORMAT_YAML, false, &out, &err),
                         AP_E_CORRUPT);
        assert_non_null(strstr(err.msg, "no keys found"));
        assert_int_equal(out.len, 0);
        ap_buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip_yaml),
            cmocka_unit_test(test_roundtrip_json_and_docs),
            cmocka_unit_test(test_tamper),
            cmocka_unit_test(test_stable_reencrypt_and_matches),
            cmocka_unit_test(test_shamir_groups),
            cmocka_unit_test(test_bad_input),
            cmocka_unit_test(test_too_many_key_groups),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
