/* SPDX-License-Identifier: MIT */
/*
 * cudasim_ext.h - cudasim-only extension calls.
 *
 * cudasim (tools/cudasim, built as libcuda.so.1) implements the CUDA driver
 * API subset gpuvm uses on the CPU.  These extra entry points let tests and
 * the kernels/ reference implementations talk to it; they do not exist in
 * the real driver, so code that may run on a GPU must look them up with
 * dlsym() and cope with their absence.  See Documentation/cudasim.rst.
 */
#ifndef CUDASIM_EXT_H
#define CUDASIM_EXT_H

#include <stddef.h>
#include <cuda.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * typedef cudasim_kernel_fn - C reference implementation of a kernel
 * @params: the kernelParams array given to cuLaunchKernel (one pointer per
 *          kernel argument, pointing at the argument's value)
 * @grid:   gridDimX, gridDimY, gridDimZ of the launch
 * @block:  blockDimX, blockDimY, blockDimZ of the launch
 *
 * Called synchronously by cuLaunchKernel, without cudasim's lock held.  It
 * must check every device range it touches with cudasim_check_range() (or
 * cudasim_check_access() for reads) and report a bad one with
 * cudasim_kernel_fault() instead of touching it.
 */
typedef void (*cudasim_kernel_fn)(void **params, unsigned grid[3], unsigned block[3]);

/**
 * cudasim_register_kernel - make a kernel known to cuModuleGetFunction
 * @name: the kernel's (unmangled or mangled) name, as passed to
 *        cuModuleGetFunction; copied
 * @fn:   its reference implementation
 *
 * Registering a name again replaces its function.  May be called before
 * cuInit.  Return: 0, or -EINVAL for a NULL/empty name or NULL @fn, -ENOMEM.
 */
int cudasim_register_kernel(const char *name, cudasim_kernel_fn fn);

/**
 * cudasim_check_range - may a kernel write [@p, @p + @n)?
 * @p: device address
 * @n: length in bytes (0 checks nothing and succeeds)
 *
 * Return: 0 when the whole range lies in cuMemAlloc memory or in VMM
 * mappings with read-write access for the current context's device, and
 * -EFAULT otherwise (-EINVAL when there is no current context).
 */
int cudasim_check_range(CUdeviceptr p, size_t n);

/**
 * cudasim_check_access - like cudasim_check_range, for reads or writes
 * @p:     device address
 * @n:     length in bytes
 * @write: non-zero to require read-write access, zero for read access
 */
int cudasim_check_access(CUdeviceptr p, size_t n, int write);

/**
 * cudasim_kernel_fault - report an illegal access from a running kernel
 * @addr: the faulting device address
 *
 * Makes the current cuLaunchKernel return CUDA_ERROR_ILLEGAL_ADDRESS (in
 * the real driver that error is sticky; in cudasim it is not).
 */
void cudasim_kernel_fault(CUdeviceptr addr);

/**
 * cudasim_call_count - how often a driver entry point was called
 * @name: entry point, with or without its _v2/_v3/_ptsz/_ptds suffix
 *
 * All versions of an entry point share one counter.  Return: the number
 * of calls since the process started (0 for a name never called).
 */
unsigned long cudasim_call_count(const char *name);

/**
 * cudasim_set_fail - replace the fault-injection spec at run time
 * @spec: same syntax as CUDASIM_FAIL ("cuMemCreate:3,cuMemMap:2+"), or
 *        NULL or "" to inject nothing
 *
 * Call numbers in @spec count from this call on: "cuMemMap:1" fails the
 * next cuMemMap.  Return: 0, or -EINVAL (spec unchanged) when malformed.
 */
int cudasim_set_fail(const char *spec);

/**
 * struct cudasim_stats - what one simulated device holds right now
 * @allocations:   live cuMemAlloc* / cuMemAllocAsync allocations
 * @handles:       live physical allocations from cuMemCreate/import,
 *                 including released ones kept alive by a mapping
 * @mappings:      live cuMemMap mappings
 * @reservations:  live cuMemAddressReserve ranges (process wide; reported
 *                 for every device)
 * @bytes_total:   device capacity (CUDASIM_MEM), bytes
 * @bytes_used:    physical bytes taken by allocations and handles (with
 *                 CUDASIM_ALLOC=paged, whole 2 MiB pages: what cuMemGetInfo
 *                 counts)
 * @bytes_alloc:   bytes requested by cuMemAlloc* (rounded to 512); with
 *                 CUDASIM_ALLOC=contiguous exactly their part of @bytes_used
 * @bytes_mapped:  VA bytes covered by mappings, bytes
 * @bytes_reserved: VA bytes reserved (process wide), bytes
 */
struct cudasim_stats {
	unsigned long allocations;
	unsigned long handles;
	unsigned long mappings;
	unsigned long reservations;
	size_t bytes_total;
	size_t bytes_used;
	size_t bytes_alloc;
	size_t bytes_mapped;
	size_t bytes_reserved;
};

/**
 * cudasim_stats - snapshot of a device's state
 * @dev: device ordinal
 * @st:  filled in
 *
 * Return: 0, -EINVAL for a NULL @st, -ENODEV before cuInit or for a bad
 * ordinal.
 */
int cudasim_stats(int dev, struct cudasim_stats *st);

/**
 * cudasim_outstanding - print what is still allocated
 * @fd: file descriptor to write the report to (one line per object)
 *
 * The report CUDASIM_LEAKCHECK=1 prints at exit.  Return: the number of
 * outstanding objects.
 */
unsigned long cudasim_outstanding(int fd);

#ifdef __cplusplus
}
#endif

#endif /* CUDASIM_EXT_H */
