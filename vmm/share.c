// SPDX-License-Identifier: MIT
/*
 * share.c - tail sharing: the unused end of a large allocation's last chunk
 * becomes the start of the next one.
 *
 * A large request is rounded up to whole chunks, so its last chunk ends in
 * "room" nobody uses: half a chunk on average, the whole of internal
 * fragmentation on the large path.  A live allocation with room (a donor)
 * lends it: a later request whose own last chunk would hold no more than
 * that room (a recipient) gets a VA range whose first chunk slot maps the
 * donor's last chunk a second time, and starts where the donor's room
 * starts.  The recipient then needs one chunk less than alone; what it
 * leaves free in its own last chunk may be lent again.
 *
 *   donor VA      [ chunk | chunk | P: donor data | room ]
 *   recipient VA                  [ P: (donor's)  | recipient data ... ]
 *
 * A shared chunk has exactly two mappings, the donor's last slot and the
 * recipient's first, linked by ->tail_peer and ->head_peer.  The link
 * outlives the allocations: a freed range keeps its mapping through its
 * deferral and in the cache, where a request takes it again only if it fits
 * the usable part (range_usable(): from ->head_off, before the room lent),
 * at the same place.  A program that frees and allocates the same sizes
 * again thus reuses the shared layout with no driver call.  A cached range
 * gives its mapping of the chunk up (__share_detach(): one cuMemUnmap, the
 * other range keeps the chunk) only when its chunks are stolen or released;
 * a live donor then lends its room again.  The chunk counts as in use while
 * either range is live (range_live_peers()).
 *
 * Not shared: growable ranges, slabs, GPUVM_ALLOC_LARGE requests and ranges
 * of a stale chunk size; stream-ordered allocations do not lend (they may
 * reuse a range their stream still uses).  A shared range never goes on the async list: its
 * free waits for a context synchronization.  Cost: one more cuMemMap per
 * recipient built, one cuMemUnmap per detach; no cuMemCreate.
 *
 * Callers hold the device lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trace_writer.h"

#define SHARE_ALIGN	512u		/* a recipient's start, as PyTorch rounds */
#define SHARE_MIN_ROOM	(64u << 10)	/* less is not worth a mapping */
#define SHARE_TRIES	8		/* donors of another chunk size skipped */

static int donor_cmp(const struct vtree_node *a, const struct vtree_node *b)
{
	const struct vmm_range *x = container_of(a, struct vmm_range, by_room);
	const struct vmm_range *y = container_of(b, struct vmm_range, by_room);

	if (x->room != y->room)
		return x->room < y->room ? -1 : 1;
	return x->va < y->va ? -1 : x->va > y->va;
}

void share_init(struct vmm_device *d)
{
	d->donors = (struct vtree){ .cmp = donor_cmp };
}

/*
 * Free bytes at the end of @r's last chunk, after its data (aligned); 0
 * when the data does not end in that chunk (a range is cut to its request
 * when taken, so only a defensive check).
 */
static uint64_t tail_room(const struct vmm_range *r)
{
	uint64_t used = r->head_off + r->requested;
	uint64_t last = (uint64_t)(r->nr_chunks - 1) * r->chunk_size;

	if (used <= last || used > r->size)
		return 0;
	return r->chunk_size - round_up(used - last, SHARE_ALIGN);
}

/**
 * __share_offer - let a live large range lend the room of its last chunk
 * @d: the device (locked)
 * @r: a live, non-growable large range
 *
 * Does nothing when tail_share is off, @r's last chunk is shared already,
 * its chunk size is stale or the room is too small to be worth a mapping.
 */
void __share_offer(struct vmm_device *d, struct vmm_range *r)
{
	if (!d->knob[VMM_KNOB_TAIL_SHARE] || r->state != RANGE_LIVE || !r->nr_chunks ||
	    (r->flags & (RANGE_F_DONOR | RANGE_F_TAIL_SHARED | RANGE_F_GROWABLE |
			 RANGE_F_SLAB | RANGE_F_EXPORTED)) ||
	    ((r->flags & RANGE_F_HEAD_SHARED) && r->nr_chunks == 1) ||
	    r->chunk_size != d->chunk_size)
		return;
	r->room = tail_room(r);
	if (r->room < SHARE_MIN_ROOM)
		return;
	r->flags |= RANGE_F_DONOR;
	vtree_insert(&d->donors, &r->by_room);
}

/** __share_withdraw - take @r out of the donors (no-op when not in) */
void __share_withdraw(struct vmm_device *d, struct vmm_range *r)
{
	if (!(r->flags & RANGE_F_DONOR))
		return;
	vtree_erase(&d->donors, &r->by_room);
	r->flags &= ~RANGE_F_DONOR;
}

/* The donor with the least room of at least @need, of @csize chunks. */
static struct vmm_range *donor_find(struct vmm_device *d, uint64_t need, uint64_t csize)
{
	struct vmm_range key = { .room = need, .va = 0 }, *r;
	struct vtree_node *n;
	int i;

