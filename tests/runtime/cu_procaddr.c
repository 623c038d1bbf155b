// SPDX-License-Identifier: MIT
/*
 * cu_procaddr.c - a program that finds the driver the way the CUDA runtime
 * 11.3+ does: dlopen("libcuda.so.1"), dlsym of cuGetProcAddress only, and
 * every other entry point through cuGetProcAddress_v2 by base name, with
 * a cudaVersion and the per-thread-stream flag.
 */
#include "cuapi.h"

#define VERSION	12000

typedef CUresult gpa_v1_fn(const char *, void **, int, cuuint64_t);
typedef CUresult gpa_v2_fn(const char *, void **, int, cuuint64_t,
			   CUdriverProcAddressQueryResult *);

static gpa_v2_fn *gpa;

/*
 * Pointer identities between cuGetProcAddress and dlsym answers hold for a
 * driver whose table points at its own functions.  cudasim's table binds
 * its exported names through the dynamic linker, so with the shim
 * preloaded but disabled (GPUVM_DISABLE=1) it hands out the shim's
 * pass-through functions: CUTEST_LOOSE=1 skips those checks there.
 */
static bool loose;

#define EXPECT_SAME(a, b)	EXPECT(loose || (void *)(a) == (void *)(b))

static void *get(const char *name, int version, cuuint64_t flags)
{
	CUdriverProcAddressQueryResult status = -1;
	void *fn = NULL;

	CHECK(gpa(name, &fn, version, flags, &status));
	EXPECT(status == CU_GET_PROC_ADDRESS_SUCCESS);
	EXPECT(fn);
	return fn;
}

int main(int argc, char **argv)
{
	CUresult (*alloc_v1)(unsigned int *dptr, unsigned int size);
	CUresult (*free_v1)(unsigned int dptr);
	CUresult (*alloc_ptsz)(CUdeviceptr *, size_t, CUstream);
	CUresult (*free_ptsz)(CUdeviceptr, CUstream);
	CUdriverProcAddressQueryResult status;
	struct cu_counts before;
	struct cu_api cu;
	gpa_v1_fn *gpa_v1;
	CUresult res;
	CUdeviceptr async;
	unsigned int low;
	void *lib, *fn;
	CUdevice dev;
	long n;

	cutest_mode(argc, argv);
	loose = getenv("CUTEST_LOOSE") && !strcmp(getenv("CUTEST_LOOSE"), "1");
	lib = dlopen("libcuda.so.1", RTLD_NOW);
	EXPECT(lib);
	*(void **)&gpa_v1 = dlsym(lib, "cuGetProcAddress");
	EXPECT(gpa_v1);
	/* The 12.x runtime asks the 11.3 entry point for the 12.0 one. */
	CHECK(gpa_v1("cuGetProcAddress", &fn, VERSION, 0));
	gpa = (gpa_v2_fn *)fn;
	EXPECT_SAME(gpa, dlsym(lib, "cuGetProcAddress_v2"));

	*(void **)&cu.init = get("cuInit", VERSION, 0);
	*(void **)&cu.device_get = get("cuDeviceGet", VERSION, 0);
	*(void **)&cu.primary_retain = get("cuDevicePrimaryCtxRetain", VERSION, 0);
	*(void **)&cu.primary_release = get("cuDevicePrimaryCtxRelease", VERSION, 0);
	*(void **)&cu.ctx_set_current = get("cuCtxSetCurrent", VERSION, 0);
	*(void **)&cu.mem_alloc = get("cuMemAlloc", VERSION, 0);
	*(void **)&cu.mem_alloc_pitch = get("cuMemAllocPitch", VERSION, 0);
	*(void **)&cu.mem_free = get("cuMemFree", VERSION, 0);
	*(void **)&cu.mem_alloc_async = get("cuMemAllocAsync", VERSION, 0);
	*(void **)&cu.mem_free_async = get("cuMemFreeAsync", VERSION, 0);
	*(void **)&cu.stream_synchronize = get("cuStreamSynchronize", VERSION, 0);
	*(void **)&cu.htod = get("cuMemcpyHtoD", VERSION, 0);
	*(void **)&cu.dtoh = get("cuMemcpyDtoH", VERSION, 0);

	/* The concrete versions are the ones dlsym finds under their names. */
	EXPECT_SAME(cu.mem_alloc, dlsym(lib, "cuMemAlloc_v2"));
	EXPECT_SAME(cu.mem_free, dlsym(lib, "cuMemFree_v2"));
	EXPECT_SAME(cu.mem_alloc_async, dlsym(lib, "cuMemAllocAsync"));
	/* Both cuGetProcAddress versions agree. */
	CHECK(gpa_v1("cuMemAlloc", &fn, VERSION, 0));
	EXPECT_SAME(fn, cu.mem_alloc);

	/* _ptsz: the per-thread default stream flag picks the other variant. */
	*(void **)&alloc_ptsz = get("cuMemAllocAsync", VERSION,
				    CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
	*(void **)&free_ptsz = get("cuMemFreeAsync", VERSION,
				   CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
	EXPECT_SAME(alloc_ptsz, dlsym(lib, "cuMemAllocAsync_ptsz"));
	EXPECT_SAME(free_ptsz, dlsym(lib, "cuMemFreeAsync_ptsz"));
	/* (A driver may make them one function; the shim's hooks are two.) */
	if (routed)
		EXPECT((void *)alloc_ptsz != (void *)cu.mem_alloc_async);
	/* A stream-less function has no _ptsz variant: the same one. */
	EXPECT_SAME(get("cuMemAlloc", VERSION, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM),
		    cu.mem_alloc);

	/* cudaVersion 3.0 selects the 32-bit cuMemAlloc of old. */
	*(void **)&alloc_v1 = get("cuMemAlloc", 3000, 0);
	*(void **)&free_v1 = get("cuMemFree", 3000, 0);
	EXPECT_SAME(alloc_v1, dlsym(lib, "cuMemAlloc"));
	EXPECT((void *)alloc_v1 != (void *)cu.mem_alloc);

	/*
	 * What the driver refuses, it refuses through the shim too (the
	 * status says why; drivers return CUDA_SUCCESS or CUDA_ERROR_NOT_FOUND
	 * with it).
	 */
	fn = (void *)1;
	gpa("cuMemAllocAsync", &fn, 11000, 0, &status);
	EXPECT(status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT && !fn);
	fn = (void *)1;
	gpa("cuNoSuchFunction", &fn, VERSION, 0, &status);
	EXPECT(status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND && !fn);

	cu_start(&cu, &dev);
	cu_counts_take(&before);
	n = cu_workload(&cu, NULL);
	/* Per-thread default stream: NULL means that stream for _ptsz. */
	CHECK(alloc_ptsz(&async, 1 << 20, NULL));
	CHECK(free_ptsz(async, NULL));
	CHECK(cu.stream_synchronize(CU_STREAM_PER_THREAD));
	cu_counts_check(&before, n + 1);

	/*
	 * The old entry point is the driver's, with or without the shim.
	 * cudasim serves it from low addresses; a 64-bit driver may refuse it
	 * (the H200's answers CUDA_ERROR_INVALID_CONTEXT).
	 */
	res = alloc_v1(&low, 4096);
	printf("32-bit cuMemAlloc: CUresult %d\n", (int)res);
	if (res == CUDA_SUCCESS)
		CHECK(free_v1(low));
	else
		EXPECT(cutest_calls("cuMemAlloc") < 0);

	CHECK(cu.primary_release(dev));
	dlclose(lib);
	printf("ok\n");
	return 0;
}
