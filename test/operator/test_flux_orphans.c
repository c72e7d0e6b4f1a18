/* test_flux_orphans.c - which delivered Secrets Flux lost track of (op_flux_orphans), and when a
 * Kustomization's inventory is that of a complete apply (op_flux_applied_revision). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "operator/flux_orphans.h"

#define REV "main@sha1:4af847bfe870aaaa"

static json_t *kustomization(const char *ready, long gen, long observed, const char *applied,
                             const char *attempted)
{
        return json_pack("{s:{s:I}, s:{s:[{s:s, s:s}], s:I, s:s, s:s, s:{s:[{s:s, s:s}]}}}", "metadata",
                         "generation", (json_int_t)gen, "status", "conditions", "type", "Ready", "status",
                         ready, "observedGeneration", (json_int_t)observed, "lastAppliedRevision", applied,
                         "lastAttemptedRevision", attempted, "inventory", "entries", "id",
                         "shop-prod_kept__Secret", "v", "v1");
}

static json_t *gitrepo(const char *rev)
{
        return json_pack("{s:{s:{s:s}}}", "status", "artifact", "revision", rev);
}

static void test_applied_revision(void **state)
{
        json_t *k = kustomization("True", 2, 2, REV, REV), *g = gitrepo(REV),
               *g2 = gitrepo("main@sha1:other");
        assert_string_equal(op_flux_applied_revision(k, g), REV);
        assert_string_equal(op_flux_applied_revision(k, NULL), REV);
        assert_null(op_flux_applied_revision(k, g2)); /* a newer artifact is on its way */
        json_decref(k);
        k = kustomization("False", 2, 2, REV, REV);
        assert_null(op_flux_applied_revision(k, g)); /* failed: its inventory may lag */
        json_decref(k);
        k = kustomization("True", 3, 2, REV, REV);
        assert_null(op_flux_applied_revision(k, g)); /* not observed the current spec */
        json_decref(k);
        k = kustomization("True", 2, 2, REV, "main@sha1:next");
        assert_null(op_flux_applied_revision(k, g)); /* an apply of another revision did not finish */
        json_decref(k);
        assert_null(op_flux_applied_revision(NULL, g));
        json_decref(g);
        json_decref(g2);
}

/* A Secret as Flux delivers it from shop's platform repo (labels and source of ours, Flux's labels). */
static json_t *delivered(const char *ns, const char *name, const char *app, const char *flux_name,
                         const char *source)
{
        return json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}}}", "metadata", "namespace", ns,
                         "name", name, "uid", "u-1", "labels", "labrats.work/app", app,
                         "app.kubernetes.io/managed-by", "app-platform-operator",
                         "kustomize.toolkit.fluxcd.io/name", flux_name,
                         "kustomize.toolkit.fluxcd.io/namespace", "shop-platform", "annotations",
                         "labrats.work/source", source);
}

static json_t *intent(const char *name, const char *targets, const char *target_name, bool marked)
{
        json_t *anns = json_pack("{s:s}", "labrats.work/target-namespaces", targets);
        if (target_name)
                json_object_set_new(anns, "labrats.work/target-name", json_string(target_name));
        if (marked)
                json_object_set_new(anns, "labrats.work/marked-for-deletion", json_string("true"));
        return json_pack("{s:{s:s, s:s, s:o}}", "metadata", "namespace", "shop-platform", "name", name,
                         "annotations", anns);
}

static void test_orphans(void **state)
{
        struct ap_app_names n;
        assert_int_equal(ap_app_names_init(&n, "shop", NULL), 0);
        json_t *k = kustomization("True", 1, 1, REV, REV);
        const json_t *inv =
            json_object_get(json_object_get(json_object_get(k, "status"), "inventory"), "entries");
        json_t *intents =
            json_pack("[o, o, o]", intent("db", "shop-dev,shop-prod", NULL, false),
                      intent("api", "shop-prod", "api-token", false), intent("old", "shop-prod", NULL, true));
        json_t *secrets = json_pack(
            "[o, o, o, o, o, o, o, o]",
            delivered("shop-prod", "lost", "shop", "shop-platform", "shop-platform/lost"), /* orphan */
            delivered("shop-prod", "kept", "shop", "shop-platform",
                      "shop-platform/kept"), /* in the inventory */
            delivered("shop-prod", "db", "shop", "shop-platform",
                      "shop-platform/db"), /* an intent targets it */
            delivered("shop-prod", "api-token", "shop", "shop-platform",
                      "shop-platform/api"),                                              /* by target-name */
            delivered("shop-prod", "old", "shop", "shop-platform", "shop-platform/old"), /* marked: orphan */
            delivered("shop-prod", "api", "shop", "shop-platform",
                      "shop-platform/api"), /* api targets api-token */
            delivered("shop-prod", "other-ks", "shop", "shop-infra",
                      "shop-platform/x"),                                     /* another Kustomization */
            delivered("shop-prod", "mine", "shop", "shop-platform", "mine")); /* not delivered by us */
        json_t *o = op_flux_orphans(&n, inv, intents, secrets);
        assert_non_null(o);
        assert_int_equal(json_array_size(o), 3);
        const char *want[] = {"lost", "old", "api"};
        for (size_t i = 0; i < 3; i++)
                assert_string_equal(json_string_value(json_object_get(
                                        json_object_get(json_array_get(o, i), "metadata"), "name")),
                                    want[i]);
        json_decref(o);
        /* another app's Secret in the same list is never one of ours */
        json_t *other =
            json_pack("[o]", delivered("shop-prod", "lost", "shops", "shop-platform", "shop-platform/lost"));
        o = op_flux_orphans(&n, inv, intents, other);
        assert_int_equal(json_array_size(o), 0);
        json_decref(o);
        json_decref(other);
        /* an empty inventory and no intents: every delivered Secret of ours is an orphan */
        json_t *empty = json_array();
        o = op_flux_orphans(&n, empty, empty, secrets);
        assert_int_equal(json_array_size(o), 6);
        json_decref(o);
        json_decref(empty);
        json_decref(secrets);
        json_decref(intents);
        json_decref(k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_applied_revision),
            cmocka_unit_test(test_orphans),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
