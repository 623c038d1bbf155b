// SPDX-License-Identifier: MIT
/*
 * ipc.c - gpuvm memory shared between processes: what is mapped.
 *
 * An exported allocation is described by the chunks behind it: for each
 * run of chunks adjacent both in VA and in one physical allocation, its
 * place in the allocation and in the range, plus one POSIX file descriptor
 * per physical allocation (cuMemExportToShareableHandle; chunks are
 * created exportable where the driver can).  The importer maps the same
 * runs at an address of its own arena and sets access once over all of
 * them.  The protocol that carries the description between processes is
 * ipc_socket.c.
 *
 * An exported range, once freed, never hands its chunks out again: an
 * importer may still use them, and the driver keeps them alive for it
 * (__range_retire()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ipc.h"

/* Memory of another process mapped here. */
struct vmm_import {
	struct list_head link;		/* dev->imports */
	uint64_t va;			/* device VA of the mapping */
	uint64_t map_size;		/* bytes mapped */
	uint64_t head;			/* bytes before the allocation's start */
	struct ipc_key key;		/* the handle it came from */
	uint32_t refs;			/* opens of that handle */
	uint32_t slot;			/* allocation-table slot */
	uint32_t nr_runs;
	uint64_t runs[];		/* bytes of each mapping, in VA order */
};

/*
 * The range behind the live exported allocation starting at @base with id
 * @id (a large one, or an object of a sealed slab), or NULL; its usable
 * size into *@size.
 */
static struct vmm_range *__export_range(struct vmm_device *d, uint64_t base, uint64_t id,
					uint64_t *size)
{
	struct vmm_range *r = __live_owner_of(d, base);

	if (!r || !(r->flags & RANGE_F_EXPORTED))
		return NULL;
	if (r->flags & RANGE_F_SLAB)
		return __small_sealed_live(d, r, base, id, size) ? r : NULL;
	if (r->va + r->head_off != base || r->id != id)
		return NULL;
	*size = range_usable(r);
	return r;
}

/**
 * ipc_mark - an allocation is about to be shared: find it and mark it
 * @ptr: an address inside a live gpuvm allocation
 * @out: receives its device, start and id (pid and start time are the caller's)
 * @size: receives its usable size
 *
 * A sub-allocated object seals its slab (nothing of it is reused).
 * Return: 0; -ENOENT when gpuvm did not hand out @ptr; -EOPNOTSUPP when
 * the driver cannot export the device's memory.
 */
int ipc_mark(gpuvm_ptr_t ptr, struct ipc_key *out, uint64_t *size)
{
	struct vmm_device *d = device_of(ptr);
	struct vmm_range *r;
	int ret = -ENOENT;

	if (!d)
		return -ENOENT;
	vmm_lock(d);
	r = __live_owner_of(d, ptr);
	if (!r)
		goto out_unlock;
	if (!drv_can_export(d->ordinal)) {
		ret = -EOPNOTSUPP;
		goto out_unlock;
	}
	out->device = d->ordinal;
	if (r->flags & RANGE_F_SLAB) {
		/* its slab is sealed: nothing of it is reused (small.c) */
		ret = __small_seal(d, r, ptr, &out->base, &out->id, size);
		goto out_unlock;
	}
	if (ptr < r->va + r->head_off || ptr >= r->va + r->head_off + range_usable(r))
		goto out_unlock;
	r->flags |= RANGE_F_EXPORTED;
	/* it lends no more of its last chunk: its bytes are the importer's too */
	__share_withdraw(d, r);
	if (r->slot != VMM_NO_SLOT)
		d->atab[r->slot].flags |= GPUVM_SEG_ALLOC_EXPORTED;
	out->base = r->va + r->head_off;
	out->id = r->id;
	*size = range_usable(r);
	ret = 0;
out_unlock:
	vmm_unlock(d);
	return ret;
}

/* Whether @key's allocation is still live and exported. */
bool ipc_export_alive(const struct ipc_key *key)
{
	struct vmm_device *d;
	uint64_t size;
	bool alive;

	if (key->device < 0 || key->device >= vmm.nr_devices)
		return false;
	d = &vmm.dev[key->device];
	if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
		return false;
	vmm_lock(d);
	alive = __export_range(d, key->base, key->id, &size);
	vmm_unlock(d);
	return alive;
}

void ipc_export_put(struct ipc_export *e)
{
	uint32_t i;

	for (i = 0; i < e->nr_fds; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	free(e->fds);
	free(e->pieces);
	memset(e, 0, sizeof(*e));
}

/* The index of @p among the first @n of @seen, adding it when new. */
static uint32_t phys_index(const struct vmm_phys **seen, uint32_t *n, const struct vmm_phys *p)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (seen[i] == p)
			return i;
	seen[(*n)++] = p;
	return i;
}

