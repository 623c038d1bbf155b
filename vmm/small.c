// SPDX-License-Identifier: MIT
/*
 * small.c - requests up to small_max, sub-allocated from slabs.
 *
 * Size classes: every 256 bytes up to 2 KiB (256 is cudaMalloc's alignment,
 * so below 2 KiB the classes add no waste of their own), then 8 classes per
 * power of two, so rounding to a class wastes at most 1/8 of it.  A slab is
 * a run of 64 KiB pages of a box (one chunk shared by classes) when
 * class_pages() finds one in a chunk, else a range of whole chunks
 * (slab_bytes()).  The large path provides both; a bitmap per slab says
 * which objects are free.
 *
 * Frees follow the same rule as large ones: an object freed goes to the
 * slab's pending map, and becomes free once a synchronization begun after
 * the free completed.  A slab whose objects are all free goes back (its
 * pages to its box, an empty box or a chunk slab as a cached range whose
 * chunks can then be stolen), except a one-page slab that is its class's
 * only one, kept to absorb alloc/free flapping.
 *
 * Callers hold the device lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"

#define BOX_SEARCH	8	/* boxes looked at for a tight run */

static uint32_t class_sizes[VMM_NR_CLASSES];

static void init_class_sizes(void)
{
	uint32_t i = 0, k, j;

	for (; i < 8; i++)
		class_sizes[i] = VMM_SMALL_MIN * (i + 1);
	for (k = 11; i < VMM_NR_CLASSES; k++)
		for (j = 1; j <= 8 && i < VMM_NR_CLASSES; j++)
			class_sizes[i++] = (1u << k) + j * (1u << (k - 3));
}

uint32_t small_class_of(uint64_t size)
{
	uint32_t k, j;

	if (size <= 2048)
		return size ? (uint32_t)((size + VMM_SMALL_MIN - 1) / VMM_SMALL_MIN) - 1 : 0;
	k = 63 - (uint32_t)__builtin_clzll(size - 1);	/* 2^k < size <= 2^(k+1) */
	j = (uint32_t)((size - (1ull << k) + (1ull << (k - 3)) - 1) >> (k - 3));
	return 8 + (k - 11) * 8 + j - 1;
}

void small_classes_init(struct vmm_device *d)
{
	uint32_t i;

	if (!class_sizes[0])
		init_class_sizes();
	for (i = 0; i < VMM_NR_CLASSES; i++) {
		d->cls[i].size = class_sizes[i];
		INIT_LIST_HEAD(&d->cls[i].partial);
	}
	INIT_LIST_HEAD(&d->pending_slabs);
	INIT_LIST_HEAD(&d->boxes);
}

bool small_fits(struct vmm_device *d, uint64_t size)
{
	return size <= d->knob[VMM_KNOB_SMALL_MAX] &&
	       size <= class_sizes[VMM_NR_CLASSES - 1];
}

