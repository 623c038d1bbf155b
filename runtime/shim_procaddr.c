// SPDX-License-Identifier: MIT
/*
 * shim_procaddr.c - cuGetProcAddress and cuGetProcAddress_v2, and the table of
 * the driver functions the shim hands its hooks out for.
 *
 * The CUDA runtime (11.3+, static or shared) asks cuGetProcAddress for
 * every driver function by its base name ("cuMemAlloc"), with the CUDA
 * version it was built for and a flag choosing the per-thread default
 * stream variants; the driver answers with one concrete version
 * (cuMemAlloc_v2, cuMemAllocAsync_ptsz).  The hooks below let the real
 * driver answer first, so its version rules, errors and symbolStatus stay
 * exactly the driver's, and then replace a routed answer by the hook of
 * that same concrete version.
 */
#include <string.h>

#include "shim.h"

struct shim_route {
	const char *name;	/* the concrete function, as the driver exports it */
	const char *base;	/* the name cuGetProcAddress is asked for */
	int since;		/* lowest cudaVersion that selects it (1000 * major + 10 * minor) */
	bool per_thread;	/* a _ptsz variant */
	void *hook;
	void **real;		/* the real function, in shim.real */
};

#define ROUTE(fn, basename, version, ptsz)				\
	{ .name = #fn, .base = basename, .since = version, .per_thread = ptsz, \
	  .hook = (void *)fn, .real = (void **)&shim.real.fn }

static const struct shim_route routes[] = {
	ROUTE(cuGetProcAddress, "cuGetProcAddress", 11030, false),
	ROUTE(cuGetProcAddress_v2, "cuGetProcAddress", 12000, false),
	/* routed to gpuvm */
	ROUTE(cuMemAlloc_v2, "cuMemAlloc", 3020, false),
	ROUTE(cuMemAllocPitch_v2, "cuMemAllocPitch", 3020, false),
	ROUTE(cuMemFree_v2, "cuMemFree", 3020, false),
	ROUTE(cuMemAllocAsync, "cuMemAllocAsync", 11020, false),
	ROUTE(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 11020, true),
	ROUTE(cuMemFreeAsync, "cuMemFreeAsync", 11020, false),
	ROUTE(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 11020, true),
	ROUTE(cuMemAllocFromPoolAsync, "cuMemAllocFromPoolAsync", 11020, false),
	ROUTE(cuMemAllocFromPoolAsync_ptsz, "cuMemAllocFromPoolAsync", 11020, true),
	/* answered by gpuvm for its own pointers */
	ROUTE(cuMemGetInfo_v2, "cuMemGetInfo", 3020, false),
	ROUTE(cuMemGetAddressRange_v2, "cuMemGetAddressRange", 3020, false),
	ROUTE(cuPointerGetAttribute, "cuPointerGetAttribute", 4000, false),
	ROUTE(cuPointerGetAttributes, "cuPointerGetAttributes", 7000, false),
	ROUTE(cuCtxEnablePeerAccess, "cuCtxEnablePeerAccess", 4000, false),
	ROUTE(cuIpcGetMemHandle, "cuIpcGetMemHandle", 4010, false),
	ROUTE(cuIpcOpenMemHandle, "cuIpcOpenMemHandle", 4010, false),
	ROUTE(cuIpcOpenMemHandle_v2, "cuIpcOpenMemHandle", 11000, false),
	ROUTE(cuIpcCloseMemHandle, "cuIpcCloseMemHandle", 4010, false),
	/* watched: allocations during a graph capture go to the driver */
	ROUTE(cuStreamBeginCapture, "cuStreamBeginCapture", 10000, false),
	ROUTE(cuStreamBeginCapture_ptsz, "cuStreamBeginCapture", 10000, true),
	ROUTE(cuStreamBeginCapture_v2, "cuStreamBeginCapture", 10010, false),
	ROUTE(cuStreamBeginCapture_v2_ptsz, "cuStreamBeginCapture", 10010, true),
	ROUTE(cuStreamBeginCaptureToGraph, "cuStreamBeginCaptureToGraph", 12030, false),
	ROUTE(cuStreamBeginCaptureToGraph_ptsz, "cuStreamBeginCaptureToGraph", 12030, true),
	ROUTE(cuStreamEndCapture, "cuStreamEndCapture", 10000, false),
	ROUTE(cuStreamEndCapture_ptsz, "cuStreamEndCapture", 10000, true),
};

#define NR_ROUTES	(sizeof(routes) / sizeof(routes[0]))

/* The hook to hand out for a route, or NULL where the driver lacks it. */
static void *route_hook(const struct shim_route *r)
{
	return *r->real != (void *)shim_missing ? r->hook : NULL;
}

