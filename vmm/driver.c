// SPDX-License-Identifier: MIT
/*
 * driver.c - the CUDA driver wrapper: the only file that calls the driver.
 *
 * The build never links libcuda: the process's driver comes from the one
 * loader (cuda_driver.c), entry points from gpuvm_cuda_sym()
 * (cuGetProcAddress_v2, or dlsym() of their versioned names), and we call
 * them only through the pointers below, so every binary starts on a
 * machine without a GPU and says so.
 *
 * Each call is counted by enum gpuvm_driver_call in the device's counters
 * (relaxed atomics: the counts are statistics, not synchronization).
 *
 * The CUresult itself stops here, but a failed call's is kept per thread
 * so that the warning about it can say what the driver said
 * (drv_strerror()), in the driver's own words (cuGetErrorName).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda.h>
#include <gpuvm/cuda_driver.h>

#include "clock.h"
#include "driver.h"
#include "log.h"

static struct {
	void *lib;
	CUresult (*init)(unsigned int);
	CUresult (*device_get_count)(int *);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*device_get_name)(char *, int, CUdevice);
	CUresult (*device_total_mem)(size_t *, CUdevice);
	CUresult (*primary_retain)(CUcontext *, CUdevice);
	CUresult (*primary_release)(CUdevice);
	CUresult (*ctx_get_current)(CUcontext *);
	CUresult (*ctx_set_current)(CUcontext);
	CUresult (*ctx_synchronize)(void);
	CUresult (*granularity)(size_t *, const CUmemAllocationProp *,
				CUmemAllocationGranularity_flags);
	CUresult (*address_reserve)(CUdeviceptr *, size_t, size_t, CUdeviceptr,
				    unsigned long long);
	CUresult (*address_free)(CUdeviceptr, size_t);
	CUresult (*mem_create)(CUmemGenericAllocationHandle *, size_t,
			       const CUmemAllocationProp *, unsigned long long);
	CUresult (*mem_release)(CUmemGenericAllocationHandle);
	CUresult (*mem_map)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle,
			    unsigned long long);
	CUresult (*mem_unmap)(CUdeviceptr, size_t);
	CUresult (*set_access)(CUdeviceptr, size_t, const CUmemAccessDesc *, size_t);
	CUresult (*event_create)(CUevent *, unsigned int);
	CUresult (*event_record)(CUevent, CUstream);
	CUresult (*event_query)(CUevent);
	CUresult (*event_synchronize)(CUevent);
	CUresult (*event_destroy)(CUevent);
	/* optional: without them a failure is named by its number */
	CUresult (*get_error_name)(CUresult, const char **);
	/* optional: without them gpuvm memory cannot be shared (IPC) */
	CUresult (*device_get_attribute)(int *, CUdevice_attribute, CUdevice);
	CUresult (*mem_export)(void *, CUmemGenericAllocationHandle, CUmemAllocationHandleType,
			       unsigned long long);
	CUresult (*mem_import)(CUmemGenericAllocationHandle *, void *, CUmemAllocationHandleType);
	CUresult (*get_error_string)(CUresult, const char **);
} drv;

struct drv_sym {
	const char *name;	/* base name for cuGetProcAddress */
	const char *versioned;	/* name for dlsym() */
	void **slot;
	bool optional;		/* a driver without it is still one */
};

#define SYM(base, ver, field) { base, ver, (void **)&drv.field, false }
#define OPTIONAL_SYM(base, field) { base, base, (void **)&drv.field, true }

