/* test_sops_enc.c - ENC[AES256_GCM,...] values (known answers computed with Go's crypto/aes + GCM as sops's
 * aes cipher does, malformed inputs), AAD = key path, and the MAC over walked trees (known answers from
 * sops v3.13.2's Tree.Encrypt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/sops_enc.h"
#include "crypto/sops_walk.h"
#include "crypto/sops_yaml.h"
#include "crypto/sops_json.h"

static uint8_t key[32], iv[32];

static int setup(void **state)
{
        for (int i = 0; i < 32; i++) {
                key[i] = (uint8_t)i;
                iv[i] = (uint8_t)(0xA0 + i);
        }
        return 0;
}

static void seal_is(const char *aad, const char *pt, const char *type, size_t iv_len, const char *want)
{
        struct ap_sops_cipher *c;
        struct ap_buf out = AP_BUF_INIT;
        assert_int_equal(ap_sops_cipher_new(key, &c), 0);
        assert_int_equal(ap_sops_cipher_seal(c, iv, iv_len, aad, strlen(aad), pt, strlen(pt), type, &out), 0);
        assert_string_equal(out.data, want);
        /* and back */
        struct ap_buf back = AP_BUF_INIT_SECRET;
        struct ap_sops_enc e;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_cipher_open(c, out.data, out.len, aad, strlen(aad), &back, &e, &err), 0);
        assert_string_equal(back.data, pt);
        assert_int_equal(e.type_len, strlen(type));
        assert_memory_equal(e.type, type, e.type_len);
        ap_buf_release(&back);
        ap_buf_release(&out);
        ap_sops_cipher_free(c);
}

static void test_known_answers(void **state)
{
        seal_is("stringData:password:", "s3cr3t", "str", 32,
                "ENC[AES256_GCM,data:2ouR9PHL,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:g+"
                "CLalu9Eqvauwlgpg2NLQ=="
                ",type:str]");
        seal_is("a:", "42", "int", 32,
                "ENC[AES256_GCM,data:nYo=,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:TlxIRj1Xvf+"
                "cwXWhQV8Lgg==,"
                "type:int]");
        seal_is(":", " top comment", "comment", 32,
                "ENC[AES256_GCM,data:icyd9uLccaiG83hl,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:"
                "QnVnyUBZFqzC2p17rzIhvQ==,type:comment]");
        /* 12-byte IVs (other writers) are read too */
        seal_is("x:", "v", "str", 12,
                "ENC[AES256_GCM,data:kA==,iv:oKGio6Slpqeoqaqr,tag:VYVIAB1RuZRkVyFQ+K5kag==,type:str]");
        /* the MAC's AAD is lastmodified */
        seal_is("2024-11-12T13:33:42Z", "ABC", "str", 32,
                "ENC[AES256_GCM,data:6Pqx,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:"
                "NngG57JWl49TSHVK1pRWOA==,"
                "type:str]");
}

static void test_parse(void **state)
{
        struct ap_sops_enc e;
        const char *ok = "ENC[AES256_GCM,data:2ouR9PHL,iv:oKGi,tag:g+CL,type:str]";
        assert_int_equal(ap_sops_enc_parse(ok, strlen(ok), &e), 0);
        assert_int_equal(e.data_len, 8);
        assert_memory_equal(e.iv, "oKGi", 4);
        static const char *const bad[] = {
            "",
            "ENC[",
            "ENC[AES256_GCM,data:,iv:oKGi,tag:g+CL,type:str]",
            "ENC[AES256_GCM,data:abc,iv:,tag:g+CL,type:str]",
            "ENC[AES256_GCM,data:abc,iv:oKGi,tag:g+CL,type:]",
            "ENC[AES256_GCM,data:abc,iv:oKGi,tag:g+CL,type:str",
            "ENC[AES256_GCM,data:abc,iv:oKGi,tag:g+CL,type:str]x",
            "ENC[AES256_CBC,data:abc,iv:oKGi,tag:g+CL,type:str]",
            "ENC[AES256_GCM,iv:oKGi,data:abc,tag:g+CL,type:str]",
            "ENC[AES256_GCM,data:a b,iv:oKGi,tag:g+CL,type:str]",
            "ENC[AES256_GCM,data:abc,iv:oKGi,tag:g+CL,type:Str]",
            " ENC[AES256_GCM,data:abc,iv:oKGi,tag:g+CL,type:str]",
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++)
                if (ap_sops_enc_parse(bad[i], strlen(bad[i]), &e) == 0)
                        fail_msg("accepted '%s'", bad[i]);
}

