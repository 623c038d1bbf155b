/* SPDX-License-Identifier: MIT */
/*
 * cudart_test.h - shared by the tests/cudart programs: ordinary CUDA
 * runtime programs, host code only, that exit 0 when every byte reads
 * back, 1 on a failure and 77 when the runtime does not start (the reason
 * on stdout, "skip: ..."; see test_cudart.sh).
 */
#ifndef CUDART_TEST_H
#define CUDART_TEST_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

#define CHECK(call)							\
	do {								\
		cudaError_t e_ = (call);				\
		if (e_ != cudaSuccess) {				\
			printf("FAIL %s:%d: %s -> %s\n", __FILE__,	\
			       __LINE__, #call, cudaGetErrorName(e_));	\
			exit(1);					\
		}							\
	} while (0)

#define EXPECT(cond)							\
	do {								\
		if (!(cond)) {						\
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__,	\
			       #cond);					\
			exit(1);					\
		}							\
	} while (0)

/* The first runtime call starts the runtime: say why when it cannot. */
static inline void runtime_up(void)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);

	if (e != cudaSuccess) {
		printf("runtime: %s\n", cudaGetErrorName(e));
		printf("skip: the CUDA runtime does not start on this driver: %s\n",
		       cudaGetErrorString(e));
		exit(77);
	}
	EXPECT(n >= 1);
	CHECK(cudaSetDevice(0));
}

/* A pattern no two offsets of a buffer share within 2^32 bytes. */
static inline unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 2654435761u + seed) >> 7);
}

static inline void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(i, seed);
}

static inline bool same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(i, seed)) {
			printf("byte %zu: %#x, want %#x\n", i, p[i], pattern(i, seed));
			return false;
		}
	return true;
}

#endif /* CUDART_TEST_H */
