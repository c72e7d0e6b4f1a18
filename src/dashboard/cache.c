/* cache.c - informers, the app snapshot, cached list bodies and change events (see cache.h). Secrets are
 * watched per app, in '<app>-platform' only (the dashboard may read Secrets there and nowhere else): a pair
 * of informers starts when a registration appears and stops when it goes. */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "kube/informer.h"
#include "kube/keymap.h"
#include "view.h"

const struct ap_kube_resource ap_dash_res_registrations = {
    "labrats.work", "v1alpha1", "appplatformregistrations", "AppPlatformRegistration", false};
const struct ap_kube_resource ap_dash_res_gitrepositories = {"source.toolkit.fluxcd.io", "v1",
                                                             "gitrepositories", "GitRepository", true};
const struct ap_kube_resource ap_dash_res_kustomizations = {"kustomize.toolkit.fluxcd.io", "v1",
                                                            "kustomizations", "Kustomization", true};

static const char *const kind_event[AP_DASH_N_KINDS] = {"registration", "namespace",     "secret",
                                                        "oidcclient",   "gitrepository", "kustomization"};

struct view {
        uint64_t gen;
        struct ap_dash_blob *plain, *gz;
};

struct handler_ctx {
        struct ap_dash_cache *c;
        enum ap_dash_kind kind;
};

/* The Secret informers of one app's platform namespace; kept (stopped) after the app goes, so readers
 * never see them freed. */
struct app_informers {
        char *ns;
        struct ap_kube_informer *inf[2]; /* AP_DASH_SECRETS, AP_DASH_OIDC */
        bool running;
};

struct ap_dash_cache {
        struct ap_kube_client *kc;
        struct ap_dash_hub *hub;
        char *issuer;
        struct ap_kube_informer *inf[AP_DASH_N_KINDS];
        struct handler_ctx hctx[AP_DASH_N_KINDS];
        atomic_uint_fast64_t gen[AP_DASH_N_KINDS];

        pthread_mutex_t lock; /* guards apps and views */
        struct ap_dash_apps *apps;
        struct ap_keymap views;   /* "<kind>/<app>" -> struct view * */
        struct ap_keymap per_app; /* platform namespace -> struct app_informers * */
        bool stopping;
};

static bool per_app_kind(enum ap_dash_kind k)
{
        return k == AP_DASH_SECRETS || k == AP_DASH_OIDC;
}

/* The informer holding kind k in namespace ns (NULL when none). */
static struct ap_kube_informer *inf_for(struct ap_dash_cache *c, enum ap_dash_kind k, const char *ns)
{
        if (!per_app_kind(k))
                return c->inf[k];
        pthread_mutex_lock(&c->lock);
        struct app_informers *ai = ns ? ap_keymap_get(&c->per_app, ns) : NULL;
        struct ap_kube_informer *inf = ai ? ai->inf[k - AP_DASH_SECRETS] : NULL;
        pthread_mutex_unlock(&c->lock);
        return inf;
}

static json_t *inf_by_ns(struct ap_dash_cache *c, enum ap_dash_kind k, const char *ns)
{
        struct ap_kube_informer *inf = inf_for(c, k, ns);
        return inf ? ap_kube_informer_by_index(inf, "namespace", ns) : json_array();
}

const char *ap_dash_role_name(enum ap_dash_role r)
{
        static const char *const n[] = {"none", "reader", "developer", "admin"};
        return r <= AP_DASH_ROLE_ADMIN ? n[r] : "none";
}

enum ap_dash_role ap_dash_role_parse(const char *s)
{
        if (!s)
                return AP_DASH_ROLE_NONE;
        if (strcmp(s, "admin") == 0)
                return AP_DASH_ROLE_ADMIN;
        if (strcmp(s, "developer") == 0)
                return AP_DASH_ROLE_DEVELOPER;
        if (strcmp(s, "reader") == 0)
                return AP_DASH_ROLE_READER;
        return AP_DASH_ROLE_NONE;
}

/* ---- the app snapshot ---- */

static void app_release(struct ap_dash_app *a)
{
        free(a->name);
        free(a->platform_ns);
        for (size_t i = 0; i < a->n_ns; i++)
                free(a->namespaces[i]);
        free(a->namespaces);
        for (size_t i = 0; i < a->n_access; i++)
                free(a->access[i].group);
        free(a->access);
}

