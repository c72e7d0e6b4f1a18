/* clock.h - the one copy of clock and deadline arithmetic: monotonic and wall-clock readings, deadlines
 * as absolute monotonic milliseconds, timespecs for pthread_cond_timedwait on a monotonic condition
 * variable, and a sleep that can be cut short. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Monotonic clock (CLOCK_MONOTONIC): for durations and deadlines, never for timestamps. */
int64_t ap_mono_ns(void);
int64_t ap_mono_ms(void);
/* Wall clock (CLOCK_REALTIME) in Unix milliseconds: for timestamps written out. */
int64_t ap_wall_ms(void);

/* A deadline timeout_ms from now (timeout_ms < 0: none, AP_DEADLINE_NONE). */
#define AP_DEADLINE_NONE INT64_MAX
int64_t ap_deadline_after_ms(int64_t timeout_ms);
/* Milliseconds left until deadline (0 once passed; INT64_MAX for AP_DEADLINE_NONE). */
int64_t ap_deadline_left_ms(int64_t deadline);
bool ap_deadline_passed(int64_t deadline);

/* The absolute CLOCK_MONOTONIC timespec delay_ms from now, for pthread_cond_timedwait on a condition
 * variable made by ap_cond_init_monotonic. */
struct timespec ap_mono_timespec_after_ms(int64_t delay_ms);
/* pthread_cond_init with CLOCK_MONOTONIC (so waits are immune to wall-clock jumps). */
int ap_cond_init_monotonic(pthread_cond_t *cond);

/* Sleep delay_ms (restarting after signals). */
void ap_sleep_ms(int64_t delay_ms);
