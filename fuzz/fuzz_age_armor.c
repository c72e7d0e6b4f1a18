/* fuzz_age_armor.c - libFuzzer target: the strict streaming armor reader fed in pieces must never crash
 * and must give the same result whatever the split; what it accepts must survive an encode/decode round
 * trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/age_internal.h"

static int to_buf(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return ap_buf_add(ctx, p, n);
}

static int run(bool encode, const uint8_t *data, size_t size, size_t step, struct ap_buf *out)
{
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_armor *a = ap_age_armor_new(encode, &sink);
        if (!a)
                abort();
        int r = 0;
        for (size_t off = 0; r == 0 && off < size; off += step)
                r = ap_age_armor_update(a, data + off, AP_MIN(step, size - off), NULL);
        if (r == 0)
                r = ap_age_armor_final(a, NULL);
        ap_age_armor_free(a);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        size_t step = (size_t)data[0] % 97 + 1;
        data++;
        size--;
        struct ap_buf whole = AP_BUF_INIT, pieces = AP_BUF_INIT, enc = AP_BUF_INIT, back = AP_BUF_INIT;
        int r1 = run(false, data, size, size ? size : 1, &whole);
        int r2 = run(false, data, size, step, &pieces);
        if (r1 != r2 || (r1 == 0 && !ap_buf_equal(&whole, pieces.data, pieces.len)))
                abort();
        if (r1 == 0) {
                if (run(true, (const uint8_t *)whole.data, whole.len, step, &enc) != 0 ||
                    run(false, (const uint8_t *)enc.data, enc.len, enc.len ? enc.len : 1, &back) != 0 ||
                    !ap_buf_equal(&back, whole.data, whole.len))
                        abort();
        }
        ap_buf_release(&whole);
        ap_buf_release(&pieces);
        ap_buf_release(&enc);
        ap_buf_release(&back);
        return 0;
}
