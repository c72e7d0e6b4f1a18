/* cli.h - the subcommand table shared by main.c and the per-subcommand files (cli_age.c, cli_sops.c,
 * ...). Each subcommand gets argv with its own name in argv[0] and returns the process exit code. */
#pragma once

#include <stddef.h>

struct ap_subcommand {
        const char *name;
        const char *summary;
        int (*run)(int argc, char **argv);
};

/* Exit codes: 0 ok, 1 operation failed (bad input, crypto failure, ...), 2 usage error. */
#define AP_EXIT_OK      0
#define AP_EXIT_FAILURE 1
#define AP_EXIT_USAGE   2

/* Parse a size: decimal bytes with an optional K, M or G suffix (powers of 1024, "KiB"/"MiB"/"GiB" too).
 * -EINVAL for anything else, zero or more than SIZE_MAX. */
int cli_parse_size(const char *s, size_t *ret);

/* Print "app-platform CMD: <message>; see 'app-platform CMD --help'" to stderr; returns AP_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subcommand entry points, one file each (cli_age.c, cli_sops.c, cli_manifests.c). */
int cli_age_main(int argc, char **argv);
int cli_sops_main(int argc, char **argv);
int cli_manifests_main(int argc, char **argv);
int cli_operator_main(int argc, char **argv);
int cli_dashboard_main(int argc, char **argv);
