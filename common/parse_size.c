// SPDX-License-Identifier: MIT
/*
 * parse_size.c - see parse_size.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "parse_size.h"

static int unit_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return 0;
	}
}

int parse_size(const char *s, unsigned int flags, uint64_t *val)
{
	uint64_t whole = 0, frac_num = 0, frac_den = 1, mult = 1, frac;
	const char *p = s;
	bool fraction = false;
	int shift;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL;		/* empty, sign, space or garbage */
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (whole > (UINT64_MAX - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (*p == '.' && (flags & PARSE_SIZE_FRACTION)) {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (frac_den >= 1000000000000ull)
				continue;	/* digits below a picobyte of the unit */
			frac_num = frac_num * 10 + (*p - '0');
			frac_den *= 10;
		}
		fraction = true;
	}
	shift = unit_shift(*p);
	if (shift) {
		mult = 1ull << shift;
		p++;
		if (*p == 'i' && (flags & PARSE_SIZE_BYTE_SUFFIX))
			p++;
	} else if (fraction) {
		return -EINVAL;		/* "1.5": a fraction of a byte */
	}
	if ((*p == 'B' || *p == 'b') && (flags & PARSE_SIZE_BYTE_SUFFIX))
		p++;
	if (*p)
		return -EINVAL;		/* "12abc", "2P", "4M\n" */
	if (whole > UINT64_MAX / mult)
		return -ERANGE;
	/*
	 * frac < mult, and mult (a power of two) divides 2^64, so whole * mult
	 * + frac < (whole + 1) * mult <= 2^64: the sum cannot overflow.
	 */
	frac = (uint64_t)((unsigned __int128)frac_num * mult / frac_den);
	*val = whole * mult + frac;
	return 0;
}
