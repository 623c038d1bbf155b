// SPDX-License-Identifier: MIT
/*
 * cu_query.c - what a program learns about its memory: cuMemGetInfo under a
 * limit, the address range and pointer attributes of small (sub-allocated)
 * and large allocations, cuMemAllocPitch, legacy IPC, and memory the
 * program maps itself with cuMemCreate/cuMemMap, which stays the driver's.
 *
 * Usage: cu_query routed|direct [LIMIT_MIB]: with a limit (set for gpuvm
 * by GPUVM_LIMIT), cuMemGetInfo must report it as the total.
 */
#include "cutest.h"

#define MIB		(1ul << 20)
#define NR_SMALL	8

/* Range and attributes of an interior pointer of [p, p + size). */
static void check_range(CUdeviceptr p, size_t size)
{
	CUpointer_attribute attrs[] = {
		CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
		CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
	};
	CUdeviceptr inside = p + size / 2, base = 0, start = 0;
	size_t range = 0, rsize = 0;
	unsigned int type = 0;
	int ordinal = -1;
	void *data[] = { &start, &rsize, &type, &ordinal };

	CHECK(cuMemGetAddressRange_v2(&base, &range, inside));
	EXPECT(base == p && range >= size);
	if (routed)
		EXPECT(range == size);
	CHECK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, inside));
	CHECK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_RANGE_SIZE, inside));
	EXPECT(start == p && rsize == range);
	CHECK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, inside));
	EXPECT(type == CU_MEMORYTYPE_DEVICE);
	start = rsize = 0, type = 0;
	CHECK(cuPointerGetAttributes(4, attrs, data, inside));
	EXPECT(start == p && rsize == range && type == CU_MEMORYTYPE_DEVICE && ordinal == 0);
	/* Only base and size are asked for: either may be left out. */
	CHECK(cuMemGetAddressRange_v2(NULL, &range, inside));
	CHECK(cuMemGetAddressRange_v2(&base, NULL, inside));
}

static void check_info(size_t limit, CUdevice dev)
{
	size_t free1, free2, total, dev_total;
	CUdeviceptr p;
	CUresult res;

	CHECK(cuDeviceTotalMem_v2(&dev_total, dev));
	CHECK(cuMemGetInfo_v2(&free1, &total));
	printf("cuMemGetInfo: free %zu MiB, total %zu MiB (device %zu MiB)\n", free1 / MIB,
	       total / MIB, dev_total / MIB);
	EXPECT(free1 <= total);
	EXPECT(total == (routed && limit ? limit : dev_total));
	CHECK(cuMemAlloc_v2(&p, 8 * MIB));
	CHECK(cuMemGetInfo_v2(&free2, &total));
	EXPECT(free2 + 8 * MIB <= free1);
	CHECK(cuMemFree_v2(p));
	if (!limit)
		return;
	/* Above the limit: out of memory through gpuvm, fine for the driver. */
	res = cuMemAlloc_v2(&p, limit + 2 * MIB);
	printf("allocating limit + 2 MiB: CUresult %d\n", (int)res);
	if (routed) {
		EXPECT(res == CUDA_ERROR_OUT_OF_MEMORY);
	} else {
		CHECK(res);
		CHECK(cuMemFree_v2(p));
	}
}

/* The program's own VMM memory: every answer is the driver's. */
static void check_own_mapping(CUdevice dev)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = dev },
	};
	CUmemAccessDesc access = {
		.location = prop.location, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
	};
	CUmemGenericAllocationHandle handle;
	CUdeviceptr va, base, start;
	size_t gran, size, rsize;
	unsigned char buf[4096];

	CHECK(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
	CHECK(cuMemAddressReserve(&va, 2 * gran, 0, 0, 0));
	CHECK(cuMemCreate(&handle, gran, &prop, 0));
	CHECK(cuMemMap(va, gran, 0, handle, 0));
	CHECK(cuMemSetAccess(va, gran, &access, 1));
	cutest_fill(buf, sizeof(buf), 5);
	CHECK(cuMemcpyHtoD_v2(va + 100, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	CHECK(cuMemcpyDtoH_v2(buf, va + 100, sizeof(buf)));
	EXPECT(!cutest_verify(buf, sizeof(buf), 5));
	CHECK(cuMemGetAddressRange_v2(&base, &size, va + 100));
	EXPECT(base == va && size == gran);
	CHECK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, va + 100));
	CHECK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_RANGE_SIZE, va + 100));
	EXPECT(start == va && rsize >= gran);
	/* Not cuMemAlloc memory: cuMemFree refuses it, shim or not. */
	EXPECT(cuMemFree_v2(va) != CUDA_SUCCESS);
	CHECK(cuMemUnmap(va, gran));
	CHECK(cuMemRelease(handle));
	CHECK(cuMemAddressFree(va, 2 * gran));
}

int main(int argc, char **argv)
{
	static const size_t small[NR_SMALL] = { 1, 8, 100, 1000, 1000, 4000, 30000, 70000 };
	size_t limit = argc > 2 ? strtoul(argv[2], NULL, 0) * MIB : 0;
	CUdeviceptr p[NR_SMALL], large, pitched;
	CUipcMemHandle ipc;
	size_t pitch;
	CUcontext ctx;
	CUdevice dev;
	int i;

	cutest_mode(argc, argv);
	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));

	check_info(limit, dev);

	for (i = 0; i < NR_SMALL; i++)
		CHECK(cuMemAlloc_v2(&p[i], small[i]));
	CHECK(cuMemAlloc_v2(&large, 3 * MIB + 5));
	for (i = 0; i < NR_SMALL; i++)
		check_range(p[i], small[i]);
	check_range(large, 3 * MIB + 5);

	CHECK(cuMemAllocPitch_v2(&pitched, &pitch, 1000, 33, 8));
	printf("pitch for 1000 bytes: %zu\n", pitch);
	EXPECT(pitch >= 1000);
	if (routed)
		EXPECT(pitch % 512 == 0);
	check_range(pitched, pitch * 33);
	EXPECT_RES(cuMemAllocPitch_v2(&pitched, &pitch, 1000, 33, 3), CUDA_ERROR_INVALID_VALUE);

	/* Legacy IPC of gpuvm memory (cu_ipc tests it whole); refused where
	 * the run directory is (CU_QUERY_IPC=refused): no socket goes there */
	if (routed && getenv("CU_QUERY_IPC") && !strcmp(getenv("CU_QUERY_IPC"), "refused")) {
		EXPECT_RES(cuIpcGetMemHandle(&ipc, large), CUDA_ERROR_NOT_PERMITTED);
	} else if (routed) {
		CHECK(cuIpcGetMemHandle(&ipc, large));
		CHECK(cuIpcGetMemHandle(&ipc, p[0]));
	}

	check_own_mapping(dev);

	for (i = 0; i < NR_SMALL; i++)
		CHECK(cuMemFree_v2(p[i]));
	CHECK(cuMemFree_v2(large));
	CHECK(cuMemFree_v2(pitched));
	CHECK(cuDevicePrimaryCtxRelease(dev));
	printf("ok\n");
	return 0;
}
