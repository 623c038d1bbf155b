// SPDX-License-Identifier: MIT
/*
 * cu_fork_threads.c - threads allocating concurrently (each checks its own
 * data), then fork after initialization: the child allocates, checks and
 * frees on its own, and the parent's memory is intact afterwards.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"

#define NR_THREADS	4
#define ROUNDS		60
#define MAX_SIZE	(3 << 20)

static CUcontext ctx;

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg, seed;
	unsigned char *buf = malloc(MAX_SIZE);
	CUdeviceptr p[4];
	size_t size[4];
	int round, i;

	EXPECT(buf);
	CHECK(cuCtxSetCurrent(ctx));
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < 4; i++) {
			seed = id * 1000 + round * 4 + i;
			/* small, sub-allocated and large, chunk-sized sizes */
			size[i] = (size_t)1 << (6 + (seed * 7) % 16);
			size[i] += seed % 100;
			if (size[i] > MAX_SIZE)
				size[i] = MAX_SIZE;
			CHECK(cuMemAlloc_v2(&p[i], size[i]));
			cutest_fill(buf, size[i], seed);
			CHECK(cuMemcpyHtoD_v2(p[i], buf, size[i]));
		}
		for (i = 0; i < 4; i++) {
			seed = id * 1000 + round * 4 + i;
			CHECK(cuMemcpyDtoH_v2(buf, p[i], size[i]));
			EXPECT(!cutest_verify(buf, size[i], seed));
			CHECK(cuMemFree_v2(p[i]));
		}
	}
	free(buf);
	return NULL;
}

static void check_block(CUdeviceptr p, size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);

	EXPECT(buf);
	CHECK(cuMemcpyDtoH_v2(buf, p, size));
	EXPECT(!cutest_verify(buf, size, seed));
	free(buf);
}

static void put_block(CUdeviceptr *p, size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);

	EXPECT(buf);
	CHECK(cuMemAlloc_v2(p, size));
	cutest_fill(buf, size, seed);
	CHECK(cuMemcpyHtoD_v2(*p, buf, size));
	free(buf);
}

int main(int argc, char **argv)
{
	pthread_t threads[NR_THREADS];
	CUdeviceptr kept, small, child;
	long allocs;
	int i, status;
	CUdevice dev;
	pid_t pid;

	cutest_mode(argc, argv);
	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));

	allocs = cutest_calls("cuMemAlloc");
	for (i = 0; i < NR_THREADS; i++)
		EXPECT(!pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i));
	for (i = 0; i < NR_THREADS; i++)
		EXPECT(!pthread_join(threads[i], NULL));
	if (allocs >= 0) {
		allocs = cutest_calls("cuMemAlloc") - allocs;
		printf("driver cuMemAlloc calls from %d threads: %ld\n", NR_THREADS, allocs);
		EXPECT(allocs == (routed ? 0 : NR_THREADS * ROUNDS * 4));
	}

	/*
	 * fork after init.  A GPU context does not survive fork, so the child
	 * leaves the parent's memory alone; it allocates afresh where the
	 * driver lets it (cudasim) and then becomes a new program through exec, which runs under
	 * the shim again (LD_PRELOAD is inherited) and checks for leaks.
	 */
	put_block(&kept, 2 << 20, 1);
	put_block(&small, 300, 2);
	fflush(stdout);
	pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		char prog[4096], *slash;

		/* cudasim lets a child use its copy; a real driver refuses. */
		if (cuMemAlloc_v2(&child, 4096) == CUDA_SUCCESS) {
			CHECK(cuMemFree_v2(child));
			put_block(&child, 5 << 20, 3);
			check_block(child, 5 << 20, 3);
			CHECK(cuMemFree_v2(child));
		} else {
			printf("the driver refuses a forked child\n");
			EXPECT(cutest_calls("cuMemAlloc") < 0);
		}
		snprintf(prog, sizeof(prog), "%s", argv[0]);
		slash = strrchr(prog, '/');
		snprintf(slash ? slash + 1 : prog, sizeof(prog) - (slash ? slash + 1 - prog : 0),
			 "cu_linked");
		fflush(stdout);
		execl(prog, prog, routed ? "routed" : "direct", (char *)NULL);
		perror(prog);
		_exit(1);
	}
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent's memory, and allocating after the fork. */
	check_block(kept, 2 << 20, 1);
	check_block(small, 300, 2);
	put_block(&child, 5 << 20, 4);
	check_block(child, 5 << 20, 4);
	CHECK(cuMemFree_v2(child));
	CHECK(cuMemFree_v2(kept));
	CHECK(cuMemFree_v2(small));
	CHECK(cuDevicePrimaryCtxRelease(dev));
	printf("ok\n");
	return 0;
}
