// SPDX-License-Identifier: MIT
/*
 * paged.c - cuMemAlloc on 2 MiB pages (CUDASIM_ALLOC=paged, the default).
 *
 * The real driver backs cuMemAlloc with 2 MiB pages that need not be
 * physically contiguous: a contiguous VA range with the pages mapped under
 * it.  So here:
 *
 *	size >= 2 MiB	ceil(size / 2 MiB) free pages wherever they are (the
 *			lowest first), each run of adjacent ones one extent of
 *			the device's physical map, mapped MAP_FIXED|MAP_SHARED
 *			one after the other into a 2 MiB aligned VA range
 *	size < 2 MiB	sub-allocated from a shared page: first fit over the
 *			pages already shared (oldest first), then over their
 *			512-byte granules; a new page when none has room.  A
 *			page has one 2 MiB mapping, so small allocations are
 *			neighbours in VA, and it goes back to the free pool
 *			with its last allocation.
 *
 * The tail of a large allocation's last page is not shared.  The sharing
 * rule is a guess to check against a GPU (tests/cudasim/driver_probe.c),
 * not a measurement.  Pages are extents of the same physical map as
 * cuMemCreate's, so both draw on one budget and cuMemGetInfo counts whole
 * pages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cudasim.h"

#define SUB_WORD_BITS	(8 * sizeof(unsigned long))

/*
 * A 2 MiB aligned PROT_NONE range of @size bytes, below 2 GiB for @low32
 * (the legacy 32-bit entry points), or NULL.
 */
static void *cs_va_reserve(size_t size, bool low32)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uintptr_t base, aligned;
	void *p;

#ifdef MAP_32BIT
	if (low32)
		flags |= MAP_32BIT;
#endif
	p = mmap(NULL, size + CS_PAGE_SIZE, PROT_NONE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	base = (uintptr_t)p;
	aligned = CS_ALIGN_UP(base, CS_PAGE_SIZE);
	if (aligned > base)
		munmap(p, aligned - base);
	munmap((void *)(aligned + size), base + CS_PAGE_SIZE - aligned);
	return (void *)aligned;
}

/* ---- whole pages ---- */

/*
 * Take @npages free pages, lowest first, one extent per run of adjacent
 * free pages.  Return: the number of runs in *@runs, or -ENOMEM.  Every
 * extent of the map is whole pages in paged mode, so the free bytes are
 * free pages.
 */
static int __cs_phys_alloc_pages(struct cs_device *d, size_t npages, struct cs_extent ***runs)
{
	struct cs_extent **pp, **v, *e;
	size_t start, left;
	int n = 0, i;

	if (d->capacity - d->used < npages * CS_PAGE_SIZE)
		return -ENOMEM;
	/* First count the runs, then take them. */
	for (pp = &d->extents, start = 0, left = npages; left; pp = &(*pp)->next) {
		size_t end = *pp ? (*pp)->off : d->capacity;

		if (end - start >= CS_PAGE_SIZE) {
			n++;
			left -= CS_MIN(left, (end - start) / CS_PAGE_SIZE);
		}
		if (!*pp)
			break;
		start = (*pp)->off + (*pp)->size;
	}
	if (left)
		return -ENOMEM;		/* cannot be: the map is whole pages */
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (pp = &d->extents, start = 0, left = npages, i = 0; left;) {
		size_t end = *pp ? (*pp)->off : d->capacity, take;

		if (end - start < CS_PAGE_SIZE) {
			start = (*pp)->off + (*pp)->size;
			pp = &(*pp)->next;
			continue;
		}
		take = CS_MIN(left, (end - start) / CS_PAGE_SIZE);
		e = malloc(sizeof(*e));
		if (!e)
			goto out_free_runs;
		e->off = start;
		e->size = take * CS_PAGE_SIZE;
		e->next = *pp;
		*pp = e;
		d->used += e->size;
		v[i++] = e;
		left -= take;
		start = e->off + e->size;
		pp = &e->next;
	}
	*runs = v;
	return n;

out_free_runs:
	while (i--)
		__cs_phys_free(d, v[i]);
	free(v);
	return -ENOMEM;
}

