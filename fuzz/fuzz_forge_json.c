/* fuzz_forge_json.c - libFuzzer target: what a forge answers (deploy-key lists, repositories, GitHub App
 * tokens, error messages, timestamps) is untrusted input and must never crash the readers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forge/forge_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *j = (const char *)data;
        struct ap_forge_key *keys = NULL;
        size_t n = 0;
        if (ap_forge_json_keys(j, size, &keys, &n, NULL) == 0)
                free(keys);
        struct ap_forge_repo r;
        (void)ap_forge_json_repo(j, size, &r, NULL);
        struct ap_buf tok = AP_BUF_INIT_SECRET;
        time_t when;
        (void)ap_forge_json_app_token(j, size, &tok, &when, NULL);
        ap_buf_release(&tok);
        char msg[300], login[64];
        ap_forge_json_message(j, size, msg, sizeof(msg));
        bool org;
        (void)ap_forge_json_owner(j, size, login, sizeof(login), &org, NULL);
        (void)ap_forge_json_says_exists(j, size);
        char *s = malloc(size + 1);
        if (s) {
                memcpy(s, data, size);
                s[size] = '\0';
                (void)ap_forge_parse_time(s, &when);
                free(s);
        }
        return 0;
}
