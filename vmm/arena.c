// SPDX-License-Identifier: MIT
/*
 * arena.c - the VA allocator inside one device reservation.
 *
 * Free ranges live in two trees: by address, where each node also knows
 * the largest free range in its subtree (first fit descends to the lowest
 * address whose subtree can hold the request, O(log n)), and by (size,
 * address) for best fit (lower bound, O(log n)).  Freeing merges with the
 * neighbours found by address, so free ranges never touch.
 *
 * Callers hold the device lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define by_addr_entry(n)	container_of(n, struct va_free, by_addr)
#define by_size_entry(n)	container_of(n, struct va_free, by_size)

static int cmp_addr(const struct vtree_node *a, const struct vtree_node *b)
{
	uint64_t x = by_addr_entry(a)->start, y = by_addr_entry(b)->start;

	return x < y ? -1 : x > y;
}

static int cmp_size(const struct vtree_node *a, const struct vtree_node *b)
{
	const struct va_free *x = by_size_entry(a), *y = by_size_entry(b);

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void augment_gap(struct vtree_node *n)
{
	struct va_free *f = by_addr_entry(n);
	uint64_t m = f->size;

	if (n->left && by_addr_entry(n->left)->max_size > m)
		m = by_addr_entry(n->left)->max_size;
	if (n->right && by_addr_entry(n->right)->max_size > m)
		m = by_addr_entry(n->right)->max_size;
	f->max_size = m;
}

static void insert_free(struct vmm_arena *a, struct va_free *f)
{
	vtree_insert(&a->by_addr, &f->by_addr);
	vtree_insert(&a->by_size, &f->by_size);
	a->nr_free++;
}

static void remove_free(struct vmm_arena *a, struct va_free *f)
{
	vtree_erase(&a->by_addr, &f->by_addr);
	vtree_erase(&a->by_size, &f->by_size);
	a->nr_free--;
}

void arena_init(struct vmm_arena *a, uint64_t base, uint64_t size, uint64_t align)
{
	a->base = base;
	a->size = size;
	a->align = align;
	a->by_addr = (struct vtree){ .cmp = cmp_addr, .augment = augment_gap };
	a->by_size = (struct vtree){ .cmp = cmp_size };
	a->free_bytes = 0;
	a->nr_free = 0;
	arena_free(a, base, size);
}

/* The lowest-addressed free range of at least @size bytes. */
static struct va_free *first_fit(struct vmm_arena *a, uint64_t size)
{
	struct vtree_node *n = a->by_addr.root;

	if (!n || by_addr_entry(n)->max_size < size)
		return NULL;
	for (;;) {
		if (n->left && by_addr_entry(n->left)->max_size >= size)
			n = n->left;
		else if (by_addr_entry(n)->size >= size)
			return by_addr_entry(n);
		else
			n = n->right;	/* must hold it: the max says so */
	}
}

static struct va_free *best_fit(struct vmm_arena *a, uint64_t size)
{
	struct va_free key = { .size = size, .start = 0 };
	struct vtree_node *n = vtree_lower_bound(&a->by_size, &key.by_size);

	return n ? by_size_entry(n) : NULL;
}

/**
 * arena_alloc - take @size bytes of VA (a multiple of the alignment)
 * Return: 0 and *@va, or -ENOMEM when no free range is large enough.
 */
int arena_alloc(struct vmm_arena *a, uint64_t size, int placement, uint64_t *va)
{
	struct va_free *f;

	if (!size || size % a->align)
		return -EINVAL;
	f = placement == VMM_PLACE_FIRST_FIT ? first_fit(a, size) : best_fit(a, size);
	if (!f)
		return -ENOMEM;
	*va = f->start;
	remove_free(a, f);
	if (f->size == size) {
		free(f);
	} else {
		/* keep the tail: the node object is reused, no allocation */
		f->start += size;
		f->size -= size;
		insert_free(a, f);
	}
	a->free_bytes -= size;
	return 0;
}

/**
 * arena_claim - take [@va, @va + @size) if, and only if, it is all free
 * @a: the arena
 * @va: start (aligned)
 * @size: bytes (a multiple of the alignment)
 *
 * Used to grow a range in place over the free VA that follows it.
 * Return: 0; -EINVAL (unaligned, empty or outside the arena), -EBUSY (some
 * of it is not free), -ENOMEM (no memory to split a free range in three).
 * Nothing changes on failure.
 */
