/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the manager's one clock reader, for every layer: driver call
 * times, allocation ages, trace timestamps, IPC deadlines.
 */
#ifndef GPUVM_VMM_CLOCK_H
#define GPUVM_VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

/* @clk now, in nanoseconds (clock_gettime() is a vDSO call: no syscall) */
static inline uint64_t vmm_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC now, in nanoseconds */
static inline uint64_t vmm_now_ns(void)
{
	return vmm_clock_ns(CLOCK_MONOTONIC);
}

#endif /* GPUVM_VMM_CLOCK_H */
