// SPDX-License-Identifier: MIT
/*
 * testlib.c - see testlib.h.  Talks to the driver through dlopen like the
 * library, so the same tests run on cudasim and on a real GPU.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

typedef int CUres;

static struct {
	void *lib;
	CUres (*init)(unsigned int);
	CUres (*device_get)(int *, int);
	CUres (*retain)(void **, int);
	CUres (*release)(int);
	CUres (*set_current)(void *);
	CUres (*htod)(uint64_t, const void *, size_t);
	CUres (*dtoh)(void *, uint64_t, size_t);
	CUres (*alloc)(uint64_t *, size_t);
	CUres (*free)(uint64_t);
	int (*set_fail)(const char *);
	int retained[GPUVM_MAX_DEVICES];
} tl;

#define LOAD(field, name)						\
	do {								\
		*(void **)&tl.field = dlsym(tl.lib, name);		\
		if (!tl.field)						\
			return false;					\
	} while (0)

bool tl_available(void)
{
	const char *path = getenv("GPUVM_LIBCUDA");
	void *h = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return false;
	dlclose(h);
	return true;
}

bool tl_suite_start(void)
{
	if (!getenv("GPUVM_RUNDIR") && getenv("GPUVM_BUILD")) {
		static char dir[4096];

		snprintf(dir, sizeof(dir), "%s/tests/run", getenv("GPUVM_BUILD"));
		setenv("GPUVM_RUNDIR", dir, 1);
	}
	if (!tl_available()) {
		printf("SKIP: no CUDA driver (libcuda.so.1)\n");
		return false;
	}
	return true;
}

bool tl_open(void)
{
	const char *path = getenv("GPUVM_LIBCUDA");

	if (tl.lib)
		return true;
	tl.lib = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!tl.lib)
		return false;
	LOAD(init, "cuInit");
	LOAD(device_get, "cuDeviceGet");
	LOAD(retain, "cuDevicePrimaryCtxRetain");
	LOAD(release, "cuDevicePrimaryCtxRelease_v2");
	LOAD(set_current, "cuCtxSetCurrent");
	LOAD(htod, "cuMemcpyHtoD_v2");
	LOAD(dtoh, "cuMemcpyDtoH_v2");
	LOAD(alloc, "cuMemAlloc_v2");
	LOAD(free, "cuMemFree_v2");
	*(void **)&tl.set_fail = dlsym(tl.lib, "cudasim_set_fail");
	return tl.init(0) == 0;
}

void tl_close(void)
{
	int i, dev;

	if (!tl.lib)
		return;
	tl.set_current(NULL);
	for (i = 0; i < GPUVM_MAX_DEVICES; i++) {
		if (!tl.retained[i])
			continue;
		if (!tl.device_get(&dev, i))
			tl.release(dev);
		tl.retained[i] = 0;
	}
}

int tl_use_device(int i)
{
	void *ctx;
	int dev;

	if (!tl_open() || tl.device_get(&dev, i))
		return -ENODEV;
	if (tl.retain(&ctx, dev))
		return -EIO;
	if (tl.retained[i])
		tl.release(dev);	/* one reference is enough */
	tl.retained[i] = 1;
	return tl.set_current(ctx) ? -EIO : 0;
}

int tl_write(gpuvm_ptr_t dst, const void *src, size_t n)
{
	return tl.htod(dst, src, n) ? -EIO : 0;
}

int tl_read(void *dst, gpuvm_ptr_t src, size_t n)
{
	return tl.dtoh(dst, src, n) ? -EIO : 0;
}

static void pattern(uint32_t *buf, size_t words, uint32_t seed, size_t first)
{
	size_t i;

	for (i = 0; i < words; i++) {
		uint32_t x = (uint32_t)(first + i) * 2654435761u ^ seed;

		buf[i] = x ^ (x >> 13);
	}
}

#define TL_BLOCK	(1u << 20)

/*
 * A bounce buffer for @n bytes in TL_BLOCK pieces: no bigger than needed,
 * since a 1 MiB malloc per small block costs ASan an mmap and a munmap.
 */
static void *tl_bounce(size_t n)
{
	return malloc(n < TL_BLOCK ? ((n + 3) & ~(size_t)3) + 4 : TL_BLOCK);
}

int tl_fill(gpuvm_ptr_t p, size_t n, uint32_t seed)
{
	uint32_t *buf = tl_bounce(n);
	size_t off, len;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (off = 0; off < n && !ret; off += len) {
		len = n - off < TL_BLOCK ? n - off : TL_BLOCK;
		pattern(buf, (len + 3) / 4, seed, off / 4);
		ret = tl_write(p + off, buf, len);
	}
	free(buf);
	return ret;
}

bool tl_verify(gpuvm_ptr_t p, size_t n, uint32_t seed)
{
	uint32_t *want = tl_bounce(n), *got = tl_bounce(n);
	size_t off, len;
	bool ok = want && got;

	for (off = 0; ok && off < n; off += len) {
		len = n - off < TL_BLOCK ? n - off : TL_BLOCK;
		pattern(want, (len + 3) / 4, seed, off / 4);
		ok = !tl_read(got, p + off, len) && !memcmp(want, got, len);
	}
	free(want);
	free(got);
	return ok;
}

int tl_mem_alloc(gpuvm_ptr_t *p, size_t n)
{
	uint64_t v = 0;
	int r = tl.alloc(&v, n);

	*p = v;
	return r;
}

int tl_mem_free(gpuvm_ptr_t p)
{
	return tl.free(p);
}

int tl_set_fail(const char *spec)
{
	if (!tl_open() || !tl.set_fail)
		return -ENOSYS;
	return tl.set_fail(spec);
}

bool tl_is_cudasim(void)
{
	return tl_open() && tl.set_fail;
}

uint64_t tl_calls(int dev, int call)
{
	struct gpuvm_stats st;

	if (gpuvm_stats(dev, &st))
		return 0;
	return st.driver_calls[call];
}

uint64_t tl_calls_total(int dev)
{
	struct gpuvm_stats st;
	uint64_t n = 0;
	int i;

	if (gpuvm_stats(dev, &st))
		return 0;
	for (i = 0; i < GPUVM_DRV_NR; i++)
		n += st.driver_calls[i];
	return n;
}
