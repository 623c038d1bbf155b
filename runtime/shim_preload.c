// SPDX-License-Identifier: MIT
/*
 * shim_preload.c - the shim's set-up: lazy initialization, the real driver, the
 * dlsym hook and fork.
 *
 * A CUDA program reaches the driver in three ways: the dynamic linker binds
 * its references to libcuda.so.1 (our exported hooks win, we are preloaded),
 * dlopen + dlsym (the hook below), and cuGetProcAddress, which is how the
 * CUDA runtime 11.3+ finds every function (shim_procaddr.c; itself found through
 * dlsym).  The shim opens the real driver on its own so that it can always
 * pass a call through untouched.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvm/cuda_driver.h>

#include "shim.h"

struct shim_state shim;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set while this thread initializes: the driver's constructors may call
 * back into dlsym, which must then just answer. */
static __thread bool in_init;

/* Our constructor ran: the process is past the start-up of early objects. */
static atomic_bool shim_constructed;

typedef void *dlsym_fn(void *handle, const char *name);
static _Atomic(dlsym_fn *) real_dlsym;

/*
 * A dl* function of the C library, whichever version this glibc has as
 * default (2.34 moved them from libdl into libc; aarch64 starts at 2.17).
 * Found after this shim, so a sanitizer's interceptor (preloaded ahead of
 * us, and not working yet while the sanitizer starts) is skipped.
 */
static void *find_libc(const char *name)
{
	static const char *const versions[] = { "GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17" };
	void *fn = NULL;
	size_t i;

	for (i = 0; !fn && i < sizeof(versions) / sizeof(versions[0]); i++)
		fn = dlvsym(RTLD_NEXT, name, versions[i]);
	return fn;
}

static dlsym_fn *find_real_dlsym(void)
{
	return (dlsym_fn *)find_libc("dlsym");
}

void *shim_real_dlsym(void *handle, const char *name)
{
	dlsym_fn *fn = atomic_load_explicit(&real_dlsym, memory_order_relaxed);

	if (unlikely(!fn)) {
		fn = find_real_dlsym();
		if (!fn) {
			shim_warn("cannot find the C library's dlsym");
			return NULL;
		}
		atomic_store_explicit(&real_dlsym, fn, memory_order_relaxed);
	}
	return fn(handle, name);
}

/* Load address of the object containing @addr (dladdr's dli_fbase). */
static const void *object_base(const void *addr)
{
	Dl_info info;

	if (!addr || !dladdr(addr, &info))
		return NULL;
	return info.dli_fbase;
}

/*
 * Whether a lookup comes from gpuvm itself, this shim or the real driver:
 * those must get the real functions, or gpuvm would allocate through itself.
 */
bool shim_caller_is_internal(const void *caller)
{
	const void *base = object_base(caller);

	return base && (base == shim.gpuvm_base || base == shim.shim_base ||
			base == shim.driver_base);
}

/*
 * dlsym(RTLD_NEXT, name) for @caller.  glibc finds "next" from its caller's
 * return address, which would be this shim, so the search is redone here:
 * the first object loaded after the caller's that defines @name itself.
 */
static void *dlsym_next(const void *caller, const char *name)
{
	static void *(*real_dlopen)(const char *file, int mode);
	static int (*real_dlclose)(void *handle);
	struct link_map *lm = NULL, *def;
	Dl_info info;
	void *sym;

	/*
	 * Until our constructor ran, the callers are objects initialized
	 * before us (a sanitizer runtime, say, that may not even allow
	 * dlopen yet): the search from here differs only by our own names.
	 */
	if (!atomic_load_explicit(&shim_constructed, memory_order_acquire))
		return shim_real_dlsym(RTLD_NEXT, name);
	if (!real_dlopen || !real_dlclose) {
		*(void **)&real_dlopen = find_libc("dlopen");
		*(void **)&real_dlclose = find_libc("dlclose");
	}
	if (real_dlopen && real_dlclose &&
	    dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm) {
		for (lm = lm->l_next; lm; lm = lm->l_next) {
			/* A lookup handle for the object alone (the vDSO has none). */
			void *handle = lm->l_name && *lm->l_name ?
				       real_dlopen(lm->l_name, RTLD_LAZY | RTLD_NOLOAD) : NULL;

			if (!handle)
				continue;
			sym = shim_real_dlsym(handle, name);
			real_dlclose(handle);
			if (sym && dladdr1(sym, &info, (void **)&def, RTLD_DL_LINKMAP) &&
			    def == lm)
				return sym;
		}
	}
	/* Not found that way (a copy-relocated variable, say): ours. */
	return shim_real_dlsym(RTLD_NEXT, name);
}

