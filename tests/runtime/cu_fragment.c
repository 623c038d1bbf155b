// SPDX-License-Identifier: MIT
/*
 * cu_fragment.c - the fragmenting pattern: allocate blocks until memory
 * runs out, free every other one, then ask for one block larger than any
 * hole but smaller than what is free.  A contiguous allocator (cudasim
 * with CUDASIM_ALLOC=contiguous) fails with CUDA_ERROR_OUT_OF_MEMORY
 * although enough is free; paged cudasim (the default), like the real
 * driver, maps free 2 MiB pages under one range; gpuvm stitches free
 * chunks into one range.  Whatever serves it, every byte reads back.
 *
 * Meant for a small device (CUDASIM_MEM=64M, set here when unset); on a
 * real GPU the blocks scale with its memory.
 */
#include "cutest.h"

#define MAX_BLOCKS	256

int main(int argc, char **argv)
{
	CUdeviceptr block[MAX_BLOCKS], big;
	size_t bsize, big_size, free_mem, total, i, n = 0;
	unsigned char *buf;
	CUcontext ctx;
	CUdevice dev;
	const char *mode = getenv("CUDASIM_ALLOC");
	bool contiguous = mode && !strcmp(mode, "contiguous");
	CUresult res;

	cutest_mode(argc, argv);
	setenv("CUDASIM_MEM", "64M", 0);
	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));
	CHECK(cuMemGetInfo_v2(&free_mem, &total));
	/* About 16 blocks, whole 2 MiB chunks. */
	bsize = (total / 16) & ~(size_t)((2 << 20) - 1);
	if (bsize < (2 << 20))
		bsize = 2 << 20;
	big_size = 3 * bsize;
	printf("device memory %zu MiB, blocks of %zu MiB, then one of %zu MiB\n",
	       total >> 20, bsize >> 20, big_size >> 20);
	buf = malloc(big_size);
	EXPECT(buf);

	for (n = 0; n < MAX_BLOCKS; n++) {
		res = cuMemAlloc_v2(&block[n], bsize);
		if (res == CUDA_ERROR_OUT_OF_MEMORY)
			break;
		CHECK(res);
		cutest_fill(buf, bsize, n);
		CHECK(cuMemcpyHtoD_v2(block[n], buf, bsize));
	}
	printf("%zu blocks fit\n", n);
	EXPECT(n >= 6 && n < MAX_BLOCKS);
	for (i = 0; i < n; i += 2)
		CHECK(cuMemFree_v2(block[i]));
	CHECK(cuMemGetInfo_v2(&free_mem, &total));
	printf("free after freeing every other block: %zu MiB\n", free_mem >> 20);
	EXPECT(free_mem >= big_size);

	res = cuMemAlloc_v2(&big, big_size);
	printf("allocating %zu MiB: CUresult %d\n", big_size >> 20, (int)res);
	if (!routed && cutest_calls("cuMemAlloc") >= 0 && contiguous) {
		/* CUDASIM_ALLOC=contiguous: first fit, the "fragmenting driver" */
		EXPECT(res == CUDA_ERROR_OUT_OF_MEMORY);
	} else if (!routed && cutest_calls("cuMemAlloc") < 0 && res != CUDA_SUCCESS) {
		/* a real driver promises neither */
		EXPECT(res == CUDA_ERROR_OUT_OF_MEMORY);
	} else {
		/* gpuvm stitches chunks; paged cudasim maps free pages */
		CHECK(res);
		cutest_fill(buf, big_size, 1000);
		CHECK(cuMemcpyHtoD_v2(big, buf, big_size));
		memset(buf, 0, big_size);
		CHECK(cuMemcpyDtoH_v2(buf, big, big_size));
		EXPECT(!cutest_verify(buf, big_size, 1000));
		CHECK(cuMemFree_v2(big));
	}
	/* The blocks that stayed were not touched. */
	for (i = 1; i < n; i += 2) {
		CHECK(cuMemcpyDtoH_v2(buf, block[i], bsize));
		EXPECT(!cutest_verify(buf, bsize, i));
		CHECK(cuMemFree_v2(block[i]));
	}
	CHECK(cuDevicePrimaryCtxRelease(dev));
	free(buf);
	printf("ok\n");
	return 0;
}
