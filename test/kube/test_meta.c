/* test_meta.c - metav1.Condition setting (lastTransitionTime only on a status flip, "changed" exact,
 * argument checks) and finalizer lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kube/meta.h"

static const char *field(const json_t *cond, const char *key)
{
        return json_string_value(json_object_get(cond, key));
}

static void test_condition_set(void **state)
{
        json_t *conds = json_array();
        bool changed = false;
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "False", "Progressing",
                                               "creating the repository", 3, "2026-01-01T00:00:00Z",
                                               &changed),
                         0);
        assert_true(changed);
        const json_t *c = ap_kube_condition_find(conds, "Ready");
        assert_non_null(c);
        assert_string_equal(field(c, "status"), "False");
        assert_string_equal(field(c, "lastTransitionTime"), "2026-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 3);
        assert_false(ap_kube_condition_is_true(conds, "Ready"));
        /* the same again, later: nothing changes, not even the time */
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "False", "Progressing",
                                               "creating the repository", 3, "2026-01-01T00:05:00Z",
                                               &changed),
                         0);
        assert_false(changed);
        assert_string_equal(field(c, "lastTransitionTime"), "2026-01-01T00:00:00Z");
        /* a new message or generation is a change, but not a transition */
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "False", "Progressing", "pushing", 4,
                                               "2026-01-01T00:06:00Z", &changed),
                         0);
        assert_true(changed);
        assert_string_equal(field(c, "message"), "pushing");
        assert_string_equal(field(c, "lastTransitionTime"), "2026-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 4);
        /* the status flips: the time moves */
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "True", "Reconciled", NULL, 4,
                                               "2026-01-01T00:07:00Z", &changed),
                         0);
        assert_true(changed);
        assert_string_equal(field(c, "lastTransitionTime"), "2026-01-01T00:07:00Z");
        assert_string_equal(field(c, "message"), "");
        assert_true(ap_kube_condition_is_true(conds, "Ready"));
        /* a second type is appended; the first stays */
        assert_int_equal(
            ap_kube_condition_set(conds, "Stalled", "False", "Fine", "", -1, "2026-01-01T00:08:00Z", NULL),
            0);
        assert_int_equal(json_array_size(conds), 2);
        assert_null(json_object_get(ap_kube_condition_find(conds, "Stalled"), "observedGeneration"));
        assert_null(ap_kube_condition_find(conds, "Nope"));
        /* bad arguments change nothing and leave changed alone */
        changed = true;
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "Yes", "R", "", 1, "t", &changed),
                         AP_E_INVALID);
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "True", "not camel", "", 1, "t", &changed),
                         AP_E_INVALID);
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "True", "", "", 1, "t", &changed),
                         AP_E_INVALID);
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "True", "Bad,", "", 1, "t", &changed),
                         AP_E_INVALID);
        assert_int_equal(
            ap_kube_condition_set(conds, "Ready", "True", "A,b:c_1", "", 4, "2026-01-01T00:07:00Z", &changed),
            0);
        json_t *obj = json_object();
        assert_int_equal(ap_kube_condition_set(obj, "Ready", "True", "R", "", 1, "t", NULL), AP_E_INVALID);
        json_decref(obj);
        char big[32770];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(ap_kube_condition_set(conds, "Ready", "True", "R", big, 1, "t", NULL),
                         AP_E_TOO_LARGE);
        assert_string_equal(field(c, "reason"), "A,b:c_1");
        json_decref(conds);
}

static void test_has_finalizer(void **state)
{
        json_t *o = json_pack("{s:{s:[s, s]}}", "metadata", "finalizers", "a.io/x", "labrats.work/cleanup");
        assert_true(ap_kube_obj_has_finalizer(o, "labrats.work/cleanup"));
        assert_false(ap_kube_obj_has_finalizer(o, "labrats.work"));
        json_decref(o);
        json_t *none = json_pack("{s:{}}", "metadata");
        assert_false(ap_kube_obj_has_finalizer(none, "labrats.work/cleanup"));
        json_decref(none);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_condition_set),
            cmocka_unit_test(test_has_finalizer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
