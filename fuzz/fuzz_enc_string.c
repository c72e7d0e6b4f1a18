/* fuzz_enc_string.c - libFuzzer target: ENC[...] parsing must never crash, must split a value it accepts
 * into fields that rebuild it exactly, and opening it under a fixed key must fail cleanly; any input sealed
 * as a value must open back to itself; scalar typing of the input must agree with go-yaml's quoting rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sops_enc.h"
#include "crypto/sops_scalar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t key[AP_SOPS_KEY_LEN] = {1, 2, 3};
        static const uint8_t iv[AP_SOPS_IV_LEN] = {9, 8, 7};
        const char *s = (const char *)data;
        struct ap_sops_enc e;
        if (ap_sops_enc_parse(s, size, &e) == 0) {
                struct ap_buf b = AP_BUF_INIT;
                ap_buf_printf(&b, "ENC[AES256_GCM,data:%.*s,iv:%.*s,tag:%.*s,type:%.*s]", (int)e.data_len,
                              e.data, (int)e.iv_len, e.iv, (int)e.tag_len, e.tag, (int)e.type_len, e.type);
                if (!ap_buf_equal(&b, data, size))
                        abort();
                ap_buf_release(&b);
        }
        struct ap_sops_cipher *c;
        if (ap_sops_cipher_new(key, &c) < 0)
                abort();
        struct ap_buf pt = AP_BUF_INIT_SECRET, sealed = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        (void)ap_sops_cipher_open(c, s, size, "a:", 2, &pt, &e, &err);
        ap_buf_reset(&pt);
        /* (sops never encrypts an empty value: ENC[] has no form for it) */
        if (size > 0 && (ap_sops_cipher_seal(c, iv, sizeof(iv), "k:", 2, data, size, "str", &sealed) < 0 ||
                         ap_sops_cipher_open(c, sealed.data, sealed.len, "k:", 2, &pt, &e, &err) < 0 ||
                         !ap_buf_equal(&pt, data, size)))
                abort();
        ap_buf_release(&pt);
        ap_buf_release(&sealed);
        ap_sops_cipher_free(c);

        struct ap_sops_node n = {0};
        if (ap_sops_scalar_resolve(&n, NULL, true, s, size, &err) == 0 && ap_sops_scalar_plain_ok(s, size) &&
            n.type != AP_SOPS_STR)
                abort(); /* written plain, it would read back as another type */
        free(n.str);
        struct ap_sops_node t = {0};
        static const char *const types[] = {"str", "int", "float", "bool", "time", "comment", "bytes"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(types); i++)
                (void)ap_sops_scalar_set_typed(&t, types[i], strlen(types[i]), s, size);
        free(t.str);
        return 0;
}
