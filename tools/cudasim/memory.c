// SPDX-License-Identifier: MIT
/*
 * memory.c - physical memory accounting, the range registries, cuMemAlloc.
 *
 * Physical memory: each device's memfd is carved by one first-fit over its
 * capacity, shared by cuMemAlloc and cuMemCreate (2 MiB granules).  How
 * cuMemAlloc takes its part is CUDASIM_ALLOC's:
 *
 *	paged (default)	2 MiB pages wherever they are free, as the driver
 *			does: see paged.c
 *	contiguous	one first-fit hole of 512-byte granules, so plain
 *			allocation fragments: the worst case, for tests
 *
 * Device VA: cuMemAlloc memory is a host mapping of its memfd range (the
 * address the host sees is the device pointer).  In contiguous mode ranges
 * smaller than a host page share it with their neighbours through separate
 * mappings of the same file pages, so a 512-byte allocation costs 512
 * bytes of capacity.
 *
 * Registries: sorted arrays of pointers searched by binary search, O(log n)
 * lookups and O(n) memmove on insert/remove.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cudasim.h"

/* ---- physical first-fit ---- */

/*
 * Another process that imported part of @e holds an OFD read lock on its
 * bytes of the memfd for as long as its handle lives (it goes with the
 * importer's file, so with the process too): the driver keeps memory
 * alive while an importer holds it.
 */
static bool __cs_extent_imported(struct cs_device *d, const struct cs_extent *e)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET,
		.l_start = (off_t)e->off, .l_len = (off_t)e->size,
	};

	return !fcntl(d->memfd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK;
}

static void __cs_held_reap(struct cs_device *d)
{
	struct cs_extent *e, *next;

	for (e = d->extents; e && d->nr_held; e = next) {
		next = e->next;
		if (e->held && !__cs_extent_imported(d, e)) {
			d->nr_held--;
			__cs_phys_free(d, e);
		}
	}
}

struct cs_extent *__cs_phys_alloc(struct cs_device *d, size_t size, size_t align)
{
	struct cs_extent **pp = &d->extents, *e;
	size_t start = 0;

	if (d->nr_held)
		__cs_held_reap(d);
	if (size > d->capacity)
		return NULL;
	for (;;) {
		size_t end = *pp ? (*pp)->off : d->capacity;

		start = CS_ALIGN_UP(start, align);
		if (start <= end && end - start >= size)
			break;
		if (!*pp)
			return NULL;
		start = (*pp)->off + (*pp)->size;
		pp = &(*pp)->next;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	e->off = start;
	e->size = size;
	e->held = false;
	e->next = *pp;
	*pp = e;
	d->used += size;
	return e;
}

/* Give whole pages of a freed extent back to the host: freed device memory
 * costs no RAM.  Pages shared with a neighbour extent stay. */
static void __cs_phys_discard(struct cs_device *d, struct cs_extent *e)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t start = CS_ALIGN_UP(e->off, page);
	size_t end = (e->off + e->size) / page * page;

	if (end > start)
		fallocate(d->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)start, (off_t)(end - start));
}

/* An allocation a POSIX handle was exported of: kept while imported. */
void __cs_phys_free_exported(struct cs_device *d, struct cs_extent *e)
{
	if (!__cs_extent_imported(d, e)) {
		__cs_phys_free(d, e);
		return;
	}
	e->held = true;
	d->nr_held++;
}

void __cs_phys_free(struct cs_device *d, struct cs_extent *e)
{
	struct cs_extent **pp;

	for (pp = &d->extents; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			d->used -= e->size;
			__cs_phys_discard(d, e);
			free(e);
			return;
		}
	}
}

/* ---- sorted vectors ---- */

uintptr_t cs_region_key(void *p)
{
	return ((struct cs_region *)p)->start;
}

uintptr_t cs_resv_key(void *p)
{
	return ((struct cs_resv *)p)->start;
}

uintptr_t cs_handle_key(void *p)
{
	return (uintptr_t)((struct cs_handle *)p)->id;
}

