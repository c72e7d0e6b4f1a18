/* backoff.c - retry waits (see backoff.h). */
#include "backoff.h"

#include <openssl/rand.h>

#include "clock.h"
#include "macro.h"

#define CANCEL_POLL_MS 10

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

bool ap_sleep_unless_cancelled(int64_t delay_ms, const atomic_bool *cancel)
{
        if (!cancel) {
                ap_sleep_ms(delay_ms);
                return true;
        }
        int64_t deadline = ap_deadline_after_ms(delay_ms > 0 ? delay_ms : 0);
        while (!ap_cancelled(cancel)) {
                int64_t left = ap_deadline_left_ms(deadline);
                if (left <= 0)
                        return true;
                ap_sleep_ms(AP_MIN(left, CANCEL_POLL_MS));
        }
        return false;
}
