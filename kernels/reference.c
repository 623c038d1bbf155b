// SPDX-License-Identifier: MIT
/*
 * reference.c - C implementations of the kernels in kernels/ (the .cu files), with the
 * same meaning; cudasim runs these on cuLaunchKernel.
 */
#include <stddef.h>

#include "kernels.h"

void gpuvm_fill_ref(void **params)
{
	uint64_t *p = *(uint64_t **)params[0];
	uint64_t nwords = *(uint64_t *)params[1];
	uint64_t seed = *(uint64_t *)params[2];

	for (uint64_t i = 0; i < nwords; i++)
		p[i] = gpuvm_pattern(seed, i);
}

void gpuvm_verify_ref(void **params)
{
	const uint64_t *p = *(const uint64_t **)params[0];
	uint64_t nwords = *(uint64_t *)params[1];
	uint64_t seed = *(uint64_t *)params[2];
	unsigned long long *bad = *(unsigned long long **)params[3];
	unsigned long long n = 0;

	for (uint64_t i = 0; i < nwords; i++)
		n += p[i] != gpuvm_pattern(seed, i);
	__atomic_fetch_add(bad, n, __ATOMIC_RELAXED);
}

void gpuvm_stride_touch_ref(void **params)
{
	volatile uint8_t *p = *(volatile uint8_t **)params[0];
	uint64_t bytes = *(uint64_t *)params[1];
	uint64_t stride = *(uint64_t *)params[2];

	if (!stride)
		return;
	for (uint64_t off = 0; off < bytes; off += stride)
		p[off] ^= 0;
}
