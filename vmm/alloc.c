// SPDX-License-Identifier: MIT
/*
 * alloc.c - the large path: the cache of ranges, the sources a request
 * tries (range_sources[]), building ranges from chunks, frees.
 *
 * (The entry points: entry.c.  Growable allocations: growable.c.)
 *
 * A request above small_max (or GPUVM_ALLOC_LARGE) is rounded up to the
 * chunk size and served, cheapest first, by
 *   1. a cached range: freed, synchronized, still mapped (no driver call;
 *      best fit, the excess split off at a chunk boundary);
 *   2. a synchronization, when deferred frees would serve it (one sync
 *      covers every free before it; see __dev_sync());
 *   3. a run of cached ranges side by side in VA, merged into one (no
 *      driver call: they are mapped there already);
 *   4. a cached range grown in place: the largest one below the request
 *      whose VA tail is free gets only the missing chunks mapped there
 *      (a buffer grown by "allocate larger, copy, free" re-maps 2 chunks
 *      per step instead of all of them);
 *   5. a new range that starts in the free end of a live allocation's last
 *      chunk (share.c), when that saves a chunk; before steps 3 and 4 when
 *      the pool and the cache are short;
 *   6. a new VA range stitched from pooled chunks, chunks stolen from
 *      cached ranges and, only then, new chunks under the limit;
 *   7. -ENOMEM, after memory held in stale chunk sizes went back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"



uint64_t __new_id(struct vmm_device *d)
{
	return (++d->next_id << 4) | (uint64_t)d->ordinal;
}

/* Cached ranges by usable size (range_usable()), then address. */
int range_cmp_size(const struct vtree_node *a, const struct vtree_node *b)
{
	const struct vmm_range *x = container_of(a, struct vmm_range, by_size);
	const struct vmm_range *y = container_of(b, struct vmm_range, by_size);
	uint64_t ux = range_usable(x), uy = range_usable(y);

	if (ux != uy)
		return ux < uy ? -1 : 1;
	return x->va < y->va ? -1 : x->va > y->va;
}

struct vmm_range *range_new(uint64_t csize, uint32_t cap)
{
	struct vmm_range *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (cap) {
		r->chunks = calloc(cap, sizeof(*r->chunks));
		if (!r->chunks) {
			free(r);
			return NULL;
		}
	}
	r->cap_chunks = cap;
	r->chunk_size = csize;
	r->slot = VMM_NO_SLOT;
	INIT_LIST_HEAD(&r->link);
	return r;
}

/* Free the descriptor only: its chunks and VA were handed on already. */
void __range_destroy(struct vmm_device *d, struct vmm_range *r)
{
	free(r->chunks);
	free(r);
}

/* An event done with goes back to the device's cache of them, or away. */
static void __event_put(struct vmm_device *d, drv_event_t ev)
{
	if (d->nr_events < sizeof(d->events) / sizeof(d->events[0]))
		d->events[d->nr_events++] = ev;
	else
		drv_event_destroy(d->ordinal, ev);
}

/*
 * Whether cached range @r may merge with a VA neighbour of @csize chunks:
 * it holds its chunks alone and maps exactly the VA it owns.
 */
static bool cache_mergeable(const struct vmm_range *r, uint64_t csize)
{
	return r && r->state == RANGE_CACHED && !r->flags && !r->head_off &&
	       r->va_size == r->size && r->chunk_size == csize && r->nr_chunks;
}

/*
 * Append @b, whose VA starts where @a's ends, to @a; @b is gone.  Neither
 * is in the size tree.  Return: false (nothing changed) when @a's chunk
 * array cannot grow.
 */
static bool range_absorb(struct vmm_device *d, struct vmm_range *a, struct vmm_range *b)
{
	uint32_t n = a->nr_chunks + b->nr_chunks;

	if (n > a->cap_chunks) {
		struct vmm_chunk **c = realloc(a->chunks, sizeof(*c) * n);

		if (!c)
			return false;
		a->chunks = c;
		a->cap_chunks = n;
	}
	memcpy(a->chunks + a->nr_chunks, b->chunks, sizeof(*b->chunks) * b->nr_chunks);
	a->nr_chunks = n;
	a->size += b->size;
	a->va_size = a->size;
	/* both counted in cached_range_bytes already: their sum is unchanged */
	__pt_set(d, b->va, b->size, GPUVM_PTE_CACHED, 0, a, VMM_GK_NONE);
	__range_destroy(d, b);
	return true;
}

/* The cached range that starts where @r ends in VA, if any may merge. */
static struct vmm_range *cache_next(struct vmm_device *d, const struct vmm_range *r)
{
	uint64_t end = r->va + r->size;
	struct vmm_range *n;

	if (end >= d->arena.base + d->arena.size)
		return NULL;
	n = pt_owner_of(d, end);
	/* one taken out of the cache (on no list) is about to go live */
	if (!n || n->va != end || !cache_mergeable(n, r->chunk_size) || list_empty(&n->link))
		return NULL;
	return n;
}

/* A deferred range is now covered by a sync (or its event): reusable. */
void __range_cache(struct vmm_device *d, struct vmm_range *r)
{
	if (r->event) {
		__event_put(d, r->event);
		r->event = NULL;
	}
	r->flags &= ~RANGE_F_ASYNC;
	r->stream = NULL;
	r->state = RANGE_CACHED;
	if (!(r->flags & RANGE_F_HEAD_SHARED))
		r->head_off = 0;	/* a former donor's work is done too */
	vtree_insert(&d->cached, &r->by_size);
	list_add_tail(&r->link, &d->cached_lru);
	d->cached_range_bytes += range_cached_bytes(r);
	if (r->flags & RANGE_F_EXPORTED)
		__range_retire(d, r);
}

