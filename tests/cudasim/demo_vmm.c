// SPDX-License-Identifier: MIT
/*
 * demo_vmm.c - the CUDA virtual memory management calls, end to end.
 *
 * A plain driver-API program: it links no CUDA library, dlopen()s
 * libcuda.so.1 ($GPUVM_LIBCUDA if set), resolves every entry point through
 * cuGetProcAddress (dlsym as a fallback) and runs reserve, create, map, set
 * access, copy a pattern in and out, unmap, release and free; then the
 * documented error cases.  It runs the same on cudasim and on a real GPU.
 * Exit: 0 all good, 1 a check failed, 77 no driver to run on.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#define STR(x) #x
#define XSTR(x) STR(x)

static void *libcuda;
static __typeof__(&cuGetProcAddress) get_proc;
static int failures;

/* Resolve @name (unsuffixed) or, failing that, its current ABI symbol. */
static void *resolve(const char *name, const char *abi_name)
{
	void *fn = NULL;

	if (get_proc) {
		CUdriverProcAddressQueryResult st;

		if (get_proc(name, &fn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &st) ==
		    CUDA_SUCCESS && fn)
			return fn;
	}
	fn = dlsym(libcuda, abi_name);
	if (!fn) {
		fprintf(stderr, "demo_vmm: libcuda has no %s\n", name);
		exit(1);
	}
	return fn;
}

/* p_cuMemMap etc.: pointers typed from <cuda.h>'s prototypes. */
#define DRV(name) static __typeof__(&name) p_##name
#define LOAD(name) p_##name = (__typeof__(&name))resolve(#name, XSTR(name))

DRV(cuInit);
DRV(cuDeviceGet);
DRV(cuDeviceGetName);
DRV(cuDeviceGetAttribute);
DRV(cuDevicePrimaryCtxRetain);
DRV(cuDevicePrimaryCtxRelease);
DRV(cuCtxSetCurrent);
DRV(cuGetErrorName);
DRV(cuMemGetAllocationGranularity);
DRV(cuMemAddressReserve);
DRV(cuMemAddressFree);
DRV(cuMemCreate);
DRV(cuMemRelease);
DRV(cuMemMap);
DRV(cuMemUnmap);
DRV(cuMemSetAccess);
DRV(cuMemcpyHtoD);
DRV(cuMemcpyDtoH);
DRV(cuMemGetAddressRange);

static const char *err_name(CUresult r)
{
	const char *s = NULL;

	if (p_cuGetErrorName(r, &s) != CUDA_SUCCESS || !s)
		return "?";
	return s;
}

/* Check that @call returned @want; say what was done either way. */
static int expect(const char *what, CUresult got, CUresult want)
{
	bool ok = got == want;

	printf("  %-52s %-28s %s\n", what, err_name(got), ok ? "ok" : "FAILED");
	if (!ok) {
		printf("    expected %s\n", err_name(want));
		failures++;
	}
	return ok;
}

static void load_all(void)
{
	const char *path = getenv("GPUVM_LIBCUDA");

	libcuda = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW);
	if (!libcuda) {
		printf("demo_vmm: skip: cannot open %s: %s\n", path ? path : "libcuda.so.1",
		       dlerror());
		exit(77);
	}
	get_proc = (__typeof__(&cuGetProcAddress))dlsym(libcuda, "cuGetProcAddress_v2");
	LOAD(cuInit);
	LOAD(cuDeviceGet);
	LOAD(cuDeviceGetName);
	LOAD(cuDeviceGetAttribute);
	LOAD(cuDevicePrimaryCtxRetain);
	LOAD(cuDevicePrimaryCtxRelease);
	LOAD(cuCtxSetCurrent);
	LOAD(cuGetErrorName);
	LOAD(cuMemGetAllocationGranularity);
	LOAD(cuMemAddressReserve);
	LOAD(cuMemAddressFree);
	LOAD(cuMemCreate);
	LOAD(cuMemRelease);
	LOAD(cuMemMap);
	LOAD(cuMemUnmap);
	LOAD(cuMemSetAccess);
	LOAD(cuMemcpyHtoD);
	LOAD(cuMemcpyDtoH);
	LOAD(cuMemGetAddressRange);
}

