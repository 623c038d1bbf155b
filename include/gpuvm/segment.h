/* SPDX-License-Identifier: MIT */
/*
 * segment.h - the ABI between a process using gpuvm and the gpuvmfs daemon.
 *
 * Each process that initializes gpuvm creates two files in the run
 * directory, mode 0600, owned by its user, and maps them shared.  The run
 * directory is $GPUVM_RUNDIR, else the user's own
 * GPUVM_RUNDIR_PARENT/GPUVM_RUNDIR_PREFIX<euid> (gpuvm_rundir_default()),
 * mode 0700, like /run/user/<uid>: no other user can add, rename or
 * remove a file in it.
 *
 *   <pid>.state   written only by the process, read by the daemon and CLI:
 *                 a header, then per device a device block, a page table
 *                 and an allocation table (all offsets from the file start).
 *   <pid>.ctl     written by the daemon and CLI, only read by the process:
 *                 desired knob values and requests, under a generation
 *                 number.
 *
 * Both are removed when the process exits; files of dead processes are
 * removed by the daemon or by the next process that starts.
 *
 * This header is the whole ABI: the layout, then the code every side
 * shares over it (seg/: the writer's primitives, the reader and
 * validator, the control ring, the identity of a process), so that the
 * library, gpuvmfs, the CLI and the test fixtures cannot drift apart.
 * The code is in libgpuvm.a and, for readers that do not link the
 * manager, in libgpuvm-seg.a.
 *
 * Consistency: the writer brackets every update of a device block, its page
 * table and its allocation table with the device's seqcount (odd while
 * writing).  A reader copies what it needs, then re-reads the seqcount:
 * when it changed or was odd, it retries.  Publishing is plain stores into
 * shared memory: no system call per allocation.
 *
 * Readers treat every byte as hostile: sizes, offsets and counts are
 * checked against the file size, strings may lack their NUL, values may be
 * anything (gpuvm_snapshot_take()).
 *
 * Versioning: a reader rejects a different version_major; a larger
 * version_minor only appends fields (the *_size fields say how big each
 * record is, so a reader steps over what it does not know, and reads what
 * an older writer did not have as zero).  1.1 appended driver_ns to the
 * device block's statistics.
 */
#ifndef GPUVM_SEGMENT_H
#define GPUVM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GPUVM_RUNDIR_PARENT	"/dev/shm"
#define GPUVM_RUNDIR_PREFIX	"gpuvm-"	/* then the owner's uid */
#define GPUVM_RUNDIR_DEFAULT	GPUVM_RUNDIR_PARENT "/" GPUVM_RUNDIR_PREFIX "<uid>"
#define GPUVM_STATE_SUFFIX	".state"
#define GPUVM_CTL_SUFFIX	".ctl"

#define GPUVM_STATE_MAGIC	0x53564d47u	/* "GMVS" little-endian */
#define GPUVM_CTL_MAGIC		0x43564d47u	/* "GMVC" */
#define GPUVM_SEG_VERSION_MAJOR	1
#define GPUVM_SEG_VERSION_MINOR	1

#define GPUVM_SEG_MAX_DEVICES	16
#define GPUVM_SEG_MAX_KNOBS	32
#define GPUVM_SEG_KNOB_NAME	32	/* bytes, NUL-padded */
#define GPUVM_SEG_COMM		16
#define GPUVM_SEG_DRIVER	48

/* ---- state segment ---- */

struct gpuvm_seg_header {
	uint32_t magic;			/* GPUVM_STATE_MAGIC */
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_size;		/* sizeof(struct gpuvm_seg_header) */
	uint32_t device_size;		/* sizeof(struct gpuvm_seg_device) */
	uint32_t pte_size;		/* sizeof(struct gpuvm_seg_pte) */
	uint32_t alloc_size;		/* sizeof(struct gpuvm_seg_alloc) */
	uint64_t segment_size;		/* bytes of the file the writer maps */
	int32_t pid;
	uint32_t uid;
	uint64_t start_time;		/* field 22 of /proc/<pid>/stat: tells a
					 * reused pid from the writer */
	uint32_t seq;			/* seqcount of this header */
	uint32_t nr_devices;		/* device blocks in use */
	uint64_t ctl_applied;		/* last control generation applied */
	int32_t ctl_error;		/* 0, or -errno of the last rejected
					 * control request */
	uint32_t flags;			/* GPUVM_SEG_F_* */
	char comm[GPUVM_SEG_COMM];	/* program name, NUL-padded */
	char driver[GPUVM_SEG_DRIVER];	/* "cudasim" or the driver version */
	uint64_t device_offset[GPUVM_SEG_MAX_DEVICES]; /* 0: none */
};

