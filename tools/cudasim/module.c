// SPDX-License-Identifier: MIT
/*
 * module.c - modules, functions and cuLaunchKernel.
 *
 * cudasim runs no device code.  A module image is accepted when it starts
 * with "CUDASIM-MODULE\0" (the rest is ignored); its functions are looked
 * up by name among the C reference implementations registered with
 * cudasim_register_kernel(), and cuLaunchKernel calls one synchronously.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cudasim.h"

#define CS_MODULE_IMAGE_MAGIC "CUDASIM-MODULE"

struct cs_kernel {
	char *name;
	cudasim_kernel_fn fn;
	struct cs_kernel *next;
};

struct cs_func {
	uint32_t magic;
	struct cs_kernel *kernel;
	struct cs_module *module;
	struct cs_func *next;
};

struct cs_module {
	uint32_t magic;
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

static CUresult module_load(CUmodule *module, const void *image)
{
	struct cs_module *m;
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;
	if (memcmp(image, CS_MODULE_IMAGE_MAGIC, sizeof(CS_MODULE_IMAGE_MAGIC)))
		return CUDA_ERROR_INVALID_IMAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS) {
		cs_unlock();
		free(m);
		return res;
	}
	m->magic = CS_MODULE_MAGIC;
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
	return module_load(module, image);
}

CS_API CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
				   void *options, void **optionValues)
{
	CS_ENTER("cuModuleLoadDataEx");
	(void)numOptions, (void)options, (void)optionValues;
	return module_load(module, image);
}

CS_API CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	CS_ENTER("cuModuleLoadFatBinary");
	return module_load(module, fatCubin);
}

CS_API CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
	char buf[sizeof(CS_MODULE_IMAGE_MAGIC)];
	ssize_t n;
	int fd;

	CS_ENTER("cuModuleLoad");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!module || !fname)
		return CUDA_ERROR_INVALID_VALUE;
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CUDA_ERROR_FILE_NOT_FOUND;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != (ssize_t)sizeof(buf))
		return CUDA_ERROR_INVALID_IMAGE;
	return module_load(module, buf);
}

CS_API CUresult cuModuleUnload(CUmodule hmod)
{
	struct cs_module **pp, *m;
	CUresult res = CUDA_ERROR_INVALID_HANDLE;

	CS_ENTER("cuModuleUnload");
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

CS_API CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct cs_module *m;
	struct cs_kernel *k;
	struct cs_func *f;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuModuleGetFunction");
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
	if (!k) {
		res = CUDA_ERROR_NOT_FOUND;
		goto out_unlock;
	}
	for (f = m->funcs; f && f->kernel != k; f = f->next)
		;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f) {
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
		if (func)
			fn = func->kernel->fn;
		else
			res = CUDA_ERROR_INVALID_HANDLE;
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
