// SPDX-License-Identifier: MIT
/*
 * pagetable.c - the published page table and allocation table of a device.
 *
 * Both live in the state segment (publish.c) so that publishing costs
 * nothing but the stores: every update happens between __pt_begin() and
 * __pt_end() (the device seqcount), under the device lock.  Beside the
 * published entries, two private arrays per granule tell the owning range
 * and its kind, for O(1) lookups of any address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Allocation-table slots per device (64 bytes each, sparse in the file). */
#define VMM_ATAB_SLOTS	65536u

int pt_setup(struct vmm_device *d)
{
	uint32_t i;
	int ret;

	d->nr_pt = (uint32_t)(d->arena.size / d->gran);
	d->atab_cap = VMM_ATAB_SLOTS;
	d->owner = calloc(d->nr_pt, sizeof(*d->owner));
	d->free_slots = malloc(sizeof(*d->free_slots) * d->atab_cap);
	if (!d->owner || !d->free_slots) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = publish_device(d->ordinal, d->nr_pt, d->atab_cap, &d->blk, &d->pt, &d->atab);
	if (ret)
		goto out_free;
	d->st = &d->blk->stats;
	/* lowest slots first: readers find live entries near the start */
	for (i = 0; i < d->atab_cap; i++)
		d->free_slots[i] = d->atab_cap - 1 - i;
	d->nr_free_slots = d->atab_cap;
	for (i = 0; i < d->nr_pt; i++)
		d->pt[i].chunk = GPUVM_NO_CHUNK;

	d->blk->granularity = d->gran;
	d->blk->chunk_size = d->chunk_size;
	d->blk->arena_base = d->arena.base;
	d->blk->arena_size = d->arena.size;
	d->st->reserved_va = d->arena.size;
	d->st->device_total = d->total;
	drv_set_counters(d->ordinal, d->st->driver_calls, d->st->driver_ns);
	return 0;

out_free:
	free(d->owner);
	free(d->free_slots);
	d->owner = NULL;
	d->free_slots = NULL;
	return ret;
}

void pt_teardown(struct vmm_device *d)
{
	if (!d->blk)
		return;
	drv_set_counters(d->ordinal, NULL, NULL);
	publish_device_free(d->ordinal, d->blk, d->pt, d->atab, d->nr_pt, d->atab_cap);
	free(d->owner);
	free(d->free_slots);
	d->blk = NULL;
	d->st = NULL;
	d->pt = NULL;
	d->atab = NULL;
	d->owner = NULL;
	d->free_slots = NULL;
}

/*
 * Set the state and owner of every granule of [va, va + size): used when a
 * range changes hands (allocated, freed, reserved).  Chunk ids stay.
 */
void __pt_set(struct vmm_device *d, uint64_t va, uint64_t size, uint8_t state,
	      uint64_t owner, struct vmm_range *r, uint8_t kind)
{
	uint64_t g = (va - d->arena.base) / d->gran, end = g + size / d->gran;
	uint8_t access = 0;

	if (state == GPUVM_PTE_MAPPED || state == GPUVM_PTE_CACHED)
		access = GPUVM_PTE_ACCESS_READ | GPUVM_PTE_ACCESS_WRITE |
			 (d->peers ? GPUVM_PTE_ACCESS_PEER : 0);

	for (; g < end; g++) {
		d->pt[g].state = state;
		d->pt[g].access = access;
		d->pt[g].owner = owner;
		__atomic_store_n(&d->owner[g], (uintptr_t)r | kind, __ATOMIC_RELAXED);
	}
}

/* Record that chunk @c is mapped at @va. */
void __pt_map_chunk(struct vmm_device *d, uint64_t va, const struct vmm_chunk *c)
{
	uint64_t g = (va - d->arena.base) / d->gran;
	uint32_t i;

	for (i = 0; i < c->granules; i++) {
		d->pt[g + i].chunk = c->id;
		d->pt[g + i].chunk_part = (uint16_t)i;
	}
}

/* Forget the chunks of [va, va + size): unmapped, VA free. */
void __pt_clear_chunks(struct vmm_device *d, uint64_t va, uint64_t size)
{
	uint64_t g = (va - d->arena.base) / d->gran, end = g + size / d->gran;

	for (; g < end; g++) {
		d->pt[g].chunk = GPUVM_NO_CHUNK;
		d->pt[g].chunk_part = 0;
	}
}

uint32_t __atab_add(struct vmm_device *d, uint64_t id, uint32_t flags, uint64_t base,
		    uint64_t size, uint64_t requested, uint64_t max_size, uint32_t nr_chunks,
		    void *stream)
{
	struct gpuvm_seg_alloc *a;
	uint32_t slot;

	if (!d->nr_free_slots) {
		d->st->alloc_table_dropped++;
		return VMM_NO_SLOT;
	}
	slot = d->free_slots[--d->nr_free_slots];
	a = &d->atab[slot];
	a->nr_chunks = nr_chunks;
	a->id = id;
	a->base = base;
	a->size = size;
	a->requested = requested;
	a->max_size = max_size;
	a->time_ns = vmm_now_ns();
	a->stream = (uint64_t)(uintptr_t)stream;
	a->flags = flags | GPUVM_SEG_ALLOC_LIVE;
	return slot;
}

void __atab_update(struct vmm_device *d, uint32_t slot, uint64_t size, uint32_t nr_chunks)
{
	if (slot == VMM_NO_SLOT)
		return;
	d->atab[slot].size = size;
	d->atab[slot].nr_chunks = nr_chunks;
}

void __atab_del(struct vmm_device *d, uint32_t slot)
{
	if (slot == VMM_NO_SLOT)
		return;
	d->atab[slot].flags = 0;
	d->free_slots[d->nr_free_slots++] = slot;
}

void __stats_publish_knobs(struct vmm_device *d)
{
	int i;

	d->blk->nr_knobs = VMM_KNOB_NR;
	for (i = 0; i < VMM_KNOB_NR; i++) {
		strncpy(d->blk->knobs[i].name, vmm_knobs[i].schema.name, GPUVM_SEG_KNOB_NAME - 1);
		d->blk->knobs[i].value = d->knob[i];
	}
	d->blk->chunk_size = d->chunk_size;
	d->st->limit = d->knob[VMM_KNOB_LIMIT];
}

/*
 * Debug: every granule owned by a range points back at it, the page table
 * agrees with the ranges' states, the arena trees are sound, and the
 * free-chunk counters agree with the lists.
 */
bool __pt_check(struct vmm_device *d)
{
	uint64_t g, chunks, run, pool;

	if (!arena_check(&d->arena))
		return false;
	__free_run_recount(d, &chunks, &run, &pool);
	if (chunks != d->st->chunks_free || run != d->free_run_bytes ||
	    pool != d->pool_run_bytes)
		return false;
	for (g = 0; g < d->nr_pt; g++) {
		struct vmm_range *r = pt_owner(d, g);
		uint64_t va = d->arena.base + g * d->gran;

		if (!r) {
			if (d->pt[g].state != GPUVM_PTE_FREE)
				return false;
			continue;
		}
		if (va < r->va || va >= r->va + r->va_size)
			return false;
		if (va >= r->va + r->size) {
			if (d->pt[g].state != GPUVM_PTE_RESERVED)
				return false;
		} else if (d->pt[g].chunk == GPUVM_NO_CHUNK) {
			return false;
		} else if (r->state == RANGE_LIVE) {
			if (d->pt[g].state != GPUVM_PTE_MAPPED)
				return false;
		} else if (d->pt[g].state != GPUVM_PTE_CACHED) {
			return false;
		}
	}
	return true;
}
