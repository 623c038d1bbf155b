// SPDX-License-Identifier: MIT
/*
 * chunk_pool.c - physical chunks: creation under the limit, the pool of
 * unmapped chunks, mapping chunks into a range and unmapping a range's
 * tail, releasing them to the driver.  Below the allocator: it never calls
 * into it (which chunks a range gets, and from where, is alloc.c's).
 *
 * Cost model (DESIGN §3, tools/replay/costs/): a chunk is created only when
 * neither the pool nor a cached range can give one, and then all that a
 * request lacks come from one cuMemCreate (it costs the same per call
 * whatever the size), each chunk mapped at its offset; a range of k chunks
 * costs k cuMemMap and a single cuMemSetAccess.
 *
 * Callers hold the device lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"

static inline uint64_t chunk_bytes(const struct vmm_device *d, const struct vmm_chunk *c)
{
	return (uint64_t)c->granules * d->gran;
}

/* Bytes of @p: what its release gives back (retired chunks included). */
static inline uint64_t phys_bytes(const struct vmm_device *d, const struct vmm_phys *p)
{
	return (uint64_t)p->nr * chunk_bytes(d, &p->chunk[0]);
}

/* A chunk of @bytes enters (@in) or leaves the pool: the free counts. */
static void pool_count(struct vmm_device *d, uint64_t bytes, bool in)
{
	if (in) {
		__free_chunks_put(d, 1, bytes);
		if (bytes == d->chunk_size)
			d->pool_run_bytes += bytes;
	} else {
		__free_chunks_take(d, 1, bytes);
		if (bytes == d->chunk_size)
			d->pool_run_bytes -= bytes;
	}
}

static void pool_add(struct vmm_device *d, struct vmm_chunk *c)
{
	list_add(&c->link, &d->pool);
	d->nr_pool++;
	c->phys->pooled++;
	pool_count(d, chunk_bytes(d, c), true);
}

static void pool_del(struct vmm_device *d, struct vmm_chunk *c)
{
	list_del_init(&c->link);
	d->nr_pool--;
	c->phys->pooled--;
	pool_count(d, chunk_bytes(d, c), false);
}

/*
 * Whether the driver maps a chunk at an offset into a larger allocation
 * (documented with offsets aligned to the granularity): asked once per
 * device, at the first allocation of several chunks @h, by mapping its
 * last chunk (@m of @csize bytes) at free VA and unmapping it again.  A
 * refusal is final; any other failure asks again next time.
 */
static bool slicing_ok(struct vmm_device *d, drv_handle_t h, uint64_t csize, uint32_t m)
{
	uint64_t va;
	int ret;

	if (d->slicing != VMM_SLICING_UNKNOWN)
		return d->slicing == VMM_SLICING_OK;
	if (arena_alloc(&d->arena, csize, (int)d->knob[VMM_KNOB_PLACEMENT], &va))
		return false;
	ret = drv_mem_map(d->ordinal, va, csize, h, (uint64_t)(m - 1) * csize);
	if (!ret) {
		/* it worked: whatever comes next, never ask again */
		d->slicing = VMM_SLICING_OK;
		if (drv_mem_unmap(d->ordinal, va, csize) &&
		    drv_mem_unmap(d->ordinal, va, csize)) {
			/* the VA stays claimed: nothing else may map there */
			vmm_warn("device %d: cannot undo the probe mapping at 0x%llx",
				 d->ordinal, (unsigned long long)va);
			return false;
		}
	} else if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		vmm_info("device %d: cuMemMap at an offset refused (%s); one cuMemCreate per chunk",
			 d->ordinal, drv_strerror(ret));
		d->slicing = VMM_SLICING_REFUSED;
	}
	arena_free(&d->arena, va, csize);
	return !ret;
}

/* Release @h, created a moment ago and never handed out. */
static void handle_drop(struct vmm_device *d, drv_handle_t h)
{
	int ret = drv_mem_release(d->ordinal, h);

	if (ret)
		ret = drv_mem_release(d->ordinal, h);
	if (ret)
		vmm_warn("device %d: cuMemRelease of an unused allocation failed: %s",
			 d->ordinal, drv_strerror(ret));
}

/*
 * One cuMemCreate of @m chunks of @csize bytes into @out (on no list).
 * Return: 0, or -errno (-EAGAIN: the driver does not map at an offset).
 */
static int phys_create(struct vmm_device *d, uint64_t csize, uint32_t m,
		       struct vmm_chunk **out)
{
	struct vmm_phys *p;
	drv_handle_t h;
	uint32_t i;
	int ret;

