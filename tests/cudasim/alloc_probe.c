// SPDX-License-Identifier: MIT
/*
 * alloc_probe.c - how cuMemAlloc takes physical memory, one "case: result"
 * line each, to hold cudasim's paged model (tools/cudasim/paged.c) to the
 * driver's answers:
 *
 *   - what small requests cost in cuMemGetInfo's free and where they land
 *     (do they share a 2 MiB page, are they neighbours in VA);
 *   - the same for two requests of each size from 256 KiB to 3 MiB;
 *   - the device filled with 3, 2, 1 and 4 MiB requests in turn, every
 *     other one freed: what is free, the largest block, and whether one
 *     request of all that is free succeeds.
 *
 * All but PROBE_MEM (256 MiB) of the device is first set aside with
 * cuMemCreate, so a GPU's answers come quickly and cudasim's (with
 * CUDASIM_MEM=1G, its default) are comparable.  Nothing is compared yet:
 * run it on a GPU (make gpucheck does) and on cudasim, and read both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#define MiB		(1024UL * 1024)
#define PROBE_MEM	(256 * MiB)
#define NR_FILL		4096
#define NR_SMALL	64

static size_t free_now(void)
{
	size_t f = 0, t;

	cuMemGetInfo(&f, &t);
	return f;
}

static long kib_delta(size_t before, size_t after)
{
	return ((long)before - (long)after) / 1024;
}

static size_t largest_block(size_t below)
{
	size_t lo = 0, hi = below + 512;
	CUdeviceptr p;

	while (hi - lo > 512) {
		size_t mid = (lo + (hi - lo) / 2) / 512 * 512;

		if (cuMemAlloc(&p, mid) == CUDA_SUCCESS) {
			cuMemFree(p);
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return lo;
}

static void probe_small(void)
{
	CUdeviceptr p[NR_SMALL], q;
	size_t f0 = free_now(), f1;
	int n, shared;

	if (cuMemAlloc(&p[0], 1000) != CUDA_SUCCESS)
		return;
	f1 = free_now();
	printf("cuMemAlloc(1000): free drops by %ld KiB, 2 MiB aligned %d\n",
	       kib_delta(f0, f1), !(p[0] % (2 * MiB)));
	cuMemAlloc(&q, 1000);
	printf("second cuMemAlloc(1000): free drops by %ld KiB, at %+lld\n",
	       kib_delta(f1, free_now()), (long long)(q - p[0]));
	cuMemFree(q);
	for (n = 1, shared = 0; n < NR_SMALL && cuMemAlloc(&p[n], 64 * 1024) == CUDA_SUCCESS;) {
		if (free_now() != f1 && ++n)
			break;
		shared++, n++;
	}
	printf("64 KiB allocations before free drops again: %d%s\n", shared,
	       n == NR_SMALL && shared == n - 1 ? " (at least)" : "");
	while (n--)
		cuMemFree(p[n]);
	printf("all freed: free back %d\n", free_now() == f0);
}

static void probe_pairs(void)
{
	static const size_t sizes[] = { 256 * 1024, 512 * 1024, MiB, 3 * MiB / 2,
					2 * MiB, 3 * MiB };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t f0 = free_now(), f1;
		CUdeviceptr a, b;

		if (cuMemAlloc(&a, sizes[i]) != CUDA_SUCCESS)
			continue;
		f1 = free_now();
		if (cuMemAlloc(&b, sizes[i]) != CUDA_SUCCESS) {
			cuMemFree(a);
			continue;
		}
		printf("two of %zu KiB: free drops by %ld then %ld KiB, second at %+lld\n",
		       sizes[i] / 1024, kib_delta(f0, f1), kib_delta(f1, free_now()),
		       (long long)(b - a));
		cuMemFree(b);
		cuMemFree(a);
	}
}

static void probe_fill(void)
{
	static const size_t sizes[] = { 3 * MiB, 2 * MiB, 1 * MiB, 4 * MiB };
	static CUdeviceptr p[NR_FILL];
	size_t f0 = free_now(), f, big;
	CUdeviceptr q;
	CUresult res;
	int n, i;

	for (n = 0; n < NR_FILL; n++)
		if (cuMemAlloc(&p[n], sizes[n % 4]) != CUDA_SUCCESS)
			break;
	printf("fill of 3, 2, 1, 4 MiB from %zu MiB free: %d fit, %zu KiB left\n",
	       f0 / MiB, n, free_now() / 1024);
	for (i = 0; i < n; i += 2)
		cuMemFree(p[i]);
	f = free_now();
	big = largest_block(f);
	printf("every other freed: %zu KiB free, largest block %zu KiB\n", f / 1024,
	       big / 1024);
	res = cuMemAlloc(&q, f);
	printf("cuMemAlloc(all that is free): %d\n", (int)res);
	if (res == CUDA_SUCCESS)
		cuMemFree(q);
	for (i = 1; i < n; i += 2)
		cuMemFree(p[i]);
}

int main(void)
{
	CUmemGenericAllocationHandle aside = 0;
	CUmemAllocationProp prop;
	size_t f, gran = 2 * MiB;
	CUcontext ctx;

	if (cuInit(0) != CUDA_SUCCESS || cuDevicePrimaryCtxRetain(&ctx, 0) != CUDA_SUCCESS ||
	    cuCtxSetCurrent(ctx) != CUDA_SUCCESS) {
		fprintf(stderr, "alloc_probe: no device\n");
		return 1;
	}
	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = 0;
	cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM);
	f = free_now();
	if (f > PROBE_MEM + gran &&
	    cuMemCreate(&aside, (f - PROBE_MEM) / gran * gran, &prop, 0) != CUDA_SUCCESS) {
		fprintf(stderr, "alloc_probe: cannot set %zu MiB aside\n", (f - PROBE_MEM) / MiB);
		aside = 0;
	}
	probe_small();
	probe_pairs();
	probe_fill();
	if (aside)
		cuMemRelease(aside);
	cuDevicePrimaryCtxRelease(0);
	return 0;
}
