/* it_kube_api.c - the REST client against the real kube-apiserver: CRUD with resourceVersion and
 * preconditions, errors as values (NotFound, AlreadyExists, Conflict, Invalid with causes, Forbidden
 * through impersonation), paging, server-side apply idempotence and conflicts, the status subresource
 * on a CRD, conflict retry under concurrent writers, and Events with series aggregation. Each test uses
 * its own namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "kube/meta.h"
#include "base/fileio.h"
#include "kube/events.h"
#include "kube/watch_stream.h"

struct fixture {
        struct ap_kube_client *c;
        char *ns;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        f->c = it_client(NULL);
        f->ns = it_namespace(f->c, "api");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        it_namespace_delete(f->c, f->ns);
        ap_kube_client_free(f->c);
        free(f->ns);
        free(f);
        return 0;
}

static void test_crud(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        json_t *cm = it_configmap(f->ns, "one", "k", "v1");
        json_t *created = NULL;
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, &created, NULL, &err),
                         0);
        assert_non_null(ap_kube_obj_uid(created));
        /* a second create: AlreadyExists as a value */
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, &st, &err),
                         AP_KUBE_E_ALREADY_EXISTS);
        assert_int_equal(st.reason, AP_KUBE_REASON_ALREADY_EXISTS);
        assert_int_equal(st.code, 409);
        assert_non_null(strstr(err.msg, "already exists"));

        json_t *got = NULL;
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_configmaps, f->ns, "one", NULL, &got, NULL, &err), 0);
        assert_int_equal(it_rv(got), it_rv(created));
        /* update with the current resourceVersion */
        json_object_set_new(json_object_get(got, "data"), "k", json_string("v2"));
        json_t *updated = NULL;
        assert_int_equal(ap_kube_update(f->c, &ap_kube_res_configmaps, got, NULL, &updated, NULL, &err), 0);
        assert_true(it_rv(updated) > it_rv(got));
        /* the same stale resourceVersion again: Conflict */
        json_object_set_new(json_object_get(got, "data"), "k", json_string("v3"));
        assert_int_equal(ap_kube_update(f->c, &ap_kube_res_configmaps, got, NULL, NULL, &st, &err),
                         AP_KUBE_E_CONFLICT);
        assert_int_equal(st.reason, AP_KUBE_REASON_CONFLICT);
        assert_non_null(strstr(err.msg, "read it again and retry"));

        /* patches: merge, JSON patch, strategic merge */
        json_t *patched = NULL;
        json_t *mp = json_pack("{s:{s:s}}", "data", "m", "merge");
        assert_int_equal(ap_kube_patch(f->c, &ap_kube_res_configmaps, f->ns, "one", AP_KUBE_PATCH_MERGE, mp,
                                       NULL, &patched, NULL, &err),
                         0);
        json_decref(patched);
        json_t *jp = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "op", "test", "path", "/data/m", "value",
                               "merge", "op", "replace", "path", "/data/k", "value", "json");
        assert_int_equal(ap_kube_patch(f->c, &ap_kube_res_configmaps, f->ns, "one", AP_KUBE_PATCH_JSON, jp,
                                       NULL, &patched, NULL, &err),
                         0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(patched, "data"), "k")),
                            "json");
        json_decref(patched);
        json_t *sp = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a", "b");
        assert_int_equal(ap_kube_patch(f->c, &ap_kube_res_configmaps, f->ns, "one", AP_KUBE_PATCH_STRATEGIC,
                                       sp, NULL, &patched, NULL, &err),
                         0);
        assert_string_equal(ap_kube_obj_label(patched, "a"), "b");

        /* delete with a wrong uid precondition: Conflict; with the right one: gone */
        struct ap_kube_opts bad = {.precondition_uid = "00000000-0000-0000-0000-000000000000"};
        assert_int_equal(ap_kube_delete(f->c, &ap_kube_res_configmaps, f->ns, "one", &bad, NULL, &st, &err),
                         AP_KUBE_E_CONFLICT);
        struct ap_kube_opts stale = {.precondition_rv = "1"};
        assert_int_equal(ap_kube_delete(f->c, &ap_kube_res_configmaps, f->ns, "one", &stale, NULL, &st, &err),
                         AP_KUBE_E_CONFLICT);
        struct ap_kube_opts good = {.precondition_uid = ap_kube_obj_uid(created),
                                    .precondition_rv = ap_kube_obj_resource_version(patched),
                                    .propagation_policy = "Background"};
        assert_int_equal(ap_kube_delete(f->c, &ap_kube_res_configmaps, f->ns, "one", &good, NULL, NULL, &err),
                         0);
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_configmaps, f->ns, "one", NULL, NULL, &st, &err),
                         AP_KUBE_E_NOT_FOUND);
        assert_int_equal(st.code, 404);
        assert_int_equal(ap_kube_delete(f->c, &ap_kube_res_configmaps, f->ns, "one", NULL, NULL, NULL, &err),
                         AP_KUBE_E_NOT_FOUND);
        /* all of it over HTTP/2, on one or two reused connections */
        struct ap_kube_client_stats cs;
        ap_kube_client_get_stats(f->c, &cs);
        print_message("# %lu requests, %lu over HTTP/2, %lu connections opened\n", cs.requests, cs.http2,
                      cs.new_connections);
        assert_true(cs.requests >= 12);
        assert_int_equal(cs.http2, cs.requests);
        assert_true(cs.new_connections <= 2);
        json_decref(cm);
        json_decref(created);
        json_decref(got);
        json_decref(updated);
        json_decref(mp);
        json_decref(jp);
        json_decref(sp);
        json_decref(patched);
        ap_kube_status_release(&st);
}