	for (i = 0; i < SHARE_TRIES; i++) {
		n = vtree_lower_bound(&d->donors, &key.by_room);
		if (!n)
			return NULL;
		r = container_of(n, struct vmm_range, by_room);
		if (r->chunk_size == csize)
			return r;
		key.room = r->room;
		key.va = r->va + 1;
	}
	return NULL;
}

/**
 * __share_get - a new range for @size bytes that starts in a donor's room
 * @d: the device (locked)
 * @size: bytes requested
 * @csize: chunk size
 * @out: the range (not live; ->head_off says where the allocation starts)
 *
 * Only when it saves a chunk: the request's last chunk would hold at most
 * the donor's room.  Return: 0; -ENOENT (no donor fits), -ENOMEM, -EIO.
 */
int __share_get(struct vmm_device *d, uint64_t size, uint64_t csize, struct vmm_range **out)
{
	uint64_t last = size - (round_up(size, csize) - csize);
	struct vmm_range *donor, *r;
	uint32_t own;
	int ret;

	if (!d->knob[VMM_KNOB_TAIL_SHARE] || !d->donors.root)
		return -ENOENT;
	donor = donor_find(d, last, csize);
	if (!donor)
		return -ENOENT;
	own = size > donor->room ? (uint32_t)((size - donor->room + csize - 1) / csize) : 0;
	ret = __range_build(d, csize, own + 1, donor->chunks[donor->nr_chunks - 1], &r);
	if (ret)
		return ret;
	r->head_off = csize - donor->room;
	r->flags = RANGE_F_HEAD_SHARED;
	r->head_peer = donor;
	__share_withdraw(d, donor);
	donor->flags |= RANGE_F_TAIL_SHARED;
	donor->tail_peer = r;
	*out = r;
	return 0;
}

/* Unmap @r's mapping of one chunk at @va; its VA goes back to the arena. */
static int unmap_shared(struct vmm_device *d, struct vmm_range *r, uint64_t va)
{
	int ret = drv_mem_unmap(d->ordinal, va, r->chunk_size);

	if (ret) {
		vmm_warn("device %d: cuMemUnmap of a shared chunk failed: %s; kept",
			 d->ordinal, drv_strerror(ret));
		return ret;
	}
	vmm_trace(GPUVM_EV_UNMAP, d->ordinal, 0, va, 0, r->chunk_size);
	__pt_clear_chunks(d, va, r->chunk_size);
	__pt_set(d, va, r->chunk_size, GPUVM_PTE_FREE, 0, NULL, VMM_GK_NONE);
	arena_free(&d->arena, va, r->chunk_size);
	return 0;
}

/**
 * __share_detach - a cached range gives up its mappings of shared chunks
 * @d: the device (locked)
 * @r: a cached range, out of the cache tree (its size and start change)
 *
 * The other range of each pair keeps the chunk (no statistic moves: the
 * chunk stays held once); a live donor lends its room again.  @r may end
 * up with no chunks.  Return: 0, or the driver's error (that end stays).
 */
int __share_detach(struct vmm_device *d, struct vmm_range *r)
{
	struct vmm_range *peer;
	int ret;

	if (r->flags & RANGE_F_TAIL_SHARED) {
		ret = unmap_shared(d, r, r->va + r->size - r->chunk_size);
		if (ret)
			return ret;
		peer = r->tail_peer;
		r->chunks[--r->nr_chunks] = NULL;
		r->size -= r->chunk_size;
		r->va_size -= r->chunk_size;
		r->flags &= ~RANGE_F_TAIL_SHARED;
		r->tail_peer = NULL;
		peer->flags &= ~RANGE_F_HEAD_SHARED;
		peer->head_peer = NULL;
		if (peer->state == RANGE_CACHED)
			d->cached_range_bytes += r->chunk_size;	/* the peer's alone now */
	}
	if (r->flags & RANGE_F_HEAD_SHARED) {
		ret = unmap_shared(d, r, r->va);
		if (ret)
			return ret;
		peer = r->head_peer;
		memmove(r->chunks, r->chunks + 1, sizeof(*r->chunks) * (r->nr_chunks - 1));
		r->chunks[--r->nr_chunks] = NULL;
		r->va += r->chunk_size;
		r->size -= r->chunk_size;
		r->va_size -= r->chunk_size;
		r->head_off = 0;
		r->flags &= ~RANGE_F_HEAD_SHARED;
		r->head_peer = NULL;
		/* the donor's usable part (a cached one's key) grows by its room */
		if (peer->state == RANGE_CACHED)
			vtree_erase(&d->cached, &peer->by_size);
		peer->flags &= ~RANGE_F_TAIL_SHARED;
		peer->tail_peer = NULL;
		if (peer->state == RANGE_CACHED) {
			vtree_insert(&d->cached, &peer->by_size);
			d->cached_range_bytes += r->chunk_size;
		}
		__share_offer(d, peer);
	}
	return 0;
}
