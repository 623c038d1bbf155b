/* SPDX-License-Identifier: MIT */
/*
 * cutest.h - helpers of the shim's test programs.
 *
 * The programs are ordinary driver-API programs: they never include a gpuvm
 * header.  Each is run with and without the shim (test_shim_*.sh) and told
 * what to expect on its command line: "routed" (device memory must come
 * from gpuvm: cudasim's cuMemAlloc is never called) or "direct" (the
 * default: the driver serves everything).  The call counts come from
 * cudasim's extension API when it is there, looked up with dlsym so the
 * programs also run on the real driver (which has no counts to check).
 */
#ifndef GPUVM_TESTS_RUNTIME_CUTEST_H
#define GPUVM_TESTS_RUNTIME_CUTEST_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#define CHECK(call)							\
	do {								\
		CUresult r_ = (call);					\
		if (r_ != CUDA_SUCCESS) {				\
			fprintf(stderr, "%s:%d: %s: CUresult %d\n",	\
				__FILE__, __LINE__, #call, (int)r_);	\
			exit(1);					\
		}							\
	} while (0)

#define EXPECT(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: expected %s\n",		\
				__FILE__, __LINE__, #cond);		\
			exit(1);					\
		}							\
	} while (0)

#define EXPECT_RES(call, want)						\
	do {								\
		CUresult r_ = (call);					\
		if (r_ != (want)) {					\
			fprintf(stderr, "%s:%d: %s: CUresult %d, expected %d\n", \
				__FILE__, __LINE__, #call, (int)r_, (int)(want)); \
			exit(1);					\
		}							\
	} while (0)

static bool routed;

/* "routed" or "direct" (default) as argv[1]. */
static inline void cutest_mode(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "routed"))
		routed = true;
	else if (argc > 1 && strcmp(argv[1], "direct")) {
		fprintf(stderr, "usage: %s [routed|direct]\n", argv[0]);
		exit(2);
	}
	printf("%s: expecting %s allocations\n", argv[0], routed ? "routed" : "direct");
}

/* cudasim's count of calls to a driver entry point, or -1 (not cudasim). */
static inline long cutest_calls(const char *name)
{
	unsigned long (*count)(const char *);
	void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);

	if (!lib)
		return -1;
	*(void **)&count = dlsym(lib, "cudasim_call_count");
	dlclose(lib);
	return count ? (long)count(name) : -1;
}

static inline void cutest_fill(unsigned char *buf, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 12));
}

static inline int cutest_verify(const unsigned char *buf, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] != (unsigned char)(i * 131 + seed * 7 + (i >> 12))) {
			fprintf(stderr, "byte %zu of buffer %u: %#x\n", i, seed, buf[i]);
			return -1;
		}
	}
	return 0;
}

#endif /* GPUVM_TESTS_RUNTIME_CUTEST_H */