static void test_invalid_with_causes(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        json_t *cm = it_configmap(f->ns, "Bad_Name", "k", "v");
        json_object_set_new(json_object_get(cm, "data"), "not a key!", json_string("x"));
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, &st, &err),
                         AP_KUBE_E_INVALID);
        assert_int_equal(st.code, 422);
        assert_true(st.n_causes >= 2);
        bool name = false, key = false;
        for (size_t i = 0; i < st.n_causes; i++) {
                name = name || (st.causes[i].field && strcmp(st.causes[i].field, "metadata.name") == 0);
                key = key || (st.causes[i].field && strstr(st.causes[i].field, "data"));
        }
        assert_true(name && key);
        assert_non_null(strstr(err.msg, "(422 Invalid)"));
        json_decref(cm);
        ap_kube_status_release(&st);
}

static void test_impersonation(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        const char *groups[] = {"oidc:nobody-group"};
        struct ap_kube_opts o = {
            .impersonate_user = "oidc:nobody", .impersonate_groups = groups, .n_impersonate_groups = 1};
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_secrets, f->ns, &o, NULL, &st, &err),
                         AP_KUBE_E_FORBIDDEN);
        assert_int_equal(st.code, 403);
        assert_non_null(strstr(err.msg, "oidc:nobody"));
        assert_non_null(strstr(err.msg, "grant the missing permission"));
        /* header injection is refused before anything is sent */
        struct ap_kube_opts evil = {.impersonate_user = "x\r\nImpersonate-Group: system:masters"};
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_secrets, f->ns, &evil, NULL, NULL, &err), -EINVAL);
        ap_kube_status_release(&st);
}

struct count_ctx {
        int n;
        char last[64];
};

static int count_item(void *userdata, json_t *item)
{
        struct count_ctx *c = userdata;
        c->n++;
        snprintf(c->last, sizeof(c->last), "%s", ap_kube_obj_name(item));
        return 0;
}

