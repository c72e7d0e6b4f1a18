/* gitops.c - Git-side helpers shared by the reconcilers: throttled fetches, SOPS encryption with the
 * platform's rule, and the content hash that keeps SOPS files the operator cannot decrypt (those for the
 * cluster key) byte-stable (see operator_internal.h). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "crypto/sops.h"
#include "kube/yaml_json.h"
#include "operator/operator_internal.h"

#define PLATFORM_RULE "^(data|stringData)$"

int op_repo_sync(struct ap_git_repo *r, int64_t *synced_ms, int64_t max_age_ms, struct ap_error *err)
{
        int64_t now = ap_mono_ms();
        if (*synced_ms > 0 && now - *synced_ms < max_age_ms)
                return 0;
        int rc = ap_git_repo_sync(r, err);
        if (rc < 0)
                return rc;
        *synced_ms = now;
        return 0;
}

const char *op_push_attempts_note(const struct ap_git_push_result *pr)
{
        static _Thread_local char note[96];
        if (pr->unchanged)
                return "";
        if (pr->attempts == 0)
                return " (already on the remote: an earlier, unconfirmed push had landed)";
        if (pr->attempts == 1)
                return "";
        snprintf(note, sizeof(note), " after %u push attempts (the branch had moved or the remote was down)",
                 pr->attempts);
        return note;
}

int op_content_hash(const struct ap_age_identity *id, const char *plaintext, size_t n, char out[65])
{
        static const char label[] = "app-platform content-hash v1\n";
        struct ap_buf key = AP_BUF_INIT_SECRET;
        unsigned char k[32], mac[32];
        unsigned int mac_len = 0;
        int r = ap_age_identity_format(id, &key);
        if (r == 0) {
                EVP_MD_CTX *md = EVP_MD_CTX_new();
                unsigned int kl = 0;
                if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
                    !EVP_DigestUpdate(md, label, sizeof(label) - 1) ||
                    !EVP_DigestUpdate(md, key.data, key.len) || !EVP_DigestFinal_ex(md, k, &kl))
                        r = -EIO;
                EVP_MD_CTX_free(md);
        }
        ap_buf_release(&key);
        if (r == 0 && !HMAC(EVP_sha256(), k, sizeof(k), (const unsigned char *)plaintext, n, mac, &mac_len))
                r = -EIO;
        OPENSSL_cleanse(k, sizeof(k));
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", mac[i]);
        return 0;
}

int op_sops_file_info(const char *file, size_t n, char ret_hash[65], json_t **ret_recipients,
                      struct ap_error *err)
{
        json_t *doc = NULL;
        int r = ap_yaml_to_json(file, n, &doc, err);
        if (r < 0)
                return r;
        const char *h = json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "metadata"), "annotations"), AP_ANN_CONTENT_HASH));
        snprintf(ret_hash, 65, "%s", h && strlen(h) == 64 ? h : "");
        json_t *rcp = json_array();
        const json_t *age = json_object_get(json_object_get(doc, "sops"), "age");
        for (size_t i = 0; rcp && i < json_array_size(age); i++) {
                const char *s = json_string_value(json_object_get(json_array_get(age, i), "recipient"));
                if (s && json_array_append_new(rcp, json_string(s)) < 0) {
                        json_decref(rcp);
                        rcp = NULL;
                }
        }
        json_decref(doc);
        if (!rcp)
                return ap_error_set(err, -ENOMEM, "out of memory");
        *ret_recipients = rcp;
        return 0;
}

int op_sops_encrypt(struct ap_operator *op, const char *plain, size_t n, struct ap_age_recipient *const *rcp,
                    size_t n_rcp, const char *previous, size_t previous_len,
                    struct ap_age_identity *const *ids, size_t n_ids, struct ap_buf *out,
                    struct ap_error *err)
{
        struct ap_sops_encrypt_opts o = AP_SOPS_ENCRYPT_OPTS_INIT;
        o.recipients = rcp;
        o.n_recipients = n_rcp;
        o.rule = AP_SOPS_ENCRYPTED_REGEX;
        o.rule_value = PLATFORM_RULE;
        o.input = o.output = AP_SOPS_FORMAT_YAML;
        o.previous = previous;
        o.previous_len = previous_len;
        o.identities = ids;
        o.n_identities = n_ids;
        int64_t start = ap_mono_ns();
        int r = ap_sops_encrypt(plain, n, &o, out, err);
        ap_kube_metric_observe(op->m_encrypt, (double)(ap_mono_ns() - start) / 1e9);
        return r;
}