/* Take a cached range out of the cache. */
static void cache_remove(struct vmm_device *d, struct vmm_range *r)
{
	vtree_erase(&d->cached, &r->by_size);
	list_del_init(&r->link);
	d->cached_range_bytes -= range_cached_bytes(r);
	__free_chunks_take(d, range_free_chunks(r), r->chunk_size);
}

/*
 * Split the chunks of @r from index @k on into a new cached range.  Fails
 * quietly (no split) when the descriptor cannot be allocated.
 */
static void split_tail(struct vmm_device *d, struct vmm_range *r, uint32_t k)
{
	struct vmm_range *t = range_new(r->chunk_size, r->nr_chunks - k);
	uint32_t i;

	if (!t)
		return;
	t->va = r->va + (uint64_t)k * r->chunk_size;
	t->nr_chunks = r->nr_chunks - k;
	t->size = t->va_size = (uint64_t)t->nr_chunks * r->chunk_size;
	for (i = 0; i < t->nr_chunks; i++)
		t->chunks[i] = r->chunks[k + i];
	r->nr_chunks = k;
	r->size = r->va_size = (uint64_t)k * r->chunk_size;
	__pt_set(d, t->va, t->size, GPUVM_PTE_CACHED, 0, t, VMM_GK_NONE);
	__free_chunks_put(d, t->nr_chunks, t->chunk_size);
	__range_cache(d, t);
}

/*
 * Take cached range @r out of the cache for a request of @want bytes from
 * ->head_off on; the chunks past it go back cached (a range that lent its
 * room keeps them: its tail cannot be split off).
 */
static struct vmm_range *cache_claim(struct vmm_device *d, struct vmm_range *r, uint64_t want)
{
	uint64_t need = round_up(r->head_off + want, r->chunk_size);

	cache_remove(d, r);
	if (r->size > need && !(r->flags & RANGE_F_TAIL_SHARED))
		split_tail(d, r, (uint32_t)(need / r->chunk_size));
	return r;
}

/* Cached ranges looked at past the best fit, when that one does not suit. */
#define VMM_CACHE_TRIES		8
#define VMM_RELEASE_BATCH	64	/* chunks one cuMemUnmap hands back on release */

/*
 * Whether a request of @want bytes may take cached range @r: a range with a
 * shared chunk or an offset start only with @share, and one that lent its
 * room (its tail cannot be split off) only if no chunk of it goes unused.
 */
static bool cache_fits(const struct vmm_range *r, uint64_t want, bool share)
{
	if (!(r->flags & RANGE_F_SHARED) && !r->head_off)
		return true;
	if (!share)
		return false;
	return !(r->flags & RANGE_F_TAIL_SHARED) || range_usable(r) < want + r->chunk_size;
}

/*
 * Best-fit cached range for @want bytes (by usable size), its excess split
 * off when it is a chunk.  The allocation starts ->head_off into it.
 */
static struct vmm_range *cache_take(struct vmm_device *d, uint64_t want, bool share)
{
	struct vmm_range key = { .size = want, .va = 0 }, *r;
	struct vtree_node *n;
	int i;

	for (i = 0; i < VMM_CACHE_TRIES; i++) {
		n = vtree_lower_bound(&d->cached, &key.by_size);
		if (!n)
			return NULL;
		r = container_of(n, struct vmm_range, by_size);
		if (cache_fits(r, want, share))
			break;
		key.size = range_usable(r);
		key.va = r->va + 1;
	}
	if (i == VMM_CACHE_TRIES)
		return NULL;
	return cache_claim(d, r, want);
}

/* Cached ranges a run may span, looking right from its first. */
#define VMM_RUN_SPAN		64

/*
 * No cached range holds @want bytes: the smallest run of cached ranges
 * side by side in VA that does is merged into one and taken as
 * cache_take() takes a range.  No driver call: the chunks are mapped
 * there already, with access set, each its own mapping.
 */
static struct vmm_range *cache_take_run(struct vmm_device *d, uint64_t want)
{
	uint64_t sum, best_sum = UINT64_MAX, need = round_up(want, d->chunk_size);
	struct vmm_range *r, *n, *best = NULL;
	int i;

	list_for_each_entry(r, &d->cached_lru, struct vmm_range, link) {
		if (!cache_mergeable(r, d->chunk_size))
			continue;
		for (sum = r->size, n = r, i = 0; sum < need && i < VMM_RUN_SPAN; i++) {
			n = cache_next(d, n);
			if (!n)
				break;
			sum += n->size;
		}
		if (sum >= need && sum < best_sum) {
			best = r;
			best_sum = sum;
			if (sum == need)
				break;
		}
	}
	if (!best)
		return NULL;
	vtree_erase(&d->cached, &best->by_size);
	while (best->size < need && (n = cache_next(d, best))) {
		vtree_erase(&d->cached, &n->by_size);
		list_del_init(&n->link);
		if (!range_absorb(d, best, n)) {
			vtree_insert(&d->cached, &n->by_size);
			list_add_tail(&n->link, &d->cached_lru);
			break;
		}
	}
	vtree_insert(&d->cached, &best->by_size);
	if (best->size < need)
		return NULL;	/* merged as far as it could: cached, bigger */
	return cache_claim(d, best, want);
}

