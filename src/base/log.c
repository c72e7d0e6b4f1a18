/* log.c - the logger: one mutex-guarded write per line so threads never interleave. */
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "json_escape.h"

/* guards the format and serialises writes to stderr; the level is read without it, so a line below the
 * level (a debug line on a hot path) costs no lock */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum ap_log_format log_format = AP_LOG_TEXT;
static _Atomic int log_level = AP_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ap_log_setup(enum ap_log_format format, enum ap_log_level level)
{
        pthread_mutex_lock(&log_lock);
        log_format = format;
        atomic_store(&log_level, (int)level);
        pthread_mutex_unlock(&log_lock);
}

int ap_log_parse_level(const char *s, enum ap_log_level *ret)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(level_names); i++)
                if (strcmp(s, level_names[i]) == 0) {
                        *ret = (enum ap_log_level)i;
                        return 0;
                }
        return -EINVAL;
}

int ap_log_parse_format(const char *s, enum ap_log_format *ret)
{
        if (strcmp(s, "text") == 0)
                *ret = AP_LOG_TEXT;
        else if (strcmp(s, "json") == 0)
                *ret = AP_LOG_JSON;
        else
                return -EINVAL;
        return 0;
}

bool ap_log_enabled(enum ap_log_level level)
{
        return (int)level >= atomic_load(&log_level);
}

static void log_write(enum ap_log_level level, const char *msg)
{
        struct timespec ts;
        struct tm tm;
        char when[40];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

        _cleanup_buf_ struct ap_buf line = AP_BUF_INIT;
        int r;
        if (log_format == AP_LOG_JSON) {
                r = ap_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", when,
                                  level_names[level]);
                if (r == 0)
                        r = ap_json_escape(&line, msg, strlen(msg));
                if (r == 0)
                        r = ap_buf_addstr(&line, "}\n");
        } else {
                r = ap_buf_printf(&line, "%s %-5s %s\n", when, level_names[level], msg);
        }
        if (r < 0) /* out of memory: the message itself, unadorned, beats nothing */
                fprintf(stderr, "%s %s\n", level_names[level], msg);
        else
                fwrite(line.data, 1, line.len, stderr);
        fflush(stderr);
}

void(ap_log)(enum ap_log_level level, const char *fmt, ...)
{
        if (!ap_log_enabled(level))
                return;
        pthread_mutex_lock(&log_lock);
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_write(level, msg);
        pthread_mutex_unlock(&log_lock);
}

int(ap_log_error)(const struct ap_error *err, const char *fmt, ...)
{
        char ctx[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        (ap_log)(AP_LOG_ERROR, "%s: %s", ctx, ap_error_message(err));
        return err && err->code < 0 ? err->code : -EINVAL;
}
