// SPDX-License-Identifier: MIT
/*
 * hostmem.c - page-locked host memory: cuMemHostAlloc, cuMemAllocHost,
 * cuMemHostRegister and what the driver answers about it.
 *
 * Host memory needs nothing from a simulated device: an allocation is an
 * anonymous mapping, a registration only a record.  Both are recorded so
 * that the pointer attributes, cuMemHostGetDevicePointer and the leak check
 * know them.  With unified addressing (always, here) the device pointer of
 * host memory is its host address, as the driver gives it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cudasim.h"
#include "abi.h"

struct cs_host {
	uintptr_t start;
	size_t size;			/* bytes */
	size_t map_len;			/* bytes mapped; 0 for a registration */
	unsigned int flags;		/* CU_MEMHOSTALLOC_* or CU_MEMHOSTREGISTER_* */
	struct cs_ctx *ctx;
	unsigned long long buffer_id;
	bool inherited;			/* from the parent at fork: not a leak */
	struct cs_host *next;
};

static struct cs_host *hosts;		/* by cs.lock */

struct cs_host *__cs_host_find(uintptr_t addr)
{
	struct cs_host *h;

	for (h = hosts; h; h = h->next)
		if (addr >= h->start && addr - h->start < h->size)
			return h;
	return NULL;
}

static bool __host_overlaps(uintptr_t start, size_t size)
{
	struct cs_host *h;

	for (h = hosts; h; h = h->next)
		if (start < h->start + h->size && h->start < start + size)
			return true;
	return false;
}

/* Record [start, start + size); the caller has checked it. */
static CUresult host_add(uintptr_t start, size_t size, size_t map_len, unsigned int flags)
{
	struct cs_host *h = calloc(1, sizeof(*h));
	struct cs_ctx *ctx;
	CUresult res;

	if (!h)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS && !map_len && __host_overlaps(start, size))
		res = CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
	if (res != CUDA_SUCCESS) {
		cs_unlock();
		free(h);
		return res;
	}
	h->start = start;
	h->size = size;
	h->map_len = map_len;
	h->flags = flags;
	h->ctx = ctx;
	h->buffer_id = cs.next_buffer_id++;
	h->next = hosts;
	hosts = h;
	cs_unlock();
	return CUDA_SUCCESS;
}

/* Unlink the record that starts at @start and is (not) an allocation. */
static struct cs_host *host_take(uintptr_t start, bool alloc)
{
	struct cs_host **pp, *h = NULL;

	cs_lock();
	for (pp = &hosts; *pp; pp = &(*pp)->next) {
		if ((*pp)->start == start && !!(*pp)->map_len == alloc) {
			h = *pp;
			*pp = h->next;
			break;
		}
	}
	cs_unlock();
	return h;
}

static CUresult host_alloc(void **pp, size_t bytesize, unsigned int Flags)
{
	size_t len, page;
	void *p;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pp || !bytesize || (Flags & ~(unsigned int)(CU_MEMHOSTALLOC_PORTABLE |
							   CU_MEMHOSTALLOC_DEVICEMAP |
							   CU_MEMHOSTALLOC_WRITECOMBINED)))
		return CUDA_ERROR_INVALID_VALUE;
	page = (size_t)sysconf(_SC_PAGESIZE);
	if (bytesize > SIZE_MAX - page)
		return CUDA_ERROR_OUT_OF_MEMORY;
	len = CS_ALIGN_UP(bytesize, page);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return CUDA_ERROR_OUT_OF_MEMORY;
	res = host_add((uintptr_t)p, bytesize, len, Flags);
	if (res != CUDA_SUCCESS) {
		munmap(p, len);
		return res;
	}
	*pp = p;
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	CS_ENTER("cuMemHostAlloc");
	return host_alloc(pp, bytesize, Flags);
}

CS_API CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	CS_ENTER("cuMemAllocHost");
	return host_alloc(pp, bytesize, 0);
}

CS_API CUresult cuMemFreeHost(void *p)
{
	struct cs_host *h;

	CS_ENTER("cuMemFreeHost");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	h = host_take((uintptr_t)p, true);
	if (!h)
		return CUDA_ERROR_INVALID_VALUE;
	munmap((void *)h->start, h->map_len);
	free(h);
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags)
{
	CS_ENTER("cuMemHostRegister");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!p || !bytesize || (uintptr_t)p > UINTPTR_MAX - bytesize ||
	    (Flags & ~(unsigned int)(CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
				     CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY)))
		return CUDA_ERROR_INVALID_VALUE;
	/* I/O memory (a PCI BAR) is not something cudasim can be handed */
	if (Flags & CU_MEMHOSTREGISTER_IOMEMORY)
		return CUDA_ERROR_NOT_SUPPORTED;
	return host_add((uintptr_t)p, bytesize, 0, Flags);
}

CS_API CUresult cuMemHostUnregister(void *p)
{
	struct cs_host *h;

	CS_ENTER("cuMemHostUnregister");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	h = host_take((uintptr_t)p, false);
	if (!h)
		return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	free(h);
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags)
{
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemHostGetDevicePointer");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pdptr || Flags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (__cs_host_find((uintptr_t)p))
		*pdptr = (CUdeviceptr)(uintptr_t)p;
	else
		res = CUDA_ERROR_INVALID_VALUE;
	cs_unlock();
	return res;
}

CS_API CUresult cuMemHostGetFlags(unsigned int *pFlags, void *p)
{
	struct cs_host *h;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemHostGetFlags");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pFlags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	h = __cs_host_find((uintptr_t)p);
	/* only cuMemHostAlloc memory has flags to report */
	if (h && h->map_len)
		*pFlags = h->flags;
	else
		res = CUDA_ERROR_INVALID_VALUE;
	cs_unlock();
	return res;
}

/* Host memory's answers to cuPointerGetAttribute; cs.lock held. */
CUresult __cs_host_pointer_attr(void *data, CUpointer_attribute attr, uintptr_t ptr,
				struct cs_host *h)
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = (CUcontext)h->ctx;
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = CU_MEMORYTYPE_HOST;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		*(void **)data = (void *)ptr;
		break;
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(int *)data = 1;
		break;
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
		*(unsigned long long *)data = h->buffer_id;
		break;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
	case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
		*(int *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = h->ctx->dev;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = h->start;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = h->size;
		break;
	case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
		*(unsigned int *)data = h->flags & CU_MEMHOSTREGISTER_READ_ONLY && !h->map_len ?
			CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READ :
			CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READWRITE;
		break;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

/* The leak check's lines for host memory; cs.lock held. */
unsigned long __cs_host_leaks(int fd)
{
	unsigned long n = 0;
	struct cs_host *h;

	for (h = hosts; h; h = h->next) {
		if (h->inherited)
			continue;
		n++;
		dprintf(fd, "cudasim: leak: host %s 0x%lx size %zu\n",
			h->map_len ? "allocation" : "registration", (unsigned long)h->start,
			h->size);
	}
	return n;
}

void __cs_host_atfork_child(void)
{
	struct cs_host *h;

	for (h = hosts; h; h = h->next)
		h->inherited = true;
}
