// SPDX-License-Identifier: MIT
/* fill.cu - write the seeded pattern (kernels.h) over a range of words. */
#include <stdint.h>

#include "kernels.h"

extern "C" __global__ void gpuvm_fill(uint64_t *p, uint64_t nwords, uint64_t seed)
{
	uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x;
	uint64_t step = (uint64_t)gridDim.x * blockDim.x;

	for (; i < nwords; i += step)
		p[i] = gpuvm_pattern(seed, i);
}
