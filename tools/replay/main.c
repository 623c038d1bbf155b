// SPDX-License-Identifier: MIT
/*
 * main.c - gpuvm-replay: the trace tools as a program of their own (the
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "trace"))
		return replay_cmd_trace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "replay"))
		return replay_cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "workload"))
		return replay_cmd_workload(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "gpuvm-replay: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
