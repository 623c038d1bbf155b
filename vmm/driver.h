/* SPDX-License-Identifier: MIT */
/*
 * driver.h - the manager's only door to the CUDA driver.
 *
 * vmm/driver.c takes the process's libcuda from gpuvm_cuda_driver(),
 * calls it only through function pointers, turns every CUresult into 0 or
 * -errno and counts every call by enum gpuvm_driver_call, per device.
 * Everything above it (arena, pool, allocator) sees plain integers; a
 * warning about a failed call asks drv_strerror() for the driver's words.
 */
#ifndef GPUVM_VMM_DRIVER_H
#define GPUVM_VMM_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuvm/gpuvm.h>

typedef uint64_t drv_handle_t;		/* CUmemGenericAllocationHandle */
typedef void *drv_event_t;		/* CUevent */

/* name the @nth missing entry point in a message (cuda_driver.c) */
void drv_missing_add(char *buf, size_t len, size_t *n, size_t nth, const char *prefix,
		     const char *name);
/* open the driver and cuInit(); 0, -ENODEV (no driver or device) or -EIO */
int drv_open(void);
/* forget the driver (after drv_device_put() of every device) */
void drv_close(void);
int drv_device_count(void);

/* retain the primary context; fill name, total bytes and granularity */
int drv_device_get(int dev, char *name, size_t name_len, uint64_t *total,
		   uint64_t *granularity);
void drv_device_put(int dev);

/*
 * For a message about a call that failed with @err: the driver's name and
 * description of this thread's last failed call when @err came from it,
 * "CUDA_ERROR_INVALID_VALUE (invalid argument)", else strerror(-@err).
 */
const char *drv_strerror(int err);
/* before a call whose error may not be the driver's (see drv_strerror()) */
void drv_error_clear(void);

/* where the per-device call counters and times live (the published stats) */
void drv_set_counters(int dev, uint64_t *counts, uint64_t *ns);

int drv_address_reserve(int dev, uint64_t size, uint64_t align, uint64_t *va);
int drv_address_free(int dev, uint64_t va, uint64_t size);
int drv_mem_create(int dev, uint64_t size, drv_handle_t *h);
int drv_mem_release(int dev, drv_handle_t h);
/* @size bytes of @h from byte @offset (granularity-aligned) at @va */
int drv_mem_map(int dev, uint64_t va, uint64_t size, drv_handle_t h, uint64_t offset);
int drv_mem_unmap(int dev, uint64_t va, uint64_t size);
/* whether chunks of @dev are created exportable as POSIX file descriptors */
bool drv_can_export(int dev);
/* a POSIX fd of allocation @h (the caller closes it); import one into *@h */
int drv_mem_export(int dev, drv_handle_t h, int *fd);
int drv_mem_import(int dev, int fd, drv_handle_t *h);
/* read-write access for @dev over [va, va + size) */
int drv_set_access(int dev, uint64_t va, uint64_t size, uint32_t peers);
int drv_ctx_synchronize(int dev);
int drv_event_create(int dev, drv_event_t *ev);
int drv_event_record(int dev, drv_event_t ev, void *stream);
/* 0 when complete, -EAGAIN while pending, else -errno */
int drv_event_query(int dev, drv_event_t ev);
int drv_event_synchronize(int dev, drv_event_t ev);
int drv_event_destroy(int dev, drv_event_t ev);

#endif /* GPUVM_VMM_DRIVER_H */
