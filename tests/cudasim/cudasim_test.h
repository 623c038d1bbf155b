/* SPDX-License-Identifier: MIT */
/*
 * cudasim_test.h - helpers shared by cudasim's Check suites.
 *
 * Every test runs in its own process (the suites force CK_FORK), so each
 * one sets CUDASIM_* and calls cuInit itself, and must leave nothing
 * outstanding: the runner turns CUDASIM_LEAKCHECK on.  Compiles against
 * the toolkit's cuda.h or against include/compat/cuda.h.
 */
#ifndef CUDASIM_TEST_H
#define CUDASIM_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cuda.h>
#include <cudasim/cudasim_ext.h>

#define MiB (1024UL * 1024)
#define GRAN (2 * MiB)

#define CK(call) ck_assert_int_eq((int)(call), CUDA_SUCCESS)
#define CKE(call, err) ck_assert_int_eq((int)(call), (int)(err))

static CUcontext test_ctx __attribute__((unused));

/* Bring cudasim up with @mem bytes per device and @devs devices, with
 * device 0's primary context current. */
static inline void sim_up(const char *mem, const char *devs)
{
	if (mem)
		setenv("CUDASIM_MEM", mem, 1);
	if (devs)
		setenv("CUDASIM_DEVICES", devs, 1);
	CK(cuInit(0));
	CK(cuDevicePrimaryCtxRetain(&test_ctx, 0));
	CK(cuCtxSetCurrent(test_ctx));
}

static inline void sim_down(void)
{
	CK(cuDevicePrimaryCtxRelease(0));
}

static inline CUmemAllocationProp dev_prop(int dev, int handle_types)
{
	CUmemAllocationProp prop;

	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = dev;
	prop.requestedHandleTypes = (CUmemAllocationHandleType)handle_types;
	return prop;
}

static inline void set_rw(CUdeviceptr p, size_t size, int dev)
{
	CUmemAccessDesc d;

	memset(&d, 0, sizeof(d));
	d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	d.location.id = dev;
	d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	CK(cuMemSetAccess(p, size, &d, 1));
}

/* reserve + create + map + set access: one mapped, accessible range */
struct vrange {
	CUdeviceptr va;
	size_t size;
	CUmemGenericAllocationHandle h;
};

static inline void vrange_up(struct vrange *v, size_t size, int dev)
{
	CUmemAllocationProp prop = dev_prop(dev, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR);

	v->size = size;
	CK(cuMemAddressReserve(&v->va, size, 0, 0, 0));
	CK(cuMemCreate(&v->h, size, &prop, 0));
	CK(cuMemMap(v->va, size, 0, v->h, 0));
	set_rw(v->va, size, dev);
}

static inline void vrange_down(struct vrange *v)
{
	CK(cuMemUnmap(v->va, v->size));
	CK(cuMemRelease(v->h));
	CK(cuMemAddressFree(v->va, v->size));
}

/* Run @fn in a child with stderr captured; returns the wait status. */
static inline int run_child(void (*fn)(void), char *err, size_t errlen)
{
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		fn();
		exit(0);
	}
	close(pfd[1]);
	while (got < (ssize_t)errlen - 1 && (n = read(pfd[0], err + got, errlen - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Run a suite, one process per test; exit status 0 pass, 1 fail. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	/* Each test sets CUDASIM_* and calls cuInit itself: one process each. */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* CUDASIM_TEST_H */
