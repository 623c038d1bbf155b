/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the trace tools' commands (tools/replay/cli.c), for the
 * programs that offer them: gpuvm-replay, and the gpuvm command as
 * `gpuvm trace` and `gpuvm replay`.  Not installed.
 *
 * Each takes the command line from its subcommand on (argv[0] is the name
 * the user typed, used in usage and messages) and returns the exit status:
 * 0, 1 for a failure, 2 for bad usage.
 */
#ifndef GPUVM_REPLAY_COMMANDS_H
#define GPUVM_REPLAY_COMMANDS_H

int replay_cmd_trace(int argc, char **argv);
int replay_cmd_replay(int argc, char **argv);
int replay_cmd_workload(int argc, char **argv);

#endif /* GPUVM_REPLAY_COMMANDS_H */