/**
 * shim_route_hook - the hook for a concrete driver function name
 * @name: e.g. "cuMemAlloc_v2", as dlsym is asked for it
 *
 * Return: the hook, or NULL when @name is not routed (or the driver lacks
 * it).  The caller has initialized the shim.
 */
void *shim_route_hook(const char *name)
{
	size_t i;

	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(routes[i].name, name))
			return route_hook(&routes[i]);
	return NULL;
}

/*
 * The hook replacing @real_fn, the driver's answer for @symbol, or NULL to
 * leave the answer alone.  The driver's documented rules pick the variant
 * (the highest version not above @cuda_version; the _ptsz one when the
 * per-thread flag is given and one exists); where the driver's pointer is
 * one of the other variants we resolved by name, the pointer wins, so a
 * driver with rules of its own is still followed.  Asking for a concrete
 * name ("cuMemAlloc_v2") gets that one.
 */
static void *route_select(const char *symbol, void *real_fn, int cuda_version,
			  cuuint64_t flags)
{
	bool per_thread = flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
	const struct shim_route *r, *best = NULL, *same = NULL;
	size_t i;

	for (i = 0; i < NR_ROUTES; i++) {
		r = &routes[i];
		if (strcmp(r->base, symbol)) {
			if (!strcmp(r->name, symbol))
				return route_hook(r);
			continue;
		}
		/* Drivers may alias a _ptsz variant to its twin: match the flag. */
		if (*r->real == real_fn && (!same || r->per_thread == per_thread))
			same = r;
		if (r->since > cuda_version || (r->per_thread && !per_thread))
			continue;
		/* A _ptsz variant beats its legacy twin; else the newest wins. */
		if (!best || (r->per_thread && !best->per_thread) ||
		    (r->per_thread == best->per_thread && r->since > best->since))
			best = r;
	}
	if (same && (!best || *best->real != real_fn))
		best = same;
	return best ? route_hook(best) : NULL;
}

/*
 * A driver may hand out our hooks itself (cudasim's table binds its own
 * exported names, which the preloaded shim interposes): where the caller
 * must get the real function, give it the real one.
 */
static void procaddr_unhook(void **pfn)
{
	size_t i;

	for (i = 0; i < NR_ROUTES; i++) {
		if (*pfn == routes[i].hook) {
			if (*routes[i].real != (void *)shim_missing)
				*pfn = *routes[i].real;
			return;
		}
	}
}

/* Replace the driver's answer in *@pfn when the function is routed. */
static void procaddr_route(const char *symbol, void **pfn, int cuda_version,
			   cuuint64_t flags, const void *caller)
{
	void *hook;

	if (!*pfn)
		return;
	/* gpuvm itself, or everyone when disabled, gets the real driver. */
	if (shim.disabled || shim_caller_is_internal(caller)) {
		procaddr_unhook(pfn);
		return;
	}
	if (symbol[0] != 'c' || symbol[1] != 'u')
		return;
	hook = route_select(symbol, *pfn, cuda_version, flags);
	if (!hook)
		return;
	shim_debug("cuGetProcAddress(%s, %d, %#llx): hooked", symbol, cuda_version,
		   (unsigned long long)flags);
	*pfn = hook;
}

/**
 * cuGetProcAddress_v2 - the driver's cuGetProcAddress_v2, handing out hooks
 *
 * Same contract as the driver's (CUDA 12.0+): the real driver answers,
 * including @status; a routed function is then replaced by its hook.
 */
SHIM_EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cuda_version,
					 cuuint64_t flags,
					 CUdriverProcAddressQueryResult *status)
{
	CUresult ret;

	shim_init();
	if (shim_has(cuGetProcAddress_v2)) {
		ret = shim.real.cuGetProcAddress_v2(symbol, pfn, cuda_version, flags, status);
	} else {
		ret = shim.real.cuGetProcAddress(symbol, pfn, cuda_version, flags);
		if (status)
			*status = ret == CUDA_SUCCESS ? CU_GET_PROC_ADDRESS_SUCCESS :
				  CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	}
	if (ret == CUDA_SUCCESS && symbol && pfn)
		procaddr_route(symbol, pfn, cuda_version, flags, __builtin_return_address(0));
	return ret;
}

/**
 * cuGetProcAddress - the driver's cuGetProcAddress (CUDA 11.3), handing out
 * hooks; see cuGetProcAddress_v2().
 */
SHIM_EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version,
				      cuuint64_t flags)
{
	CUresult ret;

	shim_init();
	if (shim_has(cuGetProcAddress))
		ret = shim.real.cuGetProcAddress(symbol, pfn, cuda_version, flags);
	else
		ret = shim.real.cuGetProcAddress_v2(symbol, pfn, cuda_version, flags, NULL);
	if (ret == CUDA_SUCCESS && symbol && pfn)
		procaddr_route(symbol, pfn, cuda_version, flags, __builtin_return_address(0));
	return ret;
}
