// SPDX-License-Identifier: MIT
/*
 * expandable.c - model of PyTorch's expandable segments
 * (PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True).
 *
 * Rules:
 *  - requests are rounded and split between a small and a large pool as
 *    in the caching allocator (torch_caching.c); each pool has, per
 *    stream, one segment: a virtual range as large as the device, mapped
 *    with pages of 2 MiB (small pool) or 20 MiB (large pool) as it grows
 *    (another range is reserved only when holes leave no room in it);
 *  - a request is served best-fit from free mapped blocks, with the
 *    caching allocator's split and max_split_size rules; when none fits, the
 *    lowest unmapped range that, together with the free mapped block just
 *    before it, is large enough gets pages mapped (cuMemCreate and cuMemMap
 *    per page, one cuMemSetAccess over the range) and the block grows into
 *    it;
 *  - physical memory is the only limit (pages need not be contiguous);
 *    when mapping would exceed the capacity, every whole page inside a free
 *    block is unmapped and released (as on OOM or empty_cache) and the
 *    request retried once;
 *  - "held" is the mapped bytes.
 *
 * Known simplifications: virtual address space is free and unlimited; no
 * garbage collection threshold; no cross-stream
 * uses; pages are never unmapped except on the OOM retry; IPC handles and
 * the per-segment handle bookkeeping of the real allocator are ignored.
 */
#include <errno.h>
#include <stdlib.h>

#include "replay.h"

#define EX_MIN_BLOCK	512ull
#define EX_SMALL_SIZE	(1 * MiB)
#define EX_SMALL_PAGE	(2 * MiB)
#define EX_LARGE_PAGE	(20 * MiB)
#define EX_LARGE_BUFFER	(20 * MiB)

struct ex_segment {
	bool small;
	uint64_t stream;
	uint64_t page;			/* bytes per mapped page */
	struct list_head blocks;	/* ex_block.seg_node, by address */
	struct list_head node;		/* ex_state.segments */
};

struct ex_block {
	struct ex_segment *seg;
	uint64_t addr;			/* offset in the segment */
	uint64_t size;			/* bytes */
	bool allocated;
	bool mapped;			/* all of it mapped; else none of it */
	struct list_head seg_node;
	struct list_head free_node;	/* ex_state.free when free and mapped */
};

struct ex_state {
	uint64_t max_split;
	struct list_head segments;
	struct list_head free;		/* free mapped blocks of every segment */
	struct ex_block **blocks;	/* id -> allocated block */
};

static int ex_init(struct replay_model *m, const struct replay_policy *pol)
{
	struct ex_state *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->blocks = calloc(m->nr_ids + 1, sizeof(*s->blocks));
	if (!s->blocks) {
		free(s);
		return -ENOMEM;
	}
	s->max_split = pol->torch_max_split_size;
	INIT_LIST_HEAD(&s->segments);
	INIT_LIST_HEAD(&s->free);
	m->priv = s;
	return 0;
}

static void ex_fini(struct replay_model *m)
{
	struct ex_state *s = m->priv;
	struct list_head *pos, *tmp, *bpos, *btmp;

	list_for_each_safe(pos, tmp, &s->segments) {
		struct ex_segment *seg = list_entry(pos, struct ex_segment, node);

		list_for_each_safe(bpos, btmp, &seg->blocks)
			free(list_entry(bpos, struct ex_block, seg_node));
		free(seg);
	}
	free(s->blocks);
	free(s);
	m->priv = NULL;
}

static struct ex_block *ex_block_new(struct ex_segment *seg, uint64_t addr, uint64_t size,
				     bool mapped)
{
	struct ex_block *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->seg = seg;
	b->addr = addr;
	b->size = size;
	b->mapped = mapped;
	INIT_LIST_HEAD(&b->seg_node);
	INIT_LIST_HEAD(&b->free_node);
	return b;
}

/* A new segment: a virtual range the size of the device, nothing mapped. */
static struct ex_segment *ex_segment_new(struct replay_model *m, struct ex_state *s,
					 bool small, uint64_t stream)
{
	struct ex_segment *seg;
	struct ex_block *b;

	seg = calloc(1, sizeof(*seg));
	if (!seg)
		return NULL;
	seg->small = small;
	seg->stream = stream;
	seg->page = small ? EX_SMALL_PAGE : EX_LARGE_PAGE;
	INIT_LIST_HEAD(&seg->blocks);
	b = ex_block_new(seg, 0, replay_round_up(m->capacity, seg->page), false);
	if (!b) {
		free(seg);
		return NULL;
	}
	list_add_tail(&b->seg_node, &seg->blocks);
	list_add_tail(&seg->node, &s->segments);
	return seg;
}