/*
 * @r, async-freed, leaves the async list: its event covers the frees on
 * its stream before it too, so it passes to the nearest of those that has
 * none (an older one has its own, which covers less).
 */
static void async_unlink(struct vmm_device *d, struct vmm_range *r)
{
	struct list_head *pos;
	struct vmm_range *o;

	for (pos = r->link.prev; r->event && pos != &d->async; pos = pos->prev) {
		o = list_entry(pos, struct vmm_range, link);
		if (o->stream != r->stream)
			continue;
		if (!o->event) {
			o->event = r->event;
			r->event = NULL;
		}
		break;
	}
	if (r->event) {
		__event_put(d, r->event);
		r->event = NULL;
	}
	list_del_init(&r->link);
	d->nr_deferred--;
	d->deferred_bytes -= r->size;
	r->flags &= ~RANGE_F_ASYNC;
	r->stream = NULL;
}

/* An async-freed range of the same stream: stream order makes it safe now. */
static struct vmm_range *async_take(struct vmm_device *d, uint64_t size, void *stream)
{
	struct vmm_range *r, *tmp, *best = NULL;

	list_for_each_entry_safe(r, tmp, &d->async, struct vmm_range, link) {
		if (r->stream != stream || r->size < size || r->size >= 2 * size + r->chunk_size)
			continue;
		/* of equal sizes the newest: likely unmarked, and warm */
		if (!best || r->size <= best->size)
			best = r;
	}
	if (!best)
		return NULL;
	__free_chunks_take(d, best->nr_chunks, best->chunk_size);
	async_unlink(d, best);
	return best;
}

/*
 * Largest request (in chunks) that tries a donor before a run of cached
 * ranges and a growth in place when chunks must be created.  Derived from
 * the A100 defaults (a cuMemCreate, 190 us, worth about 8 chunks remapped);
 * since one cuMemCreate makes all of a request's chunks the choice barely
 * matters: on the replays at the H100's costs, 0, 4, 8 and 16 hold the
 * same within 4 MiB and cost the same driver time within 3 ms (64: up to
 * +2.9 ms), so it stays.
 */
#define VMM_SHARE_FIRST_CHUNKS	8

/* Cached ranges tried for a growth in place, largest first, per request. */
#define VMM_GROW_TRIES		8

/*
 * Chunks a thief unmaps from a cached range at least (when it has them):
 * one cuMemUnmap costs the same for 1 or 16, and the ones it does not need
 * go to the pool, where the next thieves (a KV cache growing a chunk at a
 * time) take them with no unmap.  Measured on the replays (seeds 1 to 4,
 * H100 costs): llm-serving's driver time -22%, churn's -1% to -4%, peak
 * held the same or lower on every one (4 and 8 did less; 32 held less on
 * some, but cost churn more).
 */
#define VMM_STEAL_MIN	16

/*
 * Steal up to @k chunks of @csize bytes from cached ranges, oldest first,
 * at least VMM_STEAL_MIN from each range robbed (the rest pooled).
 */
static int cache_steal(struct vmm_device *d, uint64_t csize, uint32_t k,
		       struct vmm_chunk **out)
{
	struct vmm_chunk *spare[VMM_STEAL_MIN];
	struct vmm_range *r, *tmp;
	uint32_t n = 0;
	int got;

	list_for_each_entry_safe(r, tmp, &d->cached_lru, struct vmm_range, link) {
		uint32_t m;

		if (n == k)
			break;
		if (r->chunk_size != csize)
			continue;
		vtree_erase(&d->cached, &r->by_size);
		/* a chunk another range maps stays with it */
		if ((r->flags & RANGE_F_SHARED) && __share_detach(d, r)) {
			vtree_insert(&d->cached, &r->by_size);
			continue;
		}
		if (!r->nr_chunks) {
			list_del_init(&r->link);
			__range_destroy(d, r);
			continue;
		}
		m = k - n < r->nr_chunks ? k - n : r->nr_chunks;
		/* a few more in the same call: the next thieves find them pooled */
		if (m < VMM_STEAL_MIN)
			m = r->nr_chunks < VMM_STEAL_MIN ? r->nr_chunks : VMM_STEAL_MIN;
		got = __chunks_unmap_tail(d, r, m, m > k - n ? spare : out + n);
		if (got > 0) {
			uint64_t tail = r->va + r->size;
			uint32_t use = (uint32_t)got < k - n ? (uint32_t)got : k - n;

			/* the unmapped tail's VA goes back to the arena */
			__pt_set(d, tail, r->va + r->va_size - tail, GPUVM_PTE_FREE, 0, NULL,
				 VMM_GK_NONE);
			arena_free(&d->arena, tail, r->va + r->va_size - tail);
			r->va_size = r->size;
			d->cached_range_bytes -= (uint64_t)got * csize;
			__free_chunks_take(d, (uint32_t)got, csize);
			if (m > k - n) {
				memcpy(out + n, spare, sizeof(*spare) * use);
				__chunks_return(d, spare + use, (uint32_t)got - use);
			}
			n += use;
		}
		if (!r->nr_chunks) {
			list_del_init(&r->link);
			__range_destroy(d, r);
		} else {
			vtree_insert(&d->cached, &r->by_size);
		}
		if (got < 0)
			return n ? (int)n : got;
		if ((uint32_t)got < m)
			return n;	/* an unmap failed: stop here */
	}
	return n;
}

