/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the manager's private structures (see Documentation/vmm.rst).
 *
 * Per device:
 *
 *   arena      one cuMemAddressReserve; free VA ranges in two trees (by
 *              address with the largest gap per subtree, and by size)
 *   chunks     cuMemCreate handles of chunk_size bytes; unmapped ones wait in
 *              the pool, each mapped one is its own cuMemMap mapping
 *   ranges     a VA range plus the chunks mapped into it, in order: a live
 *              large allocation, a slab, or a freed range kept mapped
 *              (deferred until a synchronization covers it, then cached)
 *   slabs      small objects of one size class carved from a range
 *   tables     page table (one entry per granule), allocation table and
 *              counters: in the state segment when publishing, else heap
 *
 * Locking: everything of a device is under its lock (dev->lock) unless a
 * field says otherwise; functions named __x() expect it held.  Updates of
 * the published tables are bracketed by the device seqcount (blk->seq).
 */
#ifndef GPUVM_VMM_INTERNAL_H
#define GPUVM_VMM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <gpuvm/gpuvm.h>
#include <gpuvm/segment.h>

#include "clock.h"
#include "driver.h"
#include "list.h"
#include "log.h"
#include "tree.h"

#define VMM_HIDDEN __attribute__((visibility("hidden")))

#ifdef CONFIG_GPUVM_DEBUG
#define VMM_DEBUG_CHECKS 1
#else
#define VMM_DEBUG_CHECKS 0
#endif

static inline uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* ---- policy (policy.c) ---- */

enum vmm_knob_id {
	VMM_KNOB_CHUNK_SIZE,
	VMM_KNOB_LIMIT,
	VMM_KNOB_POOL_RESERVE,
	VMM_KNOB_HIGH_WATERMARK,
	VMM_KNOB_LOW_WATERMARK,
	VMM_KNOB_SMALL_MAX,
	VMM_KNOB_PLACEMENT,
	VMM_KNOB_STITCH,
	VMM_KNOB_TRACE,
	VMM_KNOB_VA_FACTOR,
	VMM_KNOB_FREE_BATCH,
	VMM_KNOB_TAIL_SHARE,
	VMM_KNOB_NR
};

enum vmm_placement {
	VMM_PLACE_BEST_FIT,
	VMM_PLACE_FIRST_FIT,
};

struct vmm_device;

/*
 * A knob, whole: what the daemon and CLI see of it (the schema, with its
 * stateless @check), what it needs of a live device (@fits) and what
 * changing it does (@apply, @applied).  policy.c owns the table; nobody
 * else tests a knob's identity to decide how it behaves.
 */
struct vmm_knob {
	struct gpuvm_knob schema;
	/* rules beyond the range that need no state (NULL: none) */
	int (*check)(uint64_t val);
	/* can the set-up device @d take @val?  Device lock (NULL: yes) */
	int (*fits)(const struct vmm_device *d, uint64_t val);
	/* d->knob[] holds the new value: act on it.  Device lock (NULL: nothing) */
	void (*apply)(struct vmm_device *d);
	/* once per change, after every device took it; no lock held */
	void (*applied)(uint64_t val);
};

extern const struct vmm_knob vmm_knobs[VMM_KNOB_NR];

/* defaults from GPUVM_<KNOB> variables into @vals (bad ones: one warning) */
void policy_load_env(uint64_t *vals);
int policy_knob_index(const struct gpuvm_knob *k);
/* a device's starting values: the defaults, but for what was set for it */
void policy_device_knobs(struct vmm_device *d);

/* ---- arena: the VA allocator (arena.c) ---- */

struct va_free {
	struct vtree_node by_addr;
	struct vtree_node by_size;
	uint64_t start;			/* device VA */
	uint64_t size;			/* bytes */
	uint64_t max_size;		/* bytes, largest size in by_addr subtree */
};

struct vmm_arena {
	uint64_t base;			/* device VA of the reservation */
	uint64_t size;			/* bytes reserved */
	uint64_t align;			/* bytes; every range is a multiple */
	struct vtree by_addr;		/* struct va_free, first fit by gap */
	struct vtree by_size;		/* struct va_free, best fit */
	uint64_t free_bytes;		/* bytes */
	uint64_t nr_free;		/* free ranges */
};