void ap_dash_apps_unref(struct ap_dash_apps *a)
{
        if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        for (size_t i = 0; i < a->n; i++)
                app_release(&a->v[i]);
        free(a->v);
        free(a);
}

static bool app_from(const json_t *obj, struct ap_dash_app *a)
{
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        const json_t *spec = json_object_get(obj, "spec");
        const json_t *nss = json_object_get(spec, "namespaces"), *acc = json_object_get(spec, "access");
        if (!name)
                return false;
        a->name = strdup(name);
        if (asprintf(&a->platform_ns, "%s-platform", name) < 0)
                a->platform_ns = NULL;
        a->namespaces = calloc(json_array_size(nss) + 1, sizeof(char *));
        a->access = calloc(json_array_size(acc) + 1, sizeof(*a->access));
        bool ok = a->name && a->platform_ns && a->namespaces && a->access;
        size_t i;
        json_t *e;
        json_array_foreach(nss, i, e)
        {
                if (ok && json_is_string(e))
                        ok = (a->namespaces[a->n_ns++] = strdup(json_string_value(e))) != NULL;
        }
        json_array_foreach(acc, i, e)
        {
                const char *g = json_string_value(json_object_get(e, "group"));
                enum ap_dash_role r = ap_dash_role_parse(json_string_value(json_object_get(e, "role")));
                if (ok && g && r != AP_DASH_ROLE_NONE) {
                        a->access[a->n_access].role = r;
                        ok = (a->access[a->n_access++].group = strdup(g)) != NULL;
                }
        }
        return ok;
}

static int add_informer_to(struct ap_dash_cache *c, enum ap_dash_kind k, const struct ap_kube_resource *res,
                           const char *ns, const char *selector, void (*transform)(void *, json_t *),
                           struct ap_kube_informer **ret, struct ap_error *err);

static void start_app_informers(struct ap_dash_cache *c, const struct ap_dash_app *a)
{
        struct ap_error err = AP_ERROR_INIT;
        struct app_informers *ai = calloc(1, sizeof(*ai));
        int r = ai && (ai->ns = strdup(a->platform_ns)) ? 0 : ap_error_set(&err, -ENOMEM, "out of memory");
        if (r == 0)
                r = add_informer_to(c, AP_DASH_SECRETS, &ap_kube_res_secrets, a->platform_ns,
                                    AP_DASH_LABEL_SECRET "=true", ap_kube_transform_strip_secret_values,
                                    &ai->inf[0], &err);
        if (r == 0)
                r = add_informer_to(c, AP_DASH_OIDC, &ap_kube_res_secrets, a->platform_ns, AP_DASH_LABEL_OIDC,
                                    ap_dash_transform_oidc_secret, &ai->inf[1], &err);
        for (int i = 0; r == 0 && i < 2; i++)
                r = ap_kube_informer_start(ai->inf[i], &err);
        pthread_mutex_lock(&c->lock);
        if (r == 0 && ap_keymap_put(&c->per_app, ai->ns, ai, NULL) < 0)
                r = ap_error_set(&err, -ENOMEM, "out of memory");
        if (r == 0)
                ai->running = true;
        pthread_mutex_unlock(&c->lock);
        if (r < 0) {
                ap_warn("cannot watch the secrets of '%s': %s", a->name, err.msg);
                if (ai) {
                        ap_kube_informer_free(ai->inf[0]);
                        ap_kube_informer_free(ai->inf[1]);
                        free(ai->ns);
                        free(ai);
                }
        }
}

/* Start the Secret informers of new apps, stop those of apps gone. Runs on the registration informer's
 * thread (and once at start), so never concurrently with itself. */
