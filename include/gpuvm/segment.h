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
 * Consistency: the writer brackets every update of a device block, its page
 * table and its allocation table with the device's seqcount (odd while
 * writing).  A reader copies what it needs, then re-reads the seqcount:
 * when it changed or was odd, it retries.  Publishing is plain stores into
 * shared memory: no system call per allocation.
 *
 * Readers treat every byte as hostile: sizes, offsets and counts are
 * checked against the file size, strings may lack their NUL, values may be
 * anything (gpuvm_segment_validate() in the daemon).
 *
 * Versioning: a reader rejects a different version_major; a larger
 * version_minor only appends fields (the *_size fields say how big each
 * record is, so a reader steps over what it does not know, and reads what
 * an older writer did not have as zero).  1.1 appended driver_ns to the
 * device block's statistics.
 */
#ifndef GPUVM_SEGMENT_H
#define GPUVM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

/**
 * gpuvm_rundir_default - user @uid's own run directory
 * @buf: receives the path
 * @len: size of @buf
 * @uid: the user
 * Return: @buf.
 */
static inline const char *gpuvm_rundir_default(char *buf, size_t len, uid_t uid)
{
	snprintf(buf, len, GPUVM_RUNDIR_PARENT "/" GPUVM_RUNDIR_PREFIX "%u", (unsigned int)uid);
	return buf;
}

/**
 * gpuvm_stat_start_time - field 22 (starttime) of a /proc/<pid>/stat text
 * @text: the file's text, NUL-terminated
 * @start_time: receives the value, in clock ticks since boot
 *
 * The writer puts it in the header, readers compare it with the pid's own,
 * so a reused pid is told apart: both sides parse it here.  comm (field 2)
 * may hold spaces and parentheses, so fields are counted from the last ')'.
 * Return: 0, or -1 when the text has no such field.
 */
static inline int gpuvm_stat_start_time(const char *text, uint64_t *start_time)
{
	const char *p = strrchr(text, ')');
	unsigned long long v;
	int field;

	if (!p)
		return -1;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field < 22 || sscanf(p, "%llu", &v) != 1)
		return -1;
	*start_time = v;
	return 0;
}

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

#endif /* GPUVM_SEGMENT_H */
