// SPDX-License-Identifier: MIT
/*
 * module.c - modules, functions and cuLaunchKernel.
 *
 * cudasim runs no device code.  A module image is accepted when it starts
 * with "CUDASIM-MODULE\0" (the rest is ignored); its functions are looked
 * up by name among the C reference implementations registered with
 * cudasim_register_kernel(), and cuLaunchKernel calls one synchronously.
 *
 * A fatbin or cubin (what nvcc builds and the runtime registers at start-up)
 * is accepted too and recorded as foreign: any name resolves, to the C
 * reference of that name if one is registered, else to a function with no
 * code, whose launch is CUDA_ERROR_NO_BINARY_FOR_GPU, the driver's answer
 * to an image with nothing for this device.  A CUlibrary is a module and a
 * CUkernel a function: the driver too lets either stand for the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cudasim.h"
#include "abi.h"

#define CS_MODULE_IMAGE_MAGIC "CUDASIM-MODULE"
#define CS_FATBIN_MAGIC		0xba55ed50u	/* the fatbin header */
#define CS_ELF_MAGIC		"\177ELF"	/* a cubin */

struct cs_kernel {
	char *name;
	cudasim_kernel_fn fn;
	struct cs_kernel *next;
};

struct cs_func {
	uint32_t magic;
	struct cs_kernel *kernel;	/* NULL: device code cudasim cannot run */
	char *name;
	struct cs_module *module;
	struct cs_func *next;
};

struct cs_module {
	uint32_t magic;
	bool foreign;			/* a fatbin or cubin, not a cudasim image */
	struct cs_func *funcs;
	struct cs_module *next;
};

static struct cs_kernel *kernels;	/* by cs.lock; never shrinks */
static struct cs_module *modules;	/* by cs.lock */
static __thread bool launch_faulted;

CS_API int cudasim_register_kernel(const char *name, cudasim_kernel_fn fn)
{
	struct cs_kernel *k;

	if (!name || !*name || !fn)
		return -EINVAL;
	cs_lock();
	for (k = kernels; k; k = k->next) {
		if (!strcmp(k->name, name)) {
			k->fn = fn;
			cs_unlock();
			return 0;
		}
	}
	k = calloc(1, sizeof(*k));
	if (!k || !(k->name = strdup(name))) {
		cs_unlock();
		free(k);
		return -ENOMEM;
	}
	k->fn = fn;
	k->next = kernels;
	kernels = k;
	cs_unlock();
	return 0;
}

CS_API void cudasim_kernel_fault(CUdeviceptr addr)
{
	(void)addr;
	launch_faulted = true;
}

static struct cs_module *__module_find(CUmodule m)
{
	struct cs_module *p;

	for (p = modules; p; p = p->next)
		if (p == (struct cs_module *)m)
			return p;
	return NULL;
}

static struct cs_func *__func_find(CUfunction f)
{
	struct cs_module *m;
	struct cs_func *p;

	for (m = modules; m; m = m->next)
		for (p = m->funcs; p; p = p->next)
			if (p == (struct cs_func *)f)
				return p;
	return NULL;
}

/* 0: a cudasim image, 1: a fatbin or cubin, -1: neither.  The first four
 * bytes decide whether to read more: a cubin may be shorter than our magic. */
static int image_kind(const void *image)
{
	uint32_t magic;

	memcpy(&magic, image, sizeof(magic));
	if (magic == CS_FATBIN_MAGIC || !memcmp(image, CS_ELF_MAGIC, 4))
		return 1;
	if (!memcmp(image, CS_MODULE_IMAGE_MAGIC, 4) &&
	    !memcmp(image, CS_MODULE_IMAGE_MAGIC, sizeof(CS_MODULE_IMAGE_MAGIC)))
		return 0;
	return -1;
}

/* A library needs no context; a module belongs to the current one. */
static CUresult module_load(CUmodule *module, const void *image, bool need_ctx)
{
	struct cs_module *m;
	struct cs_ctx *ctx;
	CUresult res;
	int kind;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;
	kind = image_kind(image);
	if (kind < 0)
		return CUDA_ERROR_INVALID_IMAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	res = need_ctx ? __cs_need_ctx(&ctx) : CUDA_SUCCESS;
	if (res != CUDA_SUCCESS) {
		cs_unlock();
		free(m);
		return res;
	}
	m->magic = CS_MODULE_MAGIC;
	m->foreign = kind == 1;
	m->next = modules;
	modules = m;
	cs.nr_modules++;
	cs_unlock();
	*module = (CUmodule)m;
	return CUDA_SUCCESS;
}