static void sync_per_app(struct ap_dash_cache *c, const struct ap_dash_apps *a)
{
        for (size_t i = 0; i < a->n; i++) {
                pthread_mutex_lock(&c->lock);
                struct app_informers *ai =
                    c->stopping ? NULL : ap_keymap_get(&c->per_app, a->v[i].platform_ns);
                bool want = !c->stopping && (!ai || !ai->running);
                pthread_mutex_unlock(&c->lock);
                if (want && ai) { /* the app came back: its old informers are stopped; start them again */
                        struct ap_error err = AP_ERROR_INIT;
                        for (int k = 0; k < 2; k++)
                                if (ap_kube_informer_start(ai->inf[k], &err) < 0)
                                        ap_log(AP_LOG_WARN, "cannot restart the informers of '%s': %s",
                                               a->v[i].platform_ns, ap_error_message(&err));
                        ai->running = true;
                } else if (want)
                        start_app_informers(c, &a->v[i]);
        }
        /* stopping joins the informer threads, whose handlers take the lock: stop outside it */
        struct app_informers *gone[64];
        size_t n_gone = 0, it = 0;
        const char *ns;
        void *v;
        pthread_mutex_lock(&c->lock);
        while (ap_keymap_next(&c->per_app, &it, &ns, &v) && n_gone < AP_ARRAY_SIZE(gone)) {
                struct app_informers *ai = v;
                bool found = false;
                for (size_t i = 0; i < a->n && !found; i++)
                        found = strcmp(a->v[i].platform_ns, ns) == 0;
                if (!found && ai->running) {
                        ai->running = false;
                        gone[n_gone++] = ai;
                }
        }
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; i < n_gone; i++) {
                ap_kube_informer_stop(gone[i]->inf[0]);
                ap_kube_informer_stop(gone[i]->inf[1]);
        }
}

/* Rebuild the snapshot from the registration informer. */
static void rebuild_apps(struct ap_dash_cache *c)
{
        json_t *list = ap_kube_informer_list(c->inf[AP_DASH_REGISTRATIONS]);
        struct ap_dash_apps *a = calloc(1, sizeof(*a));
        if (!a || !list || !(a->v = calloc(json_array_size(list) + 1, sizeof(*a->v)))) {
                free(a);
                json_decref(list);
                return; /* keep the old snapshot */
        }
        a->refs = 1;
        size_t i;
        json_t *obj;
        json_array_foreach(list, i, obj)
        {
                if (app_from(obj, &a->v[a->n]))
                        a->n++;
                else
                        app_release(&a->v[a->n]);
        }
        json_decref(list);
        pthread_mutex_lock(&c->lock);
        struct ap_dash_apps *old = c->apps;
        c->apps = a;
        pthread_mutex_unlock(&c->lock);
        sync_per_app(c, a);
        ap_dash_apps_unref(old);
}

struct ap_dash_apps *ap_dash_cache_apps(struct ap_dash_cache *c)
{
        pthread_mutex_lock(&c->lock);
        struct ap_dash_apps *a = c->apps;
        __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->lock);
        return a;
}

const struct ap_dash_app *ap_dash_apps_find(const struct ap_dash_apps *a, const char *name)
{
        for (size_t i = 0; name && i < a->n; i++)
                if (strcmp(a->v[i].name, name) == 0)
                        return &a->v[i];
        return NULL;
}

bool ap_dash_app_has_namespace(const struct ap_dash_app *app, const char *ns)
{
        if (!ns)
                return false;
        if (strcmp(app->platform_ns, ns) == 0)
                return true;
        for (size_t i = 0; i < app->n_ns; i++)
                if (strcmp(app->namespaces[i], ns) == 0)
                        return true;
        return false;
}

const struct ap_dash_app *ap_dash_apps_by_namespace(const struct ap_dash_apps *a, const char *ns)
{
        for (size_t i = 0; i < a->n; i++)
                if (ap_dash_app_has_namespace(&a->v[i], ns))
                        return &a->v[i];
        return NULL;
}

/* ---- views ---- */

static json_t *platform_kusts(struct ap_dash_cache *c, const struct ap_dash_app *app)
{
        json_t *out = json_array();
        json_t *all = ap_kube_informer_by_index(c->inf[AP_DASH_KUSTS], "namespace", app->platform_ns);
        size_t i;
        json_t *k;
        json_array_foreach(all, i, k)
        {
                if (ap_dash_is_managed(k))
                        json_array_append(out, k);
        }
        json_decref(all);
        return out;
}

static json_t *render_one(struct ap_dash_cache *c, enum ap_dash_kind k, const struct ap_dash_app *app,
                          const json_t *obj, const json_t *kusts)
{
        switch (k) {
        case AP_DASH_REGISTRATIONS:
                return ap_dash_view_registration(obj);
        case AP_DASH_SECRETS:
                return ap_dash_view_secret(obj, kusts);
        case AP_DASH_OIDC:
                return ap_dash_view_oidc_client(obj, c->issuer);
        case AP_DASH_GITREPOS:
                return ap_dash_view_gitrepository(obj);
        case AP_DASH_KUSTS:
                return ap_dash_view_kustomization(obj);
        case AP_DASH_NAMESPACES: {
                const char *name =
                    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
                bool plat = app && name && strcmp(name, app->platform_ns) == 0;
                return ap_dash_view_namespace(name ? name : "", plat ? "platform" : "app", obj);
        }
        default:
                return NULL;
        }
}

