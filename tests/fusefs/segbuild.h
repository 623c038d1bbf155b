/* SPDX-License-Identifier: MIT */
/*
 * segbuild.h - build valid state and control segments (include/gpuvm/
 * segment.h) with the ABI's writer, the way a process using gpuvm
 * publishes them, for the tests, the fuzz seeds and the benchmark of
 * gpuvmfs.
 */
#ifndef GPUVM_TESTS_SEGBUILD_H
#define GPUVM_TESTS_SEGBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gpuvm/segment.h>

struct segbuild {
	pid_t pid;
	uid_t uid;
	uint64_t start_time;		/* gpuvm_proc_start_time(pid) */
	const char *comm;
	unsigned int nr_devices;	/* 1..GPUVM_SEG_MAX_DEVICES */
	uint64_t granularity;		/* bytes */
	uint32_t pt_entries;		/* per device */
	uint32_t pt_used;		/* granules not free, per device */
	uint32_t nr_allocs;		/* live allocations per device */
	uint32_t alloc_capacity;	/* slots per device, >= nr_allocs */
	unsigned int nr_knobs;
	const char *knob_names[GPUVM_SEG_MAX_KNOBS];
	uint64_t knob_values[GPUVM_SEG_MAX_KNOBS];
};

/* Small defaults: 1 device, 64 entries, 8 allocations of 2 granules. */
void segbuild_defaults(struct segbuild *p);
/* Bytes the state segment needs. */
size_t segbuild_size(const struct segbuild *p);
/* Fill @buf (segbuild_size() bytes, zeroed) with a valid segment. */
void segbuild_fill(const struct segbuild *p, void *buf);
/* A valid, empty control segment (sizeof(struct gpuvm_ctl_header) bytes). */
void segbuild_ctl_fill(struct gpuvm_ctl_header *ctl);
/* Allocation id of allocation @i of device @dev. */
uint64_t segbuild_alloc_id(unsigned int dev, uint32_t i);
/* Knobs from the schema in libgpuvm, when it has one: their defaults. */
void segbuild_schema_knobs(struct segbuild *p);

/*
 * The fuzz seeds: SEGBUILD_NR_SEEDS valid segments of different shapes
 * (one to three devices, full and empty tables), for the corpus and the
 * fuzz target alike.  Seed @i in a buffer of its own (free() it), its size
 * in @size; NULL when @i is out of range or memory is short.
 */
#define SEGBUILD_NR_SEEDS	4
void *segbuild_seed(unsigned int i, size_t *size);

/* Offsets used by segbuild_fill(), for tests that corrupt fields. */
uint64_t segbuild_device_offset(const struct segbuild *p, unsigned int dev);

#endif /* GPUVM_TESTS_SEGBUILD_H */