CS_API CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
	CS_ENTER("cuModuleLoadData");
	return module_load(module, image, true);
}

CS_API CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
				   void *options, void **optionValues)
{
	CS_ENTER("cuModuleLoadDataEx");
	(void)numOptions, (void)options, (void)optionValues;
	return module_load(module, image, true);
}

CS_API CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	CS_ENTER("cuModuleLoadFatBinary");
	return module_load(module, fatCubin, true);
}

/* Only the start of a file says what it is: cudasim reads no further. */
static CUresult module_load_file(CUmodule *module, const char *fname, bool need_ctx)
{
	char buf[sizeof(CS_MODULE_IMAGE_MAGIC)] = "";
	ssize_t n;
	int fd;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!module || !fname)
		return CUDA_ERROR_INVALID_VALUE;
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CUDA_ERROR_FILE_NOT_FOUND;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 4)
		return CUDA_ERROR_INVALID_IMAGE;
	return module_load(module, buf, need_ctx);
}

CS_API CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
	CS_ENTER("cuModuleLoad");
	return module_load_file(module, fname, true);
}

static CUresult module_unload(CUmodule hmod)
{
	struct cs_module **pp, *m;
	CUresult res = CUDA_ERROR_INVALID_HANDLE;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	for (pp = &modules; *pp; pp = &(*pp)->next) {
		if (*pp != (struct cs_module *)hmod)
			continue;
		m = *pp;
		*pp = m->next;
		while (m->funcs) {
			struct cs_func *f = m->funcs;

			m->funcs = f->next;
			free(f->name);
			free(f);
		}
		free(m);
		cs.nr_modules--;
		res = CUDA_SUCCESS;
		break;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuModuleUnload(CUmodule hmod)
{
	CS_ENTER("cuModuleUnload");
	return module_unload(hmod);
}

static CUresult module_get_function(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct cs_module *m;
	struct cs_kernel *k;
	struct cs_func *f;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!hfunc || !name)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	m = __module_find(hmod);
	if (!m) {
		res = CUDA_ERROR_INVALID_HANDLE;
		goto out_unlock;
	}
	for (k = kernels; k && strcmp(k->name, name); k = k->next)
		;
	if (!k && !m->foreign) {
		res = CUDA_ERROR_NOT_FOUND;
		goto out_unlock;
	}
	for (f = m->funcs; f && strcmp(f->name, name); f = f->next)
		;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (f)
			f->name = strdup(name);
		if (!f || !f->name) {
			free(f);
			res = CUDA_ERROR_OUT_OF_MEMORY;
			goto out_unlock;
		}
		f->magic = CS_FUNC_MAGIC;
		f->kernel = k;
		f->module = m;
		f->next = m->funcs;
		m->funcs = f;
	}
	*hfunc = (CUfunction)f;
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	CS_ENTER("cuModuleGetFunction");
	return module_get_function(hfunc, hmod, name);
}

CS_API CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
			       unsigned int gridDimZ, unsigned int blockDimX,
			       unsigned int blockDimY, unsigned int blockDimZ,
			       unsigned int sharedMemBytes, CUstream hStream,
			       void **kernelParams, void **extra)
{
	unsigned int grid[3] = { gridDimX, gridDimY, gridDimZ };
	unsigned int block[3] = { blockDimX, blockDimY, blockDimZ };
	cudasim_kernel_fn fn = NULL;
	struct cs_func *func;
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuLaunchKernel");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!gridDimX || !gridDimY || !gridDimZ || !blockDimX || !blockDimY || !blockDimZ)
		return CUDA_ERROR_INVALID_VALUE;
	if ((unsigned long)blockDimX * blockDimY * blockDimZ > 1024 || blockDimZ > 64 ||
	    gridDimY > 65535 || gridDimZ > 65535 || sharedMemBytes > 166912)
		return CUDA_ERROR_INVALID_VALUE;
	if (extra)
		return CUDA_ERROR_NOT_SUPPORTED;	/* only kernelParams */
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		res = __cs_stream_check(hStream, ctx);
	if (res == CUDA_SUCCESS) {
		func = __func_find(f);
		if (!func)
			res = CUDA_ERROR_INVALID_HANDLE;
		else if (!func->kernel)
			res = CUDA_ERROR_NO_BINARY_FOR_GPU;
		else
			fn = func->kernel->fn;
	}
	cs_unlock();
	if (res != CUDA_SUCCESS)
		return res;
	launch_faulted = false;
	fn(kernelParams, grid, block);
	return launch_faulted ? CUDA_ERROR_ILLEGAL_ADDRESS : CUDA_SUCCESS;
}