static const struct drv_sym drv_syms[] = {
	SYM("cuInit", "cuInit", init),
	SYM("cuDeviceGetCount", "cuDeviceGetCount", device_get_count),
	SYM("cuDeviceGet", "cuDeviceGet", device_get),
	SYM("cuDeviceGetName", "cuDeviceGetName", device_get_name),
	SYM("cuDeviceTotalMem", "cuDeviceTotalMem_v2", device_total_mem),
	SYM("cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRetain", primary_retain),
	SYM("cuDevicePrimaryCtxRelease", "cuDevicePrimaryCtxRelease_v2", primary_release),
	SYM("cuCtxGetCurrent", "cuCtxGetCurrent", ctx_get_current),
	SYM("cuCtxSetCurrent", "cuCtxSetCurrent", ctx_set_current),
	SYM("cuCtxSynchronize", "cuCtxSynchronize", ctx_synchronize),
	SYM("cuMemGetAllocationGranularity", "cuMemGetAllocationGranularity", granularity),
	SYM("cuMemAddressReserve", "cuMemAddressReserve", address_reserve),
	SYM("cuMemAddressFree", "cuMemAddressFree", address_free),
	SYM("cuMemCreate", "cuMemCreate", mem_create),
	SYM("cuMemRelease", "cuMemRelease", mem_release),
	SYM("cuMemMap", "cuMemMap", mem_map),
	SYM("cuMemUnmap", "cuMemUnmap", mem_unmap),
	SYM("cuMemSetAccess", "cuMemSetAccess", set_access),
	SYM("cuEventCreate", "cuEventCreate", event_create),
	SYM("cuEventRecord", "cuEventRecord", event_record),
	SYM("cuEventQuery", "cuEventQuery", event_query),
	SYM("cuEventSynchronize", "cuEventSynchronize", event_synchronize),
	SYM("cuEventDestroy", "cuEventDestroy_v2", event_destroy),
	OPTIONAL_SYM("cuGetErrorName", get_error_name),
	OPTIONAL_SYM("cuGetErrorString", get_error_string),
	OPTIONAL_SYM("cuDeviceGetAttribute", device_get_attribute),
	OPTIONAL_SYM("cuMemExportToShareableHandle", mem_export),
	OPTIONAL_SYM("cuMemImportFromShareableHandle", mem_import),
};

/*
 * This thread's last failed driver call, written only when a call fails
 * (a successful one pays nothing), and the text drv_strerror() makes of it.
 */
static __thread CUresult drv_last_result;
static __thread char drv_result_buf[192];

static CUcontext drv_primary[GPUVM_MAX_DEVICES];
static CUdevice drv_cudev[GPUVM_MAX_DEVICES];
/* chunks are created exportable as POSIX fds (IPC); cleared on a refusal */
static bool drv_exportable[GPUVM_MAX_DEVICES];
static uint64_t drv_spare_counts[GPUVM_MAX_DEVICES + 1][GPUVM_DRV_NR];
static uint64_t *drv_counts[GPUVM_MAX_DEVICES];
/* the same for the time spent in each call, ns */
static uint64_t drv_spare_ns[GPUVM_MAX_DEVICES + 1][GPUVM_DRV_NR];
static uint64_t *drv_ns[GPUVM_MAX_DEVICES];

static const char *const drv_call_names[GPUVM_DRV_NR] = {
	[GPUVM_DRV_MEM_CREATE] = "cuMemCreate",
	[GPUVM_DRV_MEM_RELEASE] = "cuMemRelease",
	[GPUVM_DRV_MEM_MAP] = "cuMemMap",
	[GPUVM_DRV_MEM_UNMAP] = "cuMemUnmap",
	[GPUVM_DRV_MEM_SET_ACCESS] = "cuMemSetAccess",
	[GPUVM_DRV_ADDRESS_RESERVE] = "cuMemAddressReserve",
	[GPUVM_DRV_ADDRESS_FREE] = "cuMemAddressFree",
	[GPUVM_DRV_EVENT_CREATE] = "cuEventCreate",
	[GPUVM_DRV_EVENT_RECORD] = "cuEventRecord",
	[GPUVM_DRV_EVENT_QUERY] = "cuEventQuery",
	[GPUVM_DRV_EVENT_SYNCHRONIZE] = "cuEventSynchronize",
	[GPUVM_DRV_EVENT_DESTROY] = "cuEventDestroy",
	[GPUVM_DRV_CTX_SYNCHRONIZE] = "cuCtxSynchronize",
	[GPUVM_DRV_OTHER] = "other",
};

/**
 * gpuvm_driver_call_name - the driver function a counter index counts
 * @call: enum gpuvm_driver_call
 *
 * Return: e.g. "cuMemCreate", or NULL for an index out of range.
 */
