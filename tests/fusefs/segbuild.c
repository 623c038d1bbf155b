// SPDX-License-Identifier: MIT
/*
 * segbuild.c - valid segments for tests, fuzz seeds and the benchmark.
 *
 * Written with the ABI's own writer (seg/seg_write.c): the header, then
 * per device its block, page table and allocation table as the library
 * lays them out, 64-byte aligned here (the library aligns to pages) to
 * keep the fuzz seeds small.  Allocation i of a device owns
 * pt_used / nr_allocs consecutive granules, mapped, one chunk each; the
 * rest of the used granules are cached (mapped, no owner).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "segbuild.h"

#define SEGBUILD_ALIGN	64
#define ARENA_BASE	0x7f0000000000ull
#define ARENA_STRIDE	0x010000000000ull

void segbuild_defaults(struct segbuild *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = getpid();
	p->uid = geteuid();
	p->start_time = gpuvm_proc_start_time(p->pid);
	p->comm = "segwriter";
	p->nr_devices = 1;
	p->granularity = 2u << 20;
	p->pt_entries = 64;
	p->pt_used = 20;
	p->nr_allocs = 8;
	p->alloc_capacity = 16;
}

void segbuild_schema_knobs(struct segbuild *p)
{
	int i, n;

	p->nr_knobs = 0;
	n = gpuvm_knob_count();
	for (i = 0; i < n && p->nr_knobs < GPUVM_SEG_MAX_KNOBS; i++) {
		const struct gpuvm_knob *k = gpuvm_knob_at(i);

		if (!k || strlen(k->name) >= GPUVM_SEG_KNOB_NAME)
			continue;
		p->knob_names[p->nr_knobs] = k->name;
		p->knob_values[p->nr_knobs] = k->def;
		p->nr_knobs++;
	}
}

/* Where device @dev's block and tables go. */
static void device_layout(const struct segbuild *p, unsigned int dev, struct gpuvm_seg_layout *l)
{
	uint64_t off = sizeof(struct gpuvm_seg_header);
	unsigned int i;

	/* the parameters are small: the arithmetic cannot overflow */
	for (i = 0; i <= dev; i++) {
		gpuvm_seg_layout_device(off, p->pt_entries, p->alloc_capacity, SEGBUILD_ALIGN, l);
		off = l->end;
	}
}

uint64_t segbuild_device_offset(const struct segbuild *p, unsigned int dev)
{
	struct gpuvm_seg_layout l;

	device_layout(p, dev, &l);
	return l.device_offset;
}

size_t segbuild_size(const struct segbuild *p)
{
	struct gpuvm_seg_layout l;

	if (!p->nr_devices)
		return sizeof(struct gpuvm_seg_header);
	device_layout(p, p->nr_devices - 1, &l);
	return l.end;
}

uint64_t segbuild_alloc_id(unsigned int dev, uint32_t i)
{
	return (uint64_t)dev * 1000000 + i + 1;
}