static void append_ns_items(struct ap_dash_cache *c, enum ap_dash_kind k, const char *ns, json_t *items,
                            const json_t *kusts, const struct ap_dash_app *app)
{
        json_t *objs = inf_by_ns(c, k, ns);
        size_t i;
        json_t *o;
        json_array_foreach(objs, i, o) json_array_append_new(items, render_one(c, k, app, o, kusts));
        json_decref(objs);
}

static json_t *build_items(struct ap_dash_cache *c, enum ap_dash_kind k, const struct ap_dash_app *app)
{
        json_t *items = json_array();
        if (k == AP_DASH_REGISTRATIONS) {
                json_t *objs = ap_kube_informer_list(c->inf[k]);
                size_t i;
                json_t *o;
                json_array_foreach(objs, i, o) json_array_append_new(items, render_one(c, k, NULL, o, NULL));
                json_decref(objs);
                return items;
        }
        if (!app)
                return items;
        if (k == AP_DASH_NAMESPACES) {
                for (size_t i = 0; i <= app->n_ns; i++) {
                        const char *n = i == 0 ? app->platform_ns : app->namespaces[i - 1];
                        json_t *o = ap_kube_informer_get(c->inf[k], n);
                        json_array_append_new(items,
                                              ap_dash_view_namespace(n, i == 0 ? "platform" : "app", o));
                        json_decref(o);
                }
                return items;
        }
        if (k == AP_DASH_SECRETS || k == AP_DASH_OIDC) {
                json_t *kusts = k == AP_DASH_SECRETS ? platform_kusts(c, app) : NULL;
                append_ns_items(c, k, app->platform_ns, items, kusts, app);
                json_decref(kusts);
                return items;
        }
        for (size_t i = 0; i <= app->n_ns; i++)
                append_ns_items(c, k, i == 0 ? app->platform_ns : app->namespaces[i - 1], items, NULL, app);
        return items;
}

static struct ap_dash_blob *gzip_blob(const struct ap_dash_blob *in)
{
        z_stream z = {0};
        if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return NULL;
        uLong cap = deflateBound(&z, in->len);
        unsigned char *out = malloc(cap);
        struct ap_dash_blob *b = NULL;
        if (out) {
                z.next_in = (unsigned char *)in->data;
                z.avail_in = (uInt)in->len;
                z.next_out = out;
                z.avail_out = (uInt)cap;
                if (deflate(&z, Z_FINISH) == Z_STREAM_END)
                        b = ap_dash_blob_new(out, z.total_out);
        }
        deflateEnd(&z);
        free(out);
        return b;
}

static void view_free(void *p)
{
        struct view *v = p;
        if (!v)
                return;
        ap_dash_blob_unref(v->plain);
        ap_dash_blob_unref(v->gz);
        free(v);
}

struct ap_dash_blob *ap_dash_cache_list(struct ap_dash_cache *c, enum ap_dash_kind k, const char *app,
                                        bool gzip)
{
        char key[320];
        snprintf(key, sizeof(key), "%d/%s", (int)k, k == AP_DASH_REGISTRATIONS || !app ? "" : app);
        uint64_t gen = atomic_load(&c->gen[k]);
        pthread_mutex_lock(&c->lock);
        struct view *v = ap_keymap_get(&c->views, key);
        struct ap_dash_blob *b = v && v->gen == gen ? ap_dash_blob_ref(gzip ? v->gz : v->plain) : NULL;
        pthread_mutex_unlock(&c->lock);
        if (b)
                return b;
        struct ap_dash_apps *apps = ap_dash_cache_apps(c);
        json_t *items = build_items(c, k, ap_dash_apps_find(apps, app));
        ap_dash_apps_unref(apps);
        json_t *doc = json_pack("{s:o}", "items", items);
        char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        struct view *nv = calloc(1, sizeof(*nv));
        if (s && nv && (nv->plain = ap_dash_blob_new(s, strlen(s))))
                nv->gz = gzip_blob(nv->plain);
        free(s);
        if (!nv || !nv->plain || !nv->gz) {
                view_free(nv);
                return NULL;
        }
        nv->gen = gen;
        b = ap_dash_blob_ref(gzip ? nv->gz : nv->plain);
        pthread_mutex_lock(&c->lock);
        void *old = NULL;
        if (atomic_load(&c->gen[k]) == gen && ap_keymap_put(&c->views, key, nv, &old) == 0)
                nv = NULL;
        pthread_mutex_unlock(&c->lock);
        view_free(old);
        view_free(nv);
        return b;
}

