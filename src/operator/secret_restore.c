/* secret_restore.c - disaster recovery for managed secrets: on a new cluster rebuilt from the Flux repo,
 * the managed secrets (intents) of an app are gone while its platform repo still holds their files.
 * When the registration adopted its age key from the copy Flux restored (the key Secret carries
 * labrats.work/restore-secrets: pending), the first secrets pass decrypts every file under secrets/ with
 * the app's key and recreates the intents from them (data, targets, target name), Committed at the tip,
 * before anything is planned, so that no file is rewritten or removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/sops.h"
#include "kube/status.h"
#include "kube/yaml_json.h"
#include "operator/secret_pass.h"

struct restored {
        char *name; /* the intent */
        char *target_name;
        char *type;
        json_t *data; /* owned */
        char targets[2048];
};

static const char *annotation(const json_t *obj, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

/* The intent a delivered Secret came from: its labrats.work/source annotation, else the file name. */
static int intent_name(const struct sec_pass *s, const json_t *doc, const char *path, char *out, size_t size)
{
        const char *src = annotation(doc, AP_ANN_SOURCE);
        size_t pl = strlen(s->n.platform_ns);
        if (src && strncmp(src, s->n.platform_ns, pl) == 0 && src[pl] == '/' && src[pl + 1])
                return snprintf(out, size, "%s", src + pl + 1) < (int)size ? 0 : -1;
        const char *base = strrchr(path, '/');
        const char *ext = base ? strstr(base, ".sops.yaml") : NULL;
        if (!ext || ext[10] != '\0' || (size_t)(ext - base - 1) >= size)
                return -1;
        snprintf(out, size, "%.*s", (int)(ext - base - 1), base + 1);
        return 0;
}

static bool have_intent(const struct sec_pass *s, const char *name)
{
        for (size_t i = 0; i < s->n_in; i++)
                if (strcmp(s->in[i].name, name) == 0)
                        return true;
        return false;
}

/* Decrypt one file into its Secret document (owned); NULL when it does not decrypt. */
static json_t *open_file(struct sec_pass *s, const char *path)
{
        struct ap_buf file = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET;
        struct ap_error err = AP_ERROR_INIT;
        bool found = false;
        json_t *doc = NULL;
        struct ap_sops_decrypt_opts o = AP_SOPS_DECRYPT_OPTS_INIT;
        o.identities = &s->dec_id;
        o.n_identities = 1;
        o.input = o.output = AP_SOPS_FORMAT_YAML;
        if (ap_git_repo_read(s->a->repo, path, &file, &found, &err) == 0 && found &&
            ap_sops_decrypt(file.data, file.len, &o, &plain, &err) == 0 &&
            ap_yaml_to_json(plain.data, plain.len, &doc, &err) < 0)
                doc = NULL;
        if (!doc)
                ap_log(AP_LOG_WARN, "app '%s': cannot restore a managed secret from '%s': %s", s->n.app, path,
                       ap_error_message(&err));
        ap_buf_release(&file);
        ap_buf_release(&plain);
        return doc;
}

static int create_intent(struct sec_pass *s, const struct restored *r, const char *tip, struct ap_error *err)
{
        json_t *obj = json_pack(
            "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}}, s:s, s:O}", "apiVersion",
            "v1", "kind", "Secret", "metadata", "name", r->name, "namespace", s->n.platform_ns, "labels",
            AP_LABEL_MANAGED_SECRET, "true", AP_LABEL_APP, s->n.app, "annotations", AP_ANN_TARGET_NS,
            r->targets, AP_ANN_TARGET_NAME, r->target_name, AP_ANN_REQUESTED_BY, "restored-from-git",
            AP_ANN_COMMITTED, "true", AP_ANN_COMMIT, tip, "type", r->type, "data", r->data);
        if (!obj)
                return ap_error_set(err, -ENOMEM, "out of memory");
        struct ap_kube_opts o = {.timeout_ms = 30000};
        ap_kube_metric_inc(s->op->m_writes);
        int rc =
            ap_kube_create(s->op->kube, &ap_kube_res_secrets, s->n.platform_ns, obj, &o, NULL, NULL, err);
        json_decref(obj);
        if (rc == AP_KUBE_E_ALREADY_EXISTS) {
                ap_error_clear(err);
                return 0;
        }
        return rc;
}

int sec_restore(struct sec_pass *s, const char *tip, size_t *ret_restored, struct ap_error *err)
{
        struct restored *v = calloc(s->n_files + 1, sizeof(*v));
        size_t n = 0;
        int r = v ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
        for (size_t f = 0; r == 0 && f < s->n_files; f++) {
                char name[256];
                json_t *doc = open_file(s, s->files[f]);
                const char *ns = ap_kube_obj_namespace(doc), *tn = ap_kube_obj_name(doc);
                if (!doc || !ns || !tn || intent_name(s, doc, s->files[f], name, sizeof(name)) < 0 ||
                    have_intent(s, name)) {
                        json_decref(doc);
                        continue;
                }
                struct restored *e = NULL;
                for (size_t i = 0; i < n && !e; i++)
                        if (strcmp(v[i].name, name) == 0)
                                e = &v[i];
                if (!e) {
                        e = &v[n++];
                        const char *type = json_string_value(json_object_get(doc, "type"));
                        e->name = strdup(name);
                        e->target_name = strdup(tn);
                        e->type = strdup(type ? type : "Opaque");
                        e->data = json_incref(json_object_get(doc, "data"));
                        if (!e->data)
                                e->data = json_object();
                        if (!e->name || !e->target_name || !e->type || !e->data)
                                r = ap_error_set(err, -ENOMEM, "out of memory");
                }
                size_t l = strlen(e->targets);
                snprintf(e->targets + l, sizeof(e->targets) - l, "%s%s", l ? "," : "", ns);
                json_decref(doc);
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                r = create_intent(s, &v[i], tip, err);
                if (r == 0)
                        ap_log(AP_LOG_INFO,
                               "app '%s': restored the managed secret '%s/%s' (targets %s) from Git",
                               s->n.app, s->n.platform_ns, v[i].name, v[i].targets);
        }
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].name);
                free(v[i].target_name);
                free(v[i].type);
                json_decref(v[i].data);
        }
        free(v);
        if (r == 0)
                *ret_restored = n;
        return r;
}