/* The runs of @r's chunks and an fd per physical allocation, into @e. */
static int __export_describe(struct vmm_device *d, struct vmm_range *r, struct ipc_export *e)
{
	const struct vmm_phys **seen;
	uint64_t csize = r->chunk_size;
	uint32_t i, nr = r->nr_chunks, nseen = 0;
	int ret = -ENOMEM;

	seen = calloc(nr, sizeof(*seen));
	e->pieces = calloc(nr, sizeof(*e->pieces));
	if (!seen || !e->pieces)
		goto out_free;
	for (i = 0; i < nr; i++) {
		const struct vmm_chunk *c = r->chunks[i];
		uint32_t fi = phys_index(seen, &nseen, c->phys);
		struct ipc_piece *last = e->nr_pieces ? &e->pieces[e->nr_pieces - 1] : NULL;
		uint64_t off = (uint64_t)c->slice * csize;

		if (last && last->fd_index == fi && last->phys_offset + last->size == off) {
			last->size += csize;	/* one mapping for the run */
			continue;
		}
		e->pieces[e->nr_pieces].offset = (uint64_t)i * csize;
		e->pieces[e->nr_pieces].size = csize;
		e->pieces[e->nr_pieces].phys_offset = off;
		e->pieces[e->nr_pieces].fd_index = fi;
		e->nr_pieces++;
	}
	e->fds = malloc(nseen * sizeof(*e->fds));
	if (!e->fds)
		goto out_free;
	for (i = 0; i < nseen; i++)
		e->fds[i] = -1;
	e->nr_fds = nseen;
	for (i = 0; i < nseen; i++) {
		ret = drv_mem_export(d->ordinal, seen[i]->handle, &e->fds[i]);
		if (ret)
			goto out_free;
	}
	e->map_size = r->size;
	free(seen);
	return 0;

out_free:
	free(seen);
	ipc_export_put(e);
	return ret;
}

/**
 * ipc_export - describe a marked allocation for an importer
 * @key: the allocation (device, start and id as ipc_mark() gave them)
 * @e: receives the runs and the file descriptors (ipc_export_put() after)
 *
 * Return: 0; -ESTALE when that allocation is no longer live (freed, or its
 * address reused by another), else -errno.
 */
int ipc_export(const struct ipc_key *key, struct ipc_export *e)
{
	struct vmm_device *d;
	struct vmm_range *r;
	uint64_t size;
	int ret = -ESTALE;

	memset(e, 0, sizeof(*e));
	if (key->device < 0 || key->device >= vmm.nr_devices)
		return -ESTALE;
	d = &vmm.dev[key->device];
	if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
		return -ESTALE;
	vmm_lock(d);
	r = __export_range(d, key->base, key->id, &size);
	if (r) {
		ret = __export_describe(d, r, e);
		e->size = size;
		e->head = key->base - r->va;
	}
	vmm_unlock(d);
	return ret;
}

static struct vmm_import *__import_find(struct vmm_device *d, const struct ipc_key *key,
					uint64_t ptr)
{
	struct vmm_import *im;

	list_for_each_entry(im, &d->imports, struct vmm_import, link) {
		if (key && !memcmp(&im->key, key, sizeof(*key)))
			return im;
		if (!key && im->va + im->head == ptr)
			return im;
	}
	return NULL;
}

/*
 * Unmap the first @n of @e's runs mapped at @va (one call, else one per run
 * where the driver takes no unmap over several mappings) and give the
 * @size bytes of VA back.
 */
static void __import_unmap(struct vmm_device *d, uint64_t va, const uint64_t *runs,
			   uint32_t n, uint64_t size)
{
	uint64_t off = 0, bytes = 0;
	uint32_t i;
	int ret = 0;

	for (i = 0; i < n; i++)
		bytes += runs[i];
	if (n > 1 && !d->unmap_single)
		ret = drv_mem_unmap(d->ordinal, va, bytes);
	if (n == 1 || d->unmap_single || ret) {
		for (i = 0, ret = 0; i < n; off += runs[i], i++)
			ret = drv_mem_unmap(d->ordinal, va + off, runs[i]) ?: ret;
	}
	if (ret)
		vmm_warn("device %d: cuMemUnmap of imported memory at 0x%llx failed: %s",
			 d->ordinal, (unsigned long long)va, drv_strerror(ret));
	__pt_set(d, va, size, GPUVM_PTE_FREE, 0, NULL, VMM_GK_NONE);
	arena_free(&d->arena, va, size);
}

/* Whether @e's runs lie back to back, granule-aligned, within its fds. */
static bool export_valid(const struct vmm_device *d, const struct ipc_export *e)
{
	uint64_t mapped = 0;
	uint32_t i;

	if (!e->map_size || e->map_size % d->gran || e->head >= e->map_size ||
	    !e->size || e->size > e->map_size - e->head || !e->nr_pieces)
		return false;
	for (i = 0; i < e->nr_pieces; i++) {
		const struct ipc_piece *p = &e->pieces[i];

		if (p->offset != mapped || !p->size || p->size % d->gran ||
		    p->phys_offset % d->gran || p->fd_index >= e->nr_fds ||
		    p->size > e->map_size - mapped)
			return false;
		mapped += p->size;
	}
	return mapped == e->map_size;
}