void arena_init(struct vmm_arena *a, uint64_t base, uint64_t size, uint64_t align);
int arena_alloc(struct vmm_arena *a, uint64_t size, int placement, uint64_t *va);
void arena_free(struct vmm_arena *a, uint64_t va, uint64_t size);
int arena_claim(struct vmm_arena *a, uint64_t va, uint64_t size);
void arena_destroy(struct vmm_arena *a);
uint64_t arena_largest_free(const struct vmm_arena *a);
bool arena_check(const struct vmm_arena *a);

/* ---- chunks and ranges ---- */

/*
 * 32 bytes: with its slot in a range (8), one page-table entry with its
 * owner (24) and its share of its allocation's header, a 2 MiB chunk costs
 * about 65 bytes of metadata.
 */
struct vmm_chunk {
	struct vmm_phys *phys;		/* the allocation it is cut from */
	struct list_head link;		/* dev->pool, or a deferred batch */
	uint32_t id;			/* unique per device, in the page table */
	uint16_t granules;		/* size in granules (chunk_size <= 1 GiB) */
	uint16_t slice;			/* its place in phys: offset slice * size */
};

/*
 * One cuMemCreate, cut into ->nr chunks of one size, each mapped on its
 * own at its offset, so any of them can go anywhere: one create serves a
 * request's new chunks (the driver costs the same per call whatever the
 * size).  It goes back to the driver once all its chunks are in the pool.
 */
struct vmm_phys {
	drv_handle_t handle;		/* cuMemCreate handle */
	uint16_t nr;			/* chunks cut from it */
	uint16_t pooled;		/* of them in dev->pool */
	uint16_t retired;		/* of them given up for good (exported
					 * memory another process may hold; their
					 * id is GPUVM_NO_CHUNK) */
	struct vmm_chunk chunk[];	/* by offset */
};

/* Whether nothing of @p is in use: it can go back to the driver. */
static inline bool phys_unused(const struct vmm_phys *p)
{
	return p->pooled + p->retired == p->nr;
}

/* Most bytes one cuMemCreate gets for chunks (at least one chunk). */
#define VMM_PHYS_MAX_BYTES	(32ull << 20)

enum vmm_slicing {
	VMM_SLICING_UNKNOWN,		/* not asked yet */
	VMM_SLICING_OK,			/* the driver maps at an offset */
	VMM_SLICING_REFUSED,		/* it does not: one create per chunk */
};

/* Chunks a shrink unmapped: reusable after a sync covers @tag. */
struct vmm_chunk_batch {
	struct list_head link;		/* dev->deferred_chunks, by tag */
	struct list_head chunks;	/* struct vmm_chunk */
	uint64_t tag;			/* sync number at the shrink */
	uint64_t nr;			/* chunks */
	uint64_t bytes;
};

enum vmm_range_state {
	RANGE_LIVE,			/* a live large allocation or a slab */
	RANGE_DEFERRED,			/* freed, GPU work may still touch it */
	RANGE_CACHED,			/* freed and synchronized: reusable */
};

#define RANGE_F_GROWABLE	(1u << 0)
#define RANGE_F_SLAB		(1u << 1)
#define RANGE_F_ASYNC		(1u << 2)	/* freed with gpuvm_free_async */
#define RANGE_F_PAGES		(1u << 3)	/* with SLAB: a box of page slabs */
#define RANGE_F_DONOR		(1u << 4)	/* in dev->donors: lends its tail */
#define RANGE_F_TAIL_SHARED	(1u << 5)	/* last chunk also mapped by ->tail_peer */
#define RANGE_F_HEAD_SHARED	(1u << 6)	/* first chunk is ->head_peer's last */
#define RANGE_F_SHARED		(RANGE_F_TAIL_SHARED | RANGE_F_HEAD_SHARED)
#define RANGE_F_EXPORTED	(1u << 7)	/* shared with another process (ipc.c):
						 * its chunks are retired, never
						 * reused, once it is free */

struct vmm_slab;
struct vmm_pagebox;

