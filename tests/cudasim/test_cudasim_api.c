// SPDX-License-Identifier: MIT
/*
 * test_cudasim_api.c - cudasim: initialization, devices, contexts, plain
 * allocation, copies, streams and capture, cuGetProcAddress, modules.
 */
#include "cudasim_test.h"

/* ------------------------------------------------------------------ init */

START_TEST(test_not_initialized)
{
	CUdeviceptr p;
	int n, v;

	CKE(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
	CKE(cuMemAlloc(&p, 4096), CUDA_ERROR_NOT_INITIALIZED);
	CKE(cuMemAddressReserve(&p, GRAN, 0, 0, 0), CUDA_ERROR_NOT_INITIALIZED);
	CK(cuDriverGetVersion(&v));
	ck_assert_int_eq(v, 13000);
	CKE(cuInit(1), CUDA_ERROR_INVALID_VALUE);
	CK(cuInit(0));
	CK(cuInit(0));
	CK(cuDeviceGetCount(&n));
	ck_assert_int_eq(n, 1);
}
END_TEST

static void child_bad_mem(void)
{
	setenv("CUDASIM_MEM", "12X", 1);
	/* the failure is sticky: a second cuInit says the same */
	exit(cuInit(0) == CUDA_ERROR_INVALID_VALUE &&
	     cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1);
}

START_TEST(test_bad_mem_env)
{
	char err[1024];
	int st = run_child(child_bad_mem, err, sizeof(err));

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_ptr_nonnull(strstr(err, "CUDASIM_MEM"));
}
END_TEST

static void child_bad_fail(void)
{
	setenv("CUDASIM_FAIL", "cuMemMap", 1);
	exit(cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1);
}

START_TEST(test_bad_fail_env)
{
	char err[1024];
	int st = run_child(child_bad_fail, err, sizeof(err));

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_ptr_nonnull(strstr(err, "CUDASIM_FAIL"));
}
END_TEST

static void child_driver_version(void)
{
	int v = 0;

	setenv("CUDASIM_DRIVER_VERSION", "12090", 1);
	exit(cuDriverGetVersion(&v) == CUDA_SUCCESS && v == 12090 ? 0 : 1);
}

static void child_bad_driver_version(void)
{
	int v = 0, w = 0;

	setenv("CUDASIM_DRIVER_VERSION", "13.0", 1);
	/* a bad value is reported, the default kept, and the driver works */
	exit(cuDriverGetVersion(&v) == CUDA_SUCCESS && v == 13000 &&
	     cuDriverGetVersion(&w) == CUDA_SUCCESS && w == 13000 &&
	     cuInit(0) == CUDA_SUCCESS ? 0 : 1);
}

START_TEST(test_driver_version_env)
{
	char err[1024];
	int st = run_child(child_driver_version, err, sizeof(err));

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_str_eq(err, "");
	st = run_child(child_bad_driver_version, err, sizeof(err));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* one line, however often the version is asked for */
	ck_assert_ptr_nonnull(strstr(err, "CUDASIM_DRIVER_VERSION='13.0'"));
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_no_devices)
{
	setenv("CUDASIM_DEVICES", "0", 1);
	CKE(cuInit(0), CUDA_ERROR_NO_DEVICE);
}
END_TEST

START_TEST(test_mem_suffix)
{
	size_t total, free_b, t2;
	CUdevice dev;

	sim_up("64M", NULL);
	CK(cuDeviceGet(&dev, 0));
	CK(cuDeviceTotalMem(&total, dev));
	ck_assert_uint_eq(total, 64 * MiB);
	CK(cuMemGetInfo(&free_b, &t2));
	ck_assert_uint_eq(t2, 64 * MiB);
	ck_assert_uint_eq(free_b, 64 * MiB);
	sim_down();
}
END_TEST

START_TEST(test_devices_and_attributes)
{
	char name[64];
	int n, v, peer;
	CUdevice dev;

	sim_up(NULL, "2");
	CK(cuDeviceGetCount(&n));
	ck_assert_int_eq(n, 2);
	CK(cuDeviceGet(&dev, 1));
	CKE(cuDeviceGet(&dev, 2), CUDA_ERROR_INVALID_DEVICE);
	CK(cuDeviceGetName(name, sizeof(name), 1));
	ck_assert_str_eq(name, "cudasim virtual GPU 1");
	CKE(cuDeviceGetName(name, sizeof(name), 5), CUDA_ERROR_INVALID_DEVICE);
	CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0));
	ck_assert_int_eq(v, 1);
	CK(cuDeviceGetAttribute(
		&v, CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED, 0));
	ck_assert_int_eq(v, 1);
	CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 0));
	ck_assert_int_eq(v, 1);
	CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, 0));
	ck_assert_int_eq(v, 1);
	CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0));
	ck_assert_int_ge(v, 7);
	CK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0));
	ck_assert_int_gt(v, 0);
	CKE(cuDeviceGetAttribute(&v, (CUdevice_attribute)0, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, -1),
	    CUDA_ERROR_INVALID_DEVICE);
	CK(cuDeviceCanAccessPeer(&peer, 0, 1));
	ck_assert_int_eq(peer, 1);
	CK(cuDeviceCanAccessPeer(&peer, 0, 0));
	ck_assert_int_eq(peer, 0);
	sim_down();
}
END_TEST

