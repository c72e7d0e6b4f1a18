/* test_secret_heap.c - plaintext stays on a wiped path: SOPS encryption and decryption (YAML and JSON, the
 * re-encryption stash, "matches") and age, run while this binary's free() and realloc() look into every
 * block handed back to the allocator - by our code, libyaml, jansson, OpenSSL or libc - for the secret
 * values of the documents. A block that still holds one was freed unwiped: the test names where. realloc is
 * made to always move, so a buffer that grows leaves its old copy behind deterministically.
 *
 * Under ASan (the test build) the probe is ASan's free hook; without it, free and realloc are interposed
 * here in front of libc's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/init.h"
#include "crypto/age.h"
#include "crypto/sops.h"

/* ---- the probing allocator ---- */

static volatile int probing, in_probe, expect_one;
static int found;
static const char *const secrets[] = {"Hx7-plain-scalar-secret",  "Qm2-quoted-secret-value",
                                      "Zr9-block-literal-secret", "Kt4-json-string-secret",
                                      "Wv5-comment-secret-text",  "Lp3-age-plaintext-secret",
                                      "Nb8-long-value-secret"};

static void probe(const volatile void *vp, size_t n, const char *how)
{
        const void *p = (const void *)vp;
        if (!probing || in_probe || !p || !n)
                return;
        in_probe = 1;
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
                if (!memmem(p, n, secrets[i], strlen(secrets[i])))
                        continue;
                if (found++ < 10 && !expect_one) {
                        char line[200];
                        int k = snprintf(line, sizeof(line),
                                         "# a block of %zu bytes holding '%s' was %s unwiped at:\n", n,
                                         secrets[i], how);
                        (void)!write(STDOUT_FILENO, line, (size_t)k);
                        void *frames[16];
                        backtrace_symbols_fd(frames, backtrace(frames, 16), STDOUT_FILENO);
                }
                break;
        }
        in_probe = 0;
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan every block comes from its allocator, which calls a free hook before it takes a block back
 * (realloc there always moves, and frees the old block through the same path). */
/* from sanitizer/allocator_interface.h, which Debian's gcc does not ship */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static void free_hook(const volatile void *p)
{
        probe(p, __sanitizer_get_allocated_size(p), "freed");
}

static void malloc_hook(const volatile void *p, size_t n)
{
}

static int install_probe(void)
{
        /* both hooks are required, or none is installed */
        return __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook) ? 0 : -1;
}
#else
/* Without ASan, this binary's free() and realloc() stand in front of libc's (dlsym(RTLD_NEXT)); realloc is
 * made to always move, so a growing buffer leaves its old copy behind every time. */
static void (*real_free)(void *);
static void *(*real_malloc)(size_t);
static volatile int resolving;

static void resolve(void)
{
        resolving = 1;
        real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
        real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        resolving = 0;
}

void free(void *p)
{
        if (!real_free) {
                if (resolving)
                        return; /* dlsym's own bookkeeping while we look free up: leak it */
                resolve();
        }
        if (p)
                probe(p, malloc_usable_size(p), "freed");
        real_free(p);
}

void *realloc(void *p, size_t n)
{
        if (!real_free)
                resolve();
        if (!p)
                return real_malloc(n);
        void *q = real_malloc(n ? n : 1);
        if (!q)
                return NULL;
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < n ? old : n);
        probe(p, old, "left behind by realloc");
        real_free(p);
        return q;
}

static int install_probe(void)
{
        resolve();
        return real_free && real_malloc ? 0 : -1;
}
#endif

/* ---- the workload ---- */

static struct ap_age_identity *id;
static struct ap_age_recipient *rcp;

static const char yaml_doc[] =
    "apiVersion: v1\n"
    "kind: Secret\n"
    "stringData:\n"
    "    plain: Hx7-plain-scalar-secret\n"
    "    quoted: \"Qm2-quoted-secret-value \\u00e9\"\n"
    "    # Wv5-comment-secret-text\n"
    "    block: |\n"
    "        Zr9-block-literal-secret\n"
    "        second line\n"
    "    tagged: !!str Hx7-plain-scalar-secret and more\n"
    "    long: Nb8-long-value-secret-0123456789012345678901234567890123456789012345678901234567890123456789\n"
    "    list: [Hx7-plain-scalar-secret, 42, true]\n"
    /* these look like numbers at first: the typing copies them (on the heap when long) */
    "    digits: "
    "4_2-Nb8-long-value-secret-000000000000000000000000000000000000000000000000000000000000000000\n"
    "    dotted: "
    ".5Nb8-long-value-secret-00000000000000000000000000000000000000000000000000000000000000000000\n";

static const char json_doc[] =
    "{\"kind\": \"Secret\", \"stringData\": {\"a\": \"Kt4-json-string-secret\", "
    "\"b\": \"Kt4-json-string-secret with \\u00e9scapes\\n\", \"n\": [1, 2.5, null]}}";

