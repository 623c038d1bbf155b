/* SPDX-License-Identifier: MIT */
/*
 * cudasim.h - cudasim's private declarations.
 *
 * Locking: one process-wide mutex, cs.lock, protects everything in struct
 * cs_state and the objects it points to, except the call counters (their own
 * lock, see fault.c) and the per-thread context stack (thread local).
 * Functions named __cs_*() expect cs.lock held.  Nothing calls out of
 * cudasim (kernels) with the lock held.
 */
#ifndef CUDASIM_PRIVATE_H
#define CUDASIM_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cuda.h>
#include <cudasim/cudasim_ext.h>

#define CS_API __attribute__((visibility("default")))

#define CS_MAX_DEVICES		16
#define CS_GRANULARITY		(2UL << 20)	/* VMM granularity, bytes */
#define CS_ALLOC_ALIGN		512UL		/* cuMemAlloc alignment, bytes */
#define CS_PAGE_SIZE		(2UL << 20)	/* paged cuMemAlloc page, bytes */
#define CS_SUB_GRANULES		(CS_PAGE_SIZE / CS_ALLOC_ALIGN)	/* per shared page */
#define CS_DEFAULT_MEM		(1UL << 30)	/* CUDASIM_MEM default, bytes */
#define CS_DRIVER_VERSION	13000	/* CUDASIM_DRIVER_VERSION default */
#define CS_LEAK_EXIT_CODE	66

#define CS_CTX_MAGIC		0x63747873u	/* "ctxs" */
#define CS_STREAM_MAGIC		0x7374726du
#define CS_EVENT_MAGIC		0x6576656eu
#define CS_MODULE_MAGIC		0x6d6f6475u
#define CS_FUNC_MAGIC		0x66756e63u
#define CS_POOL_MAGIC		0x706f6f6cu

#define CS_ALIGN_UP(x, a)	(((x) + (a) - 1) / (a) * (a))
#define CS_IS_ALIGNED(x, a)	((x) % (a) == 0)
#define CS_MIN(a, b)		((a) < (b) ? (a) : (b))

/* How cuMemAlloc takes physical memory (CUDASIM_ALLOC). */
enum cs_alloc_mode {
	CS_ALLOC_PAGED,			/* 2 MiB pages anywhere, see paged.c */
	CS_ALLOC_CONTIGUOUS,		/* one first-fit hole, see memory.c */
};

/* A used range of a device's physical memory (the memfd), kept sorted. */
struct cs_extent {
	size_t off;			/* bytes into the memfd */
	size_t size;			/* bytes */
	struct cs_extent *next;
	bool held;			/* released here, still imported by another
					 * process (its lock on the range) */
};

/* A 2 MiB page shared by sub-page cuMemAlloc allocations (paged mode). */
struct cs_subpage {
	struct cs_extent *phys;		/* the page */
	void *va;			/* its one host mapping, CS_PAGE_SIZE bytes */
	unsigned long used[CS_SUB_GRANULES / (8 * sizeof(unsigned long))];
	size_t nr_used;			/* CS_ALLOC_ALIGN granules in use */
	bool low32;			/* mapped below 4 GiB, for legacy calls */
	struct cs_subpage *next;	/* cs_device.subpages, oldest first */
};

struct cs_ctx {
	uint32_t magic;
	int dev;
	unsigned int flags;
	bool primary;
	bool alive;			/* primary: retained at least once */
	unsigned int peer_mask;		/* devices whose memory it may touch */
	size_t limit[10];		/* CUlimit values set, see ctxconfig.c */
	unsigned int limit_set;		/* bit per CUlimit set */
	int cache_config;		/* CUfunc_cache */
	int shmem_config;		/* CUsharedconfig */
	struct cs_ctx *next;		/* cs.contexts (created ones only) */
};

struct cs_pool {
	uint32_t magic;
	int dev;
	cuuint64_t release_threshold;	/* bytes, kept for the attribute */
	bool reuse_off[3];		/* the CU_MEMPOOL_ATTR_REUSE_* policies */
	cuuint64_t used_high;		/* bytes, high watermark */
};