/**
 * dlsym - the C library's dlsym, handing out the shim's hooks
 * @handle: as for dlsym(3)
 * @name: as for dlsym(3)
 *
 * Defined without a symbol version, so it binds references to both versions
 * glibc exports (dlsym@GLIBC_2.2.5 of older programs and libcudart,
 * dlsym@@GLIBC_2.34).  A driver function the shim routes is answered with
 * its hook, unless gpuvm, the shim or the driver asks.
 */
SHIM_EXPORT void *dlsym(void *handle, const char *name)
{
	const void *caller = __builtin_return_address(0);
	void *sym, *hook;

	if (handle == RTLD_NEXT)
		sym = dlsym_next(caller, name);
	else
		sym = shim_real_dlsym(handle, name);
	if (!sym || name[0] != 'c' || name[1] != 'u' || in_init)
		return sym;
	shim_init();
	if (shim.disabled)
		return sym;
	hook = shim_route_hook(name);
	if (!hook || shim_caller_is_internal(caller))
		return sym;
	shim_debug("dlsym(%s): hooked", name);
	return hook;
}

/* Stands in for a function the driver does not have. */
CUresult shim_missing(void)
{
	return CUDA_ERROR_NOT_FOUND;
}

/* Marks this library: see GPUVM_SHIM_MARKER. */
SHIM_EXPORT const char gpuvm_preload_shim[] = "libgpuvm_preload.so";

/* Without a driver, or for what it lacks, a real function is shim_missing. */
static void driver_resolve(void)
{
	void *fn;

#define SHIM_RESOLVE(name, params)					\
	fn = shim.driver ? shim_real_dlsym(shim.driver, #name) : NULL;	\
	if (!fn) {							\
		shim_debug("the driver has no %s", #name);		\
		fn = (void *)shim_missing;				\
	}								\
	shim.real.name = (shim_##name##_fn *)fn;
	SHIM_REAL_FUNCS(SHIM_RESOLVE)
#undef SHIM_RESOLVE
}

/* GPUVM_DISABLE: 1 (or yes/true/on) passes everything through. */
static bool env_disabled(void)
{
	static const char *const on[] = { "1", "yes", "true", "on" };
	static const char *const off[] = { "", "0", "no", "false", "off" };
	const char *val = getenv("GPUVM_DISABLE");
	size_t i;

	if (!val)
		return false;
	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		if (!strcasecmp(val, on[i]))
			return true;
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if (!strcasecmp(val, off[i]))
			return false;
	shim_warn("GPUVM_DISABLE=%s: expected 0 or 1; using 0", val);
	return false;
}

/*
 * shim_init_slow - first call of any hook: open the driver and find the real
 * functions.  Takes the init lock; cheap enough to be done once, never on a
 * hot path.  Does not initialize the driver (the runtime calls
 * cuGetProcAddress before cuInit) nor gpuvm (its first allocation does).
 */
void shim_init_slow(void)
{
	if (in_init)
		return;
	pthread_mutex_lock(&init_lock);
	if (atomic_load_explicit(&shim.ready, memory_order_relaxed))
		goto out_unlock;
	in_init = true;
	shim_log_init();
	shim.disabled = env_disabled();
	/* the process's driver, the one libgpuvm uses: said once if none */
	shim.driver = gpuvm_cuda_driver(NULL);
	driver_resolve();
	shim.driver_base = object_base((void *)shim.real.cuCtxGetCurrent);
	if (shim.driver_base == object_base((void *)shim_missing))
		shim.driver_base = NULL;
	shim.gpuvm_base = object_base((void *)gpuvm_init);
	shim.shim_base = object_base((void *)shim_init_slow);
	/* What the caller of the hook that got us here sees stays clean. */
	dlerror();
	in_init = false;
	shim_info("initialized: %s", shim.disabled ? "disabled, passing everything through" :
		  "routing device memory to gpuvm");
	atomic_store_explicit(&shim.ready, 1, memory_order_release);
out_unlock:
	pthread_mutex_unlock(&init_lock);
}

/*
 * fork: a thread of the parent may hold the init lock at that moment; the
 * child, which has only the forking thread, must not inherit it held.  The
 * state itself stays valid in the child (same mappings, same driver).
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&init_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&init_lock);
}

static void fork_child(void)
{
	pthread_mutex_unlock(&init_lock);
}

__attribute__((constructor))
static void shim_load(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atomic_store_explicit(&shim_constructed, true, memory_order_release);
}
