/* SPDX-License-Identifier: MIT */
/*
 * gpuvm.h - the public API of libgpuvm, a user-space GPU virtual-memory
 * manager.
 *
 * Every call returns 0 or a negative errno.  Device memory comes from one
 * large virtual reservation per device, backed on demand by fixed-size
 * physical chunks (see Documentation/vmm.rst).  Nothing here needs the CUDA
 * headers: device pointers are gpuvm_ptr_t (the driver's CUdeviceptr) and
 * streams are passed as void * (the driver's CUstream).
 *
 * The library initializes itself lazily on first use (thread-safe) and tears
 * down at exit; gpuvm_init()/gpuvm_shutdown() exist for callers that want to
 * choose the moment.
 */
#ifndef GPUVM_GPUVM_H
#define GPUVM_GPUVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPUVM_API __attribute__((visibility("default")))

/* A device virtual address (the driver's CUdeviceptr). */
typedef uint64_t gpuvm_ptr_t;

#define GPUVM_MAX_DEVICES	16

/*
 * A symbol only the preload shim (libgpuvm_preload.so) exports: whoever
 * opens a CUDA driver looks it up first, and refuses a library that has
 * it, whose cu* functions are hooks that would call themselves.
 */
#define GPUVM_SHIM_MARKER	"gpuvm_preload_shim"

/* Flags of gpuvm_alloc(). */
#define GPUVM_ALLOC_NOCACHE	(1u << 0)	/* map fresh: skip the free-range cache */
#define GPUVM_ALLOC_LARGE	(1u << 1)	/* never sub-allocate (own chunks) */

/**
 * gpuvm_init - initialize the library (idempotent, thread-safe)
 *
 * Opens the driver (GPUVM_LIBCUDA or libcuda.so.1), reads policy defaults
 * from GPUVM_<KNOB> variables and sets up every device lazily.
 * Return: 0, or -ENODEV when no driver or device is usable.
 */
GPUVM_API int gpuvm_init(void);

/**
 * gpuvm_shutdown - free every cached resource and detach from the driver
 *
 * Live allocations are released.  Called at exit automatically.  Calls
 * other threads make meanwhile fail with -ESHUTDOWN (after exit, for
 * good); those already inside are waited for first.
 */
GPUVM_API void gpuvm_shutdown(void);

/**
 * gpuvm_device_count - number of devices gpuvm can manage
 * Return: count (>= 1), or negative errno.
 */
GPUVM_API int gpuvm_device_count(void);

/**
 * gpuvm_alloc - allocate device memory
 * @dev: device ordinal
 * @size: bytes requested (> 0)
 * @flags: GPUVM_ALLOC_*
 * @ptr: on success, the device address
 *
 * Return: 0; -EINVAL (bad size, flags or device), -ENOMEM (out of memory
 * after reclaiming what could be reclaimed, or over the limit), -EIO (the
 * driver failed).
 */
GPUVM_API int gpuvm_alloc(int dev, size_t size, unsigned int flags, gpuvm_ptr_t *ptr);

/**
 * gpuvm_alloc_async - allocate in stream order
 * @dev: device ordinal
 * @size: bytes requested
 * @stream: the CUstream the memory will be used on (NULL: legacy stream)
 * @ptr: on success, the device address
 *
 * Like gpuvm_alloc(), but may also reuse memory freed with
 * gpuvm_free_async() on the same @stream without waiting for that stream.
 */
GPUVM_API int gpuvm_alloc_async(int dev, size_t size, void *stream, gpuvm_ptr_t *ptr);

/**
 * gpuvm_alloc_growable - reserve a growable allocation
 * @dev: device ordinal
 * @max_size: the largest size it may ever grow to (virtual only)
 * @size: the initial size (mapped now; may be 0)
 * @ptr: on success, the device address; it never moves
 *
 * Grow and shrink it with gpuvm_resize().
 */
GPUVM_API int gpuvm_alloc_growable(int dev, size_t max_size, size_t size, gpuvm_ptr_t *ptr);

/**
 * gpuvm_resize - grow or shrink a growable allocation in place
 * @ptr: start address returned by gpuvm_alloc_growable()
 * @new_size: new size, at most its max_size
 *
 * Maps or unmaps chunks at the tail; the address never moves and the data
 * below min(old, new) size is kept.
 * Return: 0; -EINVAL (not a growable allocation start), -ERANGE (above
 * max_size), -ENOMEM.
 */
GPUVM_API int gpuvm_resize(gpuvm_ptr_t ptr, size_t new_size);

/**
 * gpuvm_free - free an allocation
 * @ptr: the address gpuvm_alloc*() returned
 *
 * Synchronous for the caller like cuMemFree: the memory is not handed out
 * again while GPU work queued before this call may still touch it.
 * Return: 0; -EINVAL when @ptr is not the start of a live gpuvm allocation
 * (nothing is changed).
 */