	/* a chunk's granules and an allocation's chunks fit 16 bits */
	if (csize / d->gran > UINT16_MAX || m > UINT16_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + m * sizeof(p->chunk[0]));
	if (!p)
		return -ENOMEM;
	ret = drv_mem_create(d->ordinal, m * csize, &h);
	if (ret)
		goto out_free;
	if (m > 1 && !slicing_ok(d, h, csize, m)) {
		handle_drop(d, h);
		ret = -EAGAIN;
		goto out_free;
	}
	p->handle = h;
	p->nr = (uint16_t)m;
	for (i = 0; i < m; i++) {
		struct vmm_chunk *c = &p->chunk[i];

		c->phys = p;
		c->id = d->next_chunk_id++;
		if (c->id == GPUVM_NO_CHUNK)
			c->id = d->next_chunk_id++;
		c->granules = (uint16_t)(csize / d->gran);
		c->slice = (uint16_t)i;
		INIT_LIST_HEAD(&c->link);
		out[i] = c;
	}
	vmm_stats_chunks_created(d, m, m * csize);
	vmm_trace(GPUVM_EV_CHUNK_CREATE, d->ordinal, 0, 0, m * csize, m * csize);
	return 0;

out_free:
	free(p);
	return ret;
}

/**
 * __chunks_create - new chunks under the limit, as few cuMemCreate as can be
 * @d: the device (locked)
 * @csize: bytes per chunk
 * @k: chunks wanted
 * @out: receives them (on no list)
 *
 * Up to VMM_PHYS_MAX_BYTES of chunks come from one allocation; when the
 * driver has less memory than that, or maps no offsets, one per chunk.
 * Return: chunks created (1..@k), or -errno when none.
 */
int __chunks_create(struct vmm_device *d, uint64_t csize, uint32_t k, struct vmm_chunk **out)
{
	uint64_t limit = d->knob[VMM_KNOB_LIMIT];
	uint32_t m = k;
	int ret;

	if (VMM_PHYS_MAX_BYTES / csize < m)
		m = VMM_PHYS_MAX_BYTES / csize > 1 ? (uint32_t)(VMM_PHYS_MAX_BYTES / csize) : 1;
	if (limit && (d->st->physical >= limit || (limit - d->st->physical) / csize < m))
		m = d->st->physical < limit ? (uint32_t)((limit - d->st->physical) / csize) : 0;
	if (!m)
		return -ENOMEM;
	if (d->slicing == VMM_SLICING_REFUSED)
		m = 1;
	ret = phys_create(d, csize, m, out);
	if (ret && m > 1) {
		m = 1;
		ret = phys_create(d, csize, m, out);
	}
	return ret ? ret : (int)m;
}

/* The chunk of @p that stands for it in the pool: its first not retired. */
static const struct vmm_chunk *phys_lead(const struct vmm_phys *p)
{
	uint32_t i;

	for (i = 0; i < p->nr && p->chunk[i].id == GPUVM_NO_CHUNK; i++)
		;
	return &p->chunk[i];
}

/*
 * Nothing of @p is in use (each chunk pooled or retired): hand it back.
 * Return: 0 or -errno.
 */
static int phys_release(struct vmm_device *d, struct vmm_phys *p)
{
	uint64_t bytes = phys_bytes(d, p);
	uint32_t i;
	int ret;

	ret = drv_mem_release(d->ordinal, p->handle);
	if (ret) {
		vmm_warn("device %d: cuMemRelease of chunk %u failed: %s; kept in the pool",
			 d->ordinal, p->chunk[0].id, drv_strerror(ret));
		return ret;
	}
	for (i = 0; i < p->nr; i++)
		if (p->chunk[i].id != GPUVM_NO_CHUNK)
			pool_del(d, &p->chunk[i]);
	vmm_stats_chunks_released(d, p->nr, bytes);
	vmm_trace(GPUVM_EV_CHUNK_RELEASE, d->ordinal, 0, 0, 0, bytes);
	free(p);
	return 0;
}

/*
 * Unmapped chunk @c, on no list, is done with: it goes to the pool, and
 * its allocation back to the driver once all of it is there.  When the
 * driver refuses, all of it stays in the pool (a later trim, reclaim or
 * the shutdown tries again).  Return: bytes handed back (0 while others
 * of its allocation are in use), or -errno.
 */
