/* test_fault.c - every allocation of SOPS encryption and decryption (YAML, JSON, re-encryption, Shamir key
 * groups, "matches"), age encryption and decryption, the YAML, JSON, key-file and .sops.yaml readers and
 * the atomic file write fails in turn (fault_alloc.h): each run fails the next allocation, until a run sees
 * no failure. Every failed run must return an error carried in its struct ap_error, hand back no output
 * and, for the file write, leave no file behind; ASan catches a crash, LeakSanitizer a leak (checked after
 * each case). One TAP line per case. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/init.h"
#include "crypto/age.h"
#include "crypto/sops.h"
#include "crypto/sops_config.h"
#include "crypto/sops_yaml.h"
#include "fault_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
int __lsan_do_recoverable_leak_check(void);
#define leak_check() __lsan_do_recoverable_leak_check()
#else
#define leak_check() 0
#endif

#define MAX_ALLOCATIONS 200000 /* a run past this many allocations is a runaway */

static struct ap_age_identity *ids[3];
static struct ap_age_recipient *rcps[3];
static char recipient0[100];
static struct ap_buf enc_yaml = AP_BUF_INIT, enc_json = AP_BUF_INIT, enc_age = AP_BUF_INIT,
                     enc_shamir = AP_BUF_INIT;
static char dir[] = "/tmp/ap-fault-XXXXXX";

static const char yaml_doc[] = "# head comment\n"
                               "apiVersion: v1\n"
                               "kind: Secret\n"
                               "metadata:\n"
                               "    name: db # inline\n"
                               "    labels: &l {app: x, tier: db}\n"
                               "stringData:\n"
                               "    password: s3cr3t\n"
                               "    port: 5432\n"
                               "    ratio: 1.5\n"
                               "    when: 2024-01-02T03:04:05Z\n"
                               "    bin: !!binary aGVsbG8=\n"
                               "    block: |\n"
                               "        line one\n"
                               "        line two\n"
                               "    list:\n"
                               "        - a\n"
                               "        - {k: v}\n"
                               "    copy: *l\n"
                               "---\n"
                               "second: doc\n";
static const char json_doc[] =
    "{\"kind\": \"Secret\", \"data\": {\"a\": \"x\\u00e9\", \"n\": [1, 2.5, true, null], "
    "\"big\": 123456789012345678901234567890, \"o\": {}}}";
static const char config[] = "creation_rules:\n"
                             "  - path_regex: secrets/.*\\.yaml$\n"
                             "    encrypted_regex: ^(data|stringData)$\n"
                             "    age: age1x, age1y\n"
                             "  - key_groups:\n"
                             "      - age: [age1a]\n"
                             "      - age: [age1b]\n"
                             "    shamir_threshold: 2\n"
                             "stores:\n"
                             "  yaml:\n"
                             "    indent: 2\n";

static struct ap_sops_encrypt_opts encrypt_opts(enum ap_sops_format f)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcps;
        o.n_recipients = 2;
        o.input = o.output = f;
        return o;
}

static struct ap_sops_decrypt_opts decrypt_opts(enum ap_sops_format f)
{
        struct ap_sops_decrypt_opts o = AP_SOPS_DECRYPT_OPTS_INIT;
        o.identities = &ids[1];
        o.n_identities = 1;
        o.input = o.output = f;
        return o;
}

/* ---- the operations: each appends its output to out ---- */

static int yaml_load_emit(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        int r = ap_sops_yaml_load(yaml_doc, strlen(yaml_doc), &docs, err);
        if (r == 0)
                r = ap_sops_yaml_emit(&docs, 0, out, err);
        ap_sops_docs_release(&docs);
        return r;
}

static int json_load_emit(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        int r = ap_sops_json_load(json_doc, strlen(json_doc), 0, &docs, err);
        if (r == 0)
                r = ap_sops_json_emit(docs.docs[0], AP_SOPS_JSON_INDENT_TAB, out, err);
        ap_sops_docs_release(&docs);
        return r;
}

