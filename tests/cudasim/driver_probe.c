// SPDX-License-Identifier: MIT
/*
 * driver_probe.c - what the driver answers in the cases cudasim models.
 *
 * Prints one "case: result" line per documented rule, error case and
 * pointer query.  Run on a GPU its output is the reference that cudasim is
 * held to (tests/cudasim/driver_probe.expected, checked by
 * driver_probe.sh); lines cudasim is known to answer differently are
 * listed there with the reason.  Nothing here is specific to cudasim.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>

#define MiB (1024UL * 1024)

static const char *name_of(CUresult r)
{
	const char *s = NULL;

	cuGetErrorName(r, &s);
	return s ? s : "?";
}

static void show(const char *what, CUresult r)
{
	printf("%s: %s\n", what, name_of(r));
}

static CUmemAllocationProp prop_of(int types)
{
	CUmemAllocationProp p;

	memset(&p, 0, sizeof(p));
	p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	p.location.id = 0;
	p.requestedHandleTypes = (CUmemAllocationHandleType)types;
	return p;
}

static CUmemAccessDesc access_of(CUmemAccess_flags f)
{
	CUmemAccessDesc d;

	memset(&d, 0, sizeof(d));
	d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	d.location.id = 0;
	d.flags = f;
	return d;
}

static void probe_alloc(void)
{
	CUdeviceptr p = 0, q;
	size_t pitch;

	show("cuMemAlloc(0 bytes)", cuMemAlloc(&p, 0));
	show("cuMemFree(0)", cuMemFree(0));
	show("cuMemAllocPitch(element size 3)", cuMemAllocPitch(&p, &pitch, 100, 10, 3));
	if (cuMemAlloc(&p, 1000) != CUDA_SUCCESS)
		return;
	show("cuMemFree(inside an allocation)", cuMemFree(p + 512));
	show("cuMemsetD16(odd address)", cuMemsetD16(p + 1, 0, 4));
	show("cuMemsetD32(address 2 mod 4)", cuMemsetD32(p + 2, 0, 4));
	show("cuMemcpyHtoD(past the end of an allocation)",
	     cuMemcpyHtoD(p + 900, &q, 512));
	cuMemFree(p);
	show("cuMemFree(twice)", cuMemFree(p));
}

static void probe_vmm(void)
{
	CUmemAllocationProp prop = prop_of(CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR);
	CUmemAllocationProp noexp = prop_of(0), win = prop_of(CU_MEM_HANDLE_TYPE_WIN32);
	CUmemAccessDesc rw = access_of(CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemAccessDesc none = access_of(CU_MEM_ACCESS_FLAGS_PROT_NONE);
	CUmemGenericAllocationHandle h, h2, h3, r;
	CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, 0 };
	unsigned long long flags, u64;
	CUdeviceptr va, va2, base;
	CUipcMemHandle ipc;
	CUcontext ctx;
	unsigned char host[4096];
	size_t g, size;
	int fd, mapped = -1;
	CUresult res;

	cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM);
	printf("granularity minimum: %zu\n", g);
	cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED);
	printf("granularity recommended: %zu\n", g);
	g = 2 * MiB;
	show("cuMemAddressReserve(alignment 3 MiB)", cuMemAddressReserve(&va, g, 3 * MiB, 0, 0));
	show("cuMemAddressReserve(size not a granule multiple)",
	     cuMemAddressReserve(&va, g + 4096, 0, 0, 0));
	show("cuMemCreate(size not a granule multiple)", cuMemCreate(&h, g + 4096, &prop, 0));
	show("cuMemCreate(win32 handle type)", cuMemCreate(&h, g, &win, 0));
	if (cuMemAddressReserve(&va, 8 * g, 0, 0, 0) || cuMemCreate(&h, 2 * g, &prop, 0) ||
	    cuMemCreate(&h2, g, &noexp, 0) || cuMemCreate(&h3, g, &prop, 0)) {
		printf("vmm setup failed\n");
		return;
	}
	show("cuMemAddressFree(wrong size)", cuMemAddressFree(va, g));
	cuMemAddressFree(va, 8 * g);
	show("cuMemAddressReserve(at the address just freed)",
	     cuMemAddressReserve(&va2, 8 * g, 0, va, 0));
	printf("address hint honoured: %s\n", va2 == va ? "yes" : "no");
	va = va2;

	show("cuMemMap(misaligned address)", cuMemMap(va + 4096, g, 0, h, 0));
	show("cuMemMap(misaligned offset)", cuMemMap(va, g, 4096, h, 0));
	show("cuMemMap(offset + size past the handle)", cuMemMap(va, 2 * g, g, h, 0));
	res = cuMemMap(va + 7 * g, 2 * g, 0, h, 0);
	show("cuMemMap(past the end of the reservation)", res);
	if (res == CUDA_SUCCESS)
		cuMemUnmap(va + 7 * g, 2 * g);
	/* (an unknown handle crashes the real driver: handles are pointers) */
	show("cuMemMap(2 granules)", cuMemMap(va, 2 * g, 0, h, 0));
	show("cuMemMap(over a mapping)", cuMemMap(va + g, g, 0, h2, 0));
	show("cuMemGetAccess(mapped, before cuMemSetAccess)", cuMemGetAccess(&flags, &loc, va));
	printf("access before cuMemSetAccess: %llu\n", flags);
	show("cuMemUnmap(half a mapping)", cuMemUnmap(va, g));
	show("cuMemUnmap(nothing mapped)", cuMemUnmap(va + 4 * g, g));
	show("cuMemAddressFree(while mapped)", cuMemAddressFree(va, 8 * g));
	show("cuMemMap(second mapping beside)", cuMemMap(va + 2 * g, g, 0, h2, 0));
	show("cuMemSetAccess(half of a mapping)", cuMemSetAccess(va, g, &rw, 1));
	show("cuMemSetAccess(both mappings)", cuMemSetAccess(va, 3 * g, &rw, 1));
	show("cuMemSetAccess(into unmapped VA)", cuMemSetAccess(va, 4 * g, &rw, 1));
	show("cuMemSetAccess(PROT_NONE)", cuMemSetAccess(va + 2 * g, g, &none, 1));
	show("cuMemGetAccess(unmapped VA)", cuMemGetAccess(&flags, &loc, va + 5 * g));
	/* a chunk cut from a larger allocation, as gpuvm maps its chunks */
	show("cuMemMap(at an offset into the handle)", cuMemMap(va + 6 * g, g, g, h, 0));
	show("cuMemSetAccess(offset mapping)", cuMemSetAccess(va + 6 * g, g, &rw, 1));
	memset(host, 0, sizeof(host));
	if (!cuMemsetD8(va, 0x3c, g) && !cuMemsetD8(va + g, 0xa5, g) &&
	    !cuMemcpyDtoH(host, va + 6 * g, sizeof(host)))
		printf("offset mapping shows: %s\n", host[0] == 0xa5 && host[4095] == 0xa5 ?
		       "the handle's second granule" : host[0] == 0x3c ? "its first" : "other");
	show("cuMemUnmap(offset mapping)", cuMemUnmap(va + 6 * g, g));

	show("cuMemGetAddressRange(second granule of first mapping)",
	     cuMemGetAddressRange(&base, &size, va + g + 5));
	printf("address range: base %s, size %zu granules\n", base == va ? "mapping start" :
	       "other", size / g);
	show("cuMemGetAddressRange(reserved, unmapped)",
	     cuMemGetAddressRange(&base, &size, va + 5 * g));
	show("cuMemGetAddressRange(host stack address)",
	     cuMemGetAddressRange(&base, &size, (CUdeviceptr)(uintptr_t)&size));
	base = 0;
	show("RANGE_START_ADDR(second mapping)",
	     cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, va + 2 * g));
	printf("range start is: %s\n", base == va ? "reservation start" :
	       base == va + 2 * g ? "mapping start" : "other");
	size = 0;
	show("RANGE_SIZE(second mapping)",
	     cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, va + 2 * g));
	printf("range size granules: %zu\n", size / g);
	show("MAPPED(reserved, unmapped)",
	     cuPointerGetAttribute(&mapped, CU_POINTER_ATTRIBUTE_MAPPED, va + 5 * g));
	printf("mapped(reserved, unmapped): %d\n", mapped);
	show("MEMORY_TYPE(reserved, unmapped)",
	     cuPointerGetAttribute(&mapped, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, va + 5 * g));
	ctx = (CUcontext)1;
	show("CONTEXT(VMM memory)", cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, va));
	printf("context of VMM memory: %s\n", ctx == NULL ? "NULL" : "non-NULL");
	u64 = ~0ULL;
	show("IS_MANAGED(VMM)", cuPointerGetAttribute(&u64, CU_POINTER_ATTRIBUTE_IS_MANAGED, va));
	printf("IS_MANAGED bytes written: %s\n", (u64 >> 32) == 0xffffffffULL ?
	       ((u64 & 0xffffff00ULL) == 0xffffff00ULL ? "1" : "4") : "8");
	u64 = ~0ULL;
	show("ALLOWED_HANDLE_TYPES(VMM)",
	     cuPointerGetAttribute(&u64, CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES, va));
	printf("ALLOWED_HANDLE_TYPES bytes written: %s, low byte %llu\n",
	       (u64 >> 32) == 0xffffffffULL ? "4" : "8", u64 & 0xff);
	show("cuIpcGetMemHandle(VMM)", cuIpcGetMemHandle(&ipc, va));

	show("cuMemExportToShareableHandle(no POSIX type requested)",
	     cuMemExportToShareableHandle(&fd, h2, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
	if (cuMemExportToShareableHandle(&fd, h3, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0) ==
	    CUDA_SUCCESS) {
		show("cuMemImportFromShareableHandle(same process)",
		     cuMemImportFromShareableHandle(&r, (void *)(uintptr_t)fd,
						    CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
		printf("import in the same process gives: %s\n", r == h3 ? "the same handle" :
		       "a new handle");
		cuMemRelease(r);
		close(fd);
	}
	show("cuMemRelease(while mapped)", cuMemRelease(h));
	show("cuMemMap(released handle)", cuMemMap(va + 4 * g, g, 0, h, 0));
	show("cuMemRetainAllocationHandle(mapped address)",
	     cuMemRetainAllocationHandle(&r, (void *)va));
	printf("retained handle: %s\n", r == h ? "the same value" : "another value");
	cuMemRelease(r);
	show("cuMemRelease(twice)", cuMemRelease(h));
	show("cuMemUnmap(two whole mappings at once)", cuMemUnmap(va, 3 * g));
	cuMemRelease(h2);
	cuMemRelease(h3);
	show("cuMemAddressFree", cuMemAddressFree(va, 8 * g));
}

static void probe_streams(void)
{
	CUstreamCaptureStatus st;
	CUevent e1, e2;
	CUstream s;
	CUgraph gr;
	float ms;

	cuStreamCreate(&s, CU_STREAM_NON_BLOCKING);
	cuEventCreate(&e1, 0);
	cuEventCreate(&e2, 0);
	show("cuEventQuery(never recorded)", cuEventQuery(e1));
	show("cuEventElapsedTime(never recorded)", cuEventElapsedTime(&ms, e1, e2));
	show("cuStreamBeginCapture(NULL stream)",
	     cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL));
	show("cuStreamEndCapture(not capturing)", cuStreamEndCapture(s, &gr));
	cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL);
	show("cuStreamBeginCapture(already capturing)",
	     cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	show("cuCtxSynchronize(during a global capture)", cuCtxSynchronize());
	cuStreamIsCapturing(s, &st);
	printf("status after cuCtxSynchronize: %d\n", (int)st);
	show("cuStreamEndCapture", cuStreamEndCapture(s, &gr));
	cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED);
	show("cuStreamSynchronize(capturing stream)", cuStreamSynchronize(s));
	cuStreamIsCapturing(s, &st);
	printf("status after cuStreamSynchronize: %d\n", (int)st);
	show("cuStreamEndCapture(invalidated)", cuStreamEndCapture(s, &gr));
	cuEventDestroy(e1);
	cuEventDestroy(e2);
	cuStreamDestroy(s);
}

static void probe_procaddr(void)
{
	CUdriverProcAddressQueryResult st;
	void *fn;

	show("cuGetProcAddress(cuMemCreate, 10000)",
	     cuGetProcAddress("cuMemCreate", &fn, 10000, 0, &st));
	printf("status: %d\n", (int)st);
	show("cuGetProcAddress(cuNoSuchThing)",
	     cuGetProcAddress("cuNoSuchThing", &fn, 12000, 0, &st));
	printf("status: %d\n", (int)st);
	show("cuGetProcAddress(bad flags)", cuGetProcAddress("cuMemAlloc", &fn, 12000, 4, &st));
}

/* Last: on a GPU a fault may leave the context unusable. */
static void probe_no_access_copy(void)
{
	CUmemAllocationProp prop = prop_of(0);
	CUmemGenericAllocationHandle h;
	char buf[64] = "x";
	CUdeviceptr va;

	if (cuMemAddressReserve(&va, 2 * MiB, 0, 0, 0) || cuMemCreate(&h, 2 * MiB, &prop, 0) ||
	    cuMemMap(va, 2 * MiB, 0, h, 0))
		return;
	show("cuMemcpyHtoD(mapped, no access)", cuMemcpyHtoD(va, buf, sizeof(buf)));
	show("cuMemsetD8(mapped, no access)", cuMemsetD8(va, 0, 64));
	show("cuCtxSynchronize(after)", cuCtxSynchronize());
	show("cuMemUnmap(after)", cuMemUnmap(va, 2 * MiB));
	cuMemRelease(h);
	cuMemAddressFree(va, 2 * MiB);
}

int main(void)
{
	CUcontext ctx;
	CUdeviceptr p;
	int v = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	show("cuMemAlloc(before cuInit)", cuMemAlloc(&p, 16));
	show("cuInit(flags 1)", cuInit(1));
	if (cuInit(0) != CUDA_SUCCESS) {
		printf("skip: no device\n");
		return 77;
	}
	cuDriverGetVersion(&v);
	printf("driver version at least 12000: %s\n", v >= 12000 ? "yes" : "no");
	show("cuMemAlloc(no current context)", cuMemAlloc(&p, 16));
	show("cuDeviceGet(ordinal 99)", cuDeviceGet(&v, 99));
	if (cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxSetCurrent(ctx))
		return 1;
	probe_alloc();
	probe_vmm();
	probe_streams();
	probe_procaddr();
	probe_no_access_copy();
	cuDevicePrimaryCtxRelease(0);
	return 0;
}
