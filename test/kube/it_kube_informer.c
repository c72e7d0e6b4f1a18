/* it_kube_informer.c - informers against the real apiserver: label selectors keep other objects out of
 * the cache, namespace and label indexes, handlers in step with the cache, 1,000 rapid updates leave the
 * cache equal to the server with every update delivered once, and a dropped stream resumes from the
 * last resourceVersion without a relist; the strip-secret-values transform keeps every value out of the
 * cache and the handlers; an optional informer for a resource type that does not exist yet is synced
 * and empty, and fills when the CRD is created. Each test uses its own namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"
#include "kube/informer.h"
#include "kube/watch_stream.h"

#define MANAGED "labrats.work/managed-secret"

static struct ap_kube_informer *informer(struct ap_kube_client *c, const struct ap_kube_resource *r,
                                         const char *ns, const char *selector, struct it_mirror *m)
{
        struct ap_kube_informer_options o = {
            .resource = r,
            .namespace = ns,
            .label_selector = selector,
            .page_size = 7,
            .backoff_max_ms = 2000,
        };
        struct ap_kube_informer *inf = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_informer_new(c, &o, &inf, &err), 0);
        if (m) {
                struct ap_kube_informer_handlers h = it_mirror_handlers(m);
                assert_int_equal(ap_kube_informer_add_handlers(inf, &h), 0);
        }
        return inf;
}

static void test_selector_and_indexes(void **state)
{
        struct ap_kube_client *c = it_client(NULL);
        char *ns = it_namespace(c, "sel");
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 20; i++) {
                char name[32];
                snprintf(name, sizeof(name), "s%02d", i);
                json_t *s = it_secret(ns, name, i % 2 ? NULL : MANAGED, "true");
                if (i % 2 == 0)
                        json_object_set_new(json_object_get(json_object_get(s, "metadata"), "labels"),
                                            "labrats.work/app", json_string(i % 4 ? "diet" : "shop"));
                assert_int_equal(ap_kube_create(c, &ap_kube_res_secrets, NULL, s, NULL, NULL, NULL, &err), 0);
                json_decref(s);
        }
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer *inf = informer(c, &ap_kube_res_secrets, ns, MANAGED "=true", &m);
        assert_int_equal(ap_kube_informer_add_index(inf, "namespace", ap_kube_index_namespace, NULL), 0);
        assert_int_equal(ap_kube_informer_add_index(inf, "app", ap_kube_index_label, "labrats.work/app"), 0);
        assert_false(ap_kube_informer_has_synced(inf));
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        assert_true(ap_kube_informer_has_synced(inf));
        /* only the 10 labelled ones, found through two list pages of 7 */
        assert_int_equal(ap_kube_informer_len(inf), 10);
        assert_int_equal(m.adds, 10);
        char key[128];
        snprintf(key, sizeof(key), "%s/s00", ns);
        json_t *got = ap_kube_informer_get(inf, key);
        assert_non_null(got);
        assert_string_equal(json_string_value(json_object_get(got, "kind")),
                            "Secret"); /* stamped on list items */
        assert_string_equal(json_string_value(json_object_get(got, "apiVersion")), "v1");
        assert_null(json_object_get(json_object_get(got, "metadata"), "managedFields")); /* dropped */
        json_decref(got);
        snprintf(key, sizeof(key), "%s/s01", ns);
        assert_null(ap_kube_informer_get(inf, key));
        json_t *byns = ap_kube_informer_by_index(inf, "namespace", ns);
        assert_int_equal(json_array_size(byns), 10);
        json_decref(byns);
        json_t *diet = ap_kube_informer_by_index(inf, "app", "diet");
        json_t *shop = ap_kube_informer_by_index(inf, "app", "shop");
        assert_int_equal(json_array_size(diet), 5);
        assert_int_equal(json_array_size(shop), 5);
        json_decref(diet);
        json_decref(shop);

        /* changes: relabel one into the other app, label an unmanaged one in, unlabel one out, delete one */
        json_t *p = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "labrats.work/app", "shop");
        assert_int_equal(
            ap_kube_patch(c, &ap_kube_res_secrets, ns, "s02", AP_KUBE_PATCH_MERGE, p, NULL, NULL, NULL, &err),
            0);
        json_decref(p);
        p = json_pack("{s:{s:{s:s}}}", "metadata", "labels", MANAGED, "true");
        assert_int_equal(
            ap_kube_patch(c, &ap_kube_res_secrets, ns, "s01", AP_KUBE_PATCH_MERGE, p, NULL, NULL, NULL, &err),
            0);
        json_decref(p);
        p = json_pack("{s:{s:{s:n}}}", "metadata", "labels", MANAGED);
        assert_int_equal(
            ap_kube_patch(c, &ap_kube_res_secrets, ns, "s04", AP_KUBE_PATCH_MERGE, p, NULL, NULL, NULL, &err),
            0);
        json_decref(p);
        assert_int_equal(ap_kube_delete(c, &ap_kube_res_secrets, ns, "s06", NULL, NULL, NULL, &err), 0);
        it_wait_converged(inf, &m, c, &ap_kube_res_secrets, ns, MANAGED "=true", 20000);
        it_mirror_assert_clean(&m);
        assert_int_equal(ap_kube_informer_len(inf), 9);
        /* leaving the selector looks like a delete, entering it like an add */
        assert_int_equal(m.adds, 11);
        assert_int_equal(m.deletes, 2);
        assert_int_equal(m.updates, 1);
        shop = ap_kube_informer_by_index(inf, "app", "shop");
        assert_int_equal(json_array_size(shop), 5); /* 0, 2 (moved), 8, 12, 16 ; 4 left */
        json_decref(shop);
        char *rv = ap_kube_informer_resource_version(inf);
        assert_non_null(rv);
        free(rv);

        ap_kube_informer_stop(inf);
        ap_kube_informer_stop(inf); /* idempotent; the cache stays readable */
        assert_int_equal(ap_kube_informer_len(inf), 9);
        ap_kube_informer_free(inf);
        it_mirror_release(&m);
        it_namespace_delete(c, ns);
        free(ns);
        ap_kube_client_free(c);
}

