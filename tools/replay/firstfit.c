// SPDX-License-Identifier: MIT
/*
 * firstfit.c - model of plain cudaMalloc/cudaFree: contiguous first-fit over
 * the device's memory, no caching.
 *
 * Rules:
 *  - a request is rounded up to 512 bytes and placed at the lowest address
 *    of [0, capacity) where a free run is large enough; nothing is cached,
 *    cudaFree returns the range at once and it coalesces with its
 *    neighbours;
 *  - the driver backs memory in 2 MiB pages: "held" is the bytes of the
 *    pages that at least one live allocation touches, so small allocations
 *    share pages as they do on a GPU;
 *  - driver calls: a cudaMalloc that touches pages no live allocation held
 *    counts as one create, one map and one set-access over those new pages;
 *    a cudaFree that leaves pages untouched counts one unmap and one release
 *    over them.  A call that needs no new page costs nothing.
 *
 * Known simplifications: one address space equal to physical memory (the
 * driver's virtual layout and its page-size choices for huge allocations
 * are not modelled); no per-allocation driver overhead beyond the page
 * calls; the 512-byte rounding is PyTorch's, the driver guarantees 256.
 */
#include <errno.h>
#include <stdlib.h>

#include "replay.h"

#define FF_ALIGN	512ull
#define FF_PAGE		(2 * MiB)

struct ff_extent {
	uint64_t start, size;		/* bytes */
	struct ff_extent *prev, *next;	/* free list, by address */
};

struct ff_state {
	struct ff_extent *free_head;
	/*
	 * Free runs never outnumber live allocations + 1, so every extent
	 * comes from one array sized at init: a free never allocates.
	 */
	struct ff_extent *extents;
	struct ff_extent *spare;	/* unused extents, linked by next */
	uint64_t *off;			/* id -> offset */
	uint64_t *len;			/* id -> rounded size, 0: not live */
	uint32_t *page_refs;		/* live allocations touching each page */
	uint64_t nr_pages;
};

static int ff_init(struct replay_model *m, const struct replay_policy *pol)
{
	struct ff_state *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nr_pages = (m->capacity + FF_PAGE - 1) / FF_PAGE;
	s->off = calloc(m->nr_ids + 1, sizeof(*s->off));
	s->len = calloc(m->nr_ids + 1, sizeof(*s->len));
	s->page_refs = calloc(s->nr_pages + 1, sizeof(*s->page_refs));
	s->extents = calloc(m->nr_ids + 2, sizeof(*s->extents));
	if (!s->off || !s->len || !s->page_refs || !s->extents)
		goto out_free;
	for (uint32_t i = 1; i < m->nr_ids + 2; i++) {
		s->extents[i].next = s->spare;
		s->spare = &s->extents[i];
	}
	s->free_head = &s->extents[0];
	s->free_head->start = 0;
	s->free_head->size = m->capacity;
	m->priv = s;
	return 0;

out_free:
	free(s->off);
	free(s->len);
	free(s->page_refs);
	free(s->extents);
	free(s);
	return -ENOMEM;
}

static void ff_fini(struct replay_model *m)
{
	struct ff_state *s = m->priv;

	free(s->extents);
	free(s->off);
	free(s->len);
	free(s->page_refs);
	free(s);
	m->priv = NULL;
}

/* Take or drop references on the pages of [off, off + len); returns the
 * bytes of pages that changed between held and not held. */
static uint64_t ff_touch(struct ff_state *s, uint64_t off, uint64_t len, int delta)
{
	uint64_t p, first = off / FF_PAGE, last = (off + len - 1) / FF_PAGE;
	uint64_t changed = 0;

	for (p = first; p <= last; p++) {
		if (delta > 0 && s->page_refs[p]++ == 0)
			changed += FF_PAGE;
		else if (delta < 0 && --s->page_refs[p] == 0)
			changed += FF_PAGE;
	}
	return changed;
}

static int ff_alloc(struct replay_model *m, uint32_t id, uint64_t size, uint64_t stream)
{
	struct ff_state *s = m->priv;
	uint64_t len = replay_round_up(size, FF_ALIGN), fresh;
	struct ff_extent *e;

	for (e = s->free_head; e; e = e->next)
		if (e->size >= len)
			break;
	if (!e)
		return -ENOMEM;
	s->off[id] = e->start;
	s->len[id] = len;
	e->start += len;
	e->size -= len;
	if (!e->size) {
		if (e->prev)
			e->prev->next = e->next;
		else
			s->free_head = e->next;
		if (e->next)
			e->next->prev = e->prev;
		e->next = s->spare;
		s->spare = e;
	}
	fresh = ff_touch(s, s->off[id], len, +1);
	if (fresh) {
		replay_count(m, REPLAY_CALL_CREATE, 1, fresh);
		replay_count(m, REPLAY_CALL_MAP, 1, fresh);
		replay_count(m, REPLAY_CALL_SET_ACCESS, 1, fresh);
		replay_hold(m, fresh);
	}
	return 0;
}

static void ff_free(struct replay_model *m, uint32_t id)
{
	struct ff_state *s = m->priv;
	uint64_t start = s->off[id], len = s->len[id], gone;
	struct ff_extent *prev = NULL, *next = s->free_head, *e;

	if (!len)
		return;
	s->len[id] = 0;
	gone = ff_touch(s, start, len, -1);
	if (gone) {
		replay_count(m, REPLAY_CALL_UNMAP, 1, gone);
		replay_count(m, REPLAY_CALL_RELEASE, 1, gone);
		replay_hold(m, -(int64_t)gone);
	}

	while (next && next->start < start) {
		prev = next;
		next = next->next;
	}
	if (prev && prev->start + prev->size == start) {
		prev->size += len;
		if (next && prev->start + prev->size == next->start) {
			prev->size += next->size;
			prev->next = next->next;
			if (next->next)
				next->next->prev = prev;
			next->next = s->spare;
			s->spare = next;
		}
		return;
	}
	if (next && start + len == next->start) {
		next->start = start;
		next->size += len;
		return;
	}
	e = s->spare;
	s->spare = e->next;
	e->start = start;
	e->size = len;
	e->prev = prev;
	e->next = next;
	if (prev)
		prev->next = e;
	else
		s->free_head = e;
	if (next)
		next->prev = e;
}

const struct replay_model_ops replay_firstfit_ops = {
	.name	= "first-fit",
	.init	= ff_init,
	.fini	= ff_fini,
	.alloc	= ff_alloc,
	.free	= ff_free,
};
