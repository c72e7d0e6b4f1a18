/* cli_report.c - how every subcommand reports a usage error: one line on stderr naming the command and
 * where its help is, and the usage exit code. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "app-platform %s: ", cmd);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "; see 'app-platform %s --help'\n", cmd);
        va_end(ap);
        return AP_EXIT_USAGE;
}

int cli_parse_size(const char *s, size_t *ret)
{
        size_t v = 0;
        const char *p = s;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (SIZE_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (size_t)(*p - '0');
        }
        static const struct {
                const char *suffix[3];
                unsigned shift;
        } units[] = {{{"", NULL, NULL}, 0},
                     {{"K", "k", "KiB"}, 10},
                     {{"M", "MiB", NULL}, 20},
                     {{"G", "GiB", NULL}, 30}};
        for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
                for (size_t k = 0; k < 3 && units[u].suffix[k]; k++)
                        if (strcmp(p, units[u].suffix[k]) == 0) {
                                if (v == 0 || v > SIZE_MAX >> units[u].shift)
                                        return -EINVAL;
                                *ret = v << units[u].shift;
                                return 0;
                        }
        return -EINVAL;
}
