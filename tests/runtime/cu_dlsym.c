// SPDX-License-Identifier: MIT
/*
 * cu_dlsym.c - a program that opens the driver with dlopen and finds each
 * entry point with dlsym under its versioned name, through both versions
 * of dlsym glibc exports (older programs and libraries bind
 * dlsym@GLIBC_2.2.5).
 */
#include "cuapi.h"

/* The pre-2.34 dlsym, as a program built against an older glibc binds it. */
#if defined(__x86_64__)
void *dlsym_old(void *handle, const char *name);
__asm__(".symver dlsym_old, dlsym@GLIBC_2.2.5");
#define HAVE_DLSYM_OLD 1
#endif

static void *lib;

static void *get(const char *name)
{
	void *fn = dlsym(lib, name);

	if (!fn) {
		fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
		exit(1);
	}
#ifdef HAVE_DLSYM_OLD
	EXPECT(dlsym_old(lib, name) == fn);
#endif
	return fn;
}

int main(int argc, char **argv)
{
	struct cu_counts before;
	struct cu_api cu;
	CUstream stream;
	CUresult (*stream_create)(CUstream *, unsigned int);
	CUresult (*stream_destroy)(CUstream);
	CUdevice dev;
	long n;

	cutest_mode(argc, argv);
	lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	EXPECT(lib);
	*(void **)&cu.init = get("cuInit");
	*(void **)&cu.device_get = get("cuDeviceGet");
	*(void **)&cu.primary_retain = get("cuDevicePrimaryCtxRetain");
	*(void **)&cu.primary_release = get("cuDevicePrimaryCtxRelease_v2");
	*(void **)&cu.ctx_set_current = get("cuCtxSetCurrent");
	*(void **)&cu.mem_alloc = get("cuMemAlloc_v2");
	*(void **)&cu.mem_alloc_pitch = get("cuMemAllocPitch_v2");
	*(void **)&cu.mem_free = get("cuMemFree_v2");
	*(void **)&cu.mem_alloc_async = get("cuMemAllocAsync");
	*(void **)&cu.mem_free_async = get("cuMemFreeAsync");
	*(void **)&cu.stream_synchronize = get("cuStreamSynchronize");
	*(void **)&cu.htod = get("cuMemcpyHtoD_v2");
	*(void **)&cu.dtoh = get("cuMemcpyDtoH_v2");
	*(void **)&stream_create = get("cuStreamCreate");
	*(void **)&stream_destroy = get("cuStreamDestroy_v2");

	/* Lookups that fail still fail, with an error to read. */
	EXPECT(!dlsym(lib, "cuNoSuchFunction") && dlerror());
	/* RTLD_NEXT still means "after the caller": libc's puts for us. */
	EXPECT(dlsym(RTLD_NEXT, "puts") == dlsym(RTLD_DEFAULT, "puts"));

	cu_start(&cu, &dev);
	CHECK(stream_create(&stream, 0));
	cu_counts_take(&before);
	n = cu_workload(&cu, stream);
	cu_counts_check(&before, n);
	CHECK(stream_destroy(stream));
	CHECK(cu.primary_release(dev));
	dlclose(lib);
	printf("ok\n");
	return 0;
}
