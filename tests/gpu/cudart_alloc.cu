// SPDX-License-Identifier: MIT
/*
 * cudart_alloc.cu - an unmodified CUDA runtime program for make gpucheck:
 * cudaMalloc, cudaMallocAsync, kernels writing and reading the memory,
 * pointer attributes, cudaFreeAsync and cudaFree.  Run with and without
 * the shim; exit 0 when every word reads back.
 */
#include <cstdio>
#include <cuda_runtime.h>

__global__ void fill(unsigned *p, size_t n, unsigned s)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	if (i < n)
		p[i] = (unsigned)i * 2654435761u + s;
}

__global__ void check(const unsigned *p, size_t n, unsigned s, int *bad)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	if (i < n && p[i] != (unsigned)i * 2654435761u + s)
		atomicAdd(bad, 1);
}

int main()
{
	size_t n = 64 << 20;
	unsigned *a, *b;
	int *bad, h = -1;
	cudaStream_t st;
	cudaPointerAttributes at;

	if (cudaMalloc(&a, n * 4) || cudaMalloc(&bad, 4) || cudaStreamCreate(&st)) {
		printf("cudaMalloc failed: %s\n", cudaGetErrorString(cudaGetLastError()));
		return 1;
	}
	cudaMemset(bad, 0, 4);
	if (cudaMallocAsync(&b, n * 4, st)) {
		printf("cudaMallocAsync failed\n");
		return 1;
	}
	fill<<<(n + 255) / 256, 256>>>(a, n, 1);
	fill<<<(n + 255) / 256, 256, 0, st>>>(b, n, 2);
	cudaDeviceSynchronize();
	check<<<(n + 255) / 256, 256>>>(a, n, 1, bad);
	check<<<(n + 255) / 256, 256>>>(b, n, 2, bad);
	cudaMemcpy(&h, bad, 4, cudaMemcpyDeviceToHost);
	cudaPointerGetAttributes(&at, a + 5);
	printf("bad words %d, pointer type %d device %d, last error %s\n", h, (int)at.type,
	       at.device, cudaGetErrorString(cudaGetLastError()));
	cudaFreeAsync(b, st);
	cudaStreamSynchronize(st);
	cudaFree(a);
	cudaFree(bad);
	return h != 0;
}