static void test_paging(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 25; i++) {
                char name[32];
                snprintf(name, sizeof(name), "page-%02d", i);
                json_t *cm = it_configmap(f->ns, name, "i", name);
                json_object_set_new(json_object_get(cm, "metadata"), "labels",
                                    json_pack("{s:s}", "paged", "yes"));
                assert_int_equal(
                    ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err), 0);
                json_decref(cm);
        }
        /* one page of 10 carries a continue token */
        json_t *page = NULL;
        struct ap_kube_opts o = {.limit = 10, .label_selector = "paged=yes"};
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_configmaps, f->ns, &o, &page, NULL, &err), 0);
        assert_int_equal(json_array_size(json_object_get(page, "items")), 10);
        const char *cont = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
        assert_non_null(cont);
        assert_true(cont[0] != '\0');
        json_decref(page);
        /* walking all pages sees every item once */
        struct count_ctx cc = {0};
        char *rv = NULL;
        assert_int_equal(
            ap_kube_list_each(f->c, &ap_kube_res_configmaps, f->ns, &o, count_item, &cc, &rv, NULL, &err), 0);
        assert_int_equal(cc.n, 25);
        assert_non_null(rv);
        assert_true(strtoll(rv, NULL, 10) > 0);
        free(rv);
        json_t *all = NULL;
        o.limit = 7;
        assert_int_equal(ap_kube_list_all(f->c, &ap_kube_res_configmaps, f->ns, &o, &all, NULL, &err), 0);
        assert_int_equal(json_array_size(json_object_get(all, "items")), 25);
        json_decref(all);
        /* a field selector narrows the list on the server */
        json_t *one = NULL;
        struct ap_kube_opts fo = {.field_selector = "metadata.name=page-03", .label_selector = "paged=yes"};
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_configmaps, f->ns, &fo, &one, NULL, &err), 0);
        assert_int_equal(json_array_size(json_object_get(one, "items")), 1);
        json_decref(one);
        /* a garbage continue token is a clean error */
        struct ap_kube_opts bad = {.limit = 5, .continue_token = "garbage"};
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_configmaps, f->ns, &bad, NULL, NULL, &err),
                         AP_KUBE_E_BAD_REQUEST);
}

static void test_server_side_apply(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        json_t *want = it_configmap(f->ns, "applied", "owned", "1");
        json_object_set_new(json_object_get(want, "metadata"), "labels", json_pack("{s:s}", "team", "a"));
        struct ap_kube_opts o = {.field_manager = "app-platform-test"};
        json_t *first = NULL, *second = NULL, *third = NULL;
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, want, &o, &first, NULL, &err), 0);
        /* the same intent again changes nothing: same resourceVersion */
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, want, &o, &second, NULL, &err), 0);
        assert_int_equal(it_rv(first), it_rv(second));
        /* a changed intent writes */
        json_object_set_new(json_object_get(want, "data"), "owned", json_string("2"));
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, want, &o, &third, NULL, &err), 0);
        assert_true(it_rv(third) > it_rv(second));
        /* another manager touching our field: 409 with the conflicting field as a cause... */
        json_t *other = it_configmap(f->ns, "applied", "owned", "theirs");
        struct ap_kube_opts oo = {.field_manager = "someone-else"};
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, other, &oo, NULL, &st, &err),
                         AP_KUBE_E_CONFLICT);
        assert_true(st.n_causes >= 1);
        assert_non_null(strstr(st.causes[0].field, "owned"));
        /* ...unless it forces */
        oo.force = true;
        json_t *forced = NULL;
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, other, &oo, &forced, NULL, &err), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(forced, "data"), "owned")),
                            "theirs");
        /* fields we stop declaring are removed (our label), fields others own stay */
        json_t *less = it_configmap(f->ns, "applied", "mine2", "x");
        json_t *after = NULL;
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, less, &o, &after, NULL, &err), 0);
        assert_null(ap_kube_obj_label(after, "team"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(after, "data"), "owned")),
                            "theirs");
        /* apply without a field manager is refused locally */
        assert_int_equal(ap_kube_apply(f->c, &ap_kube_res_configmaps, less, NULL, NULL, NULL, &err), -EINVAL);
        json_decref(want);
        json_decref(first);
        json_decref(second);
        json_decref(third);
        json_decref(other);
        json_decref(forced);
        json_decref(less);
        json_decref(after);
        ap_kube_status_release(&st);
}

static const struct ap_kube_resource widgets = {"kube-it.labrats.work", "v1", "widgets", "Widget", true};

