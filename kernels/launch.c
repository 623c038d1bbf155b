// SPDX-License-Identifier: MIT
/*
 * launch.c - see include/kernels/launch.h.  The driver is the process's (gpuvm_cuda_driver())
 * and every entry point is looked up by its versioned name, as a linked
 * program's would be (under the shim, its hooks), so the programs that link
 * this build and run without a GPU; cudasim is told apart by its extension
 * calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <gpuvm/cuda_driver.h>

#include <cudasim/cudasim_ext.h>
#include "kernels.h"
#include <kernels/launch.h>

#define KL_MAX_DEVICES	16
/* verify counters per device: concurrent verifies each take one */
#define KL_SLOTS	64
#define KL_MAX_GRID	4096u

extern const unsigned char gpuvm_kernels_fatbin[];
extern const unsigned long gpuvm_kernels_fatbin_size;

static const char kl_sim_image[] = "CUDASIM-MODULE\0gpuvm kernels";

struct kl_device {
	CUdevice cudev;
	CUcontext ctx;			/* retained primary context */
	bool loaded;			/* module and functions below: kl.lock */
	CUmodule module;
	CUfunction fill, verify, touch;
	CUdeviceptr counters;		/* KL_SLOTS words */
	uint64_t busy;			/* slot bitmap; kl.lock */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t slot_freed;
	void *lib;
	bool open;
	int nr_devices;
	struct kl_device dev[KL_MAX_DEVICES];

	CUresult (*init)(unsigned int);
	CUresult (*device_get_count)(int *);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*retain)(CUcontext *, CUdevice);
	CUresult (*release)(CUdevice);
	CUresult (*ctx_get_current)(CUcontext *);
	CUresult (*ctx_set_current)(CUcontext);
	CUresult (*module_load_data)(CUmodule *, const void *);
	CUresult (*module_unload)(CUmodule);
	CUresult (*module_get_function)(CUfunction *, CUmodule, const char *);
	CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
			   unsigned, unsigned, CUstream, void **, void **);
	CUresult (*mem_alloc)(CUdeviceptr *, size_t);
	CUresult (*mem_free)(CUdeviceptr);
	CUresult (*memset_d32_async)(CUdeviceptr, unsigned int, size_t, CUstream);
	CUresult (*dtoh_async)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*stream_create)(CUstream *, unsigned int);
	CUresult (*stream_destroy)(CUstream);
	CUresult (*stream_sync)(CUstream);
	/* optional: the names kl_strerror() gives a failure */
	CUresult (*get_error_name)(CUresult, const char **);
	CUresult (*get_error_string)(CUresult, const char **);

	/* cudasim's extension calls, NULL on a real driver */
	int (*sim_register)(const char *, cudasim_kernel_fn);
	int (*sim_check)(CUdeviceptr, size_t, int);
	void (*sim_fault)(CUdeviceptr);
	int (*sim_set_fail)(const char *);
	int (*sim_stats)(int, struct cudasim_stats *);
	unsigned long (*sim_outstanding)(int);
} kl = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.slot_freed = PTHREAD_COND_INITIALIZER,
};

/*
 * This thread's last failed driver call and the errno it was returned as,
 * written only on failure; kl_strerror() names it.
 */
static __thread struct {
	CUresult result;
	int err;
	char text[192];
} kl_last;

/* Remember the failed @r, returned as @err, for kl_strerror(). */
static int kl_fail(CUresult r, int err)
{
	kl_last.result = r;
	kl_last.err = err;
	return err;
}

static int kl_errno(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:
		return 0;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return kl_fail(r, -ENOMEM);
	case CUDA_ERROR_ILLEGAL_ADDRESS:
		return kl_fail(r, -EFAULT);
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_NOT_INITIALIZED:
		return kl_fail(r, -ENODEV);
	default:
		return kl_fail(r, -EIO);
	}
}

