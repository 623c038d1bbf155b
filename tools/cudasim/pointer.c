// SPDX-License-Identifier: MIT
/*
 * pointer.c - cuPointerGetAttribute(s), cuMemGetAddressRange, cuIpcGetMemHandle.
 *
 * The driver's two notions of "range" differ for VMM memory and cudasim
 * keeps both: cuMemGetAddressRange answers the single mapping (cuMemMap
 * call) holding the pointer, RANGE_START_ADDR/RANGE_SIZE the reservation it
 * lies in; for cuMemAlloc memory all three name the allocation.
 *
 * Boolean and enum attributes are written as int (4 bytes) and
 * ALLOWED_HANDLE_TYPES as unsigned long long (8), as the driver does
 * (measured on an H200).
 */
#include <string.h>
#include <unistd.h>

#include "cudasim.h"

static size_t cs_attr_size(CUpointer_attribute attr)
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
	case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
		return sizeof(void *);
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
	case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
		return sizeof(CUdeviceptr);
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
	case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
	case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
		return sizeof(unsigned long long);
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
	case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
		return sizeof(size_t);
	case CU_POINTER_ATTRIBUTE_P2P_TOKENS:
		return 2 * sizeof(unsigned long long);
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
	case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
	case CU_POINTER_ATTRIBUTE_MAPPED:
	case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
	case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
	default:
		return sizeof(int);
	}
}

static bool cs_attr_known(CUpointer_attribute attr)
{
	return attr >= CU_POINTER_ATTRIBUTE_CONTEXT &&
	       attr <= CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID;
}

#define PUT(type, value) (*(type *)data = (type)(value))

/* One attribute of the memory at @ptr; cs.lock held. */
static CUresult __cs_pointer_attr(void *data, CUpointer_attribute attr, uintptr_t ptr)
{
	struct cs_region *r = __cs_region_find(ptr);
	struct cs_ctx *cur = cs_current_ctx();
	struct cs_resv *rv;
	bool vmm;

	if (!cs_attr_known(attr))
		return CUDA_ERROR_INVALID_VALUE;
	/* Reserved but unmapped VA is as unknown as any other (measured). */
	if (!r) {
		struct cs_host *h = __cs_host_find(ptr);

		return h ? __cs_host_pointer_attr(data, attr, ptr, h) : CUDA_ERROR_INVALID_VALUE;
	}
	vmm = r->kind == CS_REGION_MAPPING;
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		/* VMM memory belongs to no context: NULL (measured). */
		PUT(CUcontext, vmm ? NULL : r->ctx);
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		PUT(unsigned int, CU_MEMORYTYPE_DEVICE);
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		if (!cur || !__cs_ctx_valid(cur))
			return CUDA_ERROR_INVALID_CONTEXT;
		PUT(CUdeviceptr, ptr);
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
	case CU_POINTER_ATTRIBUTE_P2P_TOKENS:
		return CUDA_ERROR_INVALID_VALUE;
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
		PUT(int, 1);
		break;
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
		PUT(unsigned long long, r->buffer_id);
		break;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
		PUT(int, 0);
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		PUT(int, r->dev);
		break;
	case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
		PUT(int, !vmm);
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		rv = vmm ? r->resv : NULL;
		PUT(CUdeviceptr, rv ? rv->start : r->start);
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		rv = vmm ? r->resv : NULL;
		PUT(size_t, rv ? rv->size : r->size);
		break;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		PUT(int, 1);
		break;
	case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
		PUT(unsigned long long, vmm ? r->handle->prop.requestedHandleTypes : 0);
		break;
	case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS: {
		int dev = cur && __cs_ctx_valid(cur) ? cur->dev : r->dev;

		if (vmm)
			PUT(unsigned int, r->access[dev]);
		else if (dev == r->dev || (cur && (cur->peer_mask & (1u << r->dev))))
			PUT(unsigned int, CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READWRITE);
		else
			PUT(unsigned int, CU_POINTER_ATTRIBUTE_ACCESS_FLAG_NONE);
		break;
	}
	case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
		PUT(CUmemoryPool, r->pool);
		break;
	case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
		PUT(size_t, r->size);
		break;
	case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
		PUT(CUdeviceptr, r->start);
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
		PUT(unsigned long long, vmm ? r->handle->block_id : r->buffer_id);
		break;
	}
	return CUDA_SUCCESS;
}

CS_API CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
	CUresult res;

	CS_ENTER("cuPointerGetAttribute");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!data)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_pointer_attr(data, attribute, ptr);
	cs_unlock();
	return res;
}

/* Unlike the single form it never fails for a foreign pointer: attributes
 * it cannot answer are zeroed, as documented. */
CS_API CUresult cuPointerGetAttributes(unsigned int numAttributes,
				       CUpointer_attribute *attributes, void **data,
				       CUdeviceptr ptr)
{
	unsigned int i;

	CS_ENTER("cuPointerGetAttributes");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!numAttributes || !attributes || !data)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < numAttributes; i++)
		if (!cs_attr_known(attributes[i]))
			return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	for (i = 0; i < numAttributes; i++) {
		if (!data[i])
			continue;
		if (__cs_pointer_attr(data[i], attributes[i], ptr) != CUDA_SUCCESS)
			memset(data[i], 0, cs_attr_size(attributes[i]));
	}
	cs_unlock();
	return CUDA_SUCCESS;
}

static CUresult mem_get_address_range(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
	struct cs_region *r;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	r = __cs_region_find(dptr);
	if (!r) {
		res = CUDA_ERROR_NOT_FOUND;
	} else {
		if (pbase)
			*pbase = r->start;
		if (psize)
			*psize = r->size;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
	CS_ENTER("cuMemGetAddressRange");
	return mem_get_address_range(pbase, psize, dptr);
}

CS_API CUresult cuMemGetAddressRange(CUdeviceptr_v1 *pbase, unsigned int *psize,
				     CUdeviceptr_v1 dptr)
{
	CUdeviceptr base;
	size_t size;
	CUresult res;

	CS_ENTER("cuMemGetAddressRange");
	res = mem_get_address_range(&base, &size, dptr);
	if (res != CUDA_SUCCESS)
		return res;
	if (pbase)
		*pbase = (CUdeviceptr_v1)base;
	if (psize)
		*psize = (unsigned int)size;
	return CUDA_SUCCESS;
}

/* Legacy IPC works on cuMemAlloc memory only, never on VMM mappings. */
CS_API CUresult cuIpcGetMemHandle(CUipcMemHandle *pHandle, CUdeviceptr dptr)
{
	struct cs_region *r;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuIpcGetMemHandle");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pHandle)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	r = __cs_region_find(dptr);
	if (!r || r->kind != CS_REGION_ALLOC) {
		res = CUDA_ERROR_INVALID_VALUE;
	} else {
		unsigned long long v[4] = { getpid(), r->dev, __cs_alloc_phys_off(r),
					     r->size };

		memset(pHandle, 0, sizeof(*pHandle));
		memcpy(pHandle->reserved, "CSIMIPC", 8);
		memcpy(pHandle->reserved + 8, v, sizeof(v));
	}
	cs_unlock();
	return res;
}
