// SPDX-License-Identifier: MIT
/*
 * entry.c - the allocation entry points: gpuvm_alloc(), gpuvm_free() and
 * their stream-ordered forms, gpuvm_owns(), gpuvm_query().  Each finds the
 * device, passes the gate and takes the device lock, then hands the
 * request to the small-object allocator (small.c) or the large path
 * (alloc.c), which know nothing of each other's callers.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"

/* The device whose arena holds @ptr, or NULL.  No lock. */
struct vmm_device *device_of(gpuvm_ptr_t ptr)
{
	int i, n = __atomic_load_n(&vmm.nr_devices, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {
		struct vmm_device *d = &vmm.dev[i];

		if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
			continue;
		if (ptr >= d->arena.base && ptr - d->arena.base < d->arena.size)
			return d;
	}
	return NULL;
}

static int vmm_alloc(int dev, size_t size, unsigned int flags, void *stream, bool async,
		     gpuvm_ptr_t *ptr)
{
	struct vmm_device *d;
	struct vmm_range *r;
	uint64_t csize, granted = 0;
	int ret;

	if (!ptr || !size || size > VMM_SIZE_MAX || (flags & ~GPUVM_ALLOC_FLAGS))
		return -EINVAL;
	d = vmm_device_get(dev, &ret);
	if (!d)
		return ret;
	vmm_lock(d);
	if (!(flags & GPUVM_ALLOC_LARGE) && small_fits(d, size)) {
		ret = __small_alloc(d, size, ptr);
		granted = d->cls[small_class_of(size)].size;
	} else {
		csize = d->chunk_size;
		if (!(flags & GPUVM_ALLOC_LARGE))
			flags |= VMM_ALLOC_SHARE;
		ret = __range_get(d, size, csize, flags | (async ? VMM_ALLOC_ASYNC : 0), stream,
				  &r);
		if (!ret) {
			range_go_live(d, r, size, async ? GPUVM_SEG_ALLOC_ASYNC : 0, stream);
			/* an async-reused range may still be in its stream's use */
			if ((flags & VMM_ALLOC_SHARE) && !async)
				__share_offer(d, r);
			*ptr = r->va + r->head_off;
			granted = range_usable(r);
		}
	}
	if (!ret) {
		vmm_trace(GPUVM_EV_ALLOC, d->ordinal, (uint64_t)(uintptr_t)stream, *ptr, size,
			  granted);
	} else if (ret == -ENOMEM) {
		vmm_stats_oom(d, stream, 0, size);
	}
	__stats_cached_update(d);
	if (VMM_DEBUG_CHECKS && !__pt_check(d))
		vmm_warn("device %d: page table inconsistent after alloc", d->ordinal);
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_alloc - allocate device memory
 * @dev: device ordinal
 * @size: bytes requested (> 0)
 * @flags: GPUVM_ALLOC_*
 * @ptr: on success, the device address
 *
 * Return: 0; -EINVAL (bad size, flags or device), -ENOMEM, -EIO.
 */
GPUVM_API int gpuvm_alloc(int dev, size_t size, unsigned int flags, gpuvm_ptr_t *ptr)
{
	return vmm_gated(-ESHUTDOWN, vmm_alloc(dev, size, flags, NULL, false, ptr));
}

/**
 * gpuvm_alloc_async - allocate in stream order
 * @dev: device ordinal
 * @size: bytes requested
 * @stream: the CUstream the memory will be used on (NULL: legacy stream)
 * @ptr: on success, the device address
 *
 * May reuse at once a range gpuvm_free_async() freed on the same @stream.
 */
GPUVM_API int gpuvm_alloc_async(int dev, size_t size, void *stream, gpuvm_ptr_t *ptr)
{
	return vmm_gated(-ESHUTDOWN, vmm_alloc(dev, size, 0, stream, true, ptr));
}

static int vmm_free(gpuvm_ptr_t ptr, bool async, void *stream)
{
	struct vmm_device *d = device_of(ptr);
	struct vmm_range *r;
	int ret = -EINVAL;

	if (!d)
		return -EINVAL;
	vmm_lock(d);
	r = pt_owner_of(d, ptr);
	if (!r || r->state != RANGE_LIVE)
		goto out_unlock;
	if (r->flags & RANGE_F_SLAB) {
		ret = __small_free(d, r, ptr);
	} else if (r->va + r->head_off == ptr) {
		__range_free(d, r, async, stream);
		ret = 0;
	}
	if (!ret) {
		uint64_t high = d->knob[VMM_KNOB_HIGH_WATERMARK];

		if (high && d->st->physical - d->inuse_bytes > high)
			__dev_trim(d);
	}
	__stats_cached_update(d);
	if (VMM_DEBUG_CHECKS && !__pt_check(d))
		vmm_warn("device %d: page table inconsistent after free", d->ordinal);
out_unlock:
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_free - free an allocation
 * @ptr: the address gpuvm_alloc*() returned
 *
 * The memory is reused only after a synchronization that began after this
 * call, so GPU work queued before it cannot see it handed out again.
 * Return: 0, or -EINVAL when @ptr is not the start of a live allocation.
 */
GPUVM_API int gpuvm_free(gpuvm_ptr_t ptr)
{
	return vmm_gated(-ESHUTDOWN, vmm_free(ptr, false, NULL));
}

/**
 * gpuvm_free_async - free in stream order
 * @ptr: the address gpuvm_alloc*() returned
 * @stream: the CUstream whose queued work may still use @ptr
 *
 * Return: 0, or -EINVAL when @ptr is not the start of a live allocation.
 */
GPUVM_API int gpuvm_free_async(gpuvm_ptr_t ptr, void *stream)
{
	return vmm_gated(-ESHUTDOWN, vmm_free(ptr, true, stream));
}

static bool vmm_owns(gpuvm_ptr_t ptr, int *dev)
{
	struct vmm_device *d = device_of(ptr);
	uint64_t g;
	uint8_t kind;
	bool owned;

	if (!d)
		return false;
	g = (ptr - d->arena.base) / d->gran;
	kind = __atomic_load_n(&d->owner[g], __ATOMIC_RELAXED) & VMM_GK_MASK;
	if (kind == VMM_GK_NONE)
		return false;
	if (kind == VMM_GK_LARGE) {
		owned = true;
	} else {
		vmm_lock(d);
		owned = pt_owner(d, g) && (pt_owner(d, g)->flags & RANGE_F_SLAB) &&
			__small_owns(d, pt_owner(d, g), ptr);
		vmm_unlock(d);
	}
	if (owned && dev)
		*dev = d->ordinal;
	return owned;
}

/**
 * gpuvm_owns - whether an address lies in memory gpuvm handed out
 * @ptr: any address
 * @dev: if non-NULL, receives the device ordinal
 *
 * Lock-free for large allocations (an arena bounds check and one page-table
 * byte); for sub-allocated objects the slab is consulted under the lock.
 */
GPUVM_API bool gpuvm_owns(gpuvm_ptr_t ptr, int *dev)
{
	return vmm_gated(false, vmm_owns(ptr, dev));
}

static int vmm_query(gpuvm_ptr_t ptr, struct gpuvm_alloc_info *info)
{
	struct vmm_device *d;
	struct vmm_range *r;
	int ret = -ENOENT;

	if (!info)
		return -EINVAL;
	d = device_of(ptr);
	if (!d)
		return -ENOENT;
	vmm_lock(d);
	r = __live_owner_of(d, ptr);
	if (!r)
		goto out_unlock;
	if (r->flags & RANGE_F_SLAB) {
		ret = __small_query(d, r, ptr, info);
		goto out_unlock;
	}
	/* a shared chunk's part before its start or in a room it lent */
	if (ptr < r->va + r->head_off || ptr >= r->va + r->head_off + range_usable(r))
		goto out_unlock;
	memset(info, 0, sizeof(*info));
	info->base = r->va + r->head_off;
	info->size = range_usable(r);
	info->requested = r->requested;
	info->max_size = r->va_size - (r->size - info->size);
	info->id = r->id;
	info->nr_chunks = r->nr_chunks;
	info->device = d->ordinal;
	info->flags = (r->flags & RANGE_F_GROWABLE) ? GPUVM_INFO_GROWABLE : 0;
	ret = 0;
out_unlock:
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_query - describe the allocation containing an address
 * @ptr: any address inside a live gpuvm allocation
 * @info: filled on success
 * Return: 0, or -ENOENT when gpuvm did not hand out @ptr (-EINVAL: NULL @info).
 */
GPUVM_API int gpuvm_query(gpuvm_ptr_t ptr, struct gpuvm_alloc_info *info)
{
	return vmm_gated(-ESHUTDOWN, vmm_query(ptr, info));
}
