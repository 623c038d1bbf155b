/* SPDX-License-Identifier: MIT */
/*
 * shim.h - private to runtime/: the preload shim's state, the real driver
 * entry points and the helpers every hook uses.
 *
 * See Documentation/shim.rst for the design.  In short: the shim opens the
 * real driver itself, keeps one pointer per driver function it wraps or
 * needs, and hands its hooks out wherever a program can find a driver
 * function (the dynamic linker, dlsym, cuGetProcAddress).  It holds no
 * memory-management logic; every decision about memory is libgpuvm's.
 */
#ifndef GPUVM_RUNTIME_SHIM_H
#define GPUVM_RUNTIME_SHIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <gpuvm/gpuvm.h>

#include "cuabi.h"

#define SHIM_EXPORT	__attribute__((visibility("default")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * The driver functions the shim hooks: X(name, parameter list), all
 * returning CUresult.  Each hook is exported under the driver's name and
 * passes through to the real function when the memory is not gpuvm's.
 */
#define SHIM_HOOK_FUNCS(X)						\
	X(cuGetProcAddress, (const char *symbol, void **pfn, int cuda_version, \
			     cuuint64_t flags))				\
	X(cuGetProcAddress_v2, (const char *symbol, void **pfn,		\
				int cuda_version, cuuint64_t flags,	\
				CUdriverProcAddressQueryResult *status)) \
	X(cuMemAlloc_v2, (CUdeviceptr *dptr, size_t size))		\
	X(cuMemAllocPitch_v2, (CUdeviceptr *dptr, size_t *pitch,	\
			       size_t width, size_t height,		\
			       unsigned int elem_size))			\
	X(cuMemFree_v2, (CUdeviceptr dptr))				\
	X(cuMemAllocAsync, (CUdeviceptr *dptr, size_t size, CUstream stream)) \
	X(cuMemAllocAsync_ptsz, (CUdeviceptr *dptr, size_t size,	\
				 CUstream stream))			\
	X(cuMemFreeAsync, (CUdeviceptr dptr, CUstream stream))		\
	X(cuMemFreeAsync_ptsz, (CUdeviceptr dptr, CUstream stream))	\
	X(cuMemAllocFromPoolAsync, (CUdeviceptr *dptr, size_t size,	\
				    CUmemoryPool pool, CUstream stream)) \
	X(cuMemAllocFromPoolAsync_ptsz, (CUdeviceptr *dptr, size_t size, \
					 CUmemoryPool pool, CUstream stream)) \
	X(cuMemGetInfo_v2, (size_t *free, size_t *total))		\
	X(cuMemGetAddressRange_v2, (CUdeviceptr *base, size_t *size,	\
				    CUdeviceptr dptr))			\
	X(cuPointerGetAttribute, (void *data, CUpointer_attribute attr,	\
				  CUdeviceptr ptr))			\
	X(cuPointerGetAttributes, (unsigned int count,			\
				   CUpointer_attribute *attrs, void **data, \
				   CUdeviceptr ptr))			\
	X(cuCtxEnablePeerAccess, (CUcontext peer, unsigned int flags))	\
	X(cuIpcGetMemHandle, (CUipcMemHandle *handle, CUdeviceptr dptr))	\
	X(cuIpcOpenMemHandle, (CUdeviceptr *dptr, CUipcMemHandle handle,	\
			       unsigned int flags))			\
	X(cuIpcOpenMemHandle_v2, (CUdeviceptr *dptr, CUipcMemHandle handle, \
				  unsigned int flags))			\
	X(cuIpcCloseMemHandle, (CUdeviceptr dptr))			\
	X(cuStreamBeginCapture, (CUstream stream))			\
	X(cuStreamBeginCapture_ptsz, (CUstream stream))			\
	X(cuStreamBeginCapture_v2, (CUstream stream, CUstreamCaptureMode mode)) \
	X(cuStreamBeginCapture_v2_ptsz, (CUstream stream,		\
					 CUstreamCaptureMode mode))	\
	X(cuStreamBeginCaptureToGraph, (CUstream stream, CUgraph graph,	\
					const CUgraphNode *deps,	\
					const CUgraphEdgeData *edges,	\
					size_t nr_deps,			\
					CUstreamCaptureMode mode))	\
	X(cuStreamBeginCaptureToGraph_ptsz, (CUstream stream, CUgraph graph, \
					     const CUgraphNode *deps,	\
					     const CUgraphEdgeData *edges, \
					     size_t nr_deps,		\
					     CUstreamCaptureMode mode))	\
	X(cuStreamEndCapture, (CUstream stream, CUgraph *graph))	\
	X(cuStreamEndCapture_ptsz, (CUstream stream, CUgraph *graph))

