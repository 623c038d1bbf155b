// SPDX-License-Identifier: MIT
/*
 * test_cudasim_runtime.c - the entry points the CUDA runtime resolves
 * (issue 13): every name libcudart 13.0 asks for resolves, the refused ones
 * refuse, and the ones a host-only runtime program uses behave as
 * documented.  They are found through cuGetProcAddress_v2, as the runtime
 * finds them, so the suite compiles against either cuda.h.
 */
#include "cudasim_test.h"

/* resolve @name at CUDA 13.0 as the runtime does, or fail the test */
static void *proc(const char *name)
{
	CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	void *fn = NULL;

	CK(cuGetProcAddress_v2(name, &fn, 13000, 0, &st));
	ck_assert_msg(st == CU_GET_PROC_ADDRESS_SUCCESS && fn, "%s does not resolve", name);
	return fn;
}

#define PROC(type, name) ((type)proc(name))

START_TEST(test_runtime_names_resolve)
{
	char path[4096], name[128];
	const char *src = getenv("GPUVM_SRC");
	unsigned long long flags;
	int version, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/cudasim/cudart13_procaddr.txt", src ? src : ".");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	/* before cuInit, as the runtime asks */
	while (fscanf(f, "%127s", name) == 1) {
		CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
		void *fn = NULL;

		if (name[0] == '#') {
			ck_assert_int_ge(fscanf(f, "%*[^\n]"), 0);
			continue;
		}
		ck_assert_int_eq(fscanf(f, "%d %llx", &version, &flags), 2);
		CK(cuGetProcAddress_v2(name, &fn, version, flags, &st));
		ck_assert_msg(st == CU_GET_PROC_ADDRESS_SUCCESS && fn, "%s %d %#llx: status %d",
			      name, version, flags, (int)st);
		n++;
	}
	fclose(f);
	ck_assert_int_eq(n, 439);
}
END_TEST

