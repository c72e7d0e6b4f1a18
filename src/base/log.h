/* log.h - process-wide structured logging to stderr as text or JSON lines (--log-format), filtered by
 * level (--log-level). Only the top of a call chain logs; libraries return struct ap_error instead.
 * Every logging call refuses, at compile time, a struct ap_secret (or a pointer to one) among its
 * arguments (secret.h): a secret reaches a log line only through an explicit ap_secret_reveal(). */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "macro.h"
#include "secret.h"

enum ap_log_level { AP_LOG_DEBUG, AP_LOG_INFO, AP_LOG_WARN, AP_LOG_ERROR };
enum ap_log_format { AP_LOG_TEXT, AP_LOG_JSON };

void ap_log_setup(enum ap_log_format format, enum ap_log_level level);
/* Parse "debug|info|warn|error" / "text|json"; -EINVAL on anything else. */
int ap_log_parse_level(const char *s, enum ap_log_level *ret) _warn_unused_;
int ap_log_parse_format(const char *s, enum ap_log_format *ret) _warn_unused_;
bool ap_log_enabled(enum ap_log_level level);

void(ap_log)(enum ap_log_level level, const char *fmt, ...) _printf_(2, 3);
/* Log err's message at error level with a context prefix; returns err->code (negative). Callers return it,
 * so it need not be used. */
int(ap_log_error)(const struct ap_error *err, const char *fmt, ...) _printf_(2, 3);

/* The compile-time refusal: each argument goes through AP_LOG_NOT_SECRET_ (never evaluated). Up to 16
 * arguments after the level or error. */
#define AP_LOG_NOT_SECRET_(x)                                                                                \
        (void)sizeof(struct {                                                                                \
                _Static_assert(!AP_IS_SECRET(x), "a struct ap_secret must not be logged");                   \
                int ap_unused_;                                                                              \
        })
// clang-format off
#define AP_LOG_NARGS_(...) AP_LOG_NARGS_N_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define AP_LOG_NARGS_N_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, n, ...) n
#define AP_LOG_CAT_(a, b) AP_LOG_CAT2_(a, b)
#define AP_LOG_CAT2_(a, b) a##b
#define AP_LOG_EACH_1(m, x) m(x)
#define AP_LOG_EACH_2(m, x, ...) m(x), AP_LOG_EACH_1(m, __VA_ARGS__)
#define AP_LOG_EACH_3(m, x, ...) m(x), AP_LOG_EACH_2(m, __VA_ARGS__)
#define AP_LOG_EACH_4(m, x, ...) m(x), AP_LOG_EACH_3(m, __VA_ARGS__)
#define AP_LOG_EACH_5(m, x, ...) m(x), AP_LOG_EACH_4(m, __VA_ARGS__)
#define AP_LOG_EACH_6(m, x, ...) m(x), AP_LOG_EACH_5(m, __VA_ARGS__)
#define AP_LOG_EACH_7(m, x, ...) m(x), AP_LOG_EACH_6(m, __VA_ARGS__)
#define AP_LOG_EACH_8(m, x, ...) m(x), AP_LOG_EACH_7(m, __VA_ARGS__)
#define AP_LOG_EACH_9(m, x, ...) m(x), AP_LOG_EACH_8(m, __VA_ARGS__)
#define AP_LOG_EACH_10(m, x, ...) m(x), AP_LOG_EACH_9(m, __VA_ARGS__)
#define AP_LOG_EACH_11(m, x, ...) m(x), AP_LOG_EACH_10(m, __VA_ARGS__)
#define AP_LOG_EACH_12(m, x, ...) m(x), AP_LOG_EACH_11(m, __VA_ARGS__)
#define AP_LOG_EACH_13(m, x, ...) m(x), AP_LOG_EACH_12(m, __VA_ARGS__)
#define AP_LOG_EACH_14(m, x, ...) m(x), AP_LOG_EACH_13(m, __VA_ARGS__)
#define AP_LOG_EACH_15(m, x, ...) m(x), AP_LOG_EACH_14(m, __VA_ARGS__)
#define AP_LOG_EACH_16(m, x, ...) m(x), AP_LOG_EACH_15(m, __VA_ARGS__)
// clang-format on
#define AP_LOG_REFUSE_SECRETS_(...)                                                                          \
        AP_LOG_CAT_(AP_LOG_EACH_, AP_LOG_NARGS_(__VA_ARGS__))(AP_LOG_NOT_SECRET_, __VA_ARGS__)

#define ap_log(level, ...)     (AP_LOG_REFUSE_SECRETS_(__VA_ARGS__), (ap_log)(level, __VA_ARGS__))
#define ap_log_error(err, ...) (AP_LOG_REFUSE_SECRETS_(__VA_ARGS__), (ap_log_error)(err, __VA_ARGS__))

#define ap_debug(...) ap_log(AP_LOG_DEBUG, __VA_ARGS__)
#define ap_info(...)  ap_log(AP_LOG_INFO, __VA_ARGS__)
#define ap_warn(...)  ap_log(AP_LOG_WARN, __VA_ARGS__)
#define ap_err(...)   ap_log(AP_LOG_ERROR, __VA_ARGS__)