/**
 * __chunks_gather - unmapped chunks for a range being built or grown
 * @d: the device (locked)
 * @csize: their size
 * @k: how many
 * @out: where they go
 * @allow_steal: may unmap chunks of cached ranges (the stitch knob)
 *
 * Cheapest first: pooled chunks, then (when @allow_steal) chunks of cached
 * ranges, then new ones under the limit; when the driver has no memory,
 * what is held in another chunk size is released once and creation tried
 * again.  The allocator decides this, not the chunk pool, which knows
 * nothing of ranges and caches.
 *
 * Return: 0, @k chunks in @out; -ENOMEM, -EIO, and every chunk gathered
 * is back in the pool.
 */
int __chunks_gather(struct vmm_device *d, uint64_t csize, uint32_t k,
		    struct vmm_chunk **out, bool allow_steal)
{
	bool reclaimed = false, single = false;
	uint32_t n;
	int ret = 0, got;

	n = __chunks_take_pooled(d, csize, k, out);
	if (n < k && allow_steal) {
		got = cache_steal(d, csize, k - n, out + n);
		if (got < 0) {
			ret = got;
			goto out_return;
		}
		n += got;
	}
	while (n < k) {
		/* a batch the driver could not give once: one at a time now */
		got = __chunks_create(d, csize, single ? 1 : k - n, out + n);
		if (got == 1 && k - n > 1)
			single = true;
		if (got == -ENOMEM && !reclaimed) {
			/* memory held in another chunk size is of no use here */
			reclaimed = true;
			if (__pool_release(d, 0, true) + __cached_release(d, 0, true))
				continue;
		}
		if (got < 0) {
			ret = got;
			goto out_return;
		}
		n += got;
	}
	return 0;

out_return:
	__chunks_return(d, out, n);
	return ret;
}

/*
 * The largest cached range of @csize chunks below @size bytes (among the
 * VMM_GROW_TRIES largest) whose VA up to @size is free; that VA is claimed.
 */
static struct vmm_range *grow_claim(struct vmm_device *d, uint64_t size, uint64_t csize)
{
	struct vmm_range key = { .size = size, .va = 0 }, *r;
	struct vtree_node *n;
	int i;

	for (i = 0; i < VMM_GROW_TRIES; i++) {
		n = vtree_predecessor(&d->cached, &key.by_size);
		if (!n)
			return NULL;
		r = container_of(n, struct vmm_range, by_size);
		/* a cached range owns only the VA it maps (va_size == size) */
		if (r->chunk_size == csize && r->va_size == r->size &&
		    !(r->flags & RANGE_F_SHARED) && !r->head_off &&
		    !arena_claim(&d->arena, r->va + r->size, size - r->size))
			return r;
		key.size = range_usable(r);
		key.va = r->va;
	}
	return NULL;
}

/*
 * Grow a cached range in place to @size bytes: claim the free VA after it,
 * gather only the missing chunks (never from the range itself: it is out
 * of the cache meanwhile), map them with one cuMemSetAccess over the new
 * tail.  On failure everything is undone and the range is cached again.
 */
static int range_grow(struct vmm_device *d, uint64_t size, uint64_t csize,
		      struct vmm_range **out)
{
	uint32_t cap = (uint32_t)(size / csize), have, k;
	struct vmm_chunk **chunks;
	struct vmm_range *r;
	uint64_t tail;
	int ret;

	if (!d->cached.root || (uint64_t)cap * csize != size)
		return -ENOENT;
	r = grow_claim(d, size, csize);
	if (!r)
		return -ENOENT;
	tail = r->va + r->size;
	if (cap > r->cap_chunks) {
		chunks = realloc(r->chunks, sizeof(*chunks) * cap);
		if (!chunks) {
			ret = -ENOMEM;
			goto out_free_va;
		}
		r->chunks = chunks;
		r->cap_chunks = cap;
	}
	have = r->nr_chunks;
	k = cap - have;
	cache_remove(d, r);
	ret = __chunks_gather(d, csize, k, r->chunks + have, d->knob[VMM_KNOB_STITCH] != 0);
	if (ret)
		goto out_recache;
	ret = __chunks_map(d, tail, r->chunks + have, k, 0);
	if (ret)
		goto out_return_chunks;
	r->nr_chunks = cap;
	r->size = r->va_size = size;
	/* the page table of the whole range is set when it goes live */
	vmm_stats_stitched(d);
	*out = r;
	return 0;

out_return_chunks:
	__chunks_return(d, r->chunks + have, k);
out_recache:
	__free_chunks_put(d, r->nr_chunks, r->chunk_size);
	__range_cache(d, r);
out_free_va:
	arena_free(&d->arena, tail, size - r->size);
	return ret;
}

/**
 * __range_build - a new range: VA from the arena, chunks gathered and mapped
 * @d: the device (locked)
 * @csize: chunk size
 * @k: chunks in it
 * @head: NULL, or a chunk mapped elsewhere already that goes first (tail
 *	  sharing: mapped once more, counted once in the statistics)
 * @out: the range, not live
 *
 * Return: 0; -ENOMEM, -EIO.
 */