START_TEST(test_runtime_names_status)
{
	CUdriverProcAddressQueryResult st;
	void *fn = &st;

	/* the runtime's first request is for an empty name */
	CK(cuGetProcAddress_v2("", &fn, 0, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	ck_assert_ptr_null(fn);
	CK(cuGetProcAddress_v2("cuMemGetDefaultMemPool", &fn, 12090, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CK(cuGetProcAddress_v2("cuLibraryLoadData", &fn, 11080, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CK(cuGetProcAddress_v2("cuMemHostAlloc", &fn, 12000, 0, &st));
	ck_assert_int_eq(st, CU_GET_PROC_ADDRESS_SUCCESS);
	ck_assert_ptr_eq(fn, dlsym(RTLD_DEFAULT, "cuMemHostAlloc"));
}
END_TEST

typedef CUresult (*refused_fn)(void);

static const struct {
	const char *name;
	int version;
} refused[] = {
#define CS_REFUSED(name, version) { #name, version },
#include "refused.h"
#undef CS_REFUSED
};

/* Refused entry points resolve and then refuse, whatever their arguments. */
START_TEST(test_refused)
{
	size_t i, n = sizeof(refused) / sizeof(refused[0]);
	const void *table = &n;
	CUuuid id;

	ck_assert_int_gt(n, 150);
	for (i = 0; i < n; i++)
		CKE(PROC(refused_fn, refused[i].name)(), CUDA_ERROR_NOT_INITIALIZED);
	sim_up(NULL, NULL);
	for (i = 0; i < n; i++)
		ck_assert_msg(PROC(refused_fn, refused[i].name)() == CUDA_ERROR_NOT_SUPPORTED,
			      "%s", refused[i].name);
	/* no private tables: the answer for a UUID the driver does not know */
	memset(&id, 0x6b, sizeof(id));
	CKE(PROC(CUresult (*)(const void **, const CUuuid *), "cuGetExportTable")(&table, &id),
	    CUDA_ERROR_NOT_FOUND);
	ck_assert_ptr_null(table);
	sim_down();
}
END_TEST

/* ------------------------------------------------------------ host memory */

typedef CUresult (*host_alloc_fn)(void **, size_t, unsigned int);
typedef CUresult (*host_free_fn)(void *);
typedef CUresult (*host_register_fn)(void *, size_t, unsigned int);
typedef CUresult (*host_devptr_fn)(CUdeviceptr *, void *, unsigned int);
typedef CUresult (*host_flags_fn)(unsigned int *, void *);

START_TEST(test_host_memory)
{
	host_alloc_fn host_alloc;
	host_free_fn free_host, unregister;
	host_register_fn host_register;
	host_devptr_fn devptr;
	host_flags_fn get_flags;
	unsigned char *h, *buf, back[4096];
	unsigned int mtype = 0, flags = 0;
	CUdeviceptr d, dp = 0, start = 0;
	size_t size = 0, i;
	CUcontext c = NULL;

	sim_up(NULL, NULL);
	host_alloc = PROC(host_alloc_fn, "cuMemHostAlloc");
	free_host = PROC(host_free_fn, "cuMemFreeHost");
	host_register = PROC(host_register_fn, "cuMemHostRegister");
	unregister = PROC(host_free_fn, "cuMemHostUnregister");
	devptr = PROC(host_devptr_fn, "cuMemHostGetDevicePointer");
	get_flags = PROC(host_flags_fn, "cuMemHostGetFlags");

	CKE(host_alloc((void **)&h, 4096, 0x8), CUDA_ERROR_INVALID_VALUE);
	CKE(host_alloc((void **)&h, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CK(host_alloc((void **)&h, 4096, 0x2));		/* DEVICEMAP */
	for (i = 0; i < 4096; i++)
		h[i] = (unsigned char)(i * 7 + 3);
	CK(cuPointerGetAttribute(&mtype, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)h + 10));
	ck_assert_uint_eq(mtype, CU_MEMORYTYPE_HOST);
	CK(cuPointerGetAttribute(&c, CU_POINTER_ATTRIBUTE_CONTEXT, (CUdeviceptr)h));
	ck_assert_ptr_eq(c, test_ctx);
	CK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
				 (CUdeviceptr)h + 100));
	CK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, (CUdeviceptr)h + 100));
	ck_assert(start == (CUdeviceptr)h && size == 4096);
	CK(devptr(&dp, h + 5, 0));
	ck_assert(dp == (CUdeviceptr)h + 5);
	CKE(devptr(&dp, h, 1), CUDA_ERROR_INVALID_VALUE);
	CK(get_flags(&flags, h));
	ck_assert_uint_eq(flags, 0x2);
	/* page-locked memory in copies, and through its device pointer */
	CK(cuMemAlloc(&d, 4096));
	CK(cuMemcpyHtoD(d, h, 4096));
	CK(cuMemcpy((CUdeviceptr)back, d, 4096));
	ck_assert_int_eq(memcmp(back, h, 4096), 0);
	CK(cuMemFree(d));
	CKE(free_host(h + 1), CUDA_ERROR_INVALID_VALUE);
	CK(free_host(h));
	CKE(free_host(h), CUDA_ERROR_INVALID_VALUE);
	CKE(cuPointerGetAttribute(&mtype, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)h),
	    CUDA_ERROR_INVALID_VALUE);

	/* registration of ordinary memory */
	buf = malloc(8192);
	ck_assert_ptr_nonnull(buf);
	CK(host_register(buf, 8192, 0));
	CKE(host_register(buf + 4096, 100, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	CKE(host_register(buf, 10, 0x4), CUDA_ERROR_NOT_SUPPORTED);	/* IOMEMORY */
	CK(cuPointerGetAttribute(&mtype, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)buf));
	ck_assert_uint_eq(mtype, CU_MEMORYTYPE_HOST);
	CKE(get_flags(&flags, buf), CUDA_ERROR_INVALID_VALUE);
	CKE(unregister(buf + 1), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	CK(unregister(buf));
	CKE(unregister(buf), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	free(buf);
	sim_down();
}
END_TEST

static void child_host_leak(void)
{
	void *h;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up(NULL, NULL);
	CK(PROC(host_alloc_fn, "cuMemHostAlloc")(&h, 100, 0));
	exit(0);
}

START_TEST(test_host_memory_leak)
{
	char err[1024];
	int st = run_child(child_host_leak, err, sizeof(err));

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 66);
	ck_assert_ptr_nonnull(strstr(err, "cudasim: leak: host allocation 0x"));
}
END_TEST

/* ---------------------------------------------------------- 2D copy, set */

struct t_memcpy2d {			/* CUDA_MEMCPY2D */
	size_t srcXInBytes, srcY;
	int srcMemoryType;
	const void *srcHost;
	CUdeviceptr srcDevice;
	void *srcArray;
	size_t srcPitch;
	size_t dstXInBytes, dstY;
	int dstMemoryType;
	void *dstHost;
	CUdeviceptr dstDevice;
	void *dstArray;
	size_t dstPitch;
	size_t WidthInBytes, Height;
};

typedef CUresult (*copy2d_fn)(const struct t_memcpy2d *);
typedef CUresult (*copy2d_async_fn)(const struct t_memcpy2d *, CUstream);
typedef CUresult (*set2d_fn)(CUdeviceptr, size_t, unsigned char, size_t, size_t);

START_TEST(test_copy_set_2d)
{
	enum { W = 100, H = 37, HP = 128 };
	static unsigned char src[HP * H], dst[HP * H], want[HP * H];
	struct t_memcpy2d c;
	CUdeviceptr d;
	size_t pitch, x, y;

	sim_up(NULL, NULL);
	CK(cuMemAllocPitch(&d, &pitch, W, H, 4));
	ck_assert_uint_ge(pitch, W);
	for (x = 0; x < sizeof(src); x++)
		src[x] = (unsigned char)(x * 13 + 1);
	memset(&c, 0, sizeof(c));
	c.srcMemoryType = CU_MEMORYTYPE_HOST;
	c.srcHost = src;
	c.srcPitch = HP;
	c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
	c.dstDevice = d;
	c.dstPitch = pitch;
	c.WidthInBytes = W;
	c.Height = H;
	CK(PROC(copy2d_fn, "cuMemcpy2DUnaligned")(&c));
	/* a 20 x 5 block at (10, 3) set to 0xab */
	CK(PROC(set2d_fn, "cuMemsetD2D8")(d + 3 * pitch + 10, pitch, 0xab, 20, 5));
	CKE(PROC(set2d_fn, "cuMemsetD2D8")(d, 10, 0xab, 20, 5), CUDA_ERROR_INVALID_VALUE);
	/* back, at an offset in the destination */
	memset(&c, 0, sizeof(c));
	c.srcMemoryType = CU_MEMORYTYPE_UNIFIED;
	c.srcDevice = d;
	c.srcPitch = pitch;
	c.dstMemoryType = CU_MEMORYTYPE_HOST;
	c.dstHost = dst;
	c.dstPitch = HP;
	c.WidthInBytes = W;
	c.Height = H;
	CK(PROC(copy2d_async_fn, "cuMemcpy2DAsync")(&c, NULL));
	memset(want, 0, sizeof(want));
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			want[y * HP + x] = y >= 3 && y < 8 && x >= 10 && x < 30 ? 0xab
									 : src[y * HP + x];
	ck_assert_int_eq(memcmp(dst, want, sizeof(want)), 0);
	/* rows may not overlap; a row past the allocation is refused whole */
	c.dstPitch = W - 1;
	CKE(PROC(copy2d_fn, "cuMemcpy2D")(&c), CUDA_ERROR_INVALID_VALUE);
	c.dstPitch = HP;
	c.srcMemoryType = CU_MEMORYTYPE_DEVICE;	/* unified: past it is host memory */
	c.Height = H + 1000;
	CKE(PROC(copy2d_fn, "cuMemcpy2D")(&c), CUDA_ERROR_INVALID_VALUE);
	c.Height = H;
	c.srcMemoryType = CU_MEMORYTYPE_ARRAY;
	CKE(PROC(copy2d_fn, "cuMemcpy2D")(&c), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemFree(d));
	sim_down();
}
END_TEST

/* ------------------------------------------------------------------ pools */

typedef CUresult (*pool_attr_fn)(CUmemoryPool, int, void *);
typedef CUresult (*pool_get_access_fn)(CUmemAccess_flags *, CUmemoryPool, CUmemLocation *);
typedef CUresult (*pool_set_access_fn)(CUmemoryPool, const CUmemAccessDesc *, size_t);
typedef CUresult (*pool_by_loc_fn)(CUmemoryPool *, CUmemLocation *, int);

START_TEST(test_pool_attributes)
{
	pool_attr_fn get = PROC(pool_attr_fn, "cuMemPoolGetAttribute");
	pool_attr_fn set = PROC(pool_attr_fn, "cuMemPoolSetAttribute");
	CUmemoryPool pool, pool1, p2;
	cuuint64_t v = 0;
	CUmemAccess_flags fl;
	CUmemAccessDesc desc;
	CUmemLocation loc;
	CUdeviceptr a, b;
	int on = 0;

	sim_up(NULL, "2");
	CK(cuDeviceGetDefaultMemPool(&pool, 0));
	CK(cuDeviceGetDefaultMemPool(&pool1, 1));
	v = 64 << 20;
	CK(set(pool, 4, &v));				/* RELEASE_THRESHOLD */
	v = 0;
	CK(get(pool, 4, &v));
	ck_assert_uint_eq(v, 64 << 20);
	CK(get(pool, 1, &on));				/* REUSE_FOLLOW_EVENT... */
	ck_assert_int_eq(on, 1);
	CK(set(pool, 1, &(int){ 0 }));
	CK(get(pool, 1, &on));
	ck_assert_int_eq(on, 0);
	CK(cuMemAllocAsync(&a, 1 << 20, NULL));
	CK(cuMemAllocAsync(&b, 3 << 20, NULL));
	CK(get(pool, 7, &v));				/* USED_MEM_CURRENT */
	ck_assert_uint_eq(v, 4 << 20);
	CK(cuMemFreeAsync(b, NULL));
	CK(get(pool, 5, &v));				/* RESERVED_MEM_CURRENT */
	ck_assert_uint_eq(v, 1 << 20);			/* nothing cached */
	CK(get(pool, 8, &v));				/* USED_MEM_HIGH */
	ck_assert_uint_eq(v, 4 << 20);
	v = 1;
	CKE(set(pool, 8, &v), CUDA_ERROR_INVALID_VALUE);
	v = 0;
	CK(set(pool, 8, &v));
	CK(get(pool, 8, &v));
	ck_assert_uint_eq(v, 1 << 20);
	CKE(set(pool, 7, &v), CUDA_ERROR_INVALID_VALUE);
	CKE(get(pool, 99, &v), CUDA_ERROR_INVALID_VALUE);
	CKE(get((CUmemoryPool)&v, 4, &v), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemFreeAsync(a, NULL));

	memset(&loc, 0, sizeof(loc));
	loc.type = CU_MEM_LOCATION_TYPE_DEVICE;
	loc.id = 0;
	CK(PROC(pool_get_access_fn, "cuMemPoolGetAccess")(&fl, pool, &loc));
	ck_assert_int_eq(fl, CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	loc.id = 1;
	CK(PROC(pool_get_access_fn, "cuMemPoolGetAccess")(&fl, pool, &loc));
	ck_assert_int_eq(fl, CU_MEM_ACCESS_FLAGS_PROT_NONE);
	memset(&desc, 0, sizeof(desc));
	desc.location = loc;
	desc.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	CKE(PROC(pool_set_access_fn, "cuMemPoolSetAccess")(pool, &desc, 1),
	    CUDA_ERROR_NOT_SUPPORTED);
	desc.location.id = 0;
	CK(PROC(pool_set_access_fn, "cuMemPoolSetAccess")(pool, &desc, 1));

	CK(PROC(CUresult (*)(CUdevice, CUmemoryPool), "cuDeviceSetMemPool")(0, pool));
	CKE(PROC(CUresult (*)(CUdevice, CUmemoryPool), "cuDeviceSetMemPool")(0, pool1),
	    CUDA_ERROR_INVALID_VALUE);
	loc.id = 1;
	CK(PROC(pool_by_loc_fn, "cuMemGetDefaultMemPool")(&p2, &loc,
							   CU_MEM_ALLOCATION_TYPE_PINNED));
	ck_assert_ptr_eq(p2, pool1);
	loc.type = CU_MEM_LOCATION_TYPE_HOST;
	CKE(PROC(pool_by_loc_fn, "cuMemGetMemPool")(&p2, &loc, CU_MEM_ALLOCATION_TYPE_PINNED),
	    CUDA_ERROR_NOT_SUPPORTED);
	sim_down();
}
END_TEST

/* ---------------------------------------------------------------- streams */

static void host_fn(void *arg)
{
	++*(int *)arg;
}

static void stream_cb(CUstream s, CUresult status, void *arg)
{
	if (status == CUDA_SUCCESS)
		*(CUstream *)arg = s;
}

START_TEST(test_stream_queries)
{
	unsigned long long id1 = 0, id2 = 0, idn = 0, idp = 0;
	CUstream s1, s2, seen = NULL;
	int prio = 1, calls = 0, mode;
	CUdevice dev = -1;
	CUevent e;

	sim_up(NULL, NULL);
	CK(cuStreamCreateWithPriority(&s1, CU_STREAM_NON_BLOCKING, -3));
	CK(cuStreamCreate(&s2, 0));
	CK(PROC(CUresult (*)(CUstream, int *), "cuStreamGetPriority")(s1, &prio));
	ck_assert_int_eq(prio, -3);
	CK(PROC(CUresult (*)(CUstream, int *), "cuStreamGetPriority")(NULL, &prio));
	ck_assert_int_eq(prio, 0);
	CKE(PROC(CUresult (*)(CUstream, int *), "cuStreamGetPriority")((CUstream)&prio, &prio),
	    CUDA_ERROR_INVALID_HANDLE);
	CK(PROC(CUresult (*)(CUstream, CUdevice *), "cuStreamGetDevice")(s1, &dev));
	ck_assert_int_eq(dev, 0);
	CK(PROC(CUresult (*)(CUstream, unsigned long long *), "cuStreamGetId")(s1, &id1));
	CK(PROC(CUresult (*)(CUstream, unsigned long long *), "cuStreamGetId")(s2, &id2));
	CK(PROC(CUresult (*)(CUstream, unsigned long long *), "cuStreamGetId")(NULL, &idn));
	CK(PROC(CUresult (*)(CUstream, unsigned long long *), "cuStreamGetId")
	   (CU_STREAM_PER_THREAD, &idp));
	ck_assert(id1 != id2 && id1 > 2 && id2 > 2 && idn == 1 && idp == 2);

	CK(PROC(CUresult (*)(CUstream, void (*)(void *), void *), "cuLaunchHostFunc")
	   (s1, host_fn, &calls));
	ck_assert_int_eq(calls, 1);
	CKE(PROC(CUresult (*)(CUstream, void (*)(void *), void *), "cuLaunchHostFunc")
	    (s1, NULL, &calls), CUDA_ERROR_INVALID_VALUE);
	CK(PROC(CUresult (*)(CUstream, void *, void *, unsigned int), "cuStreamAddCallback")
	   (s2, (void *)stream_cb, &seen, 0));
	ck_assert_ptr_eq(seen, s2);
	CKE(PROC(CUresult (*)(CUstream, void *, void *, unsigned int), "cuStreamAddCallback")
	    (s2, (void *)stream_cb, &seen, 1), CUDA_ERROR_INVALID_VALUE);

	CK(cuEventCreate(&e, 0));
	CK(PROC(CUresult (*)(CUevent, CUstream, unsigned int), "cuEventRecordWithFlags")(e, s1, 1));
	CKE(PROC(CUresult (*)(CUevent, CUstream, unsigned int), "cuEventRecordWithFlags")
	    (e, s1, 2), CUDA_ERROR_INVALID_VALUE);
	CK(cuEventQuery(e));
	CK(cuEventDestroy(e));

	mode = CU_STREAM_CAPTURE_MODE_RELAXED;
	CK(PROC(CUresult (*)(int *), "cuThreadExchangeStreamCaptureMode")(&mode));
	ck_assert_int_eq(mode, CU_STREAM_CAPTURE_MODE_GLOBAL);
	CK(PROC(CUresult (*)(int *), "cuThreadExchangeStreamCaptureMode")(&mode));
	ck_assert_int_eq(mode, CU_STREAM_CAPTURE_MODE_RELAXED);
	mode = 7;
	CKE(PROC(CUresult (*)(int *), "cuThreadExchangeStreamCaptureMode")(&mode),
	    CUDA_ERROR_INVALID_VALUE);
	CK(cuStreamDestroy(s1));
	CK(cuStreamDestroy(s2));
	sim_down();
}
END_TEST

/* ---------------------------------------------------- context and device */

START_TEST(test_context_config)
{
	typedef CUresult (*get_limit_fn)(size_t *, int);
	typedef CUresult (*set_limit_fn)(int, size_t);
	get_limit_fn get_limit;
	set_limit_fn set_limit;
	char bus[32];
	size_t v = 0;
	int cfg = -1, val = -1;
	CUdevice dev = -1;

	get_limit = PROC(get_limit_fn, "cuCtxGetLimit");
	set_limit = PROC(set_limit_fn, "cuCtxSetLimit");
	CKE(get_limit(&v, 0), CUDA_ERROR_NOT_INITIALIZED);
	setenv("CUDASIM_DEVICES", "2", 1);
	CK(cuInit(0));
	CKE(get_limit(&v, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_up(NULL, NULL);
	CK(get_limit(&v, 2));				/* MALLOC_HEAP_SIZE */
	ck_assert_uint_eq(v, 8 << 20);
	CK(set_limit(0, 4096));				/* STACK_SIZE */
	CK(get_limit(&v, 0));
	ck_assert_uint_eq(v, 4096);
	CKE(set_limit(7, 1), CUDA_ERROR_INVALID_VALUE);	/* SHMEM_SIZE: query only */
	CKE(get_limit(&v, 99), CUDA_ERROR_UNSUPPORTED_LIMIT);
	CKE(set_limit(5, 129), CUDA_ERROR_INVALID_VALUE);

	CK(PROC(CUresult (*)(int), "cuCtxSetCacheConfig")(2));
	CK(PROC(CUresult (*)(int *), "cuCtxGetCacheConfig")(&cfg));
	ck_assert_int_eq(cfg, 2);
	CKE(PROC(CUresult (*)(int), "cuCtxSetCacheConfig")(4), CUDA_ERROR_INVALID_VALUE);
	CK(PROC(CUresult (*)(void), "cuCtxResetPersistingL2Cache")());
	CK(PROC(CUresult (*)(void), "cuProfilerStart")());
	CK(PROC(CUresult (*)(void), "cuProfilerStop")());

	CK(PROC(CUresult (*)(int *, int, CUdevice, CUdevice), "cuDeviceGetP2PAttribute")
	   (&val, 2, 0, 1));				/* ACCESS_SUPPORTED */
	ck_assert_int_eq(val, 1);
	CKE(PROC(CUresult (*)(int *, int, CUdevice, CUdevice), "cuDeviceGetP2PAttribute")
	    (&val, 2, 1, 1), CUDA_ERROR_INVALID_DEVICE);
	CK(cuDeviceGetPCIBusId(bus, sizeof(bus), 1));
	CK(PROC(CUresult (*)(CUdevice *, const char *), "cuDeviceGetByPCIBusId")(&dev, bus));
	ck_assert_int_eq(dev, 1);
	CKE(PROC(CUresult (*)(CUdevice *, const char *), "cuDeviceGetByPCIBusId")
	    (&dev, "0000:99:00.0"), CUDA_ERROR_INVALID_DEVICE);
	CKE(PROC(CUresult (*)(CUdevice *, const char *), "cuDeviceGetByPCIBusId")(&dev, "bus"),
	    CUDA_ERROR_INVALID_VALUE);
	sim_down();
}
END_TEST

/* --------------------------------------------------------------- libraries */

typedef CUresult (*lib_load_fn)(void **, const void *, void *, void **, unsigned int,
				void *, void **, unsigned int);

START_TEST(test_library_foreign_code)
{
	/* the start of a fatbin as nvcc writes it: magic, version, size */
	static const uint32_t fatbin[4] = { 0xba55ed50u, 0x00100001u, 16, 0 };
	void *lib, *kern, *mod;
	CUfunction f;
	CUdeviceptr g;
	size_t n;
	const char *name = NULL;
	int v = 0;

	sim_up(NULL, NULL);
	CKE(PROC(lib_load_fn, "cuLibraryLoadData")(&lib, "garbage", NULL, NULL, 0, NULL, NULL, 0),
	    CUDA_ERROR_INVALID_IMAGE);
	CK(PROC(lib_load_fn, "cuLibraryLoadData")(&lib, fatbin, NULL, NULL, 0, NULL, NULL, 0));
	CK(PROC(CUresult (*)(void **, void *, const char *), "cuLibraryGetKernel")
	   (&kern, lib, "_Z4fillPjmj"));
	CK(PROC(CUresult (*)(CUfunction *, void *), "cuKernelGetFunction")(&f, kern));
	CK(PROC(CUresult (*)(const char **, CUfunction), "cuFuncGetName")(&name, f));
	ck_assert_str_eq(name, "_Z4fillPjmj");
	CK(PROC(CUresult (*)(int *, int, CUfunction), "cuFuncGetAttribute")(&v, 0, f));
	ck_assert_int_eq(v, 1024);
	CKE(PROC(CUresult (*)(int *, int, CUfunction), "cuFuncGetAttribute")(&v, 99, f),
	    CUDA_ERROR_INVALID_VALUE);
	CK(PROC(CUresult (*)(CUfunction, int, int), "cuFuncSetAttribute")(f, 8, 64 << 10));
	/* cudasim runs no device code: the answer for an image without any
	 * for this device */
	CKE(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
	    CUDA_ERROR_NO_BINARY_FOR_GPU);
	CKE(PROC(CUresult (*)(CUdeviceptr *, size_t *, void *, const char *),
		 "cuLibraryGetGlobal")(&g, &n, lib, "counter"), CUDA_ERROR_NOT_FOUND);
	CK(PROC(CUresult (*)(void **, void *), "cuLibraryGetModule")(&mod, lib));
	CK(cuModuleGetFunction(&f, (CUmodule)mod, "other"));
	CK(PROC(CUresult (*)(void *), "cuLibraryUnload")(lib));
	CKE(PROC(CUresult (*)(void *), "cuLibraryUnload")(lib), CUDA_ERROR_INVALID_HANDLE);
	/* a cubin is accepted as a module too */
	CK(cuModuleLoadData((CUmodule *)&mod, "\177ELF\2\1\1"));
	CK(cuModuleUnload((CUmodule)mod));
	sim_down();
}
END_TEST

static Suite *cudasim_runtime_suite(void)
{
	Suite *s = suite_create("cudasim-runtime");
	TCase *tc;

	tc = tcase_create("procaddr");
	tcase_add_test(tc, test_runtime_names_resolve);
	tcase_add_test(tc, test_runtime_names_status);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_host_memory);
	tcase_add_test(tc, test_host_memory_leak);
	tcase_add_test(tc, test_copy_set_2d);
	tcase_add_test(tc, test_pool_attributes);
	suite_add_tcase(s, tc);

	tc = tcase_create("streams and contexts");
	tcase_add_test(tc, test_stream_queries);
	tcase_add_test(tc, test_context_config);
	tcase_add_test(tc, test_library_foreign_code);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cudasim_runtime_suite());
}