/**
 * kl_strerror - what to print for a kl_*() call that just failed
 * @err: the negative errno it returned
 *
 * Return: the driver's name and description of this thread's last failed
 * driver call when that is what @err came from, "CUDA_ERROR_ILLEGAL_ADDRESS
 * (an illegal memory access was encountered)" ("CUresult 700" from a driver
 * without cuGetErrorName), else strerror(-@err).  Valid until this thread's
 * next kl_strerror().
 */
const char *kl_strerror(int err)
{
	const char *name = NULL, *text = NULL;
	CUresult r = kl_last.result;

	if (r == CUDA_SUCCESS || kl_last.err != err)
		return strerror(-err);
	if (kl.get_error_name && kl.get_error_name(r, &name) != CUDA_SUCCESS)
		name = NULL;
	if (name && kl.get_error_string && kl.get_error_string(r, &text) != CUDA_SUCCESS)
		text = NULL;
	if (!name)
		snprintf(kl_last.text, sizeof(kl_last.text), "CUresult %d", (int)r);
	else if (!text)
		snprintf(kl_last.text, sizeof(kl_last.text), "%s", name);
	else
		snprintf(kl_last.text, sizeof(kl_last.text), "%s (%s)", name, text);
	return kl_last.text;
}

/* ---- cudasim: the C references, with the checks a GPU's MMU makes ---- */

static bool kl_sim_ok(uint64_t p, uint64_t bytes, int write)
{
	if (!bytes || !kl.sim_check(p, bytes, write))
		return true;
	kl.sim_fault(p);
	return false;
}

static void kl_sim_fill(void **params, unsigned grid[3], unsigned block[3])
{
	if (kl_sim_ok(*(uint64_t *)params[0], *(uint64_t *)params[1] * 8, 1))
		gpuvm_fill_ref(params);
}

static void kl_sim_verify(void **params, unsigned grid[3], unsigned block[3])
{
	if (kl_sim_ok(*(uint64_t *)params[0], *(uint64_t *)params[1] * 8, 0) &&
	    kl_sim_ok(*(uint64_t *)params[3], 8, 1))
		gpuvm_verify_ref(params);
}

static void kl_sim_touch(void **params, unsigned grid[3], unsigned block[3])
{
	uint64_t p = *(uint64_t *)params[0];
	uint64_t bytes = *(uint64_t *)params[1];
	uint64_t stride = *(uint64_t *)params[2];
	uint64_t off;

	/* only the bytes it touches must be there, as on a GPU */
	for (off = 0; stride && off < bytes; off += stride)
		if (!kl_sim_ok(p + off, 1, 1))
			return;
	gpuvm_stride_touch_ref(params);
}

/* ---- opening ---- */

#define KL_SYM(field, name)						\
	do {								\
		*(void **)&kl.field = dlsym(kl.lib, name);		\
		if (!kl.field)						\
			goto out_close;					\
	} while (0)

#define KL_EXT(field, name)	(*(void **)&kl.field = dlsym(kl.lib, name))

