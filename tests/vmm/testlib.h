/* SPDX-License-Identifier: MIT */
/*
 * testlib.h - helpers for the vmm tests: the driver calls a test makes
 * itself (copies in and out of device memory, the driver's own allocator
 * for comparison) and cudasim's extension calls when they exist.
 */
#ifndef GPUVM_TESTS_VMM_TESTLIB_H
#define GPUVM_TESTS_VMM_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuvm/gpuvm.h>

/* whether a driver can be opened at all (without initializing it) */
bool tl_available(void);
/*
 * A suite's main() starts here: the run directory under the build tree
 * (unless GPUVM_RUNDIR is set), and false (print SKIP, exit 77) when no
 * driver can be opened.
 */
bool tl_suite_start(void);
/* dlopen the driver the library uses; false when there is none (skip) */
bool tl_open(void);
void tl_close(void);
/* make device @dev's primary context current in this thread */
int tl_use_device(int dev);
int tl_write(gpuvm_ptr_t dst, const void *src, size_t n);
int tl_read(void *dst, gpuvm_ptr_t src, size_t n);
/* fill [p, p + n) with a pattern derived from @seed; check it back */
int tl_fill(gpuvm_ptr_t p, size_t n, uint32_t seed);
bool tl_verify(gpuvm_ptr_t p, size_t n, uint32_t seed);
/* the driver's own allocator (cuMemAlloc/cuMemFree); 0 or CUresult */
int tl_mem_alloc(gpuvm_ptr_t *p, size_t n);
int tl_mem_free(gpuvm_ptr_t p);
/* cudasim only: -ENOSYS on a real driver */
int tl_set_fail(const char *spec);
bool tl_is_cudasim(void);
/* gpuvm's count of one driver call on @dev */
uint64_t tl_calls(int dev, int call);
/* all driver calls gpuvm made on @dev */
uint64_t tl_calls_total(int dev);

#endif
