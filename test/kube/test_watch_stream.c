/* test_watch_stream.c - the watch stream's line splitter (every split point, CRLF, blank lines, the line
 * cap) and event parsing (types, bookmarks, ERROR with a Status, malformed events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/list_stream.h"
#include "kube/status.h"
#include "kube/obj.h"
#include "kube/watch_stream.h"

struct collected {
        char lines[16][256];
        size_t n;
};

static int collect(void *userdata, const char *line, size_t len)
{
        struct collected *c = userdata;
        assert_true(c->n < 16);
        assert_true(len < 256);
        memcpy(c->lines[c->n], line, len);
        c->lines[c->n][len] = '\0';
        c->n++;
        return 0;
}

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
    "\r\n"
    "{\"type\":\"MODIFIED\"}\r\n"
    "\n"
    "   \n"
    "{\"type\":\"BOOKMARK\"}\n"
    "{\"partial";

static void test_every_split(void **state)
{
        size_t n = strlen(stream);
        for (size_t cut1 = 0; cut1 <= n; cut1++) {
                for (size_t cut2 = cut1; cut2 <= n; cut2 += 7) {
                        struct ap_kube_lines l;
                        ap_kube_lines_init(&l, 0);
                        struct collected c = {0};
                        struct ap_error err = AP_ERROR_INIT;
                        assert_int_equal(ap_kube_lines_feed(&l, stream, cut1, collect, &c, &err), 0);
                        assert_int_equal(
                            ap_kube_lines_feed(&l, stream + cut1, cut2 - cut1, collect, &c, &err), 0);
                        assert_int_equal(ap_kube_lines_feed(&l, stream + cut2, n - cut2, collect, &c, &err),
                                         0);
                        assert_int_equal(c.n, 3);
                        assert_string_equal(c.lines[1], "{\"type\":\"MODIFIED\"}");
                        assert_string_equal(c.lines[2], "{\"type\":\"BOOKMARK\"}");
                        assert_int_equal(ap_kube_lines_pending(&l), strlen("{\"partial"));
                        ap_kube_lines_release(&l);
                }
        }
}

static void test_byte_by_byte(void **state)
{
        struct ap_kube_lines l;
        ap_kube_lines_init(&l, 0);
        struct collected c = {0};
        for (size_t i = 0; i < strlen(stream); i++)
                assert_int_equal(ap_kube_lines_feed(&l, stream + i, 1, collect, &c, NULL), 0);
        assert_int_equal(c.n, 3);
        ap_kube_lines_release(&l);
}

static void test_line_cap(void **state)
{
        struct ap_kube_lines l;
        ap_kube_lines_init(&l, 16);
        struct collected c = {0};
        struct ap_error err = AP_ERROR_INIT;
        /* exactly at the cap is fine, one byte more is not */
        assert_int_equal(ap_kube_lines_feed(&l, "0123456789abcdef\n", 17, collect, &c, &err), 0);
        assert_int_equal(c.n, 1);
        assert_int_equal(ap_kube_lines_feed(&l, "0123456789", 10, collect, &c, &err), 0);
        assert_int_equal(ap_kube_lines_feed(&l, "abcdefg", 7, collect, &c, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "longer than 16 bytes"));
        ap_kube_lines_release(&l);
}

static int stop_at_second(void *userdata, const char *line, size_t len)
{
        int *n = userdata;
        return ++*n == 2 ? -ECANCELED : 0;
}

static void test_callback_stops(void **state)
{
        struct ap_kube_lines l;
        ap_kube_lines_init(&l, 0);
        int n = 0;
        assert_int_equal(ap_kube_lines_feed(&l, "a\nb\nc\n", 6, stop_at_second, &n, NULL), -ECANCELED);
        assert_int_equal(n, 2);
        ap_kube_lines_release(&l);
}

static int parse(const char *line, enum ap_kube_watch_type *t, json_t **obj, struct ap_error *err)
{
        return ap_kube_watch_event_parse(line, strlen(line), t, obj, err);
}

static void test_events(void **state)
{
        enum ap_kube_watch_type t;
        json_t *obj = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(
            parse("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
                  "\"namespace\":\"p\",\"resourceVersion\":\"42\",\"labels\":{\"k\":\"v\"}}}}",
                  &t, &obj, &err),
            0);
        assert_int_equal(t, AP_KUBE_WATCH_ADDED);
        assert_string_equal(ap_kube_obj_name(obj), "s");
        assert_string_equal(ap_kube_obj_namespace(obj), "p");
        assert_string_equal(ap_kube_obj_resource_version(obj), "42");
        assert_string_equal(ap_kube_obj_label(obj, "k"), "v");
        struct ap_buf key = AP_BUF_INIT;
        assert_int_equal(ap_kube_obj_key(obj, &key), 0);
        assert_string_equal(key.data, "p/s");
        ap_buf_release(&key);
        json_decref(obj);

        assert_int_equal(
            parse("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Secret\",\"metadata\":"
                  "{\"resourceVersion\":\"77\",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}",
                  &t, &obj, &err),
            0);
        assert_int_equal(t, AP_KUBE_WATCH_BOOKMARK);
        assert_string_equal(ap_kube_obj_resource_version(obj), "77");
        json_decref(obj);

        assert_int_equal(
            parse("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                  "\"Failure\",\"message\":\"too old resource version: 5 (900)\",\"reason\":\"Expired\","
                  "\"code\":410}}",
                  &t, &obj, &err),
            0);
        assert_int_equal(t, AP_KUBE_WATCH_ERROR);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        assert_int_equal(ap_kube_status_from_json(obj, 500, &st), AP_KUBE_E_GONE);
        assert_int_equal(st.code, 410);
        ap_kube_status_release(&st);
        json_decref(obj);
}

