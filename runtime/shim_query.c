// SPDX-License-Identifier: MIT
/*
 * shim_query.c - the questions gpuvm answers for its own memory.
 *
 * The driver sees gpuvm's memory as chunks mapped into one reservation, so
 * it would describe a chunk where the program asks about its allocation,
 * and count gpuvm's cached chunks as used.  These hooks let the driver
 * answer first (or entirely, for memory that is not gpuvm's) and correct
 * what gpuvm knows better: free and total memory (the limit, the cache),
 * the range of an allocation and peer access (legacy IPC: shim_ipc.c).
 */
#include <string.h>

#include "shim.h"

/** cuMemGetInfo_v2 - the driver's, corrected by gpuvm_mem_info() (cache, limit) */
SHIM_EXPORT CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
{
	uint64_t fr, tot;
	CUresult res;
	int dev;

	shim_init();
	res = shim.real.cuMemGetInfo_v2(free, total);
	if (res != CUDA_SUCCESS || shim.disabled || !free || !total)
		return res;
	dev = shim_current_device();
	fr = *free;
	tot = *total;
	if (dev < 0 || gpuvm_mem_info(dev, &fr, &tot))
		return res;
	*free = fr;
	*total = tot;
	return res;
}

/* The allocation containing @ptr, when it is gpuvm's. */
static bool gpuvm_allocation(CUdeviceptr ptr, struct gpuvm_alloc_info *info)
{
	return !shim.disabled && ptr && gpuvm_owns(ptr, NULL) && !gpuvm_query(ptr, info);
}

/** cuMemGetAddressRange_v2 - the driver's; the allocation's range for gpuvm's memory */
SHIM_EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr dptr)
{
	struct gpuvm_alloc_info info;

	shim_init();
	if (!gpuvm_allocation(dptr, &info))
		return shim.real.cuMemGetAddressRange_v2(base, size, dptr);
	if (base)
		*base = info.base;
	if (size)
		*size = info.requested;
	return CUDA_SUCCESS;
}

/* Fill one attribute gpuvm answers; false for the others. */
static bool gpuvm_attribute(void *data, CUpointer_attribute attr,
			    const struct gpuvm_alloc_info *info)
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = info->base;
		return true;
	case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
		*(void **)data = (void *)(uintptr_t)info->base;
		return true;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
	case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
		*(size_t *)data = info->requested;
		return true;
	default:
		return false;
	}
}

/** cuPointerGetAttribute - the driver's; ranges of gpuvm's allocations from gpuvm */
SHIM_EXPORT CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attr, CUdeviceptr ptr)
{
	struct gpuvm_alloc_info info;

	shim_init();
	if (data && gpuvm_allocation(ptr, &info) && gpuvm_attribute(data, attr, &info))
		return CUDA_SUCCESS;
	return shim.real.cuPointerGetAttribute(data, attr, ptr);
}

/** cuPointerGetAttributes - the driver's; ranges of gpuvm's allocations from gpuvm */
SHIM_EXPORT CUresult cuPointerGetAttributes(unsigned int count, CUpointer_attribute *attrs,
					    void **data, CUdeviceptr ptr)
{
	struct gpuvm_alloc_info info;
	unsigned int i;
	CUresult res;

	shim_init();
	res = shim.real.cuPointerGetAttributes(count, attrs, data, ptr);
	if (res != CUDA_SUCCESS || !attrs || !data || !gpuvm_allocation(ptr, &info))
		return res;
	for (i = 0; i < count; i++)
		if (data[i])
			gpuvm_attribute(data[i], attrs[i], &info);
	return res;
}

/* The device of a context that may not be current. */
static int context_device(CUcontext ctx)
{
	CUcontext popped;
	CUdevice dev;
	CUresult res;

	if (shim.real.cuCtxPushCurrent_v2(ctx) != CUDA_SUCCESS)
		return -1;
	res = shim.real.cuCtxGetDevice(&dev);
	shim.real.cuCtxPopCurrent_v2(&popped);
	return res == CUDA_SUCCESS ? dev : -1;
}

/**
 * cuCtxEnablePeerAccess - the driver's; gpuvm's memory of the peer's device
 * becomes accessible from the current one, present and future mappings
 */
SHIM_EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags)
{
	int dev, peer_dev, err;
	CUresult res;

	shim_init();
	res = shim.real.cuCtxEnablePeerAccess(peer, flags);
	if (res != CUDA_SUCCESS || shim.disabled)
		return res;
	dev = shim_current_device();
	peer_dev = context_device(peer);
	if (dev < 0 || peer_dev < 0 || dev == peer_dev)
		return res;
	if (!gpuvm_peer_access) {
		shim_log_once(SHIM_LOG_WARN,
			      "this libgpuvm cannot grant peer access: device %d cannot reach gpuvm memory of device %d",
			      dev, peer_dev);
		return res;
	}
	err = gpuvm_peer_access(peer_dev, dev);
	if (err) {
		/* libgpuvm has said what the driver said, if it was the driver */
		shim_warn("peer access of device %d to gpuvm memory of device %d: %s", dev,
			  peer_dev, strerror(-err));
		return shim_cuda_error(err);
	}
	shim_info("device %d reaches gpuvm memory of device %d", dev, peer_dev);
	return res;
}
