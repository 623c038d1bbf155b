// SPDX-License-Identifier: MIT
/*
 * shim_memory.c - the allocation entry points routed to gpuvm.
 *
 * cuMemAlloc_v2, cuMemAllocPitch_v2, cuMemAllocAsync and
 * cuMemAllocFromPoolAsync (and their _ptsz forms) allocate from gpuvm on
 * the device of the calling thread's current context; cuMemFree_v2 and
 * cuMemFreeAsync give gpuvm's pointers back to gpuvm and every other pointer
 * to the driver.  Whatever gpuvm should not or cannot serve goes to the
 * driver untouched: bad arguments (so the driver's own error comes back), no
 * current context, a graph being captured (the allocation must become part
 * of the graph, and gpuvm may synchronize), a device gpuvm cannot manage.
 * The 32-bit entry points of CUDA < 3.2 are not hooked: gpuvm's addresses
 * do not fit them.
 */
#include <errno.h>
#include <string.h>

#include "shim.h"

/*
 * The pitch cuMemAllocPitch hands out: rows start at multiples of this, the
 * widest alignment any current GPU asks for (texture pitch alignment and
 * coalescing both divide it).
 */
#define SHIM_PITCH_ALIGN	512

/* The device of the last context this thread saw current. */
static __thread CUcontext tls_ctx __attribute__((tls_model("initial-exec")));
static __thread int tls_dev __attribute__((tls_model("initial-exec")));

/**
 * shim_current_device - device ordinal of the calling thread's context
 *
 * One cuCtxGetCurrent per call (a thread-local read in the driver); the
 * device of that context is asked only when the context changed.
 * Return: the ordinal, or -1 when no context is current.
 */
int shim_current_device(void)
{
	CUcontext ctx;
	CUdevice dev;

	if (shim.real.cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return -1;
	if (likely(ctx == tls_ctx))
		return tls_dev;
	if (shim.real.cuCtxGetDevice(&dev) != CUDA_SUCCESS)
		return -1;
	tls_ctx = ctx;
	tls_dev = dev;
	return dev;
}

/**
 * shim_cuda_error - a gpuvm error as the driver would have said it
 * @err: 0 or negative errno from the gpuvm API
 */
CUresult shim_cuda_error(int err)
{
	switch (err) {
	case 0:
		return CUDA_SUCCESS;
	case -ENOMEM:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case -EINVAL:
	case -ERANGE:
	case -ENOENT:
		return CUDA_ERROR_INVALID_VALUE;
	case -ESHUTDOWN:
		/* gpuvm is gone (the process is exiting), as the driver says it */
		return CUDA_ERROR_DEINITIALIZED;
	default:
		return CUDA_ERROR_UNKNOWN;
	}
}

/* gpuvm cannot manage this device at all: the driver serves it instead. */
static bool gpuvm_unusable(int err, int dev)
{
	if (err != -ENODEV && err != -EOPNOTSUPP && err != -ENOSYS)
		return false;
	shim_log_once(SHIM_LOG_WARN,
		      "gpuvm cannot manage device %d (%s); its memory comes from the driver",
		      dev, strerror(-err));
	return true;
}

/*
 * Allocate from gpuvm if the call is gpuvm's to serve.
 * Return: true with *@res set when gpuvm answered; false to pass through.
 */
static bool gpuvm_serves_alloc(CUdeviceptr *dptr, size_t size, bool async, CUstream stream,
			       bool per_thread, CUresult *res)
{
	gpuvm_ptr_t ptr;
	int dev, err;

	if (unlikely(!dptr || !size))
		return false;
	if (unlikely(shim_any_capture())) {
		/* A synchronous allocation while any capture runs may be one
		 * the capture forbids: the driver decides. */
		if (!async || shim_stream_capturing(stream, per_thread))
			return false;
	}
	dev = shim_current_device();
	if (unlikely(dev < 0))
		return false;
	if (async) {
		if (per_thread && !stream)
			stream = CU_STREAM_PER_THREAD;
		err = gpuvm_alloc_async(dev, size, stream, &ptr);
	} else {
		err = gpuvm_alloc(dev, size, 0, &ptr);
	}
	if (likely(!err)) {
		*dptr = ptr;
		*res = CUDA_SUCCESS;
		return true;
	}
	if (gpuvm_unusable(err, dev))
		return false;
	shim_debug("gpuvm_alloc(%d, %zu): %d", dev, size, err);
	*res = shim_cuda_error(err);
	return true;
}

/** cuMemAlloc_v2 - the driver's cuMemAlloc, from gpuvm */
SHIM_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t size)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_alloc(dptr, size, false, NULL, false, &res))
		return res;
	return shim.real.cuMemAlloc_v2(dptr, size);
}