#define GPUVM_SEG_F_SIMULATED	(1u << 0)	/* running on cudasim */
#define GPUVM_SEG_F_SHIM	(1u << 1)	/* loaded through the preload shim */

struct gpuvm_seg_knob {
	char name[GPUVM_SEG_KNOB_NAME];
	uint64_t value;
};

/* Counters of one device; bytes unless said otherwise. */
struct gpuvm_seg_stats {
	uint64_t requested;
	uint64_t allocated;
	uint64_t mapped;
	uint64_t cached;
	uint64_t physical;
	uint64_t reserved_va;
	uint64_t limit;
	uint64_t device_total;
	uint64_t peak_requested;
	uint64_t peak_allocated;
	uint64_t peak_mapped;
	uint64_t largest_free_run;
	uint64_t live_allocs;		/* count */
	uint64_t alloc_calls;		/* count */
	uint64_t free_calls;		/* count */
	uint64_t cache_hits;		/* count */
	uint64_t stitches;		/* count */
	uint64_t ooms;			/* count */
	uint64_t chunks;		/* count */
	uint64_t chunks_free;		/* count */
	uint64_t reclaimed;
	uint64_t trace_dropped;		/* count */
	uint64_t driver_calls[16];	/* by enum gpuvm_driver_call */
	uint64_t alloc_table_dropped;	/* allocations not shown: table full */
	/* since 1.1 (a 1.0 device block ends here: GPUVM_SEG_DEVICE_SIZE_1_0) */
	uint64_t driver_ns[16];		/* ns spent in each driver call, by
					 * enum gpuvm_driver_call */
};

struct gpuvm_seg_device {
	uint32_t seq;			/* seqcount over this block, its page
					 * table and its allocation table */
	int32_t ordinal;
	uint64_t granularity;		/* bytes per page-table entry */
	uint64_t chunk_size;		/* bytes per physical chunk (current) */
	uint64_t arena_base;		/* device VA */
	uint64_t arena_size;		/* bytes */
	uint64_t pt_offset;		/* from file start */
	uint32_t pt_entries;		/* arena_size / granularity */
	uint32_t alloc_capacity;	/* slots in the allocation table */
	uint64_t alloc_offset;		/* from file start */
	uint32_t nr_knobs;
	uint32_t pad;
	struct gpuvm_seg_knob knobs[GPUVM_SEG_MAX_KNOBS]; /* live values */
	struct gpuvm_seg_stats stats;
};

/*
 * A reader takes a device block as short as a 1.0 writer's; what that
 * writer did not have reads as zero.
 */
#define GPUVM_SEG_DEVICE_SIZE_1_0	offsetof(struct gpuvm_seg_device, stats.driver_ns)

/* Page-table entry states (DESIGN §3). */
enum gpuvm_pte_state {
	GPUVM_PTE_FREE = 0,		/* virtual only, nothing behind it */
	GPUVM_PTE_RESERVED,		/* owned by an allocation, not mapped
					 * (growable tail) */
	GPUVM_PTE_MAPPED,		/* mapped, in use by an allocation */
	GPUVM_PTE_CACHED,		/* mapped, allocation freed, kept for
					 * reuse (no driver call) */
	GPUVM_PTE_OFFLOADED,		/* contents moved to host (reserved) */
	GPUVM_PTE_NR_STATES
};

#define GPUVM_PTE_ACCESS_READ	(1u << 0)
#define GPUVM_PTE_ACCESS_WRITE	(1u << 1)
#define GPUVM_PTE_ACCESS_PEER	(1u << 2)	/* a peer device has access */

#define GPUVM_NO_CHUNK		0xffffffffu

