/* timefmt.c - RFC 3339 formatting and parsing in UTC. */
#include "timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void ap_kube_format_time(char *buf, size_t size, const struct timespec *ts)
{
        struct tm tm;
        gmtime_r(&ts->tv_sec, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ap_kube_format_micro_time(char *buf, size_t size, const struct timespec *ts)
{
        struct tm tm;
        gmtime_r(&ts->tv_sec, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%06ldZ", base, ts->tv_nsec / 1000);
}

static bool digits(const char *s, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

int ap_kube_parse_time(const char *s, struct timespec *ret)
{
        int Y, M, D, h, m, sec;
        if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
            s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
            !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
            !digits(s + 17, 2, &sec))
                return -EINVAL;
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
                return -EINVAL;
        const char *p = s + 19;
        long nsec = 0;
        if (*p == '.') {
                p++;
                long scale = 100000000L;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        nsec += (*p - '0') * scale;
                        scale /= 10;
                }
        }
        long offset = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int oh, om;
                if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
                        return -EINVAL;
                offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        /* days from civil (Howard Hinnant's algorithm), so no timegm/mktime and no TZ */
        int y = M <= 2 ? Y - 1 : Y;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long doy = (153L * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        long days = era * 146097 + doe - 719468;
        ret->tv_sec = (time_t)(days * 86400L + h * 3600L + m * 60L + sec - offset);
        ret->tv_nsec = nsec;
        return 0;
}