static int __kl_open(void)
{
	int i, n = 0;

	kl.lib = gpuvm_cuda_driver(NULL);
	if (!kl.lib)
		return -ENODEV;
	KL_SYM(init, "cuInit");
	KL_SYM(device_get_count, "cuDeviceGetCount");
	KL_SYM(device_get, "cuDeviceGet");
	KL_SYM(retain, "cuDevicePrimaryCtxRetain");
	KL_SYM(release, "cuDevicePrimaryCtxRelease_v2");
	KL_SYM(ctx_get_current, "cuCtxGetCurrent");
	KL_SYM(ctx_set_current, "cuCtxSetCurrent");
	KL_SYM(module_load_data, "cuModuleLoadData");
	KL_SYM(module_unload, "cuModuleUnload");
	KL_SYM(module_get_function, "cuModuleGetFunction");
	KL_SYM(launch, "cuLaunchKernel");
	KL_SYM(mem_alloc, "cuMemAlloc_v2");
	KL_SYM(mem_free, "cuMemFree_v2");
	KL_SYM(memset_d32_async, "cuMemsetD32Async");
	KL_SYM(dtoh_async, "cuMemcpyDtoHAsync_v2");
	KL_SYM(stream_create, "cuStreamCreate");
	KL_SYM(stream_destroy, "cuStreamDestroy_v2");
	KL_SYM(stream_sync, "cuStreamSynchronize");
	KL_EXT(get_error_name, "cuGetErrorName");
	KL_EXT(get_error_string, "cuGetErrorString");
	KL_EXT(sim_register, "cudasim_register_kernel");
	KL_EXT(sim_check, "cudasim_check_access");
	KL_EXT(sim_fault, "cudasim_kernel_fault");
	KL_EXT(sim_set_fail, "cudasim_set_fail");
	KL_EXT(sim_stats, "cudasim_stats");
	KL_EXT(sim_outstanding, "cudasim_outstanding");
	if (!kl.sim_check || !kl.sim_fault)
		kl.sim_register = NULL;

	if (kl.init(0) != CUDA_SUCCESS || kl.device_get_count(&n) != CUDA_SUCCESS || n < 1)
		goto out_close;
	if (n > KL_MAX_DEVICES)
		n = KL_MAX_DEVICES;
	for (i = 0; i < n; i++) {
		struct kl_device *d = &kl.dev[i];

		if (kl.device_get(&d->cudev, i) != CUDA_SUCCESS ||
		    kl.retain(&d->ctx, d->cudev) != CUDA_SUCCESS)
			goto out_release;
	}
	if (kl.sim_register &&
	    (kl.sim_register(GPUVM_KERNEL_FILL, kl_sim_fill) ||
	     kl.sim_register(GPUVM_KERNEL_VERIFY, kl_sim_verify) ||
	     kl.sim_register(GPUVM_KERNEL_STRIDE_TOUCH, kl_sim_touch)))
		goto out_release;
	kl.nr_devices = n;
	kl.open = true;
	return 0;

out_release:
	while (i-- > 0)
		kl.release(kl.dev[i].cudev);
out_close:
	/* the driver stays mapped: others in the process may use it */
	memset(kl.dev, 0, sizeof(kl.dev));
	kl.lib = NULL;
	return -ENODEV;
}

/**
 * kl_open - open the driver and retain each device's primary context
 *
 * Return: 0, or -ENODEV when no driver or device is usable.
 */
int kl_open(void)
{
	int ret = 0;

	pthread_mutex_lock(&kl.lock);
	if (!kl.open)
		ret = __kl_open();
	pthread_mutex_unlock(&kl.lock);
	return ret;
}

/**
 * kl_close - unload the modules, free the counters, release the contexts
 *
 * Nothing may be launching.  kl_open() may be called again afterwards.
 */
void kl_close(void)
{
	int i;

	pthread_mutex_lock(&kl.lock);
	if (!kl.open)
		goto out_unlock;
	for (i = 0; i < kl.nr_devices; i++) {
		struct kl_device *d = &kl.dev[i];

		kl.ctx_set_current(d->ctx);
		if (d->counters)
			kl.mem_free(d->counters);
		if (d->module)
			kl.module_unload(d->module);
		kl.ctx_set_current(NULL);
		kl.release(d->cudev);
	}
	memset(kl.dev, 0, sizeof(kl.dev));
	kl.open = false;
	kl.nr_devices = 0;
out_unlock:
	pthread_mutex_unlock(&kl.lock);
}

int kl_device_count(void)
{
	return kl.open ? kl.nr_devices : -ENODEV;
}

bool kl_is_cudasim(void)
{
	return kl.open && kl.sim_set_fail;
}

