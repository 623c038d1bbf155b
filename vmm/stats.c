// SPDX-License-Identifier: MIT
/*
 * stats.c - the published counters: every change of them (here and in the
 * inline helpers of internal.h, named for what happened), gpuvm_stats()
 * from them, and the derived figures (largest mappable run,
 * fragmentation).
 *
 * Definitions (Documentation/vmm.rst, "Statistics"):
 *   free physical   = physical - bytes backing live allocations and slabs
 *                     (pooled chunks, cached and deferred ranges)
 *   largest run     = with stitching, every free chunk of the current chunk
 *                     size can go into one range: their bytes; without it,
 *                     the largest single freed range (or the pool); it is
 *                     published with cached, on every change
 *   frag_internal   = 1 - requested / mapped
 *   frag_external   = 1 - largest run / free physical
 *   frag_peak       = 1 - peak requested / peak mapped
 * Each is 0 when its denominator is 0.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"

void vmm_stats_alloc(struct vmm_device *d, uint64_t requested, uint64_t allocated)
{
	struct gpuvm_seg_stats *st = d->st;

	st->requested += requested;
	st->allocated += allocated;
	st->live_allocs++;
	st->alloc_calls++;
	if (st->requested > st->peak_requested)
		st->peak_requested = st->requested;
	if (st->allocated > st->peak_allocated)
		st->peak_allocated = st->allocated;
}

void vmm_stats_free(struct vmm_device *d, uint64_t requested, uint64_t allocated)
{
	struct gpuvm_seg_stats *st = d->st;

	st->requested -= requested;
	st->allocated -= allocated;
	st->live_allocs--;
	st->free_calls++;
}

/* an allocation of @size bytes (at @ptr, for a resize) failed for memory */
void vmm_stats_oom(struct vmm_device *d, void *stream, uint64_t ptr, uint64_t size)
{
	d->st->ooms++;
	vmm_trace(GPUVM_EV_OOM, d->ordinal, (uint64_t)(uintptr_t)stream, ptr, size, 0);
}

/*
 * Free chunks a non-live range holds, counting each chunk once: a chunk
 * two ranges share is free only while neither is live, and then counts
 * for the donor (the range whose tail it is), never for the borrower.
 */
static uint64_t range_free_alone(const struct vmm_range *r)
{
	uint64_t n = r->nr_chunks;

	if (r->flags & RANGE_F_HEAD_SHARED)
		n--;
	if ((r->flags & RANGE_F_TAIL_SHARED) && r->tail_peer->state == RANGE_LIVE)
		n--;
	return n;
}

static void recount_range(struct vmm_device *d, const struct vmm_range *r, uint64_t *chunks,
			  uint64_t *run)
{
	uint64_t n = range_free_alone(r);

	*chunks += n;
	if (r->chunk_size == d->chunk_size)
		*run += n * r->chunk_size;
}

/**
 * __free_run_recount - count the free chunks from the lists
 * @d: the device, locked
 * @chunks: all free chunks (what st->chunks_free counts)
 * @run: bytes of those of the current chunk size (d->free_run_bytes)
 * @pool: bytes of the pool's of the current size (d->pool_run_bytes)
 *
 * The counters are kept as chunks move; this walk sets them up again when
 * the chunk size changes and checks them in debug builds.
 */
void __free_run_recount(struct vmm_device *d, uint64_t *chunks, uint64_t *run, uint64_t *pool)
{
	struct vmm_chunk_batch *b, *bt;
	struct vmm_range *r, *rt;
	struct vmm_chunk *c, *ct;

	*chunks = *run = *pool = 0;
	list_for_each_entry_safe(r, rt, &d->cached_lru, struct vmm_range, link)
		recount_range(d, r, chunks, run);
	list_for_each_entry_safe(r, rt, &d->deferred, struct vmm_range, link)
		recount_range(d, r, chunks, run);
	list_for_each_entry_safe(r, rt, &d->async, struct vmm_range, link)
		recount_range(d, r, chunks, run);
	list_for_each_entry_safe(c, ct, &d->pool, struct vmm_chunk, link) {
		(*chunks)++;
		if ((uint64_t)c->granules * d->gran == d->chunk_size)
			*pool += d->chunk_size;
	}
	list_for_each_entry_safe(b, bt, &d->deferred_chunks, struct vmm_chunk_batch, link) {
		list_for_each_entry_safe(c, ct, &b->chunks, struct vmm_chunk, link) {
			(*chunks)++;
			if ((uint64_t)c->granules * d->gran == d->chunk_size)
				*run += d->chunk_size;
		}
	}
	*run += *pool;
}

static uint64_t max_freed(const struct list_head *head, uint64_t m)
{
	struct vmm_range *r, *rt;

	list_for_each_entry_safe(r, rt, head, struct vmm_range, link)
		if (r->size > m)
			m = r->size;
	return m;
}

/**
 * __largest_free_run - the largest request free memory serves, in bytes
 * @d: the device, locked
 *
 * Without a new chunk, that is: with stitching, all free chunks of the
 * current chunk size (pool, cached and deferred ranges) can go into one
 * range; without it, the largest freed range or the pool's chunks of the
 * current size.  Either way a cached range of an earlier chunk size is
 * reused whole.  With stitching it is a counter and a tree's last node;
 * without, the freed ranges waiting for a sync are walked as well.
 */