GPUVM_API const char *gpuvm_driver_call_name(int call)
{
	if (call < 0 || call >= GPUVM_DRV_NR)
		return NULL;
	return drv_call_names[call];
}

/*
 * Add @n to counter @call of device @dev in @cur (calls or ns), or in its
 * spare while the device publishes none (@dev out of range: the last one).
 */
static inline void counter_add(uint64_t *const *cur, uint64_t (*spare)[GPUVM_DRV_NR], int dev,
			       enum gpuvm_driver_call call, uint64_t n)
{
	uint64_t *c;

	if (dev < 0 || dev >= GPUVM_MAX_DEVICES)
		c = spare[GPUVM_MAX_DEVICES];
	else if (!(c = __atomic_load_n(&cur[dev], __ATOMIC_ACQUIRE)))
		c = spare[dev];
	__atomic_fetch_add(&c[call], n, __ATOMIC_RELAXED);
}

static inline void count(int dev, enum gpuvm_driver_call call)
{
	counter_add(drv_counts, drv_spare_counts, dev, call, 1);
}

static inline void count_time(int dev, enum gpuvm_driver_call call, uint64_t ns)
{
	counter_add(drv_ns, drv_spare_ns, dev, call, ns);
}

/* Time spent in a call: clock_gettime is a vDSO call, no system call. */
/* Move one device's counters (calls or ns) to @to, or back to the spare. */
static void move_counters(uint64_t **cur, uint64_t *spare, uint64_t *to)
{
	if (to && to != *cur)
		memcpy(to, *cur ? *cur : spare, sizeof(uint64_t) * GPUVM_DRV_NR);
	__atomic_store_n(cur, to ? to : spare, __ATOMIC_RELEASE);
}

void drv_set_counters(int dev, uint64_t *counts, uint64_t *ns)
{
	if (dev < 0 || dev >= GPUVM_MAX_DEVICES)
		return;
	move_counters(&drv_counts[dev], drv_spare_counts[dev], counts);
	move_counters(&drv_ns[dev], drv_spare_ns[dev], ns);
}

static int drv_errno(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:
		return 0;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case CUDA_ERROR_INVALID_VALUE:
		return -EINVAL;
	case CUDA_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case CUDA_ERROR_NOT_READY:
		return -EAGAIN;
	case CUDA_ERROR_NO_DEVICE:
		return -ENODEV;
	default:
		return -EIO;
	}
}

/* "CUDA_ERROR_INVALID_VALUE (invalid argument)", or "CUresult 1" */
static const char *drv_result_text(CUresult r)
{
	const char *name = NULL, *text = NULL;

	if (drv.get_error_name && drv.get_error_name(r, &name) != CUDA_SUCCESS)
		name = NULL;
	if (name && drv.get_error_string && drv.get_error_string(r, &text) != CUDA_SUCCESS)
		text = NULL;
	if (!name)
		snprintf(drv_result_buf, sizeof(drv_result_buf), "CUresult %d", (int)r);
	else if (!text)
		snprintf(drv_result_buf, sizeof(drv_result_buf), "%s", name);
	else
		snprintf(drv_result_buf, sizeof(drv_result_buf), "%s (%s)", name, text);
	return drv_result_buf;
}

/**
 * drv_strerror - what to print for a call that just failed with @err
 * @err: the negative errno it returned
 *
 * When @err is what this thread's last failed driver call turned into, the
 * driver's name and description of that call's CUresult, as in
 * "CUDA_ERROR_INVALID_VALUE (invalid argument)" ("CUresult 1" from a driver
 * without cuGetErrorName); otherwise strerror(-@err).  A caller whose
 * error may not come from the driver calls drv_error_clear() first, so that
 * an older failure of the same errno is not taken for the cause.
 *
 * Return: a string valid until this thread's next drv_strerror() or
 * failed driver call.
 */
const char *drv_strerror(int err)
{
	CUresult r = drv_last_result;

	if (r == CUDA_SUCCESS || drv_errno(r) != err)
		return strerror(-err);
	return drv_result_text(r);
}

/**
 * drv_error_clear - forget this thread's last failed driver call
 */
void drv_error_clear(void)
{
	drv_last_result = CUDA_SUCCESS;
}