static struct ex_block *ex_prev(struct ex_block *b)
{
	if (b->seg_node.prev == &b->seg->blocks)
		return NULL;
	return list_entry(b->seg_node.prev, struct ex_block, seg_node);
}

static struct ex_block *ex_next(struct ex_block *b)
{
	if (b->seg_node.next == &b->seg->blocks)
		return NULL;
	return list_entry(b->seg_node.next, struct ex_block, seg_node);
}

static bool ex_free_like(const struct ex_block *a, const struct ex_block *b)
{
	return a && b && !a->allocated && !b->allocated && a->mapped == b->mapped;
}

/* Fold @next into @b (both free, same mapping state). */
static void ex_merge(struct ex_block *b, struct ex_block *next)
{
	b->size += next->size;
	list_del_init(&next->seg_node);
	list_del_init(&next->free_node);
	free(next);
}

static struct ex_block *ex_find_free(struct ex_state *s, bool small, uint64_t stream,
				     uint64_t size)
{
	struct ex_block *best = NULL;
	struct list_head *pos;

	list_for_each(pos, &s->free) {
		struct ex_block *b = list_entry(pos, struct ex_block, free_node);

		if (b->seg->small != small || b->seg->stream != stream || b->size < size)
			continue;
		if (!best || b->size < best->size ||
		    (b->size == best->size && b->addr < best->addr))
			best = b;
	}
	if (!best)
		return NULL;
	if (size < s->max_split && best->size >= s->max_split)
		return NULL;
	if (size >= s->max_split && best->size >= size + EX_LARGE_BUFFER)
		return NULL;
	return best;
}

/*
 * Map pages at the start of the lowest unmapped block that, with the free
 * mapped block before it, holds @size; return that grown free block (not on
 * the free list), or NULL with *err = -ENOSPC (no such block in this
 * segment's range) or -ENOMEM (the capacity does not allow it).
 */
static struct ex_block *ex_grow(struct replay_model *m, struct ex_segment *seg,
				uint64_t size, int *err)
{
	struct ex_block *u = NULL, *prev, *next, *b;
	uint64_t have = 0, bytes, pages;
	struct list_head *pos;

	list_for_each(pos, &seg->blocks) {
		b = list_entry(pos, struct ex_block, seg_node);
		if (b->mapped || b->allocated)
			continue;
		prev = ex_prev(b);
		have = prev && prev->mapped && !prev->allocated ? prev->size : 0;
		if (have + b->size >= size) {
			u = b;
			break;
		}
	}
	*err = -ENOSPC;
	if (!u)
		return NULL;
	*err = -ENOMEM;
	bytes = replay_round_up(size - have, seg->page);
	if (bytes > u->size)
		bytes = u->size;
	if (m->held + bytes > m->capacity)
		return NULL;

	if (bytes < u->size) {
		b = ex_block_new(seg, u->addr, bytes, true);
		if (!b)
			return NULL;
		list_add_tail(&b->seg_node, &u->seg_node);
		u->addr += bytes;
		u->size -= bytes;
	} else {
		b = u;
		b->mapped = true;
	}
	pages = bytes / seg->page;
	replay_count(m, REPLAY_CALL_CREATE, pages, bytes);
	replay_count(m, REPLAY_CALL_MAP, pages, bytes);
	replay_count(m, REPLAY_CALL_SET_ACCESS, 1, bytes);
	replay_hold(m, bytes);

	next = ex_next(b);
	if (ex_free_like(b, next))
		ex_merge(b, next);
	prev = ex_prev(b);
	if (ex_free_like(prev, b)) {
		list_del_init(&prev->free_node);
		ex_merge(prev, b);
		b = prev;
	}
	*err = 0;
	return b;
}

/*
 * Grow the pool's segment on @stream; when its virtual range has no room
 * left for @size (a range is as large as the device, so only holes can
 * cause it), reserve another range, as PyTorch does.
 */