struct updater {
        struct ap_kube_client *c;
        const char *ns;
        int first, count; /* configmaps cm-<first>..cm-<first+count-1> */
        int rounds;
        long long *rvs; /* every resourceVersion the server returned, per write */
        int n_rvs;
        int failures;
};

static void *update_loop(void *arg)
{
        struct updater *u = arg;
        for (int round = 0; round < u->rounds; round++)
                for (int i = u->first; i < u->first + u->count; i++) {
                        char name[32], val[32];
                        snprintf(name, sizeof(name), "cm-%02d", i);
                        snprintf(val, sizeof(val), "%d", round);
                        json_t *p = json_pack("{s:{s:s}}", "data", "round", val);
                        json_t *res = NULL;
                        struct ap_error err = AP_ERROR_INIT;
                        if (ap_kube_patch(u->c, &ap_kube_res_configmaps, u->ns, name, AP_KUBE_PATCH_MERGE, p,
                                          NULL, &res, NULL, &err) < 0)
                                u->failures++;
                        else
                                u->rvs[u->n_rvs++] = it_rv(res);
                        json_decref(p);
                        json_decref(res);
                }
        return NULL;
}

static void test_rapid_updates(void **state)
{
        struct ap_kube_client *c = it_client(NULL);
        char *ns = it_namespace(c, "rapid");
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 10; i++) {
                char name[32];
                snprintf(name, sizeof(name), "cm-%02d", i);
                json_t *cm = it_configmap(ns, name, "round", "init");
                json_object_set_new(json_object_get(cm, "metadata"), "labels",
                                    json_pack("{s:s}", "rapid", "yes"));
                assert_int_equal(ap_kube_create(c, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err),
                                 0);
                json_decref(cm);
        }
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer *inf = informer(c, &ap_kube_res_configmaps, ns, "rapid=yes", &m);
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        /* 1,000 updates from 4 writers as fast as the apiserver takes them */
        struct updater u[4];
        pthread_t t[4];
        long long start = it_now_ms();
        for (int i = 0; i < 4; i++) {
                int count = i < 2 ? 3 : 2; /* 10 configmaps split 3+3+2+2 */
                int first = i == 0 ? 0 : i == 1 ? 3 : i == 2 ? 6 : 8;
                int rounds = 1000 / 10;
                u[i] = (struct updater){
                    c, ns, first, count, rounds, calloc((size_t)(count * rounds), sizeof(long long)), 0, 0};
                pthread_create(&t[i], NULL, update_loop, &u[i]);
        }
        int writes = 0;
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(u[i].failures, 0);
                writes += u[i].n_rvs;
        }
        assert_int_equal(writes, 1000);
        long long took = it_now_ms() - start;
        it_wait_converged(inf, &m, c, &ap_kube_res_configmaps, ns, "rapid=yes", 30000);
        it_mirror_assert_clean(&m);
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(inf, &st);
        print_message("# 1000 updates in %lld ms; informer: %lu watches, %lu lists, %lu events\n", took,
                      st.watches, st.lists, st.events);
        assert_int_equal(st.lists, 1);
        /* without a relist every single update reaches the handlers, each exactly once */
        assert_int_equal(m.updates, 1000);
        for (int i = 0; i < 4; i++) {
                for (int k = 0; k < u[i].n_rvs; k++) {
                        char key[128];
                        int idx = u[i].first + k % u[i].count;
                        snprintf(key, sizeof(key), "%s/cm-%02d", ns, idx);
                        if (!it_mirror_saw(&m, key, u[i].rvs[k]))
                                fail_msg("update of '%s' at resourceVersion %lld never reached the handlers",
                                         key, u[i].rvs[k]);
                }
                free(u[i].rvs);
        }
        ap_kube_informer_free(inf);
        it_mirror_release(&m);
        it_namespace_delete(c, ns);
        free(ns);
        ap_kube_client_free(c);
}

