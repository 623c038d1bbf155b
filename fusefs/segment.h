/* SPDX-License-Identifier: MIT */
/*
 * segment.h - reading state segments (include/gpuvm/segment.h) written by
 * processes that use gpuvm, treating every byte as hostile.
 *
 * No FUSE and no libgpuvm in here: segment.c links into any program (the
 * daemon, the CLI, the fuzz target).
 *
 * The reader never maps a state segment: it copies what it needs with
 * pread().  The file's owner may truncate it at any moment, and a load from
 * a mapping past the new end of file is a SIGBUS that would take the daemon
 * down for every user; pread() merely comes back short.  Copies are
 * consistent per block through the seqcount protocol of segment.h, and
 * everything is validated on the private copy (no double fetch).
 */
#ifndef GPUVM_FUSEFS_SEGMENT_H
#define GPUVM_FUSEFS_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gpuvm/segment.h>

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

#endif /* GPUVM_FUSEFS_SEGMENT_H */