static struct ex_block *ex_grow_pool(struct replay_model *m, struct ex_state *s,
				     bool small, uint64_t stream, uint64_t size)
{
	struct ex_segment *seg;
	struct list_head *pos;
	struct ex_block *b;
	int err;

	list_for_each(pos, &s->segments) {
		seg = list_entry(pos, struct ex_segment, node);
		if (seg->small != small || seg->stream != stream)
			continue;
		b = ex_grow(m, seg, size, &err);
		if (b || err == -ENOMEM)
			return b;
	}
	seg = ex_segment_new(m, s, small, stream);
	if (!seg)
		return NULL;
	return ex_grow(m, seg, size, &err);
}

/* Unmap every whole page inside free blocks (the OOM path, empty_cache). */
static void ex_release(struct replay_model *m, struct ex_state *s)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &s->free) {
		struct ex_block *b = list_entry(pos, struct ex_block, free_node);
		struct ex_segment *seg = b->seg;
		uint64_t start = replay_round_up(b->addr, seg->page);
		uint64_t end = (b->addr + b->size) / seg->page * seg->page;
		struct ex_block *head = NULL, *tail = NULL, *n;

		if (end <= start)
			continue;
		/* Allocate both pieces first so a failure changes nothing. */
		if (start > b->addr && !(head = ex_block_new(seg, b->addr, start - b->addr, true)))
			continue;
		if (end < b->addr + b->size &&
		    !(tail = ex_block_new(seg, end, b->addr + b->size - end, true))) {
			free(head);
			continue;
		}
		if (head) {
			list_add_tail(&head->seg_node, &b->seg_node);
			list_add(&head->free_node, &s->free);
		}
		if (tail) {
			list_add(&tail->seg_node, &b->seg_node);
			list_add(&tail->free_node, &s->free);
		}
		list_del_init(&b->free_node);
		b->addr = start;
		b->size = end - start;
		b->mapped = false;
		replay_count(m, REPLAY_CALL_UNMAP, b->size / seg->page, b->size);
		replay_count(m, REPLAY_CALL_RELEASE, b->size / seg->page, b->size);
		replay_hold(m, -(int64_t)b->size);
		n = ex_next(b);
		if (ex_free_like(b, n))
			ex_merge(b, n);
		n = ex_prev(b);
		if (ex_free_like(n, b))
			ex_merge(n, b);
		/* The list may have changed around us: restart from a safe spot. */
		tmp = s->free.next;
	}
}

static int ex_alloc(struct replay_model *m, uint32_t id, uint64_t req, uint64_t stream)
{
	struct ex_state *s = m->priv;
	uint64_t size = req < EX_MIN_BLOCK ? EX_MIN_BLOCK : replay_round_up(req, EX_MIN_BLOCK);
	bool small = size <= EX_SMALL_SIZE;
	struct ex_block *b;

	b = ex_find_free(s, small, stream, size);
	if (b) {
		list_del_init(&b->free_node);
	} else {
		b = ex_grow_pool(m, s, small, stream, size);
		if (!b) {
			ex_release(m, s);
			b = ex_grow_pool(m, s, small, stream, size);
		}
		if (!b)
			return -ENOMEM;
	}
	if (small ? b->size - size >= EX_MIN_BLOCK :
		    size < s->max_split && b->size - size > EX_SMALL_SIZE) {
		struct ex_block *rest = ex_block_new(b->seg, b->addr + size, b->size - size, true);

		if (rest) {
			b->size = size;
			list_add(&rest->seg_node, &b->seg_node);
			list_add(&rest->free_node, &s->free);
		}
	}
	b->allocated = true;
	s->blocks[id] = b;
	return 0;
}

static void ex_free(struct replay_model *m, uint32_t id)
{
	struct ex_state *s = m->priv;
	struct ex_block *b = s->blocks[id], *n;

	if (!b)
		return;
	s->blocks[id] = NULL;
	b->allocated = false;
	n = ex_next(b);
	if (ex_free_like(b, n))
		ex_merge(b, n);
	n = ex_prev(b);
	if (ex_free_like(n, b)) {
		ex_merge(n, b);
		return;
	}
	list_add(&b->free_node, &s->free);
}

const struct replay_model_ops replay_expandable_ops = {
	.name	= "torch-expandable",
	.init	= ex_init,
	.fini	= ex_fini,
	.alloc	= ex_alloc,
	.free	= ex_free,
};