struct vmm_range {
	uint64_t va;			/* device VA of the start */
	uint64_t va_size;		/* bytes of VA owned (max size if growable) */
	uint64_t size;			/* bytes mapped from va */
	uint64_t chunk_size;		/* bytes per chunk behind it */
	uint64_t requested;		/* bytes asked for (live) */
	uint64_t id;			/* allocation id (live), else 0 */
	uint64_t tag;			/* deferred: sync number at the free */
	uint64_t time_ns;		/* CLOCK_MONOTONIC at allocation */
	void *stream;			/* async free: its CUstream */
	drv_event_t event;		/* async free: recorded on stream after
					 * it, covering it and the frees on that
					 * stream before it; or none (see
					 * "Frees" in vmm.rst) */
	struct vmm_chunk **chunks;	/* size / chunk_size of them, in VA order */
	uint32_t nr_chunks;
	uint32_t cap_chunks;		/* entries allocated in chunks[] */
	uint32_t slot;			/* allocation-table slot, or VMM_NO_SLOT */
	uint8_t state;			/* enum vmm_range_state */
	uint8_t flags;			/* RANGE_F_* */
	struct list_head link;		/* deferred, async or cached LRU list */
	struct vtree_node by_size;	/* dev->cached (cached only) */
	struct vmm_slab *slab;		/* RANGE_F_SLAB: the slab it backs */
	struct vmm_pagebox *box;	/* RANGE_F_PAGES: its page slabs */

	/* tail sharing (share.c); kept while deferred and cached */
	uint64_t head_off;		/* bytes of the first chunk before the
					 * allocation (a recipient's start) */
	uint64_t room;			/* donor: bytes ending its last chunk that
					 * it lends (TAIL_SHARED: lent) */
	struct vmm_range *head_peer;	/* HEAD_SHARED: the donor */
	struct vmm_range *tail_peer;	/* TAIL_SHARED: the recipient */
	struct vtree_node by_room;	/* dev->donors (RANGE_F_DONOR) */
};

#define VMM_NO_SLOT	0xffffffffu

/*
 * Stream-ordered frees: one cuEventRecord per this many frees on a stream
 * covers them all (a later event covers every earlier free on its
 * stream); the streams tracked at once, more are marked at every free.
 */
#define VMM_ASYNC_MARK_EVERY	16
#define VMM_ASYNC_STREAMS	8

/* How long gpuvm_shutdown() waits for threads inside gpuvm to leave. */
#define VMM_QUIESCE_MS	2000

/* ---- small objects (small.c) ---- */

#define VMM_SMALL_MIN		256u		/* bytes, and alignment */
#define VMM_NR_CLASSES		128
#define VMM_PAGE_SIZE		(64u << 10)	/* bytes of a page slab */

struct vmm_obj {
	uint64_t id;			/* allocation id */
	uint32_t requested;		/* bytes */
	uint32_t slot;			/* allocation-table slot */
};

struct vmm_slab {
	struct vmm_range *range;	/* the memory it carves (or its box's) */
	struct vmm_pagebox *box;	/* a page slab: its box, else NULL */
	uint32_t page;			/* a page slab: its first page in the box */
	uint32_t nr_pages;		/* a page slab: its pages (a power of two) */
	uint64_t base;			/* device VA of object 0 */
	uint32_t obj_size;		/* bytes */
	uint32_t nr_objs;
	uint32_t nr_free;		/* reusable now */
	uint32_t nr_pending;		/* freed, waiting for a sync */
	uint32_t cls;			/* size class index */
	uint32_t hint;			/* first free_map word that may be non-zero */
	uint64_t pending_tag;		/* newest sync number of a pending free */
	bool sealed;			/* an object was shared with another
					 * process (ipc.c): nothing of it is
					 * handed out again */
	struct list_head link;		/* class partial list, when nr_free > 0 */
	struct list_head pending_link;	/* dev->pending_slabs, when nr_pending */
	uint64_t *free_map;		/* 1: free and reusable */
	uint64_t *pending_map;		/* 1: freed, waiting for a sync */
	uint64_t *live_map;		/* 1: allocated */
	struct vmm_obj *objs;
};

/*
 * Small classes share chunks: a box is a range of one chunk cut into pages;
 * a slab takes an aligned run of a power of two pages (see class_pages()).
 */
