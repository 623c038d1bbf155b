// SPDX-License-Identifier: MIT
/*
 * core.c - set-up and tear-down of the process and of each device, fork,
 * the process-wide quiesce, gpuvm_reclaim() and peer access.  What makes
 * freed memory reusable and gives it back is deferred.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ipc.h"
#include "trace_writer.h"

struct vmm_state vmm = {
	.setup_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* What a forked child forgot, kept reachable so leak checkers stay quiet. */
static struct vmm_state vmm_forgotten;

/*
 * A device lock spins a while before it sleeps (glibc's adaptive mutex):
 * held for the ~100 ns of a cached alloc or free, a waiter that spins gets
 * it without the futex system calls of a sleep and a wake.  bench_vmm, 2
 * threads on one device: about 130 ns a pair each, p99 1 us, where the
 * plain mutex gave 800 to 1500 ns, p99 3 us (2 cores).
 */
static void device_lock_init(pthread_mutex_t *lock)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_t attr;

	if (!pthread_mutexattr_init(&attr)) {
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
		pthread_mutex_init(lock, &attr);
		pthread_mutexattr_destroy(&attr);
		return;
	}
#endif
	pthread_mutex_init(lock, NULL);
}

/*
 * At exit (exit(), a return from main, quick_exit()) other threads may
 * still be inside gpuvm: the gate stays closed for good, so none sets the
 * library up again (and publishes again) behind us.
 */
static void vmm_atexit(void)
{
	__atomic_store_n(&vmm.exiting, true, __ATOMIC_SEQ_CST);
	/* closed even if shut down already: no thread may set it up again */
	__atomic_store_n(&vmm.closing, true, __ATOMIC_SEQ_CST);
	gpuvm_shutdown();
}

static void atfork_child(void)
{
	int i;

	/*
	 * The GPU context does not survive fork: forget the parent's state
	 * (unmap its segments, never remove them) and start afresh lazily.
	 */
	vmm_gate_atfork_child();
	ipc_atfork_child();
	if (!__atomic_load_n(&vmm.initialized, __ATOMIC_RELAXED))
		return;
	publish_exit(false);
	control_forget();
	drv_close();
	memcpy(&vmm_forgotten, &vmm, sizeof(vmm));
	memset(&vmm, 0, sizeof(vmm));
	pthread_mutex_init(&vmm.setup_lock, NULL);
	for (i = 0; i < GPUVM_MAX_DEVICES; i++)
		device_lock_init(&vmm.dev[i].lock);
	vmm_trace_on = false;
}

/*
 * GPUVM_TRACE names the trace file, or is a bool like every knob variable
 * ("1": the default file, <rundir>/<pid>.trace).
 */
static void trace_from_env(void)
{
	const char *env = getenv("GPUVM_TRACE");
	char path[4096];
	uint64_t on;

	if (!env || !*env)
		return;
	if (!gpuvm_knob_parse(&vmm_knobs[VMM_KNOB_TRACE].schema, env, &on)) {
		if (!on)
			return;
		snprintf(path, sizeof(path), "%s/%d.trace", publish_rundir(), (int)getpid());
	} else {
		snprintf(path, sizeof(path), "%s", env);
	}
	if (vmm_trace_start(path, 0, 0)) {
		vmm_warn("GPUVM_TRACE: cannot write the trace to %s", path);
		vmm.defaults[VMM_KNOB_TRACE] = 0;
		return;
	}
	vmm.defaults[VMM_KNOB_TRACE] = 1;
}

/**
 * gpuvm_init - initialize the library (idempotent, thread-safe)
 *
 * Opens the driver, reads the GPUVM_<KNOB> defaults, publishes the state
 * segment; devices are set up on first use.
 * Return: 0, or -ENODEV when no driver or device is usable.
 */