int __range_build(struct vmm_device *d, uint64_t csize, uint32_t k, struct vmm_chunk *head,
		  struct vmm_range **out)
{
	uint32_t own = head ? k - 1 : k;
	uint64_t size = (uint64_t)k * csize, va;
	struct vmm_range *r;
	int ret;

	if (!k || size > d->arena.size)
		return -ENOMEM;
	r = range_new(csize, k);
	if (!r)
		return -ENOMEM;
	ret = arena_alloc(&d->arena, size, (int)d->knob[VMM_KNOB_PLACEMENT], &va);
	if (ret)
		goto out_free_range;
	ret = __chunks_gather(d, csize, own, r->chunks + (k - own),
			      d->knob[VMM_KNOB_STITCH] != 0);
	if (ret)
		goto out_free_va;
	if (head)
		r->chunks[0] = head;	/* gathering never touches a live range */
	ret = __chunks_map(d, va, r->chunks, k, head ? 1 : 0);
	if (ret)
		goto out_return_chunks;
	r->va = va;
	r->size = r->va_size = size;
	r->nr_chunks = k;
	vmm_stats_stitched(d);
	*out = r;
	return 0;

out_return_chunks:
	__chunks_return(d, r->chunks + (k - own), own);
out_free_va:
	arena_free(&d->arena, va, size);
out_free_range:
	__range_destroy(d, r);
	return ret;
}

/* A new range of @size bytes (a multiple of @csize) of chunks of its own. */
static int range_stitch(struct vmm_device *d, uint64_t size, uint64_t csize,
			struct vmm_range **out)
{
	uint32_t k = (uint32_t)(size / csize);

	if ((uint64_t)k * csize != size)
		return -ENOMEM;
	return __range_build(d, csize, k, NULL, out);
}

/* Would a new range of @size bytes need new chunks (pool and cache short)? */
static bool would_create(struct vmm_device *d, uint64_t size)
{
	uint64_t have = d->nr_pool * d->chunk_size;

	if (d->knob[VMM_KNOB_STITCH])
		have += d->cached_range_bytes;
	return have < size;
}

/**
 * __sync_before_create - should mapping @size more bytes synchronize first?
 * @d: the device (locked)
 * @size: bytes of chunks about to be gathered
 *
 * True when the pool and the cache cannot supply @size but deferred frees
 * hold at least a chunk: a synchronization makes them reusable, and reusing
 * them beats creating new chunks that stay held after the peak.
 */
bool __sync_before_create(struct vmm_device *d, uint64_t size)
{
	return d->deferred_bytes >= d->chunk_size && would_create(d, size);
}

/*
 * A request for a range, as the sources of range_sources[] see it, with
 * what the search did so far (each costly step is done once per request).
 */
struct range_req {
	uint64_t want;		/* bytes asked for */
	uint64_t size;		/* @want rounded up to the chunk size */
	uint64_t csize;		/* chunk size of a new range */
	unsigned int flags;
	void *stream;
	bool collected;		/* completed async frees collected */
	bool synced;		/* deferred frees made reusable */
	bool share_first;	/* a donor's room tried before growing */
};

/* What a source did: served the request, could not, or start over. */
enum {
	RANGE_SRC_GOT = 0,
	RANGE_SRC_NEXT = 1,	/* try the next source */
	RANGE_SRC_AGAIN = 2,	/* memory became reusable: from the first again */
};

/* Ranges freed in stream order on this stream, or cached ones. */
static int src_reused(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	struct vmm_range *r = NULL;

	if (q->flags & GPUVM_ALLOC_NOCACHE)
		return RANGE_SRC_NEXT;
	if (q->flags & VMM_ALLOC_ASYNC)
		r = async_take(d, q->size, q->stream);
	if (!r)
		r = cache_take(d, q->want, q->flags & VMM_ALLOC_SHARE);
	*out = r;
	return r ? RANGE_SRC_GOT : RANGE_SRC_NEXT;
}

/* The events of async frees may have completed: their ranges are cached. */
static int src_collected(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (!d->nr_deferred || q->collected)
		return RANGE_SRC_NEXT;
	q->collected = true;
	__dev_collect(d, true);
	return RANGE_SRC_AGAIN;
}

/* Deferred frees to reuse before mapping more: a batch, or enough bytes. */
static int src_synced(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (!d->nr_deferred || q->synced ||
	    (d->nr_deferred < d->knob[VMM_KNOB_FREE_BATCH] && d->deferred_bytes < q->size &&
	     !would_create(d, q->size)))
		return RANGE_SRC_NEXT;
	q->synced = true;
	return __dev_sync(d) ? RANGE_SRC_NEXT : RANGE_SRC_AGAIN;
}

/*
 * Sharing a donor's room saves a chunk for one more cuMemMap, but maps a
 * new range where a growth in place maps only what is missing.  When
 * memory is about to grow, the chunk saved is a cuMemCreate saved: share
 * first if the chunks it may remap cost no more than that.
 */
static int src_shared_first(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	q->share_first = (q->flags & VMM_ALLOC_SHARE) && would_create(d, q->size) &&
			 q->size <= VMM_SHARE_FIRST_CHUNKS * q->csize;
	if (q->share_first && !__share_get(d, q->want, q->csize, out))
		return RANGE_SRC_GOT;
	return RANGE_SRC_NEXT;
}

/* Cached ranges side by side in VA, taken as one. */
static int src_cached_run(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (q->flags & GPUVM_ALLOC_NOCACHE)
		return RANGE_SRC_NEXT;
	*out = cache_take_run(d, q->want);
	return *out ? RANGE_SRC_GOT : RANGE_SRC_NEXT;
}

