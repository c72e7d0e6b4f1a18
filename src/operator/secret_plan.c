/* secret_plan.c - from an app's intents and what its platform repo holds to the change set of one commit
 * (see secret_pass.h). The operator owns secrets/ and nothing else: every file there belongs to exactly
 * one (intent, target namespace); a file whose committed content still decrypts to the intended Secret
 * is kept byte for byte (no new ciphertext), anything else under secrets/ is rewritten or removed. A
 * refused intent keeps its files (in namespaces the app still lists) so a typo never deletes a live
 * secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/sops.h"
#include "operator/operator_internal.h"
#include "operator/secret_pass.h"

static bool secret_name_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > SEC_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
                        return false;
        }
        return true;
}

static const char *annotation(const json_t *obj, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool listed(const char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

size_t sec_next_target(const char **p, const char **ret)
{
        const char *s = *p;
        while (*s == ' ' || *s == ',')
                s++;
        size_t len = strcspn(s, ", ");
        *ret = s;
        *p = s + len;
        return len;
}

int sec_parse_targets(const char *const *spec_ns, size_t n_spec_ns, const char *app, const char *value,
                      char ***ret, size_t *ret_n, char *why, size_t why_size)
{
        if (!value || !*value) {
                snprintf(why, why_size,
                         "annotation %s is missing: name the target namespaces (one "
                         "or more of %s)",
                         AP_ANN_TARGET_NS, n_spec_ns ? "spec.namespaces" : "the app's namespaces");
                return -1;
        }
        char **targets = calloc(SEC_TARGETS_MAX, sizeof(char *));
        size_t n = 0;
        if (!targets)
                return -ENOMEM;
        int r = 0;
        const char *p = value, *tok;
        while (*p && r == 0) {
                size_t len = sec_next_target(&p, &tok);
                if (len == 0)
                        break;
                char ns[AP_NAME_BUF];
                if (len >= sizeof(ns)) {
                        snprintf(why, why_size, "target namespace '%.60s...' is too long", tok);
                        r = -1;
                        break;
                }
                memcpy(ns, tok, len);
                ns[len] = '\0';
                if (!listed(spec_ns, n_spec_ns, ns)) {
                        snprintf(
                            why, why_size,
                            "target namespace '%s' is not one of the namespaces of app '%s' (spec.namespaces "
                            "of its AppPlatformRegistration): nothing was written to Git",
                            ns, app);
                        r = -1;
                } else if (listed((const char *const *)targets, n, ns)) {
                        continue;
                } else if (n == SEC_TARGETS_MAX) {
                        snprintf(why, why_size, "more than %d target namespaces", SEC_TARGETS_MAX);
                        r = -1;
                } else if (!(targets[n] = strdup(ns))) {
                        r = -ENOMEM;
                } else {
                        n++;
                }
        }
        if (r == 0 && n == 0) {
                snprintf(why, why_size, "annotation %s names no namespace", AP_ANN_TARGET_NS);
                r = -1;
        }
        if (r < 0) {
                op_strv_free(targets, n);
                return r;
        }
        qsort(targets, n, sizeof(char *), cmp_str);
        *ret = targets;
        *ret_n = n;
        return 0;
}

static const json_t *intent_data(const struct sec_intent *in)
{
        return in->data ? in->data : json_object_get(in->obj, "data");
}

static int check_data(struct sec_intent *in)
{
        const json_t *data = intent_data(in);
        size_t total = 0;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)data, k, v)
        {
                if (!ap_is_secret_key(k)) {
                        snprintf(in->error, sizeof(in->error),
                                 "key '%.100s' is not a valid Secret key (letters, digits, '-', '_' and '.')",
                                 k);
                        return -1;
                }
                total += strlen(k) + json_string_length(v) / 4 * 3;
        }
        if (total > SEC_MAX_DATA) {
                snprintf(in->error, sizeof(in->error),
                         "the data is about %zu KiB, more than the 1 MiB Kubernetes allows in a Secret",
                         total >> 10);
                return -1;
        }
        return 0;
}

static void sanitise(const char *in, char *out, size_t size)
{
        size_t n = 0;
        for (const char *p = in ? in : ""; *p && n + 1 < size; p++)
                out[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
        out[n] = '\0';
}

static int classify_one(struct sec_pass *s, struct sec_intent *in)
{
        const json_t *md = json_object_get(in->obj, "metadata");
        const char *del = annotation(in->obj, AP_ANN_DELETE);
        in->deleting = (del && strcmp(del, "true") == 0) || json_object_get(md, "deletionTimestamp");
        const json_t *fins = json_object_get(md, "finalizers");
        for (size_t i = 0; i < json_array_size(fins); i++)
                if (json_string_value(json_array_get(fins, i)) &&
                    strcmp(json_string_value(json_array_get(fins, i)), AP_FINALIZER) == 0)
                        in->finalizer = true;
        sanitise(annotation(in->obj, AP_ANN_REQUESTED_BY), in->requested_by, sizeof(in->requested_by));
        const char *managed = ap_kube_obj_label(in->obj, AP_LABEL_MANAGED_SECRET);
        bool oidc =
            ap_kube_obj_label(in->obj, AP_LABEL_OIDC_CLIENT) && !(managed && strcmp(managed, "true") == 0);
        if (oidc && !in->deleting && !annotation(in->obj, AP_ANN_TARGET_NS)) {
                /* no longer delivered: its files and the finalizer go, the OIDC Secret stays */
                in->deleting = in->keep_object = true;
        }
        if (in->deleting)
                return 0;
        if (!oidc && ap_kube_obj_label(in->obj, AP_LABEL_OIDC_CLIENT)) {
                snprintf(
                    in->error, sizeof(in->error),
                    "the Secret carries both %s and %s: an OIDC client's secret is delivered with %s on the "
                    "OIDC Secret itself; remove one of the labels",
                    AP_LABEL_MANAGED_SECRET, AP_LABEL_OIDC_CLIENT, AP_ANN_TARGET_NS);
                return 0;
        }
        if (oidc) {
                int r = op_oidc_delivery_data(s->op, in->obj, &in->data);
                if (r < 0)
                        return r;
                if (!in->data) {
                        in->quiet = true; /* refused or not ready: the OIDC reconciler reports on it */
                        return 0;
                }
        }
        const char *label = ap_kube_obj_label(in->obj, AP_LABEL_APP);
        if (label && strcmp(label, s->n.app) != 0) {
                snprintf(in->error, sizeof(in->error),
                         "label %s is '%s' but the secret lives in '%s': it must name '%s'", AP_LABEL_APP,
                         label, s->n.platform_ns, s->n.app);
                return 0;
        }
        if (!secret_name_ok(in->name)) {
                snprintf(in->error, sizeof(in->error),
                         "name '%s' is not valid: use lowercase letters, digits and '-' (starting and ending "
                         "with a "
                         "letter or digit)",
                         in->name);
                return 0;
        }
        int r = sec_parse_targets(s->spec_ns, s->n_spec_ns, s->n.app, annotation(in->obj, AP_ANN_TARGET_NS),
                                  &in->targets, &in->n_targets, in->error, sizeof(in->error));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        const char *tn = annotation(in->obj, AP_ANN_TARGET_NAME);
        if (tn && *tn && !ap_is_dns1123_subdomain(tn)) {
                snprintf(in->error, sizeof(in->error),
                         "target name '%.253s' is not a valid Secret name (lowercase letters, digits, '-' "
                         "and '.')",
                         tn);
                return 0;
        }
        if (!(in->target_name = strdup(tn && *tn ? tn : in->name)))
                return -ENOMEM;
        if (check_data(in) < 0)
                return 0;
        in->valid = true;
        return 0;
}