/* The module of @d, loaded on first use, in @d's context (current). */
static int __kl_load(struct kl_device *d)
{
	const void *image = kl_sim_image;
	CUresult r;

	if (d->loaded)
		return 0;
	if (!kl.sim_register) {
		if (!gpuvm_kernels_fatbin_size)
			return -ENOEXEC;
		image = gpuvm_kernels_fatbin;
	}
	r = kl.mem_alloc(&d->counters, KL_SLOTS * sizeof(uint64_t));
	if (r != CUDA_SUCCESS)
		goto out_fail;
	r = kl.module_load_data(&d->module, image);
	if (r != CUDA_SUCCESS)
		goto out_free_counters;
	r = kl.module_get_function(&d->fill, d->module, GPUVM_KERNEL_FILL);
	if (r == CUDA_SUCCESS)
		r = kl.module_get_function(&d->verify, d->module, GPUVM_KERNEL_VERIFY);
	if (r == CUDA_SUCCESS)
		r = kl.module_get_function(&d->touch, d->module, GPUVM_KERNEL_STRIDE_TOUCH);
	if (r != CUDA_SUCCESS)
		goto out_unload;
	d->loaded = true;
	return 0;

out_unload:
	kl.module_unload(d->module);
	d->module = NULL;
out_free_counters:
	kl.mem_free(d->counters);
	d->counters = 0;
out_fail:
	return kl_errno(r);
}

/* Make @dev's context current in this thread and its module loaded. */
static int kl_enter(int dev, struct kl_device **out)
{
	CUcontext cur = NULL;
	struct kl_device *d;
	CUresult r;
	int ret;

	if (!kl.open)
		return -ENODEV;
	if (dev < 0 || dev >= kl.nr_devices)
		return -EINVAL;
	d = &kl.dev[dev];
	if (kl.ctx_get_current(&cur) != CUDA_SUCCESS || cur != d->ctx) {
		r = kl.ctx_set_current(d->ctx);
		if (r != CUDA_SUCCESS)
			return kl_fail(r, -EIO);
	}
	pthread_mutex_lock(&kl.lock);
	ret = __kl_load(d);
	pthread_mutex_unlock(&kl.lock);
	*out = d;
	return ret;
}

int kl_stream_create(int dev, void **stream)
{
	struct kl_device *d;
	CUstream s = NULL;
	int ret = kl_enter(dev, &d);

	if (ret)
		return ret;
	ret = kl_errno(kl.stream_create(&s, CU_STREAM_DEFAULT));
	*stream = ret ? NULL : (void *)s;
	return ret;
}

void kl_stream_destroy(int dev, void *stream)
{
	struct kl_device *d;

	if (stream && !kl_enter(dev, &d))
		kl.stream_destroy((CUstream)stream);
}

int kl_stream_sync(int dev, void *stream)
{
	struct kl_device *d;
	int ret = kl_enter(dev, &d);

	return ret ? ret : kl_errno(kl.stream_sync((CUstream)stream));
}

static unsigned int kl_grid(uint64_t items)
{
	uint64_t blocks = (items + GPUVM_KERNEL_BLOCK - 1) / GPUVM_KERNEL_BLOCK;

	if (!blocks)
		return 1;
	return blocks > KL_MAX_GRID ? KL_MAX_GRID : (unsigned int)blocks;
}

static int kl_launch(CUfunction f, uint64_t items, void *stream, void **params)
{
	return kl_errno(kl.launch(f, kl_grid(items), 1, 1, GPUVM_KERNEL_BLOCK, 1, 1, 0,
				  (CUstream)stream, params, NULL));
}

/**
 * kl_fill - queue gpuvm_fill over the whole words of a device range
 * @dev: device whose context launches it
 * @stream: CUstream, or NULL for the legacy stream
 * @p: device address (8-byte aligned)
 * @bytes: length; a tail under 8 bytes is not written
 * @seed: the pattern's seed
 */