/* A cached range grown in place: only the missing chunks mapped. */
static int src_grown(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (q->flags & GPUVM_ALLOC_NOCACHE)
		return RANGE_SRC_NEXT;
	return range_grow(d, q->size, q->csize, out) ? RANGE_SRC_NEXT : RANGE_SRC_GOT;
}

/* A donor's room, when it was not tried first. */
static int src_shared(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (!(q->flags & VMM_ALLOC_SHARE) || q->share_first)
		return RANGE_SRC_NEXT;
	return __share_get(d, q->want, q->csize, out) ? RANGE_SRC_NEXT : RANGE_SRC_GOT;
}

/* A new range: VA from the arena, chunks gathered (__chunks_gather()). */
static int src_stitched(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	int ret = range_stitch(d, q->size, q->csize, out);

	return ret == -ENOMEM ? RANGE_SRC_NEXT : ret;
}

/* Out of memory with frees still deferred: reuse them. */
static int src_synced_last(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (!d->nr_deferred || q->synced)
		return RANGE_SRC_NEXT;
	q->synced = true;
	return __dev_sync(d) ? RANGE_SRC_NEXT : RANGE_SRC_AGAIN;
}

/* Out of memory: cached memory released to the driver, then a new range. */
static int src_reclaimed(struct vmm_device *d, struct range_req *q, struct vmm_range **out)
{
	if (__dev_reclaim(d, 0) <= 0)
		return RANGE_SRC_NEXT;
	return range_stitch(d, q->size, q->csize, out);
}

/*
 * Where a range comes from, cheapest first: memory mapped already, then
 * memory that a collection or synchronization makes reusable, then new
 * mappings, and last the ways out of memory.  A source that made memory
 * reusable starts the search over, so that the cheap sources see it.
 */
static const struct range_source {
	int (*get)(struct vmm_device *d, struct range_req *q, struct vmm_range **out);
	bool cache_hit;		/* served from mapped memory: counted as a hit */
} range_sources[] = {
	{ src_reused,		true },
	{ src_collected,	false },
	{ src_synced,		false },
	{ src_shared_first,	false },
	{ src_cached_run,	true },
	{ src_grown,		false },
	{ src_shared,		false },
	{ src_stitched,		false },
	{ src_synced_last,	false },
	{ src_reclaimed,	false },
};

/**
 * __range_get - a mapped range of at least @size bytes, not yet live
 * @d: the device (locked; the lock may be dropped for a synchronization)
 * @size: bytes
 * @csize: chunk size for a new range
 * @flags: GPUVM_ALLOC_NOCACHE skips cached ranges; VMM_ALLOC_ASYNC: in
 *	   stream order on @stream; VMM_ALLOC_SHARE: may start in a donor's
 *	   room (then ->head_off of the range says where)
 * @stream: for stream-ordered allocation, the stream (NULL: legacy)
 * @out: the range
 *
 * Tries range_sources[] in order.
 *
 * Return: 0; -ENOMEM when no source could serve, or a source's -errno.
 */
int __range_get(struct vmm_device *d, uint64_t size, uint64_t csize, unsigned int flags,
		void *stream, struct vmm_range **out)
{
	struct range_req q = {
		.want = size, .size = round_up(size, csize), .csize = csize,
		.flags = flags, .stream = stream,
	};
	size_t i = 0;
	int ret;

	while (i < sizeof(range_sources) / sizeof(range_sources[0])) {
		ret = range_sources[i].get(d, &q, out);
		if (ret == RANGE_SRC_GOT) {
			if (range_sources[i].cache_hit)
				vmm_stats_cache_hit(d);
			return 0;
		}
		if (ret < 0)
			return ret;
		i = ret == RANGE_SRC_AGAIN ? 0 : i + 1;
	}
	return -ENOMEM;
}

void range_go_live(struct vmm_device *d, struct vmm_range *r, uint64_t requested,
		   uint32_t seg_flags, void *stream)
{
	r->state = RANGE_LIVE;
	r->requested = requested;
	r->id = __new_id(d);
	r->time_ns = 0;
	r->slot = __atab_add(d, r->id, seg_flags, r->va + r->head_off, range_usable(r),
			     requested, r->va_size - (r->size - range_usable(r)), r->nr_chunks,
			     stream);
	__pt_set(d, r->va, r->size, GPUVM_PTE_MAPPED, r->id, r, VMM_GK_LARGE);
	if (r->va_size > r->size)
		__pt_set(d, r->va + r->size, r->va_size - r->size, GPUVM_PTE_RESERVED, r->id, r,
			 VMM_GK_NONE);
	d->inuse_bytes += range_charge(r);
	vmm_stats_alloc(d, requested, range_charge(r));
}

/* The slot tracking @stream, or NULL. */
static struct vmm_async_stream *async_stream(struct vmm_device *d, void *stream)
{
	uint32_t i;

	for (i = 0; i < VMM_ASYNC_STREAMS; i++)
		if (d->async_streams[i].used && d->async_streams[i].stream == stream)
			return &d->async_streams[i];
	return NULL;
}

/*
 * The event for an async free on @stream, recorded now, after it: at every
 * VMM_ASYNC_MARK_EVERY-th free on a stream, and at the first on a stream
 * not tracked (the slot it takes drops another stream, whose next free
 * then records one: early, never late).  NULL for the others, or when the
 * record fails: the frees it would cover wait for a later event or a
 * context synchronization.
 */
