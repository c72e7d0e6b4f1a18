/* clock.c - clock readings, deadlines and monotonic condition variables (see clock.h). */
#include "clock.h"

#include <errno.h>

static int64_t read_ns(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ap_mono_ns(void)
{
        return read_ns(CLOCK_MONOTONIC);
}

int64_t ap_mono_ms(void)
{
        return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t ap_wall_ms(void)
{
        return read_ns(CLOCK_REALTIME) / 1000000;
}

int64_t ap_deadline_after_ms(int64_t timeout_ms)
{
        if (timeout_ms < 0)
                return AP_DEADLINE_NONE;
        int64_t now = ap_mono_ms();
        return timeout_ms > AP_DEADLINE_NONE - now ? AP_DEADLINE_NONE : now + timeout_ms;
}

int64_t ap_deadline_left_ms(int64_t deadline)
{
        if (deadline == AP_DEADLINE_NONE)
                return INT64_MAX;
        int64_t left = deadline - ap_mono_ms();
        return left > 0 ? left : 0;
}

bool ap_deadline_passed(int64_t deadline)
{
        return deadline != AP_DEADLINE_NONE && ap_mono_ms() >= deadline;
}

struct timespec ap_mono_timespec_after_ms(int64_t delay_ms)
{
        if (delay_ms < 0)
                delay_ms = 0;
        int64_t ns = ap_mono_ns() + (delay_ms > INT64_MAX / 2000000 ? INT64_MAX / 2 : delay_ms * 1000000);
        return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

int ap_cond_init_monotonic(pthread_cond_t *cond)
{
        pthread_condattr_t ca;
        int r = pthread_condattr_init(&ca);
        if (r != 0)
                return -r;
        r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (r == 0)
                r = pthread_cond_init(cond, &ca);
        pthread_condattr_destroy(&ca);
        return -r;
}

void ap_sleep_ms(int64_t delay_ms)
{
        if (delay_ms <= 0)
                return;
        struct timespec ts = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