static void test_bad_events(void **state)
{
        enum ap_kube_watch_type t;
        json_t *obj = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(parse("not json", &t, &obj, &err), -EBADMSG);
        assert_int_equal(parse("[]", &t, &obj, &err), -EBADMSG);
        assert_int_equal(parse("{\"type\":\"ADDED\"}", &t, &obj, &err), -EBADMSG);
        assert_int_equal(parse("{\"type\":\"SOMETHING\",\"object\":{}}", &t, &obj, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "SOMETHING"));
        assert_int_equal(
            parse("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}", &t, &obj, &err),
            -EBADMSG);
        assert_int_equal(parse("{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}",
                               &t, &obj, &err),
                         -EBADMSG);
        assert_int_equal(parse("{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}", &t, &obj, &err),
                         -EBADMSG);
}

/* ---- list responses streamed item by item ---- */

struct items {
        char names[8][32];
        size_t n;
        int stop_at;
};

static int take_item(void *userdata, json_t *item)
{
        struct items *it = userdata;
        assert_true(json_is_object(item));
        assert_true(it->n < 8);
        snprintf(it->names[it->n], sizeof(it->names[0]), "%s", ap_kube_obj_name(item));
        it->n++;
        return it->stop_at && (int)it->n == it->stop_at ? -ECANCELED : 0;
}

static const char list[] =
    "{\"kind\":\"SecretList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\","
    "\"continue\":\"tok\\\"en\"},\"items\":[{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"}]{["
    "\\\\\"}},"
    "\"data\":{\"k\":\"v\"}},\n {\"metadata\":{\"name\":\"b\"},\"items\":[1,2]}, "
    "{\"metadata\":{\"name\":\"c\"}}]}\n";

static void test_list_stream_every_split(void **state)
{
        size_t n = strlen(list);
        for (size_t cut = 0; cut <= n; cut++) {
                struct items it = {0};
                struct ap_kube_list_stream ls;
                ap_kube_list_stream_init(&ls, take_item, &it, 0);
                struct ap_error err = AP_ERROR_INIT;
                assert_int_equal(ap_kube_list_stream_feed(&ls, list, cut, &err), 0);
                assert_int_equal(ap_kube_list_stream_feed(&ls, list + cut, n - cut, &err), 0);
                char *rv = NULL, *cont = NULL;
                assert_int_equal(ap_kube_list_stream_finish(&ls, &rv, &cont, &err), 0);
                assert_int_equal(it.n, 3);
                assert_string_equal(it.names[0], "a");
                assert_string_equal(it.names[1], "b");
                assert_string_equal(it.names[2], "c");
                assert_string_equal(rv, "123");
                assert_string_equal(cont, "tok\"en");
                free(rv);
                free(cont);
                ap_kube_list_stream_release(&ls);
        }
}

static int feed_all(const char *text, struct items *it, size_t max, struct ap_error *err)
{
        struct ap_kube_list_stream ls;
        ap_kube_list_stream_init(&ls, take_item, it, max);
        int r = ap_kube_list_stream_feed(&ls, text, strlen(text), err);
        if (r == 0)
                r = ap_kube_list_stream_finish(&ls, NULL, NULL, err);
        ap_kube_list_stream_release(&ls);
        return r;
}

static void test_list_stream_shapes(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct items it = {0};
        /* metadata after the items, empty lists, null items */
        assert_int_equal(
            feed_all("{\"items\":[{\"metadata\":{\"name\":\"z\"}}],\"metadata\":{}}", &it, 0, &err), 0);
        assert_int_equal(it.n, 1);
        it = (struct items){0};
        assert_int_equal(feed_all("{\"items\":[],\"metadata\":{\"resourceVersion\":\"1\"}}", &it, 0, &err),
                         0);
        assert_int_equal(feed_all("{\"items\":null}", &it, 0, &err), 0);
        assert_int_equal(it.n, 0);
        /* broken and hostile inputs */
        assert_int_equal(feed_all("[1,2]", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("{\"items\":[1]}", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("{\"items\":[\"s\"]}", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("{\"items\":[{\"a\":}]}", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("{\"items\":[{}]", &it, 0, &err), -EBADMSG); /* ends early */
        assert_non_null(strstr(err.msg, "ended early"));
        assert_int_equal(feed_all("{} x", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("}", &it, 0, &err), -EBADMSG);
        assert_int_equal(feed_all("{\"items\":[{\"metadata\":{\"name\":\"0123456789\"}}]}", &it, 16, &err),
                         -E2BIG);
        /* the callback can stop the stream */
        it = (struct items){.stop_at = 2};
        assert_int_equal(feed_all(list, &it, 0, &err), -ECANCELED);
        assert_int_equal(it.n, 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_split),
            cmocka_unit_test(test_byte_by_byte),
            cmocka_unit_test(test_line_cap),
            cmocka_unit_test(test_callback_stops),
            cmocka_unit_test(test_events),
            cmocka_unit_test(test_bad_events),
            cmocka_unit_test(test_list_stream_every_split),
            cmocka_unit_test(test_list_stream_shapes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
