// SPDX-License-Identifier: MIT
/*
 * growable.c - allocations that grow and shrink in place (KV caches).
 *
 * The whole maximum size is reserved as VA at once (page-table state
 * RESERVED); resizing maps chunks at the tail (k cuMemMap and one
 * cuMemSetAccess over the new part) or unmaps them, so the address never
 * moves and the data below the smaller size stays.  A shrink synchronizes
 * before it unmaps: a kernel still touching the tail would fault.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "trace_writer.h"

static int vmm_alloc_growable(int dev, size_t max_size, size_t size, gpuvm_ptr_t *ptr)
{
	struct vmm_device *d;
	struct vmm_range *r;
	uint64_t csize, vsize, msize, va;
	uint32_t k;
	int ret;

	if (!ptr || !max_size || size > max_size || max_size > VMM_SIZE_MAX)
		return -EINVAL;
	d = vmm_device_get(dev, &ret);
	if (!d)
		return ret;
	vmm_lock(d);
	csize = d->chunk_size;
	vsize = round_up(max_size, csize);
	msize = round_up(size, csize);
	k = (uint32_t)(msize / csize);
	ret = -ENOMEM;
	if (vsize > d->arena.size)
		goto out_unlock;
	r = range_new(csize, k);
	if (!r)
		goto out_unlock;
	ret = arena_alloc(&d->arena, vsize, (int)d->knob[VMM_KNOB_PLACEMENT], &va);
	if (ret)
		goto out_free_range;
	if (k) {
		/* the range is not visible yet: dropping the lock is harmless */
		if (__sync_before_create(d, msize))
			__dev_sync(d);
		ret = __chunks_gather(d, csize, k, r->chunks, d->knob[VMM_KNOB_STITCH] != 0);
		if (ret == -ENOMEM && d->nr_deferred && !__dev_sync(d))
			ret = __chunks_gather(d, csize, k, r->chunks,
					      d->knob[VMM_KNOB_STITCH] != 0);
		if (ret)
			goto out_free_va;
		ret = __chunks_map(d, va, r->chunks, k, 0);
		if (ret)
			goto out_return_chunks;
		vmm_stats_stitched(d);
	}
	r->va = va;
	r->va_size = vsize;
	r->size = msize;
	r->nr_chunks = k;
	r->flags = RANGE_F_GROWABLE;
	range_go_live(d, r, size, GPUVM_SEG_ALLOC_GROWABLE, NULL);
	*ptr = va;
	vmm_trace(GPUVM_EV_ALLOC, d->ordinal, 0, va, size, msize);
	goto out_unlock;

out_return_chunks:
	__chunks_return(d, r->chunks, k);
out_free_va:
	arena_free(&d->arena, va, vsize);
out_free_range:
	__range_destroy(d, r);
out_unlock:
	if (ret == -ENOMEM)
		vmm_stats_oom(d, NULL, 0, size);
	__stats_cached_update(d);
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_alloc_growable - reserve a growable allocation
 * @dev: device ordinal
 * @max_size: bytes it may grow to (virtual only)
 * @size: bytes mapped now (may be 0)
 * @ptr: on success, the device address; it never moves
 *
 * Return: 0; -EINVAL (bad sizes or device), -ENOMEM, -EIO.
 */
GPUVM_API int gpuvm_alloc_growable(int dev, size_t max_size, size_t size, gpuvm_ptr_t *ptr)
{
	return vmm_gated(-ESHUTDOWN, vmm_alloc_growable(dev, max_size, size, ptr));
}

static int grow(struct vmm_device *d, struct vmm_range *r, uint64_t msize)
{
	uint32_t k = (uint32_t)((msize - r->size) / r->chunk_size), cap;
	struct vmm_chunk **chunks;
	int ret;

	cap = (uint32_t)(msize / r->chunk_size);
	if (cap > r->cap_chunks) {
		chunks = realloc(r->chunks, sizeof(*chunks) * cap);
		if (!chunks)
			return -ENOMEM;
		r->chunks = chunks;
		r->cap_chunks = cap;
	}
	ret = __chunks_gather(d, r->chunk_size, k, r->chunks + r->nr_chunks,
			      d->knob[VMM_KNOB_STITCH] != 0);
	if (ret == -ENOMEM && d->nr_deferred && !__dev_sync(d))
		ret = __chunks_gather(d, r->chunk_size, k, r->chunks + r->nr_chunks,
				      d->knob[VMM_KNOB_STITCH] != 0);
	if (ret)
		return ret;
	ret = __chunks_map(d, r->va + r->size, r->chunks + r->nr_chunks, k, 0);
	if (ret) {
		__chunks_return(d, r->chunks + r->nr_chunks, k);
		return ret;
	}
	__pt_set(d, r->va + r->size, msize - r->size, GPUVM_PTE_MAPPED, r->id, r, VMM_GK_LARGE);
	d->inuse_bytes += msize - r->size;
	vmm_stats_allocated(d, (int64_t)(msize - r->size));
	r->nr_chunks += k;
	r->size = msize;
	return 0;
}

