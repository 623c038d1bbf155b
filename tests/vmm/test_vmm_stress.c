// SPDX-License-Identifier: MIT
/*
 * test_vmm_stress.c - several devices (CUDASIM_DEVICES=2) and several
 * threads hammering alloc/free with data verification.  Short runs: the
 * point is interleavings and accounting, not duration.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../vmm/internal.h"
#include "testlib.h"
#include "../check_run.h"

#define MiB (1ull << 20)

static bool consistent(int dev)
{
	struct vmm_device *d = &vmm.dev[dev];
	bool ok;

	if (!d->ready)
		return true;
	vmm_lock(d);
	ok = __pt_check(d);
	vmm_unlock(d);
	return ok;
}

static void start(int devices)
{
	char n[8];

	snprintf(n, sizeof(n), "%d", devices);
	setenv("CUDASIM_DEVICES", n, 1);
	if (!tl_open()) {
		fprintf(stderr, "SKIP: no CUDA driver\n");
		exit(77);
	}
	ck_assert_int_eq(gpuvm_init(), 0);
}

START_TEST(two_devices)
{
	struct gpuvm_alloc_info info;
	struct gpuvm_stats s0, s1;
	gpuvm_ptr_t a, b, c;
	int dev = -1;

	start(2);
	if (gpuvm_device_count() < 2) {
		fprintf(stderr, "SKIP: one device only\n");
		return;
	}
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(1, 10 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_alloc(1, 1000, 0, &c), 0);
	ck_assert(gpuvm_owns(a, &dev));
	ck_assert_int_eq(dev, 0);
	ck_assert(gpuvm_owns(b + 5 * MiB, &dev));
	ck_assert_int_eq(dev, 1);
	ck_assert(gpuvm_owns(c, &dev));
	ck_assert_int_eq(dev, 1);
	ck_assert_int_eq(gpuvm_query(c, &info), 0);
	ck_assert_int_eq(info.device, 1);
	ck_assert_int_eq(tl_use_device(0), 0);
	ck_assert_int_eq(tl_fill(a, 6 * MiB, 1), 0);
	ck_assert(tl_verify(a, 6 * MiB, 1));
	ck_assert_int_eq(tl_use_device(1), 0);
	ck_assert_int_eq(tl_fill(b, 10 * MiB, 2), 0);
	ck_assert(tl_verify(b, 10 * MiB, 2));
	ck_assert_int_eq(gpuvm_stats(0, &s0), 0);
	ck_assert_int_eq(gpuvm_stats(1, &s1), 0);
	ck_assert_uint_eq(s0.allocated, 6 * MiB);
	ck_assert_uint_eq(s1.requested, 10 * MiB + 1000);
	/* one cuMemCreate per request's new chunks; c's slab is one more */
	ck_assert_uint_eq(s0.driver_calls[GPUVM_DRV_MEM_CREATE], 1);
	ck_assert_uint_eq(s1.driver_calls[GPUVM_DRV_MEM_CREATE], 2);
	ck_assert_int_eq(gpuvm_policy_set(1, "limit", 64 * MiB), 0);
	ck_assert_int_eq(gpuvm_stats(0, &s0), 0);
	ck_assert_uint_eq(s0.limit, 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert(consistent(0) && consistent(1));
	tl_close();
}
END_TEST

/* Peer access: existing mappings get it in one call per run, new ones too. */
START_TEST(peer_access)
{
	struct vmm_device *d;
	uint64_t before, g;
	gpuvm_ptr_t a, b, c;

	start(2);
	if (gpuvm_device_count() < 2) {
		fprintf(stderr, "SKIP: one device only\n");
		return;
	}
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_peer_access(0, 0), -EINVAL);
	ck_assert_int_eq(gpuvm_peer_access(0, 2), -EINVAL);
	ck_assert_int_eq(gpuvm_peer_access(-1, 1), -EINVAL);
	before = tl_calls(0, GPUVM_DRV_MEM_SET_ACCESS);
	ck_assert_int_eq(gpuvm_peer_access(0, 1), 0);
	/* a and b are adjacent: one contiguous run, one call */
	ck_assert_uint_eq(tl_calls(0, GPUVM_DRV_MEM_SET_ACCESS), before + 1);
	ck_assert_int_eq(gpuvm_peer_access(0, 1), 0);	/* idempotent */
	ck_assert_uint_eq(tl_calls(0, GPUVM_DRV_MEM_SET_ACCESS), before + 1);
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, 0, &c), 0);
	d = &vmm.dev[0];
	for (g = (a - d->arena.base) / d->gran; g < (b + 4 * MiB - d->arena.base) / d->gran; g++)
		ck_assert(d->pt[g].access & GPUVM_PTE_ACCESS_PEER);
	ck_assert(d->pt[(c - d->arena.base) / d->gran].access & GPUVM_PTE_ACCESS_PEER);
	ck_assert_int_eq(tl_use_device(0), 0);
	ck_assert_int_eq(tl_fill(c, 2 * MiB, 7), 0);
	ck_assert(tl_verify(c, 2 * MiB, 7));
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert(consistent(0) && consistent(1));
	tl_close();
}
END_TEST

