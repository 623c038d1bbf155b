// SPDX-License-Identifier: MIT
/*
 * bench_shim.c - what the preload shim costs per allocation.
 *
 * ns per cuMemAlloc_v2 + cuMemFree_v2 pair, in one run: the driver's own
 * (no shim), gpuvm's API (gpuvm_alloc + gpuvm_free), and the driver entry
 * points through the shim.  The bench runs itself again with the shim
 * preloaded for the last one (and measures the API there too, so the
 * difference is taken in one process).  Target: the shim adds at most 50 ns
 * per pair over the API on the cached path.
 *
 * Usage: bench_shim [SECONDS_PER_MEASUREMENT]
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda.h>

typedef CUresult alloc_fn(CUdeviceptr *, size_t);
typedef CUresult free_fn(CUdeviceptr);
typedef int gpuvm_alloc_fn(int, size_t, unsigned int, uint64_t *);
typedef int gpuvm_free_fn(uint64_t);

static alloc_fn *cu_alloc;
static free_fn *cu_free;
static gpuvm_alloc_fn *gv_alloc;
static gpuvm_free_fn *gv_free;
static double seconds = 1.0;	/* per measurement of two ways */

static const size_t sizes[] = { 4096, 2 << 20 };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))
#define ROUNDS		9

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int pair_driver(size_t size)
{
	CUdeviceptr p;

	if (cu_alloc(&p, size) != CUDA_SUCCESS)
		return -1;
	return cu_free(p) == CUDA_SUCCESS ? 0 : -1;
}

static int pair_api(size_t size)
{
	uint64_t p;

	if (gv_alloc(0, size, 0, &p))
		return -1;
	return gv_free(p) ? -1 : 0;
}

/* ns per pair over one round of about @secs seconds; negative on failure. */
static double round_ns(int (*pair)(size_t), size_t size, double secs)
{
	long n = 0, batch = 1000, i;
	double start = now_ns();

	do {
		for (i = 0; i < batch; i++)
			if (pair(size))
				return -1;
		n += batch;
	} while (now_ns() - start < secs * 1e9);
	return (now_ns() - start) / n;
}

static double median(double *t, int n)
{
	double tmp;
	int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (t[j] < t[i])
				tmp = t[i], t[i] = t[j], t[j] = tmp;
	return t[n / 2];
}

/*
 * Medians over ROUNDS of ns per pair for two ways of allocating, their
 * rounds interleaved so that both see the same machine (others share it).
 */
static int measure(int (*a)(size_t), int (*b)(size_t), size_t size, double *ta, double *tb)
{
	double ra[ROUNDS], rb[ROUNDS], secs = seconds / (2 * ROUNDS);
	int r;

	if (round_ns(a, size, secs / 10) < 0 || round_ns(b, size, secs / 10) < 0)
		return -1;
	for (r = 0; r < ROUNDS; r++) {
		ra[r] = round_ns(a, size, secs);
		rb[r] = round_ns(b, size, secs);
		if (ra[r] < 0 || rb[r] < 0)
			return -1;
	}
	*ta = median(ra, ROUNDS);
	*tb = median(rb, ROUNDS);
	return 0;
}

