/* it_kube_disrupt.c - informers through control-plane trouble (runs alone: it restarts the shared
 * apiserver). 1) The apiserver restarts under a running informer while a writer keeps creating, updating
 * and deleting: afterwards the cache and the handlers' view equal the server, no event came twice or out
 * of order, and every write made while the watch stood was delivered. 2) The informer is cut off while
 * objects are deleted, changed and created, etcd is compacted and the apiserver restarted: its resumed
 * watch gets 410 Gone, it relists, and the diff delivers exactly the deletes, updates and adds it missed.
 * Needs a tools/testenv control plane behind KUBECONFIG. */
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

#include "it_common.h"
#include "kube/informer.h"
#include "kube/watch_stream.h"

static struct ap_kube_informer *informer(struct ap_kube_client *c, const char *ns, const char *selector,
                                         struct it_mirror *m)
{
        struct ap_kube_informer_options o = {
            .resource = &ap_kube_res_configmaps,
            .namespace = ns,
            .label_selector = selector,
            .backoff_max_ms = 2000,
        };
        struct ap_kube_informer *inf = NULL;
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_informer_new(c, &o, &inf, &err), 0);
        struct ap_kube_informer_handlers h = it_mirror_handlers(m);
        assert_int_equal(ap_kube_informer_add_handlers(inf, &h), 0);
        return inf;
}

static json_t *labelled(const char *ns, const char *name, const char *label, const char *val)
{
        json_t *cm = it_configmap(ns, name, "v", val);
        json_object_set_new(json_object_get(cm, "metadata"), "labels", json_pack("{s:s}", label, "yes"));
        return cm;
}

#define MAX_WRITES 20000

struct writer {
        struct ap_kube_client *c;
        const char *ns;
        atomic_bool stop;
        int ok, failed;
        /* writes acknowledged while the watch could see them: key index and resourceVersion */
        int keys[MAX_WRITES];
        long long rvs[MAX_WRITES];
        bool deleted[MAX_WRITES];
        int n;
};

static void *write_loop(void *arg)
{
        struct writer *w = arg;
        unsigned seed = 42;
        bool exists[40] = {false};
        while (!atomic_load(&w->stop) && w->n < MAX_WRITES) {
                int i = (int)(rand_r(&seed) % 40);
                char name[32], val[32];
                snprintf(name, sizeof(name), "w-%02d", i);
                snprintf(val, sizeof(val), "%d", w->ok);
                struct ap_error err = AP_ERROR_INIT;
                json_t *res = NULL;
                int r;
                bool del = false;
                if (!exists[i]) {
                        json_t *cm = labelled(w->ns, name, "restart", val);
                        r = ap_kube_create(w->c, &ap_kube_res_configmaps, NULL, cm, NULL, &res, NULL, &err);
                        json_decref(cm);
                        if (r == 0 || r == AP_KUBE_E_ALREADY_EXISTS)
                                exists[i] = true;
                } else if (rand_r(&seed) % 5 == 0) {
                        r = ap_kube_delete(w->c, &ap_kube_res_configmaps, w->ns, name, NULL, &res, NULL,
                                           &err);
                        if (r == 0 || r == AP_KUBE_E_NOT_FOUND)
                                exists[i] = false;
                        del = true;
                } else {
                        json_t *p = json_pack("{s:{s:s}}", "data", "v", val);
                        r = ap_kube_patch(w->c, &ap_kube_res_configmaps, w->ns, name, AP_KUBE_PATCH_MERGE, p,
                                          NULL, &res, NULL, &err);
                        json_decref(p);
                        if (r == AP_KUBE_E_NOT_FOUND)
                                exists[i] = false;
                }
                if (r == 0) {
                        w->ok++;
                        if (!del) {
                                w->keys[w->n] = i;
                                w->rvs[w->n] = it_rv(res);
                                w->deleted[w->n] = del;
                                w->n++;
                        }
                } else {
                        w->failed++;
                        it_sleep_ms(100);
                }
                json_decref(res);
                it_sleep_ms(10);
        }
        return NULL;
}