static inline bool test_bit(const uint64_t *map, uint32_t i)
{
	return (__atomic_load_n(&map[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1;
}

static inline void set_bit(uint64_t *map, uint32_t i)
{
	__atomic_store_n(&map[i / 64], map[i / 64] | (1ull << (i % 64)), __ATOMIC_RELAXED);
}

static inline void clear_bit(uint64_t *map, uint32_t i)
{
	__atomic_store_n(&map[i / 64], map[i / 64] & ~(1ull << (i % 64)), __ATOMIC_RELAXED);
}

/*
 * Pages of a box slab of class @cls: the fewest that hold an object and
 * leave at most 1/8 over, or 0 when no run of the chunk's pages does (the
 * class then takes whole chunks).  A slab as small as one object keeps a
 * sparse class from holding idle memory; the 1/8 bound keeps dense ones
 * tight, as a run of several objects then ends closer to a page boundary.
 */
static uint32_t class_pages(const struct vmm_device *d, uint32_t cls)
{
	uint64_t obj = d->cls[cls].size, bytes;

	if (d->chunk_size % VMM_PAGE_SIZE)
		return 0;
	for (bytes = round_up(obj, VMM_PAGE_SIZE); bytes <= d->chunk_size;
	     bytes += VMM_PAGE_SIZE)
		if ((bytes % obj) * 8 <= bytes)
			return (uint32_t)(bytes / VMM_PAGE_SIZE);
	return 0;
}

/*
 * The free run of @box that fits @np pages most tightly: its first page, or
 * -1; *@gap: its length.  The best fit keeps long runs for long slabs.
 */
static int64_t box_find_run(const struct vmm_pagebox *box, uint32_t np, uint32_t *gap)
{
	uint32_t i = 0, start, best_len = UINT32_MAX;
	int64_t best = -1;

	while (i < box->nr_pages) {
		if (box->page[i]) {
			i += box->page[i]->nr_pages;
			continue;
		}
		for (start = i; i < box->nr_pages && !box->page[i]; i++)
			;
		if (i - start >= np && i - start < best_len) {
			best = start;
			best_len = i - start;
			if (best_len == np)
				break;
		}
	}
	*gap = best_len;
	return best;
}

/*
 * Bytes of a slab of @obj-byte objects: the fewest whole chunks that waste
 * at most a third at their end.  Few objects are live per class when sizes
 * are spread, so a slab as small as one chunk holds less memory idle than
 * one sized for many objects.
 */
static uint64_t slab_bytes(uint64_t obj, uint64_t csize)
{
	uint64_t bytes = round_up(obj, csize);

	while ((bytes % obj) * 3 > bytes)
		bytes += csize;
	return bytes;
}

/* A slab descriptor for @bytes at @base: maps and per-object records. */
static struct vmm_slab *slab_alloc(struct vmm_device *d, uint32_t cls, uint64_t base,
				   uint64_t bytes)
{
	uint64_t obj = d->cls[cls].size, nr = bytes / obj;
	struct vmm_slab *s;
	uint32_t words, i;

	if (nr > UINT32_MAX)
		nr = UINT32_MAX;
	words = (uint32_t)((nr + 63) / 64);
	s = calloc(1, sizeof(*s) + sizeof(uint64_t) * 3 * words +
		   sizeof(struct vmm_obj) * nr);
	if (!s)
		return NULL;
	s->free_map = (uint64_t *)(s + 1);
	s->pending_map = s->free_map + words;
	s->live_map = s->pending_map + words;
	s->objs = (struct vmm_obj *)(s->live_map + words);
	s->base = base;
	s->obj_size = (uint32_t)obj;
	s->nr_objs = (uint32_t)nr;
	s->nr_free = (uint32_t)nr;
	s->cls = cls;
	for (i = 0; i < nr; i++)
		s->free_map[i / 64] |= 1ull << (i % 64);
	INIT_LIST_HEAD(&s->pending_link);
	INIT_LIST_HEAD(&s->link);
	return s;
}

/* A range from the large path becomes slab memory (or goes back cached). */
static struct vmm_range *slab_range(struct vmm_device *d, uint64_t bytes)
{
	struct vmm_range *r;

	if (__range_get(d, bytes, d->chunk_size, 0, NULL, &r))
		return NULL;
	r->state = RANGE_LIVE;
	r->flags |= RANGE_F_SLAB;
	r->id = __new_id(d);
	__pt_set(d, r->va, r->size, GPUVM_PTE_MAPPED, r->id, r, VMM_GK_SLAB);
	d->inuse_bytes += r->size;
	return r;
}

/* Slab memory is no longer needed: the range goes back as a cached range. */
static void slab_range_put(struct vmm_device *d, struct vmm_range *r)
{
	r->flags &= ~(RANGE_F_SLAB | RANGE_F_PAGES);
	r->slab = NULL;
	r->box = NULL;
	r->id = 0;
	d->inuse_bytes -= r->size;
	__pt_set(d, r->va, r->size, GPUVM_PTE_CACHED, 0, r, VMM_GK_NONE);
	__free_chunks_put(d, r->nr_chunks, r->chunk_size);
	__range_cache(d, r);
}

/* A run of @np pages of a box with room (a new box of one chunk when none has). */
static struct vmm_slab *page_slab_new(struct vmm_device *d, uint32_t cls, uint32_t np)
{
	uint32_t seen = 0, gap, best_gap = UINT32_MAX, i, n;
	struct vmm_pagebox *box, *best = NULL;
	int64_t at, best_at = -1;
	struct vmm_range *r;
	struct vmm_slab *s;

	/* the tightest run in the first few boxes with room for one */
	list_for_each_entry(box, &d->boxes, struct vmm_pagebox, link) {
		at = box_find_run(box, np, &gap);
		if (at < 0)
			continue;
		if (gap < best_gap) {
			best = box;
			best_at = at;
			best_gap = gap;
		}
		if (gap == np || ++seen == BOX_SEARCH)
			break;
	}
	if (best) {
		box = best;
		at = best_at;
		goto found;
	}
	r = slab_range(d, d->chunk_size);
	if (!r)
		return NULL;
	n = (uint32_t)(r->size / VMM_PAGE_SIZE);
	box = calloc(1, sizeof(*box) + sizeof(box->page[0]) * n);
	if (!box) {
		slab_range_put(d, r);
		return NULL;
	}
	box->range = r;
	box->nr_pages = n;
	r->flags |= RANGE_F_PAGES;
	r->box = box;
	list_add(&box->link, &d->boxes);
	at = 0;
found:
	s = slab_alloc(d, cls, box->range->va + (uint64_t)at * VMM_PAGE_SIZE,
		       (uint64_t)np * VMM_PAGE_SIZE);
	if (!s) {
		if (!box->nr_used) {
			list_del_init(&box->link);
			box->range->box = NULL;
			slab_range_put(d, box->range);
			free(box);
		}
		return NULL;
	}
	s->range = box->range;
	s->box = box;
	s->page = (uint32_t)at;
	s->nr_pages = np;
	for (i = 0; i < np; i++)
		box->page[at + i] = s;
	box->nr_used += np;
	if (box->nr_used == box->nr_pages)
		list_del_init(&box->link);
	list_add(&s->link, &d->cls[cls].partial);
	return s;
}

static struct vmm_slab *slab_new(struct vmm_device *d, uint32_t cls)
{
	struct vmm_range *r;
	struct vmm_slab *s;
	uint64_t bytes;
	uint32_t np;

	np = class_pages(d, cls);
	if (np)
		return page_slab_new(d, cls, np);
	bytes = slab_bytes(d->cls[cls].size, d->chunk_size);
	r = slab_range(d, bytes);
	if (!r)
		return NULL;
	s = slab_alloc(d, cls, r->va, r->size);
	if (!s) {
		slab_range_put(d, r);
		return NULL;
	}
	s->range = r;
	r->slab = s;
	list_add(&s->link, &d->cls[cls].partial);
	return s;
}

/* The slab holding @ptr in slab range @r, or NULL (a free page). */
static struct vmm_slab *slab_of(struct vmm_range *r, uint64_t ptr)
{
	if (!(r->flags & RANGE_F_PAGES))
		return r->slab;
	return r->box->page[(ptr - r->va) / VMM_PAGE_SIZE];
}

static void box_reap_sealed(struct vmm_device *d, struct vmm_pagebox *box);

/*
 * An empty slab goes: its range back to the cache (already synced), or its
 * page back to its box, and the box's range once every page is free (or
 * only sealed slabs with nothing live are left, which go with it).
 * Return: whether its box went too (a chunk slab: true).
 */
static bool slab_destroy(struct vmm_device *d, struct vmm_slab *s)
{
	struct vmm_pagebox *box = s->box;
	struct vmm_range *r = s->range;
	uint32_t page = s->page, np = s->nr_pages, i;

	list_del_init(&s->link);
	if (!list_empty(&s->pending_link))
		list_del_init(&s->pending_link);
	free(s);
	if (!box) {
		slab_range_put(d, r);
		return true;
	}
	for (i = 0; i < np; i++)
		box->page[page + i] = NULL;
	if (box->nr_used == box->nr_pages)
		list_add_tail(&box->link, &d->boxes);
	box->nr_used -= np;
	if (box->nr_used && box->nr_used == box->nr_sealed) {
		box_reap_sealed(d, box);
		return true;
	}
	if (box->nr_used)
		return false;
	list_del_init(&box->link);
	free(box);
	slab_range_put(d, r);
	return true;
}

/*
 * Only sealed slabs with nothing live are left in @box: they go, and the
 * box's range with the last (an exported range: retired, see ipc.c).
 */
static void box_reap_sealed(struct vmm_device *d, struct vmm_pagebox *box)
{
	uint32_t i, n = box->nr_pages;

	box->nr_sealed = 0;
	for (i = 0; i < n; i++)
		if (box->page[i] && slab_destroy(d, box->page[i]))
			return;	/* the box went with its last page */
}

/*
 * A sealed slab whose objects are all free (and synced: a queued kernel may
 * touch a pending one) goes, a page slab with its box: its free objects,
 * never handed out (it is on no partial list), are only counted.
 */
static void slab_sealed_done(struct vmm_device *d, struct vmm_slab *s)
{
	struct vmm_pagebox *box = s->box;

	if (s->nr_pending || s->nr_free != s->nr_objs)
		return;
	if (!box) {
		slab_destroy(d, s);
		return;
	}
	box->nr_sealed += s->nr_pages;
	if (box->nr_sealed == box->nr_used)
		box_reap_sealed(d, box);
}

static uint32_t class_pending(struct vmm_device *d, uint32_t cls)
{
	struct vmm_slab *s, *tmp;
	uint32_t n = 0;

	list_for_each_entry_safe(s, tmp, &d->pending_slabs, struct vmm_slab, pending_link)
		if (s->cls == cls)
			n += s->nr_pending;
	return n;
}

int __small_alloc(struct vmm_device *d, uint64_t size, uint64_t *ptr)
{
	uint32_t cls = small_class_of(size), w, i;
	struct vmm_class *c = &d->cls[cls];
	bool synced = false;
	struct vmm_slab *s;
	struct vmm_obj *o;

retry:
	if (list_empty(&c->partial)) {
		__small_collect(d);
		if (list_empty(&c->partial) && !synced && class_pending(d, cls) &&
		    (d->nr_deferred >= d->knob[VMM_KNOB_FREE_BATCH] ||
		     (uint64_t)class_pending(d, cls) * c->size >= d->chunk_size)) {
			synced = true;
			if (!__dev_sync(d))
				goto retry;
		}
	}
	if (list_empty(&c->partial)) {
		s = slab_new(d, cls);
		if (!s && !synced && class_pending(d, cls)) {
			synced = true;
			if (!__dev_sync(d))
				goto retry;
		}
		if (!s)
			return -ENOMEM;
	} else {
		s = list_first_entry(&c->partial, struct vmm_slab, link);
		vmm_stats_cache_hit(d);
	}
	for (w = s->hint; !s->free_map[w]; w++)
		;
	s->hint = w;
	i = w * 64 + (uint32_t)__builtin_ctzll(s->free_map[w]);
	clear_bit(s->free_map, i);
	set_bit(s->live_map, i);
	if (!--s->nr_free)
		list_del_init(&s->link);
	o = &s->objs[i];
	o->id = __new_id(d);
	o->requested = (uint32_t)size;
	*ptr = s->base + (uint64_t)i * s->obj_size;
	o->slot = __atab_add(d, o->id, GPUVM_SEG_ALLOC_SMALL, *ptr, s->obj_size, size,
			     s->obj_size, 0, NULL);
	vmm_stats_alloc(d, size, s->obj_size);
	return 0;
}

/* The object at @ptr of slab @s, or -1 when @ptr is no live object start. */
static int64_t obj_index(struct vmm_slab *s, uint64_t ptr, bool interior)
{
	uint64_t off, i;

	if (!s || ptr < s->base)
		return -1;
	off = ptr - s->base;
	i = off / s->obj_size;
	if (i >= s->nr_objs || (!interior && off % s->obj_size))
		return -1;
	if (!test_bit(s->live_map, (uint32_t)i))
		return -1;
	return (int64_t)i;
}

int __small_free(struct vmm_device *d, struct vmm_range *r, uint64_t ptr)
{
	struct vmm_slab *s = slab_of(r, ptr);
	int64_t i = obj_index(s, ptr, false);

	if (i < 0)
		return -EINVAL;
	vmm_trace(GPUVM_EV_FREE_REQUESTED, d->ordinal, 0, ptr, 0, 0);
	clear_bit(s->live_map, (uint32_t)i);
	set_bit(s->pending_map, (uint32_t)i);
	if (!s->nr_pending++)
		list_add_tail(&s->pending_link, &d->pending_slabs);
	s->pending_tag = d->sync_started;
	__atab_del(d, s->objs[i].slot);
	vmm_stats_free(d, s->objs[i].requested, s->obj_size);
	s->objs[i].id = 0;
	d->nr_deferred++;
	d->deferred_bytes += s->obj_size;
	return 0;
}

/* One FREE_COMPLETED per pending object, when tracing. */
static void trace_completed(struct vmm_device *d, struct vmm_slab *s, uint32_t words)
{
	uint32_t w;

	for (w = 0; w < words; w++) {
		uint64_t bits = s->pending_map[w];

		while (bits) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			vmm_trace(GPUVM_EV_FREE_COMPLETED, d->ordinal, 0,
				  s->base + (uint64_t)i * s->obj_size, 0, s->obj_size);
		}
	}
}

/* Pending objects covered by a completed sync become free. */
void __small_collect(struct vmm_device *d)
{
	struct vmm_slab *s, *tmp;
	uint32_t w, words;

	list_for_each_entry_safe(s, tmp, &d->pending_slabs, struct vmm_slab, pending_link) {
		struct vmm_class *c = &d->cls[s->cls];

		if (s->pending_tag >= d->sync_done)
			continue;
		words = (s->nr_objs + 63) / 64;
		if (vmm_trace_on)
			trace_completed(d, s, words);
		for (w = 0; w < words; w++) {
			__atomic_store_n(&s->free_map[w], s->free_map[w] | s->pending_map[w],
					 __ATOMIC_RELAXED);
			s->pending_map[w] = 0;
		}
		if (!s->nr_free && !s->sealed)
			list_add_tail(&s->link, &c->partial);
		s->nr_free += s->nr_pending;
		d->nr_deferred -= s->nr_pending;
		d->deferred_bytes -= (uint64_t)s->nr_pending * s->obj_size;
		s->nr_pending = 0;
		s->hint = 0;
		list_del_init(&s->pending_link);
		/*
		 * An empty slab goes back, except a one-page slab that is its
		 * class's only one (it absorbs alloc/free flapping).  Larger
		 * slabs go back to their box or as cached ranges: still mapped,
		 * but any request can use them.
		 */
		if (s->sealed)
			slab_sealed_done(d, s);
		else if (s->nr_free == s->nr_objs &&
			 (s->nr_pages != 1 || c->partial.next != &s->link ||
			  c->partial.prev != &s->link))
			slab_destroy(d, s);
	}
}

int __small_query(struct vmm_device *d, struct vmm_range *r, uint64_t ptr,
		  struct gpuvm_alloc_info *info)
{
	struct vmm_slab *s = slab_of(r, ptr);
	int64_t i = obj_index(s, ptr, true);

	if (i < 0)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->base = s->base + (uint64_t)i * s->obj_size;
	info->size = s->obj_size;
	info->requested = s->objs[i].requested;
	info->max_size = s->obj_size;
	info->id = s->objs[i].id;
	info->nr_chunks = 0;
	info->device = d->ordinal;
	info->flags = GPUVM_INFO_SMALL;
	return 0;
}

bool __small_owns(struct vmm_device *d, struct vmm_range *r, uint64_t ptr)
{
	return obj_index(slab_of(r, ptr), ptr, true) >= 0;
}

/**
 * __small_seal - an object is shared with another process: seal its slab
 * @d: the device (locked)
 * @r: the slab range holding @ptr
 * @ptr: an address inside a live object
 * @base: receives the object's start
 * @id: receives its allocation id
 * @size: receives its size (the class's)
 *
 * A sealed slab hands nothing out again, neither its free objects nor
 * those freed later: its memory goes back to the driver (retired, see
 * __range_retire()) once nothing in it is live, never to another object.
 * Return: 0, or -ENOENT when @ptr is no live object.
 */
int __small_seal(struct vmm_device *d, struct vmm_range *r, uint64_t ptr, uint64_t *base,
		 uint64_t *id, uint64_t *size)
{
	struct vmm_slab *s = slab_of(r, ptr);
	int64_t i = obj_index(s, ptr, true);

	if (i < 0)
		return -ENOENT;
	if (!s->sealed) {
		s->sealed = true;
		if (s->nr_free)
			list_del_init(&s->link);	/* off its class's partial list */
		/* the range it lies in is retired, not cached, when it goes */
		s->range->flags |= RANGE_F_EXPORTED;
	}
	*base = s->base + (uint64_t)i * s->obj_size;
	*id = s->objs[i].id;
	*size = s->obj_size;
	return 0;
}

/* Whether the object at @base with id @id is live in a sealed slab of @r. */
bool __small_sealed_live(struct vmm_device *d, struct vmm_range *r, uint64_t base,
			 uint64_t id, uint64_t *size)
{
	struct vmm_slab *s = slab_of(r, base);
	int64_t i = obj_index(s, base, false);

	if (i < 0 || !s->sealed || s->objs[i].id != id)
		return false;
	*size = s->obj_size;
	return true;
}

/* Empty slabs (nothing live or pending) go back as cached ranges. */
uint64_t __small_release_empty(struct vmm_device *d)
{
	struct vmm_slab *s, *tmp;
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < VMM_NR_CLASSES; i++) {
		list_for_each_entry_safe(s, tmp, &d->cls[i].partial, struct vmm_slab, link) {
			if (s->nr_free != s->nr_objs)
				continue;
			n += s->range->size;
			slab_destroy(d, s);
		}
	}
	return n;
}

/* Shutdown: every slab, live objects or not, goes back as a cached range. */
void __small_teardown(struct vmm_device *d)
{
	struct vmm_pagebox *box;
	struct vmm_range *r;
	uint32_t i, n;
	uint64_t g;

	for (g = 0; g < d->nr_pt; g++) {
		r = pt_owner(d, g);
		if (!r || !(r->flags & RANGE_F_SLAB) || r->va != d->arena.base + g * d->gran)
			continue;
		if (!(r->flags & RANGE_F_PAGES)) {
			slab_destroy(d, r->slab);
			continue;
		}
		box = r->box;
		n = box->nr_pages;
		for (i = 0; i < n; i++)
			if (box->page[i] && slab_destroy(d, box->page[i]))
				break;	/* the box went with its last page */
	}
}