static void ensure_widget_crd(struct ap_kube_client *c)
{
        const char *crd =
            "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
            "\"metadata\":{\"name\":\"widgets.kube-it.labrats.work\"},"
            "\"spec\":{\"group\":\"kube-it.labrats.work\",\"scope\":\"Namespaced\","
            "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\"},"
            "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}}"
            ","
            "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
            "\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\"}}},"
            "\"status\":{\"type\":\"object\",\"properties\":{\"observedGeneration\":{\"type\":\"integer\"},"
            "\"phase\":{\"type\":\"string\"}}}}}}}]}}";
        json_t *obj = json_loads(crd, 0, NULL);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_opts o = {.field_manager = "kube-it", .force = true};
        if (ap_kube_apply(c, &ap_kube_res_crds, obj, &o, NULL, NULL, &err) < 0)
                fail_msg("cannot install the test CRD: %s", err.msg);
        json_decref(obj);
        /* wait for Established */
        for (int i = 0; i < 100; i++) {
                json_t *got = NULL;
                if (ap_kube_get(c, &ap_kube_res_crds, NULL, "widgets.kube-it.labrats.work", NULL, &got, NULL,
                                &err) == 0) {
                        json_t *conds = json_object_get(json_object_get(got, "status"), "conditions");
                        size_t i2;
                        json_t *cd;
                        bool ok = false;
                        json_array_foreach(conds, i2, cd)
                        {
                                if (strcmp(json_string_value(json_object_get(cd, "type")) ?: "",
                                           "Established") == 0 &&
                                    strcmp(json_string_value(json_object_get(cd, "status")) ?: "", "True") ==
                                        0)
                                        ok = true;
                        }
                        json_decref(got);
                        if (ok)
                                return;
                }
                it_sleep_ms(100);
        }
        fail_msg("the test CRD never became Established");
}

static void test_status_subresource(void **state)
{
        struct fixture *f = *state;
        ensure_widget_crd(f->c);
        struct ap_error err = AP_ERROR_INIT;
        json_t *w = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i}, s:{s:s}}", "apiVersion",
                              "kube-it.labrats.work/v1", "kind", "Widget", "metadata", "name", "w1",
                              "namespace", f->ns, "spec", "size", 1, "status", "phase", "ignored");
        json_t *created = NULL;
        assert_int_equal(ap_kube_create(f->c, &widgets, NULL, w, NULL, &created, NULL, &err), 0);
        /* status in a write to the main resource is dropped */
        assert_null(json_object_get(created, "status"));
        json_int_t gen =
            json_integer_value(json_object_get(json_object_get(created, "metadata"), "generation"));
        assert_int_equal(gen, 1);
        /* PUT /status with the resourceVersion: only status changes, generation stays */
        json_object_set_new(created, "status",
                            json_pack("{s:s, s:I}", "phase", "Ready", "observedGeneration", gen));
        json_object_set_new(json_object_get(created, "spec"), "size", json_integer(99));
        struct ap_kube_opts so = {.subresource = "status"};
        json_t *after = NULL;
        assert_int_equal(ap_kube_update(f->c, &widgets, created, &so, &after, NULL, &err), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(after, "status"), "phase")),
                            "Ready");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(after, "spec"), "size")), 1);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(after, "metadata"), "generation")), 1);
        /* a stale status write conflicts */
        assert_int_equal(ap_kube_update(f->c, &widgets, created, &so, NULL, NULL, &err), AP_KUBE_E_CONFLICT);
        /* status by merge patch and by apply with its own field manager */
        json_t *p = json_pack("{s:{s:s}}", "status", "phase", "Patched");
        json_t *pr = NULL;
        assert_int_equal(
            ap_kube_patch(f->c, &widgets, f->ns, "w1", AP_KUBE_PATCH_MERGE, p, &so, &pr, NULL, &err), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(pr, "status"), "phase")),
                            "Patched");
        json_t *ap =
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "kube-it.labrats.work/v1", "kind",
                      "Widget", "metadata", "name", "w1", "namespace", f->ns, "status", "phase", "Applied");
        struct ap_kube_opts sa = {.subresource = "status", .field_manager = "kube-it-status", .force = true};
        json_t *ar = NULL;
        assert_int_equal(ap_kube_apply(f->c, &widgets, ap, &sa, &ar, NULL, &err), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(ar, "status"), "phase")),
                            "Applied");
        json_decref(w);
        json_decref(created);
        json_decref(after);
        json_decref(p);
        json_decref(pr);
        json_decref(ap);
        json_decref(ar);
}

struct incr {
        struct ap_kube_client *c;
        const char *ns;
        int times;
        int failures;
};

static int bump(void *userdata, json_t *obj)
{
        json_t *data = json_object_get(obj, "data");
        long n = strtol(json_string_value(json_object_get(data, "n")) ?: "0", NULL, 10);
        char buf[32];
        snprintf(buf, sizeof(buf), "%ld", n + 1);
        json_object_set_new(data, "n", json_string(buf));
        return 0;
}