struct gpuvm_seg_pte {
	uint8_t state;			/* enum gpuvm_pte_state */
	uint8_t access;			/* GPUVM_PTE_ACCESS_* */
	uint16_t chunk_part;		/* granule index inside the chunk */
	uint32_t chunk;			/* chunk id, or GPUVM_NO_CHUNK */
	uint64_t owner;			/* allocation id, 0: none */
};

#define GPUVM_SEG_ALLOC_LIVE		(1u << 0)
#define GPUVM_SEG_ALLOC_SMALL		(1u << 1)	/* sub-allocated */
#define GPUVM_SEG_ALLOC_GROWABLE	(1u << 2)
#define GPUVM_SEG_ALLOC_ASYNC		(1u << 3)	/* stream-ordered */
#define GPUVM_SEG_ALLOC_EXPORTED	(1u << 4)	/* has a cuIpcGetMemHandle handle */
#define GPUVM_SEG_ALLOC_IMPORTED	(1u << 5)	/* another process's memory
							 * (cuIpcOpenMemHandle): ->stream
							 * holds the exporter's pid */

struct gpuvm_seg_alloc {
	uint32_t flags;			/* GPUVM_SEG_ALLOC_*; 0: free slot */
	uint32_t nr_chunks;
	uint64_t id;			/* > 0, unique in the process */
	uint64_t base;			/* device VA */
	uint64_t size;			/* bytes usable */
	uint64_t requested;		/* bytes asked for */
	uint64_t max_size;		/* virtual bytes reserved */
	uint64_t time_ns;		/* CLOCK_MONOTONIC at allocation */
	uint64_t stream;		/* CUstream for async, else 0 */
};

/* ---- control segment ---- */

/*
 * The daemon writes values[] for a device (or all, device -1), then bumps
 * generation and wakes the futex on it.  The process re-validates every
 * value, applies it, and publishes the generation in ctl_applied (and any
 * error in ctl_error) of its state segment.
 */
struct gpuvm_ctl_request {
	char name[GPUVM_SEG_KNOB_NAME];	/* knob name, or "reclaim" */
	int32_t device;			/* ordinal, or -1: every device */
	uint32_t pad;
	uint64_t value;
	uint64_t generation;		/* when it was written */
};

#define GPUVM_CTL_MAX_REQUESTS	64

struct gpuvm_ctl_header {
	uint32_t magic;			/* GPUVM_CTL_MAGIC */
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_size;		/* sizeof(struct gpuvm_ctl_header) */
	uint32_t generation;		/* futex word: bumped per request */
	/* ring of requests: request g lives in requests[g % MAX] */
	struct gpuvm_ctl_request requests[GPUVM_CTL_MAX_REQUESTS];
};

/* ---- identity of a process (seg/seg_proc.c) ---- */

/*
 * A segment names its writer by pid and by the pid's start time (field 22
 * of /proc/<pid>/stat, clock ticks since boot), so that a reused pid is
 * told apart.  Every side reads both through these.
 */
const char *gpuvm_rundir_default(char *buf, size_t len, uid_t uid);
int gpuvm_stat_start_time(const char *text, uint64_t *start_time);
int gpuvm_proc_identity(pid_t pid, uint64_t *start_time, uid_t *uid);
uint64_t gpuvm_proc_start_time(pid_t pid);
int gpuvm_parse_pid(const char *name, size_t len, pid_t *pid);

/* Which of a process's files a run-directory entry is. */
enum gpuvm_seg_file {
	GPUVM_SEG_FILE_NONE = 0,	/* not ours */
	GPUVM_SEG_FILE_STATE,		/* <pid>.state */
	GPUVM_SEG_FILE_CTL,		/* <pid>.ctl */
};

enum gpuvm_seg_file gpuvm_seg_file_name(const char *name, pid_t *pid);

/* ---- writing (seg/seg_write.c, and the seqcount below) ---- */

/*
 * Seqcount writes: the count goes odd, the fields are stored, the count
 * goes even again; a reader that saw the same even count before and after
 * its copy has a consistent one.  gpuvm_seq_fence_release() orders the odd
 * count before the stores that follow it (no atomic on the count alone
 * can: a release orders what comes before it).  The readers are other
 * processes, out of ThreadSanitizer's sight, and GCC's -Wtsan (it does not
 * model fences) has nothing to say about them: the fence stays, the
 * warning goes.
 */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#define GPUVM_SEQ_FENCE(order)						\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wtsan\"")			\
	__atomic_thread_fence(order);					\
	_Pragma("GCC diagnostic pop")
