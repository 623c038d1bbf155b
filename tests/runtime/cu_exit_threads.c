// SPDX-License-Identifier: MIT
/*
 * cu_exit_threads.c - the process ends while other threads allocate and
 * free: issue 19, item 8.
 *
 *   cu_exit_threads [routed|direct] [join|exit|quick_exit|return]
 *   cu_exit_threads dlclose LIBGPUVM_SO
 *
 * Four threads loop on cuMemAlloc / write / cuMemFree of mixed sizes (or,
 * with dlclose, on gpuvm_alloc / gpuvm_free of a dlopen()ed libgpuvm.so).
 * Once each has done some rounds, the main thread ends the process the
 * way named, with the threads still inside: exit(0), quick_exit(0), a
 * return from main, or dlclose() of the library followed by a return.
 * join (the default) stops the threads first.  After the end begins, a
 * call may fail (the driver says CUDA_ERROR_DEINITIALIZED); the threads
 * keep calling.  The exit status must be 0: no crash, no hang.
 */
#include <pthread.h>
#include <unistd.h>

#include "cutest.h"

#define NR_THREADS	4
#define WARM_ROUNDS	50

static CUcontext ctx;
static unsigned long rounds[NR_THREADS];
static bool stop;

/* the gpuvm API, for dlclose */
static int (*lib_alloc)(int dev, size_t size, unsigned int flags, uint64_t *ptr);
static int (*lib_free)(uint64_t ptr);

static size_t size_of(unsigned int seed)
{
	/* sub-allocated small sizes and chunk-sized large ones */
	return ((size_t)1 << (8 + seed % 14)) + seed % 300;
}

static void *driver_worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, seed = id;
	unsigned char pattern[256];
	CUdeviceptr p;
	size_t size;

	memset(pattern, 0xa0 + id, sizeof(pattern));
	if (cuCtxSetCurrent(ctx) != CUDA_SUCCESS)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		seed = seed * 1103515245u + 12345u;
		size = size_of(seed >> 8);
		if (cuMemAlloc_v2(&p, size) == CUDA_SUCCESS) {
			cuMemcpyHtoD_v2(p, pattern, sizeof(pattern) < size ? sizeof(pattern) : size);
			cuMemFree_v2(p);
		}
		__atomic_add_fetch(&rounds[id], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *lib_worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, seed = id;
	uint64_t p;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		seed = seed * 1103515245u + 12345u;
		if (!lib_alloc(0, size_of(seed >> 8), 0, &p))
			lib_free(p);
		__atomic_add_fetch(&rounds[id], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void warm_up(void)
{
	int i;

	for (i = 0; i < NR_THREADS; i++)
		while (__atomic_load_n(&rounds[i], __ATOMIC_RELAXED) < WARM_ROUNDS)
			usleep(1000);
}

static int end_by_dlclose(const char *path)
{
	pthread_t threads[NR_THREADS];
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	int i;

	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	*(void **)&lib_alloc = dlsym(lib, "gpuvm_alloc");
	*(void **)&lib_free = dlsym(lib, "gpuvm_free");
	EXPECT(lib_alloc && lib_free);
	for (i = 0; i < NR_THREADS; i++)
		EXPECT(!pthread_create(&threads[i], NULL, lib_worker, (void *)(uintptr_t)i));
	warm_up();
	dlclose(lib);
	/* the threads are still calling into it */
	usleep(20000);
	printf("dlclose: returning from main\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t threads[NR_THREADS];
	const char *how = argc > 2 ? argv[2] : "join";
	CUdevice dev;
	int i;

	if (argc > 2 && !strcmp(argv[1], "dlclose"))
		return end_by_dlclose(argv[2]);
	cutest_mode(argc, argv);
	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));
	for (i = 0; i < NR_THREADS; i++)
		EXPECT(!pthread_create(&threads[i], NULL, driver_worker, (void *)(uintptr_t)i));
	warm_up();
	printf("%s: ending with %s, threads inside\n", argv[0], how);
	fflush(stdout);
	if (!strcmp(how, "exit"))
		exit(0);
	if (!strcmp(how, "quick_exit"))
		quick_exit(0);
	if (!strcmp(how, "return"))
		return 0;
	EXPECT(!strcmp(how, "join"));
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i], NULL);
	CHECK(cuDevicePrimaryCtxRelease(dev));
	return 0;
}
