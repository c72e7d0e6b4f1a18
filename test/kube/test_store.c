/* test_store.c - the informer's compact store: round trips through the serialised form, index values
 * kept per entry (multiple values, replace, remove), index sets emptied and dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kube/informer.h"
#include "kube/store.h"

static json_t *obj(const char *ns, const char *name, const char *rv, const char *app, const char *tags)
{
        json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:s}}", "kind", "Secret", "metadata",
                              "name", name, "namespace", ns, "resourceVersion", rv, "labels", "app", app,
                              "data", "tags", tags);
        return o;
}

/* every comma-separated word of data.tags */
static size_t by_tags(void *userdata, const json_t *o, const char **values, size_t max)
{
        static char buf[8][32];
        const char *t = json_string_value(json_object_get(json_object_get(o, "data"), "tags"));
        size_t n = 0;
        while (t && *t && n < max) {
                size_t l = strcspn(t, ",");
                snprintf(buf[n], sizeof(buf[n]), "%.*s", (int)l, t);
                values[n] = buf[n];
                n++;
                t += l + (t[l] == ',');
        }
        return n;
}

static size_t set_size(struct ap_kube_store *s, const char *index, const char *value)
{
        const struct ap_keymap *set = NULL;
        assert_int_equal(ap_kube_store_index_keys(s, index, value, &set), 0);
        return set ? ap_keymap_size(set) : 0;
}

static void put(struct ap_kube_store *s, const char *key, json_t *o, struct ap_kube_store_entry **old)
{
        struct ap_kube_store_entry *e = ap_kube_store_entry_new(s, o);
        assert_non_null(e);
        assert_int_equal(ap_kube_store_put(s, key, e, old), 0);
        json_decref(o);
}

static void test_store(void **state)
{
        struct ap_kube_store s;
        ap_kube_store_init(&s);
        assert_int_equal(ap_kube_store_add_index(&s, "ns", ap_kube_index_namespace, NULL), 0);
        assert_int_equal(ap_kube_store_add_index(&s, "app", ap_kube_index_label, "app"), 0);
        assert_int_equal(ap_kube_store_add_index(&s, "tags", by_tags, NULL), 0);
        put(&s, "p/a", obj("p", "a", "1", "diet", "x,y"), NULL);
        put(&s, "p/b", obj("p", "b", "2", "diet", "y"), NULL);
        put(&s, "q/c", obj("q", "c", "3", "shop", ""), NULL);
        assert_int_equal(ap_kube_store_add_index(&s, "late", by_tags, NULL), -EBUSY);
        assert_int_equal(ap_kube_store_len(&s), 3);
        assert_int_equal(set_size(&s, "ns", "p"), 2);
        assert_int_equal(set_size(&s, "app", "diet"), 2);
        assert_int_equal(set_size(&s, "tags", "y"), 2);
        assert_int_equal(set_size(&s, "tags", "x"), 1);
        const struct ap_keymap *none = NULL;
        assert_int_equal(ap_kube_store_index_keys(&s, "nope", "x", &none), -ENOENT);

        /* the serialised form reads back as the same object */
        struct ap_kube_store_entry *e = ap_kube_store_get(&s, "p/a");
        assert_string_equal(ap_kube_store_entry_rv(e), "1");
        json_t *back = ap_kube_store_entry_parse(e);
        json_t *want = obj("p", "a", "1", "diet", "x,y");
        assert_true(json_equal(back, want));
        json_decref(back);
        json_decref(want);

        /* replacing moves index membership; the old entry is handed out */
        struct ap_kube_store_entry *old = NULL;
        put(&s, "p/a", obj("p", "a", "5", "shop", "z"), &old);
        assert_non_null(old);
        assert_string_equal(ap_kube_store_entry_rv(old), "1");
        ap_kube_store_entry_free(old);
        assert_int_equal(set_size(&s, "app", "diet"), 1);
        assert_int_equal(set_size(&s, "app", "shop"), 2);
        assert_int_equal(set_size(&s, "tags", "x"), 0);
        assert_int_equal(set_size(&s, "tags", "z"), 1);

        /* removing empties and drops sets */
        assert_true(ap_kube_store_remove(&s, "q/c", NULL));
        assert_false(ap_kube_store_remove(&s, "q/c", NULL));
        assert_int_equal(set_size(&s, "ns", "q"), 0);
        assert_int_equal(ap_kube_store_len(&s), 2);

        /* a like-made store has the indexes, not the objects */
        struct ap_kube_store t;
        ap_kube_store_init_like(&t, &s);
        assert_int_equal(ap_kube_store_len(&t), 0);
        put(&t, "p/a", obj("p", "a", "9", "diet", "y"), NULL);
        assert_int_equal(set_size(&t, "tags", "y"), 1);
        ap_kube_store_release(&t);
        size_t it = 0, n = 0;
        const char *k;
        while (ap_kube_store_next(&s, &it, &k, &e))
                n++;
        assert_int_equal(n, 2);
        /* no resourceVersion: no entry */
        json_t *bad = json_pack("{s:{s:s}}", "metadata", "name", "x");
        assert_null(ap_kube_store_entry_new(&s, bad));
        json_decref(bad);
        ap_kube_store_release(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_store)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
