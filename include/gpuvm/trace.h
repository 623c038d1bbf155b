/* SPDX-License-Identifier: MIT */
/*
 * trace.h - gpuvm's binary allocation-trace format (see
 * Documentation/trace.rst).  A file is one struct gpuvm_trace_header
 * followed by struct gpuvm_trace_record entries, little-endian.
 */
#ifndef GPUVM_TRACE_H
#define GPUVM_TRACE_H

#include <stdint.h>

#define GPUVM_TRACE_MAGIC	0x4352544d56475047ull	/* "GPGVMTRC" */
#define GPUVM_TRACE_VERSION	1

enum gpuvm_trace_event {
	GPUVM_EV_ALLOC = 1,		/* addr, requested, granted */
	GPUVM_EV_FREE_REQUESTED,	/* addr */
	GPUVM_EV_FREE_COMPLETED,	/* addr, granted: bytes back in cache */
	GPUVM_EV_RESIZE,		/* addr, requested: new size, granted */
	GPUVM_EV_CHUNK_CREATE,		/* granted: chunk bytes */
	GPUVM_EV_CHUNK_RELEASE,		/* granted: chunk bytes */
	GPUVM_EV_MAP,			/* addr, granted: bytes mapped */
	GPUVM_EV_UNMAP,			/* addr, granted: bytes unmapped */
	GPUVM_EV_OOM,			/* requested */
	GPUVM_EV_DROPPED,		/* granted: events dropped before this */
	GPUVM_EV_NR
};

struct gpuvm_trace_header {
	uint64_t magic;			/* GPUVM_TRACE_MAGIC */
	uint32_t version;		/* GPUVM_TRACE_VERSION */
	uint32_t header_size;		/* sizeof(struct gpuvm_trace_header) */
	uint32_t record_size;		/* sizeof(struct gpuvm_trace_record) */
	uint32_t flags;
	uint64_t capacity;		/* device memory, bytes */
	uint64_t granularity;		/* bytes */
	uint64_t start_ns;		/* CLOCK_REALTIME at start */
	int32_t pid;
	uint32_t pad;
	char source[32];		/* "gpuvm", "rmm-csv", "torch-snapshot", ... */
};

struct gpuvm_trace_record {
	uint64_t time_ns;		/* since start_ns */
	uint32_t event;			/* enum gpuvm_trace_event */
	int32_t device;
	uint64_t stream;
	uint64_t addr;
	uint64_t requested;
	uint64_t granted;
};

#endif /* GPUVM_TRACE_H */