GPUVM_API int gpuvm_free(gpuvm_ptr_t ptr);

/**
 * gpuvm_free_async - free in stream order
 * @ptr: the address gpuvm_alloc*() returned
 * @stream: the CUstream whose queued work may still use @ptr
 *
 * The memory is reused once an event recorded on @stream now has completed
 * (immediately by later gpuvm_alloc_async() on the same stream).
 */
GPUVM_API int gpuvm_free_async(gpuvm_ptr_t ptr, void *stream);

/**
 * gpuvm_owns - whether an address lies in memory gpuvm handed out
 * @ptr: any address
 * @dev: if non-NULL, receives the device ordinal
 * Return: true when @ptr is inside a live gpuvm allocation.  Cheap: no lock
 * for large allocations; a sub-allocated object is checked in its slab under
 * the device lock.
 */
GPUVM_API bool gpuvm_owns(gpuvm_ptr_t ptr, int *dev);

/**
 * gpuvm_peer_access - let device @peer access @dev's gpuvm memory
 * @dev: the device whose memory is accessed
 * @peer: the device that accesses it
 *
 * Present and future mappings of @dev become accessible from @peer (what
 * cuCtxEnablePeerAccess means for gpuvm memory).
 * Return: 0, -EINVAL, or the driver's error (nothing changed).
 */
GPUVM_API int gpuvm_peer_access(int dev, int peer);

struct gpuvm_alloc_info {
	gpuvm_ptr_t base;	/* allocation start */
	uint64_t size;		/* bytes usable (mapped, rounded) */
	uint64_t requested;	/* bytes asked for */
	uint64_t max_size;	/* virtual size reserved (growable), else size */
	uint64_t id;		/* allocation id, unique per process */
	uint32_t nr_chunks;	/* physical chunks behind it (0: sub-allocated) */
	int32_t device;
	uint32_t flags;		/* GPUVM_INFO_* */
};

#define GPUVM_INFO_SMALL	(1u << 0)	/* sub-allocated from a shared chunk */
#define GPUVM_INFO_GROWABLE	(1u << 1)

/**
 * gpuvm_query - describe the allocation containing an address
 * @ptr: any address inside a live gpuvm allocation
 * @info: filled on success
 * Return: 0, or -ENOENT when gpuvm did not hand out @ptr.
 */
GPUVM_API int gpuvm_query(gpuvm_ptr_t ptr, struct gpuvm_alloc_info *info);

/* Driver calls counted by the wrapper, by name (gpuvm_driver_call_name()). */
enum gpuvm_driver_call {
	GPUVM_DRV_MEM_CREATE,
	GPUVM_DRV_MEM_RELEASE,
	GPUVM_DRV_MEM_MAP,
	GPUVM_DRV_MEM_UNMAP,
	GPUVM_DRV_MEM_SET_ACCESS,
	GPUVM_DRV_ADDRESS_RESERVE,
	GPUVM_DRV_ADDRESS_FREE,
	GPUVM_DRV_EVENT_CREATE,
	GPUVM_DRV_EVENT_RECORD,
	GPUVM_DRV_EVENT_QUERY,
	GPUVM_DRV_EVENT_SYNCHRONIZE,
	GPUVM_DRV_EVENT_DESTROY,
	GPUVM_DRV_CTX_SYNCHRONIZE,
	GPUVM_DRV_OTHER,
	GPUVM_DRV_NR
};

/**
 * gpuvm_driver_call_name - the driver function an index counts
 * Return: e.g. "cuMemCreate", or NULL for an index out of range.
 */
GPUVM_API const char *gpuvm_driver_call_name(int call);

/**
 * gpuvm_log_level - the diagnostics level GPUVM_LOG asks for
 *
 * GPUVM_LOG=warn|info|debug (default warn), read once per process; a bad
 * value is reported once on stderr and warn is used.
 * Return: 0 warn, 1 info, 2 debug.
 */
GPUVM_API int gpuvm_log_level(void);