struct vmm_pagebox {
	struct vmm_range *range;
	struct list_head link;		/* dev->boxes, while a page is free */
	uint32_t nr_pages;
	uint32_t nr_used;
	uint32_t nr_sealed;		/* of nr_used, pages of sealed slabs with
					 * nothing live: they go with the box */
	struct vmm_slab *page[];	/* NULL: free page */
};

struct vmm_class {
	uint32_t size;			/* bytes per object */
	struct list_head partial;	/* slabs with nr_free > 0 */
};

/* ---- the device ---- */

struct vmm_device {
	pthread_mutex_t lock;
	int ordinal;
	bool ready;			/* set up; atomic (acquire) */
	int setup_err;			/* under vmm.setup_lock */

	uint64_t gran;			/* bytes per granule (driver granularity) */
	uint64_t total;			/* bytes of device memory */
	uint64_t chunk_size;		/* bytes, current; relaxed reads */
	uint8_t slicing;		/* enum vmm_slicing */
	uint64_t trim_stuck;		/* cached bytes the last trim could not
					 * take below low_watermark (0: none) */
	bool unmap_single;		/* the driver refused a cuMemUnmap over
					 * several mappings: one call each */
	uint64_t knob[VMM_KNOB_NR];	/* live values; lock for writes */
	uint32_t knob_preset;		/* before set-up: knob[i] set for it; setup_lock */
	char name[64];

	struct vmm_arena arena;

	/* published tables (segment, or heap without CONFIG_GPUVM_PUBLISH) */
	struct gpuvm_seg_device *blk;
	struct gpuvm_seg_stats *st;
	struct gpuvm_seg_pte *pt;	/* arena.size / gran entries */
	uint32_t nr_pt;
	struct gpuvm_seg_alloc *atab;
	uint32_t atab_cap;		/* slots */
	uint32_t *free_slots;		/* stack of free slot indices */
	uint32_t nr_free_slots;

	/*
	 * Private, per granule: the range there, its kind (VMM_GK_*) in the
	 * two low bits; written under the lock, read lock-free (relaxed).
	 */
	uintptr_t *owner;

	/* chunks */
	struct list_head pool;		/* unmapped, reusable now */
	uint64_t nr_pool;
	struct list_head deferred_chunks; /* vmm_chunk_batch: not synced yet */
	uint32_t next_chunk_id;

	/* freed ranges */
	struct vtree cached;		/* by (size, va), best fit */
	struct list_head cached_lru;	/* oldest first: stolen first */
	uint64_t cached_range_bytes;	/* bytes of chunks cached ranges hold
					 * alone (range_cached_bytes()) */
	struct list_head deferred;	/* by tag, oldest first */
	struct list_head async;		/* freed in stream order, oldest first */
	struct list_head retiring;	/* exported ranges a driver call failed
					 * to retire: tried again at collection */
	struct list_head imports;	/* struct vmm_import: other processes'
					 * memory mapped here (ipc.c) */
	uint64_t nr_deferred;		/* ranges + objects + chunks waiting */
	uint64_t deferred_bytes;	/* bytes of those */
	uint64_t sync_started;		/* syncs begun */
	uint64_t sync_done;		/* frees tagged below this are covered */
	bool syncing;			/* collecting after a sync: no nested sync */

	/* tail sharing */
	struct vtree donors;		/* live ranges by (room, va) */

	/* small objects */
	struct vmm_class cls[VMM_NR_CLASSES];
	struct list_head pending_slabs;
	struct list_head boxes;		/* vmm_pagebox with a free page */

	/* events for gpuvm_free_async, reused */
	drv_event_t events[32];
	uint32_t nr_events;
	/* streams recently freed on, and their frees since their last event */
	struct vmm_async_stream {
		void *stream;		/* NULL is the legacy stream */
		uint32_t since_mark;	/* frees since its last event */
		bool used;
	} async_streams[VMM_ASYNC_STREAMS];
	uint32_t async_stream_next;	/* the slot a new stream takes */