/* --------------------------------------------------------------- context */

static CUresult ctx_create(CUcontext *ctx, CUdevice dev)
{
#if CUDA_VERSION >= 13000
	return cuCtxCreate(ctx, NULL, 0, dev);
#else
	return cuCtxCreate(ctx, 0, dev);
#endif
}

START_TEST(test_contexts)
{
	CUcontext pctx, pctx2, cur, made, popped;
	CUdeviceptr p;
	CUdevice dev;
	unsigned int flags;
	int active;

	setenv("CUDASIM_DEVICES", "2", 1);
	CK(cuInit(0));
	CK(cuCtxGetCurrent(&cur));
	ck_assert_ptr_null(cur);
	CKE(cuMemAlloc(&p, 1024), CUDA_ERROR_INVALID_CONTEXT);
	CKE(cuCtxGetDevice(&dev), CUDA_ERROR_INVALID_CONTEXT);
	CKE(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);

	CK(cuDevicePrimaryCtxRetain(&pctx, 1));
	CK(cuDevicePrimaryCtxRetain(&pctx2, 1));
	ck_assert_ptr_eq(pctx, pctx2);
	CK(cuDevicePrimaryCtxGetState(1, &flags, &active));
	ck_assert_int_eq(active, 1);
	CKE(cuDevicePrimaryCtxRetain(&pctx, 7), CUDA_ERROR_INVALID_DEVICE);
	CK(cuCtxSetCurrent(pctx));
	CK(cuCtxGetDevice(&dev));
	ck_assert_int_eq(dev, 1);
	CK(cuCtxSynchronize());

	CK(ctx_create(&made, 0));
	CK(cuCtxGetCurrent(&cur));
	ck_assert_ptr_eq(cur, made);
	CK(cuCtxGetDevice(&dev));
	ck_assert_int_eq(dev, 0);
	CK(cuCtxPushCurrent(pctx));
	CK(cuCtxGetCurrent(&cur));
	ck_assert_ptr_eq(cur, pctx);
	CK(cuCtxPopCurrent(&popped));
	ck_assert_ptr_eq(popped, pctx);
	CK(cuCtxPopCurrent(&popped));
	ck_assert_ptr_eq(popped, made);
	CK(cuCtxDestroy(made));
	CKE(cuCtxSetCurrent(made), CUDA_ERROR_INVALID_CONTEXT);
	CKE(cuCtxDestroy(made), CUDA_ERROR_INVALID_CONTEXT);

	CK(cuDevicePrimaryCtxRelease(1));
	CK(cuDevicePrimaryCtxRelease(1));
	CKE(cuDevicePrimaryCtxRelease(1), CUDA_ERROR_INVALID_CONTEXT);
	CK(cuDevicePrimaryCtxGetState(1, &flags, &active));
	ck_assert_int_eq(active, 0);
	/* pctx is still current on this thread but no longer alive */
	CKE(cuMemAlloc(&p, 1024), CUDA_ERROR_INVALID_CONTEXT);
}
END_TEST