static int drv_fail(const char *what, CUresult r)
{
	drv_last_result = r;
	vmm_debug("%s failed: %s", what, drv_result_text(r));
	return drv_errno(r);
}

/*
 * Make @dev's primary context current in this thread when no context is;
 * when another context is current, swap ours in and report it in *@saved
 * so that ctx_leave() restores the caller's choice.
 */
static int ctx_enter(int dev, CUcontext *saved)
{
	CUcontext cur = NULL;
	CUresult r;

	*saved = NULL;
	count(dev, GPUVM_DRV_OTHER);
	r = drv.ctx_get_current(&cur);
	if (r == CUDA_SUCCESS && cur == drv_primary[dev])
		return 0;
	count(dev, GPUVM_DRV_OTHER);
	r = drv.ctx_set_current(drv_primary[dev]);
	if (r != CUDA_SUCCESS)
		return drv_fail("cuCtxSetCurrent", r);
	*saved = cur;
	return 0;
}

static void ctx_leave(int dev, CUcontext saved)
{
	if (!saved)
		return;
	count(dev, GPUVM_DRV_OTHER);
	drv.ctx_set_current(saved);
}

int drv_open(void)
{
	size_t i, missing = 0, len = 0;
	const char *path;
	char lacks[256];
	CUresult r;
	int n;

	if (drv.lib)
		return 0;
	drv.lib = gpuvm_cuda_driver(&path);
	if (!drv.lib)
		return -ENODEV;		/* said once, by the loader */
	for (i = 0; i < sizeof(drv_syms) / sizeof(drv_syms[0]); i++) {
		*drv_syms[i].slot = gpuvm_cuda_sym(drv.lib, drv_syms[i].name,
						   drv_syms[i].versioned);
		if (!*drv_syms[i].slot && !drv_syms[i].optional)
			drv_missing_add(lacks, sizeof(lacks), &len, ++missing, "",
					drv_syms[i].name);
	}
	if (missing) {
		vmm_warn("the CUDA driver %s lacks %s, which gpuvm needs", path, lacks);
		goto out_forget;
	}
	r = drv.init(0);
	if (r != CUDA_SUCCESS) {
		vmm_warn("no usable GPU: cuInit failed: %s", drv_result_text(r));
		goto out_forget;
	}
	r = drv.device_get_count(&n);
	if (r != CUDA_SUCCESS) {
		vmm_warn("no usable GPU: cuDeviceGetCount failed: %s", drv_result_text(r));
		goto out_forget;
	}
	if (n < 1) {
		vmm_warn("the CUDA driver reports no device");
		goto out_forget;
	}
	return 0;

out_forget:
	memset(&drv, 0, sizeof(drv));
	return -ENODEV;
}

void drv_close(void)
{
	/* the driver itself stays open: it is the process's (the loader's) */
	memset(&drv, 0, sizeof(drv));
	memset(drv_primary, 0, sizeof(drv_primary));
	memset(drv_counts, 0, sizeof(drv_counts));
	memset(drv_ns, 0, sizeof(drv_ns));
}

int drv_device_count(void)
{
	int n = 0;
	CUresult r;

	if (!drv.lib)
		return -ENODEV;
	r = drv.device_get_count(&n);
	if (r != CUDA_SUCCESS)
		return drv_fail("cuDeviceGetCount", r);
	if (n > GPUVM_MAX_DEVICES)
		n = GPUVM_MAX_DEVICES;
	return n;
}

