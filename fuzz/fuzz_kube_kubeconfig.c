/* fuzz_kube_kubeconfig.c - libFuzzer target for kubeconfig parsing: arbitrary YAML through libyaml and
 * our YAML-to-JSON conversion (scalars, anchors, aliases, depth and alias limits) into the kubeconfig
 * reader. No file paths are followed (relative paths resolve under a directory that does not exist). */
#include <stdint.h>
#include <stdlib.h>

#include "kube/config.h"
#include "kube/yaml_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ap_error err = AP_ERROR_INIT;
        json_t *docs = NULL;
        if (ap_yaml_to_json_all((const char *)data, size, &docs, &err) == 0) {
                char *s = json_dumps(docs, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!s)
                        abort(); /* a cycle or an unserialisable value got through */
                free(s);
                json_decref(docs);
        }
        struct ap_kube_config *c = NULL;
        if (ap_kube_config_parse_kubeconfig((const char *)data, size, "/nonexistent-fuzz-dir", NULL, &c,
                                            &err) == 0) {
                if (!c->server)
                        abort();
                ap_kube_config_free(c);
        }
        return 0;
}
