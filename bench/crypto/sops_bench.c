/* sops_bench.c - our side of bench/crypto/sops: encrypt a plaintext manifest to one age recipient with
 * encrypted_regex ^(data|stringData)$ and decrypt it again (age unwrap, MAC check), in process, for a while;
 * prints the round trips per second. The first round trip is checked against the plaintext.
 * usage: sops_bench PLAIN.yaml KEYFILE SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fileio.h"
#include "crypto/sops.h"

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: sops_bench PLAIN.yaml KEYFILE SECONDS\n");
                return 2;
        }
        struct ap_error err = AP_ERROR_INIT;
        struct ap_buf plain = AP_BUF_INIT, keys = AP_BUF_INIT_SECRET;
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_age_recipient *rcp = NULL;
        if (ap_read_file(argv[1], &plain, &err) < 0 || ap_read_file(argv[2], &keys, &err) < 0 ||
            ap_age_identities_parse(&ids, keys.data, keys.len, argv[2], &err) < 0 || ids.n != 1 ||
            ap_age_identity_to_recipient(ids.items[0], &rcp, &err) < 0) {
                fprintf(stderr, "sops_bench: %s\n", ap_error_message(&err));
                return 1;
        }
        double seconds = strtod(argv[3], NULL);
        struct ap_sops_encrypt_opts eo = AP_SOPS_ENCRYPT_OPTS_INIT;
        eo.recipients = &rcp;
        eo.n_recipients = 1;
        eo.rule = AP_SOPS_ENCRYPTED_REGEX;
        eo.rule_value = "^(data|stringData)$";
        struct ap_sops_decrypt_opts dopt = AP_SOPS_DECRYPT_OPTS_INIT;
        dopt.identities = ids.items;
        dopt.n_identities = ids.n;
        struct ap_buf enc = AP_BUF_INIT, dec = AP_BUF_INIT_SECRET;
        long n = 0;
        double start = now(), t = start;
        do {
                ap_buf_reset(&enc);
                ap_buf_reset(&dec);
                if (ap_sops_encrypt(plain.data, plain.len, &eo, &enc, &err) < 0 ||
                    ap_sops_decrypt(enc.data, enc.len, &dopt, &dec, &err) < 0) {
                        fprintf(stderr, "sops_bench: %s\n", ap_error_message(&err));
                        return 1;
                }
                if (n == 0 && !ap_buf_equal(&dec, plain.data, plain.len)) {
                        fprintf(stderr, "sops_bench: the round trip changed the plaintext\n");
                        return 1;
                }
                n++;
                if ((n & 15) == 0)
                        t = now();
        } while (t - start < seconds || (n & 15) != 0);
        printf("%.1f\n", (double)n / (now() - start));
        ap_buf_release(&enc);
        ap_buf_release(&dec);
        ap_buf_release(&plain);
        ap_buf_release(&keys);
        ap_age_recipient_free(rcp);
        ap_age_identities_release(&ids);
        return 0;
}
