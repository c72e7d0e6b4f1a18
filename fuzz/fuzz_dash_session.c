/* fuzz_dash_session.c - libFuzzer target: a session cookie value from the browser is opened with a fixed
 * key; nothing may crash, and nothing the input makes may open (it cannot hold a valid GCM tag). */
#include <stdint.h>
#include <stdlib.h>

#include "dashboard/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct ap_dash_keyring *k;
        struct ap_error err = AP_ERROR_INIT;
        if (!k && ap_dash_keyring_new(NULL, 3600, &k, &err) < 0)
                abort();
        json_t *p = NULL;
        if (ap_dash_open(k, "ap-session", (const char *)data, size, &p, &err) == 0)
                abort();
        ap_dash_csrf_check(k, "sid", (const char *)data, size);
        return 0;
}
