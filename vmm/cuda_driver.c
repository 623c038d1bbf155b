// SPDX-License-Identifier: MIT
/*
 * cuda_driver.c - opening the CUDA driver: see <gpuvm/cuda_driver.h>.
 *
 * Lookups here use the C library's own dlsym, found through a handle of
 * libc itself: the preload shim exports a dlsym of its own, and a lookup
 * through it would start the shim, which opens the driver through here.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <gpuvm/cuda_driver.h>

#include "driver.h"
#include "log.h"

#define DRIVER_SONAME	"libcuda.so.1"

/* The ABI asked of cuGetProcAddress: 12.0 (picks the _v2 entry points). */
#define DRIVER_API_VERSION	12000

/* What makes a library a CUDA driver. */
static const char *const driver_identity[] = {
	"cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuGetProcAddress",
};

typedef void *dlsym_fn(void *handle, const char *name);
typedef CUresult gpa_fn(const char *, void **, int, cuuint64_t,
			CUdriverProcAddressQueryResult *);

static pthread_once_t libc_once = PTHREAD_ONCE_INIT;
static dlsym_fn *libc_dlsym;

static void libc_dlsym_find(void)
{
	/* 2.34 moved it from libdl into libc; aarch64 starts at 2.17 */
	static const char *const versions[] = { "GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17" };
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	size_t i;

	for (i = 0; libc && !libc_dlsym && i < sizeof(versions) / sizeof(versions[0]); i++)
		*(void **)&libc_dlsym = dlvsym(libc, "dlsym", versions[i]);
	if (libc)
		dlclose(libc);
	if (!libc_dlsym)
		libc_dlsym = dlsym;	/* not glibc: there is no shim either */
}

static void *lookup(void *lib, const char *name)
{
	pthread_once(&libc_once, libc_dlsym_find);
	return libc_dlsym(lib, name);
}

/**
 * drv_missing_add - name the @nth missing entry point in a message
 * @buf: the message, @len its size, *@n its length so far
 * @nth: how many are missing with this one (1 for the first)
 * @prefix: what comes before the first name
 * @name: the entry point
 *
 * The first three are enough to tell what a library is; a fourth adds
 * ", ...", and later ones nothing.
 */
void drv_missing_add(char *buf, size_t len, size_t *n, size_t nth, const char *prefix,
		     const char *name)
{
	if (*n >= len)
		return;
	if (nth <= 3)
		*n += snprintf(buf + *n, len - *n, "%s%s", nth > 1 ? ", " : prefix, name);
	else if (nth == 4)
		*n += snprintf(buf + *n, len - *n, ", ...");
}

/*
 * Why @lib cannot be a driver, in @why, or false when it can: it is the
 * shim, or it lacks an entry point every driver has.
 */
static bool driver_refused(void *lib, char *why, size_t len)
{
	size_t i, n = 0, missing = 0;

	if (lookup(lib, GPUVM_SHIM_MARKER)) {
		snprintf(why, len, "is gpuvm's preload shim, not a CUDA driver");
		return true;
	}
	for (i = 0; i < sizeof(driver_identity) / sizeof(driver_identity[0]); i++)
		if (!lookup(lib, driver_identity[i]))
			drv_missing_add(why, len, &n, ++missing, "is not a CUDA driver: it lacks ",
					driver_identity[i]);
	return missing > 0;
}

static void *driver_try(const char *path, int mode, char *why, size_t len)
{
	void *lib = dlopen(path, RTLD_NOW | mode);
	size_t n = strlen(path);
	const char *err;

	if (!lib) {
		/* dlerror() names the file first, as the caller will */
		err = dlerror();
		if (err && !strncmp(err, path, n) && err[n] == ':' && err[n + 1] == ' ')
			err += n + 2;
		snprintf(why, len, "cannot be opened: %s", err ? err : "?");
		return NULL;
	}
	if (driver_refused(lib, why, len)) {
		dlclose(lib);
		return NULL;
	}
	return lib;
}

GPUVM_API void *gpuvm_cuda_open(const char *path, char *why, size_t len)
{
	return driver_try(path, RTLD_LOCAL, why, len);
}

static pthread_once_t driver_once = PTHREAD_ONCE_INIT;
static void *driver_lib;
static const char *driver_path;

static void driver_open_once(void)
{
	const char *env = getenv("GPUVM_LIBCUDA");
	char why[GPUVM_CUDA_WHY_LEN];

	vmm_log_init();
	if (env && *env) {
		driver_lib = driver_try(env, RTLD_GLOBAL, why, sizeof(why));
		if (driver_lib) {
			driver_path = strdup(env);
			if (driver_path)
				goto out;
			dlclose(driver_lib);
			driver_lib = NULL;
			snprintf(why, sizeof(why), "cannot be kept: out of memory");
		}
		vmm_warn("GPUVM_LIBCUDA=%s %s; using %s", env, why, DRIVER_SONAME);
	}
	driver_lib = driver_try(DRIVER_SONAME, RTLD_GLOBAL, why, sizeof(why));
	if (!driver_lib) {
		vmm_warn("no CUDA driver: %s %s", DRIVER_SONAME, why);
		return;
	}
	driver_path = DRIVER_SONAME;
out:
	vmm_debug("CUDA driver: %s", driver_path);
	/* what the caller's own dlerror() sees stays clean */
	dlerror();
}

GPUVM_API void *gpuvm_cuda_driver(const char **path)
{
	pthread_once(&driver_once, driver_open_once);
	if (path)
		*path = driver_lib ? driver_path : NULL;
	return driver_lib;
}

GPUVM_API void *gpuvm_cuda_sym(void *lib, const char *name, const char *versioned)
{
	CUdriverProcAddressQueryResult found;
	gpa_fn *gpa;
	void *fn = NULL;

	if (!lib)
		return NULL;
	if (name) {
		*(void **)&gpa = lookup(lib, "cuGetProcAddress_v2");
		if (gpa && gpa(name, &fn, DRIVER_API_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
			       &found) == CUDA_SUCCESS && fn)
			return fn;
	}
	return lookup(lib, versioned ? versioned : name);
}