static int __cs_map_runs(struct cs_region *r, int fd)
{
	uintptr_t at = (uintptr_t)r->map_base;
	unsigned int i;

	for (i = 0; i < r->nr_runs; i++) {
		struct cs_extent *e = r->runs[i];

		if (mmap((void *)at, e->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, (off_t)e->off) == MAP_FAILED)
			return -errno;
		at += e->size;
	}
	return 0;
}

static int __cs_paged_alloc_pages(struct cs_device *d, struct cs_region *r, size_t size,
				  bool low32)
{
	size_t npages = CS_ALIGN_UP(size, CS_PAGE_SIZE) / CS_PAGE_SIZE;
	int n, i, err;

	n = __cs_phys_alloc_pages(d, npages, &r->runs);
	if (n < 0)
		return n;
	r->nr_runs = n;
	r->map_len = npages * CS_PAGE_SIZE;
	r->map_base = cs_va_reserve(r->map_len, low32);
	if (!r->map_base) {
		err = -ENOMEM;
		goto out_free_runs;
	}
	err = __cs_map_runs(r, d->memfd);
	if (err)
		goto out_unmap;
	r->start = (uintptr_t)r->map_base;
	return 0;

out_unmap:
	munmap(r->map_base, r->map_len);
out_free_runs:
	for (i = 0; i < n; i++)
		__cs_phys_free(d, r->runs[i]);
	free(r->runs);
	r->runs = NULL;
	r->nr_runs = 0;
	return err;
}

/* ---- shared pages ---- */

static bool sub_test(const struct cs_subpage *sp, size_t g)
{
	return sp->used[g / SUB_WORD_BITS] & (1UL << (g % SUB_WORD_BITS));
}

static void sub_set(struct cs_subpage *sp, size_t first, size_t n, bool on)
{
	size_t g;

	for (g = first; g < first + n; g++) {
		unsigned long bit = 1UL << (g % SUB_WORD_BITS);

		if (on)
			sp->used[g / SUB_WORD_BITS] |= bit;
		else
			sp->used[g / SUB_WORD_BITS] &= ~bit;
	}
}

/* First run of @n free granules in @sp, or CS_SUB_GRANULES. */
static size_t sub_first_fit(const struct cs_subpage *sp, size_t n)
{
	size_t g = 0, run = 0;

	if (CS_SUB_GRANULES - sp->nr_used < n)
		return CS_SUB_GRANULES;
	while (g < CS_SUB_GRANULES) {
		if (!(g % SUB_WORD_BITS) && sp->used[g / SUB_WORD_BITS] == ~0UL) {
			g += SUB_WORD_BITS;	/* a full word: skip it */
			run = 0;
			continue;
		}
		run = sub_test(sp, g) ? 0 : run + 1;
		g++;
		if (run == n)
			return g - n;
	}
	return CS_SUB_GRANULES;
}

static struct cs_subpage *__cs_subpage_new(struct cs_device *d, bool low32)
{
	struct cs_subpage *sp, **pp;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->phys = __cs_phys_alloc(d, CS_PAGE_SIZE, CS_PAGE_SIZE);
	if (!sp->phys)
		goto out_free;
	sp->va = cs_va_reserve(CS_PAGE_SIZE, low32);
	if (!sp->va)
		goto out_free_phys;
	if (mmap(sp->va, CS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 d->memfd, (off_t)sp->phys->off) == MAP_FAILED)
		goto out_unmap;
	sp->low32 = low32;
	/* Oldest first: new pages go to the tail. */
	for (pp = &d->subpages; *pp; pp = &(*pp)->next)
		;
	*pp = sp;
	return sp;

out_unmap:
	munmap(sp->va, CS_PAGE_SIZE);
out_free_phys:
	__cs_phys_free(d, sp->phys);
out_free:
	free(sp);
	return NULL;
}

