/* test_ssh_key.c - OpenSSH ed25519 keys and SSH signatures, checked against the real ssh-keygen: keys we
 * write load in ssh-keygen, keys ssh-keygen writes load in ours, signatures verify with -Y verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto/ssh_key.h"
#include "crypto/ssh_key_sig.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
        dir = t_tmpdir("sshkey");
        return dir ? 0 : -1;
}

static int teardown(void **state)
{
        t_sh(NULL, "rm -rf '%s'", dir);
        free(dir);
        return 0;
}

static void test_roundtrip_with_ssh_keygen(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        assert_int_equal(ap_ssh_key_generate("deploy@app", &k, &err), 0);

        _cleanup_buf_ struct ap_buf priv = AP_BUF_INIT_SECRET, pub = AP_BUF_INIT, again = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_ssh_key_write_private(k, &priv, &err), 0);
        assert_int_equal(ap_ssh_key_write_public(k, &pub), 0);
        assert_true(strncmp(pub.data, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA", 36) == 0);
        assert_non_null(strstr(pub.data, " deploy@app"));
        /* byte-stable: writing the same key twice gives the same bytes */
        assert_int_equal(ap_ssh_key_write_private(k, &again, &err), 0);
        assert_true(ap_buf_equal(&priv, again.data, again.len));

        char path[600];
        snprintf(path, sizeof(path), "%s/id", dir);
        assert_int_equal(t_write(path, priv.data), 0);
        _cleanup_buf_ struct ap_buf derived = AP_BUF_INIT;
        assert_int_equal(t_sh(&derived, "ssh-keygen -y -f '%s'", path), 0);
        /* ssh-keygen -y prints "type base64 comment" */
        assert_string_equal(derived.data, (ap_buf_addch(&pub, '\n'), pub.data));

        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *back = NULL;
        assert_int_equal(ap_ssh_key_parse_private(priv.data, priv.len, &back, &err), 0);
        assert_memory_equal(back->seed, k->seed, 32);
        assert_string_equal(back->comment, "deploy@app");
}

static void test_parse_ssh_keygen_output(void **state)
{
        char path[600];
        snprintf(path, sizeof(path), "%s/kg", dir);
        assert_int_equal(t_sh(NULL, "ssh-keygen -q -t ed25519 -N '' -C 'made by keygen' -f '%s'", path), 0);
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf priv = AP_BUF_INIT_SECRET, pubfile = AP_BUF_INIT, ours = AP_BUF_INIT;
        assert_int_equal(ap_read_file(path, &priv, &err), 0);
        char pubpath[610];
        snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
        assert_int_equal(ap_read_file(pubpath, &pubfile, &err), 0);
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        assert_int_equal(ap_ssh_key_parse_private(priv.data, priv.len, &k, &err), 0);
        assert_string_equal(k->comment, "made by keygen");
        assert_int_equal(ap_ssh_key_write_public(k, &ours), 0);
        ap_buf_addch(&ours, '\n');
        assert_string_equal(ours.data, pubfile.data);

        struct ap_ssh_pubkey a, b;
        ap_ssh_pubkey_init(&a);
        ap_ssh_pubkey_init(&b);
        assert_int_equal(ap_ssh_pubkey_parse(pubfile.data, pubfile.len, &a, &err), 0);
        assert_string_equal(a.type, "ssh-ed25519");
        assert_string_equal(a.comment.data, "made by keygen");
        ours.data[ours.len - 1] = '\0';
        char *space = strrchr(ours.data, ' ');
        *space = '\0'; /* no comment: still the same key */
        assert_int_equal(ap_ssh_pubkey_parse(ours.data, strlen(ours.data), &b, &err), 0);
        assert_true(ap_ssh_pubkey_equal(&a, &b));
        ap_ssh_pubkey_release(&a);
        ap_ssh_pubkey_release(&b);
}