static void test_apiserver_restart(void **state)
{
        struct ap_kube_client *c = it_client(NULL);
        if (!it_testenv_dir())
                fail_msg("this test restarts the apiserver: it needs a tools/testenv control plane behind "
                         "KUBECONFIG");
        char *ns = it_namespace(c, "restart");
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer *inf = informer(c, ns, "restart=yes", &m);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        struct ap_kube_client *wc = it_client(NULL);
        struct writer *w = calloc(1, sizeof(*w));
        w->c = wc;
        w->ns = ns;
        pthread_t t;
        pthread_create(&t, NULL, write_loop, w);
        it_sleep_ms(3000);
        assert_int_equal(it_testenv("restart-apiserver", "2"), 0);
        it_sleep_ms(6000); /* writes resume; the informer reconnects */
        atomic_store(&w->stop, true);
        pthread_join(t, NULL);
        it_wait_converged(inf, &m, c, &ap_kube_res_configmaps, ns, "restart=yes", 60000);
        it_mirror_assert_clean(&m);
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(inf, &st);
        char last[AP_ERROR_MSG_MAX] = "";
        ap_kube_informer_last_error(inf, last, sizeof(last));
        print_message(
            "# writes: %d ok, %d failed during the restart; informer: %lu watches, %lu lists (%lu after "
            "410), %lu events; last error: %s\n",
            w->ok, w->failed, st.watches, st.lists, st.relists, st.events, last);
        assert_true(w->failed > 0); /* the restart really happened under the writer */
        assert_true(st.watches >= 2);
        /* Every acknowledged write was delivered as its own event. If the restarted apiserver's fresh watch
         * cache answered 410 and the informer relisted, writes up to that list's resourceVersion may be
         * folded into the relist's diff (their final state is checked by convergence above); every write
         * after it must have come through the watch. */
        long long folded_upto = st.relists ? strtoll(st.last_list_rv, NULL, 10) : 0;
        int checked = 0;
        for (int k = 0; k < w->n; k++) {
                char key[128];
                snprintf(key, sizeof(key), "%s/w-%02d", ns, w->keys[k]);
                if (w->rvs[k] <= folded_upto)
                        continue;
                if (!it_mirror_saw(&m, key, w->rvs[k]))
                        fail_msg("write %d ('%s' at resourceVersion %lld) never reached the handlers", k, key,
                                 w->rvs[k]);
                checked++;
        }
        print_message("# %d acknowledged writes checked one by one\n", checked);
        assert_true(checked > 50);
        free(w);
        ap_kube_client_free(wc);
        ap_kube_informer_free(inf);
        it_mirror_release(&m);
        it_namespace_delete(c, ns);
        free(ns);
        ap_kube_client_free(c);
}

