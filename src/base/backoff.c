/* backoff.c - retry waits and the token bucket (see backoff.h). */
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

void ap_token_bucket_init(struct ap_token_bucket *b, double qps, double burst, int64_t now_ns)
{
        b->qps = qps > 0 ? qps : 0;
        b->burst = burst > 0 ? burst : qps > 1 ? qps : 1;
        b->tokens = b->burst;
        b->tokens_at_ns = now_ns;
}

int64_t ap_token_bucket_wait_ms(struct ap_token_bucket *b, int64_t now_ns)
{
        if (b->qps <= 0)
                return 0;
        if (now_ns > b->tokens_at_ns) {
                b->tokens += (double)(now_ns - b->tokens_at_ns) / 1e9 * b->qps;
                if (b->tokens > b->burst)
                        b->tokens = b->burst;
                b->tokens_at_ns = now_ns;
        }
        return b->tokens >= 1 ? 0 : (int64_t)((1 - b->tokens) / b->qps * 1000 + 0.999);
}

void ap_token_bucket_take(struct ap_token_bucket *b)
{
        if (b->qps > 0)
                b->tokens -= 1;
}
