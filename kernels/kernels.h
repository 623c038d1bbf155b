/* SPDX-License-Identifier: MIT */
/*
 * kernels.h - the device kernels gpuvm's tests and stress tools launch, and
 * their C reference implementations.
 *
 * Each kernel has a CUDA version (kernels/<name>.cu, built by nvcc into a
 * fatbin embedded in the programs that launch them) and a C reference with
 * the same meaning (kernels/reference.c), which cudasim runs when a program
 * launches the kernel on it.  The pattern is a function of the seed and the
 * word's index, so data that moved, was lost or was overwritten is found.
 *
 *   gpuvm_fill(u64 *p, u64 nwords, u64 seed)
 *       p[i] = gpuvm_pattern(seed, i)
 *   gpuvm_verify(const u64 *p, u64 nwords, u64 seed, u64 *bad)
 *       atomically adds to *bad the number of i with p[i] != pattern
 *   gpuvm_stride_touch(u8 *p, u64 bytes, u64 stride)
 *       p[k * stride] ^= 0 for every k (a read and a write per stride)
 */
#ifndef GPUVM_KERNELS_H
#define GPUVM_KERNELS_H

#include <stdint.h>

#define GPUVM_KERNEL_FILL		"gpuvm_fill"
#define GPUVM_KERNEL_VERIFY		"gpuvm_verify"
#define GPUVM_KERNEL_STRIDE_TOUCH	"gpuvm_stride_touch"

/* Threads per block every launcher uses. */
#define GPUVM_KERNEL_BLOCK		256

#ifdef __CUDACC__
#define GPUVM_HOST_DEVICE __host__ __device__
#else
#define GPUVM_HOST_DEVICE
#endif

/* splitmix64 of seed and index: cheap, and every bit depends on both. */
static inline GPUVM_HOST_DEVICE uint64_t gpuvm_pattern(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The C references, with cuLaunchKernel's calling convention: params[] holds
 * pointers to each argument.  They touch host-visible memory (cudasim maps
 * device memory into the process); a launcher checks the range first.
 */
#ifndef __CUDACC__
void gpuvm_fill_ref(void **params);
void gpuvm_verify_ref(void **params);
void gpuvm_stride_touch_ref(void **params);
#endif

#endif /* GPUVM_KERNELS_H */