struct worker {
	int dev;
	unsigned int seed;
	int ops;
	int errors;
};

static uint64_t pick_size(unsigned int *seed)
{
	unsigned int r = rand_r(seed);

	switch (r % 4) {
	case 0: return 1 + r % 4096;			/* small */
	case 1: return 1 + r % (512 << 10);		/* small, larger classes */
	case 2: return (1 + r % 6) * MiB + r % 4096;	/* large */
	default: return 1 + r % (3 * MiB);		/* either */
	}
}

/* Stamped parts of a block: its head and its tail, never overlapping. */
static uint64_t head(uint64_t size)
{
	return size / 2 < 8192 ? size / 2 : 8192;
}

static uint64_t tail(uint64_t size)
{
	return size - size / 2 < 8192 ? size - size / 2 : 8192;
}

/* Allocate and free at random, stamping each block and checking stamps. */
static void *hammer(void *arg)
{
	enum { LIVE = 24 };
	struct worker *w = arg;
	gpuvm_ptr_t p[LIVE] = { 0 };
	uint64_t sz[LIVE] = { 0 };
	uint32_t tag[LIVE];
	int i, op;

	if (tl_use_device(w->dev)) {
		w->errors++;
		return NULL;
	}
	for (op = 0; op < w->ops; op++) {
		i = rand_r(&w->seed) % LIVE;
		if (p[i]) {
			if (!tl_verify(p[i], head(sz[i]), tag[i]) ||
			    !tl_verify(p[i] + sz[i] - tail(sz[i]), tail(sz[i]), tag[i] + 1))
				w->errors++;
			if (gpuvm_free(p[i]))
				w->errors++;
			p[i] = 0;
			continue;
		}
		sz[i] = pick_size(&w->seed);
		if (gpuvm_alloc(w->dev, sz[i], 0, &p[i])) {
			w->errors++;
			p[i] = 0;
			continue;
		}
		tag[i] = rand_r(&w->seed);
		if (tl_fill(p[i], head(sz[i]), tag[i]) ||
		    tl_fill(p[i] + sz[i] - tail(sz[i]), tail(sz[i]), tag[i] + 1))
			w->errors++;
	}
	for (i = 0; i < LIVE; i++)
		if (p[i] && gpuvm_free(p[i]))
			w->errors++;
	return NULL;
}

static void run_workers(int nr, int devices)
{
	struct worker w[8];
	pthread_t t[8];
	int i;

	for (i = 0; i < nr; i++) {
		w[i] = (struct worker){ .dev = i % devices, .seed = 1000 + i, .ops = 3000 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (i = 0; i < nr; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].errors, 0);
	}
}

START_TEST(threads_one_device)
{
	struct gpuvm_stats st;

	start(1);
	run_workers(4, 1);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.live_allocs, 0);
	ck_assert_uint_eq(st.requested, 0);
	ck_assert_uint_eq(st.alloc_calls, st.free_calls);
	ck_assert_uint_eq(st.ooms, 0);
	tl_close();
}
END_TEST

START_TEST(threads_two_devices)
{
	struct gpuvm_stats st;
	int d;

	start(2);
	if (gpuvm_device_count() < 2) {
		fprintf(stderr, "SKIP: one device only\n");
		return;
	}
	run_workers(4, 2);
	for (d = 0; d < 2; d++) {
		ck_assert(consistent(d));
		ck_assert_int_eq(gpuvm_stats(d, &st), 0);
		ck_assert_uint_eq(st.live_allocs, 0);
		ck_assert_uint_gt(st.alloc_calls, 0);
	}
	tl_close();
}
END_TEST