/* Index of the first item whose key is > @key. */
static size_t cs_vec_upper(struct cs_vec *vec, uintptr_t key, uintptr_t (*key_of)(void *))
{
	size_t lo = 0, hi = vec->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_of(vec->v[mid]) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cs_vec_insert(struct cs_vec *vec, void *item, uintptr_t key, uintptr_t (*key_of)(void *))
{
	size_t i;

	if (vec->nr == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 64;
		void **v = realloc(vec->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	i = cs_vec_upper(vec, key, key_of);
	memmove(&vec->v[i + 1], &vec->v[i], (vec->nr - i) * sizeof(*vec->v));
	vec->v[i] = item;
	vec->nr++;
	return 0;
}

void cs_vec_remove(struct cs_vec *vec, void *item, uintptr_t key, uintptr_t (*key_of)(void *))
{
	size_t i = cs_vec_upper(vec, key, key_of);

	while (i > 0 && key_of(vec->v[i - 1]) == key) {
		if (vec->v[i - 1] == item) {
			memmove(&vec->v[i - 1], &vec->v[i], (vec->nr - i) * sizeof(*vec->v));
			vec->nr--;
			return;
		}
		i--;
	}
}

/* Index of the region containing @addr, or of the first one above it. */
size_t __cs_region_index_from(uintptr_t addr)
{
	size_t i = cs_vec_upper(&cs.regions, addr, cs_region_key);

	if (i > 0) {
		struct cs_region *r = cs.regions.v[i - 1];

		if (addr - r->start < r->size)
			return i - 1;
	}
	return i;
}

struct cs_region *__cs_region_find(uintptr_t addr)
{
	size_t i = __cs_region_index_from(addr);
	struct cs_region *r;

	if (i == cs.regions.nr)
		return NULL;
	r = cs.regions.v[i];
	return addr - r->start < r->size ? r : NULL;
}

struct cs_resv *__cs_resv_find(uintptr_t addr)
{
	size_t i = cs_vec_upper(&cs.resvs, addr, cs_resv_key);
	struct cs_resv *r;

	if (!i)
		return NULL;
	r = cs.resvs.v[i - 1];
	return addr - r->start < r->size ? r : NULL;
}

struct cs_handle *__cs_handle_find(unsigned long long id)
{
	size_t i = cs_vec_upper(&cs.handles, (uintptr_t)id, cs_handle_key);
	struct cs_handle *h;

	if (!i)
		return NULL;
	h = cs.handles.v[i - 1];
	return h->id == id ? h : NULL;
}

/*
 * May device @dev read (or write) [addr, addr + n)?  Every byte must lie in
 * cuMemAlloc memory or in a mapping whose access flags for @dev allow it.
 * @dev < 0 skips the access flags (mapped is enough).  With @one_alloc (a
 * copy or memset) a range that meets cuMemAlloc memory must lie in that
 * one allocation, as the driver requires even where the next allocation
 * is its neighbour in the same page (measured: a copy past the end of a
 * 1000-byte allocation fails); a run of adjacent mappings is fine.
 */
CUresult __cs_check_access(uintptr_t addr, size_t n, int dev, bool write, bool one_alloc)
{
	size_t i = __cs_region_index_from(addr);
	uintptr_t cur = addr, end;

	if (!n)
		return CUDA_SUCCESS;
	if (addr + n < addr)
		return CUDA_ERROR_INVALID_VALUE;
	end = addr + n;
	for (; cur < end; i++) {
		struct cs_region *r;
		unsigned char need = write ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
					   : CU_MEM_ACCESS_FLAGS_PROT_READ;

		if (i == cs.regions.nr)
			return CUDA_ERROR_INVALID_VALUE;
		r = cs.regions.v[i];
		if (cur < r->start || cur - r->start >= r->size)
			return CUDA_ERROR_INVALID_VALUE;
		if (r->kind == CS_REGION_MAPPING && dev >= 0 &&
		    (r->access[dev] & need) != need)
			return CUDA_ERROR_INVALID_VALUE;
		if (one_alloc && r->kind == CS_REGION_ALLOC &&
		    (cur != addr || end - r->start > r->size))
			return CUDA_ERROR_INVALID_VALUE;
		cur = r->start + r->size;
	}
	return CUDA_SUCCESS;
}

/* ---- cuMemAlloc and friends ---- */

/* Contiguous mode: one first-fit hole, mapped wherever the host likes. */
static int __mem_alloc_contiguous(struct cs_device *d, struct cs_region *r, size_t size,
				  bool low32)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t delta, pg_off;
	int flags = MAP_SHARED;

	r->phys = __cs_phys_alloc(d, size, CS_ALLOC_ALIGN);
	if (!r->phys)
		return -ENOMEM;
	pg_off = r->phys->off & ~(size_t)(page - 1);
	delta = r->phys->off - pg_off;
	r->map_len = CS_ALIGN_UP(delta + size, (size_t)page);
#ifdef MAP_32BIT
	if (low32)
		flags |= MAP_32BIT;
#endif
	r->map_base = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, flags, d->memfd, pg_off);
	if (r->map_base == MAP_FAILED) {
		__cs_phys_free(d, r->phys);
		return -ENOMEM;
	}
	r->start = (uintptr_t)r->map_base + delta;
	return 0;
}

static void __mem_release(struct cs_device *d, struct cs_region *r)
{
	if (cs.alloc_mode == CS_ALLOC_PAGED) {
		__cs_paged_free(d, r);
		return;
	}
	munmap(r->map_base, r->map_len);
	__cs_phys_free(d, r->phys);
}

/**
 * __cs_alloc_phys_off - where a cuMemAlloc region starts in its device file
 * @r: a CS_REGION_ALLOC region
 *
 * Return: the byte offset of its first byte in the device's memfd.
 */
size_t __cs_alloc_phys_off(const struct cs_region *r)
{
	return r->phys ? r->phys->off : __cs_paged_phys_off(r);
}

static CUresult __mem_alloc(CUdeviceptr *dptr, size_t bytesize, struct cs_ctx *ctx, int dev,
			    struct cs_pool *pool, bool low32)
{
	struct cs_device *d = &cs.dev[dev];
	struct cs_region *r;
	size_t size;
	int err;

	if (!dptr || !bytesize)
		return CUDA_ERROR_INVALID_VALUE;
	if (bytesize > d->capacity)
		return CUDA_ERROR_OUT_OF_MEMORY;
	size = CS_ALIGN_UP(bytesize, CS_ALLOC_ALIGN);
	r = calloc(1, sizeof(*r));
	if (!r)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (cs.alloc_mode == CS_ALLOC_PAGED)
		err = __cs_paged_alloc(d, r, size, low32);
	else
		err = __mem_alloc_contiguous(d, r, size, low32);
	if (err)
		goto out_free_region;
	r->kind = CS_REGION_ALLOC;
	r->size = size;
	r->dev = dev;
	r->ctx = ctx;
	r->pool = pool;
	r->buffer_id = cs.next_buffer_id++;
	if (low32 && r->start + size > 0xffffffffUL)
		goto out_release;
	if (cs_vec_insert(&cs.regions, r, r->start, cs_region_key))
		goto out_release;
	d->nr_allocs++;
	d->alloc_bytes += size;
	*dptr = r->start;
	return CUDA_SUCCESS;

out_release:
	__mem_release(d, r);
out_free_region:
	free(r);
	return CUDA_ERROR_OUT_OF_MEMORY;
}

static CUresult mem_alloc_ctx(CUdeviceptr *dptr, size_t bytesize, bool low32)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		res = __mem_alloc(dptr, bytesize, ctx, ctx->dev, NULL, low32);
	cs_unlock();
	return res;
}

