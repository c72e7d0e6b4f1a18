/* test_events.c - the SSE hub: events reach only subscribers of their app (registration events only
 * platform admins), ids increase, Last-Event-ID replays what the ring still holds and asks for a resync
 * when it does not, heartbeats, the per-user stream limit, and closing ends every stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "dashboard/events.h"

static atomic_int notified;
static void notify(void *ud)
{
        atomic_fetch_add(&notified, 1);
}

/* Read everything pending into buf (NUL-terminated). */
static const char *drain(struct ap_dash_sub *s, char *buf, size_t size)
{
        size_t n = 0;
        ssize_t r;
        while (n + 1 < size && (r = ap_dash_sub_read(s, buf + n, size - 1 - n)) > 0)
                n += (size_t)r;
        buf[n] = '\0';
        return buf;
}

static void test_filter(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_hub *h = NULL;
        assert_int_equal(ap_dash_hub_new(8, 2, 60000, &h, &err), 0);
        const char *apps_a[] = {"a"};
        struct ap_dash_sub *sa = NULL, *sadm = NULL;
        assert_int_equal(ap_dash_hub_subscribe(h, "u1", false, apps_a, 1, 0, &sa, &err), 0);
        assert_int_equal(ap_dash_hub_subscribe(h, "admin", true, NULL, 0, 0, &sadm, &err), 0);
        ap_dash_sub_set_notify(sa, notify, NULL);
        char buf[4096];
        drain(sa, buf, sizeof(buf));
        assert_non_null(strstr(buf, "retry: 3000"));
        drain(sadm, buf, sizeof(buf));
        ap_dash_hub_publish(h, "a", "secret", "{\"x\":1}");
        ap_dash_hub_publish(h, "b", "secret", "{\"x\":2}");
        ap_dash_hub_publish(h, NULL, "registration", "{\"x\":3}");
        assert_true(atomic_load(&notified) >= 1);
        drain(sa, buf, sizeof(buf));
        assert_string_equal(buf, "id: 1\nevent: secret\ndata: {\"x\":1}\n\n");
        drain(sadm, buf, sizeof(buf));
        assert_non_null(strstr(buf, "id: 2\n"));
        assert_non_null(strstr(buf, "id: 3\nevent: registration"));
        assert_int_equal(ap_dash_sub_read(sa, buf, sizeof(buf)), 0); /* nothing more */
        assert_false(ap_dash_sub_ready(sa));
        ap_dash_sub_unref(sa);
        ap_dash_sub_unref(sadm);
        ap_dash_hub_free(h);
}

static void test_resume(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_hub *h = NULL;
        assert_int_equal(ap_dash_hub_new(4, 4, 60000, &h, &err), 0);
        for (int i = 0; i < 3; i++)
                ap_dash_hub_publish(h, "a", "e", "{}");
        const char *apps[] = {"a"};
        struct ap_dash_sub *s = NULL;
        char buf[4096];
        assert_int_equal(ap_dash_hub_subscribe(h, "u", false, apps, 1, 1, &s, &err), 0);
        drain(s, buf, sizeof(buf));
        assert_null(strstr(buf, "id: 1\n"));
        assert_non_null(strstr(buf, "id: 2\n"));
        assert_non_null(strstr(buf, "id: 3\n"));
        ap_dash_sub_unref(s);
        for (int i = 0; i < 6; i++)
                ap_dash_hub_publish(h, "a", "e", "{}");
        /* id 2 has left the 4-event ring: resync */
        assert_int_equal(ap_dash_hub_subscribe(h, "u", false, apps, 1, 2, &s, &err), 0);
        drain(s, buf, sizeof(buf));
        assert_non_null(strstr(buf, "event: resync"));
        ap_dash_sub_unref(s);
        ap_dash_hub_free(h);
}

static void test_limit_and_close(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_dash_hub *h = NULL;
        assert_int_equal(ap_dash_hub_new(0, 2, 50, &h, &err), 0);
        struct ap_dash_sub *s1 = NULL, *s2 = NULL, *s3 = NULL;
        assert_int_equal(ap_dash_hub_subscribe(h, "u", false, NULL, 0, 0, &s1, &err), 0);
        assert_int_equal(ap_dash_hub_subscribe(h, "u", false, NULL, 0, 0, &s2, &err), 0);
        assert_int_equal(ap_dash_hub_subscribe(h, "u", false, NULL, 0, 0, &s3, &err), -EUSERS);
        assert_int_equal(ap_dash_hub_streams(h), 2);
        char buf[256];
        drain(s1, buf, sizeof(buf));
        usleep(120000); /* a heartbeat is due */
        drain(s1, buf, sizeof(buf));
        assert_string_equal(buf, ": ping\n\n");
        ap_dash_hub_close_all(h);
        assert_int_equal(ap_dash_sub_read(s1, buf, sizeof(buf)), -1);
        ap_dash_sub_unref(s1);
        ap_dash_sub_unref(s2);
        assert_int_equal(ap_dash_hub_streams(h), 0);
        ap_dash_hub_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_filter),
            cmocka_unit_test(test_resume),
            cmocka_unit_test(test_limit_and_close),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
