/* test_known_hosts.c - pinned known_hosts matching (sshd(8) semantics: patterns, wildcards, negation,
 * [host]:port, hashed names as `ssh-keygen -H` writes them, @revoked) and Git URL splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base64.h"
#include "git/known_hosts.h"
#include "git/url.h"
#include "testutil.h"

#define K1 "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define K2 "AAAAC3NzaC1lZDI1NTE5AAAAIBNYY2ZXb91WlvM1gBcTylx1oYzXwL+cLCQ5w5RTkv31"

static struct ap_buf blob(const char *b64)
{
        struct ap_buf b = AP_BUF_INIT;
        assert_int_equal(ap_base64_decode(&b, b64, strlen(b64), AP_B64_STD), 0);
        return b;
}

static int check(const char *text, const char *host, unsigned port, const char *key)
{
        struct ap_known_hosts *kh = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_known_hosts_parse(text, strlen(text), &kh, &err), 0);
        struct ap_buf b = blob(key);
        int r = ap_known_hosts_check(kh, host, port, b.data, b.len, &err);
        ap_buf_release(&b);
        ap_known_hosts_free(kh);
        return r;
}

static void test_plain_and_port_forms(void **state)
{
        const char *kh =
            "# pinned\n\n[127.0.0.1]:2222 ssh-ed25519 " K1 "\ngithub.com ssh-ed25519 " K2 " comment\n";
        assert_int_equal(check(kh, "127.0.0.1", 2222, K1), 0);
        assert_int_equal(check(kh, "127.0.0.1", 22, K1), -ENOKEY);         /* port 22 is the plain name */
        assert_int_equal(check(kh, "127.0.0.1", 2222, K2), -EKEYREJECTED); /* known host, other key */
        assert_int_equal(check(kh, "github.com", 22, K2), 0);
        assert_int_equal(check(kh, "GitHub.COM", 22, K2), 0); /* host names compare case-insensitively */
        assert_int_equal(check(kh, "github.com", 443, K2), -ENOKEY);
}

static void test_patterns_negation_revoked(void **state)
{
        const char *kh = "*.example.com,!evil.example.com ssh-ed25519 " K1 "\n"
                         "git?.corp ssh-ed25519 " K2 "\n"
                         "@revoked * ssh-ed25519 " K2 "\n"
                         "@cert-authority *.corp ssh-ed25519 " K1 "\n";
        assert_int_equal(check(kh, "git.example.com", 22, K1), 0);
        assert_int_equal(check(kh, "evil.example.com", 22, K1), -ENOKEY);
        assert_int_equal(check(kh, "git1.corp", 22, K2), -EKEYREVOKED); /* revocation wins */
        assert_int_equal(check(kh, "git12.corp", 22, K1),
                         -ENOKEY); /* '?' is one character; CA lines ignored */
}

static void test_hashed_names(void **state)
{
        char *d = t_tmpdir("khhash");
        char path[600];
        snprintf(path, sizeof(path), "%s/kh", d);
        assert_int_equal(
            t_write(path, "[127.0.0.1]:2222 ssh-ed25519 " K1 "\ngithub.com ssh-ed25519 " K2 "\n"), 0);
        assert_int_equal(t_sh(NULL, "ssh-keygen -q -H -f '%s' >/dev/null 2>&1", path), 0);
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT;
        assert_int_equal(ap_read_file(path, &text, NULL), 0);
        assert_true(strncmp(text.data, "|1|", 3) == 0);
        assert_int_equal(check(text.data, "127.0.0.1", 2222, K1), 0);
        assert_int_equal(check(text.data, "github.com", 22, K2), 0);
        assert_int_equal(check(text.data, "gitlab.com", 22, K2), -ENOKEY);
        t_sh(NULL, "rm -rf '%s'", d);
        free(d);
}

static void test_types_and_errors(void **state)
{
        struct ap_known_hosts *kh = NULL;
        struct ap_error err = AP_ERROR_INIT;
        const char *text = "h ssh-ed25519 " K1 "\nh ecdsa-sha2-nistp256 "
                           "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIp0Xie5+"
                           "2PabvYWQvY2I1UEJelrAczIajoZH+OohMAFEhvA0qOThZnIdMjbk/V/A68FxJbx3uAfm9/K5FT3CF4=\n"
                           "h ssh-ed25519 " K2 "\n";
        assert_int_equal(ap_known_hosts_parse(text, strlen(text), &kh, &err), 0);
        assert_int_equal(ap_known_hosts_count(kh), 3);
        char types[128];
        ap_known_hosts_types(kh, "h", 22, types, sizeof(types));
        assert_string_equal(types, "ssh-ed25519,ecdsa-sha2-nistp256");
        ap_known_hosts_types(kh, "other", 22, types, sizeof(types));
        assert_string_equal(types, "");
        ap_known_hosts_free(kh);

        const char *bad[] = {"host-only\n", "h ssh-ed25519 !!!\n", "@weird h ssh-ed25519 " K1 "\n",
                             "h ssh-rsa " K1 "\n"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++) {
                kh = NULL;
                assert_int_equal(ap_known_hosts_parse(bad[i], strlen(bad[i]), &kh, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "line 1"));
                assert_null(kh);
        }
}

static void test_urls(void **state)
{
        struct ap_git_url u;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_git_url_parse("ssh://git@127.0.0.1:2222/srv/a.git", &u, &err), 0);
        assert_int_equal(u.scheme, AP_GIT_SSH);
        assert_string_equal(u.user, "git");
        assert_string_equal(u.host, "127.0.0.1");
        assert_int_equal(u.port, 2222);
        assert_string_equal(u.path, "/srv/a.git");
        assert_int_equal(ap_git_url_parse("git@github.com:acme/x.git", &u, &err), 0);
        assert_int_equal(u.port, 22);
        assert_string_equal(u.path, "acme/x.git");
        assert_int_equal(ap_git_url_parse("ssh://[::1]:2200/r.git", &u, &err), 0);
        assert_string_equal(u.host, "::1");
        assert_int_equal(u.port, 2200);
        assert_int_equal(ap_git_url_parse("https://x-access-token:secret@github.com/a/b.git", &u, &err), 0);
        assert_int_equal(u.scheme, AP_GIT_HTTPS);
        assert_int_equal(u.port, 443);
        assert_string_equal(u.user, "x-access-token");
        char shown[128];
        assert_string_equal(ap_git_url_redact("https://u:secret@h/p", shown, sizeof(shown)),
                            "https://u:***@h/p");
        assert_int_equal(ap_git_url_parse("/srv/git/a.git", &u, &err), 0);
        assert_int_equal(u.scheme, AP_GIT_LOCAL);
        assert_int_equal(ap_git_url_parse("file:///srv/git/a.git", &u, &err), 0);
        assert_string_equal(u.path, "/srv/git/a.git");

        const char *bad[] = {"",
                             "ftp://h/x",
                             "ssh://h",
                             "ssh://h:99999/x",
                             "relative/path",
                             "ssh://h:22x/y",
                             "https://h/ with space",
                             "file://host/x"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(bad); i++)
                assert_int_equal(ap_git_url_parse(bad[i], &u, &err), -EINVAL);
        assert_int_equal(ap_git_url_parse("https://u:pw@h:99999/x", &u, &err), -EINVAL);
        assert_null(strstr(err.msg, "pw")); /* passwords never reach messages */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_plain_and_port_forms),
            cmocka_unit_test(test_patterns_negation_revoked),
            cmocka_unit_test(test_hashed_names),
            cmocka_unit_test(test_types_and_errors),
            cmocka_unit_test(test_urls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
