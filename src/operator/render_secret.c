/* render_secret.c - the plaintext Secret manifest the operator SOPS-encrypts for each target of a managed
 * secret, and its path in the platform repo (pure; see render.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator/render.h"
#include "operator/yaml_out.h"

int ap_render_secret_path(const char *target_ns, const char *name, struct ap_buf *out)
{
        return ap_buf_printf(out, "secrets/%s/%s.sops.yaml", target_ns, name);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of data with its keys in sorted order (values shared). */
static json_t *sorted_copy(const json_t *data)
{
        size_t n = json_object_size(data), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        json_t *out = json_object();
        if (!keys || !out)
                goto fail;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)data, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), cmp_str);
        for (i = 0; i < n; i++)
                if (json_object_set(out, keys[i], json_object_get(data, keys[i])) < 0)
                        goto fail;
        free(keys);
        return out;
fail:
        free(keys);
        json_decref(out);
        return NULL;
}

int ap_render_target_secret(const struct ap_platform *p, const struct ap_secret_source *s, struct ap_buf *out,
                            struct ap_error *err)
{
        json_t *labels = ap_render_labels(p);
        json_t *data = s->data ? sorted_copy(s->data) : json_object();
        json_t *doc = NULL;
        char source[300];
        snprintf(source, sizeof(source), "%s/%s", p->names->platform_ns, s->name);
        if (labels && data)
                doc = json_pack("{s:s, s:s, s:{s:s, s:s, s:O, s:{s:s}}, s:s, s:O}", "apiVersion", "v1",
                                "kind", "Secret", "metadata", "name", s->target_name, "namespace",
                                s->target_ns, "labels", labels, "annotations", AP_ANN_SOURCE, source, "type",
                                s->type && *s->type ? s->type : "Opaque", "data", data);
        json_decref(labels);
        json_decref(data);
        if (!doc)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_yaml_emit1(out, doc, err);
        json_decref(doc);
        return r;
}
