/* fuzz_sops_yaml.c - libFuzzer target: the SOPS YAML store must never crash on any input, what it loads it
 * must write as YAML that loads again, the 'sops' metadata reader must cope with anything, and a full
 * decryption attempt (with a fixed age identity) must fail cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sops.h"
#include "crypto/sops_meta.h"
#include "crypto/sops_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct ap_age_identity *id;
        if (!id && ap_age_identity_parse(
                       "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", 74, &id,
                       NULL) < 0)
                abort();
        if (size > 1 << 18) /* room for the 256-key-group seed (key_groups_256.yaml, ~160 KB) */
                return 0;
        const char *s = (const char *)data;
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_sops_yaml_load(s, size, &docs, &err) == 0) {
                struct ap_buf out = AP_BUF_INIT;
                if (ap_sops_yaml_emit(&docs, 0, &out, &err) < 0)
                        abort();
                struct ap_sops_docs again = AP_SOPS_DOCS_INIT;
                if (ap_sops_yaml_load(out.data, out.len, &again, &err) < 0 || again.n != docs.n)
                        abort(); /* we wrote YAML we cannot read */
                ap_sops_docs_release(&again);
                ap_buf_release(&out);
                struct ap_sops_meta m;
                if (ap_sops_meta_extract(&docs, &m, &err) == 0)
                        ap_sops_meta_release(&m);
        }
        ap_sops_docs_release(&docs);
        struct ap_sops_decrypt_opts o = AP_SOPS_DECRYPT_OPTS_INIT;
        o.identities = &id;
        o.n_identities = 1;
        struct ap_buf plain = AP_BUF_INIT_SECRET;
        (void)ap_sops_decrypt(s, size, &o, &plain, &err);
        ap_buf_release(&plain);
        return 0;
}