static drv_event_t async_mark(struct vmm_device *d, void *stream)
{
	struct vmm_async_stream *s = async_stream(d, stream);
	drv_event_t ev = NULL;

	if (s && ++s->since_mark < VMM_ASYNC_MARK_EVERY)
		return NULL;
	if (d->nr_events)
		ev = d->events[--d->nr_events];
	else if (drv_event_create(d->ordinal, &ev))
		return NULL;
	if (drv_event_record(d->ordinal, ev, stream)) {
		__event_put(d, ev);
		return NULL;
	}
	if (!s) {
		s = &d->async_streams[d->async_stream_next++ % VMM_ASYNC_STREAMS];
		s->stream = stream;
		s->used = true;
	}
	s->since_mark = 0;
	return ev;
}

/* A live large range is freed: deferred until a sync (or its event). */
void __range_free(struct vmm_device *d, struct vmm_range *r, bool async, void *stream)
{
	bool shared;

	vmm_trace(GPUVM_EV_FREE_REQUESTED, d->ordinal, (uint64_t)(uintptr_t)stream,
		  r->va + r->head_off, 0, 0);
	vmm_stats_free(d, r->requested, range_charge(r));
	__atab_del(d, r->slot);
	r->slot = VMM_NO_SLOT;
	r->id = 0;
	r->requested = 0;
	d->inuse_bytes -= range_charge(r);
	__share_withdraw(d, r);
	/* the other range may still use a shared chunk: no stream reuse */
	shared = r->flags & RANGE_F_SHARED;
	if (!(r->flags & RANGE_F_HEAD_SHARED))
		r->head_off = 0;	/* its donor went long ago: all of it is free */
	if (r->va_size > r->size) {
		/* a growable range keeps only what is mapped */
		__pt_set(d, r->va + r->size, r->va_size - r->size, GPUVM_PTE_FREE, 0, NULL,
			 VMM_GK_NONE);
		arena_free(&d->arena, r->va + r->size, r->va_size - r->size);
		r->va_size = r->size;
	}
	r->flags &= ~RANGE_F_GROWABLE;
	if (!r->size) {
		__range_destroy(d, r);
		return;
	}
	__pt_set(d, r->va, r->size, GPUVM_PTE_CACHED, 0, r, VMM_GK_NONE);
	__free_chunks_put(d, range_free_chunks(r), r->chunk_size);
	r->state = RANGE_DEFERRED;
	r->tag = d->sync_started;
	d->nr_deferred++;
	d->deferred_bytes += r->size;
	/* shared with another process: never reused on the stream (ipc.c) */
	if (async && !shared && !(r->flags & RANGE_F_EXPORTED)) {
		r->stream = stream;
		r->flags |= RANGE_F_ASYNC;
		r->event = async_mark(d, stream);
		list_add_tail(&r->link, &d->async);
		return;
	}
	list_add_tail(&r->link, &d->deferred);
}

/*
 * How many of cached range @r's last chunks (at most VMM_RELEASE_BATCH,
 * enough for @want bytes; 0: as many) are whole allocations once unmapped:
 * the rest of each is in the pool already.
 */
static uint32_t tail_releasable(const struct vmm_range *r, uint64_t want)
{
	uint32_t m = 0, g;

	while (m < r->nr_chunks && (!want || (uint64_t)m * r->chunk_size < want)) {
		const struct vmm_phys *p = r->chunks[r->nr_chunks - m - 1]->phys;

		for (g = 1; m + g < r->nr_chunks &&
			    r->chunks[r->nr_chunks - m - g - 1]->phys == p; g++)
			;
		if (p->pooled + p->retired + g != p->nr || m + g > VMM_RELEASE_BATCH)
			break;
		m += g;
	}
	return m;
}

/*
 * Unmap a batch of cached range @r's last chunks (enough for @want bytes,
 * 0: all, at most VMM_RELEASE_BATCH) in one call and release them, adding
 * what went back to *@done.  With @whole_only, only chunks whose
 * allocation then goes back whole.  An exported range's chunks are retired
 * rather than pooled.  Return: 0; 1 when @whole_only found
 * none; -1 when a call failed (what could not be released waits in the
 * pool).
 */
static int release_tail(struct vmm_device *d, struct vmm_range *r, uint64_t want,
			bool whole_only, struct vmm_chunk **c, uint64_t *done)
{
	bool retire = r->flags & RANGE_F_EXPORTED;
	uint32_t m = r->nr_chunks, i;
	int64_t freed;
	int got;

	if (whole_only) {
		m = tail_releasable(r, want);
		if (!m)
			return 1;
	} else {
		if (want && m > (want + r->chunk_size - 1) / r->chunk_size)
			m = (uint32_t)((want + r->chunk_size - 1) / r->chunk_size);
		/* the rest of the last chunk's allocation, when it lies just before */
		while (m < r->nr_chunks && m < VMM_RELEASE_BATCH &&
		       r->chunks[r->nr_chunks - m - 1]->phys == r->chunks[r->nr_chunks - m]->phys)
			m++;
		if (m > VMM_RELEASE_BATCH)
			m = VMM_RELEASE_BATCH;
	}
	got = __chunks_unmap_tail(d, r, m, c);
	if (got <= 0)
		return -1;
	d->cached_range_bytes -= (uint64_t)got * r->chunk_size;
	__free_chunks_take(d, (uint32_t)got, r->chunk_size);
	for (i = 0; i < (uint32_t)got; i++) {
		if (retire) {
			/* retired even when its allocation's release failed (said) */
			freed = __chunk_retire(d, c[i]);
			*done += freed > 0 ? (uint64_t)freed : 0;
			continue;
		}
		freed = __chunk_release(d, c[i]);
		if (freed < 0) {
			/* it is in the pool now; so go the rest */
			__chunks_return(d, c + i + 1, (uint32_t)got - i - 1);
			return -1;
		}
		*done += (uint64_t)freed;
	}
	return (uint32_t)got < m ? -1 : 0;
}

