// SPDX-License-Identifier: MIT
/*
 * test_fuzz_segment - the fuzz target's entry point, deterministically:
 * the seeds, then FUZZ_ITERATIONS (default 100000, 20000 under
 * SANITIZE, which make check passes on) segments mutated from
 * them with a fixed-seed PRNG (FUZZ_SEED): bit flips, interesting values
 * in aligned 32- and 64-bit fields, byte runs, truncation, extension.
 * Passes when nothing crashes (run it under SANITIZE=address,undefined to
 * catch reads outside the segment).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segbuild.h"
#include "../fuzz_mutate.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define NR_SEEDS	SEGBUILD_NR_SEEDS

/* Values a segment reader must cope with in any 32- or 64-bit field. */
static const uint64_t interesting[] = {
	0, 1, 2, 3, 7, 8, 16, 63, 64, 255, 256, 4096, 65535, 65536,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
	0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~0ull - 1,
};

static struct fuzz_mutator mut = {
	.values = interesting,
	.nr_values = sizeof(interesting) / sizeof(interesting[0]),
};

int main(void)
{
	const char *env = getenv("FUZZ_ITERATIONS"), *san = getenv("SANITIZE");
	unsigned long iterations = env ? strtoul(env, NULL, 0) : san && *san ? 20000 : 100000;
	unsigned long it;
	unsigned char *seeds[NR_SEEDS], *work, *input;
	size_t sizes[NR_SEEDS], cap = 0;
	unsigned int i;

	fuzz_seed(&mut);
	for (i = 0; i < NR_SEEDS; i++) {
		seeds[i] = segbuild_seed(i, &sizes[i]);
		if (!seeds[i])
			return 1;
		LLVMFuzzerTestOneInput(seeds[i], sizes[i]);
		if (sizes[i] > cap)
			cap = sizes[i];
	}
	cap += 256;
	work = malloc(cap);
	if (!work)
		return 1;
	for (it = 0; it < iterations; it++) {
		size_t size;

		i = fuzz_rnd(&mut) % NR_SEEDS;
		memcpy(work, seeds[i], sizes[i]);
		size = fuzz_mutate(&mut, work, sizes[i], cap);
		/* an exact-size copy: ASan sees any read past the end */
		input = malloc(size ? size : 1);
		if (!input)
			return 1;
		memcpy(input, work, size);
		LLVMFuzzerTestOneInput(input, size);
		free(input);
	}
	for (i = 0; i < NR_SEEDS; i++)
		free(seeds[i]);
	free(work);
	printf("ok: %lu mutated segments\n", iterations);
	return 0;
}
