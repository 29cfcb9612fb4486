/* segloss — command-line front end to libsegloss: dispatch to subcommands.
 * A new subcommand is one entry in `commands` plus its cmd_*.c file. */
#include "commands.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"demo", cmd_demo, "walk through the worked example (sigmoid, BCE, Dice) step by step"},
    {"loss", cmd_loss, "compute a loss (and its gradient) on .npy arrays"},
    {"eval", cmd_eval, "score predicted masks against references (Dice, IoU, HD95, ...)"},
    {"merge", cmd_merge, "join the --json parts of 'eval --shard K/N' runs into one result"},
    {"bench", cmd_bench, "time a loss's forward and forward+backward against the memory floor"},
};
#define NUM_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "Usage: segloss COMMAND [OPTIONS]\n"
            "       segloss --help | --version\n"
            "\n"
            "Segmentation losses and metrics, forward and backward.\n"
            "\n"
            "Commands:\n");
    for (size_t k = 0; k < NUM_COMMANDS; k++)
        fprintf(f, "  %-6s %s\n", commands[k].name, commands[k].summary);
    fprintf(f,
            "\n"
            "Run 'segloss COMMAND --help' for the options of a command.\n"
            "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or unwritable file,\n"
            "3 internal error (e.g. out of memory).\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("segloss %s\n", SEGLOSS_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t k = 0; k < NUM_COMMANDS; k++)
        if (strcmp(arg, commands[k].name) == 0) return commands[k].run(argc - 1, argv + 1);
    if (arg[0] == '-') cli_error("unknown option '%s'", arg);
    else cli_error("unknown command '%s'", arg);
    cli_error("try 'segloss --help'");
    return CLI_USAGE;
}
