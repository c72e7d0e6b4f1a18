/* log.h - process-wide structured logging to stderr as text or JSON lines (--log-format), filtered by
 * level (--log-level). Only the top of a call chain logs; libraries return struct ap_error instead. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "macro.h"

enum ap_log_level { AP_LOG_DEBUG, AP_LOG_INFO, AP_LOG_WARN, AP_LOG_ERROR };
enum ap_log_format { AP_LOG_TEXT, AP_LOG_JSON };

void ap_log_setup(enum ap_log_format format, enum ap_log_level level);
/* Parse "debug|info|warn|error" / "text|json"; -EINVAL on anything else. */
int ap_log_parse_level(const char *s, enum ap_log_level *ret);
int ap_log_parse_format(const char *s, enum ap_log_format *ret);
bool ap_log_enabled(enum ap_log_level level);

void ap_log(enum ap_log_level level, const char *fmt, ...) _printf_(2, 3);
/* Log err's message at error level with a context prefix; returns err->code (negative). */
int ap_log_error(const struct ap_error *err, const char *fmt, ...) _printf_(2, 3);

#define ap_debug(...) ap_log(AP_LOG_DEBUG, __VA_ARGS__)
#define ap_info(...)  ap_log(AP_LOG_INFO, __VA_ARGS__)
#define ap_warn(...)  ap_log(AP_LOG_WARN, __VA_ARGS__)
#define ap_err(...)   ap_log(AP_LOG_ERROR, __VA_ARGS__)