	uint64_t next_id;		/* allocation ids: (n << 4) | ordinal */
	uint32_t peers;			/* ordinals that may access our
					 * mappings (gpuvm_peer_access); lock */
	uint64_t inuse_bytes;		/* bytes mapped by live ranges and slabs */
	uint64_t free_run_bytes;	/* free chunks of chunk_size, in bytes:
					 * what one stitched range could get */
	uint64_t pool_run_bytes;	/* of those, the pool's */
};

#define VMM_GK_NONE	0
#define VMM_GK_LARGE	1
#define VMM_GK_SLAB	2
#define VMM_GK_MASK	3ul

static inline struct vmm_range *pt_owner(const struct vmm_device *d, uint64_t g)
{
	return (struct vmm_range *)(d->owner[g] & ~VMM_GK_MASK);
}

static inline struct vmm_range *pt_owner_of(const struct vmm_device *d, uint64_t va)
{
	return pt_owner(d, (va - d->arena.base) / d->gran);
}

/* The live range (large or slab) mapping @va, or NULL. */
static inline struct vmm_range *__live_owner_of(const struct vmm_device *d, uint64_t va)
{
	struct vmm_range *r = pt_owner_of(d, va);

	return r && r->state == RANGE_LIVE && va < r->va + r->size ? r : NULL;
}

struct vmm_state {
	pthread_mutex_t setup_lock;	/* init, device set-up, shutdown */
	int initialized;		/* 0 no, 1 yes, <0 -errno; atomic */
	bool closing;			/* shutting down: new callers turned away (gate.c) */
	bool exiting;			/* at exit: closed for good */
	int nr_devices;
	uint64_t defaults[VMM_KNOB_NR];	/* process defaults; setup_lock */
	struct vmm_device dev[GPUVM_MAX_DEVICES];
	bool simulated;			/* the driver is cudasim */
};

extern struct vmm_state vmm;

/* gate.c: who is inside gpuvm, one slot per thread */
struct vmm_gate_slot {
	unsigned long inside;		/* depth; written by its thread (or atomically) */
	struct vmm_gate_slot *next;	/* every slot made; never freed */
	bool used;			/* a live thread has it */
} __attribute__((aligned(64)));

extern __thread struct vmm_gate_slot *vmm_gate_self __attribute__((tls_model("initial-exec")));
extern struct vmm_gate_slot vmm_gate_shared;
struct vmm_gate_slot *__vmm_gate_slot(void);
unsigned long vmm_gate_inside(void);
void vmm_gate_atfork_child(void);

/*
 * Enter gpuvm through the gate: false (turn back, -ESHUTDOWN) while
 * gpuvm_shutdown() runs or after exit.  The add is a full barrier before
 * closing is read; shutdown stores closing before it reads the slots (both
 * sequentially consistent): either the caller sees closing, or shutdown
 * sees the caller and waits.  No system call, no line shared with other
 * threads.
 */
static inline bool vmm_enter(void)
{
	struct vmm_gate_slot *s = vmm_gate_self;

	if (__builtin_expect(!s, 0))
		s = __vmm_gate_slot();
	__atomic_add_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
	if (__builtin_expect(!__atomic_load_n(&vmm.closing, __ATOMIC_SEQ_CST), 1))
		return true;
	__atomic_sub_fetch(&s->inside, 1, __ATOMIC_RELEASE);
	return false;
}

static inline void vmm_leave(void)
{
	struct vmm_gate_slot *s = vmm_gate_self;

	if (__builtin_expect(s != &vmm_gate_shared, 1))
		/* only this thread writes its slot: a plain store will do */
		__atomic_store_n(&s->inside, s->inside - 1, __ATOMIC_RELEASE);
	else
		__atomic_sub_fetch(&s->inside, 1, __ATOMIC_RELEASE);
}

/* The value of @call made inside the gate, or @closed when it is shut. */
#define vmm_gated(closed, call)	({					\
	__typeof__(call) gated_ret_;					\
									\
	if (vmm_enter()) {						\
		gated_ret_ = (call);					\
		vmm_leave();						\
	} else {							\
		gated_ret_ = (closed);					\
	}								\
	gated_ret_;							\
})

/* core.c */
struct vmm_device *vmm_device_get(int dev, int *err);