static void test_open_failures(void **state)
{
        struct ap_sops_cipher *c;
        assert_int_equal(ap_sops_cipher_new(key, &c), 0);
        const char *good = "ENC[AES256_GCM,data:2ouR9PHL,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:"
                           "g+CLalu9Eqvauwlgpg2NLQ==,type:str]";
        struct {
                const char *value, *aad, *msg;
        } cases[] = {
            {good, "stringData:passwd:", "authentication failed"},  /* moved to another key */
            {good, "stringData:password", "authentication failed"}, /* AAD without the final ':' */
            {"ENC[AES256_GCM,data:3ouR9PHL,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:g+"
             "CLalu9Eqvauwlgpg2NLQ==,"
             "type:str]",
             "stringData:password:", "authentication failed"}, /* tampered data */
            {"ENC[AES256_GCM,data:2ouR9PHL,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:g+"
             "CLalu9Eqvauwlgpg2N,"
             "type:str]",
             "stringData:password:", "tag"}, /* short tag */
            {"ENC[AES256_GCM,data:2ouR9PH,iv:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=,tag:g+"
             "CLalu9Eqvauwlgpg2NLQ==,"
             "type:str]",
             "stringData:password:", "data field"}, /* bad base64 */
            {"plain value", "x:", "format"},
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(cases); i++) {
                struct ap_buf pt = AP_BUF_INIT_SECRET;
                struct ap_sops_enc e;
                struct ap_error err = AP_ERROR_INIT;
                assert_true(ap_sops_cipher_open(c, cases[i].value, strlen(cases[i].value), cases[i].aad,
                                                strlen(cases[i].aad), &pt, &e, &err) < 0);
                if (!strstr(err.msg, cases[i].msg))
                        fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
                assert_int_equal(pt.len, 0);
                ap_buf_release(&pt);
        }
        ap_sops_cipher_free(c);
}

/* ---- walk: MAC known answers and AAD paths ---- */

static int counter_random(void *ctx, void *buf, size_t n)
{
        uint8_t *p = buf, *ctr = ctx;
        for (size_t i = 0; i < n; i++)
                p[i] = (*ctr)++;
        return 0;
}

static const char manifest[] = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: hello\n"
                               "  b: 1.50\n  c: true\n  d: 0x1F\n  e: 2024-01-01\n  f: \"\"\n  g: null\n"
                               "  l: [1, two, 3.0]\n";

static void mac_is(const char *doc, bool json, enum ap_sops_rule_kind kind, const char *value, bool mac_only,
                   const char *want)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (json)
                assert_int_equal(ap_sops_json_load(doc, strlen(doc), 0, &docs, &err), 0);
        else
                assert_int_equal(ap_sops_yaml_load(doc, strlen(doc), &docs, &err), 0);
        struct ap_sops_rule rule;
        assert_int_equal(ap_sops_rule_init(&rule, kind, value, &err), 0);
        struct ap_sops_cipher *c;
        assert_int_equal(ap_sops_cipher_new(key, &c), 0);
        uint8_t ctr = 0;
        struct ap_sops_walk w = {.rule = &rule,
                                 .mac_only_encrypted = mac_only,
                                 .cipher = c,
                                 .random = counter_random,
                                 .random_ctx = &ctr};
        char mac[AP_SOPS_MAC_HEX_LEN + 1];
        assert_int_equal(ap_sops_walk_encrypt(&w, &docs, mac, &err), 0);
        assert_string_equal(mac, want);
        /* decrypting recomputes the same MAC from the typed values */
        char again[AP_SOPS_MAC_HEX_LEN + 1];
        assert_int_equal(ap_sops_walk_decrypt(&w, &docs, again, &err), 0);
        assert_string_equal(again, want);
        ap_sops_cipher_free(c);
        ap_sops_rule_release(&rule);
        ap_sops_docs_release(&docs);
}