GPUVM_API int gpuvm_init(void)
{
	static bool hooks_done;
	int st = __atomic_load_n(&vmm.initialized, __ATOMIC_ACQUIRE);
	int ret, n, i;

	if (st)
		return st > 0 ? 0 : st;
	pthread_mutex_lock(&vmm.setup_lock);
	if (__atomic_load_n(&vmm.closing, __ATOMIC_SEQ_CST)) {
		ret = -ESHUTDOWN;	/* not again while (or after, at exit) shutting down */
		goto out_unlock;
	}
	if (vmm.initialized) {
		ret = vmm.initialized > 0 ? 0 : vmm.initialized;
		goto out_unlock;
	}
	vmm_log_init();
	policy_load_env(vmm.defaults);
	ret = drv_open();
	if (ret)
		goto out_failed;
	n = drv_device_count();
	if (n < 1) {
		ret = -ENODEV;
		goto out_close;
	}
	for (i = 0; i < GPUVM_MAX_DEVICES; i++) {
		device_lock_init(&vmm.dev[i].lock);
		vmm.dev[i].ordinal = i;
	}
	ret = publish_init();
	if (ret)
		vmm_warn("cannot publish state in %s (%d): gpuvmfs will not see this process",
			 publish_rundir(), ret);
	vmm.nr_devices = n;
	if (!hooks_done) {
		hooks_done = true;
		atexit(vmm_atexit);
		at_quick_exit(vmm_atexit);
		pthread_atfork(NULL, NULL, atfork_child);
	}
	trace_from_env();
	__atomic_store_n(&vmm.initialized, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vmm.setup_lock);
	/* outside the lock: the thread itself takes it to apply requests */
	if (control_start())
		vmm_debug("no control thread: live tuning through gpuvmfs is off");
	vmm_info("%d device(s)", n);
	return 0;

out_close:
	drv_close();
out_failed:
	/* sticky: a process without a usable driver stays without one */
	__atomic_store_n(&vmm.initialized, ret, __ATOMIC_RELEASE);
out_unlock:
	pthread_mutex_unlock(&vmm.setup_lock);
	return ret;
}

static int device_setup(struct vmm_device *d)
{
	uint64_t va_size, va, factor;
	int ret;

	ret = drv_device_get(d->ordinal, d->name, sizeof(d->name), &d->total, &d->gran);
	if (ret)
		return ret;
	if (d->ordinal == 0 || !vmm.simulated) {
		vmm.simulated = !strncmp(d->name, "cudasim", 7);
		publish_set_driver(d->name, vmm.simulated);
	}
	policy_device_knobs(d);
	d->unmap_single = false;
	d->slicing = VMM_SLICING_UNKNOWN;
	d->trim_stuck = 0;
	factor = d->knob[VMM_KNOB_VA_FACTOR];
	va_size = round_up(factor * d->total, d->gran);
	if (va_size / d->gran > UINT32_MAX)
		va_size = (uint64_t)UINT32_MAX * d->gran;
	ret = drv_address_reserve(d->ordinal, va_size, d->gran, &va);
	if (ret)
		goto out_put;
	arena_init(&d->arena, va, va_size, d->gran);
	d->cached = (struct vtree){ .cmp = range_cmp_size };
	INIT_LIST_HEAD(&d->cached_lru);
	INIT_LIST_HEAD(&d->deferred);
	INIT_LIST_HEAD(&d->async);
	INIT_LIST_HEAD(&d->retiring);
	INIT_LIST_HEAD(&d->imports);
	INIT_LIST_HEAD(&d->pool);
	INIT_LIST_HEAD(&d->deferred_chunks);
	share_init(d);
	small_classes_init(d);
	ret = pt_setup(d);
	if (ret)
		goto out_free_va;
	__stats_publish_knobs(d);
	if (d->knob[VMM_KNOB_POOL_RESERVE]) {
		pthread_mutex_lock(&d->lock);
		drv_error_clear();	/* the limit or calloc may stop it instead */
		ret = __pool_reserve(d, d->knob[VMM_KNOB_POOL_RESERVE]);
		__stats_cached_update(d);
		pthread_mutex_unlock(&d->lock);
		if (ret)
			vmm_warn("device %d: pool_reserve: only %llu bytes created: %s",
				 d->ordinal, (unsigned long long)d->st->physical,
				 drv_strerror(ret));
	}
	if (vmm_trace_on)
		vmm_trace_set_geometry(d->total, d->gran);
	vmm_info("device %d (%s): %llu bytes, granularity %llu, arena %llu bytes at 0x%llx",
		 d->ordinal, d->name, (unsigned long long)d->total,
		 (unsigned long long)d->gran, (unsigned long long)va_size,
		 (unsigned long long)va);
	return 0;

out_free_va:
	arena_destroy(&d->arena);
	drv_address_free(d->ordinal, va, va_size);
out_put:
	drv_device_put(d->ordinal);
	return ret;
}

/**
 * vmm_device_get - the device @dev, set up on first use
 * @dev: ordinal
 * @err: on failure, -EINVAL (no such device), -ENODEV or the set-up error
 */
struct vmm_device *vmm_device_get(int dev, int *err)
{
	struct vmm_device *d;
	int ret;

