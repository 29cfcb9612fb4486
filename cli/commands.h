/* Entry points of the segloss subcommands. Each receives the arguments
 * after the command name's position (argv[0] is the command name) and
 * returns the process exit code. */
#ifndef SEGLOSS_CLI_COMMANDS_H
#define SEGLOSS_CLI_COMMANDS_H

int cmd_demo(int argc, char **argv);
int cmd_loss(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