static void __cs_subpage_put(struct cs_device *d, struct cs_subpage *sp)
{
	struct cs_subpage **pp;

	if (sp->nr_used)
		return;
	for (pp = &d->subpages; *pp != sp; pp = &(*pp)->next)
		;
	*pp = sp->next;
	munmap(sp->va, CS_PAGE_SIZE);
	__cs_phys_free(d, sp->phys);
	free(sp);
}

static int __cs_paged_alloc_sub(struct cs_device *d, struct cs_region *r, size_t size,
				bool low32)
{
	size_t n = size / CS_ALLOC_ALIGN, first = CS_SUB_GRANULES;
	struct cs_subpage *sp;

	for (sp = d->subpages; sp; sp = sp->next) {
		if (sp->low32 != low32)
			continue;
		first = sub_first_fit(sp, n);
		if (first < CS_SUB_GRANULES)
			break;
	}
	if (!sp) {
		sp = __cs_subpage_new(d, low32);
		if (!sp)
			return -ENOMEM;
		first = 0;
	}
	sub_set(sp, first, n, true);
	sp->nr_used += n;
	r->sub = sp;
	r->start = (uintptr_t)sp->va + first * CS_ALLOC_ALIGN;
	return 0;
}

/* ---- what memory.c and init.c call ---- */

/**
 * __cs_paged_alloc - back a cuMemAlloc region with pages
 * @d:     the device
 * @r:     the region: r->start and what backs it are filled in
 * @size:  bytes, a multiple of CS_ALLOC_ALIGN
 * @low32: the whole range must lie below 4 GiB
 *
 * Return: 0, or -ENOMEM when the device has too few free pages (or the
 * host too little VA).
 */
int __cs_paged_alloc(struct cs_device *d, struct cs_region *r, size_t size, bool low32)
{
	if (size < CS_PAGE_SIZE)
		return __cs_paged_alloc_sub(d, r, size, low32);
	return __cs_paged_alloc_pages(d, r, size, low32);
}

/**
 * __cs_paged_free - give a region's pages (or its share of one) back
 * @d: the device
 * @r: a region __cs_paged_alloc() filled in
 */
void __cs_paged_free(struct cs_device *d, struct cs_region *r)
{
	unsigned int i;

	if (r->sub) {
		size_t first = (r->start - (uintptr_t)r->sub->va) / CS_ALLOC_ALIGN;
		size_t n = r->size / CS_ALLOC_ALIGN;

		sub_set(r->sub, first, n, false);
		r->sub->nr_used -= n;
		__cs_subpage_put(d, r->sub);
		r->sub = NULL;
		return;
	}
	munmap(r->map_base, r->map_len);
	for (i = 0; i < r->nr_runs; i++)
		__cs_phys_free(d, r->runs[i]);
	free(r->runs);
	r->runs = NULL;
	r->nr_runs = 0;
}

/**
 * __cs_paged_phys_off - where a paged region starts in the device file
 * @r: a region __cs_paged_alloc() filled in
 *
 * Return: the byte offset of the region's first byte in the memfd.
 */
size_t __cs_paged_phys_off(const struct cs_region *r)
{
	if (r->sub)
		return r->sub->phys->off + (r->start - (uintptr_t)r->sub->va);
	return r->runs[0]->off;
}

/**
 * __cs_paged_remap - map a device's paged memory from another file
 * @d:  the device
 * @fd: a copy of its memfd (a fork child's)
 *
 * Every shared page and every paged region of @d is mapped again at the
 * same address, now from @fd.  Return: 0 or -errno.
 */
int __cs_paged_remap(struct cs_device *d, int fd)
{
	struct cs_subpage *sp;
	size_t i;
	int err;

	for (sp = d->subpages; sp; sp = sp->next)
		if (mmap(sp->va, CS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, (off_t)sp->phys->off) == MAP_FAILED)
			return -errno;
	for (i = 0; i < cs.regions.nr; i++) {
		struct cs_region *r = cs.regions.v[i];

		if (r->kind != CS_REGION_ALLOC || r->dev != d->ordinal || !r->runs)
			continue;
		err = __cs_map_runs(r, fd);
		if (err)
			return err;
	}
	return 0;
}
