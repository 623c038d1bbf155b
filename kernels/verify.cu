// SPDX-License-Identifier: MIT
/* verify.cu - count the words that differ from the seeded pattern. */
#include <stdint.h>

#include "kernels.h"

extern "C" __global__ void gpuvm_verify(const uint64_t *p, uint64_t nwords, uint64_t seed,
					unsigned long long *bad)
{
	uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x;
	uint64_t step = (uint64_t)gridDim.x * blockDim.x;
	unsigned long long mine = 0;

	for (; i < nwords; i += step)
		mine += p[i] != gpuvm_pattern(seed, i);
	if (mine)
		atomicAdd(bad, mine);
}