static void sops_round_trip(const char *doc, enum ap_sops_format f)
{
        found = 0;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_sops_encrypt_opts eo = AP_SOPS_ENCRYPT_OPTS_INIT;
        eo.recipients = &rcp;
        eo.n_recipients = 1;
        eo.input = eo.output = f;
        struct ap_buf enc = AP_BUF_INIT, again = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        probing = 1;
        assert_int_equal(ap_sops_encrypt(doc, strlen(doc), &eo, &enc, &err), 0);
        struct ap_sops_decrypt_opts d = AP_SOPS_DECRYPT_OPTS_INIT;
        d.identities = &id;
        d.n_identities = 1;
        d.input = d.output = f;
        assert_int_equal(ap_sops_decrypt(enc.data, enc.len, &d, &plain, &err), 0);
        /* re-encryption through the stash of the previous version */
        eo.previous = enc.data;
        eo.previous_len = enc.len;
        eo.identities = &id;
        eo.n_identities = 1;
        assert_int_equal(ap_sops_encrypt(doc, strlen(doc), &eo, &again, &err), 0);
        struct ap_buf name = AP_BUF_INIT;
        assert_int_equal(ap_age_recipient_format(rcp, &name), 0);
        const char *names[1] = {name.data};
        struct ap_sops_match_opts m = {
            .identities = &id, .n_identities = 1, .recipients = names, .n_recipients = 1, .format = f};
        bool match = false;
        assert_int_equal(ap_sops_matches(again.data, again.len, doc, strlen(doc), &m, &match, &err), 0);
        assert_true(match);
        ap_buf_release(&name);
        ap_buf_release(&plain);
        ap_buf_release(&enc);
        ap_buf_release(&again);
        probing = 0;
}

static void test_sops_yaml(void **state)
{
        sops_round_trip(yaml_doc, AP_SOPS_FORMAT_YAML);
        assert_int_equal(found, 0);
}

static void test_sops_json(void **state)
{
        sops_round_trip(json_doc, AP_SOPS_FORMAT_JSON);
        assert_int_equal(found, 0);
}

static void test_sops_conversion_and_failures(void **state)
{
        found = 0;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_sops_encrypt_opts eo = AP_SOPS_ENCRYPT_OPTS_INIT;
        eo.recipients = &rcp;
        eo.n_recipients = 1;
        struct ap_buf enc = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        probing = 1;
        assert_int_equal(ap_sops_encrypt(yaml_doc, strlen(yaml_doc), &eo, &enc, &err), 0);
        struct ap_sops_decrypt_opts d = AP_SOPS_DECRYPT_OPTS_INIT;
        d.identities = &id;
        d.n_identities = 1;
        d.output = AP_SOPS_FORMAT_JSON;
        assert_int_equal(ap_sops_decrypt(enc.data, enc.len, &d, &plain, &err), 0);
        /* documents that fail half-way: the part already read must not linger either */
        const char bad_yaml[] = "a: Hx7-plain-scalar-secret\nb: [Qm2-quoted-secret-value\n";
        const char bad_json[] = "{\"a\": \"Kt4-json-string-secret\", \"b\": tru}";
        assert_true(ap_sops_encrypt(bad_yaml, strlen(bad_yaml), &eo, &enc, &err) < 0);
        eo.input = AP_SOPS_FORMAT_JSON;
        assert_true(ap_sops_encrypt(bad_json, strlen(bad_json), &eo, &enc, &err) < 0);
        ap_buf_release(&enc);
        ap_buf_release(&plain);
        probing = 0;
        assert_int_equal(found, 0);
}

static void test_age(void **state)
{
        found = 0;
        struct ap_error err = AP_ERROR_INIT;
        const char pt[] = "Lp3-age-plaintext-secret, long enough to be copied around: 0123456789";
        struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT_SECRET;
        probing = 1;
        assert_int_equal(ap_age_encrypt(&rcp, 1, pt, sizeof(pt) - 1, true, &ct, &err), 0);
        assert_int_equal(ap_age_decrypt(&id, 1, ct.data, ct.len, &back, &err), 0);
        assert_string_equal(back.data, pt);
        ap_buf_release(&ct);
        ap_buf_release(&back);
        probing = 0;
        assert_int_equal(found, 0);
}

/* The probe itself: an unwiped block holding a secret is caught. */
static void test_probe_catches_a_leak(void **state)
{
        char *volatile p = malloc(64);
        assert_non_null(p);
        snprintf(p, 64, "xx %s yy", secrets[0]);
        expect_one = probing = 1;
        free(p);
        expect_one = probing = 0;
        assert_int_equal(found, 1);
        found = 0;
}

static int setup(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        if (ap_base_init() < 0 || install_probe() < 0 || ap_age_identity_generate(&id, &err) < 0 ||
            ap_age_identity_to_recipient(id, &rcp, &err) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        ap_age_identity_free(id);
        ap_age_recipient_free(rcp);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_probe_catches_a_leak),
            cmocka_unit_test(test_sops_yaml),
            cmocka_unit_test(test_sops_json),
            cmocka_unit_test(test_sops_conversion_and_failures),
            cmocka_unit_test(test_age),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