/*
 * Unmap the tail above @msize.  The caller synchronized first: unmapping
 * memory a queued kernel still touches faults on a GPU (cuMemUnmap does not
 * wait for it), so once the sync is done the chunks are free at once.
 */
static int shrink(struct vmm_device *d, struct vmm_range *r, uint64_t msize)
{
	uint32_t k = (uint32_t)((r->size - msize) / r->chunk_size), i;
	struct vmm_chunk **out;
	uint64_t old = r->size;
	int got;

	out = malloc(sizeof(*out) * k);
	if (!out)
		return -ENOMEM;
	got = __chunks_unmap_tail(d, r, k, out);
	if (got > 0 && (r->flags & RANGE_F_EXPORTED)) {
		/* another process may map them still: never reused (ipc.c) */
		for (i = 0; i < (uint32_t)got; i++)
			__chunk_retire(d, out[i]);
	} else if (got > 0) {
		__chunks_return(d, out, (uint32_t)got);
	}
	free(out);
	__pt_set(d, r->va + r->size, old - r->size, GPUVM_PTE_RESERVED, r->id, r, VMM_GK_NONE);
	d->inuse_bytes -= old - r->size;
	vmm_stats_allocated(d, -(int64_t)(old - r->size));
	if (got < 0)
		return got;
	return (uint32_t)got == k ? 0 : -EIO;
}

static int vmm_resize(gpuvm_ptr_t ptr, size_t new_size)
{
	struct vmm_device *d = device_of(ptr);
	struct vmm_range *r;
	uint64_t msize, old_req;
	int ret = -EINVAL;

	if (!d)
		return -EINVAL;
	vmm_lock(d);
	r = pt_owner_of(d, ptr);
	if (!r || r->state != RANGE_LIVE || !(r->flags & RANGE_F_GROWABLE) || r->va != ptr)
		goto out_unlock;
	ret = -ERANGE;
	if (new_size > r->va_size)
		goto out_unlock;
	msize = round_up(new_size, r->chunk_size);
	ret = 0;
	/*
	 * A shrink: work queued before may still touch the tail.  A growth
	 * that deferred frees could supply: reuse them rather than create.
	 * Either way sync, then look again (the lock was dropped).
	 */
	if (msize < r->size ||
	    (msize > r->size && __sync_before_create(d, msize - r->size))) {
		ret = __dev_sync(d);
		if (ret)
			goto out_unlock;
		r = pt_owner_of(d, ptr);
		ret = -EINVAL;
		if (!r || r->state != RANGE_LIVE || !(r->flags & RANGE_F_GROWABLE) ||
		    r->va != ptr)
			goto out_unlock;
		ret = 0;
	}
	if (msize > r->size)
		ret = grow(d, r, msize);
	else if (msize < r->size)
		ret = shrink(d, r, msize);
	if (!ret) {
		old_req = r->requested;
		r->requested = new_size;
		vmm_stats_requested(d, (int64_t)new_size - (int64_t)old_req);
	}
	__atab_update(d, r->slot, r->size, r->nr_chunks);
	if (r->slot != VMM_NO_SLOT)
		d->atab[r->slot].requested = r->requested;
	vmm_trace(GPUVM_EV_RESIZE, d->ordinal, 0, ptr, new_size, r->size);
	if (ret == -ENOMEM)
		vmm_stats_oom(d, NULL, ptr, new_size);
out_unlock:
	__stats_cached_update(d);
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_resize - grow or shrink a growable allocation in place
 * @ptr: start address returned by gpuvm_alloc_growable()
 * @new_size: new size in bytes, at most its max_size
 *
 * Maps chunks at the tail (k cuMemMap and one cuMemSetAccess) or unmaps
 * them; the address never moves and the data below min(old, new) is kept.
 * A shrink first synchronizes the device (work queued before may still
 * touch the tail), then its chunks go straight back to the pool.
 * Return: 0; -EINVAL (not a growable allocation start), -ERANGE (above
 * max_size), -ENOMEM, -EIO (a shrink then stops where the driver failed).
 */
GPUVM_API int gpuvm_resize(gpuvm_ptr_t ptr, size_t new_size)
{
	return vmm_gated(-ESHUTDOWN, vmm_resize(ptr, new_size));
}

