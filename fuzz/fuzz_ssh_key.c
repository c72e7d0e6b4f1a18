/* fuzz_ssh_key.c - libFuzzer target: OpenSSH private-key files and public-key lines from untrusted
 * secrets must never crash; a private key that parses must write back to a file that parses to the same
 * key, and a public line that parses must re-parse from its written form to an equal key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ssh_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ap_ssh_key *k = NULL;
        if (ap_ssh_key_parse_private((const char *)data, size, &k, NULL) == 0) {
                struct ap_buf out = AP_BUF_INIT_SECRET;
                struct ap_ssh_key *back = NULL;
                if (ap_ssh_key_write_private(k, &out, NULL) != 0 ||
                    ap_ssh_key_parse_private(out.data, out.len, &back, NULL) != 0 ||
                    memcmp(back->seed, k->seed, sizeof(k->seed)) != 0 ||
                    strcmp(back->comment, k->comment) != 0)
                        abort();
                ap_ssh_key_free(back);
                ap_buf_release(&out);
                ap_ssh_key_free(k);
        }
        struct ap_ssh_pubkey p, q;
        ap_ssh_pubkey_init(&p);
        ap_ssh_pubkey_init(&q);
        if (ap_ssh_pubkey_parse((const char *)data, size, &p, NULL) == 0) {
                struct ap_buf line = AP_BUF_INIT;
                if (ap_ssh_pubkey_write(&p, &line) != 0 ||
                    ap_ssh_pubkey_parse(line.data, line.len, &q, NULL) != 0 || !ap_ssh_pubkey_equal(&p, &q))
                        abort();
                struct ap_buf kh = AP_BUF_INIT;
                if (ap_ssh_known_hosts_line("127.0.0.1", 2222, &p, &kh, NULL) != 0)
                        abort(); /* a key that parsed always makes a line */
                ap_buf_release(&kh);
                ap_buf_release(&line);
        }
        ap_ssh_pubkey_release(&p);
        ap_ssh_pubkey_release(&q);
        return 0;
}
