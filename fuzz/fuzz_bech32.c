/* fuzz_bech32.c - libFuzzer target: Bech32 decoding must never crash, whatever decodes must re-encode to
 * the identical string, and age key parsing on the same bytes must never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/age.h"
#include "crypto/bech32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        struct ap_buf hrp = AP_BUF_INIT, bytes = AP_BUF_INIT, again = AP_BUF_INIT;
        if (ap_bech32_decode(s, size, &hrp, &bytes, NULL) == 0) {
                bool upper = false;
                for (size_t i = 0; i < size; i++)
                        upper |= s[i] >= 'A' && s[i] <= 'Z';
                if (ap_bech32_encode(&again, hrp.data, bytes.data, bytes.len, upper) != 0 ||
                    again.len != size || memcmp(again.data, s, size) != 0)
                        abort();
        }
        struct ap_age_identity *id = NULL;
        struct ap_age_recipient *r = NULL;
        if (ap_age_identity_parse(s, size, &id, NULL) == 0) {
                struct ap_buf f = AP_BUF_INIT;
                if (ap_age_identity_format(id, &f) != 0 || f.len != size || memcmp(f.data, s, size) != 0)
                        abort();
                ap_buf_release(&f);
        }
        if (ap_age_recipient_parse(s, size, &r, NULL) == 0) {
                struct ap_buf f = AP_BUF_INIT;
                if (ap_age_recipient_format(r, &f) != 0 || f.len != size || memcmp(f.data, s, size) != 0)
                        abort();
                ap_buf_release(&f);
        }
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        int parsed = ap_age_identities_parse(&ids, s, size, "fuzz", NULL);
        (void)parsed; /* either way the list is released below (a refused file may leave earlier keys) */
        ap_age_identities_release(&ids);
        ap_age_identity_free(id);
        ap_age_recipient_free(r);
        ap_buf_release(&hrp);
        ap_buf_release(&bytes);
        ap_buf_release(&again);
        return 0;
}
