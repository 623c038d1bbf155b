/* SPDX-License-Identifier: MIT */
/*
 * launch.h - a tiny launcher for the kernels in kernels/, for programs that
 * use device memory (tests, `gpuvm stress`); the library never launches.
 *
 * It opens the driver itself (GPUVM_LIBCUDA, else libcuda.so.1) like any
 * CUDA application.  On cudasim it registers the C references through
 * cudasim's extension calls (found with dlsym) and loads cudasim's module
 * image; on a real driver it loads the fatbin embedded at build time.  Each
 * call makes the device's primary context current in the calling thread.
 *
 * Every function returns 0 or a negative errno: -ENODEV (no driver or
 * device), -ENOEXEC (a real driver but no kernels built in: no nvcc),
 * -EFAULT (the kernel touched memory it may not), -EIO (another driver
 * failure), -ENOMEM.  kl_strerror() says what the driver said.
 */
#ifndef GPUVM_KERNELS_LAUNCH_H
#define GPUVM_KERNELS_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Open the driver and retain every device's primary context (idempotent). */
int kl_open(void);
/* Free what kl_open() and the launches took; the driver stays loaded. */
void kl_close(void);
/*
 * For a message about a kl_*() call that failed with @err: the driver's
 * name and description of this thread's last failed call when @err came
 * from it, else strerror(-@err).
 */
const char *kl_strerror(int err);
/* Devices the driver reports (after kl_open()). */
int kl_device_count(void);
/* Whether the driver is cudasim (its extension calls exist). */
bool kl_is_cudasim(void);

/* Streams for @dev (a CUstream as void *; NULL means the legacy stream). */
int kl_stream_create(int dev, void **stream);
void kl_stream_destroy(int dev, void *stream);
int kl_stream_sync(int dev, void *stream);

/* gpuvm_fill over the words of [@p, @p + @bytes) (a tail under 8 bytes is
 * left alone); queued on @stream, not waited for. */
int kl_fill(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t seed);
/* gpuvm_verify of the same words: waits, and stores the mismatches in *@bad. */
int kl_verify(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t seed,
	      uint64_t *bad);
/* gpuvm_stride_touch: one read and write per @stride bytes; not waited for. */
int kl_stride_touch(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t stride);

/* cudasim only (-ENOSYS on a real driver): CUDASIM_FAIL at run time, the
 * objects a device holds, the outstanding-object report. */
int kl_sim_set_fail(const char *spec);
struct kl_sim_stats {
	unsigned long allocations, handles, mappings, reservations;
	size_t bytes_used, bytes_mapped;
};
int kl_sim_stats(int dev, struct kl_sim_stats *st);
long kl_sim_outstanding(int fd);

#endif /* GPUVM_KERNELS_LAUNCH_H */
