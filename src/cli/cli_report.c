/* cli_report.c - how every subcommand reports a usage error: one line on stderr naming the command and
 * where its help is, and the usage exit code. */
#include <stdarg.h>
#include <stdio.h>

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