struct gpuvm_stats {
	/* bytes */
	uint64_t requested;	/* sum of live requested sizes */
	uint64_t allocated;	/* sum of live allocation sizes (rounded) */
	uint64_t mapped;	/* physical bytes mapped into the arena */
	uint64_t cached;	/* physical bytes held but not in use */
	uint64_t physical;	/* physical bytes created (in use + cached) */
	uint64_t reserved_va;	/* arena virtual bytes */
	uint64_t limit;		/* memory limit, 0 = none */
	uint64_t device_total;	/* what the driver reports */
	uint64_t peak_requested;
	uint64_t peak_allocated;
	uint64_t peak_mapped;
	uint64_t largest_free_run; /* largest mappable run of free physical */
	/* counts */
	uint64_t live_allocs;
	uint64_t alloc_calls;
	uint64_t free_calls;
	uint64_t cache_hits;	/* served from a mapped free range */
	uint64_t stitches;	/* new VA ranges built from pooled chunks */
	uint64_t ooms;		/* -ENOMEM returned */
	uint64_t chunks;	/* physical chunks held */
	uint64_t chunks_free;	/* of which not mapped by any allocation */
	uint64_t reclaimed;	/* bytes handed back to the driver */
	uint64_t trace_dropped;	/* trace events dropped (ring full) */
	uint64_t driver_calls[GPUVM_DRV_NR];
	/* 0..1 */
	double frag_internal;	/* 1 - requested / mapped */
	double frag_external;	/* 1 - largest mappable run / free physical */
	double frag_peak;	/* 1 - peak requested / peak mapped */
};

/**
 * gpuvm_stats - statistics of one device
 * @dev: device ordinal
 * @stats: filled on success
 */
GPUVM_API int gpuvm_stats(int dev, struct gpuvm_stats *stats);

/**
 * gpuvm_mem_info - a device's free and total memory as a program on gpuvm
 * sees them (what the shim's cuMemGetInfo answers)
 * @dev: device ordinal
 * @free: in, what the driver says is free; out, that plus what gpuvm
 *	  caches, at most what the limit leaves and at most the total
 * @total: in, the driver's total; out, at most the limit
 * Return: 0, or -EINVAL, -ENODEV, -ESHUTDOWN (nothing changed).
 */
GPUVM_API int gpuvm_mem_info(int dev, uint64_t *free, uint64_t *total);

/*
 * Sharing memory with another process, with the contract of the legacy
 * CUDA IPC calls (cuIpcGetMemHandle, cuIpcOpenMemHandle, cuIpcCloseMemHandle),
 * which the shim answers with these for gpuvm memory.  See
 * Documentation/shim.rst, "CUDA IPC".
 */
#define GPUVM_IPC_HANDLE_SIZE		64	/* bytes, a CUipcMemHandle */
#define GPUVM_IPC_LAZY_PEER_ACCESS	1u	/* CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS */

GPUVM_API int gpuvm_ipc_get_handle(gpuvm_ptr_t ptr, void *handle, gpuvm_ptr_t *base);
GPUVM_API bool gpuvm_ipc_is_handle(const void *handle);
GPUVM_API int gpuvm_ipc_open_handle(const void *handle, unsigned int flags, int dev,
				    gpuvm_ptr_t *ptr);
GPUVM_API int gpuvm_ipc_close_handle(gpuvm_ptr_t ptr);

/**
 * gpuvm_reclaim - hand cached physical chunks back to the driver
 * @dev: device ordinal, or -1 for every device
 * @target: bytes to release at least (0: everything cached)
 * Return: bytes released (>= 0), or negative errno.
 */
GPUVM_API int64_t gpuvm_reclaim(int dev, uint64_t target);

/*
 * Policy knobs.  One schema, shared by the library, gpuvmfs and the CLI:
 * every knob has a type, a range or choices, a default and a unit.  Values
 * are uint64_t (sizes in bytes, enums as the index of the choice, bools 0/1).
 */
enum gpuvm_knob_type {
	GPUVM_KNOB_SIZE,	/* bytes; text accepts K/M/G/T suffixes */
	GPUVM_KNOB_UINT,	/* plain unsigned integer */
	GPUVM_KNOB_BOOL,	/* 0/1, also on/off, true/false, yes/no */
	GPUVM_KNOB_ENUM,	/* one of choices[] */
};

struct gpuvm_knob {
	const char *name;
	enum gpuvm_knob_type type;
	const char *unit;		/* "bytes", "x device memory", ... or NULL */
	uint64_t min, max;		/* inclusive range (SIZE, UINT) */
	uint64_t def;			/* default */
	const char *const *choices;	/* ENUM: NULL-terminated */
	bool new_allocs_only;		/* applies to allocations made later */
	bool init_only;			/* read once when a device is set up */
	const char *help;		/* one line */
};

/** gpuvm_knob_count - number of knobs in the schema */
GPUVM_API int gpuvm_knob_count(void);

/** gpuvm_knob_at - the i-th knob of the schema, or NULL */
GPUVM_API const struct gpuvm_knob *gpuvm_knob_at(int i);

/** gpuvm_knob_find - a knob by name, or NULL */
GPUVM_API const struct gpuvm_knob *gpuvm_knob_find(const char *name);

