/* render_objects.c - the Kubernetes objects the operator creates for an app (pure; see render.h). Keys
 * are inserted in a fixed order so that the YAML written to Git is byte-stable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "operator/render.h"

static const char *const role_names[AP_ROLE_COUNT] = {"admin", "developer", "reader"};

const char *ap_role_name(enum ap_role r)
{
        return r >= 0 && r < AP_ROLE_COUNT ? role_names[r] : "unknown";
}

int ap_role_parse(const char *s, enum ap_role *ret)
{
        for (int i = 0; i < AP_ROLE_COUNT; i++)
                if (s && strcmp(s, role_names[i]) == 0) {
                        *ret = (enum ap_role)i;
                        return 0;
                }
        return -EINVAL;
}

json_t *ap_render_labels(const struct ap_platform *p)
{
        return json_pack("{s:s, s:s}", AP_LABEL_MANAGED_BY, AP_MANAGED_BY, AP_LABEL_APP, p->names->app);
}

static json_t *meta(const struct ap_platform *p, const char *name, const char *ns)
{
        json_t *labels = ap_render_labels(p);
        if (!labels)
                return NULL;
        if (ns)
                return json_pack("{s:s, s:s, s:o}", "name", name, "namespace", ns, "labels", labels);
        return json_pack("{s:s, s:o}", "name", name, "labels", labels);
}

static json_t *object(const char *api_version, const char *kind, json_t *metadata)
{
        if (!metadata)
                return NULL;
        return json_pack("{s:s, s:s, s:o}", "apiVersion", api_version, "kind", kind, "metadata", metadata);
}

json_t *ap_render_namespace(const struct ap_platform *p, const char *name, bool platform)
{
        json_t *m = meta(p, name, NULL);
        if (!m)
                return NULL;
        json_t *labels = json_object_get(m, "labels");
        if (json_object_set_new(labels, AP_LABEL_NS_ROLE, json_string(platform ? "platform" : "app")) < 0 ||
            json_object_set_new(m, "annotations", json_pack("{s:s}", AP_FLUX_PRUNE_ANN, "disabled")) < 0) {
                json_decref(m);
                return NULL;
        }
        return object("v1", "Namespace", m);
}

json_t *ap_render_flux_sa(const struct ap_platform *p)
{
        return object("v1", "ServiceAccount", meta(p, p->names->flux_sa, p->names->platform_ns));
}

static json_t *rolebinding(const struct ap_platform *p, const char *name, const char *ns, const char *kind,
                           const char *role, json_t *subjects)
{
        json_t *o = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(p, name, ns));
        if (!o || !subjects) {
                json_decref(o);
                json_decref(subjects);
                return NULL;
        }
        if (json_object_set_new(o, "roleRef",
                                json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io", "kind",
                                          kind, "name", role)) < 0 ||
            json_object_set_new(o, "subjects", subjects) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *ap_render_flux_rolebinding(const struct ap_platform *p, const char *ns)
{
        bool platform = strcmp(ns, p->names->platform_ns) == 0;
        json_t *subjects = json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount", "name", p->names->flux_sa,
                                     "namespace", p->names->platform_ns);
        return rolebinding(p, p->names->flux_sa, ns, "ClusterRole",
                           platform ? "app-platform-flux" : "app-platform-admin", subjects);
}

static json_t *secret(const struct ap_platform *p, const char *name, json_t *data)
{
        json_t *o = object("v1", "Secret", meta(p, name, p->names->platform_ns));
        if (!o || !data || json_object_set_new(o, "type", json_string("Opaque")) < 0 ||
            json_object_set_new(o, "data", data) < 0) {
                json_decref(o);
                if (!o)
                        json_decref(data);
                return NULL;
        }
        return o;
}

/* A base64 JSON string of n bytes (wiped scratch: the values are secrets). */
static json_t *b64(const char *s, size_t n)
{
        struct ap_buf b = AP_BUF_INIT_SECRET;
        json_t *v = ap_base64_encode(&b, s, n, AP_B64_STD) < 0 ? NULL : json_stringn(b.data, b.len);
        ap_buf_release(&b);
        return v;
}

static int set_b64(json_t *data, const char *key, const char *s, size_t n)
{
        json_t *v = b64(s, n);
        return v ? json_object_set_new(data, key, v) : -1;
}

json_t *ap_render_age_secret(const struct ap_platform *p, const char *keyfile, size_t keyfile_len)
{
        json_t *data = json_object();
        if (!data || set_b64(data, AP_AGE_KEY_FILE_KEY, keyfile, keyfile_len) < 0) {
                json_decref(data);
                return NULL;
        }
        return secret(p, p->names->age_secret, data);
}

json_t *ap_render_git_auth_secret(const struct ap_platform *p, const char *identity, const char *identity_pub,
                                  const char *known_hosts)
{
        json_t *data = json_object();
        if (!data || set_b64(data, "identity", identity, strlen(identity)) < 0 ||
            set_b64(data, "identity.pub", identity_pub, strlen(identity_pub)) < 0 ||
            set_b64(data, "known_hosts", known_hosts, strlen(known_hosts)) < 0) {
                json_decref(data);
                return NULL;
        }
        return secret(p, p->names->git_auth_secret, data);
}

