// SPDX-License-Identifier: MIT
/*
 * replay.c - gpuvm-replay: the trace tools as a program of their own (the
 * gpuvm CLI offers the same commands as "gpuvm trace" and "gpuvm replay").
 */
#include <stdio.h>
#include <string.h>

#include "replay.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gpuvm-replay trace dump FILE\n"
		   "       gpuvm-replay trace convert IN OUT [--capacity SIZE]\n"
		   "       gpuvm-replay replay TRACE [--capacity SIZE] [--policy KNOB=VALUE]...\n"
		   "                    [--device N] [--costs FILE] [--no-gpuvm]\n"
		   "       gpuvm-replay workload NAME --out FILE [--seed N]\n"
		   "       gpuvm-replay workload list\n"
		   "See Documentation/trace.rst.\n");
}

/* Each command prints its name as typed: "gpuvm-replay replay". */
static const struct {
	const char *name;
	char *typed;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "trace", (char[]){ "gpuvm-replay trace" }, replay_cmd_trace },
	{ "replay", (char[]){ "gpuvm-replay replay" }, replay_cmd_replay },
	{ "workload", (char[]){ "gpuvm-replay workload" }, replay_cmd_workload },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			argv[1] = cmds[i].typed;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "gpuvm-replay: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
