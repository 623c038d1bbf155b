// SPDX-License-Identifier: MIT
/*
 * stats.c - gpuvm_stats() from the published counters, and the derived
 * figures (largest mappable run, fragmentation).
 *
 * Definitions (Documentation/vmm.rst, "Statistics"):
 *   free physical   = physical - bytes backing live allocations and slabs
 *                     (pooled chunks, cached and deferred ranges)
 *   largest run     = with stitching, every free chunk of the current chunk
 *                     size can go into one range: their bytes; without it,
 *                     the largest single freed range (or the pool)
 *   frag_internal   = 1 - requested / mapped
 *   frag_external   = 1 - largest run / free physical
 *   frag_peak       = 1 - peak requested / peak mapped
 * Each is 0 when its denominator is 0.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "trace.h"

struct run_walk {
	uint64_t csize;
	uint64_t same;		/* bytes of freed ranges in the current size */
	uint64_t largest;	/* bytes of the largest freed range */
};

static void add_range(struct run_walk *w, struct vmm_range *r)
{
	if (r->chunk_size == w->csize)
		w->same += r->size;
	if (r->size > w->largest)
		w->largest = r->size;
}

static uint64_t largest_run(struct vmm_device *d)
{
	struct run_walk w = { .csize = d->chunk_size };
	struct vmm_chunk_batch *b, *bt;
	struct vmm_range *r, *rt;
	struct vmm_chunk *c, *ct;
	uint64_t pool = 0;

	list_for_each_entry_safe(r, rt, &d->cached_lru, struct vmm_range, link)
		add_range(&w, r);
	list_for_each_entry_safe(r, rt, &d->deferred, struct vmm_range, link)
		add_range(&w, r);
	list_for_each_entry_safe(r, rt, &d->async, struct vmm_range, link)
		add_range(&w, r);
	list_for_each_entry_safe(c, ct, &d->pool, struct vmm_chunk, link)
		if ((uint64_t)c->granules * d->gran == d->chunk_size)
			pool += d->chunk_size;
	list_for_each_entry_safe(b, bt, &d->deferred_chunks, struct vmm_chunk_batch, link)
		list_for_each_entry_safe(c, ct, &b->chunks, struct vmm_chunk, link)
			if ((uint64_t)c->granules * d->gran == d->chunk_size)
				pool += d->chunk_size;
	if (d->knob[VMM_KNOB_STITCH])
		return w.same + pool;
	return w.largest > pool ? w.largest : pool;
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
	st->largest_free_run = largest_run(d);
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
