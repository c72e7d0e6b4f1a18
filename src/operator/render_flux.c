/* render_flux.c - the per-app folder of the cluster Flux repo (DESIGN 1.3; pure, see render.h). The two
 * SOPS files (age-secret.sops.yaml, git-auth.sops.yaml) are rendered as objects by render_objects.c and
 * encrypted by the caller, which holds the keys. */
#include <stdlib.h>

#include "operator/render.h"
#include "operator/yaml_out.h"

const char *const ap_flux_file_names[6] = {"namespace.yaml",     "rbac.yaml", "age-secret.sops.yaml",
                                           "git-auth.sops.yaml", "sync.yaml", "kustomization.yaml"};

void ap_flux_files_init(struct ap_flux_files *f)
{
        ap_buf_init(&f->kustomization, 1 << 20);
        ap_buf_init(&f->namespace, 1 << 20);
        ap_buf_init(&f->rbac, 1 << 20);
        ap_buf_init(&f->sync, 1 << 20);
}

void ap_flux_files_release(struct ap_flux_files *f)
{
        ap_buf_release(&f->kustomization);
        ap_buf_release(&f->namespace);
        ap_buf_release(&f->rbac);
        ap_buf_release(&f->sync);
}

/* Emit docs[0..n) (taking the references) after the header. */
static int emit_docs(struct ap_buf *out, json_t **docs, size_t n, struct ap_error *err)
{
        int r = 0;
        for (size_t i = 0; i < n; i++)
                if (!docs[i])
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        if (r == 0 && (r = ap_buf_addstr(out, AP_RENDER_HEADER)) < 0)
                ap_error_set(err, r, "out of memory");
        if (r == 0)
                r = ap_yaml_emit(out, (const json_t *const *)docs, n, err);
        for (size_t i = 0; i < n; i++)
                json_decref(docs[i]);
        return r;
}

int ap_render_flux_files(const struct ap_platform *p, const char *const *flux_ns, size_t n_flux_ns,
                         struct ap_flux_files *out, struct ap_error *err)
{
        /* kustomization.yaml lists the other five files */
        json_t *res = json_array();
        for (size_t i = 0; res && i < 5; i++)
                if (json_array_append_new(res, json_string(ap_flux_file_names[i])) < 0) {
                        json_decref(res);
                        res = NULL;
                }
        json_t *k = res ? json_pack("{s:s, s:s, s:o}", "apiVersion", "kustomize.config.k8s.io/v1beta1",
                                    "kind", "Kustomization", "resources", res)
                        : NULL;
        int r = emit_docs(&out->kustomization, &k, 1, err);
        if (r < 0)
                return r;

        /* namespace.yaml: the platform namespace, then every env namespace */
        size_t nn = 1 + p->n_namespaces;
        json_t **docs = calloc(nn + n_flux_ns + 1, sizeof(*docs));
        if (!docs)
                return ap_error_set(err, -ENOMEM, "out of memory");
        docs[0] = ap_render_namespace(p, p->names->platform_ns, true);
        for (size_t i = 0; i < p->n_namespaces; i++)
                docs[1 + i] = ap_render_namespace(p, p->namespaces[i], false);
        r = emit_docs(&out->namespace, docs, nn, err);

        /* rbac.yaml: the ServiceAccount, its binding in the platform namespace, then the others */
        if (r == 0) {
                size_t m = 0;
                docs[m++] = ap_render_flux_sa(p);
                docs[m++] = ap_render_flux_rolebinding(p, p->names->platform_ns);
                for (size_t i = 0; i < n_flux_ns; i++)
                        docs[m++] = ap_render_flux_rolebinding(p, flux_ns[i]);
                r = emit_docs(&out->rbac, docs, m, err);
        }
        if (r == 0) {
                docs[0] = ap_render_gitrepository(p);
                docs[1] = ap_render_kustomization(p);
                r = emit_docs(&out->sync, docs, 2, err);
        }
        free(docs);
        return r;
}

/* A deep copy with every object's keys in sorted order (json_dumps sorts, the load keeps that order). */
static json_t *sorted(const json_t *v)
{
        char *text = json_dumps(v, JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_COMPACT);
        json_t *copy = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        free(text);
        return copy;
}

int ap_render_registration_backup(const struct ap_platform *p, const json_t *labels, const json_t *spec,
                                  struct ap_buf *out, struct ap_error *err)
{
        json_t *l = labels ? sorted(labels) : json_object();
        json_t *sp = spec ? sorted(spec) : json_object();
        json_t *doc = l && sp ? json_pack("{s:s, s:s, s:{s:s, s:O}, s:O}", "apiVersion",
                                          "labrats.work/v1alpha1", "kind", "AppPlatformRegistration",
                                          "metadata", "name", p->names->app, "labels", l, "spec", sp)
                              : NULL;
        json_decref(l);
        json_decref(sp);
        if (!doc)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_buf_addstr(
            out,
            "# A copy of the registration, not applied by Flux. To rebuild the platform on a new cluster:\n"
            "#   kubectl apply -f registration.yaml\n");
        if (r < 0)
                r = ap_error_set(err, r, "out of memory");
        else
                r = ap_yaml_emit1(out, doc, err);
        json_decref(doc);
        return r;
}
