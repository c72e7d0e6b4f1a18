/* backoff.c - retry waits (see backoff.h). */
#include "backoff.h"

#include <openssl/rand.h>

int64_t ap_backoff_ms(unsigned attempt, int64_t initial_ms, int64_t max_ms)
{
        int64_t d = initial_ms > 0 ? initial_ms : 1;
        for (unsigned i = 0; i < attempt && d < max_ms; i++)
                d *= 2;
        if (d > max_ms)
                d = max_ms;
        uint16_t rnd = 0;
        if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) == 1)
                d = d / 2 + (d / 2) * rnd / 65535;
        return d;
}