/* deferred.c: freed memory made reusable (sync, collect), given back */
int __dev_sync(struct vmm_device *d);
void __dev_collect(struct vmm_device *d, bool query_events);
int64_t __dev_reclaim(struct vmm_device *d, uint64_t target);
void __dev_trim(struct vmm_device *d);

/* pagetable.c: published tables, under the device lock */
static inline void __pt_begin(struct vmm_device *d)
{
	gpuvm_seq_write_begin(&d->blk->seq);
}

static inline void __pt_end(struct vmm_device *d)
{
	gpuvm_seq_write_end(&d->blk->seq);
}

/*
 * The device lock (core.c sets it up adaptive); the published tables are
 * "being written" while it is held.  Inline: every layer takes it, and a
 * cached alloc or free takes it once.
 */
static inline void vmm_lock(struct vmm_device *d)
{
	pthread_mutex_lock(&d->lock);
	__pt_begin(d);
}

static inline void vmm_unlock(struct vmm_device *d)
{
	__pt_end(d);
	pthread_mutex_unlock(&d->lock);
}

/*
 * @nr chunks of @csize bytes become free (pool, cached or deferred): the
 * chunks_free count, and the bytes one allocation could be stitched from
 * when they have the current chunk size.  __free_chunks_take undoes it.
 */
static inline void __free_chunks_put(struct vmm_device *d, uint64_t nr, uint64_t csize)
{
	d->st->chunks_free += nr;
	if (csize == d->chunk_size)
		d->free_run_bytes += nr * csize;
}

static inline void __free_chunks_take(struct vmm_device *d, uint64_t nr, uint64_t csize)
{
	d->st->chunks_free -= nr;
	if (csize == d->chunk_size)
		d->free_run_bytes -= nr * csize;
}

/*
 * stats.c: the published counters (d->st) change here and nowhere else,
 * under the device lock; each helper is named for what happened.  The
 * inline ones are on the allocation path.
 */
void vmm_stats_alloc(struct vmm_device *d, uint64_t requested, uint64_t allocated);
void vmm_stats_free(struct vmm_device *d, uint64_t requested, uint64_t allocated);
void vmm_stats_oom(struct vmm_device *d, void *stream, uint64_t ptr, uint64_t size);

/* a live allocation asks for @delta more bytes (a resize) */
static inline void vmm_stats_requested(struct vmm_device *d, int64_t delta)
{
	d->st->requested += (uint64_t)delta;
	if (d->st->requested > d->st->peak_requested)
		d->st->peak_requested = d->st->requested;
}

/* a live allocation holds @delta more bytes (grown or shrunk in place) */
static inline void vmm_stats_allocated(struct vmm_device *d, int64_t delta)
{
	d->st->allocated += (uint64_t)delta;
	if (d->st->allocated > d->st->peak_allocated)
		d->st->peak_allocated = d->st->allocated;
}

/* @bytes more of the VA are backed by a mapping */
static inline void vmm_stats_mapped(struct vmm_device *d, uint64_t bytes)
{
	d->st->mapped += bytes;
	if (d->st->mapped > d->st->peak_mapped)
		d->st->peak_mapped = d->st->mapped;
}

static inline void vmm_stats_unmapped(struct vmm_device *d, uint64_t bytes)
{
	d->st->mapped -= bytes;
}

/* @nr chunks of @bytes in all were created, or released to the driver */
static inline void vmm_stats_chunks_created(struct vmm_device *d, uint64_t nr, uint64_t bytes)
{
	d->st->chunks += nr;
	d->st->physical += bytes;
}

static inline void vmm_stats_chunks_released(struct vmm_device *d, uint64_t nr,
					     uint64_t bytes)
{
	d->st->chunks -= nr;
	d->st->physical -= bytes;
	d->st->reclaimed += bytes;
}

/* a request was served from memory already mapped (a cached range, a slab) */
static inline void vmm_stats_cache_hit(struct vmm_device *d)
{
	d->st->cache_hits++;
}

/* a range was put together from chunks mapped for it */
static inline void vmm_stats_stitched(struct vmm_device *d)
{
	d->st->stitches++;
}

/* the published free-memory figures */
uint64_t __largest_free_run(struct vmm_device *d);
void __free_run_recount(struct vmm_device *d, uint64_t *chunks, uint64_t *run,
			uint64_t *pool);

