/* timefmt.h - Kubernetes timestamps: metav1.Time ("2006-01-02T15:04:05Z") and metav1.MicroTime
 * ("2006-01-02T15:04:05.000000Z"), always UTC, formatted and parsed without the non-reentrant libc calls. */
#pragma once

#include "base/macro.h"

#include <stddef.h>
#include <time.h>

#define AP_KUBE_TIME_MAX 40

/* Format ts (CLOCK_REALTIME) into buf (>= AP_KUBE_TIME_MAX bytes). */
void ap_kube_format_time(char *buf, size_t size, const struct timespec *ts);
void ap_kube_format_micro_time(char *buf, size_t size, const struct timespec *ts);
/* Parse RFC 3339 (with or without fractional seconds, 'Z' or a numeric offset); -EINVAL if malformed. */
int ap_kube_parse_time(const char *s, struct timespec *ret) _warn_unused_;