json_t *ap_render_gitrepository(const struct ap_platform *p)
{
        json_t *o = object("source.toolkit.fluxcd.io/v1", "GitRepository",
                           meta(p, p->names->flux_object, p->names->platform_ns));
        if (!o)
                return NULL;
        json_t *spec =
            json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "interval", p->git_interval, "url", p->clone_url, "ref",
                      "branch", p->branch, "secretRef", "name", p->names->git_auth_secret);
        if (!spec || json_object_set_new(o, "spec", spec) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *ap_render_kustomization(const struct ap_platform *p)
{
        json_t *o = object("kustomize.toolkit.fluxcd.io/v1", "Kustomization",
                           meta(p, p->names->flux_object, p->names->platform_ns));
        if (!o)
                return NULL;
        /* deletionPolicy Orphan: deleting this object (the registration went away, or its Flux repo
         * folder was removed) never deletes what it delivered; deleting a secret still prunes it. */
        json_t *spec =
            json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:s}, s:s, s:{s:s, s:{s:s}}}", "interval", p->ks_interval,
                      "path", "./", "prune", 1, "deletionPolicy", "Orphan", "sourceRef", "kind",
                      "GitRepository", "name", p->names->flux_object, "serviceAccountName", p->names->flux_sa,
                      "decryption", "provider", "sops", "secretRef", "name", p->names->age_secret);
        if (!spec || json_object_set_new(o, "spec", spec) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *ap_render_access_rolebinding(const struct ap_platform *p, const char *ns, enum ap_role role,
                                     const char *clusterrole, bool *ret_none)
{
        json_t *subjects = json_array();
        if (!subjects)
                return NULL;
        for (size_t i = 0; i < p->n_access; i++) {
                if (p->access[i].role != role)
                        continue;
                size_t n = strlen(p->group_prefix) + strlen(p->access[i].group) + 1;
                char *g = malloc(n);
                if (!g) {
                        json_decref(subjects);
                        return NULL;
                }
                snprintf(g, n, "%s%s", p->group_prefix, p->access[i].group);
                int r = json_array_append_new(subjects, json_pack("{s:s, s:s, s:s}", "apiGroup",
                                                                  "rbac.authorization.k8s.io", "kind",
                                                                  "Group", "name", g));
                free(g);
                if (r < 0) {
                        json_decref(subjects);
                        return NULL;
                }
        }
        *ret_none = json_array_size(subjects) == 0;
        if (*ret_none) {
                json_decref(subjects);
                return NULL;
        }
        char name[AP_NAME_BUF];
        snprintf(name, sizeof(name), "app-platform-%s", ap_role_name(role));
        return rolebinding(p, name, ns, "ClusterRole", clusterrole, subjects);
}

json_t *ap_render_secret_reader_role(const struct ap_platform *p, const char *const *names, size_t n)
{
        json_t *o =
            object("rbac.authorization.k8s.io/v1", "Role", meta(p, "secret-reader", p->names->platform_ns));
        json_t *rules = json_array();
        if (!o || !rules)
                goto fail;
        if (n > 0) {
                json_t *rn = json_array();
                if (!rn)
                        goto fail;
                for (size_t i = 0; i < n; i++)
                        if (json_array_append_new(rn, json_string(names[i])) < 0) {
                                json_decref(rn);
                                goto fail;
                        }
                if (json_array_append_new(rules, json_pack("{s:[s], s:[s], s:o, s:[s]}", "apiGroups", "",
                                                           "resources", "secrets", "resourceNames", rn,
                                                           "verbs", "get")) < 0)
                        goto fail;
        }
        if (json_object_set_new(o, "rules", rules) < 0) {
                rules = NULL;
                goto fail;
        }
        return o;
fail:
        json_decref(rules);
        json_decref(o);
        return NULL;
}

json_t *ap_render_secret_reader_binding(const struct ap_platform *p)
{
        json_t *subjects = json_array();
        for (size_t i = 0; subjects && i < p->n_namespaces; i++)
                if (json_array_append_new(subjects,
                                          json_pack("{s:s, s:s, s:s}", "kind", "ServiceAccount", "name",
                                                    "secret-reader", "namespace", p->namespaces[i])) < 0) {
                        json_decref(subjects);
                        subjects = NULL;
                }
        return rolebinding(p, "secret-reader", p->names->platform_ns, "Role", "secret-reader", subjects);
}

json_t *ap_render_dashboard_rolebinding(const struct ap_platform *p, const char *sa_ns, const char *sa)
{
        json_t *subjects =
            json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount", "name", sa, "namespace", sa_ns);
        return rolebinding(p, "app-platform-dashboard", p->names->platform_ns, "ClusterRole",
                           "app-platform-dashboard-secrets", subjects);
}