/**
 * gpuvm_knob_parse - validate text for a knob and convert it
 * @knob: the knob
 * @text: the text (a trailing newline is accepted; nothing else trailing)
 * @val: on success, the value
 *
 * The one text entry point: a value it returns has passed
 * gpuvm_knob_check() too, so callers do not check it again.
 * Return: 0; -EINVAL (empty, garbage, partial number, negative, unknown
 * choice, too long, or refused by gpuvm_knob_check()), -ERANGE (overflow,
 * or outside [min, max]).
 */
GPUVM_API int gpuvm_knob_parse(const struct gpuvm_knob *knob, const char *text, uint64_t *val);

/**
 * gpuvm_knob_check - validate a value (range, choices, cross-knob rules
 * that do not need live state such as granularity multiples)
 * Return: 0, -EINVAL or -ERANGE.
 */
GPUVM_API int gpuvm_knob_check(const struct gpuvm_knob *knob, uint64_t val);

/**
 * gpuvm_knob_check_all - the rules between knobs (low_watermark at most a
 * set high_watermark) over one value of each knob, by schema index;
 * *why (if not NULL) says which rule a -EINVAL broke
 * Return: 0 or -EINVAL.
 */
GPUVM_API int gpuvm_knob_check_all(const uint64_t *vals, const char **why);

/**
 * gpuvm_knob_format - a value as text, the way knob files show it
 * (sizes in bytes, enums as "[active] other", bools 0/1), no newline
 * Return: the length written (snprintf semantics), or negative errno.
 */
GPUVM_API int gpuvm_knob_format(const struct gpuvm_knob *knob, uint64_t val, char *buf, size_t len);

/**
 * gpuvm_defaults_read - the knob values a run directory's defaults file
 * (<rundir>/defaults, what /gpuvm/policy/<knob> sets for processes that
 * start later) sets
 * @rundir: the run directory, or NULL for this process's
 * @vals: gpuvm_knob_count() values by schema index; each knob the file
 *	  sets with a valid line (the last one wins) is written, the others
 *	  are left as they are
 * @set: NULL, or gpuvm_knob_count() flags, set for each knob written
 * @quiet: do not warn about the lines skipped
 *
 * A file is believed only when it is a regular file of ours or root's (a
 * link or another user's reads as none).
 * Return: 0, or -EINVAL, -ENOMEM, -EIO, -errno of open().
 */
GPUVM_API int gpuvm_defaults_read(const char *rundir, uint64_t *vals, bool *set, bool quiet);

/**
 * gpuvm_defaults_write - set one knob's default in a run directory's file
 * @rundir: the run directory, or NULL for this process's
 * @knob: the knob
 * @val: its value (gpuvm_knob_check() decides)
 *
 * The file is replaced atomically (never written through a link); the
 * other knobs' valid lines are kept.
 * Return: 0, -EINVAL or -ERANGE (a bad value), or -errno (nothing changed).
 */
GPUVM_API int gpuvm_defaults_write(const char *rundir, const struct gpuvm_knob *knob,
				   uint64_t val);

/**
 * gpuvm_policy_get - the live value of a knob
 * @dev: device ordinal, or -1 for the process defaults
 */
GPUVM_API int gpuvm_policy_get(int dev, const char *name, uint64_t *val);

/**
 * gpuvm_policy_set - change a knob (validated; nothing changes on error)
 * @dev: device ordinal, or -1 for every device and the process defaults
 *
 * A device not set up yet keeps the value for its set-up (it is not set
 * up by this).  Return: 0, -EINVAL, -ERANGE, -EACCES (an init-only knob
 * of a device already set up), -ENODEV.
 */
GPUVM_API int gpuvm_policy_set(int dev, const char *name, uint64_t val);

/** gpuvm_policy_set_str - gpuvm_knob_parse() then gpuvm_policy_set() */
GPUVM_API int gpuvm_policy_set_str(int dev, const char *name, const char *text);

/*
 * Framework entry points.
 *
 * PyTorch: torch.cuda.memory.CUDAPluggableAllocator("libgpuvm.so",
 *          "gpuvm_torch_malloc", "gpuvm_torch_free")
 * CuPy:    cupy.cuda.memory.CFunctionAllocator(...) with gpuvm_cupy_malloc
 *          and gpuvm_cupy_free (see Documentation/usage.rst)
 */
GPUVM_API void *gpuvm_torch_malloc(size_t size, int device, void *stream);
GPUVM_API void gpuvm_torch_free(void *ptr, size_t size, int device, void *stream);
GPUVM_API intptr_t gpuvm_cupy_malloc(intptr_t param, size_t size, int device);
GPUVM_API void gpuvm_cupy_free(intptr_t param, intptr_t ptr, int device);

#ifdef __cplusplus
}
#endif

#endif /* GPUVM_GPUVM_H */
