/* SPDX-License-Identifier: MIT */
/*
 * trace_writer.h - the manager's allocation-event trace (internal interface).
 *
 * The allocating thread only appends to a bounded in-memory ring; a writer
 * thread hands batches to io_uring (vmm/trace_writer.c).  vmm_trace() is a no-op
 * unless tracing is on, and never blocks or makes a system call.
 */
#ifndef GPUVM_VMM_TRACE_WRITER_H
#define GPUVM_VMM_TRACE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include <gpuvm/trace.h>

extern bool vmm_trace_on;	/* read without a lock: a stale value is fine */

void __vmm_trace(enum gpuvm_trace_event ev, int dev, uint64_t stream, uint64_t addr,
		 uint64_t requested, uint64_t granted);

/**
 * vmm_trace - record one event when tracing is on
 * @ev: what happened
 * @dev: device ordinal
 * @stream: the CUstream involved, or 0
 * @addr: device address (allocation start, chunk offset, mapped VA)
 * @requested: bytes asked for (0 when not applicable)
 * @granted: bytes given, mapped or released
 */
static inline void vmm_trace(enum gpuvm_trace_event ev, int dev, uint64_t stream,
			     uint64_t addr, uint64_t requested, uint64_t granted)
{
	if (__builtin_expect(vmm_trace_on, 0))
		__vmm_trace(ev, dev, stream, addr, requested, granted);
}

/**
 * vmm_trace_start - start writing events to @path (the trace knob, or
 * GPUVM_TRACE=path); @capacity and @granularity go in the file header.
 * Return: 0 or -errno.
 */
int vmm_trace_start(const char *path, uint64_t capacity, uint64_t granularity);

/**
 * vmm_trace_set_geometry - fill the header's capacity and granularity of a
 * trace started before the first device was set up (GPUVM_TRACE)
 */
void vmm_trace_set_geometry(uint64_t capacity, uint64_t granularity);

/** vmm_trace_stop - flush and close the trace, stop the writer */
void vmm_trace_stop(void);

/** vmm_trace_dropped - events dropped because the ring was full */
uint64_t vmm_trace_dropped(void);

/* stats.c: the writer publishes the drop count in the status */
bool stats_publish_trace_dropped(uint64_t dropped, bool wait);

/** vmm_trace_ring_records - ring slots of the current or last trace (0: none yet) */
unsigned int vmm_trace_ring_records(void);

#endif /* GPUVM_VMM_TRACE_WRITER_H */