struct cs_device {
	int ordinal;
	int memfd;			/* the device's physical memory */
	dev_t memfd_dev;
	ino_t memfd_ino;
	size_t capacity;		/* bytes */
	size_t used;			/* bytes, allocations + handles */
	size_t alloc_bytes;		/* bytes, cuMemAlloc part of used */
	struct cs_extent *extents;	/* sorted by off */
	unsigned long nr_held;		/* extents held by importers elsewhere */
	struct cs_subpage *subpages;	/* paged mode: pages shared by small allocs */
	struct cs_ctx primary;
	unsigned int primary_refs;
	struct cs_pool pool;		/* default memory pool */
	unsigned long nr_allocs, nr_handles, nr_mappings;
	size_t mapped_bytes;
};

/* A physical allocation from cuMemCreate or an import. */
struct cs_handle {
	unsigned long long id;		/* the CUmemGenericAllocationHandle */
	int dev;
	size_t size;			/* bytes */
	int fd;				/* backing file: a device memfd or foreign */
	size_t fd_off;			/* bytes, where the allocation starts in fd */
	struct cs_extent *phys;		/* NULL for imports */
	struct cs_handle *origin;	/* import in the exporting process */
	bool owns_fd;			/* import from another process */
	bool exported;			/* a POSIX handle of it was made */
	CUmemAllocationProp prop;
	unsigned long refs;		/* unreleased handle references */
	unsigned long maps;		/* live mappings */
	unsigned long holds;		/* imports of it (their ->origin) */
	unsigned long long block_id;
	bool inherited;			/* from the parent at fork: not a leak */
};

struct cs_resv {
	uintptr_t start;
	size_t size;			/* bytes */
	unsigned long nr_maps;
	bool inherited;			/* from the parent at fork: not a leak */
};

enum cs_region_kind {
	CS_REGION_ALLOC,		/* cuMemAlloc*: own host mapping */
	CS_REGION_MAPPING,		/* cuMemMap inside a reservation */
};

/* Device VA backed by physical memory; the registry holds these sorted. */
struct cs_region {
	enum cs_region_kind kind;
	uintptr_t start;
	size_t size;			/* bytes */
	int dev;
	unsigned long long buffer_id;
	/* CS_REGION_ALLOC: one of phys (contiguous), runs or sub (paged) */
	struct cs_extent *phys;
	struct cs_extent **runs;	/* whole pages, in VA order */
	unsigned int nr_runs;
	struct cs_subpage *sub;		/* a share of this page */
	void *map_base;			/* page-aligned host mapping; NULL for sub */
	size_t map_len;			/* bytes */
	struct cs_ctx *ctx;
	struct cs_pool *pool;		/* non-NULL for stream-ordered allocs */
	/* CS_REGION_MAPPING */
	struct cs_handle *handle;
	size_t offset;			/* bytes into the handle */
	struct cs_resv *resv;
	unsigned char access[CS_MAX_DEVICES];	/* CUmemAccess_flags */
	bool inherited;			/* from the parent at fork: not a leak */
};

/* A sorted array of pointers, searched by binary search. */
struct cs_vec {
	void **v;
	size_t nr, cap;
};

struct cs_state {
	pthread_mutex_t lock;
	bool initialized;
	enum cs_alloc_mode alloc_mode;	/* CUDASIM_ALLOC, set by the first cuInit */
	CUresult init_result;		/* sticky result of the first cuInit */
	bool init_tried;
	int ndev;
	struct cs_device dev[CS_MAX_DEVICES];
	struct cs_vec regions;		/* struct cs_region *, by start */
	struct cs_vec resvs;		/* struct cs_resv *, by start */
	struct cs_vec handles;		/* struct cs_handle *, by id */
	struct cs_ctx *contexts;
	unsigned long long next_buffer_id;
	unsigned long long next_handle_id;
	unsigned long long next_capture_id;
	unsigned long nr_streams, nr_events, nr_modules;
	bool leakcheck;
};