#else
#define GPUVM_SEQ_FENCE(order)	__atomic_thread_fence(order)
#endif

static inline void gpuvm_seq_fence_release(void)
{
	GPUVM_SEQ_FENCE(__ATOMIC_RELEASE);
}

static inline void gpuvm_seq_fence_acquire(void)
{
	GPUVM_SEQ_FENCE(__ATOMIC_ACQUIRE);
}

/* One writer of @seq: the caller excludes the others. */
static inline void gpuvm_seq_write_begin(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
	gpuvm_seq_fence_release();
}

static inline void gpuvm_seq_write_end(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELEASE);
}

/*
 * Writers on several threads: the count doubles as their lock.  A writer
 * claims it by turning it odd with a compare-and-swap from even and
 * releases it with gpuvm_seq_write_end().  No mutex, so nothing is left
 * locked in a forked child.
 */
void gpuvm_seq_write_lock(uint32_t *seq);

/* Where a device's block and tables go, from @off on, each @align-aligned. */
struct gpuvm_seg_layout {
	uint64_t device_offset;		/* the struct gpuvm_seg_device */
	uint64_t pt_offset;		/* pt_entries struct gpuvm_seg_pte */
	uint64_t alloc_offset;		/* alloc_capacity struct gpuvm_seg_alloc */
	uint64_t end;			/* the first byte after them */
};

int gpuvm_seg_layout_device(uint64_t off, uint32_t pt_entries, uint32_t alloc_capacity,
			    uint64_t align, struct gpuvm_seg_layout *l);
void gpuvm_seg_header_init(struct gpuvm_seg_header *h, pid_t pid, uid_t uid,
			   const char *comm, uint64_t segment_size);
void gpuvm_seg_device_init(struct gpuvm_seg_device *d, int ordinal,
			   const struct gpuvm_seg_layout *l, uint32_t pt_entries,
			   uint32_t alloc_capacity);
void gpuvm_seg_set_string(char *field, size_t size, const char *src);
void gpuvm_ctl_header_init(struct gpuvm_ctl_header *ctl);

/* ---- reading (seg/seg_read.c) ---- */

/*
 * The reader never maps a state segment: it copies what it needs with
 * pread().  The file's owner may truncate it at any moment, and a load
 * from a mapping past the new end of file is a SIGBUS that would take the
 * daemon down for every user; pread() merely comes back short.  Copies
 * are consistent per block through the seqcount, and everything is
 * validated on the private copy (no double fetch).
 */
/* Upper bounds a sane writer never comes near; they bound what we copy. */
#define GPUVM_SEG_MAX_RECORD		4096u		/* bytes per record */
#define GPUVM_SEG_MAX_HEADER		65536u		/* bytes */
#define GPUVM_SEG_MAX_SIZE		(4ull << 30)	/* bytes per segment */

/*
 * What a reader (the daemon, the CLI) holds, whatever a segment claims:
 * one copied table at most GPUVM_READ_TABLE_MAX (a page table of 16M
 * entries: 32 TiB of arena at 2 MiB), one file's text at most
 * GPUVM_READ_TEXT_MAX (then a truncation line), and every copy and text
 * of the process together at most GPUVM_READ_MEM_MAX (then -EAGAIN).
 */
#define GPUVM_READ_TABLE_MAX		(256ull << 20)
#define GPUVM_READ_TEXT_MAX		(128ull << 20)
#define GPUVM_READ_MEM_MAX		(512ull << 20)

/* An open state segment: a file (fd >= 0) or a buffer (fuzzing, tests). */
struct gpuvm_segment {
	int fd;			/* -1: read from mem */
	const unsigned char *mem;
	uint64_t size;		/* bytes, from fstat at open (or of mem) */
	pid_t pid;		/* from the file name; 0: do not check */
	uid_t uid;		/* file owner, from fstat (trusted) */
	gid_t gid;		/* file group, from fstat */
	unsigned int max_tries;	/* seqcount retries before -EBUSY */
};