/**
 * cuMemAllocPitch_v2 - the driver's cuMemAllocPitch, from gpuvm
 *
 * Rows are SHIM_PITCH_ALIGN apart (rounded up); arguments the driver would
 * refuse go to the driver for its error.
 */
SHIM_EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width,
					size_t height, unsigned int elem_size)
{
	size_t row;
	CUresult res;

	if (!shim_routing() || !pitch || !width || !height ||
	    (elem_size != 4 && elem_size != 8 && elem_size != 16))
		goto pass;
	row = (width + SHIM_PITCH_ALIGN - 1) & ~(size_t)(SHIM_PITCH_ALIGN - 1);
	if (row < width || height > SIZE_MAX / row)
		goto pass;
	if (!gpuvm_serves_alloc(dptr, row * height, false, NULL, false, &res))
		goto pass;
	if (res == CUDA_SUCCESS)
		*pitch = row;
	return res;
pass:
	return shim.real.cuMemAllocPitch_v2(dptr, pitch, width, height, elem_size);
}

/*
 * cuMemFree(Async) of a gpuvm pointer; false when it is not gpuvm's.
 * gpuvm_free() itself tells: -EINVAL, changing nothing, for any address
 * that does not start a live gpuvm allocation (one arena bounds check for
 * the driver's pointers), so the hot path asks nothing else.  An address
 * gpuvm refuses goes on to the driver, which gives its own error.
 */
static bool gpuvm_serves_free(CUdeviceptr dptr, bool async, CUstream stream, bool per_thread,
			      CUresult *res)
{
	int err;

	if (unlikely(!dptr))
		return false;
	if (!async) {
		err = gpuvm_free(dptr);
	} else {
		if (per_thread && !stream)
			stream = CU_STREAM_PER_THREAD;
		if (unlikely(shim_any_capture()) && gpuvm_owns(dptr, NULL) &&
		    shim_stream_capturing(stream, false)) {
			/* A graph cannot hold a free of memory it does not own. */
			shim_log_once(SHIM_LOG_WARN,
				      "cuMemFreeAsync of gpuvm memory on a capturing stream is not supported");
			*res = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
			return true;
		}
		err = gpuvm_free_async(dptr, stream);
	}
	if (err == -EINVAL)
		return false;
	if (unlikely(err))
		shim_debug("gpuvm_free(%#llx): %d", (unsigned long long)dptr, err);
	*res = shim_cuda_error(err);
	return true;
}

/** cuMemFree_v2 - the driver's cuMemFree: gpuvm's pointers to gpuvm */
SHIM_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_free(dptr, false, NULL, false, &res))
		return res;
	return shim.real.cuMemFree_v2(dptr);
}

/** cuMemAllocAsync - the driver's cuMemAllocAsync, from gpuvm */
SHIM_EXPORT CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t size, CUstream stream)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_alloc(dptr, size, true, stream, false, &res))
		return res;
	return shim.real.cuMemAllocAsync(dptr, size, stream);
}

/** cuMemAllocAsync_ptsz - cuMemAllocAsync, NULL meaning the per-thread stream */
SHIM_EXPORT CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t size, CUstream stream)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_alloc(dptr, size, true, stream, true, &res))
		return res;
	return shim.real.cuMemAllocAsync_ptsz(dptr, size, stream);
}

/**
 * cuMemAllocFromPoolAsync - the driver's cuMemAllocFromPoolAsync, from gpuvm
 *
 * The pool is not consulted: gpuvm's own pool serves every device
 * allocation (see Documentation/shim.rst).
 */
SHIM_EXPORT CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t size, CUmemoryPool pool,
					     CUstream stream)
{
	CUresult res;

	if (shim_routing() && pool && gpuvm_serves_alloc(dptr, size, true, stream, false, &res))
		return res;
	return shim.real.cuMemAllocFromPoolAsync(dptr, size, pool, stream);
}

/** cuMemAllocFromPoolAsync_ptsz - the per-thread-stream form */
SHIM_EXPORT CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t size,
						  CUmemoryPool pool, CUstream stream)
{
	CUresult res;

	if (shim_routing() && pool && gpuvm_serves_alloc(dptr, size, true, stream, true, &res))
		return res;
	return shim.real.cuMemAllocFromPoolAsync_ptsz(dptr, size, pool, stream);
}

/** cuMemFreeAsync - the driver's cuMemFreeAsync: gpuvm's pointers to gpuvm */
SHIM_EXPORT CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream stream)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_free(dptr, true, stream, false, &res))
		return res;
	return shim.real.cuMemFreeAsync(dptr, stream);
}

/** cuMemFreeAsync_ptsz - the per-thread-stream form */
SHIM_EXPORT CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream stream)
{
	CUresult res;

	if (shim_routing() && gpuvm_serves_free(dptr, true, stream, true, &res))
		return res;
	return shim.real.cuMemFreeAsync_ptsz(dptr, stream);
}
