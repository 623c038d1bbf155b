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
 * Each shared chunk has exactly two mappings, a donor's tail and a
 * recipient's head, linked by ->tail_peer and ->head_peer.  Whichever of the two is freed first
 * hands its mapping of the chunk to an alias: a one-chunk range on
 * dev->aliases that keeps the mapping until a synchronization covers the
 * free (work queued before it may still use that VA), and is then unmapped.
 * The other allocation keeps the chunk; when it is the donor, its room is
 * lent again once the alias is gone.  A recipient carries the alias's
 * descriptor from its birth (->spare), so no free ever allocates.
 *
 * Not shared: growable ranges, slabs, GPUVM_ALLOC_LARGE requests and ranges
 * of a stale chunk size.  A shared range never goes on the async list: its
 * free waits for a context synchronization.  Cost: one more cuMemMap per
 * recipient, and one cuMemUnmap when its alias goes; no cuMemCreate.
 *
 * Callers hold the device lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trace.h"

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
	INIT_LIST_HEAD(&d->aliases);
}

/*
 * Free bytes at the end of @r's last chunk, after its data (aligned); 0
 * when the data ends before that chunk (a range reused in stream order may
 * be larger than its request).
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
			 RANGE_F_SLAB | RANGE_F_ALIAS)) ||
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
	struct vmm_range *donor, *r, *spare;
	uint32_t own;
	int ret;

	if (!d->knob[VMM_KNOB_TAIL_SHARE] || !d->donors.root)
		return -ENOENT;
	donor = donor_find(d, last, csize);
	if (!donor)
		return -ENOENT;
	own = size > donor->room ? (uint32_t)((size - donor->room + csize - 1) / csize) : 0;
	spare = range_new(csize, 1);
	if (!spare)
		return -ENOMEM;
	ret = __range_build(d, csize, own + 1, donor->chunks[donor->nr_chunks - 1], &r);
	if (ret) {
		__range_destroy(d, spare);
		return ret;
	}
	r->head_off = csize - donor->room;
	r->flags = RANGE_F_HEAD_SHARED;
	r->head_peer = donor;
	r->spare = spare;
	__share_withdraw(d, donor);
	donor->flags |= RANGE_F_TAIL_SHARED;
	donor->tail_peer = r;
	*out = r;
	return 0;
}

/* @a keeps the mapping of @c at @va until a sync covers the free now. */
static void alias_defer(struct vmm_device *d, struct vmm_range *a, uint64_t va,
			struct vmm_chunk *c, uint64_t csize, struct vmm_range *keeper)
{
	a->va = va;
	a->size = a->va_size = csize;
	a->chunk_size = csize;
	a->chunks[0] = c;
	a->nr_chunks = 1;
	a->flags = RANGE_F_ALIAS;
	a->head_off = 0;
	a->head_peer = keeper;
	a->state = RANGE_DEFERRED;
	a->tag = d->sync_started;
	__pt_set(d, va, csize, GPUVM_PTE_CACHED, 0, a, VMM_GK_NONE);
	list_add_tail(&a->link, &d->aliases);
	d->nr_deferred++;
}

/*
 * The donor @r is freed while its recipient lives: the recipient keeps the
 * chunk, the donor's mapping of it becomes an alias.
 */
static void unlink_tail(struct vmm_device *d, struct vmm_range *r)
{
	struct vmm_range *b = r->tail_peer, *a = b->spare;
	uint64_t csize = r->chunk_size;

	b->spare = NULL;
	alias_defer(d, a, r->va + r->size - csize, r->chunks[r->nr_chunks - 1], csize, NULL);
	r->chunks[--r->nr_chunks] = NULL;
	r->size -= csize;
	r->va_size -= csize;
	r->flags &= ~RANGE_F_TAIL_SHARED;
	r->tail_peer = NULL;
	/* the recipient now accounts for the whole chunk */
	b->flags &= ~RANGE_F_HEAD_SHARED;
	b->head_peer = NULL;
	d->inuse_bytes += csize;
	d->st->allocated += csize;
}