static void test_compaction_relist(void **state)
{
        struct ap_kube_client *direct = it_client(NULL);
        if (!it_testenv_dir())
                fail_msg("this test compacts etcd: it needs a tools/testenv control plane behind KUBECONFIG");
        char *ns = it_namespace(direct, "gone");
        struct ap_error err = AP_ERROR_INIT;
        /* 30 objects: 0-9 will be deleted, 10-19 changed, 20-29 left alone; 30-39 appear later */
        for (int i = 0; i < 30; i++) {
                char name[32];
                snprintf(name, sizeof(name), "g-%02d", i);
                json_t *cm = labelled(ns, name, "gone", "0");
                assert_int_equal(
                    ap_kube_create(direct, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err), 0);
                json_decref(cm);
        }
        int port = atoi(strrchr(it_server(), ':') + 1);
        struct tcp_proxy *proxy = tcp_proxy_start(port);
        char url[64];
        snprintf(url, sizeof(url), "https://127.0.0.1:%d", tcp_proxy_port(proxy));
        struct ap_kube_client *c = it_client(url);
        struct it_mirror m;
        it_mirror_init(&m);
        struct ap_kube_informer *inf = informer(c, ns, "gone=yes", &m);
        assert_int_equal(ap_kube_informer_start(inf, &err), 0);
        assert_int_equal(ap_kube_informer_wait_synced(inf, 30000), 0);
        assert_int_equal(m.adds, 30);

        /* cut the informer off; change the world behind its back */
        tcp_proxy_cut(proxy, true);
        for (int i = 0; i < 10; i++) {
                char name[32];
                snprintf(name, sizeof(name), "g-%02d", i);
                assert_int_equal(
                    ap_kube_delete(direct, &ap_kube_res_configmaps, ns, name, NULL, NULL, NULL, &err), 0);
        }
        for (int i = 10; i < 20; i++) {
                char name[32];
                snprintf(name, sizeof(name), "g-%02d", i);
                json_t *p = json_pack("{s:{s:s}}", "data", "v", "changed");
                for (int k = 0; k < 3; k++) {
                        json_t *step = json_pack("{s:{s:s}}", "data", "k", k == 0 ? "a" : k == 1 ? "b" : "c");
                        assert_int_equal(ap_kube_patch(direct, &ap_kube_res_configmaps, ns, name,
                                                       AP_KUBE_PATCH_MERGE, step, NULL, NULL, NULL, &err),
                                         0);
                        json_decref(step);
                }
                assert_int_equal(ap_kube_patch(direct, &ap_kube_res_configmaps, ns, name, AP_KUBE_PATCH_MERGE,
                                               p, NULL, NULL, NULL, &err),
                                 0);
                json_decref(p);
        }
        for (int i = 30; i < 40; i++) {
                char name[32];
                snprintf(name, sizeof(name), "g-%02d", i);
                json_t *cm = labelled(ns, name, "gone", "new");
                assert_int_equal(
                    ap_kube_create(direct, &ap_kube_res_configmaps, NULL, cm, NULL, NULL, NULL, &err), 0);
                json_decref(cm);
        }
        /* make the informer's resourceVersion unservable: compacted in etcd, and not in the restarted
         * apiserver's fresh watch cache */
        assert_int_equal(it_testenv("compact", NULL), 0);
        assert_int_equal(it_testenv("restart-apiserver", NULL), 0);
        int adds0 = m.adds, updates0 = m.updates, deletes0 = m.deletes;
        tcp_proxy_cut(proxy, false);

        it_wait_converged(inf, &m, direct, &ap_kube_res_configmaps, ns, "gone=yes", 60000);
        it_mirror_assert_clean(&m);
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(inf, &st);
        char last[AP_ERROR_MSG_MAX] = "";
        ap_kube_informer_last_error(inf, last, sizeof(last));
        print_message("# informer: %lu watches, %lu lists (%lu after 410), %lu errors; last error: %s\n",
                      st.watches, st.lists, st.relists, st.errors, last);
        assert_true(st.relists >= 1);
        assert_non_null(strstr(last, "410") ?: strstr(last, "Gone") ?: strstr(last, "Expired"));
        /* the diff: exactly the 10 deletes, 10 updates (one each: intermediate states are gone) and 10 adds
         */
        assert_int_equal(m.deletes - deletes0, 10);
        assert_int_equal(m.updates - updates0, 10);
        assert_int_equal(m.adds - adds0, 10);
        assert_int_equal(ap_kube_informer_len(inf), 30);
        for (int i = 10; i < 20; i++) {
                char key[128];
                snprintf(key, sizeof(key), "%s/g-%02d", ns, i);
                json_t *obj = ap_kube_informer_get(inf, key);
                assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "v")),
                                    "changed");
                json_decref(obj);
        }
        ap_kube_informer_free(inf);
        ap_kube_client_free(c);
        tcp_proxy_free(proxy);
        it_mirror_release(&m);
        it_namespace_delete(direct, ns);
        free(ns);
        ap_kube_client_free(direct);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_apiserver_restart),
            cmocka_unit_test(test_compaction_relist),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
