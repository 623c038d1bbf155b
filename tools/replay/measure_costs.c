// SPDX-License-Identifier: MIT
/*
 * measure_costs.c - gpuvm-measure-costs: time the driver's VMM calls and
 * print a cost table for "gpuvm-replay replay --costs FILE".
 *
 *	gpuvm-measure-costs [--iterations N] [--device N] > costs.txt
 *
 * For 2 MiB and 20 MiB it times, N times each, cuMemCreate, cuMemMap,
 * cuMemSetAccess, cuMemUnmap and cuMemRelease, takes the median of each,
 * and splits it into a fixed per-call part and a part per 2 MiB (a line
 * through both sizes; a negative part is clamped to 0).  The driver is
 * opened at run time (GPUVM_LIBCUDA, else libcuda.so.1): on cudasim the
 * numbers describe cudasim, not a GPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda.h>
#include <gpuvm/cuda_driver.h>

#include "replay.h"

static struct {
	__typeof__(cuInit) *init;
	__typeof__(cuDeviceGet) *device_get;
	__typeof__(cuDevicePrimaryCtxRetain) *ctx_retain;
	__typeof__(cuCtxSetCurrent) *ctx_set;
	__typeof__(cuMemGetAllocationGranularity) *granularity;
	__typeof__(cuMemAddressReserve) *reserve;
	__typeof__(cuMemAddressFree) *address_free;
	__typeof__(cuMemCreate) *create;
	__typeof__(cuMemMap) *map;
	__typeof__(cuMemSetAccess) *set_access;
	__typeof__(cuMemUnmap) *unmap;
	__typeof__(cuMemRelease) *release;
} cu;

static int open_driver(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f, s) { s, offsetof(__typeof__(cu), f) }
		SYM(init, "cuInit"), SYM(device_get, "cuDeviceGet"),
		SYM(ctx_retain, "cuDevicePrimaryCtxRetain"), SYM(ctx_set, "cuCtxSetCurrent"),
		SYM(granularity, "cuMemGetAllocationGranularity"),
		SYM(reserve, "cuMemAddressReserve"), SYM(address_free, "cuMemAddressFree"),
		SYM(create, "cuMemCreate"), SYM(map, "cuMemMap"),
		SYM(set_access, "cuMemSetAccess"), SYM(unmap, "cuMemUnmap"),
		SYM(release, "cuMemRelease"),
#undef SYM
	};
	void *h = gpuvm_cuda_driver(NULL);
	size_t i;

	if (!h)
		return -ENODEV;		/* the loader said why */
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = gpuvm_cuda_sym(h, syms[i].name, NULL);

		if (!fn) {
			fprintf(stderr, "gpuvm-measure-costs: driver lacks %s\n", syms[i].name);
			return -ENOSYS;
		}
		memcpy((char *)&cu + syms[i].off, &fn, sizeof(fn));
	}
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define CHECK_CU(call) do {						\
	CUresult r_ = (call);						\
	if (r_ != CUDA_SUCCESS) {					\
		fprintf(stderr, "gpuvm-measure-costs: %s failed: %d\n",	\
			#call, (int)r_);				\
		goto out;						\
	}								\
} while (0)

/* Median microseconds of each call kind for @size. */
static int measure(int dev, CUdeviceptr va, size_t size, int n, double *median)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = dev },
	};
	CUmemAccessDesc acc = {
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = dev },
		.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
	};
	double *t[REPLAY_CALL_NR];
	int i, k, err = -EIO;

	for (k = 0; k < REPLAY_CALL_NR; k++)
		t[k] = calloc(n, sizeof(double));
	for (k = 0; k < REPLAY_CALL_NR; k++)
		if (!t[k])
			goto out;
	for (i = 0; i < n; i++) {
		CUmemGenericAllocationHandle h;
		double a, b;

		a = now_us();
		CHECK_CU(cu.create(&h, size, &prop, 0));
		b = now_us();
		t[REPLAY_CALL_CREATE][i] = b - a;
		CHECK_CU(cu.map(va, size, 0, h, 0));
		a = now_us();
		t[REPLAY_CALL_MAP][i] = a - b;
		CHECK_CU(cu.set_access(va, size, &acc, 1));
		b = now_us();
		t[REPLAY_CALL_SET_ACCESS][i] = b - a;
		CHECK_CU(cu.unmap(va, size));
		a = now_us();
		t[REPLAY_CALL_UNMAP][i] = a - b;
		CHECK_CU(cu.release(h));
		b = now_us();
		t[REPLAY_CALL_RELEASE][i] = b - a;
	}
	for (k = 0; k < REPLAY_CALL_NR; k++) {
		qsort(t[k], n, sizeof(double), cmp_double);
		median[k] = t[k][n / 2];
	}
	err = 0;
out:
	for (k = 0; k < REPLAY_CALL_NR; k++)
		free(t[k]);
	return err;
}

int main(int argc, char **argv)
{
	double small[REPLAY_CALL_NR], large[REPLAY_CALL_NR];
	int i, n = 100, dev = 0;
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE },
	};
	CUdeviceptr va = 0;
	CUcontext ctx;
	CUdevice d;
	size_t gran = 0;
	int rc = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
			n = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			dev = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: gpuvm-measure-costs [--iterations N] "
				"[--device N]\n");
			return 2;
		}
	}
	if (n < 3 || n > 100000 || dev < 0) {
		fprintf(stderr, "gpuvm-measure-costs: iterations 3..100000, device >= 0\n");
		return 2;
	}
	if (open_driver())
		return 1;
	prop.location.id = dev;
	CHECK_CU(cu.init(0));
	CHECK_CU(cu.device_get(&d, dev));
	CHECK_CU(cu.ctx_retain(&ctx, d));
	CHECK_CU(cu.ctx_set(ctx));
	CHECK_CU(cu.granularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
	if (gran != 2 * MiB)
		fprintf(stderr, "note: granularity is %zu bytes, not 2 MiB\n", gran);
	CHECK_CU(cu.reserve(&va, 20 * MiB, 2 * MiB, 0, 0));
	/* Warm the driver up: the first calls pay for lazy set-up. */
	if (measure(dev, va, 2 * MiB, 3, small) ||
	    measure(dev, va, 2 * MiB, n, small) ||
	    measure(dev, va, 20 * MiB, n / 2 > 3 ? n / 2 : 3, large))
		goto out;

	printf("# gpuvm cost table: median of %d calls per size, device %d\n", n, dev);
	printf("# measured by gpuvm-measure-costs (GPUVM_LIBCUDA=%s)\n",
	       getenv("GPUVM_LIBCUDA") ? getenv("GPUVM_LIBCUDA") : "libcuda.so.1");
	printf("# raw medians, us: kind  2MiB  20MiB\n");
	for (i = 0; i < REPLAY_CALL_NR; i++)
		printf("#   %-11s %9.2f %9.2f\n", replay_call_name(i), small[i], large[i]);
	printf("# kind       per_2mib_us  per_call_us\n");
	for (i = 0; i < REPLAY_CALL_NR; i++) {
		double per_2mib = (large[i] - small[i]) / 9, per_call;

		if (per_2mib < 0)
			per_2mib = 0;
		per_call = small[i] - per_2mib;
		if (per_call < 0) {
			per_call = 0;
			per_2mib = small[i];
		}
		printf("%-12s %11.3f  %11.3f\n", replay_call_name(i), per_2mib, per_call);
	}
	rc = 0;
out:
	if (va)
		cu.address_free(va, 20 * MiB);
	return rc;
}
