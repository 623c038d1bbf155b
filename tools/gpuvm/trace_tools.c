// SPDX-License-Identifier: MIT
/*
 * trace_tools.c - `gpuvm trace` and `gpuvm replay`: the trace tools of
 * tools/replay, linked in from its archive (libreplay.a) and called with
 * their own argument parsing, so `gpuvm replay ...` and `gpuvm-replay
 * replay ...` are the same command.  Each gets the command as the user
 * typed it for argv[0], so its usage and its messages say `gpuvm replay`.
 */
#include <replay/commands.h>

#include "command.h"

int cmd_trace(int argc, char **argv)
{
	static char typed[] = "gpuvm trace";

	argv[0] = typed;
	return replay_cmd_trace(argc, argv);
}

int cmd_replay(int argc, char **argv)
{
	static char typed[] = "gpuvm replay";

	argv[0] = typed;
	return replay_cmd_replay(argc, argv);
}
