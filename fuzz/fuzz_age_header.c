/* fuzz_age_header.c - libFuzzer target: the strict age header parser fed in pieces must never crash,
 * and any header it accepts must re-serialise to exactly the bytes it read (canonical parsing); then the
 * whole input goes through the decryptor with a fixed X25519 identity and a passphrase identity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/age.h"
#include "crypto/age_internal.h"

#define CCTV_SECRET "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        size_t step = (size_t)data[0] % 64 + 1;
        data++;
        size--;
        struct ap_age_header_parser p;
        ap_age_header_parser_init(&p);
        int r = 0;
        size_t off = 0;
        while (off < size && r == 0) {
                size_t used = 0;
                r = ap_age_header_parser_feed(&p, data + off, AP_MIN(step, size - off), &used, NULL);
                off += used;
                if (r == 0 && used < AP_MIN(step, size - off + used))
                        abort(); /* an incomplete header consumes everything it is given */
        }
        if (r == 1) {
                struct ap_buf again = AP_BUF_INIT;
                if (ap_age_header_write_without_mac(&p.hdr, &again) != 0 || again.len != p.mac_input_len ||
                    memcmp(again.data, p.raw.data, again.len) != 0)
                        abort();
                ap_buf_release(&again);
        }
        ap_age_header_parser_release(&p);

        static struct ap_age_identity *ids[2];
        if (!ids[0]) {
                if (ap_age_identity_parse(CCTV_SECRET, strlen(CCTV_SECRET), &ids[0], NULL) < 0 ||
                    ap_age_scrypt_identity_new("password", 8, &ids[1], NULL) < 0)
                        abort();
                ids[1]->max_work_factor = 4; /* keep the fuzzer fast */
        }
        struct ap_buf out = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_age_decrypt(ids, 2, data, size, &out, &err) == 0 && out.len > size)
                abort(); /* an age payload is never longer than its file */
        ap_buf_release(&out);
        return 0;
}