static void test_mac_known_answers(void **state)
{
        const char *all =
            "F610FFB452D43830558280169AB2EACCAB07B5E350CA79CE381C6D0838A364FA667C5EE5DF36B23E752F0A81BDAF0"
            "E125566EC69DB58BF606DA9B8308C72F553";
        mac_is(manifest, false, AP_SOPS_RULE_NONE, NULL, false, all);
        /* the rule does not change the MAC unless mac_only_encrypted */
        mac_is(manifest, false, AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", false, all);
        mac_is(manifest, false, AP_SOPS_ENCRYPTED_REGEX, "^(data|stringData)$", true,
               "61B5ADA28F2F96EF523F91716CAEA7D546AD540653C41937093AE5FED8694870EFA71023465AD6EA09464D491237C"
               "650BA4661"
               "90C2A73D7B5E5B4F500C9763E3");
        mac_is("a: 1\n---\nb: [x, 2.5]\n", false, AP_SOPS_RULE_NONE, NULL, false,
               "96C4B3196638AAF92641DE77942F3CF395F7B8AA421181C0C263FF93EDF42D3D8EC14BDC3B3A791E3E742D5EB5412"
               "E6E7D2638"
               "0E2272D14369544198D748B440");
        mac_is("{\"a\": 1, \"b\": 1.5, \"c\": [true, null, \"x\"]}", true, AP_SOPS_RULE_NONE, NULL, false,
               "1D93F00BFEB2754F71533DB5B08ED8DFAE62B859724B87BFD307AE91B32EEE9C8A1B74AC6D4D2DE1E9BBC33C9ADB9"
               "6BCA6AA69"
               "B547015CFDB4FEC1933E1D0283");
}

/* Encrypt a document and return the ENC[] text of the value at a path of keys (list items: first item). */
static void aad_paths(void **state)
{
        const char *doc = "# top\nspec:\n  list:\n    - x\n    - k: v\n  # in spec\n  s: ''\n";
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_yaml_load(doc, strlen(doc), &docs, &err), 0);
        struct ap_sops_rule rule;
        assert_int_equal(ap_sops_rule_init(&rule, AP_SOPS_RULE_NONE, NULL, &err), 0);
        struct ap_sops_cipher *c;
        assert_int_equal(ap_sops_cipher_new(key, &c), 0);
        uint8_t ctr = 7;
        struct ap_sops_walk w = {.rule = &rule, .cipher = c, .random = counter_random, .random_ctx = &ctr};
        char mac[AP_SOPS_MAC_HEX_LEN + 1];
        assert_int_equal(ap_sops_walk_encrypt(&w, &docs, mac, &err), 0);
        struct ap_sops_node *root = docs.docs[0];
        struct ap_sops_node *spec = ap_sops_map_get(root, "spec");
        struct ap_sops_node *list = ap_sops_map_get(spec, "list");
        struct {
                const struct ap_sops_node *n;
                const char *aad;
        } want[] = {
            {root->kids[0], ":"},                                  /* top-level comment */
            {list->kids[0], "spec:list:"},                         /* list items: no index */
            {ap_sops_map_get(list->kids[1], "k"), "spec:list:k:"}, /* map inside a list item */
            {spec->kids[1], "spec:"},                              /* comment inside spec */
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(want); i++) {
                struct ap_buf pt = AP_BUF_INIT_SECRET;
                struct ap_sops_enc e;
                if (ap_sops_cipher_open(c, want[i].n->str, want[i].n->len, want[i].aad, strlen(want[i].aad),
                                        &pt, &e, &err) < 0)
                        fail_msg("case %zu: %s does not open with AAD '%s'", i, want[i].n->str, want[i].aad);
                ap_buf_release(&pt);
        }
        /* empty strings are never encrypted */
        assert_int_equal(ap_sops_map_get(spec, "s")->len, 0);
        ap_sops_cipher_free(c);
        ap_sops_rule_release(&rule);
        ap_sops_docs_release(&docs);
}

static void test_mac_verify(void **state)
{
        struct ap_sops_cipher *c;
        assert_int_equal(ap_sops_cipher_new(key, &c), 0);
        uint8_t ctr = 0;
        struct ap_sops_rule rule;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_sops_rule_init(&rule, AP_SOPS_RULE_NONE, NULL, &err), 0);
        struct ap_sops_walk w = {.rule = &rule, .cipher = c, .random = counter_random, .random_ctx = &ctr};
        struct ap_buf stored = AP_BUF_INIT;
        const char *mac = "ABCDEF";
        assert_int_equal(ap_sops_mac_seal(&w, mac, "2024-11-12T13:33:42Z", &stored), 0);
        assert_int_equal(ap_sops_mac_verify(c, stored.data, stored.len, "2024-11-12T13:33:42Z", mac, &err),
                         0);
        assert_true(ap_sops_mac_verify(c, stored.data, stored.len, "2024-11-12T13:33:42Z", "ABCDEE", &err) <
                    0);
        assert_non_null(strstr(err.msg, "MAC mismatch"));
        assert_true(ap_sops_mac_verify(c, stored.data, stored.len, "2024-11-12T13:33:43Z", mac, &err) < 0);
        ap_buf_release(&stored);
        ap_sops_rule_release(&rule);
        ap_sops_cipher_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_known_answers), cmocka_unit_test(test_parse),
            cmocka_unit_test(test_open_failures), cmocka_unit_test(test_mac_known_answers),
            cmocka_unit_test(aad_paths),          cmocka_unit_test(test_mac_verify),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