/*
 * The published cached bytes (physical memory not in live use) and the
 * largest request they can serve, kept together so that frag_external is
 * always computed from two figures of the same moment.
 */
static inline void __stats_cached_update(struct vmm_device *d)
{
	d->st->cached = d->st->physical - d->inuse_bytes;
	d->st->largest_free_run = __largest_free_run(d);
	/* below the high mark again: the next trim starts afresh */
	if (d->trim_stuck && d->st->cached <= d->knob[VMM_KNOB_HIGH_WATERMARK])
		d->trim_stuck = 0;
}

int pt_setup(struct vmm_device *d);
void pt_teardown(struct vmm_device *d);
void __pt_set(struct vmm_device *d, uint64_t va, uint64_t size, uint8_t state,
	      uint64_t owner, struct vmm_range *r, uint8_t kind);
void __pt_map_chunk(struct vmm_device *d, uint64_t va, const struct vmm_chunk *c);
void __pt_clear_chunks(struct vmm_device *d, uint64_t va, uint64_t size);
uint32_t __atab_add(struct vmm_device *d, uint64_t id, uint32_t flags, uint64_t base,
		    uint64_t size, uint64_t requested, uint64_t max_size, uint32_t nr_chunks,
		    void *stream);
void __atab_update(struct vmm_device *d, uint32_t slot, uint64_t size, uint32_t nr_chunks);
void __atab_del(struct vmm_device *d, uint32_t slot);
void __stats_publish_knobs(struct vmm_device *d);
bool __pt_check(struct vmm_device *d);

/* chunk_pool.c: physical chunks, below the allocator and never calling it */
int __chunks_create(struct vmm_device *d, uint64_t csize, uint32_t k, struct vmm_chunk **out);
int64_t __chunk_release(struct vmm_device *d, struct vmm_chunk *c);
int64_t __chunk_retire(struct vmm_device *d, struct vmm_chunk *c);
uint32_t __chunks_take_pooled(struct vmm_device *d, uint64_t csize, uint32_t k,
			      struct vmm_chunk **out);
void __chunks_return(struct vmm_device *d, struct vmm_chunk **c, uint32_t k);
int __chunks_map(struct vmm_device *d, uint64_t va, struct vmm_chunk **c, uint32_t k,
		 uint32_t nr_counted);
int __chunks_unmap_tail(struct vmm_device *d, struct vmm_range *r, uint32_t k,
			struct vmm_chunk **out);
uint64_t __pool_release(struct vmm_device *d, uint64_t target, bool stale_only);
int __pool_reserve(struct vmm_device *d, uint64_t bytes);

/* alloc.c: large path */
#define VMM_SIZE_MAX		(1ull << 56)	/* bytes; beyond any arena */
#define GPUVM_ALLOC_FLAGS	(GPUVM_ALLOC_NOCACHE | GPUVM_ALLOC_LARGE)
#define VMM_ALLOC_ASYNC		(1u << 31)	/* internal: stream-ordered */
bool __sync_before_create(struct vmm_device *d, uint64_t size);
struct vmm_range *range_new(uint64_t csize, uint32_t cap);
int __chunks_gather(struct vmm_device *d, uint64_t csize, uint32_t k,
		    struct vmm_chunk **out, bool allow_steal);
int __range_build(struct vmm_device *d, uint64_t csize, uint32_t k, struct vmm_chunk *head,
		  struct vmm_range **out);
void range_go_live(struct vmm_device *d, struct vmm_range *r, uint64_t requested,
		   uint32_t seg_flags, void *stream);
struct vmm_device *device_of(gpuvm_ptr_t ptr);
int range_cmp_size(const struct vtree_node *a, const struct vtree_node *b);
int __range_get(struct vmm_device *d, uint64_t size, uint64_t csize, unsigned int flags,
		void *stream, struct vmm_range **out);
uint64_t __new_id(struct vmm_device *d);
void __range_free(struct vmm_device *d, struct vmm_range *r, bool async, void *stream);
void __range_cache(struct vmm_device *d, struct vmm_range *r);
void __range_retire(struct vmm_device *d, struct vmm_range *r);
void __range_destroy(struct vmm_device *d, struct vmm_range *r);
uint64_t __cached_release(struct vmm_device *d, uint64_t target, bool stale_only);