uint64_t __largest_free_run(struct vmm_device *d)
{
	struct vtree_node *last = vtree_last(&d->cached);
	uint64_t m = 0, run;

	if (last)
		m = container_of(last, struct vmm_range, by_size)->size;
	if (d->knob[VMM_KNOB_STITCH]) {
		run = d->free_run_bytes;
	} else {
		m = max_freed(&d->deferred, m);
		m = max_freed(&d->async, m);
		run = d->pool_run_bytes;
	}
	return m > run ? m : run;
}

static double ratio_left(uint64_t part, uint64_t whole)
{
	if (!whole)
		return 0.0;
	if (part >= whole)
		return 0.0;
	return 1.0 - (double)part / (double)whole;
}

static int vmm_stats(int dev, struct gpuvm_stats *stats)
{
	struct vmm_device *d;
	struct gpuvm_seg_stats *st;
	uint64_t free_phys;
	int ret, i;

	if (!stats)
		return -EINVAL;
	d = vmm_device_get(dev, &ret);
	if (!d)
		return ret;
	vmm_lock(d);
	st = d->st;
	__stats_cached_update(d);
	if (!d->ordinal)
		st->trace_dropped = vmm_trace_dropped();
	st->limit = d->knob[VMM_KNOB_LIMIT];
	memset(stats, 0, sizeof(*stats));
	stats->requested = st->requested;
	stats->allocated = st->allocated;
	stats->mapped = st->mapped;
	stats->cached = st->cached;
	stats->physical = st->physical;
	stats->reserved_va = st->reserved_va;
	stats->limit = st->limit;
	stats->device_total = st->device_total;
	stats->peak_requested = st->peak_requested;
	stats->peak_allocated = st->peak_allocated;
	stats->peak_mapped = st->peak_mapped;
	stats->largest_free_run = st->largest_free_run;
	stats->live_allocs = st->live_allocs;
	stats->alloc_calls = st->alloc_calls;
	stats->free_calls = st->free_calls;
	stats->cache_hits = st->cache_hits;
	stats->stitches = st->stitches;
	stats->ooms = st->ooms;
	stats->chunks = st->chunks;
	stats->chunks_free = st->chunks_free;
	stats->reclaimed = st->reclaimed;
	stats->trace_dropped = vmm_trace_dropped();
	for (i = 0; i < GPUVM_DRV_NR; i++)
		stats->driver_calls[i] = __atomic_load_n(&st->driver_calls[i], __ATOMIC_RELAXED);
	free_phys = st->cached;
	stats->frag_internal = ratio_left(st->requested, st->mapped);
	stats->frag_external = ratio_left(st->largest_free_run, free_phys);
	stats->frag_peak = ratio_left(st->peak_requested, st->peak_mapped);
	vmm_unlock(d);
	return 0;
}

/**
 * gpuvm_stats - statistics of one device
 * @dev: device ordinal
 * @stats: filled on success
 *
 * Return: 0, -EINVAL (bad device or NULL @stats), -ENODEV.
 */
GPUVM_API int gpuvm_stats(int dev, struct gpuvm_stats *stats)
{
	return vmm_gated(-ESHUTDOWN, vmm_stats(dev, stats));
}

/**
 * gpuvm_mem_info - a device's free and total memory as a program on gpuvm
 * sees them (cuMemGetInfo under the shim)
 * @dev: device ordinal
 * @free: in, what the driver says is free; out, that plus what gpuvm caches
 *	  (handed out again before the driver is asked), at most what the
 *	  limit leaves, at most the total
 * @total: in, the driver's total; out, at most the limit
 *
 * Return: 0, or -EINVAL (bad device, NULL pointer), -ENODEV, -ESHUTDOWN
 * (nothing changed).
 */
GPUVM_API int gpuvm_mem_info(int dev, uint64_t *free, uint64_t *total)
{
	uint64_t fr, tot, in_use, avail;
	struct gpuvm_stats st;
	int ret;

	if (!free || !total)
		return -EINVAL;
	ret = gpuvm_stats(dev, &st);
	if (ret)
		return ret;
	tot = *total;
	fr = *free + st.cached;
	if (st.limit) {
		in_use = st.physical > st.cached ? st.physical - st.cached : 0;
		avail = in_use < st.limit ? st.limit - in_use : 0;
		if (st.limit < tot)
			tot = st.limit;
		if (fr > avail)
			fr = avail;
	}
	*total = tot;
	*free = fr < tot ? fr : tot;
	return 0;
}

/**
 * stats_publish_trace_dropped - the trace's lost events into the status
 * @dropped: events lost so far by the trace
 * @wait: wait for a busy device lock (else give up: the caller retries)
 *
 * The trace writer calls it when the count changed, so a program that
 * never calls gpuvm_stats() (one under the shim) shows its drops too.  The
 * count is the process's: it goes in device 0's block alone, as the status
 * of a process sums its devices.
 *
 * Return: true when published; false when device 0 is not set up (yet)
 * or its lock was busy.
 */
bool stats_publish_trace_dropped(uint64_t dropped, bool wait)
{
	struct vmm_device *d = &vmm.dev[0];

	if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
		return false;
	if (wait)
		pthread_mutex_lock(&d->lock);
	else if (pthread_mutex_trylock(&d->lock))
		return false;
	__pt_begin(d);
	d->st->trace_dropped = dropped;
	vmm_unlock(d);
	return true;
}
