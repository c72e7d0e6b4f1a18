/* cli_age.c - the 'age' subcommand (placeholder until its implementation lands). */
#include <stdio.h>

#include "cli/cli.h"

int cli_age_main(int argc, char **argv)
{
        fprintf(stderr, "app-platform age: not implemented yet\n");
        return AP_EXIT_FAILURE;
}
