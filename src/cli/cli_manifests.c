/* cli_manifests.c - the 'manifests' subcommand (placeholder until its implementation lands). */
#include <stdio.h>

#include "cli/cli.h"

int cli_manifests_main(int argc, char **argv)
{
        fprintf(stderr, "app-platform manifests: not implemented yet\n");
        return AP_EXIT_FAILURE;
}
