/* url.c - resource paths and query strings for the Kubernetes REST API, with strict escaping. */
#include "url.h"

#include <stdio.h>
#include <string.h>

const struct ap_kube_resource ap_kube_res_namespaces = {"", "v1", "namespaces", "Namespace", false};
const struct ap_kube_resource ap_kube_res_secrets = {"", "v1", "secrets", "Secret", true};
const struct ap_kube_resource ap_kube_res_configmaps = {"", "v1", "configmaps", "ConfigMap", true};
const struct ap_kube_resource ap_kube_res_serviceaccounts = {"", "v1", "serviceaccounts", "ServiceAccount",
                                                             true};
const struct ap_kube_resource ap_kube_res_core_events = {"", "v1", "events", "Event", true};
const struct ap_kube_resource ap_kube_res_events = {"events.k8s.io", "v1", "events", "Event", true};
const struct ap_kube_resource ap_kube_res_leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};
const struct ap_kube_resource ap_kube_res_crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                                  "CustomResourceDefinition", false};

static bool unreserved(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~';
}

int ap_kube_url_escape(struct ap_buf *out, const char *s, size_t n)
{
        static const char hex[] = "0123456789ABCDEF";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                int r;
                if (unreserved(c)) {
                        r = ap_buf_addch(out, (char)c);
                } else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        r = ap_buf_add(out, e, 3);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int ap_kube_resource_api_version(const struct ap_kube_resource *r, struct ap_buf *out)
{
        if (!r->group || !r->group[0])
                return ap_buf_addstr(out, r->version);
        return ap_buf_printf(out, "%s/%s", r->group, r->version);
}

int ap_kube_check_segment(const char *what, const char *s, struct ap_error *err)
{
        if (!s || !s[0])
                return ap_error_set(err, -EINVAL, "%s is empty", what);
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/'))
                return ap_error_set(err, -EINVAL, "%s '%s' is not a valid object name", what, s);
        return 0;
}

static int add_segment(struct ap_buf *out, const char *s)
{
        int r = ap_buf_addch(out, '/');
        if (r < 0)
                return r;
        return ap_kube_url_escape(out, s, strlen(s));
}

struct query {
        struct ap_buf *out;
        bool first;
        int r;
};

static void q_add(struct query *q, const char *key, const char *value)
{
        if (q->r < 0 || !value)
                return;
        q->r = ap_buf_printf(q->out, "%c%s=", q->first ? '?' : '&', key);
        if (q->r >= 0)
                q->r = ap_kube_url_escape(q->out, value, strlen(value));
        q->first = false;
}

static void q_add_long(struct query *q, const char *key, long v)
{
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%ld", v);
        q_add(q, key, tmp);
}

int ap_kube_url_build(struct ap_buf *out, const char *server, const struct ap_kube_resource *r,
                      const char *ns, const char *name, const struct ap_kube_opts *o, struct ap_error *err)
{
        static const struct ap_kube_opts none = {0};
        if (!o)
                o = &none;
        size_t start = out->len;
        int rc;
        if (ns && (rc = ap_kube_check_segment("namespace", ns, err)) < 0)
                return rc;
        if (name && (rc = ap_kube_check_segment("name", name, err)) < 0)
                return rc;
        if (r->namespaced && !ns && name)
                return ap_error_set(err, -EINVAL, "'%s' is namespaced: a namespace is needed to address '%s'",
                                    r->resource, name);
        if (!r->namespaced && ns)
                return ap_error_set(err, -EINVAL, "'%s' is cluster-scoped: it has no namespace", r->resource);
        if (o->subresource && (rc = ap_kube_check_segment("subresource", o->subresource, err)) < 0)
                return rc;
        if (o->subresource && !name)
                return ap_error_set(err, -EINVAL, "subresource '%s' needs an object name", o->subresource);

        size_t slen = strlen(server);
        while (slen > 0 && server[slen - 1] == '/')
                slen--;
        rc = ap_buf_add(out, server, slen);
        if (rc >= 0) {
                if (!r->group || !r->group[0])
                        rc = ap_buf_printf(out, "/api/%s", r->version);
                else
                        rc = ap_buf_printf(out, "/apis/%s/%s", r->group, r->version);
        }
        if (rc >= 0 && ns) {
                rc = ap_buf_addstr(out, "/namespaces");
                if (rc >= 0)
                        rc = add_segment(out, ns);
        }
        if (rc >= 0)
                rc = add_segment(out, r->resource);
        if (rc >= 0 && name)
                rc = add_segment(out, name);
        if (rc >= 0 && o->subresource)
                rc = add_segment(out, o->subresource);

        struct query q = {out, true, rc};
        q_add(&q, "labelSelector", o->label_selector);
        q_add(&q, "fieldSelector", o->field_selector);
        if (o->limit > 0)
                q_add_long(&q, "limit", o->limit);
        q_add(&q, "continue", o->continue_token);
        q_add(&q, "resourceVersion", o->resource_version);
        q_add(&q, "resourceVersionMatch", o->resource_version_match);
        if (o->watch)
                q_add(&q, "watch", "1");
        if (o->allow_watch_bookmarks)
                q_add(&q, "allowWatchBookmarks", "true");
        if (o->timeout_seconds > 0)
                q_add_long(&q, "timeoutSeconds", o->timeout_seconds);
        q_add(&q, "fieldManager", o->field_manager);
        if (o->force)
                q_add(&q, "force", "true");
        if (o->dry_run)
                q_add(&q, "dryRun", "All");
        q_add(&q, "fieldValidation", o->field_validation);
        q_add(&q, "propagationPolicy", o->propagation_policy);
        if (o->grace_period_set)
                q_add_long(&q, "gracePeriodSeconds", o->grace_period_seconds);
        if (q.r < 0) {
                ap_buf_truncate(out, start);
                return ap_error_set(err, q.r, "request URL is longer than %zu bytes", out->max);
        }
        return 0;
}
