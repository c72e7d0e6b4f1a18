/* test_session.c - sealed cookies (AES-256-GCM): round trip, tampering, truncation, another cookie name,
 * another key, key rotation with its grace period, the folder loader, and CSRF tokens bound to the
 * session id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dashboard/session.h"

static int64_t fake_now = 1000000;
static int64_t clock_fn(void)
{
        return fake_now;
}

static const char key_a[] = "0123456789abcdef0123456789abcdef-a";
static const char key_b[] = "0123456789abcdef0123456789abcdef-b";

static struct ap_dash_keyring *ring(void)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_keyring *k = NULL;
        assert_int_equal(ap_dash_keyring_new(NULL, 3600, &k, &err), 0);
        ap_dash_keyring_set_clock(k, clock_fn);
        return k;
}

static void seal(struct ap_dash_keyring *k, const char *name, struct ap_buf *out)
{
        struct ap_error err = AP_ERROR_INIT;
        json_t *p = json_pack("{s:s, s:i}", "sid", "abc", "n", 42);
        assert_int_equal(ap_dash_seal(k, name, p, out, &err), 0);
        json_decref(p);
}

static void test_round_trip(void **state)
{
        struct ap_dash_keyring *k = ring();
        struct ap_buf c = AP_BUF_INIT;
        seal(k, "s", &c);
        assert_true(strncmp(c.data, "v1.ephemeral.", 13) == 0);
        struct ap_error err = AP_ERROR_INIT;
        json_t *p = NULL;
        assert_int_equal(ap_dash_open(k, "s", c.data, c.len, &p, &err), 0);
        assert_string_equal(json_string_value(json_object_get(p, "sid")), "abc");
        json_decref(p);
        /* two seals of the same payload differ (random IV) */
        struct ap_buf c2 = AP_BUF_INIT;
        seal(k, "s", &c2);
        assert_false(ap_buf_equal(&c, c2.data, c2.len));
        ap_buf_release(&c);
        ap_buf_release(&c2);
        ap_dash_keyring_free(k);
}

static void test_tamper(void **state)
{
        struct ap_dash_keyring *k = ring();
        struct ap_buf c = AP_BUF_INIT;
        seal(k, "s", &c);
        struct ap_error err = AP_ERROR_INIT;
        json_t *p = NULL;
        for (size_t i = 13; i < c.len; i++) {
                char saved = c.data[i];
                c.data[i] = saved == 'A' ? 'B' : 'A';
                assert_int_equal(ap_dash_open(k, "s", c.data, c.len, &p, &err), -EBADMSG);
                c.data[i] = saved;
        }
        /* truncated: the tag must be all 16 bytes */
        for (size_t cut = 1; cut < 12; cut++)
                assert_int_equal(ap_dash_open(k, "s", c.data, c.len - cut, &p, &err), -EBADMSG);
        /* sealed for another cookie name (the login-state cookie cannot pass as a session) */
        assert_int_equal(ap_dash_open(k, "other", c.data, c.len, &p, &err), -EBADMSG);
        assert_int_equal(ap_dash_open(k, "s", "v1.x.", 5, &p, &err), -EBADMSG);
        assert_int_equal(ap_dash_open(k, "s", "garbage", 7, &p, &err), -EBADMSG);
        ap_buf_release(&c);
        ap_dash_keyring_free(k);
}

static void test_other_key(void **state)
{
        struct ap_dash_keyring *k1 = ring(), *k2 = ring(); /* both name their key "ephemeral" */
        struct ap_buf c = AP_BUF_INIT;
        seal(k1, "s", &c);
        struct ap_error err = AP_ERROR_INIT;
        json_t *p = NULL;
        assert_int_equal(ap_dash_open(k2, "s", c.data, c.len, &p, &err), -EBADMSG);
        ap_buf_release(&c);
        ap_dash_keyring_free(k1);
        ap_dash_keyring_free(k2);
}

static void test_rotation(void **state)
{
        char dir[] = "/tmp/dash-keys-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[256];
        snprintf(path, sizeof(path), "%s/k1", dir);
        FILE *f = fopen(path, "w");
        fputs(key_a, f);
        fclose(f);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_keyring *k = NULL;
        assert_int_equal(ap_dash_keyring_new(dir, 3600, &k, &err), 0);
        ap_dash_keyring_set_clock(k, clock_fn);
        struct ap_buf old = AP_BUF_INIT;
        seal(k, "s", &old);
        assert_true(strncmp(old.data, "v1.k1.", 6) == 0);
        /* a newer key appears: new cookies use it, old ones still open during the grace period */
        snprintf(path, sizeof(path), "%s/k2", dir);
        f = fopen(path, "w");
        fputs(key_b, f);
        fclose(f);
        assert_int_equal(ap_dash_keyring_reload(k, &err), 0);
        struct ap_buf fresh = AP_BUF_INIT;
        seal(k, "s", &fresh);
        assert_true(strncmp(fresh.data, "v1.k2.", 6) == 0);
        json_t *p = NULL;
        assert_int_equal(ap_dash_open(k, "s", old.data, old.len, &p, &err), 0);
        json_decref(p);
        assert_true(ap_dash_csrf_check(k, "abc", "", 0) == false);
        struct ap_buf tok_old = AP_BUF_INIT;
        assert_int_equal(ap_dash_csrf_token(k, "abc", &tok_old), 0);
        /* after the grace period the replaced key is refused */
        fake_now += 3601;
        assert_int_equal(ap_dash_open(k, "s", old.data, old.len, &p, &err), -EBADMSG);
        assert_int_equal(ap_dash_open(k, "s", fresh.data, fresh.len, &p, &err), 0);
        json_decref(p);
        /* a key removed from the folder is refused at once */
        unlink(path);
        assert_int_equal(ap_dash_keyring_reload(k, &err), 0);
        assert_int_equal(ap_dash_open(k, "s", fresh.data, fresh.len, &p, &err), -EBADMSG);
        snprintf(path, sizeof(path), "%s/k1", dir);
        unlink(path);
        rmdir(dir);
        ap_buf_release(&old);
        ap_buf_release(&fresh);
        ap_buf_release(&tok_old);
        ap_dash_keyring_free(k);
}

static void test_short_key(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_keyring *k = ring();
        assert_int_equal(ap_dash_keyring_add(k, "short", "tooshort", 8, 0, &err), -EINVAL);
        assert_int_equal(ap_dash_keyring_add(k, "bad/kid", key_a, sizeof(key_a) - 1, 0, &err), -EINVAL);
        ap_dash_keyring_free(k);
}

static void test_csrf(void **state)
{
        struct ap_dash_keyring *k = ring();
        struct ap_buf t = AP_BUF_INIT;
        assert_int_equal(ap_dash_csrf_token(k, "sid-1", &t), 0);
        assert_true(ap_dash_csrf_check(k, "sid-1", t.data, t.len));
        assert_false(ap_dash_csrf_check(k, "sid-2", t.data, t.len)); /* bound to the session */
        assert_false(ap_dash_csrf_check(k, "sid-1", t.data, t.len - 1));
        t.data[0] = t.data[0] == 'A' ? 'B' : 'A';
        assert_false(ap_dash_csrf_check(k, "sid-1", t.data, t.len));
        ap_buf_release(&t);
        ap_dash_keyring_free(k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip), cmocka_unit_test(test_tamper),
            cmocka_unit_test(test_other_key),  cmocka_unit_test(test_rotation),
            cmocka_unit_test(test_short_key),  cmocka_unit_test(test_csrf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