/*
 * Map @e's runs at a new VA of @d's arena, the run sizes into @runs.
 * Return: 0 or -errno (nothing left mapped).
 */
static int __import_map(struct vmm_device *d, const struct ipc_export *e, uint32_t peers,
			uint64_t *runs, uint64_t *va_out)
{
	uint32_t i, nh = 0, nm = 0;
	drv_handle_t *h;
	uint64_t va;
	int ret;

	if (!export_valid(d, e))
		return -EINVAL;
	h = calloc(e->nr_fds, sizeof(*h));
	if (!h)
		return -ENOMEM;
	ret = arena_alloc(&d->arena, e->map_size, (int)d->knob[VMM_KNOB_PLACEMENT], &va);
	if (ret)
		goto out_free;
	for (; nh < e->nr_fds; nh++) {
		ret = drv_mem_import(d->ordinal, e->fds[nh], &h[nh]);
		if (ret)
			goto out_unmap;
	}
	for (; nm < e->nr_pieces; nm++) {
		const struct ipc_piece *p = &e->pieces[nm];

		ret = drv_mem_map(d->ordinal, va + p->offset, p->size, h[p->fd_index],
				  p->phys_offset);
		if (ret)
			goto out_unmap;
		runs[nm] = p->size;
	}
	ret = drv_set_access(d->ordinal, va, e->map_size, peers);
	if (ret)
		goto out_unmap;
	*va_out = va;
	goto out_release;	/* the mappings keep the memory alive */

out_unmap:
	__import_unmap(d, va, runs, nm, e->map_size);
out_release:
	for (i = 0; i < nh; i++)
		drv_mem_release(d->ordinal, h[i]);
out_free:
	free(h);
	return ret;
}

/**
 * ipc_import - map another process's allocation into this one's arena
 * @key: the handle's identity (a second open of it maps nothing new)
 * @e: what the exporter sent (its fds stay the caller's)
 * @dev: the device whose arena it goes in, given access with its peers
 *	 (gpuvm_peer_access()); the memory may be another device's
 * @ptr: receives the address of the allocation's first byte here
 *
 * Return: 0, or -errno (nothing mapped).
 */
int ipc_import(const struct ipc_key *key, const struct ipc_export *e, int dev,
	       gpuvm_ptr_t *ptr)
{
	struct vmm_import *im;
	struct vmm_device *d;
	uint64_t va = 0;
	int err = 0;

	d = vmm_device_get(dev, &err);
	if (!d)
		return err ? err : -ENODEV;
	vmm_lock(d);
	im = __import_find(d, key, 0);
	if (im) {
		im->refs++;
		*ptr = im->va + im->head;
		vmm_unlock(d);
		return 0;
	}
	im = calloc(1, sizeof(*im) + e->nr_pieces * sizeof(im->runs[0]));
	if (!im) {
		err = -ENOMEM;
		goto out_unlock;
	}
	err = __import_map(d, e, d->peers, im->runs, &va);
	if (err) {
		free(im);
		goto out_unlock;
	}
	im->va = va;
	im->map_size = e->map_size;
	im->head = e->head;
	im->key = *key;
	im->refs = 1;
	im->nr_runs = e->nr_pieces;
	im->slot = __atab_add(d, key->id, GPUVM_SEG_ALLOC_LIVE | GPUVM_SEG_ALLOC_IMPORTED,
			      va + e->head, e->size, e->size, e->map_size, 0,
			      (void *)(uintptr_t)(uint32_t)key->pid);
	__pt_set(d, va, e->map_size, GPUVM_PTE_MAPPED, key->id, NULL, VMM_GK_NONE);
	list_add_tail(&im->link, &d->imports);
	*ptr = va + e->head;
out_unlock:
	vmm_unlock(d);
	return err;
}

static void __import_drop(struct vmm_device *d, struct vmm_import *im)
{
	list_del_init(&im->link);
	__atab_del(d, im->slot);
	__import_unmap(d, im->va, im->runs, im->nr_runs, im->map_size);
	free(im);
}

/**
 * ipc_close - undo an ipc_import() (the last close unmaps)
 * @ptr: the address it gave
 * Return: 0; -EINVAL when @ptr, in gpuvm's arena, is no open import;
 * -ENOENT when it lies outside gpuvm's arenas (the driver's, maybe).
 */
int ipc_close(gpuvm_ptr_t ptr)
{
	struct vmm_device *d = device_of(ptr);
	struct vmm_import *im;
	int ret = -EINVAL;	/* in our arena: no mapping of the driver's */

	if (!d)
		return -ENOENT;
	vmm_lock(d);
	im = __import_find(d, NULL, ptr);
	if (im) {
		if (!--im->refs)
			__import_drop(d, im);
		ret = 0;
	}
	vmm_unlock(d);
	return ret;
}

/* At shutdown: every import goes, as at cuIpcCloseMemHandle. */
void __ipc_teardown(struct vmm_device *d)
{
	struct vmm_import *im, *tmp;

	list_for_each_entry_safe(im, tmp, &d->imports, struct vmm_import, link)
		__import_drop(d, im);
}
