// SPDX-License-Identifier: MIT
/*
 * cu_linked.c - a program linked to libcuda.so.1 that calls cuMemAlloc_v2
 * and cuMemFree_v2 by name: the dynamic linker binds them to the shim when
 * it is preloaded.
 */
#include "cutest.h"

static const size_t sizes[] = {
	1, 100, 4096, 65536, 1 << 20, (3 << 20) + 5, 8 << 20,
};

#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

int main(int argc, char **argv)
{
	CUdeviceptr ptr[NR_SIZES], bad;
	unsigned char *buf;
	long allocs, creates;
	CUcontext ctx;
	CUdevice dev;
	size_t i;

	cutest_mode(argc, argv);
	buf = malloc(sizes[NR_SIZES - 1]);
	EXPECT(buf);
	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));

	allocs = cutest_calls("cuMemAlloc");
	creates = cutest_calls("cuMemCreate");
	for (i = 0; i < NR_SIZES; i++) {
		CHECK(cuMemAlloc_v2(&ptr[i], sizes[i]));
		cutest_fill(buf, sizes[i], i);
		CHECK(cuMemcpyHtoD_v2(ptr[i], buf, sizes[i]));
	}
	for (i = 0; i < NR_SIZES; i++) {
		memset(buf, 0, sizes[i]);
		CHECK(cuMemcpyDtoH_v2(buf, ptr[i], sizes[i]));
		EXPECT(!cutest_verify(buf, sizes[i], i));
		CHECK(cuMemFree_v2(ptr[i]));
	}
	if (allocs >= 0) {
		allocs = cutest_calls("cuMemAlloc") - allocs;
		creates = cutest_calls("cuMemCreate") - creates;
		printf("driver cuMemAlloc calls: %ld, cuMemCreate calls: %ld\n", allocs, creates);
		EXPECT(allocs == (routed ? 0 : (long)NR_SIZES));
		EXPECT(routed ? creates > 0 : creates == 0);
	}

	/* Bad arguments get the driver's errors, with or without the shim. */
	EXPECT_RES(cuMemAlloc_v2(&bad, 0), CUDA_ERROR_INVALID_VALUE);
	EXPECT_RES(cuMemAlloc_v2(NULL, 4096), CUDA_ERROR_INVALID_VALUE);
	EXPECT(cuMemFree_v2(ptr[0]) != CUDA_SUCCESS);	/* freed already */
	EXPECT(cuMemFree_v2(0x1000) != CUDA_SUCCESS);

	CHECK(cuDevicePrimaryCtxRelease(dev));
	free(buf);
	printf("ok\n");
	return 0;
}