json_t *ap_dash_cache_get(struct ap_dash_cache *c, enum ap_dash_kind k, const char *ns, const char *name)
{
        char key[512];
        if (ns)
                snprintf(key, sizeof(key), "%s/%s", ns, name);
        else
                snprintf(key, sizeof(key), "%s", name);
        struct ap_kube_informer *inf = inf_for(c, k, ns);
        return inf ? ap_kube_informer_get(inf, key) : NULL;
}

json_t *ap_dash_cache_view(struct ap_dash_cache *c, enum ap_dash_kind k, const char *app_name,
                           const json_t *obj)
{
        struct ap_dash_apps *apps = ap_dash_cache_apps(c);
        const struct ap_dash_app *app = ap_dash_apps_find(apps, app_name);
        json_t *kusts = k == AP_DASH_SECRETS && app ? platform_kusts(c, app) : NULL;
        json_t *v = render_one(c, k, app, obj, kusts);
        json_decref(kusts);
        ap_dash_apps_unref(apps);
        return v;
}

/* ---- change events ---- */

static void publish(struct ap_dash_cache *c, enum ap_dash_kind k, const char *app, const char *action,
                    json_t *view)
{
        json_t *ev = json_pack("{s:s, s:o, s:o}", "action", action, "app",
                               app ? json_string(app) : json_null(), "object", view ? view : json_null());
        char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        if (s)
                ap_dash_hub_publish(c->hub, k == AP_DASH_REGISTRATIONS ? NULL : app, kind_event[k], s);
        free(s);
        json_decref(ev);
}

/* The app an object belongs to (borrowed from apps or obj). */
static const char *app_of(enum ap_dash_kind k, const struct ap_dash_apps *apps, const json_t *obj)
{
        const json_t *md = json_object_get(obj, "metadata");
        if (k == AP_DASH_REGISTRATIONS)
                return json_string_value(json_object_get(md, "name"));
        if (k == AP_DASH_NAMESPACES) {
                const struct ap_dash_app *a =
                    ap_dash_apps_by_namespace(apps, json_string_value(json_object_get(md, "name")));
                return a ? a->name : NULL;
        }
        const struct ap_dash_app *a =
            ap_dash_apps_by_namespace(apps, json_string_value(json_object_get(md, "namespace")));
        if (k == AP_DASH_SECRETS || k == AP_DASH_OIDC) {
                /* only the app's own platform namespace holds its intents */
                const char *l = ap_dash_label(obj, AP_DASH_LABEL_APP);
                return a && l && strcmp(l, a->name) == 0 &&
                               strcmp(a->platform_ns, json_string_value(json_object_get(md, "namespace"))) ==
                                   0
                           ? a->name
                           : NULL;
        }
        return a ? a->name : NULL;
}

static const char *applied_rev(const json_t *o)
{
        return json_string_value(json_object_get(json_object_get(o, "status"), "lastAppliedRevision"));
}

/* A platform Kustomization applied a new revision: the app's secrets may have become Applied. */
static void republish_secrets(struct ap_dash_cache *c, const char *app)
{
        atomic_fetch_add(&c->gen[AP_DASH_SECRETS], 1);
        struct ap_dash_apps *apps = ap_dash_cache_apps(c);
        const struct ap_dash_app *a = ap_dash_apps_find(apps, app);
        if (a) {
                json_t *kusts = platform_kusts(c, a);
                json_t *objs = inf_by_ns(c, AP_DASH_SECRETS, a->platform_ns);
                size_t i;
                json_t *o;
                json_array_foreach(objs, i, o)
                    publish(c, AP_DASH_SECRETS, app, "upsert", ap_dash_view_secret(o, kusts));
                json_decref(objs);
                json_decref(kusts);
        }
        ap_dash_apps_unref(apps);
}

