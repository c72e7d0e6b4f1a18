/* backoff.h - waiting before a retry: exponential backoff with jitter (so clients that failed together do
 * not retry together), client-go's token bucket (a rate limit with bursts), and reading a cancel flag. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The wait before retry number attempt (0 = the first retry): initial_ms * 2^attempt, capped at max_ms,
 * then jittered into [d/2, d]. */
int64_t ap_backoff_ms(unsigned attempt, int64_t initial_ms, int64_t max_ms);

/* client-go's token bucket (golang.org/x/time/rate as flowcontrol uses it): qps tokens a second on
 * average, at most burst at once. Not locked: the caller guards it. Taking a token that is not there
 * reserves it (tokens go negative), so later callers wait behind earlier ones. */
struct ap_token_bucket {
        double qps; /* <= 0: no limit (every wait is 0) */
        double burst;
        double tokens;        /* may go negative: reserved by waiters */
        int64_t tokens_at_ns; /* monotonic ns when tokens was last brought up to date */
};

/* Full (burst tokens) at now_ns; burst <= 0 means max(1, qps). */
void ap_token_bucket_init(struct ap_token_bucket *b, double qps, double burst, int64_t now_ns);
/* Refill for the time up to now_ns; how many ms until a token is there (0 = one is there now). */
int64_t ap_token_bucket_wait_ms(struct ap_token_bucket *b, int64_t now_ns);
/* Take one token (after ap_token_bucket_wait_ms at the same now): it may be a reservation. */
void ap_token_bucket_take(struct ap_token_bucket *b);

/* *cancel is set (NULL: never). */
static inline bool ap_cancelled(const atomic_bool *cancel)
{
        return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}