CS_API CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	CS_ENTER("cuMemAlloc");
	return mem_alloc_ctx(dptr, bytesize, false);
}

CS_API CUresult cuMemAlloc(CUdeviceptr_v1 *dptr, unsigned int bytesize)
{
	CUdeviceptr p;
	CUresult res;

	CS_ENTER("cuMemAlloc");
	if (!dptr)
		return CUDA_ERROR_INVALID_VALUE;
	res = mem_alloc_ctx(&p, bytesize, true);
	if (res == CUDA_SUCCESS)
		*dptr = (CUdeviceptr_v1)p;
	return res;
}

static CUresult mem_alloc_pitch(CUdeviceptr *dptr, size_t *pPitch, size_t width, size_t height,
				unsigned int elem, bool low32)
{
	size_t pitch;

	if (!dptr || !pPitch || !width || !height)
		return CUDA_ERROR_INVALID_VALUE;
	if (elem != 4 && elem != 8 && elem != 16)
		return CUDA_ERROR_INVALID_VALUE;
	pitch = CS_ALIGN_UP(width, CS_ALLOC_ALIGN);
	if (height > SIZE_MAX / pitch)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*pPitch = pitch;
	return mem_alloc_ctx(dptr, pitch * height, low32);
}

CS_API CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes,
				   size_t Height, unsigned int ElementSizeBytes)
{
	CS_ENTER("cuMemAllocPitch");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	return mem_alloc_pitch(dptr, pPitch, WidthInBytes, Height, ElementSizeBytes, false);
}