/* Driver functions the shim calls for itself. */
#define SHIM_PLAIN_FUNCS(X)						\
	X(cuCtxGetCurrent, (CUcontext *ctx))				\
	X(cuCtxGetDevice, (CUdevice *dev))				\
	X(cuCtxPushCurrent_v2, (CUcontext ctx))				\
	X(cuCtxPopCurrent_v2, (CUcontext *ctx))				\
	X(cuStreamIsCapturing, (CUstream stream,			\
				CUstreamCaptureStatus *status))

#define SHIM_REAL_FUNCS(X) SHIM_HOOK_FUNCS(X) SHIM_PLAIN_FUNCS(X)

#define SHIM_DECLARE_TYPE(name, params) typedef CUresult shim_##name##_fn params;
SHIM_REAL_FUNCS(SHIM_DECLARE_TYPE)
#undef SHIM_DECLARE_TYPE

/* The hooks: exported under the driver's names (defined in runtime/). */
#define SHIM_DECLARE_HOOK(name, params) SHIM_EXPORT CUresult name params;
SHIM_HOOK_FUNCS(SHIM_DECLARE_HOOK)
#undef SHIM_DECLARE_HOOK

struct shim_real {
#define SHIM_DECLARE_FIELD(name, params) shim_##name##_fn *name;
	SHIM_REAL_FUNCS(SHIM_DECLARE_FIELD)
#undef SHIM_DECLARE_FIELD
};

/*
 * Written once by shim_init_slow() before shim_state.ready is set with
 * release order (and again in a fork child, which has one thread); read
 * without a lock after an acquire load of ready.
 */
struct shim_state {
	atomic_int ready;		/* the fields below are valid */
	bool disabled;			/* GPUVM_DISABLE: pure pass-through */
	void *driver;			/* dlopen() handle of the real driver */
	const void *driver_base;	/* load address of the real driver */
	const void *gpuvm_base;		/* load address of libgpuvm.so */
	const void *shim_base;		/* load address of this library */
	struct shim_real real;
};

extern struct shim_state shim;

/* Graph captures in progress anywhere in the process (shim_capture.c). */
extern atomic_long shim_captures;

void shim_init_slow(void);

/* Lazy, thread-safe initialization: whichever hook comes first does it. */
static inline void shim_init(void)
{
	if (unlikely(!atomic_load_explicit(&shim.ready, memory_order_acquire)))
		shim_init_slow();
}

/* Whether memory calls go to gpuvm (initializes on first use). */
static inline bool shim_routing(void)
{
	shim_init();
	return !shim.disabled;
}

/* shim_preload.c */
void *shim_real_dlsym(void *handle, const char *name);
bool shim_caller_is_internal(const void *caller);
CUresult shim_missing(void);

/* Whether the driver has a function (else shim.real.name is shim_missing). */
#define shim_has(name)	((void *)shim.real.name != (void *)shim_missing)

/* shim_procaddr.c */
void *shim_route_hook(const char *name);

/* shim_memory.c */
int shim_current_device(void);
CUresult shim_cuda_error(int err);

/* shim_capture.c: whether @stream (legacy or per-thread if NULL) may be capturing. */
bool shim_stream_capturing(CUstream stream, bool per_thread);

static inline bool shim_any_capture(void)
{
	return atomic_load_explicit(&shim_captures, memory_order_relaxed) > 0;
}

/* shim_log.c: GPUVM_LOG=warn|info|debug, to stderr. */
enum shim_log_level {
	SHIM_LOG_WARN,
	SHIM_LOG_INFO,
	SHIM_LOG_DEBUG,
};

extern int shim_log_level;

void shim_log_init(void);
void shim_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define shim_warn(...)	shim_log(SHIM_LOG_WARN, __VA_ARGS__)
#define shim_info(...)	shim_log(SHIM_LOG_INFO, __VA_ARGS__)
#define shim_debug(...)	shim_log(SHIM_LOG_DEBUG, __VA_ARGS__)

/* Log once per call site (the flag is static to the expansion). */
#define shim_log_once(level, ...)					\
	do {								\
		static atomic_flag __logged = ATOMIC_FLAG_INIT;	\
		if (!atomic_flag_test_and_set(&__logged))		\
			shim_log(level, __VA_ARGS__);			\
	} while (0)

/*
 * Optional libgpuvm entry points the shim uses when the library has them
 * (weak: a libgpuvm without them still loads).
 *
 * gpuvm_peer_access - make every present and future mapping of @dev
 * accessible from device @peer as well.  Return: 0 or negative errno.
 */
int gpuvm_peer_access(int dev, int peer) __attribute__((weak));

#endif /* GPUVM_RUNTIME_SHIM_H */