static void *incrementer(void *arg)
{
        struct incr *in = arg;
        for (int i = 0; i < in->times; i++) {
                struct ap_error err = AP_ERROR_INIT;
                if (ap_kube_update_retry(in->c, &ap_kube_res_configmaps, in->ns, "counter", bump, NULL, 50,
                                         NULL, NULL, &err) < 0)
                        in->failures++;
        }
        return NULL;
}

static void test_conflict_retry(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        json_t *cm = it_configmap(f->ns, "counter", "n", "0");
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err), 0);
        json_decref(cm);
        /* three writers read-modify-write the same object; every increment must land exactly once */
        struct incr in[3];
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
                in[i] = (struct incr){f->c, f->ns, 15, 0};
                pthread_create(&t[i], NULL, incrementer, &in[i]);
        }
        for (int i = 0; i < 3; i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(in[i].failures, 0);
        }
        json_t *got = NULL;
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_configmaps, f->ns, "counter", NULL, &got, NULL, &err),
                         0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "n")), "45");
        json_decref(got);
}

static void test_events(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        json_t *cm = it_configmap(f->ns, "evented", "k", "v");
        json_t *obj = NULL;
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, &obj, NULL, &err), 0);
        json_object_set_new(obj, "apiVersion", json_string("v1"));
        json_object_set_new(obj, "kind", json_string("ConfigMap"));
        struct ap_kube_recorder_options ro = {.controller = "labrats.work/app-platform-operator",
                                              .instance = "test"};
        struct ap_kube_recorder *rec = NULL;
        assert_int_equal(ap_kube_recorder_new(f->c, &ro, &rec, &err), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(
                    ap_kube_recorder_event(rec, obj, AP_KUBE_EVENT_WARNING, "SecretRefused", "Validate",
                                           "target namespace 'x' is not listed in the app", &err),
                    0);
        assert_int_equal(
            ap_kube_recorder_event(rec, obj, AP_KUBE_EVENT_NORMAL, "Synced", "Reconcile", "all good", &err),
            0);
        assert_int_equal(ap_kube_recorder_flush(rec, &err), 0);
        json_t *list = NULL;
        assert_int_equal(ap_kube_list(f->c, &ap_kube_res_events, f->ns, NULL, &list, NULL, &err), 0);
        json_t *items = json_object_get(list, "items");
        assert_int_equal(json_array_size(items), 2);
        size_t i;
        json_t *ev;
        bool saw_series = false;
        json_array_foreach(items, i, ev)
        {
                json_t *reg = json_object_get(ev, "regarding");
                assert_string_equal(json_string_value(json_object_get(reg, "name")), "evented");
                assert_string_equal(json_string_value(json_object_get(reg, "uid")), ap_kube_obj_uid(obj));
                if (strcmp(json_string_value(json_object_get(ev, "reason")), "SecretRefused") == 0) {
                        assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
                        assert_int_equal(
                            json_integer_value(json_object_get(json_object_get(ev, "series"), "count")), 3);
                        saw_series = true;
                }
        }
        assert_true(saw_series);
        /* a cluster-scoped object's events go to "default" */
        json_t *nsobj = NULL;
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_namespaces, NULL, f->ns, NULL, &nsobj, NULL, &err),
                         0);
        assert_int_equal(ap_kube_recorder_event(rec, nsobj, AP_KUBE_EVENT_NORMAL, "Checked", "Check",
                                                "namespace ok", &err),
                         0);
        ap_kube_recorder_free(rec);
        json_decref(nsobj);
        json_decref(list);
        json_decref(cm);
        json_decref(obj);
}

/* A writer that keeps changing a label of the object, so finalizer patches meet conflicts. */
struct churn {
        struct ap_kube_client *c;
        const char *ns;
        atomic_bool stop;
        int writes;
};

static void *churner(void *arg)
{
        struct churn *ch = arg;
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; !atomic_load(&ch->stop); i++) {
                char v[16];
                snprintf(v, sizeof(v), "v%d", i);
                json_t *p = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "churn", v);
                if (ap_kube_patch(ch->c, &ap_kube_res_configmaps, ch->ns, "fin", AP_KUBE_PATCH_MERGE, p, NULL,
                                  NULL, NULL, &err) == 0)
                        ch->writes++;
                json_decref(p);
                it_sleep_ms(15);
        }
        return NULL;
}

