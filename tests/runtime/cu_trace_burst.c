// SPDX-License-Identifier: MIT
/*
 * cu_trace_burst.c - bursts of small cuMemAlloc_v2/cuMemFree_v2, far more
 * events than a tiny trace ring holds, and nothing else: no cuMemGetInfo,
 * so under the shim nothing calls gpuvm_stats().
 *
 * "cu_trace_burst FIFO" stops after the burst, prints
 * "cu_trace_burst: paused pid=<pid>" and waits for a line on FIFO
 * (test_shim_trace_dropped.sh reads the status meanwhile), then exits.
 */
#include <unistd.h>

#include "cutest.h"

#define BURST	20000

int main(int argc, char **argv)
{
	CUdeviceptr p;
	CUcontext ctx;
	CUdevice dev;
	char line[16];
	FILE *f;
	int i;

	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));
	for (i = 0; i < BURST; i++) {
		CHECK(cuMemAlloc_v2(&p, 4096));
		CHECK(cuMemFree_v2(p));
	}
	if (argc > 1) {
		printf("cu_trace_burst: paused pid=%d\n", (int)getpid());
		fflush(stdout);
		f = fopen(argv[1], "r");
		EXPECT(f);
		EXPECT(fgets(line, sizeof(line), f));
		fclose(f);
	}
	CHECK(cuDevicePrimaryCtxRelease(dev));
	printf("ok\n");
	return 0;
}