CS_API CUresult cuMemAllocPitch(CUdeviceptr_v1 *dptr, unsigned int *pPitch,
				unsigned int WidthInBytes, unsigned int Height,
				unsigned int ElementSizeBytes)
{
	CUdeviceptr p;
	size_t pitch;
	CUresult res;

	CS_ENTER("cuMemAllocPitch");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!dptr || !pPitch)
		return CUDA_ERROR_INVALID_VALUE;
	res = mem_alloc_pitch(&p, &pitch, WidthInBytes, Height, ElementSizeBytes, true);
	if (res == CUDA_SUCCESS) {
		*dptr = (CUdeviceptr_v1)p;
		*pPitch = (unsigned int)pitch;
	}
	return res;
}

static void __mem_free_region(struct cs_region *r)
{
	struct cs_device *d = &cs.dev[r->dev];

	cs_vec_remove(&cs.regions, r, r->start, cs_region_key);
	d->nr_allocs--;
	d->alloc_bytes -= r->size;
	__mem_release(d, r);
	free(r);
}

static CUresult mem_free(CUdeviceptr dptr)
{
	struct cs_region *r;
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS || !dptr)	/* freeing 0 succeeds (measured) */
		goto out_unlock;
	r = __cs_region_find(dptr);
	if (!r || r->kind != CS_REGION_ALLOC || r->start != dptr) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	__mem_free_region(r);
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemFree_v2(CUdeviceptr dptr)
{
	CS_ENTER("cuMemFree");
	return mem_free(dptr);
}

CS_API CUresult cuMemFree(CUdeviceptr_v1 dptr)
{
	CS_ENTER("cuMemFree");
	return mem_free(dptr);
}

/* ---- stream-ordered allocation (synchronous here) ---- */

static bool __pool_valid(struct cs_pool *pool)
{
	int i;

	for (i = 0; i < cs.ndev; i++)
		if (pool == &cs.dev[i].pool)
			return true;
	return false;
}

static CUresult mem_alloc_async(CUdeviceptr *dptr, size_t bytesize, struct cs_pool *pool,
				CUstream hStream)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	res = __cs_stream_check(hStream, ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	if (!pool) {
		pool = &cs.dev[ctx->dev].pool;
	} else if (!__pool_valid(pool)) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	res = __mem_alloc(dptr, bytesize, ctx, pool->dev, pool, false);
	if (res == CUDA_SUCCESS)
		__cs_pool_account(pool);
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream)
{
	CS_ENTER("cuMemAllocAsync");
	return mem_alloc_async(dptr, bytesize, NULL, hStream);
}

CS_API CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hStream)
	__attribute__((alias("cuMemAllocAsync")));

CS_API CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
					CUstream hStream)
{
	CS_ENTER("cuMemAllocFromPoolAsync");
	if (!pool)
		return CUDA_ERROR_INVALID_VALUE;
	return mem_alloc_async(dptr, bytesize, (struct cs_pool *)pool, hStream);
}