int kl_fill(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t seed)
{
	uint64_t nwords = bytes / 8;
	void *params[] = { &p, &nwords, &seed };
	struct kl_device *d;
	int ret;

	if (!nwords)
		return 0;
	ret = kl_enter(dev, &d);
	return ret ? ret : kl_launch(d->fill, nwords, stream, params);
}

/**
 * kl_verify - count the words of a device range that differ from the pattern
 * @dev: device whose context launches it
 * @stream: CUstream, or NULL; the check runs after what is queued there
 * @p: device address
 * @bytes: length; the whole words are checked
 * @seed: the pattern's seed
 * @bad: on success, the number of differing words
 */
int kl_verify(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t seed, uint64_t *bad)
{
	uint64_t nwords = bytes / 8, count = 0;
	CUdeviceptr counter;
	struct kl_device *d;
	void *params[4];
	int ret, slot;
	CUresult r;

	*bad = 0;
	if (!nwords)
		return 0;
	ret = kl_enter(dev, &d);
	if (ret)
		return ret;
	pthread_mutex_lock(&kl.lock);
	while (d->busy == ~0ull)
		pthread_cond_wait(&kl.slot_freed, &kl.lock);
	slot = __builtin_ctzll(~d->busy);
	d->busy |= 1ull << slot;
	pthread_mutex_unlock(&kl.lock);

	counter = d->counters + slot * sizeof(uint64_t);
	params[0] = &p;
	params[1] = &nwords;
	params[2] = &seed;
	params[3] = &counter;
	r = kl.memset_d32_async(counter, 0, 2, (CUstream)stream);
	if (r == CUDA_SUCCESS)
		r = kl.launch(d->verify, kl_grid(nwords), 1, 1, GPUVM_KERNEL_BLOCK, 1, 1, 0,
			      (CUstream)stream, params, NULL);
	if (r == CUDA_SUCCESS)
		r = kl.dtoh_async(&count, counter, sizeof(count), (CUstream)stream);
	if (r == CUDA_SUCCESS)
		r = kl.stream_sync((CUstream)stream);

	pthread_mutex_lock(&kl.lock);
	d->busy &= ~(1ull << slot);
	pthread_cond_signal(&kl.slot_freed);
	pthread_mutex_unlock(&kl.lock);
	if (r != CUDA_SUCCESS)
		return kl_errno(r);
	*bad = count;
	return 0;
}

/**
 * kl_stride_touch - queue a read and a write of one byte every @stride
 * @dev: device whose context launches it
 * @stream: CUstream, or NULL
 * @p: device address
 * @bytes: length of the range
 * @stride: bytes between touches (> 0)
 */
int kl_stride_touch(int dev, void *stream, uint64_t p, uint64_t bytes, uint64_t stride)
{
	void *params[] = { &p, &bytes, &stride };
	struct kl_device *d;
	int ret;

	if (!stride)
		return -EINVAL;
	if (!bytes)
		return 0;
	ret = kl_enter(dev, &d);
	return ret ? ret : kl_launch(d->touch, (bytes + stride - 1) / stride, stream, params);
}

int kl_sim_set_fail(const char *spec)
{
	if (!kl.open || !kl.sim_set_fail)
		return -ENOSYS;
	return kl.sim_set_fail(spec);
}

int kl_sim_stats(int dev, struct kl_sim_stats *st)
{
	struct cudasim_stats cs;
	int ret;

	if (!kl.open || !kl.sim_stats)
		return -ENOSYS;
	ret = kl.sim_stats(dev, &cs);
	if (ret)
		return ret;
	st->allocations = cs.allocations;
	st->handles = cs.handles;
	st->mappings = cs.mappings;
	st->reservations = cs.reservations;
	st->bytes_used = cs.bytes_used;
	st->bytes_mapped = cs.bytes_mapped;
	return 0;
}

long kl_sim_outstanding(int fd)
{
	if (!kl.open || !kl.sim_outstanding)
		return -ENOSYS;
	return (long)kl.sim_outstanding(fd);
}
