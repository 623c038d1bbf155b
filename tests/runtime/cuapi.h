/* SPDX-License-Identifier: MIT */
/*
 * cuapi.h - a driver function table filled the way a program finds the
 * driver at run time (dlsym, cuGetProcAddress), and one workload over it.
 */
#ifndef GPUVM_TESTS_RUNTIME_CUAPI_H
#define GPUVM_TESTS_RUNTIME_CUAPI_H

#include "cutest.h"

struct cu_api {
	CUresult (*init)(unsigned int flags);
	CUresult (*device_get)(CUdevice *dev, int ordinal);
	CUresult (*primary_retain)(CUcontext *ctx, CUdevice dev);
	CUresult (*primary_release)(CUdevice dev);
	CUresult (*ctx_set_current)(CUcontext ctx);
	CUresult (*mem_alloc)(CUdeviceptr *dptr, size_t size);
	CUresult (*mem_alloc_pitch)(CUdeviceptr *dptr, size_t *pitch, size_t width,
				    size_t height, unsigned int elem);
	CUresult (*mem_free)(CUdeviceptr dptr);
	CUresult (*mem_alloc_async)(CUdeviceptr *dptr, size_t size, CUstream stream);
	CUresult (*mem_free_async)(CUdeviceptr dptr, CUstream stream);
	CUresult (*stream_synchronize)(CUstream stream);
	CUresult (*htod)(CUdeviceptr dst, const void *src, size_t n);
	CUresult (*dtoh)(void *dst, CUdeviceptr src, size_t n);
};

#define WORKLOAD_MAX	(4 << 20)

/*
 * Allocate (plain, pitched, stream ordered on @stream), write, read back,
 * free.  Return: the number of allocations it made.
 */
static inline long cu_workload(const struct cu_api *cu, CUstream stream)
{
	static const size_t sizes[] = { 8, 1000, 1 << 16, (1 << 20) + 3, WORKLOAD_MAX };
	CUdeviceptr p[5], pitched, async;
	unsigned char *buf = malloc(WORKLOAD_MAX);
	size_t i, pitch;

	EXPECT(buf);
	for (i = 0; i < 5; i++) {
		CHECK(cu->mem_alloc(&p[i], sizes[i]));
		cutest_fill(buf, sizes[i], i);
		CHECK(cu->htod(p[i], buf, sizes[i]));
	}
	CHECK(cu->mem_alloc_pitch(&pitched, &pitch, 1000, 64, 4));
	EXPECT(pitch >= 1000 && pitch % 4 == 0);
	cutest_fill(buf, pitch * 64, 77);
	CHECK(cu->htod(pitched, buf, pitch * 64));
	CHECK(cu->mem_alloc_async(&async, 3 << 20, stream));
	CHECK(cu->stream_synchronize(stream));
	cutest_fill(buf, 3 << 20, 99);
	CHECK(cu->htod(async, buf, 3 << 20));

	for (i = 0; i < 5; i++) {
		memset(buf, 0, sizes[i]);
		CHECK(cu->dtoh(buf, p[i], sizes[i]));
		EXPECT(!cutest_verify(buf, sizes[i], i));
		CHECK(cu->mem_free(p[i]));
	}
	CHECK(cu->dtoh(buf, pitched, pitch * 64));
	EXPECT(!cutest_verify(buf, pitch * 64, 77));
	CHECK(cu->mem_free(pitched));
	CHECK(cu->dtoh(buf, async, 3 << 20));
	EXPECT(!cutest_verify(buf, 3 << 20, 99));
	CHECK(cu->mem_free_async(async, stream));
	CHECK(cu->stream_synchronize(stream));
	free(buf);
	return 7;
}

/* Counts before and after a workload: who served it. */
struct cu_counts {
	long allocs;	/* the driver's cuMemAlloc* calls */
	long creates;	/* cuMemCreate: gpuvm's chunks */
};

static inline void cu_counts_take(struct cu_counts *c)
{
	long pitch = cutest_calls("cuMemAllocPitch"), async = cutest_calls("cuMemAllocAsync");

	c->allocs = cutest_calls("cuMemAlloc");
	if (c->allocs >= 0)
		c->allocs += pitch + async;
	c->creates = cutest_calls("cuMemCreate");
}

/* @n allocations were made since @before: routed ones never reach cuMemAlloc. */
static inline void cu_counts_check(const struct cu_counts *before, long n)
{
	struct cu_counts now;

	cu_counts_take(&now);
	if (before->allocs < 0)
		return;	/* not cudasim */
	printf("driver allocation calls: %ld, cuMemCreate calls: %ld\n",
	       now.allocs - before->allocs, now.creates - before->creates);
	EXPECT(now.allocs - before->allocs == (routed ? 0 : n));
	if (!routed)
		EXPECT(now.creates == before->creates);
}

static inline void cu_start(const struct cu_api *cu, CUdevice *dev)
{
	CUcontext ctx;

	CHECK(cu->init(0));
	CHECK(cu->device_get(dev, 0));
	CHECK(cu->primary_retain(&ctx, *dev));
	CHECK(cu->ctx_set_current(ctx));
}

#endif /* GPUVM_TESTS_RUNTIME_CUAPI_H */