START_TEST(test_peer_access)
{
	CUcontext c0, c1;

	setenv("CUDASIM_DEVICES", "2", 1);
	CK(cuInit(0));
	CK(cuDevicePrimaryCtxRetain(&c0, 0));
	CK(cuDevicePrimaryCtxRetain(&c1, 1));
	CK(cuCtxSetCurrent(c0));
	CK(cuCtxEnablePeerAccess(c1, 0));
	CKE(cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
	CKE(cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_INVALID_DEVICE);
	CKE(cuCtxEnablePeerAccess(c1, 1), CUDA_ERROR_INVALID_VALUE);
	CK(cuDevicePrimaryCtxRelease(0));
	CK(cuDevicePrimaryCtxRelease(1));
}
END_TEST

/* ----------------------------------------------------------------- alloc */

START_TEST(test_alloc_basic)
{
	CUdeviceptr p, q, base;
	size_t free0, free1, total, size;

	sim_up("16M", NULL);
	CK(cuMemGetInfo(&free0, &total));
	CK(cuMemAlloc(&p, 1000));
	ck_assert_uint_eq(p % 256, 0);
	CK(cuMemGetInfo(&free1, &total));
	ck_assert_uint_eq(free0 - free1, GRAN);	/* paged: a 2 MiB page */
	memset((void *)p, 0xab, 1000);		/* host can reach it */
	CK(cuMemAlloc(&q, 3 * MiB));
	CK(cuMemGetAddressRange(&base, &size, q + 12345));
	ck_assert_uint_eq(base, q);
	ck_assert_uint_eq(size, 3 * MiB);
	CKE(cuMemGetAddressRange(&base, &size, (CUdeviceptr)(uintptr_t)&size),
	    CUDA_ERROR_NOT_FOUND);
	CKE(cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemFree(q + 512), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemFree(0));				/* as the driver */
	CK(cuMemFree(q));
	CKE(cuMemFree(q), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemFree(p));
	CK(cuMemGetInfo(&free1, &total));
	ck_assert_uint_eq(free0, free1);
	CKE(cuMemAlloc(&p, 17 * MiB), CUDA_ERROR_OUT_OF_MEMORY);
	sim_down();
}
END_TEST

/* CUDASIM_ALLOC=contiguous: plain cuMemAlloc fragments (test_cudasim_alloc
 * has the paged counterpart) */
START_TEST(test_alloc_contiguous_fragments)
{
	CUdeviceptr p[8], big;
	size_t free_b, total;
	int i;

	setenv("CUDASIM_ALLOC", "contiguous", 1);
	sim_up("8M", NULL);
	for (i = 0; i < 8; i++)
		CK(cuMemAlloc(&p[i], MiB));
	CKE(cuMemAlloc(&big, 512), CUDA_ERROR_OUT_OF_MEMORY);
	for (i = 0; i < 8; i += 2)
		CK(cuMemFree(p[i]));
	CK(cuMemGetInfo(&free_b, &total));
	ck_assert_uint_eq(free_b, 4 * MiB);
	/* 4 MiB free, but in 1 MiB holes: a 2 MiB request cannot be met */
	CKE(cuMemAlloc(&big, 2 * MiB), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemAlloc(&big, MiB));
	CK(cuMemFree(big));
	for (i = 1; i < 8; i += 2)
		CK(cuMemFree(p[i]));
	CK(cuMemAlloc(&big, 8 * MiB));
	CK(cuMemFree(big));
	sim_down();
}
END_TEST

START_TEST(test_alloc_shares_capacity_with_vmm)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h;
	CUdeviceptr p;

	sim_up("8M", NULL);
	CK(cuMemCreate(&h, 6 * MiB, &prop, 0));
	CKE(cuMemAlloc(&p, 3 * MiB), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemAlloc(&p, 2 * MiB));
	CKE(cuMemCreate(&h, GRAN, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemFree(p));
	CK(cuMemRelease(h));
	sim_down();
}
END_TEST

START_TEST(test_alloc_pitch)
{
	CUdeviceptr p;
	size_t pitch;

	sim_up(NULL, NULL);
	CKE(cuMemAllocPitch(&p, &pitch, 100, 10, 3), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemAllocPitch(&p, &pitch, 100, 10, 4));
	ck_assert_uint_ge(pitch, 100);
	ck_assert_uint_eq(pitch % 256, 0);
	CK(cuMemFree(p));
	sim_down();
}
END_TEST

START_TEST(test_alloc_async_and_pool)
{
	CUmemoryPool pool, got;
	CUdeviceptr p, q;
	CUstream s;

	sim_up(NULL, NULL);
	CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CK(cuMemAllocAsync(&p, 4096, s));
	CK(cuDeviceGetDefaultMemPool(&pool, 0));
	CK(cuMemAllocFromPoolAsync(&q, 8192, pool, s));
	CK(cuPointerGetAttribute(&got, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, q));
	ck_assert_ptr_eq(got, pool);
	CKE(cuMemAllocAsync(&p, 4096, (CUstream)(uintptr_t)0x1234), CUDA_ERROR_INVALID_HANDLE);
	CK(cuMemFreeAsync(q, s));
	CK(cuMemFreeAsync(p, NULL));
	CK(cuStreamSynchronize(s));
	CK(cuStreamDestroy(s));
	sim_down();
}
END_TEST

/* ------------------------------------------------------------------ copy */

START_TEST(test_copy_and_set)
{
	CUdeviceptr a, b;
	uint16_t h16[8];
	char host[256], back[256];
	CUstream s;
	int i;

	sim_up(NULL, NULL);
	CK(cuMemAlloc(&a, 4096));
	CK(cuMemAlloc(&b, 4096));
	for (i = 0; i < 256; i++)
		host[i] = (char)i;
	CK(cuMemcpyHtoD(a, host, 256));
	CK(cuMemcpyDtoD(b, a, 256));
	CK(cuMemcpy((CUdeviceptr)(uintptr_t)back, b, 256));	/* unified */
	ck_assert_mem_eq(host, back, 256);
	CKE(cuMemcpyHtoD(a + 4000, host, 256), CUDA_ERROR_INVALID_VALUE);	/* past end */
	CKE(cuMemcpyDtoH(back, a, 0), CUDA_SUCCESS);
	CK(cuStreamCreate(&s, 0));
	CK(cuMemcpyHtoDAsync(a, host, 256, s));
	CK(cuMemcpyDtoHAsync(back, a, 256, s));
	CK(cuMemcpyDtoDAsync(b, a, 256, s));
	CK(cuMemcpyAsync(b, a, 256, s));
	CKE(cuMemcpyAsync(b, a, 256, (CUstream)(uintptr_t)0x77), CUDA_ERROR_INVALID_HANDLE);
	CK(cuMemsetD16(a, 0xbeef, 8));
	CK(cuMemcpyDtoH(h16, a, sizeof(h16)));
	ck_assert_uint_eq(h16[7], 0xbeef);
	CKE(cuMemsetD16(a + 1, 0, 4), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemsetD32(a + 2, 0, 4), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemsetD8Async(a, 1, 100, s));
	CK(cuMemsetD16Async(a, 1, 100, s));
	CK(cuMemsetD32Async(a, 1, 100, s));
	CK(cuStreamDestroy(s));
	CK(cuMemFree(a));
	CK(cuMemFree(b));
	CKE(cuMemcpyHtoD(a, host, 16), CUDA_ERROR_INVALID_VALUE);	/* freed */
	sim_down();
}
END_TEST

/* ---------------------------------------------------------------- stream */

START_TEST(test_streams_events)
{
	CUevent e1, e2, nt;
	CUstream s;
	float ms;

	sim_up(NULL, NULL);
	CK(cuStreamCreate(&s, 0));
	CK(cuEventCreate(&e1, 0));
	CK(cuEventCreate(&e2, CU_EVENT_DEFAULT));
	CK(cuEventCreate(&nt, CU_EVENT_DISABLE_TIMING));
	CK(cuEventQuery(e1));				/* never recorded: complete */
	CKE(cuEventElapsedTime(&ms, e1, e2), CUDA_ERROR_INVALID_HANDLE);
	CK(cuEventRecord(e1, s));
	CK(cuStreamQuery(s));
	CK(cuEventRecord(e2, s));
	CK(cuEventQuery(e2));
	CK(cuEventSynchronize(e2));
	CK(cuEventElapsedTime(&ms, e1, e2));
	ck_assert(ms >= 0.0f);
	CK(cuEventRecord(nt, NULL));
	CKE(cuEventElapsedTime(&ms, e1, nt), CUDA_ERROR_INVALID_HANDLE);
	CK(cuStreamWaitEvent(s, e1, 0));
	CK(cuStreamSynchronize(s));
	CK(cuStreamSynchronize(NULL));
	CK(cuEventDestroy(e1));
	CKE(cuEventQuery(e1), CUDA_ERROR_INVALID_HANDLE);
	CK(cuEventDestroy(e2));
	CK(cuEventDestroy(nt));
	CK(cuStreamDestroy(s));
	CKE(cuStreamQuery(s), CUDA_ERROR_INVALID_HANDLE);
	sim_down();
}
END_TEST

static CUresult capture_info(CUstream s, CUstreamCaptureStatus *st, cuuint64_t *id)
{
#if CUDA_VERSION >= 13000
	return cuStreamGetCaptureInfo(s, st, id, NULL, NULL, NULL, NULL);
#else
	return cuStreamGetCaptureInfo(s, st, id, NULL, NULL, NULL);
#endif
}

START_TEST(test_capture)
{
	CUstreamCaptureStatus st;
	cuuint64_t id = 0;
	CUdeviceptr p;
	CUgraph g;
	CUstream s;

	sim_up(NULL, NULL);
	CK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CK(cuStreamIsCapturing(s, &st));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_NONE);
	CKE(cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL),
	    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	CKE(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_ILLEGAL_STATE);
	CK(cuStreamIsCapturing(s, &st));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	CK(capture_info(s, &st, &id));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	ck_assert_uint_ne(id, 0);
	/* stream-ordered allocation is legal during capture */
	CK(cuMemAllocAsync(&p, 4096, s));
	CK(cuMemFreeAsync(p, s));
	/* an unsafe call breaks the capture */
	CKE(cuCtxSynchronize(), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CK(cuStreamIsCapturing(s, &st));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_INVALIDATED);
	CKE(cuStreamEndCapture(s, &g), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	CK(cuStreamIsCapturing(s, &st));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_NONE);
	CKE(cuStreamEndCapture(s, &g), CUDA_ERROR_ILLEGAL_STATE);
	/* synchronizing a capturing stream invalidates the capture */
	CK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
	CKE(cuStreamSynchronize(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CK(cuStreamIsCapturing(s, &st));
	ck_assert_int_eq(st, CU_STREAM_CAPTURE_STATUS_INVALIDATED);
	CKE(cuStreamEndCapture(s, &g), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	CK(cuStreamDestroy(s));
	sim_down();
}
END_TEST

/* -------------------------------------------------------------- procaddr */

static void *lib_sym(const char *name)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);

	ck_assert_ptr_nonnull(h);
	return dlsym(h, name);
}

typedef CUresult (*getproc_v2_fn)(const char *, void **, int, cuuint64_t,
				  CUdriverProcAddressQueryResult *);
typedef CUresult (*getproc_v1_fn)(const char *, void **, int, cuuint64_t);

START_TEST(test_procaddr)
{
	getproc_v2_fn gp = (getproc_v2_fn)lib_sym("cuGetProcAddress_v2");
	getproc_v1_fn gp1 = (getproc_v1_fn)lib_sym("cuGetProcAddress");
	CUdriverProcAddressQueryResult st;
	const char *s;
	void *fn;

	ck_assert_ptr_nonnull(gp);
	ck_assert_ptr_nonnull(gp1);
	/* before cuInit, as the runtime does */
	CK(gp("cuMemAlloc", &fn, 12000, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_SUCCESS);
	ck_assert_ptr_eq(fn, lib_sym("cuMemAlloc_v2"));
	CK(gp("cuMemAlloc", &fn, 3000, 0, &st));
	ck_assert_ptr_eq(fn, lib_sym("cuMemAlloc"));
	CK(gp1("cuMemFree", &fn, 11030, 0));
	ck_assert_ptr_eq(fn, lib_sym("cuMemFree_v2"));
	/* not found: success, and the status says why (as the driver) */
	CK(gp("cuMemCreate", &fn, 10000, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	ck_assert_ptr_null(fn);
	CK(gp("cuNoSuchThing", &fn, 13000, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	ck_assert_ptr_null(fn);
	CKE(gp1("cuNoSuchThing", &fn, 13000, 0), CUDA_ERROR_NOT_FOUND);
	CK(gp("cuMemAllocAsync", &fn, 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st));
	ck_assert_ptr_eq(fn, lib_sym("cuMemAllocAsync_ptsz"));
	CK(gp("cuMemAllocAsync", &fn, 12000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &st));
	ck_assert_ptr_eq(fn, lib_sym("cuMemAllocAsync"));
	CK(gp("cuMemcpyHtoD", &fn, 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st));
	ck_assert_ptr_eq(fn, lib_sym("cuMemcpyHtoD_v2_ptds"));
	CK(gp("cuMemCreate", &fn, 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st));
	ck_assert_ptr_eq(fn, lib_sym("cuMemCreate"));
	CK(gp("cuGetProcAddress", &fn, 12000, 0, &st));
	ck_assert_ptr_eq(fn, (void *)gp);
	CK(gp("cuGetProcAddress", &fn, 11080, 0, &st));
	ck_assert_ptr_eq(fn, (void *)gp1);
	CKE(gp("cuMemAlloc", &fn, 12000, 4, &st), CUDA_ERROR_INVALID_VALUE);
	/* every implemented name is a real symbol too */
	ck_assert_ptr_nonnull(lib_sym("cuMemsetD8_v2"));
	ck_assert_ptr_nonnull(lib_sym("cuStreamGetCaptureInfo_v3"));
	ck_assert_ptr_null(lib_sym("cs_enter"));		/* internals stay hidden */

	CK(cuGetErrorName(CUDA_ERROR_OUT_OF_MEMORY, &s));
	ck_assert_str_eq(s, "CUDA_ERROR_OUT_OF_MEMORY");
	CK(cuGetErrorString(CUDA_ERROR_INVALID_VALUE, &s));
	ck_assert_str_eq(s, "invalid argument");
	CKE(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
}
END_TEST

typedef CUresult (*legacy_alloc_fn)(unsigned int *, unsigned int);
typedef CUresult (*legacy_free_fn)(unsigned int);

START_TEST(test_legacy_entry_points)
{
	getproc_v2_fn gp = (getproc_v2_fn)lib_sym("cuGetProcAddress_v2");
	legacy_alloc_fn alloc;
	legacy_free_fn lfree;
	unsigned int p;
	void *fn;

	sim_up(NULL, NULL);
	CK(gp("cuMemAlloc", &fn, 2000, 0, NULL));
	alloc = (legacy_alloc_fn)fn;
	CK(gp("cuMemFree", &fn, 2000, 0, NULL));
	lfree = (legacy_free_fn)fn;
	CK(alloc(&p, 4096));		/* a 32-bit device pointer */
	ck_assert_uint_ne(p, 0);
	memset((void *)(uintptr_t)p, 1, 4096);
	CK(lfree(p));
	sim_down();
}
END_TEST

/* ---------------------------------------------------------------- module */

static const char module_image[] = "CUDASIM-MODULE\0ignored table";

static void kern_fill(void **params, unsigned grid[3], unsigned block[3])
{
	CUdeviceptr p = *(CUdeviceptr *)params[0];
	size_t n = *(size_t *)params[1];

	(void)grid, (void)block;
	if (cudasim_check_range(p, n)) {
		cudasim_kernel_fault(p);
		return;
	}
	memset((void *)p, 0x42, n);
}

START_TEST(test_module_launch)
{
	CUmodule mod;
	CUfunction f;
	CUdeviceptr p;
	size_t n = 1000;
	void *params[2] = { &p, &n };
	unsigned char b;

	ck_assert_int_eq(cudasim_register_kernel("fill", kern_fill), 0);
	ck_assert_int_eq(cudasim_register_kernel(NULL, kern_fill), -EINVAL);
	sim_up(NULL, NULL);
	CKE(cuModuleLoadData(&mod, "not a module image"), CUDA_ERROR_INVALID_IMAGE);
	CK(cuModuleLoadData(&mod, module_image));
	CKE(cuModuleGetFunction(&f, mod, "nope"), CUDA_ERROR_NOT_FOUND);
	CK(cuModuleGetFunction(&f, mod, "fill"));
	CK(cuMemAlloc(&p, 1024));
	CK(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 0, NULL, params, NULL));
	CK(cuMemcpyDtoH(&b, p + 999, 1));
	ck_assert_uint_eq(b, 0x42);
	CKE(cuLaunchKernel(f, 0, 1, 1, 256, 1, 1, 0, NULL, params, NULL),
	    CUDA_ERROR_INVALID_VALUE);
	n = 4096;					/* beyond the allocation */
	CKE(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
	    CUDA_ERROR_ILLEGAL_ADDRESS);
	CK(cuMemFree(p));
	CK(cuModuleUnload(mod));
	CKE(cuModuleUnload(mod), CUDA_ERROR_INVALID_HANDLE);
	CKE(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
	    CUDA_ERROR_INVALID_HANDLE);
	sim_down();
}
END_TEST

static Suite *cudasim_api_suite(void)
{
	Suite *s = suite_create("cudasim-api");
	TCase *tc;

	tc = tcase_create("init");
	tcase_add_test(tc, test_not_initialized);
	tcase_add_test(tc, test_bad_mem_env);
	tcase_add_test(tc, test_bad_fail_env);
	tcase_add_test(tc, test_driver_version_env);
	tcase_add_test(tc, test_no_devices);
	tcase_add_test(tc, test_mem_suffix);
	tcase_add_test(tc, test_devices_and_attributes);
	suite_add_tcase(s, tc);

	tc = tcase_create("context");
	tcase_add_test(tc, test_contexts);
	tcase_add_test(tc, test_peer_access);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_alloc_basic);
	tcase_add_test(tc, test_alloc_contiguous_fragments);
	tcase_add_test(tc, test_alloc_shares_capacity_with_vmm);
	tcase_add_test(tc, test_alloc_pitch);
	tcase_add_test(tc, test_alloc_async_and_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("copy");
	tcase_add_test(tc, test_copy_and_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_test(tc, test_streams_events);
	tcase_add_test(tc, test_capture);
	suite_add_tcase(s, tc);

	tc = tcase_create("procaddr");
	tcase_add_test(tc, test_procaddr);
	tcase_add_test(tc, test_legacy_entry_points);
	suite_add_tcase(s, tc);

	tc = tcase_create("module");
	tcase_add_test(tc, test_module_launch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cudasim_api_suite());
}