static void changed(struct handler_ctx *h, json_t *old_obj, json_t *obj, const char *action)
{
        struct ap_dash_cache *c = h->c;
        if (h->kind == AP_DASH_REGISTRATIONS) {
                rebuild_apps(c);
                for (int k = 0; k < AP_DASH_N_KINDS; k++)
                        atomic_fetch_add(&c->gen[k], 1); /* namespaces and access may have moved */
        } else
                atomic_fetch_add(&c->gen[h->kind], 1);
        struct ap_dash_apps *apps = ap_dash_cache_apps(c);
        const char *app = app_of(h->kind, apps, obj);
        if (app || h->kind == AP_DASH_REGISTRATIONS) {
                json_t *v =
                    strcmp(action, "delete") == 0 && h->kind != AP_DASH_REGISTRATIONS
                        ? json_pack(
                              "{s:o, s:o}", "name",
                              json_deep_copy(json_object_get(json_object_get(obj, "metadata"), "name")),
                              "namespace",
                              json_deep_copy(json_object_get(json_object_get(obj, "metadata"), "namespace")))
                        : ap_dash_cache_view(c, h->kind, app, obj);
                publish(c, h->kind, app, action, v);
                const char *ar = applied_rev(obj), * or = old_obj ? applied_rev(old_obj) : NULL;
                if (h->kind == AP_DASH_KUSTS && app && ap_dash_is_managed(obj) && ar &&
                    (! or || strcmp(ar, or) != 0))
                        republish_secrets(c, app);
        }
        ap_dash_apps_unref(apps);
}

static void on_add(void *ud, json_t *obj)
{
        changed(ud, NULL, obj, "upsert");
}
static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
        changed(ud, old_obj, new_obj, "upsert");
}
static void on_delete(void *ud, json_t *obj)
{
        changed(ud, NULL, obj, "delete");
}

/* ---- lifecycle ---- */

static int add_informer_to(struct ap_dash_cache *c, enum ap_dash_kind k, const struct ap_kube_resource *res,
                           const char *ns, const char *selector, void (*transform)(void *, json_t *),
                           struct ap_kube_informer **ret, struct ap_error *err)
{
        struct ap_kube_informer_options o = {.resource = res,
                                             .namespace = ns,
                                             .label_selector = selector,
                                             .transform = transform,
                                             .backoff_max_ms = 10000};
        int r = ap_kube_informer_new(c->kc, &o, ret, err);
        if (r < 0)
                return r;
        if (res->namespaced &&
            (r = ap_kube_informer_add_index(*ret, "namespace", ap_kube_index_namespace, NULL)) < 0)
                return ap_error_set(err, r, "cannot add an index");
        c->hctx[k] = (struct handler_ctx){c, k};
        struct ap_kube_informer_handlers h = {on_add, on_update, on_delete, &c->hctx[k]};
        return ap_kube_informer_add_handlers(*ret, &h);
}

static int add_informer(struct ap_dash_cache *c, enum ap_dash_kind k, const struct ap_kube_resource *res,
                        const char *selector, struct ap_error *err)
{
        return add_informer_to(c, k, res, NULL, selector, NULL, &c->inf[k], err);
}

