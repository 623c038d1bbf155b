// SPDX-License-Identifier: MIT
/*
 * torch_caching.c - model of PyTorch's CUDA caching allocator
 * (c10/cuda/CUDACachingAllocator.cpp), following its documented rules:
 *
 *  - a request is rounded up to 512 bytes (minimum 512);
 *  - requests up to 1 MiB come from the small pool, larger ones from the
 *    large pool; pools are per stream;
 *  - a new segment is cudaMalloc'ed when no cached block fits: 2 MiB for a
 *    small request, 20 MiB for a request of 1-10 MiB, the request rounded up
 *    to 2 MiB above that;
 *  - a cached block is chosen best-fit (smallest that fits, then lowest
 *    address) on the request's stream; a request below max_split_size never
 *    takes a block of max_split_size or more, and a request at or above it
 *    never takes a block 20 MiB or more larger than itself;
 *  - the block is split when the rest is at least 512 bytes (small pool) or
 *    more than 1 MiB (large pool, only for requests below max_split_size);
 *  - freed blocks merge with free neighbours of their segment and are
 *    cached, never returned to the driver;
 *  - when cudaMalloc fails, every cached segment that is wholly free is
 *    cudaFree'd and the cudaMalloc retried once.
 *
 * cudaMalloc itself is the first-fit model (firstfit.c), so driver calls
 * and the driver's own fragmentation are counted the same way as for plain
 * cudaMalloc.  "held" is the reserved bytes (all segments).
 *
 * Known simplifications: no garbage_collection_threshold, no
 * roundup_power2_divisions, no release of only the oversize blocks before
 * the full release, no cross-stream uses (record_stream) delaying reuse, no
 * CUDA-graph private pools; the free-memory callbacks are not modelled.
 */
#include <errno.h>
#include <stdlib.h>

#include "replay.h"

#define TC_MIN_BLOCK	512ull		/* kMinBlockSize */
#define TC_SMALL_SIZE	(1 * MiB)	/* kSmallSize: largest small request */
#define TC_SMALL_BUFFER	(2 * MiB)	/* kSmallBuffer: small segment */
#define TC_LARGE_BUFFER	(20 * MiB)	/* kLargeBuffer: segment for 1-10 MiB */
#define TC_MIN_LARGE	(10 * MiB)	/* kMinLargeAlloc */
#define TC_ROUND_LARGE	(2 * MiB)	/* kRoundLarge */

struct tc_segment {
	uint32_t seg_id;		/* id in the first-fit driver model */
	uint64_t base;			/* model address of the segment */
	uint64_t size;			/* bytes */
	struct list_head blocks;	/* tc_block.seg_node, by address */
	struct list_head node;		/* tc_state.segments */
};

struct tc_block {
	struct tc_segment *seg;
	uint64_t addr;			/* model address */
	uint64_t size;			/* bytes */
	uint64_t stream;
	bool small;			/* small pool */
	bool allocated;
	struct list_head seg_node;	/* in seg->blocks */
	struct list_head pool_node;	/* in a pool's free list when free */
};

struct tc_state {
	struct replay_model driver;	/* cudaMalloc: first-fit */
	uint64_t max_split;		/* max_split_size, bytes */
	uint32_t next_seg_id;
	struct list_head segments;
	struct list_head free_small;	/* free blocks of the small pool */
	struct list_head free_large;
	struct tc_block **blocks;	/* id -> allocated block */
};

static uint64_t tc_round_size(uint64_t size)
{
	if (size < TC_MIN_BLOCK)
		return TC_MIN_BLOCK;
	return replay_round_up(size, TC_MIN_BLOCK);
}

static uint64_t tc_allocation_size(uint64_t size)
{
	if (size <= TC_SMALL_SIZE)
		return TC_SMALL_BUFFER;
	if (size < TC_MIN_LARGE)
		return TC_LARGE_BUFFER;
	return replay_round_up(size, TC_ROUND_LARGE);
}

static int tc_init(struct replay_model *m, const struct replay_policy *pol)
{
	struct tc_state *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->blocks = calloc(m->nr_ids + 1, sizeof(*s->blocks));
	if (!s->blocks) {
		err = -ENOMEM;
		goto out_free_state;
	}
	s->driver.ops = &replay_firstfit_ops;
	s->driver.capacity = m->capacity;
	s->driver.nr_ids = m->nr_ids + 1;	/* one segment per request at most */
	err = replay_firstfit_ops.init(&s->driver, pol);
	if (err)
		goto out_free_blocks;
	s->max_split = pol->torch_max_split_size;
	INIT_LIST_HEAD(&s->segments);
	INIT_LIST_HEAD(&s->free_small);
	INIT_LIST_HEAD(&s->free_large);
	m->priv = s;
	return 0;

out_free_blocks:
	free(s->blocks);
out_free_state:
	free(s);
	return err;
}

static void tc_segment_free(struct tc_state *s, struct tc_segment *seg)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &seg->blocks) {
		struct tc_block *b = list_entry(pos, struct tc_block, seg_node);

		list_del_init(&b->pool_node);
		free(b);
	}
	s->driver.ops->free(&s->driver, seg->seg_id);
	list_del_init(&seg->node);
	free(seg);
}

static void tc_fini(struct replay_model *m)
{
	struct tc_state *s = m->priv;

	while (!list_empty(&s->segments))
		tc_segment_free(s, list_entry(s->segments.next, struct tc_segment, node));
	replay_firstfit_ops.fini(&s->driver);
	free(s->blocks);
	free(s);
	m->priv = NULL;
}

