/* SPDX-License-Identifier: MIT */
/*
 * gpuvm/cuda_driver.h - the one way gpuvm opens the CUDA driver.
 *
 * libgpuvm, the preload shim, the kernel launcher and the tools open
 * libcuda only through these, so that in one process they all use the
 * same file, opened the same way, and agree on what a driver is:
 *
 * - which file: $GPUVM_LIBCUDA when it names a usable driver, else
 *   libcuda.so.1 as the dynamic linker finds it.  A GPUVM_LIBCUDA that
 *   cannot be used is reported once, in one warning, and then treated as
 *   unset: the program runs on libcuda.so.1, never half on one driver and
 *   half on another.
 * - what a driver is: a library that exports cuInit, cuDriverGetVersion,
 *   cuDeviceGetCount, cuDeviceGet and cuGetProcAddress, and is not gpuvm's
 *   preload shim (whose hooks would call themselves).  Anything else is
 *   refused whole.
 * - a missing entry point beyond those: its user decides, and says so.
 *   libgpuvm needs the virtual memory management calls and fails
 *   gpuvm_init() without them; the shim answers a call it cannot pass on
 *   with CUDA_ERROR_NOT_FOUND; the launcher fails with -ENODEV.
 */
#ifndef GPUVM_CUDA_DRIVER_H
#define GPUVM_CUDA_DRIVER_H

#include <stddef.h>

#include <gpuvm/gpuvm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a refusal's reason (gpuvm_cuda_open()'s @why). */
#define GPUVM_CUDA_WHY_LEN	320

/**
 * gpuvm_cuda_driver - the process's CUDA driver, opened once
 * @path: if not NULL, set to the file it is (as dlopen() was given it)
 *
 * The first call opens it ($GPUVM_LIBCUDA, else libcuda.so.1; see above)
 * with RTLD_NOW | RTLD_GLOBAL, as if the program were linked with it, and
 * reports on stderr why a GPUVM_LIBCUDA was passed over or why no driver
 * could be used; later calls, from any thread or component, return the
 * same handle.  The handle is never closed: the process keeps the driver
 * mapped until it exits.  Thread-safe; fork keeps it.
 * Return: the dlopen() handle, or NULL when no driver is usable.
 */
GPUVM_API void *gpuvm_cuda_driver(const char **path);

/**
 * gpuvm_cuda_open - open one file and check that it is a CUDA driver
 * @path: the file (a name dlopen() searches for, or a path)
 * @why: where the reason for a refusal goes, to follow the path in a
 *       message: "is not a CUDA driver: it lacks cuInit, ...", "is gpuvm's
 *       preload shim, not a CUDA driver", "cannot be opened: " and what
 *       dlopen() said
 * @len: size of @why (GPUVM_CUDA_WHY_LEN is enough)
 *
 * For probing a candidate without making it the process's driver: opened
 * RTLD_NOW | RTLD_LOCAL; dlclose() the handle when done.
 * Return: the handle, or NULL with the reason in @why.
 */
GPUVM_API void *gpuvm_cuda_open(const char *path, char *why, size_t len);

/**
 * gpuvm_cuda_sym - an entry point of a driver
 * @lib: a handle from gpuvm_cuda_driver() or gpuvm_cuda_open()
 * @name: the base name cuGetProcAddress knows ("cuMemAlloc"), or NULL
 * @versioned: the exported name for dlsym() ("cuMemAlloc_v2"), or NULL
 *             when it is @name
 *
 * Through the driver's cuGetProcAddress_v2 for the CUDA 12.0 ABI when it
 * has one and knows @name, else dlsym(@versioned); the driver's own
 * function either way, never a preloaded hook.
 * Return: the function, or NULL when the driver lacks it.
 */
GPUVM_API void *gpuvm_cuda_sym(void *lib, const char *name, const char *versioned);

#ifdef __cplusplus
}
#endif

#endif /* GPUVM_CUDA_DRIVER_H */