static void test_finalizers(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        const char *fin = "labrats.work/cleanup";
        json_t *cm = it_configmap(f->ns, "fin", "k", "v");
        json_t *obj = NULL;
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, &obj, NULL, &err), 0);
        json_decref(cm);
        assert_false(ap_kube_obj_has_finalizer(obj, fin));
        json_decref(obj);
        json_t *got = NULL;
        assert_int_equal(
            ap_kube_finalizer_add(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL, &got, &err), 0);
        assert_true(ap_kube_obj_has_finalizer(got, fin));
        long long rv = it_rv(got);
        json_decref(got);
        /* already there: no write (the resourceVersion does not move) */
        assert_int_equal(
            ap_kube_finalizer_add(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL, &got, &err), 0);
        assert_int_equal(it_rv(got), rv);
        json_decref(got);
        /* with a writer changing the object all the time: every add/remove lands, others' finalizers stay */
        assert_int_equal(ap_kube_finalizer_add(f->c, &ap_kube_res_configmaps, f->ns, "fin", "other.io/keep",
                                               NULL, NULL, &err),
                         0);
        struct churn ch = {.c = f->c, .ns = f->ns};
        pthread_t t;
        pthread_create(&t, NULL, churner, &ch);
        for (int i = 0; i < 10; i++) {
                int r = i % 2 ? ap_kube_finalizer_add(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL,
                                                      &got, &err)
                              : ap_kube_finalizer_remove(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin,
                                                         NULL, &got, &err);
                if (r < 0)
                        fail_msg("finalizer round %d: %s", i, err.msg);
                assert_int_equal(ap_kube_obj_has_finalizer(got, fin), i % 2 == 1);
                assert_true(ap_kube_obj_has_finalizer(got, "other.io/keep"));
                json_decref(got);
        }
        atomic_store(&ch.stop, true);
        pthread_join(t, NULL);
        print_message("# 10 finalizer changes against %d concurrent writes\n", ch.writes);
        /* deletion waits for our finalizer; removing it lets the object go; removing from a gone object is
         * fine */
        assert_int_equal(ap_kube_finalizer_remove(f->c, &ap_kube_res_configmaps, f->ns, "fin",
                                                  "other.io/keep", NULL, NULL, &err),
                         0);
        assert_int_equal(ap_kube_delete(f->c, &ap_kube_res_configmaps, f->ns, "fin", NULL, NULL, NULL, &err),
                         0);
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_configmaps, f->ns, "fin", NULL, &got, NULL, &err), 0);
        assert_non_null(json_object_get(json_object_get(got, "metadata"), "deletionTimestamp"));
        json_decref(got);
        assert_int_equal(
            ap_kube_finalizer_remove(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL, &got, &err), 0);
        json_decref(got);
        assert_int_equal(ap_kube_get(f->c, &ap_kube_res_configmaps, f->ns, "fin", NULL, NULL, NULL, &err),
                         AP_E_NOT_FOUND);
        got = (json_t *)1;
        assert_int_equal(
            ap_kube_finalizer_remove(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL, &got, &err), 0);
        assert_null(got);
        assert_int_equal(
            ap_kube_finalizer_add(f->c, &ap_kube_res_configmaps, f->ns, "fin", fin, NULL, NULL, &err),
            AP_E_NOT_FOUND);
}

/* GET /version through a client for server with tls-server-name name (NULL = none). */
static int get_version(const char *server, const char *name, struct ap_error *err)
{
        struct ap_kube_config *cfg = NULL;
        assert_int_equal(ap_kube_config_load_kubeconfig(getenv("KUBECONFIG"), NULL, &cfg, err), 0);
        free(cfg->server);
        cfg->server = strdup(server);
        free(cfg->tls_server_name);
        cfg->tls_server_name = name ? strdup(name) : NULL;
        struct ap_kube_client *c = NULL;
        int r = ap_kube_client_new(cfg, NULL, &c, err);
        ap_kube_config_free(cfg);
        if (r < 0)
                return r;
        char url[256];
        snprintf(url, sizeof(url), "%s/version", server);
        json_t *v = NULL;
        r = ap_kube_request_json(c, "GET", url, NULL, NULL, NULL, &v, NULL, err);
        if (r == 0)
                assert_non_null(json_object_get(v, "gitVersion"));
        json_decref(v);
        ap_kube_client_free(c);
        return r;
}