static int sops_encrypt_yaml(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_encrypt_opts o = encrypt_opts(AP_SOPS_FORMAT_YAML);
        o.rule = AP_SOPS_UNENCRYPTED_REGEX;
        o.rule_value = "^(apiVersion|kind|metadata)$";
        return ap_sops_encrypt(yaml_doc, strlen(yaml_doc), &o, out, err);
}

static int sops_decrypt_yaml(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_decrypt_opts o = decrypt_opts(AP_SOPS_FORMAT_YAML);
        return ap_sops_decrypt(enc_yaml.data, enc_yaml.len, &o, out, err);
}

static int sops_encrypt_json(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_encrypt_opts o = encrypt_opts(AP_SOPS_FORMAT_JSON);
        return ap_sops_encrypt(json_doc, strlen(json_doc), &o, out, err);
}

static int sops_decrypt_json_to_yaml(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_decrypt_opts o = decrypt_opts(AP_SOPS_FORMAT_JSON);
        o.output = AP_SOPS_FORMAT_YAML;
        return ap_sops_decrypt(enc_json.data, enc_json.len, &o, out, err);
}

static int sops_reencrypt(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_encrypt_opts o = encrypt_opts(AP_SOPS_FORMAT_YAML);
        o.rule = AP_SOPS_UNENCRYPTED_REGEX;
        o.rule_value = "^(apiVersion|kind|metadata)$";
        o.previous = enc_yaml.data;
        o.previous_len = enc_yaml.len;
        o.identities = ids;
        o.n_identities = 1;
        return ap_sops_encrypt(yaml_doc, strlen(yaml_doc), &o, out, err);
}

static int sops_shamir(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_decrypt_opts o = decrypt_opts(AP_SOPS_FORMAT_YAML);
        struct ap_age_identity *two[2] = {ids[0], ids[2]};
        o.identities = two;
        o.n_identities = 2;
        return ap_sops_decrypt(enc_shamir.data, enc_shamir.len, &o, out, err);
}

static int sops_matches(struct ap_buf *out, struct ap_error *err)
{
        const char *names[2] = {recipient0, NULL};
        struct ap_buf second = AP_BUF_INIT;
        int r = ap_age_recipient_format(rcps[1], &second);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        names[1] = second.data;
        struct ap_sops_match_opts m = {.identities = ids,
                                       .n_identities = 1,
                                       .recipients = names,
                                       .n_recipients = 2,
                                       .rule = AP_SOPS_UNENCRYPTED_REGEX,
                                       .rule_value = "^(apiVersion|kind|metadata)$",
                                       .format = AP_SOPS_FORMAT_YAML};
        bool match = false;
        r = ap_sops_matches(enc_yaml.data, enc_yaml.len, yaml_doc, strlen(yaml_doc), &m, &match, err);
        ap_buf_release(&second);
        if (r == 0 && !match)
                return ap_error_set(err, -EINVAL, "no match");
        return r == 0 ? ap_buf_addstr(out, "match") : r;
}

static int age_encrypt(struct ap_buf *out, struct ap_error *err)
{
        static const char pt[] = "a file key, or a small file";
        return ap_age_encrypt(rcps, 3, pt, sizeof(pt) - 1, true, out, err);
}

static int age_decrypt(struct ap_buf *out, struct ap_error *err)
{
        return ap_age_decrypt(&ids[2], 1, enc_age.data, enc_age.len, out, err);
}

static int key_file(struct ap_buf *out, struct ap_error *err)
{
        struct ap_buf text = AP_BUF_INIT_SECRET;
        int r = ap_age_keyfile_format(ids[0], 1700000000, &text);
        if (r < 0) {
                ap_buf_release(&text);
                return ap_error_set(err, r, "out of memory");
        }
        struct ap_age_identities list = AP_AGE_IDENTITIES_INIT;
        r = ap_age_identities_parse(&list, text.data, text.len, "keys.txt", err);
        for (size_t i = 0; r == 0 && i < list.n; i++)
                if ((r = ap_age_identity_recipient_format(list.items[i], out)) < 0)
                        r = ap_error_set(err, r, "out of memory");
        ap_age_identities_release(&list);
        ap_buf_release(&text);
        return r;
}

