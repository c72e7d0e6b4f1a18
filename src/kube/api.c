/* api.c - Kubernetes API verbs over ap_kube_client_do. */
#include "api.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list_stream.h"
#include "obj.h"
#include "watch_stream.h"

#define LIST_PAGE_DEFAULT 500

static int decode(const struct ap_buf *b, const char *what, json_t **ret, struct ap_error *err)
{
        if (!ret)
                return 0;
        json_error_t jerr;
        json_t *v = json_loadb(b->data, b->len, 0, &jerr);
        if (!v) {
                char why[128];
                ap_kube_json_error_cause(&jerr, why, sizeof(why));
                return ap_error_set(err, AP_E_CORRUPT,
                                    "%s: the apiserver's answer is not JSON: %s at byte %d", what, why,
                                    jerr.position);
        }
        *ret = v;
        return 0;
}

int ap_kube_request_json(struct ap_kube_client *c, const char *method, const char *url,
                         const char *content_type, const json_t *body, const struct ap_kube_opts *o,
                         json_t **ret, struct ap_kube_status *st, struct ap_error *err)
{
        /* request and response may hold Secret data: both are wiped when released */
        _cleanup_secret_str_ char *text = NULL;
        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text)
                        return ap_error_set(err, -ENOMEM, "cannot serialise the request body");
        }
        _cleanup_buf_ struct ap_buf resp = AP_BUF_INIT_SECRET;
        resp.max = ap_kube_client_max_body(c);
        long code = 0;
        struct ap_kube_http h = {
            .method = method,
            .url = url,
            .content_type = content_type,
            .body = text,
            .body_len = text ? strlen(text) : 0,
            .opts = o,
        };
        int r = ap_kube_client_do(c, &h, &code, &resp, st, err);
        if (r < 0)
                return r;
        return decode(&resp, url, ret, err);
}

static int url_for(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                   const char *name, const struct ap_kube_opts *o, struct ap_buf *url, struct ap_error *err)
{
        if (r->namespaced && !ns && name)
                ns = ap_kube_client_namespace(c);
        return ap_kube_url_build(url, ap_kube_client_server(c), r, r->namespaced ? ns : NULL, name, o, err);
}

int ap_kube_get(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns, const char *name,
                const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = url_for(c, r, ns, name, o, &url, err);
        if (rc < 0)
                return rc;
        return ap_kube_request_json(c, "GET", url.data, NULL, NULL, o, ret, st, err);
}

int ap_kube_list(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                 const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = ap_kube_url_build(&url, ap_kube_client_server(c), r, ns, NULL, o, err);
        if (rc < 0)
                return rc;
        return ap_kube_request_json(c, "GET", url.data, NULL, NULL, o, ret, st, err);
}

struct stream_ctx {
        struct ap_kube_list_stream ls;
        struct ap_error err;
};

static int stream_data(void *userdata, const char *data, size_t n)
{
        struct stream_ctx *ctx = userdata;
        return ap_kube_list_stream_feed(&ctx->ls, data, n, &ctx->err);
}

/* One page, streamed: items go to fn as they arrive. */
static int list_page(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                     const struct ap_kube_opts *o, ap_kube_item_fn fn, void *userdata, char **ret_rv,
                     char **ret_continue, struct ap_kube_status *st, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = ap_kube_url_build(&url, ap_kube_client_server(c), r, ns, NULL, o, err);
        if (rc < 0)
                return rc;
        struct stream_ctx ctx = {.err = AP_ERROR_INIT};
        ap_kube_list_stream_init(&ctx.ls, fn, userdata, 0);
        struct ap_kube_http h = {
            .method = "GET",
            .url = url.data,
            .opts = o,
            .on_data = stream_data,
            .userdata = &ctx,
        };
        long code = 0;
        rc = ap_kube_client_do(c, &h, &code, NULL, st, err);
        if (rc < 0 && ctx.err.code < 0) {
                /* the stream's own complaint is the better message */
                if (err)
                        *err = ctx.err;
                rc = ctx.err.code;
        }
        if (rc >= 0)
                rc = ap_kube_list_stream_finish(&ctx.ls, ret_rv, ret_continue, err);
        ap_kube_list_stream_release(&ctx.ls);
        if (rc < 0 && err && err->code == 0)
                ap_error_set(err, rc, "listing '%s' failed", r->resource);
        return rc;
}

