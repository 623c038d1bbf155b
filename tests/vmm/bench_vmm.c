// SPDX-License-Identifier: MIT
/*
 * bench_vmm.c - the manager's microbenchmark (run by `make bench`).
 *
 * Prints, from one run: median and p99 ns per alloc+free pair on the cached
 * path (one thread; two threads on two devices; two threads on one
 * device; 3 MiB blocks, which pair up in shared chunks), driver calls per
 * operation, metadata bytes per chunk and per
 * GiB managed, and the driver's own cuMemAlloc/cuMemFree pair measured in
 * the same run, with ratios.  Not a test: nothing is asserted on times.
 *
 * A batch allocates B blocks then frees them; its time over B is one
 * sample of "ns per pair".  In steady state a batch reuses the blocks the
 * previous one freed: large ones after the one synchronization that covers
 * all B frees (so 1/(2B) driver calls per op), small ones from the slab.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../vmm/internal.h"
#include "testlib.h"

#define BATCH		16
#define ROUNDS		4000
#define WARMUP		200

struct run {
	int dev;
	uint64_t size;
	int mode;			/* MODE_* */
	pthread_barrier_t *barrier;
	double samples[ROUNDS];		/* ns per pair */
	uint64_t calls;			/* driver calls made by gpuvm */
	int err;
};

enum { MODE_GPUVM, MODE_ASYNC, MODE_DRIVER };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int one_batch(struct run *r, gpuvm_ptr_t *p)
{
	int i, ret = 0;

	for (i = 0; i < BATCH && !ret; i++) {
		switch (r->mode) {
		case MODE_GPUVM:
			ret = gpuvm_alloc(r->dev, r->size, 0, &p[i]);
			break;
		case MODE_ASYNC:
			ret = gpuvm_alloc_async(r->dev, r->size, NULL, &p[i]);
			break;
		default:
			ret = tl_mem_alloc(&p[i], r->size) ? -ENOMEM : 0;
		}
	}
	for (i = 0; i < BATCH && !ret; i++) {
		switch (r->mode) {
		case MODE_GPUVM:
			ret = gpuvm_free(p[i]);
			break;
		case MODE_ASYNC:
			ret = gpuvm_free_async(p[i], NULL);
			break;
		default:
			ret = tl_mem_free(p[i]) ? -EIO : 0;
		}
	}
	return ret;
}

static void *run_main(void *arg)
{
	struct run *r = arg;
	gpuvm_ptr_t p[BATCH];
	uint64_t before = 0;
	int k;

	if (tl_use_device(r->dev)) {
		r->err = -ENODEV;
		return NULL;
	}
	for (k = 0; k < WARMUP && !r->err; k++)
		r->err = one_batch(r, p);
	if (r->barrier)
		pthread_barrier_wait(r->barrier);
	if (r->mode != MODE_DRIVER)
		before = tl_calls_total(r->dev);
	for (k = 0; k < ROUNDS && !r->err; k++) {
		double t0 = now_ns();

		r->err = one_batch(r, p);
		r->samples[k] = (now_ns() - t0) / BATCH;
	}
	if (r->mode != MODE_DRIVER)
		r->calls = tl_calls_total(r->dev) - before;
	return NULL;
}

struct summary {
	double median, p99;
	double calls_per_op;
};

static struct summary summarize(struct run *runs, int n)
{
	static double all[2 * ROUNDS];
	struct summary s = { 0 };
	uint64_t calls = 0;
	int i, m = 0;

	for (i = 0; i < n; i++) {
		memcpy(all + m, runs[i].samples, sizeof(runs[i].samples));
		m += ROUNDS;
		calls += runs[i].calls;
	}
	qsort(all, m, sizeof(double), cmp_double);
	s.median = all[m / 2];
	s.p99 = all[m * 99 / 100];
	s.calls_per_op = (double)calls / ((double)n * ROUNDS * BATCH * 2);
	return s;
}

static struct summary measure(int nthreads, const int *devs, uint64_t size, int mode)
{
	static struct run runs[2];
	pthread_barrier_t barrier;
	pthread_t t[2];
	int i;