int drv_device_get(int dev, char *name, size_t name_len, uint64_t *total,
		   uint64_t *granularity)
{
	CUmemAllocationProp prop;
	size_t bytes = 0, gran = 0;
	CUcontext saved;
	CUresult r;
	int ret;

	count(dev, GPUVM_DRV_OTHER);
	r = drv.device_get(&drv_cudev[dev], dev);
	if (r != CUDA_SUCCESS)
		return drv_fail("cuDeviceGet", r);
	count(dev, GPUVM_DRV_OTHER);
	r = drv.device_get_name(name, (int)name_len, drv_cudev[dev]);
	if (r != CUDA_SUCCESS)
		snprintf(name, name_len, "device %d", dev);
	count(dev, GPUVM_DRV_OTHER);
	r = drv.device_total_mem(&bytes, drv_cudev[dev]);
	if (r != CUDA_SUCCESS)
		return drv_fail("cuDeviceTotalMem", r);
	count(dev, GPUVM_DRV_OTHER);
	r = drv.primary_retain(&drv_primary[dev], drv_cudev[dev]);
	if (r != CUDA_SUCCESS)
		return drv_fail("cuDevicePrimaryCtxRetain", r);
	ret = ctx_enter(dev, &saved);
	if (ret)
		goto out_release;
	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = drv_cudev[dev];
	count(dev, GPUVM_DRV_OTHER);
	r = drv.granularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED);
	ctx_leave(dev, saved);
	if (r != CUDA_SUCCESS || !gran || (gran & (gran - 1))) {
		ret = r != CUDA_SUCCESS ? drv_fail("cuMemGetAllocationGranularity", r) : -EIO;
		goto out_release;
	}
	*total = bytes;
	*granularity = gran;
	drv_exportable[dev] = false;
	if (drv.device_get_attribute && drv.mem_export && drv.mem_import) {
		int posix = 0;

		count(dev, GPUVM_DRV_OTHER);
		r = drv.device_get_attribute(&posix,
				CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED,
				drv_cudev[dev]);
		drv_exportable[dev] = r == CUDA_SUCCESS && posix;
	}
	return 0;

out_release:
	count(dev, GPUVM_DRV_OTHER);
	drv.primary_release(drv_cudev[dev]);
	drv_primary[dev] = NULL;
	return ret;
}

void drv_device_put(int dev)
{
	int tries;

	if (!drv.lib || !drv_primary[dev])
		return;
	for (tries = 0; tries < 2; tries++) {
		count(dev, GPUVM_DRV_OTHER);
		if (drv.primary_release(drv_cudev[dev]) == CUDA_SUCCESS)
			break;
	}
	drv_primary[dev] = NULL;
}

/* Wrap one context-needing driver call: count it, convert its result. */
#define DRV_CALL(dev, call, what, expr)					\
	({								\
		CUcontext __saved;					\
		CUresult __r;						\
		int __ret = ctx_enter(dev, &__saved);			\
		if (!__ret) {						\
			uint64_t __t0 = vmm_now_ns();			\
			count(dev, call);				\
			__r = (expr);					\
			count_time(dev, call, vmm_now_ns() - __t0);	\
			ctx_leave(dev, __saved);			\
			if (__r != CUDA_SUCCESS)			\
				__ret = drv_fail(what, __r);		\
		}							\
		__ret;							\
	})

int drv_address_reserve(int dev, uint64_t size, uint64_t align, uint64_t *va)
{
	CUdeviceptr p = 0;
	int ret;

	ret = DRV_CALL(dev, GPUVM_DRV_ADDRESS_RESERVE, "cuMemAddressReserve",
		       drv.address_reserve(&p, size, align, 0, 0));
	if (!ret)
		*va = p;
	return ret;
}

int drv_address_free(int dev, uint64_t va, uint64_t size)
{
	return DRV_CALL(dev, GPUVM_DRV_ADDRESS_FREE, "cuMemAddressFree",
			drv.address_free(va, size));
}

int drv_mem_create(int dev, uint64_t size, drv_handle_t *h)
{
	CUmemGenericAllocationHandle handle = 0;
	CUmemAllocationProp prop;
	int ret;

	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = drv_cudev[dev];
	if (drv_exportable[dev])
		prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
	ret = DRV_CALL(dev, GPUVM_DRV_MEM_CREATE, "cuMemCreate",
		       drv.mem_create(&handle, size, &prop, 0));
	if ((ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EPERM) && drv_exportable[dev]) {
		/* a driver that says it exports but will not: plain chunks */
		vmm_info("device %d: cuMemCreate of an exportable allocation refused (%s); "
			 "its memory cannot be shared with cuIpcGetMemHandle",
			 dev, drv_strerror(ret));
		drv_exportable[dev] = false;
		prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_NONE;
		ret = DRV_CALL(dev, GPUVM_DRV_MEM_CREATE, "cuMemCreate",
			       drv.mem_create(&handle, size, &prop, 0));
	}
	if (!ret)
		*h = handle;
	return ret;
}