/* The serving certificate names 127.0.0.1, localhost and kubernetes.default*: through 127.0.0.2 it only
 * verifies when tls-server-name names one of those, and a tls-server-name it does not hold fails even
 * where the URL's host would pass. */
static void test_tls_server_name(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        int port = atoi(strrchr(it_server(), ':') + 1);
        struct tcp_proxy *p = tcp_proxy_start_on("127.0.0.2", port);
        char via[64];
        snprintf(via, sizeof(via), "https://127.0.0.2:%d", tcp_proxy_port(p));
        assert_int_equal(get_version(via, NULL, &err), AP_KUBE_E_TLS_VERIFY);
        assert_non_null(strstr(err.msg, "127.0.0.2"));
        assert_int_equal(get_version(via, "localhost", &err), 0);
        assert_int_equal(get_version(via, "kubernetes.default.svc", &err), 0);
        assert_int_equal(get_version(it_server(), "wrong.example", &err), AP_KUBE_E_TLS_VERIFY);
        assert_int_equal(get_version(it_server(), "bad/name", &err), AP_E_INVALID);
        tcp_proxy_free(p);
}

static char *request_token(struct ap_kube_client *c, const char *ns, const char *sa)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        struct ap_kube_opts o = {.subresource = "token"};
        assert_int_equal(
            ap_kube_url_build(&url, ap_kube_client_server(c), &ap_kube_res_serviceaccounts, ns, sa, &o, &err),
            0);
        json_t *req = json_pack("{s:s, s:s, s:{s:i}}", "apiVersion", "authentication.k8s.io/v1", "kind",
                                "TokenRequest", "spec", "expirationSeconds", 600);
        json_t *res = NULL;
        if (ap_kube_request_json(c, "POST", url.data, NULL, req, NULL, &res, NULL, &err) < 0)
                fail_msg("TokenRequest failed: %s", err.msg);
        char *tok = strdup(json_string_value(json_object_get(json_object_get(res, "status"), "token")));
        json_decref(req);
        json_decref(res);
        return tok;
}

static void write_text(const char *dir, const char *name, const char *text)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_write_file_atomic(p, text, strlen(text), 0600, &err), 0);
}

