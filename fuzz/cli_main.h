/* Force-included (-include) when cli/main.c is compiled with
 * -Dmain=segloss_cli_main for the CLI fuzz target and its replay driver:
 * the renamed main then has a prototype (-Wmissing-prototypes). */
#ifndef SEGLOSS_FUZZ_CLI_MAIN_H
#define SEGLOSS_FUZZ_CLI_MAIN_H
int main(int argc, char **argv);
#endif