int ap_dash_cache_new(struct ap_kube_client *kc, struct ap_dash_hub *hub, const char *issuer,
                      struct ap_dash_cache **ret, struct ap_error *err)
{
        struct ap_dash_cache *c = calloc(1, sizeof(*c));
        if (!c)
                return ap_error_set(err, -ENOMEM, "out of memory");
        c->kc = kc;
        c->hub = hub;
        c->issuer = issuer ? strdup(issuer) : NULL;
        pthread_mutex_init(&c->lock, NULL);
        ap_keymap_init(&c->views);
        c->apps = calloc(1, sizeof(*c->apps));
        int r = c->apps ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
        if (c->apps)
                c->apps->refs = 1;
        ap_keymap_init(&c->per_app);
        c->hctx[AP_DASH_SECRETS] = (struct handler_ctx){c, AP_DASH_SECRETS};
        c->hctx[AP_DASH_OIDC] = (struct handler_ctx){c, AP_DASH_OIDC};
        if (r == 0)
                r = add_informer(c, AP_DASH_REGISTRATIONS, &ap_dash_res_registrations, NULL, err);
        if (r == 0)
                r = add_informer(c, AP_DASH_NAMESPACES, &ap_kube_res_namespaces, AP_DASH_LABEL_APP, err);
        if (r == 0)
                r = add_informer(c, AP_DASH_GITREPOS, &ap_dash_res_gitrepositories, NULL, err);
        if (r == 0)
                r = add_informer(c, AP_DASH_KUSTS, &ap_dash_res_kustomizations, NULL, err);
        if (r < 0) {
                ap_dash_cache_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int ap_dash_cache_start(struct ap_dash_cache *c, long timeout_ms, struct ap_error *err)
{
        /* registrations first, so the app snapshot exists before the other kinds' first events */
        int r = ap_kube_informer_start(c->inf[AP_DASH_REGISTRATIONS], err);
        if (r == 0 && ap_kube_informer_wait_synced(c->inf[AP_DASH_REGISTRATIONS], timeout_ms) < 0)
                r = ap_error_set(err, AP_E_UNAVAILABLE,
                                 "the AppPlatformRegistration cache did not sync (is the CRD installed?)");
        if (r == 0)
                rebuild_apps(c);
        for (int k = 1; r == 0 && k < AP_DASH_N_KINDS; k++)
                if (c->inf[k])
                        r = ap_kube_informer_start(c->inf[k], err);
        if (r == 0 && ap_kube_informer_wait_synced(c->inf[AP_DASH_NAMESPACES], timeout_ms) < 0)
                r = ap_error_set(err, AP_E_UNAVAILABLE, "the namespace cache did not sync");
        /* the apps' secret caches: a moment each (the operator may not have granted access yet) */
        pthread_mutex_lock(&c->lock);
        size_t it = 0;
        const char *ns;
        void *v;
        struct ap_kube_informer *wait[64];
        size_t n = 0;
        while (ap_keymap_next(&c->per_app, &it, &ns, &v) && n + 2 <= AP_ARRAY_SIZE(wait)) {
                wait[n++] = ((struct app_informers *)v)->inf[0];
                wait[n++] = ((struct app_informers *)v)->inf[1];
        }
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; r == 0 && i < n; i++)
                if (ap_kube_informer_wait_synced(wait[i], 5000) < 0)
                        ap_log(AP_LOG_DEBUG,
                               "an app's informers did not sync within 5 s; serving what they hold");
        return r;
}

bool ap_dash_cache_synced(struct ap_dash_cache *c, enum ap_dash_kind k)
{
        return c->inf[k] && ap_kube_informer_has_synced(c->inf[k]);
}

bool ap_dash_cache_ready(struct ap_dash_cache *c)
{
        return ap_dash_cache_synced(c, AP_DASH_REGISTRATIONS) && ap_dash_cache_synced(c, AP_DASH_NAMESPACES);
}

void ap_dash_cache_stop(struct ap_dash_cache *c)
{
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_mutex_unlock(&c->lock);
        for (int k = 0; k < AP_DASH_N_KINDS; k++)
                if (c->inf[k])
                        ap_kube_informer_stop(c->inf[k]);
        /* no app informer is added once stopping is set, and none is freed before ap_dash_cache_free */
        size_t it = 0;
        const char *ns;
        void *v;
        pthread_mutex_lock(&c->lock);
        struct ap_keymap all = c->per_app;
        pthread_mutex_unlock(&c->lock);
        while (ap_keymap_next(&all, &it, &ns, &v)) {
                struct app_informers *ai = v;
                ap_kube_informer_stop(ai->inf[0]);
                ap_kube_informer_stop(ai->inf[1]);
                ai->running = false;
        }
}

static void app_informers_free(void *p)
{
        struct app_informers *ai = p;
        ap_kube_informer_free(ai->inf[0]);
        ap_kube_informer_free(ai->inf[1]);
        free(ai->ns);
        free(ai);
}

struct ap_dash_cache *ap_dash_cache_free(struct ap_dash_cache *c)
{
        if (!c)
                return NULL;
        ap_dash_cache_stop(c);
        for (int k = 0; k < AP_DASH_N_KINDS; k++)
                ap_kube_informer_free(c->inf[k]);
        ap_keymap_release(&c->views, view_free);
        ap_keymap_release(&c->per_app, app_informers_free);
        ap_dash_apps_unref(c->apps);
        pthread_mutex_destroy(&c->lock);
        free(c->issuer);
        free(c);
        return NULL;
}