static CUmemAccessDesc rw_access(CUdevice dev)
{
	CUmemAccessDesc d;

	memset(&d, 0, sizeof(d));
	d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	d.location.id = dev;
	d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	return d;
}

/* reserve, create, map, set access, copy in and out, unmap, release, free */
static void happy_path(CUdevice dev, const CUmemAllocationProp *prop, size_t gran)
{
	size_t size = 2 * gran, n = gran / sizeof(unsigned int), i, range_size = 0;
	CUmemAccessDesc acc = rw_access(dev);
	CUmemGenericAllocationHandle h;
	unsigned int *in, *out;
	CUdeviceptr va, base = 0;

	printf("happy path: %zu bytes\n", size);
	in = malloc(n * sizeof(*in));
	out = malloc(n * sizeof(*out));
	if (!in || !out) {
		failures++;
		goto out_free;
	}
	for (i = 0; i < n; i++)
		in[i] = (unsigned int)(i * 2654435761u);
	if (!expect("cuMemAddressReserve(2 granules)",
		    p_cuMemAddressReserve(&va, size, 0, 0, 0), CUDA_SUCCESS))
		goto out_free;
	if (!expect("cuMemCreate(2 granules)", p_cuMemCreate(&h, size, prop, 0), CUDA_SUCCESS))
		goto out_addr;
	if (!expect("cuMemMap", p_cuMemMap(va, size, 0, h, 0), CUDA_SUCCESS))
		goto out_release;
	if (!expect("cuMemSetAccess(read-write)", p_cuMemSetAccess(va, size, &acc, 1),
		    CUDA_SUCCESS))
		goto out_unmap;
	expect("cuMemcpyHtoD(1 granule of pattern, across two)",
	       p_cuMemcpyHtoD(va + gran - 4096, in, n * sizeof(*in)), CUDA_SUCCESS);
	expect("cuMemcpyDtoH(the same range)",
	       p_cuMemcpyDtoH(out, va + gran - 4096, n * sizeof(*out)), CUDA_SUCCESS);
	printf("  %-52s %s\n", "pattern read back", memcmp(in, out, n * sizeof(*in)) ?
	       "FAILED" : "ok");
	failures += !!memcmp(in, out, n * sizeof(*in));
	expect("cuMemGetAddressRange(inside the mapping)",
	       p_cuMemGetAddressRange(&base, &range_size, va + 12345), CUDA_SUCCESS);
	if (base != va || range_size != size) {
		printf("    range is 0x%llx+%zu, expected 0x%llx+%zu\n",
		       (unsigned long long)base, range_size, (unsigned long long)va, size);
		failures++;
	}
out_unmap:
	expect("cuMemUnmap", p_cuMemUnmap(va, size), CUDA_SUCCESS);
out_release:
	expect("cuMemRelease", p_cuMemRelease(h), CUDA_SUCCESS);
out_addr:
	expect("cuMemAddressFree", p_cuMemAddressFree(va, size), CUDA_SUCCESS);
out_free:
	free(in);
	free(out);
}

/* The documented error cases; the no-access copy comes last, as on a real
 * GPU it may leave the context unusable. */