/*
 * The recipient @r is freed while its donor lives: the donor keeps the
 * chunk and lends its room again once the alias is gone.
 */
static void unlink_head(struct vmm_device *d, struct vmm_range *r)
{
	struct vmm_range *donor = r->head_peer, *a = r->spare;
	uint64_t csize = r->chunk_size;

	r->spare = NULL;
	alias_defer(d, a, r->va, r->chunks[0], csize, donor);
	donor->tail_peer = a;
	memmove(r->chunks, r->chunks + 1, sizeof(*r->chunks) * (r->nr_chunks - 1));
	r->chunks[--r->nr_chunks] = NULL;
	r->va += csize;
	r->size -= csize;
	r->va_size -= csize;
	r->head_off = 0;
	r->flags &= ~RANGE_F_HEAD_SHARED;
	r->head_peer = NULL;
}

/**
 * __share_unlink - a live range being freed gives up its shared chunks
 * @d: the device (locked)
 * @r: the range, its statistics already taken off
 *
 * A chunk @r shares with a live range leaves @r for an alias (deferred like
 * a free); one whose other mapping is an alias already stays.  @r may end
 * up with no chunks.  Return: true when @r shares or shared a chunk, so
 * that its free must wait for a context synchronization, not its stream's
 * event.
 */
bool __share_unlink(struct vmm_device *d, struct vmm_range *r)
{
	/*
	 * A recipient whose donor went first owns the chunk now, but the
	 * donor's work may still write the chunk's start (through the alias):
	 * its free too waits for a context synchronization.
	 */
	bool shared = (r->flags & (RANGE_F_TAIL_SHARED | RANGE_F_HEAD_SHARED)) || r->head_off;

	__share_withdraw(d, r);
	if (r->flags & RANGE_F_TAIL_SHARED) {
		if (r->tail_peer->flags & RANGE_F_ALIAS) {
			/* the recipient went first: its alias tells no one */
			r->tail_peer->head_peer = NULL;
			r->tail_peer = NULL;
			r->flags &= ~RANGE_F_TAIL_SHARED;
		} else {
			unlink_tail(d, r);
		}
	}
	if (r->flags & RANGE_F_HEAD_SHARED)
		unlink_head(d, r);
	if (r->spare) {
		__range_destroy(d, r->spare);
		r->spare = NULL;
	}
	r->head_off = 0;
	return shared;
}

/**
 * __share_collect - unmap the aliases a completed synchronization covers
 * @d: the device (locked)
 *
 * A donor whose recipient went lends its room again.  An alias whose unmap
 * fails stays for the next collection.
 */
void __share_collect(struct vmm_device *d)
{
	struct vmm_range *a, *tmp;
	int ret;

	list_for_each_entry_safe(a, tmp, &d->aliases, struct vmm_range, link) {
		if (a->tag >= d->sync_done)
			break;		/* tags only grow along the list */
		ret = drv_mem_unmap(d->ordinal, a->va, a->size);
		if (ret) {
			vmm_warn("device %d: cuMemUnmap of a shared chunk's alias failed (%d)",
				 d->ordinal, ret);
			break;
		}
		vmm_trace(GPUVM_EV_UNMAP, d->ordinal, 0, a->va, 0, a->size);
		__pt_clear_chunks(d, a->va, a->size);
		__pt_set(d, a->va, a->size, GPUVM_PTE_FREE, 0, NULL, VMM_GK_NONE);
		arena_free(&d->arena, a->va, a->size);
		list_del_init(&a->link);
		d->nr_deferred--;
		if (a->head_peer) {
			a->head_peer->flags &= ~RANGE_F_TAIL_SHARED;
			a->head_peer->tail_peer = NULL;
			__share_offer(d, a->head_peer);
		}
		__range_destroy(d, a);
	}
}
