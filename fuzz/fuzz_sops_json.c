/* fuzz_sops_json.c - libFuzzer target: the SOPS JSON store must never crash, what it loads it must write as
 * JSON that loads again to the same output, and converting it to YAML must work. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sops_json.h"
#include "crypto/sops_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > 1 << 16)
                return 0;
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_error err = AP_ERROR_INIT;
        /* the first byte picks the mode: keep repeated keys (files sops wrote) or refuse them (plaintext) */
        unsigned flags = size && (data[0] & 1) ? AP_SOPS_JSON_KEEP_DUPLICATES : 0;
        if (ap_sops_json_load((const char *)data, size, flags, &docs, &err) == 0) {
                struct ap_buf out = AP_BUF_INIT, out2 = AP_BUF_INIT, yaml = AP_BUF_INIT;
                int r = ap_sops_json_emit(docs.docs[0], AP_SOPS_JSON_INDENT_TAB, &out, &err);
                if (r == 0) {
                        struct ap_sops_docs again = AP_SOPS_DOCS_INIT;
                        if (ap_sops_json_load(out.data, out.len, flags, &again, &err) < 0 ||
                            ap_sops_json_emit(again.docs[0], AP_SOPS_JSON_INDENT_TAB, &out2, &err) < 0)
                                abort();
                        /* stable, except that -0.0 is written "-0", which reads back as the integer 0 */
                        if (!ap_buf_equal(&out, out2.data, out2.len) && !strstr(out.data, "-0"))
                                abort();
                        ap_sops_docs_release(&again);
                }
                if (ap_sops_yaml_emit(&docs, 0, &yaml, &err) < 0)
                        abort();
                ap_buf_release(&out);
                ap_buf_release(&out2);
                ap_buf_release(&yaml);
        }
        ap_sops_docs_release(&docs);
        return 0;
}