/* One pass of __cached_release(), oldest range first. */
static uint64_t cached_release_pass(struct vmm_device *d, uint64_t target, bool stale_only,
				    bool whole_only)
{
	struct vmm_chunk *c[VMM_RELEASE_BATCH];
	struct vmm_range *r, *tmp;
	uint64_t done = 0;
	int ret;

	list_for_each_entry_safe(r, tmp, &d->cached_lru, struct vmm_range, link) {
		if (target && done >= target)
			break;
		if (stale_only && r->chunk_size == d->chunk_size)
			continue;
		vtree_erase(&d->cached, &r->by_size);
		if ((r->flags & RANGE_F_SHARED) && __share_detach(d, r)) {
			vtree_insert(&d->cached, &r->by_size);
			continue;	/* an unmap failed: try again later */
		}
		ret = 0;
		while (!ret && r->nr_chunks && (!target || done < target))
			ret = release_tail(d, r, target ? target - done : 0, whole_only, c, &done);
		if (r->va_size > r->size) {
			__pt_set(d, r->va + r->size, r->va_size - r->size, GPUVM_PTE_FREE, 0,
				 NULL, VMM_GK_NONE);
			arena_free(&d->arena, r->va + r->size, r->va_size - r->size);
			r->va_size = r->size;
		}
		if (!r->nr_chunks) {
			list_del_init(&r->link);
			__range_destroy(d, r);
		} else {
			vtree_insert(&d->cached, &r->by_size);
			if (ret < 0 && (!target || done < target))
				break;	/* an unmap failed: try again later */
		}
	}
	return done;
}

/**
 * __range_retire - an exported range is free: its memory is never reused
 * @d: the device (locked)
 * @r: a cached range with RANGE_F_EXPORTED; destroyed when done
 *
 * Another process may hold its memory (cuIpcOpenMemHandle) and go on
 * reading and writing it, as the driver allows: each chunk is unmapped
 * and retired, never pooled, and goes back to the driver with the rest of
 * its allocation.  A chunk it shares with a neighbour (tail sharing) stays
 * with the neighbour, which is marked exported in its turn.  When a driver
 * call fails, @r waits on dev->retiring (out of the cache: nothing takes
 * it) and is tried again at the next collection and at shutdown.
 */
void __range_retire(struct vmm_device *d, struct vmm_range *r)
{
	struct vmm_range *peer[2] = { NULL, NULL };
	struct vmm_chunk *c[VMM_RELEASE_BATCH];
	uint64_t done = 0;
	int ret = 0, i;

	if (r->state == RANGE_CACHED)
		vtree_erase(&d->cached, &r->by_size);
	r->state = RANGE_DEFERRED;	/* on no tree: never taken */
	list_del_init(&r->link);
	if (r->flags & RANGE_F_HEAD_SHARED)
		peer[0] = r->head_peer;
	if (r->flags & RANGE_F_TAIL_SHARED)
		peer[1] = r->tail_peer;
	/* before the detach, which would offer a live donor's room again */
	for (i = 0; i < 2; i++)
		if (peer[i])
			peer[i]->flags |= RANGE_F_EXPORTED;
	if (r->flags & RANGE_F_SHARED)
		ret = __share_detach(d, r);
	for (i = 0; i < 2; i++) {
		/* a free neighbour holds our bytes in the cache: retired too */
		if (peer[i] && peer[i]->state == RANGE_CACHED)
			__range_retire(d, peer[i]);
	}
	while (!ret && r->nr_chunks)
		ret = release_tail(d, r, 0, false, c, &done);
	if (r->va_size > r->size) {
		__pt_set(d, r->va + r->size, r->va_size - r->size, GPUVM_PTE_FREE, 0, NULL,
			 VMM_GK_NONE);
		arena_free(&d->arena, r->va + r->size, r->va_size - r->size);
		r->va_size = r->size;
	}
	if (r->nr_chunks) {
		list_add_tail(&r->link, &d->retiring);
		return;
	}
	__range_destroy(d, r);
}

/*
 * Release cached ranges, oldest first, until @target bytes went back (0:
 * all); @stale_only: only ranges of a chunk size other than the current.
 * A target is met first with chunks whose allocation goes back whole, so
 * that what is unmapped is released; only then are others unmapped (their
 * allocation goes back once the rest of it is unused too, as when its
 * chunks lie in several cached ranges).
 */
uint64_t __cached_release(struct vmm_device *d, uint64_t target, bool stale_only)
{
	uint64_t done = 0;

	if (target)
		done = cached_release_pass(d, target, stale_only, true);
	if (!target || done < target)
		done += cached_release_pass(d, target ? target - done : 0, stale_only, false);
	return done;
}