int sec_classify(struct sec_pass *s)
{
        for (size_t i = 0; i < s->n_in; i++) {
                int r = classify_one(s, &s->in[i]);
                if (r < 0)
                        return r;
        }
        /* two intents delivering the same Secret name into one namespace: the second one is refused */
        for (size_t i = 0; i < s->n_in; i++) {
                struct sec_intent *a = &s->in[i];
                for (size_t j = 0; a->valid && j < i; j++) {
                        struct sec_intent *b = &s->in[j];
                        if (!b->valid || strcmp(a->target_name, b->target_name) != 0)
                                continue;
                        for (size_t t = 0; t < a->n_targets && a->valid; t++)
                                if (listed((const char *const *)b->targets, b->n_targets, a->targets[t])) {
                                        snprintf(a->error, sizeof(a->error),
                                                 "managed secret '%s' already delivers a Secret named '%s' "
                                                 "to '%s'",
                                                 b->name, a->target_name, a->targets[t]);
                                        a->valid = false;
                                }
                }
        }
        return 0;
}

int sec_add_change(struct sec_pass *s, const char *path, struct ap_buf *data, bool remove, int intent,
                   const char *why)
{
        if (s->n_ch == s->cap_ch) {
                size_t cap = s->cap_ch ? s->cap_ch * 2 : 16;
                struct sec_change *n = realloc(s->ch, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->ch = n;
                s->cap_ch = cap;
        }
        struct sec_change *c = &s->ch[s->n_ch];
        memset(c, 0, sizeof(*c));
        if (!(c->path = strdup(path)))
                return -ENOMEM;
        ap_buf_init(&c->data, AP_GIT_MAX_FILE);
        if (data) {
                c->data = *data; /* take it */
                ap_buf_init(data, AP_GIT_MAX_FILE);
        }
        c->remove = remove;
        c->intent = intent;
        c->why = why;
        s->n_ch++;
        if (intent >= 0)
                s->in[intent].touched = true;
        return 0;
}

/* Keep the committed file when it decrypts to exactly plain for the app's recipient. *ret_readable says
 * whether it decrypts at all (with a valid MAC): only then may it serve as the stash of a re-encryption. */
static int committed_matches(struct sec_pass *s, const struct ap_buf *committed, const struct ap_buf *plain,
                             bool *ret, bool *ret_readable)
{
        const char *rcp[] = {s->enc_recipient};
        struct ap_sops_match_opts mo = {
            .identities = &s->dec_id,
            .n_identities = 1,
            .recipients = rcp,
            .n_recipients = 1,
            .rule = AP_SOPS_ENCRYPTED_REGEX,
            .rule_value = "^(data|stringData)$",
            .format = AP_SOPS_FORMAT_YAML,
        };
        struct ap_error e = AP_ERROR_INIT;
        *ret = false;
        *ret_readable = true;
        if (ap_sops_matches(committed->data, committed->len, plain->data, plain->len, &mo, ret, &e) < 0) {
                *ret = false; /* does not decrypt (edited by hand, or another key): rewrite it */
                *ret_readable = false;
        }
        return 0;
}

static int plan_target(struct sec_pass *s, size_t idx, const char *ns, struct ap_error *err)
{
        struct sec_intent *in = &s->in[idx];
        struct ap_buf path = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET, committed = AP_BUF_INIT,
                      out = AP_BUF_INIT;
        ap_buf_init(&committed, AP_GIT_MAX_FILE);
        ap_buf_init(&out, AP_GIT_MAX_FILE);
        bool found = false, same = false, readable = false;
        struct ap_secret_source src = {
            .name = in->name,
            .type = json_string_value(json_object_get(in->obj, "type")),
            .data = intent_data(in),
            .target_ns = ns,
            .target_name = in->target_name,
        };
        int r = ap_render_secret_path(ns, in->name, &path);
        if (r < 0)
                ap_error_set(err, r, "out of memory");
        if (r == 0)
                r = ap_render_target_secret(&s->plat, &src, &plain, err);
        if (r == 0)
                r = ap_git_repo_read(s->a->repo, path.data, &committed, &found, err);
        if (r == 0 && found) {
                /* decrypt only when this file, rendering or recipient is not the one that matched before */
                unsigned char tag[32];
                bool tagged = op_memo_tag(s->enc_recipient, committed.data, committed.len, plain.data,
                                          plain.len, tag) == 0;
                if (tagged && op_memo_hit(s->a, path.data, tag)) {
                        same = readable = true;
                } else {
                        r = committed_matches(s, &committed, &plain, &same, &readable);
                        if (r == 0 && tagged)
                                op_memo_put(s->a, path.data, same ? tag : NULL);
                }
                OPENSSL_cleanse(tag, sizeof(tag));
        }
        if (r == 0 && !same) {
                /* the committed file as sops's stash: values that did not change keep their ciphertext */
                bool stash = found && readable;
                r = op_sops_encrypt(s->op, plain.data, plain.len, &s->enc_rcp, 1,
                                    stash ? committed.data : NULL, stash ? committed.len : 0, &s->dec_id, 1,
                                    &out, err);
        }
        if (r == 0 && !same)
                r = sec_add_change(s, path.data, &out, false, (int)idx,
                                   !found     ? "create"
                                   : readable ? "update"
                                              : "restore");
        ap_buf_release(&path);
        ap_buf_release(&plain);
        ap_buf_release(&committed);
        ap_buf_release(&out);
        return r;
}

/* Does any intent claim path: a valid one as a target, or a refused one (its files are kept while the
 * namespace is still the app's)? */
static bool claimed(struct sec_pass *s, const char *path)
{
        for (size_t i = 0; i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                if (in->deleting)
                        continue;
                for (size_t t = 0; t < s->n_spec_ns; t++) {
                        char p[600];
                        snprintf(p, sizeof(p), "secrets/%s/%s.sops.yaml", s->spec_ns[t], in->name);
                        if (strcmp(p, path) != 0)
                                continue;
                        if (!in->valid)
                                return true;
                        return listed((const char *const *)in->targets, in->n_targets, s->spec_ns[t]);
                }
        }
        return false;
}

/* Which intent a file belongs to by its path, or -1. */
static int owner_of(struct sec_pass *s, const char *path)
{
        const char *base = strrchr(path, '/');
        if (!base)
                return -1;
        for (size_t i = 0; i < s->n_in; i++) {
                size_t n = strlen(s->in[i].name);
                if (strncmp(base + 1, s->in[i].name, n) == 0 && strcmp(base + 1 + n, ".sops.yaml") == 0)
                        return (int)i;
        }
        return -1;
}

/* Key rotation: a file a refused intent keeps, decrypted with the old key and encrypted to the new one
 * with the same content. */
static int reencrypt_kept(struct sec_pass *s, const char *path, struct ap_error *err)
{
        struct ap_buf file = AP_BUF_INIT, plain = AP_BUF_INIT_SECRET, out = AP_BUF_INIT;
        ap_buf_init(&file, AP_GIT_MAX_FILE);
        ap_buf_init(&out, AP_GIT_MAX_FILE);
        bool found = false;
        struct ap_sops_decrypt_opts o = AP_SOPS_DECRYPT_OPTS_INIT;
        o.identities = &s->dec_id;
        o.n_identities = 1;
        o.input = o.output = AP_SOPS_FORMAT_YAML;
        int r = ap_git_repo_read(s->a->repo, path, &file, &found, err);
        if (r == 0 && found && ap_sops_decrypt(file.data, file.len, &o, &plain, err) == 0 &&
            (r = op_sops_encrypt(s->op, plain.data, plain.len, &s->enc_rcp, 1, NULL, 0, NULL, 0, &out,
                                 err)) == 0)
                r = sec_add_change(s, path, &out, false, -1, "re-encrypt");
        else if (r == 0)
                ap_error_clear(
                    err); /* unreadable: it stays as it is (and fails to decrypt in Flux either way) */
        ap_buf_release(&file);
        ap_buf_release(&plain);
        ap_buf_release(&out);
        return r;
}

int sec_plan(struct sec_pass *s, struct ap_error *err)
{
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                for (size_t t = 0; in->valid && !in->deleting && r == 0 && t < in->n_targets; t++)
                        r = plan_target(s, i, in->targets[t], err);
        }
        for (size_t f = 0; r == 0 && f < s->n_files; f++) {
                if (claimed(s, s->files[f])) {
                        int owner = owner_of(s, s->files[f]);
                        if (s->rotate && owner >= 0 && !s->in[owner].valid)
                                r = reencrypt_kept(s, s->files[f], err);
                        continue;
                }
                int owner = owner_of(s, s->files[f]);
                bool deleted = owner >= 0 && s->in[owner].deleting;
                r = sec_add_change(s, s->files[f], NULL, true, deleted ? owner : -1,
                                   deleted ? "delete" : "remove");
                if (r < 0)
                        ap_error_set(err, r, "out of memory");
        }
        return r;
}
