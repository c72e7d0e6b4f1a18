/* main.c - entry point of the app-platform executable: global --help/--version and dispatch to the
 * subcommands listed in the table below. */
#include <stdio.h>
#include <string.h>

#include "ap_config.h"
#include "base/fileio.h"
#include "base/init.h"
#include "base/macro.h"
#include "cli/cli.h"

static const struct ap_subcommand subcommands[] = {
    {"age", "age file encryption: keygen, encrypt, decrypt (age's flags)", cli_age_main},
    {"sops", "SOPS files: encrypt, decrypt (sops's flags)", cli_sops_main},
    {"operator", "run the operator: app registrations and managed secrets", cli_operator_main},
    {"manifests", "print the CRD, RBAC and Deployments to apply", cli_manifests_main},
    {"dashboard", "serve the dashboard: OIDC login, JSON API, live status (SSE)", cli_dashboard_main},
    {"version", "print the version", NULL},
};

static void usage(FILE *f)
{
        fprintf(f, "usage: app-platform <command> [options]\n\n"
                   "App Platform: per-application GitOps platforms on Kubernetes.\n\ncommands:\n");
        for (size_t i = 0; i < AP_ARRAY_SIZE(subcommands); i++)
                fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
        fprintf(f, "\nRun 'app-platform <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
        /* first: jansson and libyaml get allocators that wipe what they free (base/init.h) */
        if (ap_base_init() < 0) {
                fputs("app-platform: cannot initialise\n", stderr);
                return AP_EXIT_FAILURE;
        }
        /* a TERM, INT, HUP or QUIT in the middle of -o/--output/--in-place removes the temporary file */
        if (ap_fileio_cleanup_on_signals() < 0) {
                perror("app-platform: cannot install signal handlers");
                return AP_EXIT_FAILURE;
        }
        if (argc < 2) {
                usage(stderr);
                return AP_EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
                usage(stdout);
                return AP_EXIT_OK;
        }
        if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
                printf("app-platform %s\n", AP_VERSION);
                return AP_EXIT_OK;
        }
        for (size_t i = 0; i < AP_ARRAY_SIZE(subcommands); i++)
                if (subcommands[i].run && strcmp(cmd, subcommands[i].name) == 0)
                        return subcommands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "app-platform: unknown command '%s'; see 'app-platform --help'\n", cmd);
        return AP_EXIT_USAGE;
}