/* share.c: tail sharing */
#define VMM_ALLOC_SHARE		(1u << 30)	/* internal: may use a donor's tail */
void share_init(struct vmm_device *d);
void __share_offer(struct vmm_device *d, struct vmm_range *r);
void __share_withdraw(struct vmm_device *d, struct vmm_range *r);
int __share_get(struct vmm_device *d, uint64_t size, uint64_t csize, struct vmm_range **out);
int __share_detach(struct vmm_device *d, struct vmm_range *r);

/*
 * Shared chunks of @r that its peer uses live.  A shared chunk counts as in
 * use while either range is live, and as free once neither is: a range
 * going live or freed moves all its chunks but these (range_charge(),
 * range_free_chunks()).
 */
static inline uint32_t range_live_peers(const struct vmm_range *r)
{
	return ((r->flags & RANGE_F_HEAD_SHARED) && r->head_peer->state == RANGE_LIVE) +
	       ((r->flags & RANGE_F_TAIL_SHARED) && r->tail_peer->state == RANGE_LIVE);
}

static inline uint64_t range_charge(const struct vmm_range *r)
{
	return r->size - range_live_peers(r) * r->chunk_size;
}

static inline uint32_t range_free_chunks(const struct vmm_range *r)
{
	return r->nr_chunks - range_live_peers(r);
}

/*
 * Bytes of chunks a cached range holds alone: what stealing from it yields.
 * A shared chunk is counted by neither range; once one gives it up, the
 * other counts it.
 */
static inline uint64_t range_cached_bytes(const struct vmm_range *r)
{
	return r->size - (uint64_t)__builtin_popcount(r->flags & RANGE_F_SHARED) * r->chunk_size;
}

/* Bytes an allocation may use in @r: after its start, before a lent room. */
static inline uint64_t range_usable(const struct vmm_range *r)
{
	return r->size - r->head_off - ((r->flags & RANGE_F_TAIL_SHARED) ? r->room : 0);
}

/* small.c */
int __small_alloc(struct vmm_device *d, uint64_t size, uint64_t *ptr);
int __small_free(struct vmm_device *d, struct vmm_range *r, uint64_t ptr);
int __small_query(struct vmm_device *d, struct vmm_range *r, uint64_t ptr,
		  struct gpuvm_alloc_info *info);
bool __small_owns(struct vmm_device *d, struct vmm_range *r, uint64_t ptr);
int __small_seal(struct vmm_device *d, struct vmm_range *r, uint64_t ptr, uint64_t *base,
		 uint64_t *id, uint64_t *size);
bool __small_sealed_live(struct vmm_device *d, struct vmm_range *r, uint64_t base,
			 uint64_t id, uint64_t *size);
void __small_collect(struct vmm_device *d);
uint32_t small_class_of(uint64_t size);
void small_classes_init(struct vmm_device *d);
void __small_teardown(struct vmm_device *d);
uint64_t __small_release_empty(struct vmm_device *d);
bool small_fits(struct vmm_device *d, uint64_t size);

/* publish.c */
int publish_init(void);
void publish_exit(bool remove_files);
void publish_unlink(void);
int publish_device(int dev, uint32_t nr_pt, uint32_t atab_cap, struct gpuvm_seg_device **blk,
		   struct gpuvm_seg_pte **pt, struct gpuvm_seg_alloc **atab);
void publish_device_free(int dev, struct gpuvm_seg_device *blk, struct gpuvm_seg_pte *pt,
			 struct gpuvm_seg_alloc *atab, uint32_t nr_pt, uint32_t atab_cap);
void publish_ctl_result(uint64_t generation, int err);
struct gpuvm_ctl_header *publish_ctl(void);
const char *publish_rundir(void);
int publish_rundir_check(void);
/* field 22 of /proc/<pid>/stat, 0 when unknown */
void publish_set_driver(const char *name, bool simulated);

/* ipc.c */
void __ipc_teardown(struct vmm_device *d);

/* control.c */
int control_start(void);
void control_stop(void);
void control_forget(void);

#endif /* GPUVM_VMM_INTERNAL_H */
