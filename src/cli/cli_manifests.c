/* cli_manifests.c - the 'manifests' subcommand: print the deploy/ kustomize base (CRD first, then the
 * operator namespace, RBAC and Deployments) as one multi-document YAML stream, from the copy embedded
 * at build time (manifests_data.h), optionally only one part of it. With --image-digest the image
 * references (ghcr.io/labrats-work/app-platform:<version>) are pinned by digest too, as in the release
 * bundle build/install.yaml (tools/image/release). The digest is passed, not compiled in: the image holds
 * this binary, so the binary cannot know the digest of the image it is in. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "cli/manifests_data.h"

/* The image the Deployments of deploy/ run, as they name it (before the ':<version>' tag). */
#define IMAGE_REPOSITORY "ghcr.io/labrats-work/app-platform"

enum {
        PART_CRD = 1 << 0,
        PART_RBAC = 1 << 1,
        PART_DEPLOY = 1 << 2,
};

/* Which parts each file belongs to; the namespace goes with both, since the ServiceAccounts and
 * Deployments live in it. Files not listed count as 'deploy'. */
static const struct {
        const char *name;
        unsigned parts;
} file_parts[] = {
    {"crd.yaml", PART_CRD},
    {"namespace.yaml", PART_RBAC | PART_DEPLOY},
    {"clusterroles.yaml", PART_RBAC},
    {"operator-rbac.yaml", PART_RBAC},
    {"dashboard-rbac.yaml", PART_RBAC},
};

static unsigned parts_of(const char *name)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(file_parts); i++)
                if (strcmp(file_parts[i].name, name) == 0)
                        return file_parts[i].parts;
        return PART_DEPLOY;
}

static void usage(FILE *f)
{
        fprintf(
            f,
            "usage: app-platform manifests [--only crd|rbac|deploy]... [--image-digest sha256:HEX]\n"
            "                              [-o FILE]\n\n"
            "Print the Kubernetes manifests of App Platform (the deploy/ kustomize base) as one\n"
            "multi-document YAML stream, the CRD first, ready for 'kubectl apply --server-side -f -'.\n\n"
            "options:\n"
            "  --only PART    print only PART (repeatable):\n"
            "                   crd     the AppPlatformRegistration CRD\n"
            "                   rbac    the operator namespace, ClusterRoles, ServiceAccounts and bindings\n"
            "                   deploy  the operator namespace and the operator and dashboard Deployments\n"
            "  --image-digest sha256:HEX\n"
            "                 pin the image by digest as well as by tag: every\n"
            "                 " IMAGE_REPOSITORY ":TAG becomes\n"
            "                 " IMAGE_REPOSITORY ":TAG@sha256:HEX (the release\n"
            "                 bundle build/install.yaml is this output with the digest of the image\n"
            "                 'make image' built, in build/app-platform-VERSION.oci.tar.digest)\n"
            "  -o, --output FILE  write to FILE (atomically) instead of stdout\n"
            "  -h, --help     show this help\n");
}

/* A digest as OCI writes it: "sha256:" and 64 lowercase hex digits. */
static bool digest_valid(const char *d)
{
        if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
                return false;
        for (const char *p = d + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* Append one file, each "IMAGE_REPOSITORY:TAG" followed by "@DIGEST" when digest is set. */
static int add_file(struct ap_buf *out, const struct ap_embedded_file *f, const char *digest,
                    struct ap_error *err)
{
        static const char needle[] = IMAGE_REPOSITORY ":";
        const char *p = (const char *)f->data, *end = p + f->size;
        int r = 0;
        while (digest && r == 0) {
                const char *hit = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1);
                if (!hit)
                        break;
                const char *tag_end = hit + sizeof(needle) - 1;
                while (tag_end < end && *tag_end != '\n' && *tag_end != ' ' && *tag_end != '"' &&
                       *tag_end != '@')
                        tag_end++;
                if (tag_end < end && *tag_end == '@')
                        return ap_error_set(err, AP_E_INVALID, "'%s' already names an image digest", f->name);
                if ((r = ap_buf_add(out, p, (size_t)(tag_end - p))) == 0 && (r = ap_buf_addch(out, '@')) == 0)
                        r = ap_buf_addstr(out, digest);
                p = tag_end;
        }
        if (r == 0)
                r = ap_buf_add(out, p, (size_t)(end - p));
        if (r == 0 && f->size > 0 && f->data[f->size - 1] != '\n')
                r = ap_buf_addch(out, '\n');
        return r < 0 ? ap_error_set(err, r, "cannot render '%s'", f->name) : 0;
}

/* Append the selected files to out, separated by '---' lines. */
static int render(unsigned parts, const char *digest, struct ap_buf *out, struct ap_error *err)
{
        int r;
        bool first = true;
        for (size_t i = 0; i < ap_manifest_files_count; i++) {
                const struct ap_embedded_file *f = &ap_manifest_files[i];
                if (!(parts_of(f->name) & parts))
                        continue;
                if (!first && (r = ap_buf_addstr(out, "---\n")) < 0)
                        return ap_error_set(err, r, "cannot render the manifests");
                first = false;
                if ((r = add_file(out, f, digest, err)) < 0)
                        return r;
        }
        return 0;
}

int cli_manifests_main(int argc, char **argv)
{
        static const struct option options[] = {
            {"only", required_argument, NULL, 'O'},
            {"output", required_argument, NULL, 'o'},
            {"image-digest", required_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        unsigned parts = 0;
        const char *output = "-";
        const char *digest = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
                switch (c) {
                case 'O':
                        if (strcmp(optarg, "crd") == 0)
                                parts |= PART_CRD;
                        else if (strcmp(optarg, "rbac") == 0)
                                parts |= PART_RBAC;
                        else if (strcmp(optarg, "deploy") == 0)
                                parts |= PART_DEPLOY;
                        else {
                                fprintf(
                                    stderr,
                                    "app-platform manifests: unknown part '%s'; use crd, rbac or deploy\n",
                                    optarg);
                                return AP_EXIT_USAGE;
                        }
                        break;
                case 'o':
                        output = optarg;
                        break;
                case 'D':
                        if (!digest_valid(optarg)) {
                                fprintf(stderr,
                                        "app-platform manifests: '%s' is not an image digest "
                                        "(sha256: and 64 lowercase hex digits)\n",
                                        optarg);
                                return AP_EXIT_USAGE;
                        }
                        digest = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return AP_EXIT_OK;
                default:
                        usage(stderr);
                        return AP_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "app-platform manifests: unexpected argument '%s'; see --help\n",
                        argv[optind]);
                return AP_EXIT_USAGE;
        }
        if (parts == 0)
                parts = PART_CRD | PART_RBAC | PART_DEPLOY;

        _cleanup_buf_ struct ap_buf out = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (render(parts, digest, &out, &err) < 0 ||
            ap_write_file_atomic(output, out.data, out.len, 0644, &err) < 0) {
                fprintf(stderr, "app-platform manifests: %s\n", ap_error_message(&err));
                return AP_EXIT_FAILURE;
        }
        return AP_EXIT_OK;
}