int64_t __chunk_release(struct vmm_device *d, struct vmm_chunk *c)
{
	struct vmm_phys *p = c->phys;
	uint64_t bytes;
	int ret;

	pool_add(d, c);
	if (!phys_unused(p))
		return 0;
	bytes = phys_bytes(d, p);
	ret = phys_release(d, p);
	return ret ? ret : (int64_t)bytes;
}

/**
 * __chunk_retire - an unmapped chunk of exported memory is given up for good
 * @d: the device (locked)
 * @c: the chunk, on no list
 *
 * Another process may still map it (the driver keeps the memory alive for
 * it), so it is never handed out again; it stays counted as held
 * (physical, chunks) until its allocation goes back to the driver, once the
 * rest of it is unused too.
 * Return: bytes handed back (0 while others of its allocation are in use),
 * or -errno (the rest of the allocation stays pooled).
 */
int64_t __chunk_retire(struct vmm_device *d, struct vmm_chunk *c)
{
	struct vmm_phys *p = c->phys;
	uint64_t bytes;
	int ret;

	c->id = GPUVM_NO_CHUNK;
	p->retired++;
	if (!phys_unused(p))
		return 0;
	bytes = phys_bytes(d, p);
	ret = phys_release(d, p);
	return ret ? ret : (int64_t)bytes;
}

void __chunks_return(struct vmm_device *d, struct vmm_chunk **c, uint32_t k)
{
	uint32_t i;

	for (i = 0; i < k; i++)
		pool_add(d, c[i]);
}

/*
 * One cuMemUnmap over @k adjacent whole mappings (@bytes from @va): the
 * driver takes that (the driver probe checks it), and on a GPU it costs the
 * same per call whatever the size (tools/replay/costs/).  A driver that
 * calls it invalid is not asked again.  Return: 0 when unmapped, else
 * -errno (never tried for one mapping): the caller goes one at a time.
 */
static int unmap_at_once(struct vmm_device *d, uint64_t va, uint64_t bytes, uint32_t k)
{
	int ret;

	if (k < 2 || d->unmap_single)
		return -EAGAIN;
	ret = drv_mem_unmap(d->ordinal, va, bytes);
	if (ret == -EINVAL) {
		vmm_debug("device %d: cuMemUnmap over %u mappings refused; one call each",
			  d->ordinal, k);
		d->unmap_single = true;
	}
	return ret;
}

/* The last @m chunks of @r are unmapped at @va: drop them into @out. */
static void tail_unmapped(struct vmm_device *d, struct vmm_range *r, uint64_t va,
			  uint32_t m, struct vmm_chunk **out)
{
	uint64_t bytes = (uint64_t)m * r->chunk_size;
	uint32_t n;

	vmm_trace(GPUVM_EV_UNMAP, d->ordinal, 0, va, 0, bytes);
	__pt_clear_chunks(d, va, bytes);
	for (n = 0; n < m; n++) {
		out[n] = r->chunks[--r->nr_chunks];
		r->chunks[r->nr_chunks] = NULL;
	}
	r->size -= bytes;
	vmm_stats_unmapped(d, bytes);
}

/*
 * Unmap the last @k chunks of range @r (each its own mapping) into @out,
 * from the tail down: in one call (unmap_at_once()), else one call per
 * chunk as far as they get.  On a failure the chunks unmapped so far are in
 * @out and @r is consistent: its size covers what is still mapped.
 * Return: chunks unmapped (== k on success), or -errno when none could be.
 */
int __chunks_unmap_tail(struct vmm_device *d, struct vmm_range *r, uint32_t k,
			struct vmm_chunk **out)
{
	uint64_t bytes, va;
	uint32_t n = 0;
	int ret = 0;

	if (k > r->nr_chunks)
		k = r->nr_chunks;
	bytes = (uint64_t)k * r->chunk_size;
	va = r->va + r->size - bytes;
	if (!unmap_at_once(d, va, bytes, k)) {
		tail_unmapped(d, r, va, k, out);
		return k;
	}
	while (n < k) {
		va = r->va + r->size - r->chunk_size;
		ret = drv_mem_unmap(d->ordinal, va, r->chunk_size);
		if (ret)
			break;
		tail_unmapped(d, r, va, 1, &out[n++]);
	}
	if (!n && ret)
		return ret;
	return n;
}

/*
 * Map @k chunks at @va, one mapping each, then set access once over the
 * whole range; the first @nr_counted of them are mapped elsewhere too, and
 * counted in the mapped bytes there.  On failure nothing stays mapped.
 */