/* One device of a snapshot. */
struct gpuvm_snap_device {
	struct gpuvm_seg_device blk;	/* validated copy */
	struct gpuvm_seg_pte *pt;	/* blk.pt_entries entries, or NULL */
	struct gpuvm_seg_alloc *allocs;	/* blk.alloc_capacity slots, or NULL */
	size_t pt_bytes, allocs_bytes;	/* charged (gpuvm_read_charge) */
};

/* What gpuvm_snapshot_take() copies besides header and device blocks. */
#define GPUVM_SNAP_PT		(1u << 0)
#define GPUVM_SNAP_ALLOCS	(1u << 1)

struct gpuvm_snapshot {
	struct gpuvm_seg_header hdr;	/* validated copy */
	uid_t uid;			/* from fstat, not from hdr */
	unsigned int nr_present;	/* device blocks present */
	unsigned int dev_mask;		/* bit i: dev[i] present */
	struct gpuvm_snap_device *dev[GPUVM_SEG_MAX_DEVICES];
	char comm[GPUVM_SEG_COMM + 1];	/* printable ASCII only */
	char driver[GPUVM_SEG_DRIVER + 1];
	const char *error;		/* why the segment was refused */
};

int gpuvm_segment_open(const char *rundir, pid_t pid, struct gpuvm_segment *seg);
void gpuvm_segment_from_memory(struct gpuvm_segment *seg, const void *buf, size_t size,
			       pid_t pid, uid_t uid);
void gpuvm_segment_close(struct gpuvm_segment *seg);
bool gpuvm_read_charge(size_t bytes);
void gpuvm_read_uncharge(size_t bytes);

int gpuvm_snapshot_take(const struct gpuvm_segment *seg, unsigned int what,
			struct gpuvm_snapshot *snap);
void gpuvm_snapshot_release(struct gpuvm_snapshot *snap);

int gpuvm_segment_read_header(const struct gpuvm_segment *seg, struct gpuvm_seg_header *hdr,
			      const char **why);

/* Per-record checks the renderers apply (tables may hold anything). */
bool gpuvm_seg_alloc_valid(const struct gpuvm_seg_alloc *a);
const char *gpuvm_pte_state_name(unsigned int state);

/* Knob names are [a-z0-9_]+ so they are safe as file names. */
bool gpuvm_seg_knob_name_valid(const char *name, size_t len);
const struct gpuvm_seg_knob *gpuvm_snap_knob(const struct gpuvm_snap_device *d,
					     const char *name);

void gpuvm_seg_copy_string(char *dst, const char *src, size_t len);

/* ---- the control ring (seg/seg_ctl.c, seg/seg_ring.c) ---- */

/*
 * Asking (gpuvmfs, the CLI): gpuvm_ctl_request() posts one request into
 * the process's ring under flock(LOCK_EX), wakes it and waits for its
 * answer in the state segment.  gpuvm_ctl_post() is the ring's producer
 * alone: the caller has a valid, writable mapping and excludes other
 * producers.
 */
uint32_t gpuvm_ctl_post(struct gpuvm_ctl_header *ctl, int dev, const char *name,
			uint64_t value);
int gpuvm_ctl_request(const char *rundir, const struct gpuvm_segment *state, int dev,
		      const char *name, uint64_t value, unsigned int timeout_ms);

/*
 * Answering (the process): gpuvm_ctl_wait() sleeps until the generation
 * moves past @seen; gpuvm_ctl_consume() hands each request after *@applied
 * to @apply, on a private copy with its name NUL-terminated, and returns
 * the last error (-EOVERFLOW when requests were lost to the ring,
 * -ESTALE for a slot overwritten or never written).  The caller publishes
 * the result (ctl_applied, ctl_error).
 */
typedef int (*gpuvm_ctl_apply_fn)(const struct gpuvm_ctl_request *req, void *arg);

void gpuvm_ctl_wait(struct gpuvm_ctl_header *ctl, uint32_t seen, unsigned int timeout_ms);
void gpuvm_ctl_wake(struct gpuvm_ctl_header *ctl);
uint32_t gpuvm_ctl_generation(const struct gpuvm_ctl_header *ctl);
int gpuvm_ctl_consume(struct gpuvm_ctl_header *ctl, uint32_t *applied, gpuvm_ctl_apply_fn apply,
		      void *arg);

#endif /* GPUVM_SEGMENT_H */
