/* manifests_data.h - the deploy/ files embedded into the binary at build time (deploy/meson.build runs
 * tools/embed over them), in kustomization.yaml order with the CRD first. Read by cli_manifests.c. */
#pragma once

#include <stddef.h>

struct ap_embedded_file {
        const char *name;          /* base name, e.g. "crd.yaml" */
        const unsigned char *data; /* the file's bytes, NUL-terminated */
        size_t size;               /* without the NUL */
};

extern const struct ap_embedded_file ap_manifest_files[];
extern const size_t ap_manifest_files_count;
