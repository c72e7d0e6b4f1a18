/* backoff.h - waiting before a retry: exponential backoff with jitter (so clients that failed together do
 * not retry together), and reading a cancel flag. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The wait before retry number attempt (0 = the first retry): initial_ms * 2^attempt, capped at max_ms,
 * then jittered into [d/2, d]. */
int64_t ap_backoff_ms(unsigned attempt, int64_t initial_ms, int64_t max_ms);

/* *cancel is set (NULL: never). */
static inline bool ap_cancelled(const atomic_bool *cancel)
{
        return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}