static void test_dropped_stream_resumes(void **state)
{
        struct ap_kube_client *direct = it_client(NULL);
        char *ns = it_namespace(direct, "drop");
        int port = atoi(strrchr(it_server(), ':') + 1);
        struct tcp_proxy *proxy = tcp_proxy_start(port);
        char url[64];
        snprintf(url, sizeof(url), "https://127.0.0.1:%d", tcp_proxy_port(proxy));
        struct ap_kube_client *c = it_client(url);
        struct ap_error err = AP_ERROR_INIT;
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer *inf = informer(c, &ap_kube_res_configmaps, ns, "drop=yes", &m);
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        long long rvs[30];
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 10; i++) {
                        char name[32];
                        snprintf(name, sizeof(name), "d-%d-%d", round, i);
                        json_t *cm = it_configmap(ns, name, "k", "v");
                        json_object_set_new(json_object_get(cm, "metadata"), "labels",
                                            json_pack("{s:s}", "drop", "yes"));
                        json_t *res = NULL;
                        assert_int_equal(
                            ap_kube_create(direct, &ap_kube_res_configmaps, NULL, cm, NULL, &res, NULL, &err),
                            0);
                        rvs[round * 10 + i] = it_rv(res);
                        json_decref(res);
                        json_decref(cm);
                }
                /* drop every connection (the watch with it) for a moment, twice */
                if (round < 2) {
                        struct ap_kube_informer_stats before, now;
                        ap_kube_informer_get_stats(inf, &before);
                        tcp_proxy_cut(proxy, true);
                        it_sleep_ms(300);
                        tcp_proxy_cut(proxy, false);
                        /* wait for the informer to watch again before the next round */
                        long long until = it_now_ms() + 20000;
                        do {
                                it_sleep_ms(50);
                                ap_kube_informer_get_stats(inf, &now);
                        } while (now.watches <= before.watches && it_now_ms() < until);
                        it_sleep_ms(300);
                }
        }
        it_wait_converged(inf, &m, direct, &ap_kube_res_configmaps, ns, "drop=yes", 30000);
        it_mirror_assert_clean(&m);
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(inf, &st);
        print_message("# dropped twice: %lu watches, %lu lists, %lu errors\n", st.watches, st.lists,
                      st.errors);
        assert_true(st.watches >= 3);
        assert_int_equal(st.lists, 1); /* resumed from the last resourceVersion, never relisted */
        assert_int_equal(m.adds, 30);
        for (int i = 0; i < 30; i++) {
                char key[128];
                snprintf(key, sizeof(key), "%s/d-%d-%d", ns, i / 10, i % 10);
                assert_true(it_mirror_saw(&m, key, rvs[i]));
        }
        ap_kube_informer_free(inf);
        ap_kube_client_free(c);
        tcp_proxy_free(proxy);
        it_mirror_release(&m);
        it_namespace_delete(direct, ns);
        free(ns);
        ap_kube_client_free(direct);
}