CS_API CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytesize,
					     CUmemoryPool pool, CUstream hStream)
	__attribute__((alias("cuMemAllocFromPoolAsync")));

CS_API CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream)
{
	struct cs_region *r;
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuMemFreeAsync");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	res = __cs_stream_check(hStream, ctx);
	if (res != CUDA_SUCCESS || !dptr)
		goto out_unlock;
	r = __cs_region_find(dptr);
	if (!r || r->kind != CS_REGION_ALLOC || r->start != dptr) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	__mem_free_region(r);
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream)
	__attribute__((alias("cuMemFreeAsync")));

CS_API CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t minBytesToKeep)
{
	bool ok;

	CS_ENTER("cuMemPoolTrimTo");
	(void)minBytesToKeep;
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	ok = __pool_valid((struct cs_pool *)pool);
	cs_unlock();
	/* Freed pool memory goes straight back to the device: nothing cached. */
	return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* ---- cuMemGetInfo ---- */

static CUresult mem_get_info(size_t *free_bytes, size_t *total)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS) {
		struct cs_device *d = &cs.dev[ctx->dev];

		*free_bytes = d->capacity - d->used;
		*total = d->capacity;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
{
	size_t f, t;
	CUresult res;

	CS_ENTER("cuMemGetInfo");
	res = mem_get_info(&f, &t);
	if (res != CUDA_SUCCESS)
		return res;
	if (free)
		*free = f;
	if (total)
		*total = t;
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemGetInfo(unsigned int *free, unsigned int *total)
{
	size_t f, t;
	CUresult res;

	CS_ENTER("cuMemGetInfo");
	res = mem_get_info(&f, &t);
	if (res != CUDA_SUCCESS)
		return res;
	if (free)
		*free = f > 0xffffffffUL ? 0xffffffffU : (unsigned int)f;
	if (total)
		*total = t > 0xffffffffUL ? 0xffffffffU : (unsigned int)t;
	return CUDA_SUCCESS;
}

/* ---- extension: checks for kernel reference implementations ---- */

CS_API int cudasim_check_access(CUdeviceptr p, size_t n, int write)
{
	struct cs_ctx *ctx;
	struct cs_region *r;
	size_t i;
	int ret = 0;

	if (cs_check_init())
		return -EINVAL;
	cs_lock();
	if (__cs_need_ctx(&ctx)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (__cs_check_access(p, n, ctx->dev, write, false)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	/* A kernel may touch another device's cuMemAlloc memory only with
	 * peer access enabled. */
	for (i = __cs_region_index_from(p); n && i < cs.regions.nr; i++) {
		r = cs.regions.v[i];
		if (r->start >= p + n)
			break;
		if (r->kind == CS_REGION_ALLOC && r->dev != ctx->dev &&
		    !(ctx->peer_mask & (1u << r->dev))) {
			ret = -EFAULT;
			break;
		}
	}
out_unlock:
	cs_unlock();
	return ret;
}

CS_API int cudasim_check_range(CUdeviceptr p, size_t n)
{
	return cudasim_check_access(p, n, 1);
}

CS_API int cudasim_stats(int dev, struct cudasim_stats *st)
{
	struct cs_device *d;
	size_t i;

	if (!st)
		return -EINVAL;
	if (cs_check_init() || !cs_dev_valid(dev))
		return -ENODEV;
	cs_lock();
	d = &cs.dev[dev];
	memset(st, 0, sizeof(*st));
	st->allocations = d->nr_allocs;
	st->handles = d->nr_handles;
	st->mappings = d->nr_mappings;
	st->reservations = cs.resvs.nr;
	st->bytes_total = d->capacity;
	st->bytes_used = d->used;
	st->bytes_alloc = d->alloc_bytes;
	st->bytes_mapped = d->mapped_bytes;
	for (i = 0; i < cs.resvs.nr; i++)
		st->bytes_reserved += ((struct cs_resv *)cs.resvs.v[i])->size;
	cs_unlock();
	return 0;
}