static void fill_device(const struct segbuild *p, unsigned char *base, unsigned int dev)
{
	struct gpuvm_seg_layout l;
	struct gpuvm_seg_device *d;
	uint32_t per = p->nr_allocs ? p->pt_used / p->nr_allocs : 0;
	struct gpuvm_seg_alloc *allocs;
	struct gpuvm_seg_pte *pt;
	struct gpuvm_seg_stats *st;
	uint32_t i, j, g = 0;

	device_layout(p, dev, &l);
	d = (void *)(base + l.device_offset);
	st = &d->stats;
	gpuvm_seg_device_init(d, dev, &l, p->pt_entries, p->alloc_capacity);
	d->granularity = p->granularity;
	d->chunk_size = p->granularity;
	d->arena_base = ARENA_BASE + dev * ARENA_STRIDE;
	d->arena_size = (uint64_t)p->pt_entries * p->granularity;
	d->nr_knobs = p->nr_knobs;
	for (i = 0; i < p->nr_knobs; i++) {
		gpuvm_seg_set_string(d->knobs[i].name, GPUVM_SEG_KNOB_NAME, p->knob_names[i]);
		d->knobs[i].value = p->knob_values[i];
	}

	pt = (void *)(base + d->pt_offset);
	allocs = (void *)(base + d->alloc_offset);
	for (i = 0; i < p->pt_entries; i++)
		pt[i].chunk = GPUVM_NO_CHUNK;
	for (i = 0; i < p->nr_allocs && per; i++) {
		struct gpuvm_seg_alloc *a = &allocs[i];

		a->flags = GPUVM_SEG_ALLOC_LIVE;
		a->id = segbuild_alloc_id(dev, i);
		a->base = d->arena_base + (uint64_t)g * p->granularity;
		a->size = (uint64_t)per * p->granularity;
		a->requested = a->size - (a->size > 100 ? 100 : 0);
		a->max_size = a->size;
		a->nr_chunks = per;
		a->time_ns = 1000 + i;
		for (j = 0; j < per; j++, g++) {
			pt[g].state = GPUVM_PTE_MAPPED;
			pt[g].access = GPUVM_PTE_ACCESS_READ | GPUVM_PTE_ACCESS_WRITE;
			pt[g].chunk = g;
			pt[g].owner = a->id;
		}
		st->requested += a->requested;
		st->allocated += a->size;
		st->live_allocs++;
		st->alloc_calls++;
	}
	st->mapped = (uint64_t)g * p->granularity;
	for (; g < p->pt_used && g < p->pt_entries; g++) {
		pt[g].state = GPUVM_PTE_CACHED;
		pt[g].access = GPUVM_PTE_ACCESS_READ | GPUVM_PTE_ACCESS_WRITE;
		pt[g].chunk = g;
		st->cached += p->granularity;
		st->chunks_free++;
	}
	st->physical = st->mapped + st->cached;
	st->chunks = g;
	st->reserved_va = d->arena_size;
	st->device_total = 1ull << 30;
	st->peak_requested = st->requested;
	st->peak_allocated = st->allocated;
	st->peak_mapped = st->mapped;
	st->largest_free_run = st->cached;
	st->driver_calls[0] = g;	/* cuMemCreate, one per chunk */
}

void segbuild_fill(const struct segbuild *p, void *buf)
{
	struct gpuvm_seg_header *h = buf;
	unsigned int i;

	gpuvm_seg_header_init(h, p->pid, p->uid, p->comm, segbuild_size(p));
	h->start_time = p->start_time;
	h->nr_devices = p->nr_devices;
	h->flags = GPUVM_SEG_F_SIMULATED;
	gpuvm_seg_set_string(h->driver, sizeof(h->driver), "cudasim");
	for (i = 0; i < p->nr_devices; i++) {
		h->device_offset[i] = segbuild_device_offset(p, i);
		fill_device(p, buf, i);
	}
}

void segbuild_ctl_fill(struct gpuvm_ctl_header *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	gpuvm_ctl_header_init(ctl);
}

void *segbuild_seed(unsigned int i, size_t *size)
{
	static const uint32_t shapes[SEGBUILD_NR_SEEDS][5] = {
		/* devices, entries, used, allocs, capacity */
		{ 1, 64, 20, 8, 16 },
		{ 2, 16, 16, 4, 4 },
		{ 1, 8, 0, 0, 0 },
		{ 3, 32, 31, 5, 8 },
	};
	struct segbuild p;
	void *buf;

	if (i >= SEGBUILD_NR_SEEDS)
		return NULL;
	segbuild_defaults(&p);
	segbuild_schema_knobs(&p);
	p.pid = 0;
	p.uid = 0;
	p.nr_devices = shapes[i][0];
	p.pt_entries = shapes[i][1];
	p.pt_used = shapes[i][2];
	p.nr_allocs = shapes[i][3];
	p.alloc_capacity = shapes[i][4];
	*size = segbuild_size(&p);
	buf = calloc(1, *size);
	if (buf)
		segbuild_fill(&p, buf);
	return buf;
}
