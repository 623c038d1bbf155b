// SPDX-License-Identifier: MIT
/*
 * reclaim.c - what a write to a reclaim file asks for.
 */
#include <string.h>

#include <gpuvmfs/gpuvmfs.h>

/**
 * gpuvmfs_parse_reclaim - what a write to a reclaim file asks for
 * @text: "all" (everything cached) or a size with an optional K/M/G/T
 *	  suffix; a trailing newline is accepted
 * @bytes: on success, the bytes to release at least (0: everything)
 * Return: 0, -EINVAL or -ERANGE, as gpuvm_knob_parse() for a size.
 */
int gpuvmfs_parse_reclaim(const char *text, uint64_t *bytes)
{
	static const struct gpuvm_knob reclaim = {
		.name = "reclaim",
		.type = GPUVM_KNOB_SIZE,
		.unit = "bytes",
		.min = 0,
		.max = UINT64_MAX,
	};

	if (!strcmp(text, "all") || !strcmp(text, "all\n")) {
		*bytes = 0;
		return 0;
	}
	return gpuvm_knob_parse(&reclaim, text, bytes);
}
