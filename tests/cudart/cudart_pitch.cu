// SPDX-License-Identifier: MIT
/*
 * cudart_pitch.cu - cudaMallocPitch, cudaMemcpy2D in and out with a host
 * pitch unlike the device's, cudaMemset2D of a block, cudaMemcpy2DAsync
 * device to device.
 */
#include "cudart_test.h"

int main()
{
	enum { W = 1000, H = 77, HP = 1024 };
	static unsigned char src[HP * H], dst[HP * H], want[HP * H];
	size_t pitch = 0, pitch2 = 0;
	cudaStream_t s;
	void *d, *d2;

	runtime_up();
	CHECK(cudaMallocPitch(&d, &pitch, W, H));
	CHECK(cudaMallocPitch(&d2, &pitch2, W, H));
	EXPECT(pitch >= W && pitch2 >= W);
	fill(src, sizeof(src), 4);
	CHECK(cudaMemcpy2D(d, pitch, src, HP, W, H, cudaMemcpyHostToDevice));
	CHECK(cudaMemset2D((char *)d + 5 * pitch + 100, pitch, 0xc3, 200, 10));
	CHECK(cudaStreamCreate(&s));
	CHECK(cudaMemcpy2DAsync(d2, pitch2, d, pitch, W, H, cudaMemcpyDeviceToDevice, s));
	CHECK(cudaStreamSynchronize(s));
	CHECK(cudaMemcpy2D(dst, HP, d2, pitch2, W, H, cudaMemcpyDeviceToHost));
	memset(want, 0, sizeof(want));
	for (size_t y = 0; y < H; y++)
		for (size_t x = 0; x < W; x++)
			want[y * HP + x] = y >= 5 && y < 15 && x >= 100 && x < 300 ?
				0xc3 : src[y * HP + x];
	EXPECT(memcmp(dst, want, sizeof(want)) == 0);
	CHECK(cudaStreamDestroy(s));
	CHECK(cudaFree(d));
	CHECK(cudaFree(d2));
	printf("ok\n");
	return 0;
}