extern struct cs_state cs;

static inline void cs_lock(void)
{
	pthread_mutex_lock(&cs.lock);
}

static inline void cs_unlock(void)
{
	pthread_mutex_unlock(&cs.lock);
}

/* fault.c: call counters and fault injection */
struct cs_counter;
CUresult cs_enter(struct cs_counter **cache, const char *name);
int cs_fail_parse_env(void);
void cs_counters_atfork_prepare(void);
void cs_counters_atfork_parent(void);
void cs_counters_atfork_child(void);

/*
 * CS_ENTER - first statement of every entry point: counts the call under
 * @name (no suffix) and returns the injected error when CUDASIM_FAIL says so.
 */
#define CS_ENTER(name)							\
	do {								\
		static struct cs_counter *cs__counter;			\
		CUresult cs__res = cs_enter(&cs__counter, name);	\
		if (cs__res != CUDA_SUCCESS)				\
			return cs__res;					\
	} while (0)

/* init.c */
CUresult cs_check_init(void);
struct cs_ctx *cs_current_ctx(void);
CUresult __cs_need_ctx(struct cs_ctx **ctx);
bool __cs_ctx_valid(struct cs_ctx *ctx);
bool cs_dev_valid(CUdevice dev);
void cs_set_current(struct cs_ctx *ctx);

/* memory.c: physical first-fit, the registries */
size_t __cs_alloc_phys_off(const struct cs_region *r);
struct cs_extent *__cs_phys_alloc(struct cs_device *d, size_t size, size_t align);
void __cs_phys_free_exported(struct cs_device *d, struct cs_extent *e);
void __cs_phys_free(struct cs_device *d, struct cs_extent *e);
int cs_vec_insert(struct cs_vec *vec, void *item, uintptr_t key, uintptr_t (*key_of)(void *));
void cs_vec_remove(struct cs_vec *vec, void *item, uintptr_t key, uintptr_t (*key_of)(void *));
uintptr_t cs_region_key(void *p);
uintptr_t cs_resv_key(void *p);
uintptr_t cs_handle_key(void *p);
struct cs_region *__cs_region_find(uintptr_t addr);
size_t __cs_region_index_from(uintptr_t addr);
struct cs_resv *__cs_resv_find(uintptr_t addr);
struct cs_handle *__cs_handle_find(unsigned long long id);
CUresult __cs_check_access(uintptr_t addr, size_t n, int dev, bool write, bool one_alloc);
CUresult cs_mem_alloc(CUdeviceptr *dptr, size_t bytesize, struct cs_pool *pool);
CUresult cs_mem_free(CUdeviceptr dptr, bool async);

/* paged.c: CUDASIM_ALLOC=paged */
int __cs_paged_alloc(struct cs_device *d, struct cs_region *r, size_t size, bool low32);
void __cs_paged_free(struct cs_device *d, struct cs_region *r);
size_t __cs_paged_phys_off(const struct cs_region *r);
int __cs_paged_remap(struct cs_device *d, int fd);

/* hostmem.c */
struct cs_host;
struct cs_host *__cs_host_find(uintptr_t addr);
CUresult __cs_host_pointer_attr(void *data, CUpointer_attribute attr, uintptr_t ptr,
				struct cs_host *h);
unsigned long __cs_host_leaks(int fd);
void __cs_host_atfork_child(void);

/* pool.c */
void __cs_pool_account(struct cs_pool *p);

/* vmm.c */
void __cs_handle_put(struct cs_handle *h);

/* stream.c */
CUresult __cs_stream_check(CUstream s, struct cs_ctx *ctx);
bool __cs_any_global_capture(void);
void __cs_invalidate_global_captures(void);

/* leakcheck.c */
void cs_leakcheck_setup(void);

#endif /* CUDASIM_PRIVATE_H */
