// SPDX-License-Identifier: MIT
/*
 * cudart_host.cu - page-locked host memory: cudaMallocHost, cudaHostAlloc
 * (mapped, portable), cudaHostRegister of ordinary memory, their device
 * pointers and flags, copies from and to them, cudaPointerGetAttributes of
 * device, page-locked and ordinary memory.
 */
#include "cudart_test.h"

int main()
{
	enum { SZ = 3 << 20 };
	unsigned char *a, *b, *c, *plain;
	void *d, *dp;
	unsigned int flags = 0;
	cudaPointerAttributes at;

	runtime_up();
	CHECK(cudaMallocHost((void **)&a, SZ));
	CHECK(cudaHostAlloc((void **)&b, SZ, cudaHostAllocMapped | cudaHostAllocPortable));
	c = (unsigned char *)malloc(SZ);
	plain = (unsigned char *)malloc(4096);
	EXPECT(c && plain);
	CHECK(cudaHostRegister(c, SZ, cudaHostRegisterDefault));
	CHECK(cudaHostGetFlags(&flags, b));
	EXPECT(flags & cudaHostAllocMapped);
	CHECK(cudaHostGetDevicePointer(&dp, b, 0));
	EXPECT(dp != NULL);
	CHECK(cudaMalloc(&d, SZ));

	fill(a, SZ, 1);
	CHECK(cudaMemcpy(d, a, SZ, cudaMemcpyHostToDevice));
	CHECK(cudaMemcpy(b, d, SZ, cudaMemcpyDeviceToHost));
	EXPECT(same(b, SZ, 1));
	fill(c, SZ, 2);
	CHECK(cudaMemcpy(d, c, SZ, cudaMemcpyDefault));
	memset(a, 0, SZ);
	CHECK(cudaMemcpy(a, d, SZ, cudaMemcpyDefault));
	EXPECT(same(a, SZ, 2));

	CHECK(cudaPointerGetAttributes(&at, (char *)d + 10));
	EXPECT(at.type == cudaMemoryTypeDevice && at.device == 0);
	EXPECT(at.devicePointer == (char *)d + 10);
	CHECK(cudaPointerGetAttributes(&at, a));
	EXPECT(at.type == cudaMemoryTypeHost && at.hostPointer == a);
	CHECK(cudaPointerGetAttributes(&at, c + 5));
	EXPECT(at.type == cudaMemoryTypeHost);
	CHECK(cudaPointerGetAttributes(&at, plain));
	EXPECT(at.type == cudaMemoryTypeUnregistered);

	CHECK(cudaFree(d));
	CHECK(cudaHostUnregister(c));
	CHECK(cudaFreeHost(b));
	CHECK(cudaFreeHost(a));
	free(c);
	free(plain);
	printf("ok\n");
	return 0;
}