int ap_kube_list_each(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                      const struct ap_kube_opts *o, ap_kube_item_fn fn, void *userdata, char **ret_rv,
                      struct ap_kube_status *st, struct ap_error *err)
{
        struct ap_kube_opts page = o ? *o : (struct ap_kube_opts){0};
        if (page.limit <= 0)
                page.limit = LIST_PAGE_DEFAULT;
        page.continue_token = NULL;
        _cleanup_free_ char *cont = NULL;
        _cleanup_free_ char *rv = NULL;
        for (;;) {
                char *page_rv = NULL, *next = NULL;
                int rc = list_page(c, r, ns, &page, fn, userdata, &page_rv, &next, st, err);
                if (rc < 0)
                        return rc;
                /* the first page's resourceVersion is the snapshot every later page belongs to */
                if (!rv)
                        rv = page_rv;
                else
                        free(page_rv);
                free(cont);
                cont = next;
                if (!cont)
                        break;
                page.continue_token = cont;
                /* a continued page carries the snapshot in its token; resourceVersion must be unset */
                page.resource_version = NULL;
                page.resource_version_match = NULL;
        }
        if (ret_rv) {
                *ret_rv = rv ? TAKE_PTR(rv) : strdup("");
                if (!*ret_rv)
                        return ap_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int collect_item(void *userdata, json_t *item)
{
        return json_array_append(userdata, item) < 0 ? -ENOMEM : 0;
}

int ap_kube_list_all(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                     const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                     struct ap_error *err)
{
        json_t *items = json_array();
        if (!items)
                return ap_error_set(err, -ENOMEM, "out of memory");
        char *rv = NULL;
        int rc = ap_kube_list_each(c, r, ns, o, collect_item, items, &rv, st, err);
        if (rc < 0) {
                json_decref(items);
                if (rc == -ENOMEM && err && !err->code)
                        ap_error_set(err, rc, "out of memory");
                return rc;
        }
        json_t *list =
            json_pack("{s:o, s:{s:s}}", "items", items, "metadata", "resourceVersion", rv ? rv : "");
        free(rv);
        if (!list)
                return ap_error_set(err, -ENOMEM, "out of memory");
        *ret = list;
        return 0;
}

static const char *obj_ns(const struct ap_kube_resource *r, const char *ns, const json_t *obj)
{
        if (!r->namespaced)
                return NULL;
        return ns ? ns : ap_kube_obj_namespace(obj);
}

int ap_kube_create(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                   const json_t *obj, const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err)
{
        ns = obj_ns(r, ns, obj);
        if (r->namespaced && !ns)
                ns = ap_kube_client_namespace(c);
        if (r->namespaced && !ns)
                return ap_error_set(err, -EINVAL, "creating a '%s' needs a namespace", r->kind);
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = ap_kube_url_build(&url, ap_kube_client_server(c), r, ns, NULL, o, err);
        if (rc < 0)
                return rc;
        return ap_kube_request_json(c, "POST", url.data, NULL, obj, o, ret, st, err);
}

int ap_kube_update(struct ap_kube_client *c, const struct ap_kube_resource *r, const json_t *obj,
                   const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err)
{
        const char *name = ap_kube_obj_name(obj);
        if (!name)
                return ap_error_set(err, -EINVAL, "updating a '%s' needs metadata.name", r->kind);
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = url_for(c, r, obj_ns(r, NULL, obj), name, o, &url, err);
        if (rc < 0)
                return rc;
        return ap_kube_request_json(c, "PUT", url.data, NULL, obj, o, ret, st, err);
}

static const char *patch_content_type(enum ap_kube_patch_type t)
{
        switch (t) {
        case AP_KUBE_PATCH_JSON:
                return "application/json-patch+json";
        case AP_KUBE_PATCH_STRATEGIC:
                return "application/strategic-merge-patch+json";
        case AP_KUBE_PATCH_APPLY:
                return "application/apply-patch+yaml";
        case AP_KUBE_PATCH_MERGE:
        default:
                return "application/merge-patch+json";
        }
}

int ap_kube_patch(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                  const char *name, enum ap_kube_patch_type type, const json_t *patch,
                  const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st, struct ap_error *err)
{
        struct ap_kube_opts po = o ? *o : (struct ap_kube_opts){0};
        if (type == AP_KUBE_PATCH_APPLY) {
                if (!po.field_manager || !po.field_manager[0])
                        return ap_error_set(err, -EINVAL, "server-side apply needs a field manager");
        } else {
                po.force = false; /* the apiserver rejects force on anything but apply */
        }
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = url_for(c, r, ns, name, &po, &url, err);
        if (rc < 0)
                return rc;
        return ap_kube_request_json(c, "PATCH", url.data, patch_content_type(type), patch, &po, ret, st, err);
}

int ap_kube_apply(struct ap_kube_client *c, const struct ap_kube_resource *r, const json_t *obj,
                  const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st, struct ap_error *err)
{
        const char *name = ap_kube_obj_name(obj);
        if (!name || !json_string_value(json_object_get(obj, "apiVersion")) ||
            !json_string_value(json_object_get(obj, "kind")))
                return ap_error_set(err, -EINVAL, "an applied '%s' needs apiVersion, kind and metadata.name",
                                    r->kind);
        return ap_kube_patch(c, r, obj_ns(r, NULL, obj), name, AP_KUBE_PATCH_APPLY, obj, o, ret, st, err);
}

int ap_kube_delete(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                   const char *name, const struct ap_kube_opts *o, json_t **ret, struct ap_kube_status *st,
                   struct ap_error *err)
{
        struct ap_kube_opts qo = o ? *o : (struct ap_kube_opts){0};
        json_t *body = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
        if (!body)
                return ap_error_set(err, -ENOMEM, "out of memory");
        if (qo.precondition_uid || qo.precondition_rv) {
                json_t *pre = json_object();
                if (qo.precondition_uid)
                        json_object_set_new(pre, "uid", json_string(qo.precondition_uid));
                if (qo.precondition_rv)
                        json_object_set_new(pre, "resourceVersion", json_string(qo.precondition_rv));
                json_object_set_new(body, "preconditions", pre);
        }
        if (qo.propagation_policy)
                json_object_set_new(body, "propagationPolicy", json_string(qo.propagation_policy));
        if (qo.grace_period_set)
                json_object_set_new(body, "gracePeriodSeconds", json_integer(qo.grace_period_seconds));
        if (qo.dry_run)
                json_object_set_new(body, "dryRun", json_pack("[s]", "All"));
        /* everything travels in the body: keep it out of the query string */
        qo.propagation_policy = NULL;
        qo.grace_period_set = false;
        qo.dry_run = false;
        _cleanup_buf_ struct ap_buf url = AP_BUF_INIT;
        int rc = url_for(c, r, ns, name, &qo, &url, err);
        if (rc >= 0)
                rc = ap_kube_request_json(c, "DELETE", url.data, NULL, body, &qo, ret, st, err);
        json_decref(body);
        return rc;
}

int ap_kube_update_retry(struct ap_kube_client *c, const struct ap_kube_resource *r, const char *ns,
                         const char *name, ap_kube_mutate_fn mutate, void *userdata, int attempts,
                         const struct ap_kube_opts *o, json_t **ret, struct ap_error *err)
{
        if (attempts <= 0)
                attempts = 5;
        struct ap_kube_opts go = o ? *o : (struct ap_kube_opts){0};
        go.subresource = NULL; /* read the whole object even when writing a subresource */
        for (int i = 0;; i++) {
                json_t *obj = NULL;
                int rc = ap_kube_get(c, r, ns, name, &go, &obj, NULL, err);
                if (rc < 0)
                        return rc;
                rc = mutate(userdata, obj);
                if (rc < 0) {
                        json_decref(obj);
                        return rc;
                }
                if (rc == 1) {
                        if (ret)
                                *ret = obj;
                        else
                                json_decref(obj);
                        return 0;
                }
                rc = ap_kube_update(c, r, obj, o, ret, NULL, err);
                json_decref(obj);
                if (rc != AP_KUBE_E_CONFLICT || i + 1 >= attempts)
                        return rc;
                ap_error_clear(err);
                /* 10 ms, 20 ms, 40 ms...: a competing writer usually finishes within a few of these */
                struct timespec ts = {0, (long)(10 << i) * 1000000L};
                nanosleep(&ts, NULL);
        }
}