static int setup(void)
{
	CUresult (*init)(unsigned int);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*retain)(CUcontext *, CUdevice);
	CUresult (*set_current)(CUcontext);
	void *cuda = dlopen("libcuda.so.1", RTLD_NOW);
	void *gpuvm = dlopen("libgpuvm.so", RTLD_NOW);
	CUcontext ctx;
	CUdevice dev;

	if (!cuda || !gpuvm) {
		printf("skip: cannot open %s: %s\n", cuda ? "libgpuvm.so" : "libcuda.so.1",
		       dlerror());
		return 77;
	}
	*(void **)&init = dlsym(cuda, "cuInit");
	*(void **)&device_get = dlsym(cuda, "cuDeviceGet");
	*(void **)&retain = dlsym(cuda, "cuDevicePrimaryCtxRetain");
	*(void **)&set_current = dlsym(cuda, "cuCtxSetCurrent");
	*(void **)&cu_alloc = dlsym(cuda, "cuMemAlloc_v2");
	*(void **)&cu_free = dlsym(cuda, "cuMemFree_v2");
	*(void **)&gv_alloc = dlsym(gpuvm, "gpuvm_alloc");
	*(void **)&gv_free = dlsym(gpuvm, "gpuvm_free");
	if (!init || !device_get || !retain || !set_current || !cu_alloc || !cu_free ||
	    !gv_alloc || !gv_free) {
		printf("skip: a driver or gpuvm entry point is missing\n");
		return 77;
	}
	if (init(0) || device_get(&dev, 0) || retain(&ctx, dev) || set_current(ctx)) {
		printf("skip: no usable device\n");
		return 77;
	}
	return 0;
}

/* With the shim preloaded: print "size shim_ns api_ns" per size. */
static int child(void)
{
	double shim, api;
	size_t i;
	int ret = setup();

	if (ret)
		return ret;
	for (i = 0; i < NR_SIZES; i++) {
		if (measure(pair_driver, pair_api, sizes[i], &shim, &api))
			return 1;
		printf("%zu %.1f %.1f\n", sizes[i], shim, api);
	}
	return 0;
}

static int shim_path(char *buf, size_t len)
{
	const char *build = getenv("GPUVM_BUILD");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (build) {
		snprintf(buf, len, "%s/lib/libgpuvm_preload.so", build);
		return access(buf, R_OK);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if (snprintf(buf, len, "%.*s/../lib/libgpuvm_preload.so", (int)(len - 32), exe) >=
	    (int)len)
		return -1;
	return access(buf, R_OK);
}

int main(int argc, char **argv)
{
	double driver[NR_SIZES], api[NR_SIZES], shim[NR_SIZES], api_shim[NR_SIZES];
	char path[PATH_MAX], cmd[2 * PATH_MAX + 64];
	size_t i, size;
	FILE *out;
	int ret;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child();
	if (argc > 1)
		seconds = atof(argv[1]) > 0 ? atof(argv[1]) : seconds;
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "libgpuvm_preload")) {
		fprintf(stderr, "bench_shim: run it without the shim; it preloads it itself\n");
		return 2;
	}
	ret = setup();
	if (ret)
		return ret;
	if (shim_path(path, sizeof(path))) {
		printf("skip: libgpuvm_preload.so not found\n");
		return 77;
	}
	for (i = 0; i < NR_SIZES; i++) {
		if (measure(pair_driver, pair_api, sizes[i], &driver[i], &api[i])) {
			fprintf(stderr, "bench_shim: allocation failed\n");
			return 1;
		}
	}
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD='%s' /proc/%d/exe --child", path, (int)getpid());
	out = popen(cmd, "r");
	if (!out)
		return 1;
	for (i = 0; i < NR_SIZES; i++) {
		if (fscanf(out, "%zu %lf %lf", &size, &shim[i], &api_shim[i]) != 3 ||
		    size != sizes[i]) {
			fprintf(stderr, "bench_shim: the run under the shim failed\n");
			pclose(out);
			return 1;
		}
	}
	pclose(out);

	printf("ns per alloc+free pair (median of %d rounds)\n", ROUNDS);
	printf("%10s %12s %12s %12s %14s %12s %12s\n", "size", "driver", "gpuvm-api",
	       "shim", "api(in shim)", "shim-api", "driver/shim");
	for (i = 0; i < NR_SIZES; i++)
		printf("%10zu %12.1f %12.1f %12.1f %14.1f %12.1f %12.2f\n", sizes[i], driver[i],
		       api[i], shim[i], api_shim[i], shim[i] - api_shim[i], driver[i] / shim[i]);
	return 0;
}