	pthread_barrier_init(&barrier, NULL, nthreads);
	for (i = 0; i < nthreads; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].dev = devs[i];
		runs[i].size = size;
		runs[i].mode = mode;
		runs[i].barrier = &barrier;
		pthread_create(&t[i], NULL, run_main, &runs[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		if (runs[i].err)
			fprintf(stderr, "bench_vmm: run on device %d failed: %d\n", runs[i].dev,
				runs[i].err);
	}
	pthread_barrier_destroy(&barrier);
	return summarize(runs, nthreads);
}

static void line(const char *what, struct summary s, bool calls)
{
	if (calls)
		printf("  %-44s median %7.0f ns  p99 %7.0f ns  driver calls/op %.4f\n", what,
		       s.median, s.p99, s.calls_per_op);
	else
		printf("  %-44s median %7.0f ns  p99 %7.0f ns\n", what, s.median, s.p99);
}

int main(void)
{
	struct summary small1, large1, shared1, async1, two_dev, one_dev, drv_small, drv_large;
	const int d0[2] = { 0, 0 }, d01[2] = { 0, 1 };
	uint64_t gran, per_chunk, per_gib_phys, per_gib_va, factor;
	int ndev;

	setenv("CUDASIM_DEVICES", "2", 0);
	if (!tl_open() || gpuvm_init()) {
		printf("SKIP: no CUDA driver\n");
		return 77;
	}
	ndev = gpuvm_device_count();
	printf("bench_vmm: %d device(s), batches of %d allocations then %d frees, %d batches\n",
	       ndev, BATCH, BATCH, ROUNDS);

	small1 = measure(1, d0, 256, MODE_GPUVM);
	large1 = measure(1, d0, 4 << 20, MODE_GPUVM);
	shared1 = measure(1, d0, 3 << 20, MODE_GPUVM);
	async1 = measure(1, d0, 4 << 20, MODE_ASYNC);
	one_dev = measure(2, d0, 256, MODE_GPUVM);
	if (ndev > 1)
		two_dev = measure(2, d01, 256, MODE_GPUVM);
	drv_small = measure(1, d0, 256, MODE_DRIVER);
	drv_large = measure(1, d0, 4 << 20, MODE_DRIVER);

	printf("cached path, ns per alloc+free pair:\n");
	line("gpuvm 256 B, 1 thread", small1, true);
	line("gpuvm 4 MiB, 1 thread", large1, true);
	line("gpuvm 3 MiB (tail-shared pairs), 1 thread", shared1, true);
	line("gpuvm 4 MiB async (same stream), 1 thread", async1, true);
	if (ndev > 1)
		line("gpuvm 256 B, 2 threads on 2 devices", two_dev, true);
	line("gpuvm 256 B, 2 threads on 1 device", one_dev, true);
	line("driver cuMemAlloc/cuMemFree 256 B", drv_small, false);
	line("driver cuMemAlloc/cuMemFree 4 MiB", drv_large, false);
	printf("ratios (driver / gpuvm, median):\n");
	printf("  256 B: %.1fx   4 MiB: %.1fx\n", drv_small.median / small1.median,
	       drv_large.median / large1.median);
	if (ndev > 1)
		printf("  2 threads / 1 thread (256 B): 2 devices %.2fx, 1 device %.2fx\n",
		       two_dev.median / small1.median, one_dev.median / small1.median);

	gran = vmm.dev[0].gran;
	factor = vmm.dev[0].knob[VMM_KNOB_VA_FACTOR];
	/* a chunk of one granule: its descriptor, its slot in a range, its PTE + owner */
	per_chunk = sizeof(struct vmm_chunk) + sizeof(struct vmm_chunk *) +
		    sizeof(struct gpuvm_seg_pte) + sizeof(uintptr_t);
	per_gib_phys = (1ull << 30) / gran * (sizeof(struct vmm_chunk) + sizeof(void *));
	per_gib_va = (1ull << 30) / gran * (sizeof(struct gpuvm_seg_pte) + sizeof(uintptr_t));
	printf("metadata (granularity %llu KiB, va_factor %llu):\n",
	       (unsigned long long)(gran >> 10), (unsigned long long)factor);
	printf("  per chunk: %llu bytes (descriptor %zu, range slot %zu, "
	       "page-table entry %zu, owner %zu)\n", (unsigned long long)per_chunk, sizeof(struct vmm_chunk),
	       sizeof(struct vmm_chunk *), sizeof(struct gpuvm_seg_pte), sizeof(uintptr_t));
	printf("  per GiB managed: %llu bytes (chunks %llu + page table over %llux VA %llu)\n",
	       (unsigned long long)(per_gib_phys + factor * per_gib_va),
	       (unsigned long long)per_gib_phys, (unsigned long long)factor,
	       (unsigned long long)(factor * per_gib_va));
	tl_close();
	return 0;
}
