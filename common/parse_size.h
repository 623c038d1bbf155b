/* SPDX-License-Identifier: MIT */
/*
 * parse_size.h - the one parser of sizes in the tree ("4096", "2M",
 * "1.5GiB"): knobs and the defaults file, cudasim's CUDASIM_MEM, the
 * replay tools' --capacity.  Each caller picks how much of the grammar
 * it accepts; the digits, units and overflow are handled here alone.
 */
#ifndef GPUVM_COMMON_PARSE_SIZE_H
#define GPUVM_COMMON_PARSE_SIZE_H

#include <stdint.h>

/* Also accept a fraction before a unit: "1.5G" (rounded down to a byte). */
#define PARSE_SIZE_FRACTION	(1u << 0)
/* Also accept "i" after a unit and a closing "B": "2MiB", "2MB", "512B". */
#define PARSE_SIZE_BYTE_SUFFIX	(1u << 1)

/**
 * parse_size - bytes from decimal digits and an optional binary unit
 * @s: the text; nothing may precede or follow the size (no sign, space or
 *     newline)
 * @flags: PARSE_SIZE_* for the longer forms; 0 accepts only "N" and "N"
 *         followed by one of K, M, G, T (either case), powers of 1024
 * @val: the bytes, set only on success
 *
 * Return: 0, -EINVAL (not a size in the grammar asked for) or -ERANGE
 * (more than 2^64 - 1 bytes).
 */
int parse_size(const char *s, unsigned int flags, uint64_t *val);

#endif /* GPUVM_COMMON_PARSE_SIZE_H */
