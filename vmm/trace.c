// SPDX-License-Identifier: MIT
/*
 * trace.c - placeholder until the io_uring trace writer lands: tracing
 * cannot be turned on.
 */
#include <errno.h>

#include "trace.h"

bool vmm_trace_on;

void __vmm_trace(enum gpuvm_trace_event ev, int dev, uint64_t stream, uint64_t addr,
		 uint64_t requested, uint64_t granted)
{
}

int vmm_trace_start(const char *path, uint64_t capacity, uint64_t granularity)
{
	return -EOPNOTSUPP;
}

void vmm_trace_stop(void)
{
}

uint64_t vmm_trace_dropped(void)
{
	return 0;
}