/* A service account's bearer token from a file (the in-cluster way), re-read when the file changes. */
static void test_bearer_token_rotation(void **state)
{
        struct fixture *f = *state;
        struct ap_error err = AP_ERROR_INIT;
        static const struct ap_kube_resource rolebindings = {"rbac.authorization.k8s.io", "v1",
                                                             "rolebindings", "RoleBinding", true};
        json_t *sa = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
                               "metadata", "name", "kit-reader");
        assert_int_equal(
            ap_kube_create(f->c, &ap_kube_res_serviceaccounts, f->ns, sa, NULL, NULL, NULL, &err), 0);
        /* a Role of its own: the aggregated "view" ClusterRole stays empty without the controller that
         * fills it */
        static const struct ap_kube_resource roles = {"rbac.authorization.k8s.io", "v1", "roles", "Role",
                                                      true};
        json_t *role =
            json_pack("{s:s, s:s, s:{s:s}, s:[{s:[s], s:[s], s:[s, s]}]}", "apiVersion",
                      "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", "name", "kit-reader",
                      "rules", "apiGroups", "", "resources", "configmaps", "verbs", "get", "list");
        assert_int_equal(ap_kube_create(f->c, &roles, f->ns, role, NULL, NULL, NULL, &err), 0);
        json_decref(role);
        json_t *rb = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "apiVersion",
                               "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata", "name",
                               "kit-reader", "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind",
                               "Role", "name", "kit-reader", "subjects", "kind", "ServiceAccount", "name",
                               "kit-reader", "namespace", f->ns);
        assert_int_equal(ap_kube_create(f->c, &rolebindings, f->ns, rb, NULL, NULL, NULL, &err), 0);
        json_decref(sa);
        json_decref(rb);

        /* a fake service-account mount: token, ca.crt, namespace */
        char dir[] = "/tmp/kit-sa-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char *tok = request_token(f->c, f->ns, "kit-reader");
        write_text(dir, "token", tok);
        write_text(dir, "namespace", f->ns);
        struct ap_kube_config *admin = NULL;
        assert_int_equal(ap_kube_config_load_kubeconfig(getenv("KUBECONFIG"), NULL, &admin, &err), 0);
        write_text(dir, "ca.crt", admin->ca_pem.data);
        const char *hostport = strstr(admin->server, "://") + 3;
        char host[128];
        snprintf(host, sizeof(host), "%.*s", (int)(strrchr(hostport, ':') - hostport), hostport);
        struct ap_kube_config *cfg = NULL;
        assert_int_equal(ap_kube_config_in_cluster(host, strrchr(hostport, ':') + 1, dir, &cfg, &err), 0);
        assert_string_equal(cfg->namespace, f->ns);
        struct ap_kube_client *c = NULL;
        assert_int_equal(ap_kube_client_new(cfg, NULL, &c, &err), 0);

        /* the role reads configmaps (in the mount's namespace by default) but not secrets */
        json_t *cm = it_configmap(f->ns, "seen", "k", "v");
        assert_int_equal(ap_kube_create(f->c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err), 0);
        json_decref(cm);
        assert_int_equal(ap_kube_get(c, &ap_kube_res_configmaps, NULL, "seen", NULL, NULL, NULL, &err), 0);
        struct ap_kube_status st = AP_KUBE_STATUS_INIT;
        assert_int_equal(ap_kube_list(c, &ap_kube_res_secrets, f->ns, NULL, NULL, &st, &err),
                         AP_KUBE_E_FORBIDDEN);
        assert_non_null(strstr(err.msg, "system:serviceaccount:"));

        /* the kubelet rotates the file: a broken token is noticed at once... */
        it_sleep_ms(20); /* a distinct mtime */
        write_text(dir, "token", "not-a-token");
        assert_int_equal(ap_kube_get(c, &ap_kube_res_configmaps, NULL, "seen", NULL, NULL, &st, &err),
                         AP_KUBE_E_UNAUTHORIZED);
        assert_int_equal(st.code, 401);
        /* ...and so is a fresh one */
        char *tok2 = request_token(f->c, f->ns, "kit-reader");
        it_sleep_ms(20);
        write_text(dir, "token", tok2);
        assert_int_equal(ap_kube_get(c, &ap_kube_res_configmaps, NULL, "seen", NULL, NULL, NULL, &err), 0);

        /* a static token from a kubeconfig works the same way */
        struct ap_kube_config *kc = NULL;
        char yaml[4096];
        snprintf(yaml, sizeof(yaml),
                 "current-context: t\ncontexts: [{name: t, context: {cluster: c, user: u, namespace: %s}}]\n"
                 "clusters: [{name: c, cluster: {server: '%s', certificate-authority: %s/ca.crt}}]\n"
                 "users: [{name: u, user: {token: '%s'}}]\n",
                 f->ns, admin->server, dir, tok2);
        assert_int_equal(ap_kube_config_parse_kubeconfig(yaml, strlen(yaml), NULL, NULL, &kc, &err), 0);
        struct ap_kube_client *c2 = NULL;
        assert_int_equal(ap_kube_client_new(kc, NULL, &c2, &err), 0);
        assert_int_equal(ap_kube_get(c2, &ap_kube_res_configmaps, NULL, "seen", NULL, NULL, NULL, &err), 0);

        ap_kube_client_free(c2);
        ap_kube_config_free(kc);
        ap_kube_client_free(c);
        ap_kube_config_free(cfg);
        ap_kube_config_free(admin);
        ap_kube_status_release(&st);
        free(tok);
        free(tok2);
        const char *files[] = {"token", "namespace", "ca.crt"};
        for (size_t i = 0; i < 3; i++) {
                char p[512];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
                unlink(p);
        }
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
            cmocka_unit_test_setup_teardown(test_invalid_with_causes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_impersonation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
            cmocka_unit_test_setup_teardown(test_server_side_apply, setup, teardown),
            cmocka_unit_test_setup_teardown(test_status_subresource, setup, teardown),
            cmocka_unit_test_setup_teardown(test_conflict_retry, setup, teardown),
            cmocka_unit_test_setup_teardown(test_events, setup, teardown),
            cmocka_unit_test_setup_teardown(test_finalizers, setup, teardown),
            cmocka_unit_test(test_tls_server_name),
            cmocka_unit_test_setup_teardown(test_bearer_token_rotation, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