static int sops_config(struct ap_buf *out, struct ap_error *err)
{
        struct ap_sops_config c = {0};
        int r = ap_sops_config_parse(config, strlen(config), ".sops.yaml", &c, err);
        const struct ap_sops_creation_rule *rule = r == 0 ? ap_sops_config_match(&c, "secrets/a.yaml") : NULL;
        if (r == 0 && (!rule || rule->n_groups != 1 || rule->groups[0].n_age != 2))
                r = ap_error_set(err, -EINVAL, "wrong rule");
        if (r == 0 && (r = ap_buf_addstr(out, rule->rule_value)) < 0)
                r = ap_error_set(err, r, "out of memory");
        ap_sops_config_release(&c);
        return r;
}

/* the atomic write: out gets nothing; afterwards only a complete target may exist in dir */
static int write_atomic(struct ap_buf *out, struct ap_error *err)
{
        char path[300];
        snprintf(path, sizeof(path), "%s/out.yaml", dir);
        return ap_write_file_atomic(path, yaml_doc, strlen(yaml_doc), 0600, err);
}

/* what dir holds: 0 entries, 1 complete target, or -1 for anything else */
static int dir_state(void)
{
        DIR *d = opendir(dir);
        int n = 0;
        bool bad = false;
        struct dirent *e;
        while (d && (e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                n++;
                bad |= strcmp(e->d_name, "out.yaml") != 0;
        }
        if (d)
                closedir(d);
        if (!bad && n == 1) {
                char path[300];
                snprintf(path, sizeof(path), "%s/out.yaml", dir);
                struct ap_buf b = AP_BUF_INIT;
                struct ap_error err = AP_ERROR_INIT;
                bad = ap_read_file(path, &b, &err) < 0 || !ap_buf_equal(&b, yaml_doc, strlen(yaml_doc));
                ap_buf_release(&b);
                unlink(path);
        }
        return bad || !d ? -1 : n;
}

/* ---- the torture loop ---- */

static int test_no;
static int failed;

static void torture(const char *name, int (*run)(struct ap_buf *out, struct ap_error *err), bool files)
{
        struct ap_buf out = AP_BUF_INIT_SECRET;
        struct ap_error err = AP_ERROR_INIT;
        char why[600] = "";
        long runs = 0, tolerated = 0, total = -1;
        if (run(&out, &err) < 0) /* warm-up: OpenSSL's and our lazy set-up happen outside the count */
                snprintf(why, sizeof(why), "fails without faults: %s", ap_error_message(&err));
        if (files && dir_state() < 0)
                snprintf(why, sizeof(why), "the warm-up left the wrong files");
        /* AP_FAULT_ONLY="<case name prefix>:<n>" runs that one failure (with AP_FAULT_TRACE=1 to see where)
         */
        const char *only = getenv("AP_FAULT_ONLY");
        const char *colon = only ? strrchr(only, ':') : NULL;
        long only_n = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (only && (!colon || strncmp(name, only, (size_t)(colon - only)) != 0))
                return;
        for (long n = only_n ? only_n : 1; !why[0] && n <= MAX_ALLOCATIONS; n++) {
                ap_buf_reset(&out);
                ap_error_clear(&err);
                ap_fault_arm(n);
                int r = run(&out, &err);
                bool fired = ap_fault_fired();
                long seen = ap_fault_seen();
                ap_fault_arm(0);
                int state = files ? dir_state() : 0;
                runs++;
                if (!fired) {
                        total = seen;
                        if (r < 0)
                                snprintf(why, sizeof(why), "fails when nothing failed: %s",
                                         ap_error_message(&err));
                        else if (files && state != 1)
                                snprintf(why, sizeof(why), "the write that succeeded left no complete file");
                        break;
                }
                if (r == 0) { /* a failure that was recovered from: the result must still be whole */
                        tolerated++;
                        if (getenv("AP_FAULT_VERBOSE"))
                                printf("# allocation %ld failed, and the run still succeeded\n", n);
                        if (files && state != 1)
                                snprintf(
                                    why, sizeof(why),
                                    "allocation %ld failed, the write says it worked, the file is not there",
                                    n);
                        if (only_n)
                                break;
                        continue;
                }
                if (err.code != r)
                        snprintf(why, sizeof(why), "allocation %ld failed: returned %d, err says %d ('%s')",
                                 n, r, err.code, err.msg);
                else if (out.len != 0)
                        snprintf(why, sizeof(why), "allocation %ld failed: %zu bytes of output handed back",
                                 n, out.len);
                else if (files && state != 0)
                        snprintf(why, sizeof(why), "allocation %ld failed: a file is left behind", n);
                if (only_n)
                        break;
        }
        if (!why[0] && total < 0)
                snprintf(why, sizeof(why), "still failing after %d allocations", MAX_ALLOCATIONS);
        if (!why[0] && leak_check())
                snprintf(why, sizeof(why), "leaks (LeakSanitizer's report is above)");
        ap_buf_release(&out);
        test_no++;
        if (why[0]) {
                failed++;
                printf("not ok %d - %s: %s\n", test_no, name, why);
        } else {
                printf("ok %d - %s: %ld allocations, each failure returned an error%s", test_no, name, total,
                       tolerated ? "" : "\n");
                if (tolerated)
                        printf(" (%ld recovered from)\n", tolerated);
        }
        fflush(stdout);
}

static int setup(void)
{
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 3; i++)
                if (ap_age_identity_generate(&ids[i], &err) < 0 ||
                    ap_age_identity_to_recipient(ids[i], &rcps[i], &err) < 0)
                        return -1;
        struct ap_buf b = AP_BUF_INIT;
        if (ap_age_recipient_format(rcps[0], &b) < 0)
                return -1;
        snprintf(recipient0, sizeof(recipient0), "%s", b.data);
        ap_buf_release(&b);
        struct ap_sops_recipient_group groups[3] = {{rcps, 1}, {rcps + 1, 1}, {rcps + 2, 1}};
        struct ap_sops_encrypt_opts sh = encrypt_opts(AP_SOPS_FORMAT_YAML);
        sh.groups = groups;
        sh.n_groups = 3;
        sh.shamir_threshold = 2;
        if (sops_encrypt_yaml(&enc_yaml, &err) < 0 || sops_encrypt_json(&enc_json, &err) < 0 ||
            age_encrypt(&enc_age, &err) < 0 ||
            ap_sops_encrypt(yaml_doc, strlen(yaml_doc), &sh, &enc_shamir, &err) < 0)
                return -1;
        return mkdtemp(dir) ? 0 : -1;
}