/* Handlers that record whether any object they saw carried a value. */
struct seen_values {
        pthread_mutex_t lock;
        int events, with_values;
};

static bool has_value(json_t *obj)
{
        char *dump = json_dumps(obj, JSON_COMPACT);
        bool v = dump && (strstr(dump, "hunter2") || strstr(dump, "aHVudGVyM"));
        free(dump);
        return v;
}

static void seen_add(void *ud, json_t *obj)
{
        struct seen_values *s = ud;
        pthread_mutex_lock(&s->lock);
        s->events++;
        s->with_values += has_value(obj);
        pthread_mutex_unlock(&s->lock);
}

static void seen_update(void *ud, json_t *old_obj, json_t *obj)
{
        struct seen_values *s = ud;
        pthread_mutex_lock(&s->lock);
        s->events++;
        s->with_values += has_value(old_obj) + has_value(obj);
        pthread_mutex_unlock(&s->lock);
}

static void test_strip_secret_values(void **state)
{
        struct ap_kube_client *c = it_client(NULL);
        char *ns = it_namespace(c, "strip");
        struct ap_error err = AP_ERROR_INIT;
        /* data (base64 of "hunter2-one"), stringData and the annotation kubectl apply leaves behind */
        json_t *sec = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}, s:{s:s}}", "apiVersion", "v1",
                                "kind", "Secret", "metadata", "name", "s", "namespace", ns, "annotations",
                                "kubectl.kubernetes.io/last-applied-configuration",
                                "{\"stringData\":{\"password\":\"hunter2-one\"}}", "data", "token",
                                "aHVudGVyMi1vbmU=", "stringData", "password", "hunter2-two");
        assert_int_equal(ap_kube_create(c, &ap_kube_res_secrets, NULL, sec, NULL, NULL, NULL, &err), 0);
        struct ap_kube_informer_options o = {
            .resource = &ap_kube_res_secrets,
            .namespace = ns,
            .transform = ap_kube_transform_strip_secret_values,
        };
        struct ap_kube_informer *inf = NULL;
        assert_int_equal(ap_kube_informer_new(c, &o, &inf, &err), 0);
        struct seen_values sv = {.lock = PTHREAD_MUTEX_INITIALIZER};
        struct ap_kube_informer_handlers h = {.on_add = seen_add, .on_update = seen_update, .userdata = &sv};
        assert_int_equal(ap_kube_informer_add_handlers(inf, &h), 0);
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        /* a watch event too: a new value */
        json_object_set_new(sec, "stringData", json_pack("{s:s}", "password", "hunter2-three"));
        json_t *got = NULL;
        assert_int_equal(ap_kube_get(c, &ap_kube_res_secrets, ns, "s", NULL, &got, NULL, &err), 0);
        json_object_set_new(got, "stringData", json_pack("{s:s}", "extra", "hunter2-four"));
        assert_int_equal(ap_kube_update(c, &ap_kube_res_secrets, got, NULL, NULL, NULL, &err), 0);
        json_decref(got);
        for (int i = 0; i < 200; i++) {
                pthread_mutex_lock(&sv.lock);
                int n = sv.events;
                pthread_mutex_unlock(&sv.lock);
                if (n >= 2)
                        break;
                it_sleep_ms(50);
        }
        assert_int_equal(sv.events, 2);
        assert_int_equal(sv.with_values, 0);
        /* the cache: key names kept, values gone, no annotation */
        json_t *all = ap_kube_informer_list(inf);
        assert_int_equal(json_array_size(all), 1);
        assert_false(has_value(all));
        json_t *d = json_object_get(json_array_get(all, 0), "data");
        assert_string_equal(json_string_value(json_object_get(d, "token")), "");
        assert_string_equal(json_string_value(json_object_get(d, "password")), "");
        assert_string_equal(json_string_value(json_object_get(d, "extra")), "");
        assert_null(json_object_get(
            json_object_get(json_object_get(json_array_get(all, 0), "metadata"), "annotations"),
            "kubectl.kubernetes.io/last-applied-configuration"));
        json_decref(all);
        json_decref(sec);
        ap_kube_informer_free(inf);
        it_namespace_delete(c, ns);
        free(ns);
        ap_kube_client_free(c);
}

