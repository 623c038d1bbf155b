// SPDX-License-Identifier: MIT
/*
 * test_frameworks.c - the framework allocator entry points of libgpuvm.so:
 * PyTorch's CUDAPluggableAllocator and CuPy's CFunctionAllocator signatures,
 * called as the frameworks call them, with the data read back.
 */
#include <gpuvm/gpuvm.h>

#include "cutest.h"

int main(void)
{
	static unsigned char buf[3 << 20];
	gpuvm_ptr_t small, large;
	CUcontext ctx;
	CUdevice dev;
	void *p;
	intptr_t c;

	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));

	/* PyTorch: stream ordered on the (legacy) default stream. */
	p = gpuvm_torch_malloc(sizeof(buf), 0, NULL);
	EXPECT(p && gpuvm_owns((gpuvm_ptr_t)(uintptr_t)p, NULL));
	cutest_fill(buf, sizeof(buf), 1);
	CHECK(cuMemcpyHtoD_v2((CUdeviceptr)(uintptr_t)p, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	CHECK(cuMemcpyDtoH_v2(buf, (CUdeviceptr)(uintptr_t)p, sizeof(buf)));
	EXPECT(!cutest_verify(buf, sizeof(buf), 1));
	gpuvm_torch_free(p, sizeof(buf), 0, NULL);
	EXPECT(!gpuvm_owns((gpuvm_ptr_t)(uintptr_t)p, NULL));
	EXPECT(!gpuvm_torch_malloc(0, 0, NULL));
	EXPECT(!gpuvm_torch_malloc(4096, GPUVM_MAX_DEVICES + 1, NULL));
	gpuvm_torch_free(NULL, 0, 0, NULL);

	/* CuPy: synchronous. */
	c = gpuvm_cupy_malloc(0, 1000, 0);
	EXPECT(c && gpuvm_owns((gpuvm_ptr_t)c, NULL));
	cutest_fill(buf, 1000, 2);
	CHECK(cuMemcpyHtoD_v2((CUdeviceptr)c, buf, 1000));
	memset(buf, 0, 1000);
	CHECK(cuMemcpyDtoH_v2(buf, (CUdeviceptr)c, 1000));
	EXPECT(!cutest_verify(buf, 1000, 2));
	gpuvm_cupy_free(0, c, 0);
	EXPECT(!gpuvm_cupy_malloc(0, 0, 0));
	gpuvm_cupy_free(0, 0, 0);

	/* Both leave gpuvm usable as before. */
	EXPECT(!gpuvm_alloc(0, 100, 0, &small) && !gpuvm_alloc(0, 5 << 20, 0, &large));
	EXPECT(!gpuvm_free(small) && !gpuvm_free(large));
	CHECK(cuDevicePrimaryCtxRelease(dev));
	printf("ok\n");
	return 0;
}
