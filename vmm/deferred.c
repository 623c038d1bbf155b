// SPDX-License-Identifier: MIT
/*
 * deferred.c - freed memory made reusable, and given back: the
 * synchronization that completes deferred frees, the collection of
 * stream-ordered frees whose events completed, trimming to the watermarks
 * and reclaim.
 *
 * Free semantics (Documentation/vmm.rst, "Frees"): a free is tagged with
 * the number of synchronizations begun before it (sync_started).  A
 * synchronization numbered n covers every free tagged below n, so one
 * cuCtxSynchronize makes every deferred free before it reusable, and the
 * hot path (free, then an allocation that a synchronized free can serve)
 * makes no driver call and no system call.
 *
 * The allocator calls in here when it runs short (as an allocation in
 * Linux enters direct reclaim), and what completes goes back to its cache
 * (__range_cache()), the chunk pool and the slabs.  Callers hold the
 * device lock; __dev_sync() drops it around the synchronization.
 */
#include <stdlib.h>

#include "internal.h"
#include "trace_writer.h"

/*
 * One cuCtxSynchronize of the device's context with the lock dropped (GPU
 * work may take long); afterwards every free tagged before it is collected.
 * Callers must re-check what they looked at before.
 */
int __dev_sync(struct vmm_device *d)
{
	uint64_t n = ++d->sync_started;
	int ret;

	vmm_unlock(d);
	ret = drv_ctx_synchronize(d->ordinal);
	vmm_lock(d);
	if (ret)
		return ret;
	if (n > d->sync_done)
		d->sync_done = n;
	d->syncing = true;	/* no nested sync from the trim in collect */
	__dev_collect(d, false);
	d->syncing = false;
	return 0;
}

/*
 * Async frees that completed: those a synchronization covers (tag below
 * sync_done) and, with @query_events, those at or before a completed
 * event on their stream.  Newest first, the first completed event of a
 * stream covers all its older frees, so each stream's older events are
 * not asked.
 */
static void collect_async(struct vmm_device *d, bool query_events)
{
	struct {
		void *stream;
		struct vmm_range *upto;	/* its newest free covered; NULL: passed */
	} done[2 * VMM_ASYNC_STREAMS];
	struct vmm_range *r, *rt;
	struct list_head *pos;
	uint32_t n = 0, i;
	bool covered;

	for (pos = d->async.prev; query_events && pos != &d->async; pos = pos->prev) {
		r = list_entry(pos, struct vmm_range, link);
		if (!r->event)
			continue;
		for (i = 0; i < n && done[i].stream != r->stream; i++)
			;
		if (i < n || drv_event_query(d->ordinal, r->event))
			continue;	/* covered by a newer one, or not done */
		if (n == sizeof(done) / sizeof(done[0]))
			break;		/* the others at the next collection */
		done[n].stream = r->stream;
		done[n++].upto = r;
	}
	list_for_each_entry_safe(r, rt, &d->async, struct vmm_range, link) {
		covered = r->tag < d->sync_done;
		for (i = 0; i < n && done[i].stream != r->stream; i++)
			;
		if (i < n && done[i].upto) {
			covered = true;
			if (done[i].upto == r)
				done[i].upto = NULL;
		}
		if (!covered)
			continue;
		list_del_init(&r->link);
		d->nr_deferred--;
		d->deferred_bytes -= r->size;
		vmm_trace(GPUVM_EV_FREE_COMPLETED, d->ordinal, (uint64_t)(uintptr_t)r->stream,
			  r->va, 0, r->size);
		__range_cache(d, r);
	}
}

/*
 * Move what completed syncs (or, with @query_events, completed events of
 * async frees) cover from the deferred lists to the cache and the pool.
 */
void __dev_collect(struct vmm_device *d, bool query_events)
{
	struct vmm_chunk_batch *b, *bt;
	struct vmm_range *r, *rt;
	struct vmm_chunk *c, *ct;
	uint64_t high;

	if (!list_empty(&d->retiring)) {
		struct list_head again;

		/* each is tried once: one that fails again goes back on the list */
		INIT_LIST_HEAD(&again);
		while (!list_empty(&d->retiring)) {
			r = list_first_entry(&d->retiring, struct vmm_range, link);
			list_del_init(&r->link);
			list_add_tail(&r->link, &again);
		}
		list_for_each_entry_safe(r, rt, &again, struct vmm_range, link)
			__range_retire(d, r);
	}
	list_for_each_entry_safe(r, rt, &d->deferred, struct vmm_range, link) {
		if (r->tag >= d->sync_done)
			break;		/* tags only grow along the list */
		list_del_init(&r->link);
		d->nr_deferred--;
		d->deferred_bytes -= r->size;
		vmm_trace(GPUVM_EV_FREE_COMPLETED, d->ordinal, 0, r->va, 0, r->size);
		__range_cache(d, r);
	}
	collect_async(d, query_events);
	list_for_each_entry_safe(b, bt, &d->deferred_chunks, struct vmm_chunk_batch, link) {
		if (b->tag >= d->sync_done)
			break;
		list_del_init(&b->link);
		d->nr_deferred--;
		d->deferred_bytes -= b->bytes;
		list_for_each_entry_safe(c, ct, &b->chunks, struct vmm_chunk, link) {
			list_del_init(&c->link);
			/* __chunks_return counts it again */
			__free_chunks_take(d, 1, (uint64_t)c->granules * d->gran);
			__chunks_return(d, &c, 1);
		}
		free(b);
	}
	__small_collect(d);
	high = d->knob[VMM_KNOB_HIGH_WATERMARK];
	if (high && d->st->physical - d->inuse_bytes > high)
		__dev_trim(d);
}

/*
 * Release cached memory down to low_watermark: pooled chunks first, then
 * the oldest cached ranges, then empty slabs.  Deferred frees are synced
 * first when what is releasable now would not reach the mark.
 */
void __dev_trim(struct vmm_device *d)
{
	uint64_t low = d->knob[VMM_KNOB_LOW_WATERMARK], cached, want, done;

	cached = d->st->physical - d->inuse_bytes;
	/*
	 * Memory kept by a chunk in use elsewhere in its allocation cannot go
	 * back: trim again (a sync each time) only once there is more.
	 */
	if (cached <= low || (d->trim_stuck && cached <= d->trim_stuck))
		return;
	want = cached - low;
	if (d->nr_deferred && !d->syncing)
		__dev_sync(d);	/* collects, and trims again from there */
	cached = d->st->physical - d->inuse_bytes;
	if (cached <= low)
		goto out;
	want = cached - low;
	done = __pool_release(d, want, false);
	if (done < want)
		done += __cached_release(d, want - done, false);
	if (done < want && __small_release_empty(d))
		done += __cached_release(d, want - done, false);
out:
	cached = d->st->physical - d->inuse_bytes;
	d->trim_stuck = cached > low ? cached : 0;
}

/* Hand back @target bytes of cached memory (0: all); return bytes released. */
int64_t __dev_reclaim(struct vmm_device *d, uint64_t target)
{
	uint64_t done;

	if (d->nr_deferred)
		__dev_sync(d);
	__small_release_empty(d);
	done = __pool_release(d, target, false);
	if (!target || done < target)
		done += __cached_release(d, target ? target - done : 0, false);
	__stats_cached_update(d);
	return (int64_t)done;
}
