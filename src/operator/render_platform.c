/* render_platform.c - the files the operator commits at the root of an app's platform repo: .sops.yaml
 * and README.md (pure; see render.h). */
#include "operator/render.h"
#include "operator/yaml_out.h"

int ap_render_sops_config(const struct ap_platform *p, struct ap_buf *out, struct ap_error *err)
{
        json_t *doc =
            json_pack("{s:[{s:s, s:s, s:s}]}", "creation_rules", "path_regex", "^secrets/.*\\.sops\\.yaml$",
                      "encrypted_regex", "^(data|stringData)$", "age", p->recipient);
        if (!doc)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t start = out->len;
        int r = ap_buf_addstr(out, AP_RENDER_HEADER);
        if (r == 0)
                r = ap_yaml_emit1(out, doc, err);
        else
                ap_error_set(err, r, "cannot render .sops.yaml: out of memory");
        json_decref(doc);
        if (r < 0)
                ap_buf_truncate(out, start);
        return r;
}

int ap_render_readme(const struct ap_platform *p, struct ap_buf *out, struct ap_error *err)
{
        const struct ap_app_names *n = p->names;
        size_t start = out->len;
        int r = ap_buf_printf(
            out,
            "# %s\n"
            "\n"
            "The platform repository of the app **%s**, managed by app-platform-operator.\n"
            "\n"
            "Flux applies everything in this repository to the cluster: the Kustomization `%s` in the\n"
            "namespace `%s` syncs it with SOPS decryption, as the ServiceAccount `%s`, which may only touch\n"
            "the app's own namespaces.\n"
            "\n"
            "## Who writes what\n"
            "\n"
            "| path | written by |\n"
            "|---|---|\n"
            "| `.sops.yaml` | the operator: SOPS rules, files under `secrets/` are encrypted to this app's "
            "age key |\n"
            "| `README.md` | the operator |\n"
            "| `secrets/<namespace>/<name>.sops.yaml` | the operator, from the managed secrets in `%s`: "
            "never "
            "edit these, changes are reverted |\n"
            "| anything else | the app team: e.g. Flux Kustomizations for your own app repositories |\n"
            "\n"
            "## Secrets\n"
            "\n"
            "Create, update and delete secrets in the dashboard (or as Secrets labelled\n"
            "`labrats.work/managed-secret: \"true\"` in `%s`). The operator encrypts each one with SOPS to "
            "the\n"
            "age recipient below and commits one file per target namespace; Flux decrypts and applies them.\n"
            "\n"
            "- age recipient: `%s`\n"
            "- repository: `%s`, branch `%s`\n",
            n->default_repo, n->app, n->flux_object, n->platform_ns, n->flux_sa, n->platform_ns,
            n->platform_ns, p->recipient, p->repo_display, p->branch);
        if (r < 0) {
                ap_buf_truncate(out, start);
                return ap_error_set(err, r, "cannot render README.md: out of memory");
        }
        return 0;
}