int __chunks_map(struct vmm_device *d, uint64_t va, struct vmm_chunk **c, uint32_t k,
		 uint32_t nr_counted)
{
	uint64_t off = 0, total = 0;
	uint32_t i, j;
	int ret;

	for (i = 0; i < k; i++) {
		ret = drv_mem_map(d->ordinal, va + off, chunk_bytes(d, c[i]), c[i]->phys->handle,
				  c[i]->slice * chunk_bytes(d, c[i]));
		if (ret)
			goto out_unmap;
		off += chunk_bytes(d, c[i]);
	}
	total = off;
	ret = drv_set_access(d->ordinal, va, total, d->peers);
	if (ret)
		goto out_unmap;
	for (off = 0, j = 0; j < k; j++) {
		__pt_map_chunk(d, va + off, c[j]);
		off += chunk_bytes(d, c[j]);
	}
	vmm_stats_mapped(d, total - (uint64_t)nr_counted * chunk_bytes(d, c[0]));
	vmm_trace(GPUVM_EV_MAP, d->ordinal, 0, va, 0, total);
	return 0;

out_unmap:
	/*
	 * The caller hands the VA and the chunks back as unmapped, so the
	 * undo must not give up on one failed call: all at once first, then
	 * each chunk, twice (unmapping what is no longer mapped succeeds).
	 */
	if (!unmap_at_once(d, va, off, i))
		return ret;
	for (off = 0, j = 0; j < i; j++) {
		uint64_t bytes = chunk_bytes(d, c[j]);
		int err = drv_mem_unmap(d->ordinal, va + off, bytes);

		if (err)
			err = drv_mem_unmap(d->ordinal, va + off, bytes);
		if (err)
			vmm_warn("device %d: cannot undo the mapping at 0x%llx: cuMemUnmap failed: %s",
				 d->ordinal, (unsigned long long)(va + off), drv_strerror(err));
		off += bytes;
	}
	return ret;
}

/* Take up to @k pooled chunks of @csize bytes into @out; how many it took. */
uint32_t __chunks_take_pooled(struct vmm_device *d, uint64_t csize, uint32_t k,
			      struct vmm_chunk **out)
{
	struct vmm_chunk *c, *tmp;
	uint32_t n = 0;

	list_for_each_entry_safe(c, tmp, &d->pool, struct vmm_chunk, link) {
		if (n == k)
			break;
		if (chunk_bytes(d, c) != csize)
			continue;
		pool_del(d, c);
		out[n++] = c;
	}
	return n;
}

/* Allocations one scan of the pool collects for release. */
#define VMM_POOL_RELEASE_BATCH	64

/*
 * Release pooled allocations until @target bytes went back (0: all of
 * them); @stale_only: only chunks of a size other than the current
 * chunk_size.  An allocation goes when all its chunks are pooled.
 */
uint64_t __pool_release(struct vmm_device *d, uint64_t target, bool stale_only)
{
	struct vmm_phys *batch[VMM_POOL_RELEASE_BATCH];
	uint64_t done = 0, queued;
	struct vmm_chunk *c;
	uint32_t nr, i;
	int ret;

	do {
		/* complete allocations, each once (at its first chunk) */
		nr = 0;
		queued = 0;
		list_for_each_entry(c, &d->pool, struct vmm_chunk, link) {
			if (nr == VMM_POOL_RELEASE_BATCH || (target && done + queued >= target))
				break;
			if (c != phys_lead(c->phys) || !phys_unused(c->phys) ||
			    (stale_only && chunk_bytes(d, c) == d->chunk_size))
				continue;
			batch[nr++] = c->phys;
			queued += phys_bytes(d, c->phys);
		}
		for (i = 0; i < nr; i++) {
			uint64_t bytes = phys_bytes(d, batch[i]);

			ret = phys_release(d, batch[i]);
			if (ret)
				return done;	/* still pooled: try again later */
			done += bytes;
		}
	} while (nr == VMM_POOL_RELEASE_BATCH && (!target || done < target));
	return done;
}

int __pool_reserve(struct vmm_device *d, uint64_t bytes)
{
	struct vmm_chunk *c[VMM_PHYS_MAX_BYTES / (64u << 10)];
	uint64_t have = 0, csize = d->chunk_size;
	uint32_t k;
	int got;

	while (have < bytes) {
		k = (uint32_t)((bytes - have + csize - 1) / csize);
		if (k > sizeof(c) / sizeof(c[0]))
			k = sizeof(c) / sizeof(c[0]);
		got = __chunks_create(d, csize, k, c);
		if (got < 0)
			return got;
		__chunks_return(d, c, (uint32_t)got);
		have += (uint64_t)got * csize;
	}
	return 0;
}