	ret = gpuvm_init();
	if (ret) {
		*err = ret;
		return NULL;
	}
	if (dev < 0 || dev >= vmm.nr_devices) {
		*err = -EINVAL;
		return NULL;
	}
	d = &vmm.dev[dev];
	if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
		return d;
	pthread_mutex_lock(&vmm.setup_lock);
	ret = 0;
	if (!d->ready) {
		ret = device_setup(d);
		if (!ret)
			__atomic_store_n(&d->ready, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vmm.setup_lock);
	if (ret) {
		*err = ret;
		return NULL;
	}
	return d;
}

static void device_teardown(struct vmm_device *d)
{
	struct vmm_range *r;
	uint64_t g;
	uint32_t i;
	int ret;

	/* work queued on live or deferred memory finishes before it goes */
	if (d->st->live_allocs || d->nr_deferred)
		__dev_sync(d);
	__small_teardown(d);
	for (g = 0; g < d->nr_pt; g++) {
		r = pt_owner(d, g);
		if (r && r->state == RANGE_LIVE && r->va == d->arena.base + g * d->gran)
			__range_free(d, r, false, NULL);
	}
	d->sync_done = ++d->sync_started;
	d->syncing = true;
	d->knob[VMM_KNOB_HIGH_WATERMARK] = 0;
	__dev_collect(d, false);
	/* a driver call that failed once gets a second chance */
	for (i = 0; i < 3 && (d->st->chunks || !list_empty(&d->cached_lru) ||
			      !list_empty(&d->retiring)); i++) {
		if (i)
			__dev_collect(d, false);	/* retires what failed to */
		__cached_release(d, 0, false);
		__pool_release(d, 0, false);
	}
	for (i = 0; i < d->nr_events; i++)
		if (drv_event_destroy(d->ordinal, d->events[i]))
			drv_event_destroy(d->ordinal, d->events[i]);
	d->nr_events = 0;
	__ipc_teardown(d);
	if (d->st->chunks)
		vmm_warn("device %d: %llu chunk(s) could not be released", d->ordinal,
			 (unsigned long long)d->st->chunks);
	ret = drv_address_free(d->ordinal, d->arena.base, d->arena.size);
	if (ret)
		ret = drv_address_free(d->ordinal, d->arena.base, d->arena.size);
	if (ret)
		vmm_warn("device %d: the arena could not be freed: cuMemAddressFree failed: %s",
			 d->ordinal, drv_strerror(ret));
	arena_destroy(&d->arena);
}

/*
 * Wait until no thread is inside the gate, at most VMM_QUIESCE_MS.
 * Return: whether none is.
 */
static bool vmm_quiesce(void)
{
	const struct timespec pause = { 0, 100000 };	/* 100 us */
	unsigned int i;

	for (i = 0; vmm_gate_inside(); i++) {
		if (i == VMM_QUIESCE_MS * 10)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

/**
 * gpuvm_shutdown - release everything and detach from the driver
 *
 * Live allocations are released too.  Called at exit automatically; the
 * library initializes itself again on its next use (not after exit).
 * Calls made meanwhile by other threads fail with -ESHUTDOWN, and those
 * already inside are waited for.  A thread still inside after
 * VMM_QUIESCE_MS (a synchronization that does not end) keeps everything
 * it may touch: only the segment files are removed, the memory is left to
 * the driver, and the library stays closed.
 */
GPUVM_API void gpuvm_shutdown(void)
{
	int i;

	if (__atomic_load_n(&vmm.initialized, __ATOMIC_ACQUIRE) <= 0)
		return;
	__atomic_store_n(&vmm.closing, true, __ATOMIC_SEQ_CST);
	control_stop();
	ipc_stop();
	if (!vmm_quiesce()) {
		pthread_mutex_lock(&vmm.setup_lock);
		vmm_warn("%lu thread(s) still inside gpuvm after %d ms at shutdown: "
			 "their memory is left to the driver",
			 vmm_gate_inside(), VMM_QUIESCE_MS);
		publish_unlink();
		pthread_mutex_unlock(&vmm.setup_lock);
		return;		/* closed for good: nothing may go under them */
	}
	pthread_mutex_lock(&vmm.setup_lock);
	if (vmm.initialized <= 0)
		goto out_open;
	if (vmm_trace_on)
		vmm_trace_stop();
	for (i = 0; i < vmm.nr_devices; i++) {
		struct vmm_device *d = &vmm.dev[i];

		if (!d->ready)
			continue;
		vmm_lock(d);
		device_teardown(d);
		__atomic_store_n(&d->ready, false, __ATOMIC_RELEASE);
		pt_teardown(d);
		drv_device_put(d->ordinal);
		pthread_mutex_unlock(&d->lock);
	}
	publish_exit(true);
	drv_close();
	vmm.nr_devices = 0;
	__atomic_store_n(&vmm.initialized, 0, __ATOMIC_RELEASE);
out_open:
	if (!__atomic_load_n(&vmm.exiting, __ATOMIC_SEQ_CST))
		__atomic_store_n(&vmm.closing, false, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vmm.setup_lock);
}

/**
 * gpuvm_device_count - number of devices gpuvm can manage
 * Return: count (>= 1), or negative errno.
 */
GPUVM_API int gpuvm_device_count(void)
{
	int ret = gpuvm_init();

	return ret ? ret : vmm.nr_devices;
}

static int64_t vmm_reclaim(int dev, uint64_t target)
{
	struct vmm_device *d;
	int64_t total = 0;
	int ret, i;

	ret = gpuvm_init();
	if (ret)
		return ret;
	if (dev < -1 || dev >= vmm.nr_devices)
		return -EINVAL;
	for (i = 0; i < vmm.nr_devices; i++) {
		if (dev != -1 && i != dev)
			continue;
		if (dev == -1 && !__atomic_load_n(&vmm.dev[i].ready, __ATOMIC_ACQUIRE))
			continue;
		d = vmm_device_get(i, &ret);
		if (!d)
			return ret;
		vmm_lock(d);
		total += __dev_reclaim(d, target);
		vmm_unlock(d);
	}
	return total;
}

/**
 * gpuvm_reclaim - hand cached physical chunks back to the driver
 * @dev: device ordinal, or -1 for every device
 * @target: bytes to release at least (0: everything cached)
 *
 * Deferred frees are synchronized first so that they can go back too.
 * Return: bytes released (>= 0), or negative errno.
 */
GPUVM_API int64_t gpuvm_reclaim(int dev, uint64_t target)
{
	return vmm_gated(-ESHUTDOWN, vmm_reclaim(dev, target));
}

/*
 * Give the device set of @d (itself and d->peers) access to every mapped
 * run of granules - live and cached alike, as one cuMemSetAccess per
 * contiguous run, which always covers whole chunk mappings.
 */
static int __dev_set_access_all(struct vmm_device *d, uint8_t pte_bit)
{
	uint32_t g = 0, start;
	int ret;

	while (g < d->nr_pt) {
		uint8_t st = d->pt[g].state;

		if (st != GPUVM_PTE_MAPPED && st != GPUVM_PTE_CACHED) {
			g++;
			continue;
		}
		for (start = g; g < d->nr_pt; g++) {
			st = d->pt[g].state;
			if (st != GPUVM_PTE_MAPPED && st != GPUVM_PTE_CACHED)
				break;
		}
		ret = drv_set_access(d->ordinal, d->arena.base + (uint64_t)start * d->gran,
				     (uint64_t)(g - start) * d->gran, d->peers);
		if (ret)
			return ret;
		for (; start < g; start++)
			d->pt[start].access |= pte_bit;
	}
	return 0;
}

static int vmm_peer_access(int dev, int peer)
{
	struct vmm_device *d;
	int ret;

	ret = gpuvm_init();
	if (ret)
		return ret;
	if (dev < 0 || dev >= vmm.nr_devices || peer < 0 || peer >= vmm.nr_devices ||
	    dev == peer)
		return -EINVAL;
	if (!vmm_device_get(peer, &ret))	/* its CUdevice is needed */
		return ret;
	d = vmm_device_get(dev, &ret);
	if (!d)
		return ret;
	vmm_lock(d);
	if (!(d->peers & (1u << peer))) {
		d->peers |= 1u << peer;
		ret = __dev_set_access_all(d, GPUVM_PTE_ACCESS_PEER);
		if (ret) {
			vmm_warn("device %d: cuMemSetAccess for peer device %d failed: %s",
				 dev, peer, drv_strerror(ret));
			d->peers &= ~(1u << peer);
		}
	}
	vmm_unlock(d);
	return ret;
}

/**
 * gpuvm_peer_access - let device @peer access @dev's gpuvm memory
 * @dev: the device whose memory is accessed
 * @peer: the device that accesses it
 *
 * Every present mapping of @dev (live or cached) becomes accessible from
 * @peer, and so does every later one.  The shim calls it for
 * cuCtxEnablePeerAccess.  Idempotent.
 * Return: 0; -EINVAL (bad or equal ordinals), or the driver's error, in
 * which case @peer is not added.
 */
GPUVM_API int gpuvm_peer_access(int dev, int peer)
{
	return vmm_gated(-ESHUTDOWN, vmm_peer_access(dev, peer));
}
