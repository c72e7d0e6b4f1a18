/* cli_sops.c - the 'sops' subcommand (placeholder until its implementation lands). */
#include <stdio.h>

#include "cli/cli.h"

int cli_sops_main(int argc, char **argv)
{
        fprintf(stderr, "app-platform sops: not implemented yet\n");
        return AP_EXIT_FAILURE;
}
