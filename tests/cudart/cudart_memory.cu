// SPDX-License-Identifier: MIT
/*
 * cudart_memory.cu - cudaMalloc of mixed sizes, cudaMemcpy in every
 * direction with a pattern check, cudaMemset, cudaMemGetInfo before,
 * during and after, cudaFree.
 */
#include "cudart_test.h"

int main()
{
	static const size_t sizes[] = { 1, 7, 512, 4096, 65537, (1 << 20) + 3, 16 << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	void *d[N], *d2;
	size_t free0, total, free1, free2, sum = 0;
	unsigned char *h, *back;

	runtime_up();
	CHECK(cudaMemGetInfo(&free0, &total));
	EXPECT(free0 <= total && total > 0);
	h = (unsigned char *)malloc(16 << 20);
	back = (unsigned char *)malloc(16 << 20);
	EXPECT(h && back);
	for (int i = 0; i < N; i++) {
		CHECK(cudaMalloc(&d[i], sizes[i]));
		EXPECT(d[i] != NULL);
		sum += sizes[i];
	}
	CHECK(cudaMemGetInfo(&free1, &total));
	EXPECT(free1 + sum <= free0);
	for (int i = 0; i < N; i++) {
		fill(h, sizes[i], i);
		CHECK(cudaMemcpy(d[i], h, sizes[i], cudaMemcpyHostToDevice));
	}
	/* device to device through a second buffer, back through default */
	CHECK(cudaMalloc(&d2, 16 << 20));
	for (int i = 0; i < N; i++) {
		memset(back, 0, sizes[i]);
		CHECK(cudaMemcpy(d2, d[i], sizes[i], cudaMemcpyDeviceToDevice));
		CHECK(cudaMemcpy(back, d2, sizes[i], cudaMemcpyDefault));
		EXPECT(same(back, sizes[i], i));
	}
	/* memset of a middle part, both edges kept */
	CHECK(cudaMemset((char *)d[5] + 100, 0x5a, 1000));
	CHECK(cudaMemcpy(back, d[5], sizes[5], cudaMemcpyDeviceToHost));
	fill(h, sizes[5], 5);
	memset(h + 100, 0x5a, 1000);
	EXPECT(memcmp(back, h, sizes[5]) == 0);
	CHECK(cudaFree(d2));
	for (int i = 0; i < N; i++)
		CHECK(cudaFree(d[i]));
	CHECK(cudaFree(NULL));
	CHECK(cudaMemGetInfo(&free2, &total));
	EXPECT(free2 >= free1 + sum);
	free(h);
	free(back);
	printf("ok\n");
	return 0;
}
