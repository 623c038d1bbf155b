// SPDX-License-Identifier: MIT
/*
 * cudart_streams.cu - streams with priorities and flags, cudaMemcpyAsync
 * and cudaMemsetAsync on them, events with timing, cudaStreamWaitEvent,
 * a host function, cudaMallocAsync/cudaFreeAsync with the default pool's
 * release threshold and trim, cudaDeviceSynchronize.
 */
#include "cudart_test.h"

static void CUDART_CB host_fn(void *arg)
{
	*(int *)arg += 1;
}

int main()
{
	enum { SZ = 1 << 20 };
	int least = 1, greatest = 1, prio = 1, calls = 0;
	unsigned int flags = 0;
	cudaStream_t hi, lo;
	cudaEvent_t start, stop, done;
	cudaMemPool_t pool;
	unsigned long long thr = 0, used = 0;
	unsigned char *h, *back;
	void *d, *m;
	float ms = -1;

	runtime_up();
	CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
	EXPECT(greatest <= least);
	CHECK(cudaStreamCreateWithPriority(&hi, cudaStreamNonBlocking, greatest));
	CHECK(cudaStreamCreateWithFlags(&lo, cudaStreamDefault));
	CHECK(cudaStreamGetPriority(hi, &prio));
	EXPECT(prio == greatest);
	CHECK(cudaStreamGetFlags(hi, &flags));
	EXPECT(flags == cudaStreamNonBlocking);
	CHECK(cudaEventCreate(&start));
	CHECK(cudaEventCreate(&stop));
	CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
	CHECK(cudaMallocHost((void **)&h, SZ));
	CHECK(cudaMallocHost((void **)&back, SZ));
	CHECK(cudaMalloc(&d, SZ));

	fill(h, SZ, 3);
	CHECK(cudaEventRecord(start, hi));
	CHECK(cudaMemcpyAsync(d, h, SZ, cudaMemcpyHostToDevice, hi));
	CHECK(cudaMemsetAsync((char *)d + 10, 0, 10, hi));
	CHECK(cudaEventRecord(stop, hi));
	CHECK(cudaEventRecord(done, hi));
	CHECK(cudaStreamWaitEvent(lo, done, 0));
	CHECK(cudaMemcpyAsync(back, d, SZ, cudaMemcpyDeviceToHost, lo));
	CHECK(cudaLaunchHostFunc(lo, host_fn, &calls));
	CHECK(cudaStreamSynchronize(lo));
	EXPECT(calls == 1);
	memset(h + 10, 0, 10);
	EXPECT(memcmp(back, h, SZ) == 0);
	CHECK(cudaEventSynchronize(stop));
	CHECK(cudaEventQuery(stop));
	CHECK(cudaEventElapsedTime(&ms, start, stop));
	EXPECT(ms >= 0);

	/* stream-ordered allocation from the default pool */
	CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
	thr = 32 << 20;
	CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &thr));
	thr = 0;
	CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &thr));
	EXPECT(thr == 32 << 20);
	CHECK(cudaMallocAsync(&m, SZ, lo));
	CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used));
	EXPECT(used >= SZ);
	CHECK(cudaMemcpyAsync(m, h, SZ, cudaMemcpyHostToDevice, lo));
	CHECK(cudaMemcpyAsync(back, m, SZ, cudaMemcpyDeviceToHost, lo));
	CHECK(cudaFreeAsync(m, lo));
	CHECK(cudaStreamSynchronize(lo));
	EXPECT(memcmp(back, h, SZ) == 0);
	CHECK(cudaMemPoolTrimTo(pool, 0));
	CHECK(cudaDeviceSynchronize());

	CHECK(cudaFree(d));
	CHECK(cudaFreeHost(h));
	CHECK(cudaFreeHost(back));
	CHECK(cudaEventDestroy(start));
	CHECK(cudaEventDestroy(stop));
	CHECK(cudaEventDestroy(done));
	CHECK(cudaStreamDestroy(hi));
	CHECK(cudaStreamDestroy(lo));
	printf("ok\n");
	return 0;
}
