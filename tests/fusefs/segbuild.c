// SPDX-License-Identifier: MIT
/*
 * segbuild.c - valid segments for tests, fuzz seeds and the benchmark.
 *
 * Layout: the header, the device blocks (64-byte aligned), then per device
 * its page table and its allocation table.  Allocation i of a device owns
 * pt_used / nr_allocs consecutive granules, mapped, one chunk each; the
 * rest of the used granules are cached (mapped, no owner).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "segbuild.h"

#define ALIGN64(x)	(((x) + 63) & ~(uint64_t)63)
#define ARENA_BASE	0x7f0000000000ull
#define ARENA_STRIDE	0x010000000000ull

void segbuild_defaults(struct segbuild *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = getpid();
	p->uid = geteuid();
	p->start_time = segbuild_start_time(p->pid);
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

static uint64_t tables_offset(const struct segbuild *p)
{
	return ALIGN64(sizeof(struct gpuvm_seg_header)) +
	       p->nr_devices * ALIGN64(sizeof(struct gpuvm_seg_device));
}

static uint64_t device_tables_size(const struct segbuild *p)
{
	return ALIGN64((uint64_t)p->pt_entries * sizeof(struct gpuvm_seg_pte)) +
	       ALIGN64((uint64_t)p->alloc_capacity * sizeof(struct gpuvm_seg_alloc));
}

uint64_t segbuild_device_offset(const struct segbuild *p, unsigned int dev)
{
	return ALIGN64(sizeof(struct gpuvm_seg_header)) +
	       dev * ALIGN64(sizeof(struct gpuvm_seg_device));
}

size_t segbuild_size(const struct segbuild *p)
{
	return tables_offset(p) + p->nr_devices * device_tables_size(p);
}

uint64_t segbuild_alloc_id(unsigned int dev, uint32_t i)
{
	return (uint64_t)dev * 1000000 + i + 1;
}

static void fill_device(const struct segbuild *p, unsigned char *base, unsigned int dev)
{
	struct gpuvm_seg_device *d = (void *)(base + segbuild_device_offset(p, dev));
	uint64_t tables = tables_offset(p) + dev * device_tables_size(p);
	uint32_t per = p->nr_allocs ? p->pt_used / p->nr_allocs : 0;
	struct gpuvm_seg_stats *st = &d->stats;
	struct gpuvm_seg_alloc *allocs;
	struct gpuvm_seg_pte *pt;
	uint32_t i, j, g = 0;

	d->ordinal = dev;
	d->granularity = p->granularity;
	d->chunk_size = p->granularity;
	d->arena_base = ARENA_BASE + dev * ARENA_STRIDE;
	d->arena_size = (uint64_t)p->pt_entries * p->granularity;
	d->pt_offset = tables;
	d->pt_entries = p->pt_entries;
	d->alloc_offset = tables + ALIGN64((uint64_t)p->pt_entries * sizeof(*pt));
	d->alloc_capacity = p->alloc_capacity;
	d->nr_knobs = p->nr_knobs;
	for (i = 0; i < p->nr_knobs; i++) {
		strncpy(d->knobs[i].name, p->knob_names[i], GPUVM_SEG_KNOB_NAME - 1);
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

	h->magic = GPUVM_STATE_MAGIC;
	h->version_major = GPUVM_SEG_VERSION_MAJOR;
	h->version_minor = GPUVM_SEG_VERSION_MINOR;
	h->header_size = sizeof(*h);
	h->device_size = sizeof(struct gpuvm_seg_device);
	h->pte_size = sizeof(struct gpuvm_seg_pte);
	h->alloc_size = sizeof(struct gpuvm_seg_alloc);
	h->segment_size = segbuild_size(p);
	h->pid = p->pid;
	h->uid = p->uid;
	h->start_time = p->start_time;
	h->nr_devices = p->nr_devices;
	h->flags = GPUVM_SEG_F_SIMULATED;
	strncpy(h->comm, p->comm ? p->comm : "", sizeof(h->comm) - 1);
	strncpy(h->driver, "cudasim", sizeof(h->driver) - 1);
	for (i = 0; i < p->nr_devices; i++) {
		h->device_offset[i] = segbuild_device_offset(p, i);
		fill_device(p, buf, i);
	}
}

void segbuild_ctl_fill(struct gpuvm_ctl_header *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->magic = GPUVM_CTL_MAGIC;
	ctl->version_major = GPUVM_SEG_VERSION_MAJOR;
	ctl->version_minor = GPUVM_SEG_VERSION_MINOR;
	ctl->header_size = sizeof(*ctl);
}

uint64_t segbuild_start_time(pid_t pid)
{
	unsigned long long st = 0;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p)
		p++;	/* the space before field 3 */
	for (i = 3; p && i <= 21; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &st) != 1)
		return 0;
	return st;
}
