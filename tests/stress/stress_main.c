// SPDX-License-Identifier: MIT
/*
 * stress_main.c - `gpuvm stress` as a program of its own (tools/gpuvm/stress.c
 * linked alone), so the stress tests do not depend on the rest of the CLI:
 *
 *     gpuvm-stress [stress] [gpuvm stress options]
 *
 * ("stress" may come first, as it does for bin/gpuvm: the tool runs
 * /proc/self/exe stress ... for its client.)
 */
#include <string.h>

#include "command.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "stress")) {
		argc--;
		argv++;
	}
	argv[0] = "stress";
	return cmd_stress(argc, argv);
}