/* Mirror the driver model's counters into ours. */
static void tc_sync(struct replay_model *m, struct tc_state *s)
{
	for (int i = 0; i < REPLAY_CALL_NR; i++) {
		m->calls[i] = s->driver.calls[i];
		m->bytes[i] = s->driver.bytes[i];
	}
	m->held = s->driver.held;
	if (m->held > m->peak_held)
		m->peak_held = m->held;
}

static struct tc_block *tc_find_free(struct tc_state *s, bool small, uint64_t size,
				     uint64_t stream)
{
	struct list_head *pool = small ? &s->free_small : &s->free_large, *pos;
	struct tc_block *best = NULL;

	list_for_each(pos, pool) {
		struct tc_block *b = list_entry(pos, struct tc_block, pool_node);

		if (b->stream != stream || b->size < size)
			continue;
		if (!best || b->size < best->size ||
		    (b->size == best->size && b->addr < best->addr))
			best = b;
	}
	if (!best)
		return NULL;
	/* Oversize blocks serve only requests of their own scale. */
	if (size < s->max_split && best->size >= s->max_split)
		return NULL;
	if (size >= s->max_split && best->size >= size + TC_LARGE_BUFFER)
		return NULL;
	return best;
}

/* cudaMalloc a new segment of @size as one free block. */
static struct tc_block *tc_segment_new(struct replay_model *m, struct tc_state *s,
				       bool small, uint64_t size, uint64_t stream)
{
	struct tc_segment *seg;
	struct tc_block *b;
	uint32_t id = s->next_seg_id;

	if (id > m->nr_ids)
		return NULL;	/* cannot happen: one segment per request */
	seg = malloc(sizeof(*seg));
	b = malloc(sizeof(*b));
	if (!seg || !b)
		goto out_free;
	if (s->driver.ops->alloc(&s->driver, id, size, stream))
		goto out_free;
	s->next_seg_id++;
	seg->seg_id = id;
	seg->size = size;
	seg->base = (uint64_t)id << 40;	/* disjoint model addresses */
	INIT_LIST_HEAD(&seg->blocks);
	list_add_tail(&seg->node, &s->segments);
	b->seg = seg;
	b->addr = seg->base;
	b->size = size;
	b->stream = stream;
	b->small = small;
	b->allocated = false;
	list_add_tail(&b->seg_node, &seg->blocks);
	INIT_LIST_HEAD(&b->pool_node);
	return b;

out_free:
	free(seg);
	free(b);
	return NULL;
}

/* On cudaMalloc failure: hand every wholly free segment back. */
static void tc_release_cached(struct tc_state *s)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &s->segments) {
		struct tc_segment *seg = list_entry(pos, struct tc_segment, node);
		struct tc_block *b = list_entry(seg->blocks.next, struct tc_block, seg_node);

		if (!b->allocated && b->size == seg->size)
			tc_segment_free(s, seg);
	}
}

static bool tc_should_split(const struct tc_state *s, const struct tc_block *b,
			    uint64_t size)
{
	uint64_t rest = b->size - size;

	if (b->small)
		return rest >= TC_MIN_BLOCK;
	return size < s->max_split && rest > TC_SMALL_SIZE;
}

static int tc_alloc(struct replay_model *m, uint32_t id, uint64_t req, uint64_t stream)
{
	struct tc_state *s = m->priv;
	uint64_t size = tc_round_size(req);
	bool small = size <= TC_SMALL_SIZE;
	struct tc_block *b;

	b = tc_find_free(s, small, size, stream);
	if (b) {
		list_del_init(&b->pool_node);
	} else {
		uint64_t seg_size = tc_allocation_size(size);

		b = tc_segment_new(m, s, small, seg_size, stream);
		if (!b) {
			tc_release_cached(s);
			b = tc_segment_new(m, s, small, seg_size, stream);
		}
		tc_sync(m, s);
		if (!b)
			return -ENOMEM;
	}

	if (tc_should_split(s, b, size)) {
		struct tc_block *rest = malloc(sizeof(*rest));

		/* Without memory for the split, hand out the whole block. */
		if (rest) {
			*rest = *b;
			rest->addr = b->addr + size;
			rest->size = b->size - size;
			b->size = size;
			list_add(&rest->seg_node, &b->seg_node);
			list_add(&rest->pool_node, small ? &s->free_small : &s->free_large);
		}
	}
	b->allocated = true;
	s->blocks[id] = b;
	return 0;
}

static void tc_merge(struct tc_block *b, struct tc_block *next)
{
	b->size += next->size;
	list_del_init(&next->seg_node);
	list_del_init(&next->pool_node);
	free(next);
}

static void tc_free(struct replay_model *m, uint32_t id)
{
	struct tc_state *s = m->priv;
	struct tc_block *b = s->blocks[id], *n;
	struct list_head *blocks;

	if (!b)
		return;
	s->blocks[id] = NULL;
	b->allocated = false;
	blocks = &b->seg->blocks;
	if (b->seg_node.next != blocks) {
		n = list_entry(b->seg_node.next, struct tc_block, seg_node);
		if (!n->allocated)
			tc_merge(b, n);
	}
	if (b->seg_node.prev != blocks) {
		n = list_entry(b->seg_node.prev, struct tc_block, seg_node);
		if (!n->allocated) {
			tc_merge(n, b);
			return;
		}
	}
	list_add(&b->pool_node, b->small ? &s->free_small : &s->free_large);
}

const struct replay_model_ops replay_torch_caching_ops = {
	.name	= "torch-caching",
	.init	= tc_init,
	.fini	= tc_fini,
	.alloc	= tc_alloc,
	.free	= tc_free,
};