static void test_encrypted_and_other_types_rejected(void **state)
{
        char path[600];
        struct ap_error err = AP_ERROR_INIT;
        snprintf(path, sizeof(path), "%s/enc", dir);
        assert_int_equal(t_sh(NULL, "ssh-keygen -q -t ed25519 -N 'secret pass' -f '%s'", path), 0);
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET, e = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_read_file(path, &b, &err), 0);
        struct ap_ssh_key *k = NULL;
        assert_int_equal(ap_ssh_key_parse_private(b.data, b.len, &k, &err), AP_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "encrypted with a passphrase"));

        snprintf(path, sizeof(path), "%s/ecdsa", dir);
        assert_int_equal(t_sh(NULL, "ssh-keygen -q -t ecdsa -N '' -f '%s'", path), 0);
        assert_int_equal(ap_read_file(path, &e, &err), 0);
        assert_int_equal(ap_ssh_key_parse_private(e.data, e.len, &k, &err), AP_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "'ecdsa-sha2-nistp256'"));

        assert_int_equal(ap_ssh_key_parse_private("hello", 5, &k, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not an openssh private key"));
        assert_null(k);
}

static void test_tampered_key_rejected(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        assert_int_equal(ap_ssh_key_generate(NULL, &k, &err), 0);
        _cleanup_buf_ struct ap_buf priv = AP_BUF_INIT_SECRET;
        assert_int_equal(ap_ssh_key_write_private(k, &priv, &err), 0);
        /* flip one base64 character in every position of the body: never a crash, never a wrong key */
        const char *body = strchr(priv.data, '\n') + 1;
        size_t start = (size_t)(body - priv.data),
               stop = priv.len - strlen("-----END OPENSSH PRIVATE KEY-----\n");
        for (size_t i = start; i < stop; i++) {
                char saved = priv.data[i];
                if (saved == '\n')
                        continue;
                priv.data[i] = saved == 'A' ? 'B' : 'A';
                struct ap_ssh_key *x = NULL;
                int r = ap_ssh_key_parse_private(priv.data, priv.len, &x, &err);
                if (r == 0) {
                        /* only the comment-free padding-free parts may change without detection: the
                         * seed itself (any 32 bytes is a valid seed, but the public key check catches it) */
                        assert_memory_equal(x->pub, k->pub, 32);
                        ap_ssh_key_free(x);
                }
                priv.data[i] = saved;
        }
}

static void test_known_hosts_line(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_ssh_pubkey p;
        ap_ssh_pubkey_init(&p);
        const char *line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl host";
        assert_int_equal(ap_ssh_pubkey_parse(line, strlen(line), &p, &err), 0);
        _cleanup_buf_ struct ap_buf kh = AP_BUF_INIT;
        assert_int_equal(ap_ssh_known_hosts_line("127.0.0.1", 2222, &p, &kh, &err), 0);
        assert_string_equal(kh.data,
                            "[127.0.0.1]:2222 ssh-ed25519 "
                            "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
        ap_buf_reset(&kh);
        assert_int_equal(ap_ssh_known_hosts_line("github.com", 22, &p, &kh, &err), 0);
        assert_true(strncmp(kh.data, "github.com ssh-ed25519 ", 23) == 0);
        assert_int_equal(ap_ssh_known_hosts_line("a,b", 22, &p, &kh, &err), -EINVAL);
        assert_int_equal(ap_ssh_known_hosts_line("h", 0, &p, &kh, &err), -EINVAL);

        /* type inside the blob must match the type named on the line */
        const char *liar = "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        assert_int_equal(ap_ssh_pubkey_parse(liar, strlen(liar), &p, &err), -EINVAL);
        assert_int_equal(ap_ssh_pubkey_parse("ssh-ed25519 !!!", 15, &p, &err), -EINVAL);
        ap_ssh_pubkey_release(&p);
}

static void test_sshsig_verifies_with_ssh_keygen(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        assert_int_equal(ap_ssh_key_generate("operator", &k, &err), 0);
        const char *msg = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nhello\n";
        _cleanup_buf_ struct ap_buf sig = AP_BUF_INIT, pub = AP_BUF_INIT;
        assert_int_equal(ap_ssh_key_sshsig(k, "git", msg, strlen(msg), &sig, &err), 0);
        assert_true(strncmp(sig.data, "-----BEGIN SSH SIGNATURE-----\n", 30) == 0);
        ap_buf_addch(&sig, '\n');
        assert_int_equal(ap_ssh_key_write_public(k, &pub), 0);

        char p[600], s[600], m[600], signers[600];
        snprintf(p, sizeof(p), "%s/msg", dir);
        snprintf(s, sizeof(s), "%s/msg.sig", dir);
        snprintf(m, sizeof(m), "%s/msg", dir);
        snprintf(signers, sizeof(signers), "%s/allowed", dir);
        assert_int_equal(t_write(p, msg), 0);
        assert_int_equal(t_write(s, sig.data), 0);
        char line[1024];
        snprintf(line, sizeof(line), "operator@test %s\n", pub.data);
        assert_int_equal(t_write(signers, line), 0);
        assert_int_equal(
            t_sh(NULL, "ssh-keygen -Y verify -f '%s' -I operator@test -n git -s '%s' < '%s' >/dev/null",
                 signers, s, m),
            0);
        /* wrong namespace fails */
        assert_int_not_equal(
            t_sh(NULL, "ssh-keygen -Y verify -f '%s' -I operator@test -n file -s '%s' < '%s' 2>/dev/null",
                 signers, s, m),
            0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip_with_ssh_keygen),
            cmocka_unit_test(test_parse_ssh_keygen_output),
            cmocka_unit_test(test_encrypted_and_other_types_rejected),
            cmocka_unit_test(test_tampered_key_rejected),
            cmocka_unit_test(test_known_hosts_line),
            cmocka_unit_test(test_sshsig_verifies_with_ssh_keygen),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