int main(void)
{
        /* first: OpenSSL must not allocate before its hooks go in */
        if (ap_fault_setup() < 0 || ap_base_init() < 0 || setup() < 0) {
                printf("1..1\nnot ok 1 - set-up\n");
                return 1;
        }
        printf("1..14\n");
        torture("YAML load and emit", yaml_load_emit, false);
        torture("JSON load and emit", json_load_emit, false);
        torture("SOPS encrypt (YAML, two recipients, a crypt rule)", sops_encrypt_yaml, false);
        torture("SOPS decrypt (YAML)", sops_decrypt_yaml, false);
        torture("SOPS encrypt (JSON)", sops_encrypt_json, false);
        torture("SOPS decrypt (JSON to YAML)", sops_decrypt_json_to_yaml, false);
        torture("SOPS re-encrypt through the stash of the previous version", sops_reencrypt, false);
        torture("SOPS decrypt (Shamir, 2 of 3 key groups)", sops_shamir, false);
        torture("SOPS matches", sops_matches, false);
        torture("age encrypt (armored, three recipients)", age_encrypt, false);
        torture("age decrypt", age_decrypt, false);
        torture("age key file format and parse", key_file, false);
        torture(".sops.yaml parse and match", sops_config, false);
        torture("atomic file write", write_atomic, true);
        rmdir(dir);
        for (int i = 0; i < 3; i++) {
                ap_age_identity_free(ids[i]);
                ap_age_recipient_free(rcps[i]);
        }
        ap_buf_release(&enc_yaml);
        ap_buf_release(&enc_json);
        ap_buf_release(&enc_age);
        ap_buf_release(&enc_shamir);
        return failed ? 1 : 0;
}