static void error_cases(CUdevice dev, const CUmemAllocationProp *prop, size_t gran)
{
	CUmemAccessDesc acc = rw_access(dev);
	CUmemGenericAllocationHandle h, h2;
	char buf[256] = "cudasim";
	CUdeviceptr va;
	CUresult r;

	printf("error cases:\n");
	if (!expect("cuMemAddressReserve(4 granules)",
		    p_cuMemAddressReserve(&va, 4 * gran, 0, 0, 0), CUDA_SUCCESS))
		return;
	expect("cuMemCreate(granule + 1 byte)", p_cuMemCreate(&h, gran + 1, prop, 0),
	       CUDA_ERROR_INVALID_VALUE);
	if (!expect("cuMemCreate(2 granules)", p_cuMemCreate(&h, 2 * gran, prop, 0),
		    CUDA_SUCCESS))
		goto out_addr;
	if (!expect("cuMemCreate(1 granule)", p_cuMemCreate(&h2, gran, prop, 0), CUDA_SUCCESS))
		goto out_release;
	/* the driver answers misalignment with NOT_SUPPORTED (H200) */
	expect("cuMemMap(misaligned address)", p_cuMemMap(va + 4096, gran, 0, h, 0),
	       CUDA_ERROR_NOT_SUPPORTED);
	expect("cuMemMap(misaligned offset)", p_cuMemMap(va, gran, 4096, h, 0),
	       CUDA_ERROR_NOT_SUPPORTED);
	if (!expect("cuMemMap(2 granules)", p_cuMemMap(va, 2 * gran, 0, h, 0), CUDA_SUCCESS))
		goto out_release2;
	expect("cuMemMap(over an existing mapping)", p_cuMemMap(va + gran, gran, 0, h2, 0),
	       CUDA_ERROR_INVALID_VALUE);
	expect("cuMemUnmap(half of a mapping)", p_cuMemUnmap(va, gran),
	       CUDA_ERROR_INVALID_VALUE);
	expect("cuMemAddressFree(with a wrong size)", p_cuMemAddressFree(va, gran),
	       CUDA_ERROR_INVALID_VALUE);
	expect("cuMemMap(1 granule beside it)", p_cuMemMap(va + 2 * gran, gran, 0, h2, 0),
	       CUDA_SUCCESS);
	expect("cuMemSetAccess(first mapping only)", p_cuMemSetAccess(va, 2 * gran, &acc, 1),
	       CUDA_SUCCESS);
	r = p_cuMemcpyHtoD(va + 2 * gran, buf, sizeof(buf));
	printf("  %-52s %-28s %s\n", "cuMemcpyHtoD(mapped, no access set)", err_name(r),
	       r != CUDA_SUCCESS ? "ok" : "FAILED");
	failures += r == CUDA_SUCCESS;
	p_cuMemUnmap(va + 2 * gran, gran);
	expect("cuMemUnmap", p_cuMemUnmap(va, 2 * gran), CUDA_SUCCESS);
out_release2:
	expect("cuMemRelease", p_cuMemRelease(h2), CUDA_SUCCESS);
out_release:
	expect("cuMemRelease", p_cuMemRelease(h), CUDA_SUCCESS);
out_addr:
	expect("cuMemAddressFree", p_cuMemAddressFree(va, 4 * gran), CUDA_SUCCESS);
}

int main(void)
{
	CUmemAllocationProp prop;
	CUcontext ctx;
	CUdevice dev;
	char name[128];
	size_t gran;
	int vmm = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	load_all();
	if (p_cuInit(0) != CUDA_SUCCESS || p_cuDeviceGet(&dev, 0) != CUDA_SUCCESS) {
		printf("demo_vmm: skip: no CUDA device\n");
		return 77;
	}
	p_cuDeviceGetName(name, sizeof(name), dev);
	p_cuDeviceGetAttribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, dev);
	printf("device 0: %s, virtual memory management %s\n", name, vmm ? "yes" : "no");
	if (!vmm) {
		printf("demo_vmm: skip: no virtual memory management\n");
		return 77;
	}
	if (p_cuDevicePrimaryCtxRetain(&ctx, dev) != CUDA_SUCCESS ||
	    p_cuCtxSetCurrent(ctx) != CUDA_SUCCESS) {
		printf("demo_vmm: cannot make a context current\n");
		return 1;
	}
	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = dev;
	expect("cuMemGetAllocationGranularity(minimum)",
	       p_cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
	       CUDA_SUCCESS);
	printf("granularity: %zu bytes\n", gran);

	happy_path(dev, &prop, gran);
	error_cases(dev, &prop, gran);

	p_cuDevicePrimaryCtxRelease(dev);
	printf("demo_vmm: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