CS_API CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
				    unsigned int gridDimZ, unsigned int blockDimX,
				    unsigned int blockDimY, unsigned int blockDimZ,
				    unsigned int sharedMemBytes, CUstream hStream,
				    void **kernelParams, void **extra)
	__attribute__((alias("cuLaunchKernel")));

/* ---- libraries and kernels (CUDA 12.0): context-independent modules ---- */

CS_API CUresult cuLibraryLoadData(CUlibrary *library, const void *code, void *jitOptions,
				  void **jitOptionsValues, unsigned int numJitOptions,
				  void *libraryOptions, void **libraryOptionValues,
				  unsigned int numLibraryOptions)
{
	CS_ENTER("cuLibraryLoadData");
	(void)jitOptions, (void)jitOptionsValues, (void)numJitOptions;
	(void)libraryOptions, (void)libraryOptionValues, (void)numLibraryOptions;
	return module_load((CUmodule *)library, code, false);
}

CS_API CUresult cuLibraryLoadFromFile(CUlibrary *library, const char *fileName, void *jitOptions,
				      void **jitOptionsValues, unsigned int numJitOptions,
				      void *libraryOptions, void **libraryOptionValues,
				      unsigned int numLibraryOptions)
{
	CS_ENTER("cuLibraryLoadFromFile");
	(void)jitOptions, (void)jitOptionsValues, (void)numJitOptions;
	(void)libraryOptions, (void)libraryOptionValues, (void)numLibraryOptions;
	return module_load_file((CUmodule *)library, fileName, false);
}

CS_API CUresult cuLibraryUnload(CUlibrary library)
{
	CS_ENTER("cuLibraryUnload");
	return module_unload((CUmodule)library);
}

CS_API CUresult cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
	CS_ENTER("cuLibraryGetKernel");
	return module_get_function((CUfunction *)pKernel, (CUmodule)library, name);
}

CS_API CUresult cuLibraryGetModule(CUmodule *pMod, CUlibrary library)
{
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuLibraryGetModule");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pMod)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (__module_find((CUmodule)library))
		*pMod = (CUmodule)library;
	else
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

/* A kernel's function in the current context: cudasim's is the kernel. */
CS_API CUresult cuKernelGetFunction(CUfunction *pFunc, CUkernel kernel)
{
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuKernelGetFunction");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pFunc)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS && !__func_find((CUfunction)kernel))
		res = CUDA_ERROR_INVALID_HANDLE;
	if (res == CUDA_SUCCESS)
		*pFunc = (CUfunction)kernel;
	cs_unlock();
	return res;
}

/*
 * cudasim reads no symbol table, so no image has globals or managed
 * variables it could find: the driver's answer for a name not in the image.
 */
static CUresult symbol_lookup(void *handle, const char *name)
{
	CUresult res = CUDA_ERROR_NOT_FOUND;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (!__module_find((CUmodule)handle))
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

CS_API CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
				     const char *name)
{
	CS_ENTER("cuModuleGetGlobal");
	(void)dptr, (void)bytes;
	return symbol_lookup(hmod, name);
}

CS_API CUresult cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
				   const char *name)
{
	CS_ENTER("cuLibraryGetGlobal");
	(void)dptr, (void)bytes;
	return symbol_lookup(library, name);
}

CS_API CUresult cuLibraryGetManaged(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
				    const char *name)
{
	CS_ENTER("cuLibraryGetManaged");
	(void)dptr, (void)bytes;
	return symbol_lookup(library, name);
}

CS_API CUresult cuLibraryGetUnifiedFunction(void **fptr, CUlibrary library, const char *symbol)
{
	CS_ENTER("cuLibraryGetUnifiedFunction");
	(void)fptr;
	return symbol_lookup(library, symbol);
}