/* The child of a fork forgets the parent's state and starts afresh. */
START_TEST(fork_child)
{
	gpuvm_ptr_t p;
	pid_t pid;
	int status;

	start(1);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* nothing of the parent is ours: not even its pointer */
		_exit(gpuvm_owns(p, NULL) || gpuvm_free(p) != -EINVAL ? 1 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(gpuvm_owns(p, NULL));
	ck_assert_int_eq(gpuvm_free(p), 0);
}
END_TEST

/*
 * A knob set for a device the process has not used does not set it up:
 * the device takes it when it is set up, init-only knobs included; what
 * needs the device (a chunk size its granularity does not divide) is
 * refused then, for the schema's default; a later change of every
 * device's value wins over it.
 */
START_TEST(knob_before_setup)
{
	struct gpuvm_alloc_info info;
	gpuvm_ptr_t p;
	uint64_t v;

	start(3);
	if (gpuvm_device_count() < 3) {
		fprintf(stderr, "SKIP: fewer than 3 devices\n");
		return;
	}
	ck_assert_int_eq(gpuvm_policy_set(1, "chunk_size", 4 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(1, "va_factor", 2), 0);
	ck_assert_int_eq(gpuvm_policy_set(1, "high_watermark", 4 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(1, "low_watermark", 8 * MiB), -EINVAL);
	/* nor for every device: device 1 would break the rule at its set-up */
	ck_assert_int_eq(gpuvm_policy_set(-1, "low_watermark", 8 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_get(-1, "low_watermark", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(gpuvm_policy_set(1, "va_factor", 65), -ERANGE);
	ck_assert_int_eq(gpuvm_policy_set(2, "chunk_size", 3 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(2, "limit", 64 * MiB), 0);
	ck_assert(!vmm.dev[1].ready && !vmm.dev[2].ready);
	ck_assert_int_eq(gpuvm_policy_get(1, "chunk_size", &v), 0);
	ck_assert_uint_eq(v, 4 * MiB);
	ck_assert_int_eq(gpuvm_policy_get(1, "low_watermark", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(gpuvm_policy_get(-1, "chunk_size", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert(!vmm.dev[1].ready && !vmm.dev[2].ready);

	/* every device's limit, the defaults: device 2's own value goes */
	ck_assert_int_eq(gpuvm_policy_set(-1, "limit", 128 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_get(2, "limit", &v), 0);
	ck_assert_uint_eq(v, 128 * MiB);
	ck_assert(!vmm.dev[1].ready && !vmm.dev[2].ready);

	ck_assert_int_eq(gpuvm_alloc(1, 5 * MiB, 0, &p), 0);
	ck_assert(vmm.dev[1].ready);
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.size, 8 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 2);
	ck_assert_uint_eq(vmm.dev[1].arena.size, 2 * vmm.dev[1].total);
	ck_assert_int_eq(gpuvm_policy_get(1, "high_watermark", &v), 0);
	ck_assert_uint_eq(v, 4 * MiB);
	ck_assert_int_eq(gpuvm_policy_set(1, "va_factor", 3), -EACCES);
	ck_assert_int_eq(gpuvm_policy_set(1, "chunk_size", 3 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_free(p), 0);

	ck_assert_int_eq(gpuvm_alloc(2, 5 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_policy_get(2, "chunk_size", &v), 0);
	ck_assert_uint_eq(v, 0);	/* 3M is no multiple of 2M */
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.size, 6 * MiB);
	ck_assert_int_eq(gpuvm_policy_get(2, "limit", &v), 0);
	ck_assert_uint_eq(v, 128 * MiB);
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert(!vmm.dev[0].ready);	/* never used */
	ck_assert(consistent(1) && consistent(2));
}
END_TEST

/* GPUVM_<KNOB> defaults: good ones apply, a bad one keeps the default. */
START_TEST(env_defaults)
{
	struct gpuvm_alloc_info info;
	gpuvm_ptr_t p;
	uint64_t v;

	setenv("GPUVM_CHUNK_SIZE", "4M", 1);
	setenv("GPUVM_SMALL_MAX", "0\n", 1);
	setenv("GPUVM_LIMIT", "12abc", 1);
	setenv("GPUVM_VA_FACTOR", "2", 1);
	start(1);
	ck_assert_int_eq(gpuvm_policy_get(0, "limit", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(gpuvm_policy_get(0, "va_factor", &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(gpuvm_alloc(0, 100, 0, &p), 0);
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.size, 4 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 1);
	/* the reservation is whole granules: a real device's total need not be */
	ck_assert_uint_eq(vmm.dev[0].arena.size, round_up(2 * vmm.dev[0].total, vmm.dev[0].gran));
	ck_assert_int_eq(gpuvm_free(p), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_stress");
	TCase *tc = tcase_create("stress");

	if (!tl_suite_start())
		return 77;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, two_devices);
	tcase_add_test(tc, peer_access);
	tcase_add_test(tc, threads_one_device);
	tcase_add_test(tc, threads_two_devices);
	tcase_add_test(tc, fork_child);
	tcase_add_test(tc, env_defaults);
	tcase_add_test(tc, knob_before_setup);
	suite_add_tcase(s, tc);
	return check_run(s);
}
