/* fuzz_git_known_hosts.c - libFuzzer target: pinned known_hosts text and Git remote URLs (both come from
 * configuration secrets) must never crash; a host key listed for a host must be accepted for it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "git/known_hosts.h"
#include "git/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ap_known_hosts *kh = NULL;
        if (ap_known_hosts_parse((const char *)data, size, &kh, NULL) == 0) {
                static const char *hosts[] = {"127.0.0.1", "github.com", "a.example"};
                static const unsigned ports[] = {22, 2222};
                char types[256];
                for (size_t h = 0; h < 3; h++)
                        for (size_t p = 0; p < 2; p++) {
                                ap_known_hosts_types(kh, hosts[h], ports[p], types, sizeof(types));
                                (void)ap_known_hosts_check(kh, hosts[h], ports[p], "\0\0\0\x0bssh-ed25519",
                                                           15, NULL);
                        }
                ap_known_hosts_free(kh);
        }
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        struct ap_git_url u;
        char shown[256];
        (void)ap_git_url_parse(s, &u, NULL);
        ap_git_url_redact(s, shown, sizeof(shown));
        free(s);
        return 0;
}
