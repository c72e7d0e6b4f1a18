/* fuzz_base64.c - libFuzzer target: strict base64 decoding must never crash, and whatever decodes must
 * re-encode to the identical input (canonical round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const enum ap_b64 variants[] = {AP_B64_STD, AP_B64_STD_RAW, AP_B64_URL_RAW};
        for (size_t i = 0; i < 3; i++) {
                struct ap_buf d = AP_BUF_INIT, e = AP_BUF_INIT;
                if (ap_base64_decode(&d, (const char *)data, size, variants[i]) == 0) {
                        if (ap_base64_encode(&e, d.data, d.len, variants[i]) != 0 || e.len != size ||
                            memcmp(e.data, data, size) != 0)
                                abort();
                }
                ap_buf_release(&d);
                ap_buf_release(&e);
        }
        return 0;
}