CS_API CUresult cuModuleGetLoadingMode(int *mode)
{
	CS_ENTER("cuModuleGetLoadingMode");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!mode)
		return CUDA_ERROR_INVALID_VALUE;
	/* images are only recorded: nothing is loaded before it is used */
	*mode = CU_MODULE_LAZY_LOADING;
	return CUDA_SUCCESS;
}

static CUresult func_check(void *f)
{
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	if (!__func_find((CUfunction)f))
		res = CUDA_ERROR_INVALID_HANDLE;
	cs_unlock();
	return res;
}

/* What cudasim's launches honour: 1024 threads, the device's 48 KiB static
 * shared memory and its 163 KiB opt-in; no registers or local memory. */
static CUresult func_get_attribute(int *pi, int attrib, void *f)
{
	CUresult res;

	if (!pi)
		return CUDA_ERROR_INVALID_VALUE;
	res = func_check(f);
	if (res != CUDA_SUCCESS)
		return res;
	switch (attrib) {
	case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
		*pi = 1024;
		break;
	case CU_FUNC_ATTRIBUTE_PTX_VERSION:
	case CU_FUNC_ATTRIBUTE_BINARY_VERSION:
		*pi = 80;
		break;
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		*pi = 48 << 10;
		break;
	case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
		*pi = -1;
		break;
	default:
		if (attrib < 0 || attrib >= CU_FUNC_ATTRIBUTE_MAX)
			return CUDA_ERROR_INVALID_VALUE;
		*pi = 0;
	}
	return CUDA_SUCCESS;
}

/* Settable attributes are launch hints cudasim has nothing to apply to;
 * the values are checked as the driver checks them. */
static CUresult func_set_attribute(int attrib, int value, void *f)
{
	CUresult res = func_check(f);

	if (res != CUDA_SUCCESS)
		return res;
	switch (attrib) {
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		return value >= 0 && value <= 166912 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
		return value >= -1 && value <= 100 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
	case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH:
	case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED:
	case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
		return value >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
}

static CUresult func_set_cache_config(int config, void *f)
{
	CUresult res = func_check(f);

	if (res != CUDA_SUCCESS)
		return res;
	return config >= 0 && config <= CU_FUNC_CACHE_PREFER_EQUAL ? CUDA_SUCCESS
								   : CUDA_ERROR_INVALID_VALUE;
}

static CUresult func_get_name(const char **name, void *f)
{
	CUresult res;

	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	res = func_check(f);
	if (res == CUDA_SUCCESS)
		*name = ((struct cs_func *)f)->name;
	return res;
}

CS_API CUresult cuFuncGetAttribute(int *pi, int attrib, CUfunction hfunc)
{
	CS_ENTER("cuFuncGetAttribute");
	return func_get_attribute(pi, attrib, hfunc);
}

CS_API CUresult cuKernelGetAttribute(int *pi, int attrib, CUkernel kernel, CUdevice dev)
{
	CS_ENTER("cuKernelGetAttribute");
	if (!cs_check_init() && !cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	return func_get_attribute(pi, attrib, kernel);
}

CS_API CUresult cuFuncSetAttribute(CUfunction hfunc, int attrib, int value)
{
	CS_ENTER("cuFuncSetAttribute");
	return func_set_attribute(attrib, value, hfunc);
}

CS_API CUresult cuKernelSetAttribute(int attrib, int val, CUkernel kernel, CUdevice dev)
{
	CS_ENTER("cuKernelSetAttribute");
	if (!cs_check_init() && !cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	return func_set_attribute(attrib, val, kernel);
}

CS_API CUresult cuFuncSetCacheConfig(CUfunction hfunc, int config)
{
	CS_ENTER("cuFuncSetCacheConfig");
	return func_set_cache_config(config, hfunc);
}

CS_API CUresult cuKernelSetCacheConfig(CUkernel kernel, int config, CUdevice dev)
{
	CS_ENTER("cuKernelSetCacheConfig");
	if (!cs_check_init() && !cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	return func_set_cache_config(config, kernel);
}

CS_API CUresult cuFuncGetName(const char **name, CUfunction hfunc)
{
	CS_ENTER("cuFuncGetName");
	return func_get_name(name, hfunc);
}

CS_API CUresult cuKernelGetName(const char **name, CUkernel hfunc)
{
	CS_ENTER("cuKernelGetName");
	return func_get_name(name, hfunc);
}