static void test_optional_missing_crd(void **state)
{
        struct ap_kube_client *c = it_client(NULL);
        char *ns = it_namespace(c, "opt");
        struct ap_error err = AP_ERROR_INIT;
        char group[64], crd_name[96];
        snprintf(group, sizeof(group), "%s.kit.labrats.work", ns);
        snprintf(crd_name, sizeof(crd_name), "widgets.%s", group);
        const struct ap_kube_resource widgets = {group, "v1", "widgets", "Widget", true};
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer_options o = {
            .resource = &widgets,
            .namespace = ns,
            .optional = true,
            .missing_retry_ms = 300,
        };
        struct ap_kube_informer *inf = NULL;
        assert_int_equal(ap_kube_informer_new(c, &o, &inf, &err), 0);
        struct ap_kube_informer_handlers h = it_mirror_handlers(&m);
        assert_int_equal(ap_kube_informer_add_handlers(inf, &h), 0);
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        /* no such type: synced at once, empty, and it says why */
        assert_int_equal(ap_kube_informer_wait_synced(inf, 10000), 0);
        assert_true(ap_kube_informer_resource_missing(inf));
        assert_int_equal(ap_kube_informer_len(inf), 0);
        /* install the CRD and create an object */
        json_t *crd = json_pack(
            "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:b, s:b, s:{s:{s:s, s:b}}}]}}",
            "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata", "name",
            crd_name, "spec", "group", group, "scope", "Namespaced", "names", "plural", "widgets", "singular",
            "widget", "kind", "Widget", "versions", "name", "v1", "served", 1, "storage", 1, "schema",
            "openAPIV3Schema", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
        assert_int_equal(ap_kube_create(c, &ap_kube_res_crds, NULL, crd, NULL, NULL, NULL, &err), 0);
        json_decref(crd);
        char api_version[96];
        snprintf(api_version, sizeof(api_version), "%s/v1", group);
        int r = -1;
        for (int i = 0; i < 100 && r < 0; i++) {
                json_t *w = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", api_version, "kind", "Widget",
                                      "metadata", "name", "w1", "namespace", ns);
                r = ap_kube_create(c, &widgets, NULL, w, NULL, NULL, NULL, &err);
                json_decref(w);
                if (r < 0)
                        it_sleep_ms(100); /* until the apiserver serves the new type */
        }
        assert_int_equal(r, 0);
        long long until = it_now_ms() + 20000;
        while ((ap_kube_informer_resource_missing(inf) || ap_kube_informer_len(inf) < 1) &&
               it_now_ms() < until)
                it_sleep_ms(50);
        assert_false(ap_kube_informer_resource_missing(inf));
        assert_int_equal(ap_kube_informer_len(inf), 1);
        /* and it watches now: a second object arrives as an add */
        json_t *w2 = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", api_version, "kind", "Widget",
                               "metadata", "name", "w2", "namespace", ns);
        assert_int_equal(ap_kube_create(c, &widgets, NULL, w2, NULL, NULL, NULL, &err), 0);
        json_decref(w2);
        it_wait_converged(inf, &m, c, &widgets, ns, NULL, 20000);
        it_mirror_assert_clean(&m);
        assert_int_equal(m.adds, 2);
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(inf, &st);
        assert_true(st.watches >= 1);
        ap_kube_informer_free(inf);
        it_mirror_release(&m);
        if (ap_kube_delete(c, &ap_kube_res_crds, NULL, crd_name, NULL, NULL, NULL, &err) < 0)
                print_message("# cannot delete CRD '%s': %s\n", crd_name, err.msg);
        it_namespace_delete(c, ns);
        free(ns);
        ap_kube_client_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_selector_and_indexes),   cmocka_unit_test(test_rapid_updates),
            cmocka_unit_test(test_dropped_stream_resumes), cmocka_unit_test(test_strip_secret_values),
            cmocka_unit_test(test_optional_missing_crd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
