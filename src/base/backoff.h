/* backoff.h - waiting before a retry: exponential backoff with jitter (so clients that failed together do
 * not retry together), and a sleep that a cancel flag cuts short. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The wait before retry number attempt (0 = the first retry): initial_ms * 2^attempt, capped at max_ms,
 * then jittered into [d/2, d]. */
int64_t ap_backoff_ms(unsigned attempt, int64_t initial_ms, int64_t max_ms);

/* Sleep delay_ms, checking *cancel (may be NULL) every few milliseconds; false when cancelled. */
bool ap_sleep_unless_cancelled(int64_t delay_ms, const atomic_bool *cancel);

/* *cancel is set (NULL: never). */
static inline bool ap_cancelled(const atomic_bool *cancel)
{
        return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}