int arena_claim(struct vmm_arena *a, uint64_t va, uint64_t size)
{
	struct va_free key = { .start = va + 1 }, *f, *t = NULL;
	uint64_t end = va + size, fend;
	struct vtree_node *n;

	if (!size || size % a->align || va % a->align || va < a->base ||
	    va - a->base > a->size || size > a->size - (va - a->base))
		return -EINVAL;
	/* the free range starting at or before @va: free ranges never overlap */
	n = vtree_predecessor(&a->by_addr, &key.by_addr);
	if (!n)
		return -EBUSY;
	f = by_addr_entry(n);
	fend = f->start + f->size;
	if (fend < end)
		return -EBUSY;
	if (f->start < va && end < fend) {
		/* a hole in the middle: the tail needs a node of its own */
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
	}
	remove_free(a, f);
	if (f->start < va) {
		f->size = va - f->start;
		insert_free(a, f);
		if (t) {
			t->start = end;
			t->size = fend - end;
			insert_free(a, t);
		}
	} else if (end < fend) {
		f->start = end;
		f->size = fend - end;
		insert_free(a, f);
	} else {
		free(f);
	}
	a->free_bytes -= size;
	return 0;
}

/**
 * arena_free - give back [@va, @va + @size), merging with free neighbours
 *
 * Cannot fail: when no neighbour can absorb the range and no node can be
 * allocated, the VA is left unused (it is plentiful) and a warning says so.
 */
void arena_free(struct vmm_arena *a, uint64_t va, uint64_t size)
{
	struct va_free key = { .start = va }, *prev = NULL, *next = NULL, *f;
	struct vtree_node *n;

	if (!size)
		return;
	n = vtree_predecessor(&a->by_addr, &key.by_addr);
	if (n && by_addr_entry(n)->start + by_addr_entry(n)->size == va)
		prev = by_addr_entry(n);
	key.start = va + size;
	n = vtree_lower_bound(&a->by_addr, &key.by_addr);
	if (n && by_addr_entry(n)->start == va + size)
		next = by_addr_entry(n);

	a->free_bytes += size;
	if (prev && next) {
		remove_free(a, next);
		remove_free(a, prev);
		prev->size += size + next->size;
		insert_free(a, prev);
		free(next);
	} else if (prev) {
		remove_free(a, prev);
		prev->size += size;
		insert_free(a, prev);
	} else if (next) {
		remove_free(a, next);
		next->start = va;
		next->size += size;
		insert_free(a, next);
	} else {
		f = calloc(1, sizeof(*f));
		if (!f) {
			a->free_bytes -= size;
			vmm_warn("out of memory: %llu bytes of VA at 0x%llx stay unused",
				 (unsigned long long)size, (unsigned long long)va);
			return;
		}
		f->start = va;
		f->size = size;
		insert_free(a, f);
	}
}

static void free_node(struct vtree_node *n, void *arg)
{
	free(by_addr_entry(n));
}

void arena_destroy(struct vmm_arena *a)
{
	/* by_size holds the same objects: drop it first, free through by_addr */
	a->by_size.root = NULL;
	vtree_walk(&a->by_addr, free_node, NULL);
	a->by_addr.root = NULL;
	a->free_bytes = 0;
	a->nr_free = 0;
}

uint64_t arena_largest_free(const struct vmm_arena *a)
{
	return a->by_addr.root ? by_addr_entry(a->by_addr.root)->max_size : 0;
}

struct arena_walk {
	const struct vmm_arena *a;
	uint64_t end;			/* end of the previous range */
	uint64_t bytes;
	bool ok;
};

static void check_node(struct vtree_node *n, void *arg)
{
	struct arena_walk *w = arg;
	struct va_free *f = by_addr_entry(n);
	uint64_t m = f->size;

	if (n->left && by_addr_entry(n->left)->max_size > m)
		m = by_addr_entry(n->left)->max_size;
	if (n->right && by_addr_entry(n->right)->max_size > m)
		m = by_addr_entry(n->right)->max_size;
	/* sorted, not touching (merged), inside the arena, aligned, max right */
	if (f->start <= w->end)
		w->ok = false;
	if (f->start < w->a->base || f->start + f->size > w->a->base + w->a->size ||
	    !f->size || f->start % w->a->align || f->size % w->a->align || f->max_size != m)
		w->ok = false;
	w->end = f->start + f->size;
	w->bytes += f->size;
}

/* Consistency of both trees and the byte count (tests, debug builds). */
bool arena_check(const struct vmm_arena *a)
{
	struct arena_walk w = { .a = a, .end = a->base - 1, .ok = true };

	if (!vtree_check(&a->by_addr) || !vtree_check(&a->by_size))
		return false;
	vtree_walk(&a->by_addr, check_node, &w);
	return w.ok && w.bytes == a->free_bytes;
}