bool drv_can_export(int dev)
{
	return drv_exportable[dev];
}

int drv_mem_export(int dev, drv_handle_t h, int *fd)
{
	int out = -1, ret;

	if (!drv_exportable[dev])
		return -EOPNOTSUPP;
	ret = DRV_CALL(dev, GPUVM_DRV_OTHER, "cuMemExportToShareableHandle",
		       drv.mem_export(&out, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
	if (!ret)
		*fd = out;
	return ret;
}

int drv_mem_import(int dev, int fd, drv_handle_t *h)
{
	CUmemGenericAllocationHandle handle = 0;
	int ret;

	if (!drv.mem_import)
		return -EOPNOTSUPP;
	ret = DRV_CALL(dev, GPUVM_DRV_OTHER, "cuMemImportFromShareableHandle",
		       drv.mem_import(&handle, (void *)(intptr_t)fd,
				      CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
	if (!ret)
		*h = handle;
	return ret;
}

int drv_mem_release(int dev, drv_handle_t h)
{
	return DRV_CALL(dev, GPUVM_DRV_MEM_RELEASE, "cuMemRelease", drv.mem_release(h));
}

int drv_mem_map(int dev, uint64_t va, uint64_t size, drv_handle_t h, uint64_t offset)
{
	return DRV_CALL(dev, GPUVM_DRV_MEM_MAP, "cuMemMap", drv.mem_map(va, size, offset, h, 0));
}

int drv_mem_unmap(int dev, uint64_t va, uint64_t size)
{
	return DRV_CALL(dev, GPUVM_DRV_MEM_UNMAP, "cuMemUnmap", drv.mem_unmap(va, size));
}

/*
 * Read-write access for @dev and every device in @peers (a bitmask of
 * ordinals), in one call: the driver applies the whole list at once.
 */
int drv_set_access(int dev, uint64_t va, uint64_t size, uint32_t peers)
{
	CUmemAccessDesc desc[GPUVM_MAX_DEVICES];
	unsigned int n = 0;
	int i;

	memset(desc, 0, sizeof(desc));
	for (i = 0; i < GPUVM_MAX_DEVICES; i++) {
		if (i != dev && !(peers & (1u << i)))
			continue;
		desc[n].location.type = CU_MEM_LOCATION_TYPE_DEVICE;
		desc[n].location.id = drv_cudev[i];
		desc[n].flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
		n++;
	}
	return DRV_CALL(dev, GPUVM_DRV_MEM_SET_ACCESS, "cuMemSetAccess",
			drv.set_access(va, size, desc, n));
}

int drv_ctx_synchronize(int dev)
{
	return DRV_CALL(dev, GPUVM_DRV_CTX_SYNCHRONIZE, "cuCtxSynchronize",
			drv.ctx_synchronize());
}

int drv_event_create(int dev, drv_event_t *ev)
{
	CUevent e = NULL;
	int ret;

	ret = DRV_CALL(dev, GPUVM_DRV_EVENT_CREATE, "cuEventCreate",
		       drv.event_create(&e, CU_EVENT_DISABLE_TIMING));
	if (!ret)
		*ev = e;
	return ret;
}

int drv_event_record(int dev, drv_event_t ev, void *stream)
{
	return DRV_CALL(dev, GPUVM_DRV_EVENT_RECORD, "cuEventRecord",
			drv.event_record((CUevent)ev, (CUstream)stream));
}

int drv_event_query(int dev, drv_event_t ev)
{
	return DRV_CALL(dev, GPUVM_DRV_EVENT_QUERY, "cuEventQuery",
			drv.event_query((CUevent)ev));
}

int drv_event_synchronize(int dev, drv_event_t ev)
{
	return DRV_CALL(dev, GPUVM_DRV_EVENT_SYNCHRONIZE, "cuEventSynchronize",
			drv.event_synchronize((CUevent)ev));
}

int drv_event_destroy(int dev, drv_event_t ev)
{
	return DRV_CALL(dev, GPUVM_DRV_EVENT_DESTROY, "cuEventDestroy",
			drv.event_destroy((CUevent)ev));
}
