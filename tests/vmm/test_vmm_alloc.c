// SPDX-License-Identifier: MIT
/*
 * test_vmm_alloc.c - the manager on cudasim (or a real driver): allocation
 * paths and their exact driver-call counts, fragmentation against the
 * driver's own allocator, data integrity, growable allocations, limit,
 * watermarks, reclaim, small objects, stream-ordered frees, live policy.
 *
 * Check forks each test: every test starts with a fresh library and ends
 * with the exit-time teardown that CUDASIM_LEAKCHECK=1 verifies.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/internal.h"
#include "testlib.h"
#include "../check_run.h"

#define MiB (1ull << 20)

static uint64_t calls(int call)
{
	return tl_calls(0, call);
}

/* Page table, arena and accounting agree (internal check). */
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

static void setup(void)
{
	if (!tl_open()) {
		fprintf(stderr, "SKIP: no CUDA driver\n");
		exit(77);
	}
	ck_assert_int_eq(gpuvm_init(), 0);
	ck_assert_int_eq(tl_use_device(0), 0);
}

/* For tests of plain cuMemAlloc fragmenting: cudasim's first fit, which
 * cuInit (in gpuvm_init) reads. */
static void setup_contiguous(void)
{
	setenv("CUDASIM_ALLOC", "contiguous", 1);
	setup();
}

static void teardown(void)
{
	ck_assert(consistent(0));
	tl_close();
}

START_TEST(basic)
{
	struct gpuvm_alloc_info info;
	gpuvm_ptr_t p, q;
	int dev = -1;

	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB, 0, &p), 0);
	ck_assert_uint_eq(p % (2 * MiB), 0);
	ck_assert(gpuvm_owns(p, &dev));
	ck_assert_int_eq(dev, 0);
	ck_assert(gpuvm_owns(p + 5 * MiB - 1, NULL));
	ck_assert_int_eq(gpuvm_query(p + 12345, &info), 0);
	ck_assert_uint_eq(info.base, p);
	ck_assert_uint_eq(info.size, 6 * MiB);
	ck_assert_uint_eq(info.requested, 5 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 3);
	ck_assert_int_eq(info.device, 0);
	ck_assert_uint_gt(info.id, 0);
	ck_assert_int_eq(tl_fill(p, 5 * MiB, 1), 0);
	ck_assert(tl_verify(p, 5 * MiB, 1));
	ck_assert_int_eq(gpuvm_free(p + 4096), -EINVAL);	/* not the start */
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(gpuvm_free(p), -EINVAL);		/* double free */
	ck_assert(!gpuvm_owns(p, NULL));
	ck_assert_int_eq(gpuvm_query(p, &info), -ENOENT);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB, 0, &q), 0);
	ck_assert_uint_eq(q, p);	/* the freed range, once synchronized */
	ck_assert_int_eq(gpuvm_free(q), 0);
	ck_assert(consistent(0));
}
END_TEST

START_TEST(bad_input)
{
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st, st2;
	gpuvm_ptr_t p = 0;

	ck_assert_int_eq(gpuvm_alloc(0, 0, 0, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(0, 1, 0, NULL), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(0, 1, 0x80, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(-1, 1, 0, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(99, 1, 0, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(0, SIZE_MAX, 0, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(0, 1ull << 50, 0, &p), -ENOMEM);
	ck_assert_int_eq(gpuvm_alloc_growable(0, 4 * MiB, 8 * MiB, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc_growable(0, 0, 0, &p), -EINVAL);
	ck_assert_int_eq(gpuvm_free(0), -EINVAL);
	ck_assert_int_eq(gpuvm_free(12345), -EINVAL);
	ck_assert_int_eq(gpuvm_free_async(0, NULL), -EINVAL);
	ck_assert_int_eq(gpuvm_resize(0, 1), -EINVAL);
	ck_assert_int_eq(gpuvm_query(0, &info), -ENOENT);
	ck_assert_int_eq(gpuvm_query(0, NULL), -EINVAL);
	ck_assert(!gpuvm_owns(0, NULL));
	ck_assert_int_eq(gpuvm_stats(5, &st), -EINVAL);
	ck_assert_int_eq(gpuvm_stats(0, NULL), -EINVAL);
	ck_assert_int_eq(gpuvm_reclaim(7, 0), -EINVAL);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	/* a free inside the arena but of nothing changes nothing */
	ck_assert_int_eq(gpuvm_free(vmm.dev[0].arena.base + 2 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_stats(0, &st2), 0);
	ck_assert_uint_eq(st2.free_calls, st.free_calls);
	ck_assert_uint_eq(st2.physical, st.physical);
}
END_TEST

/* A cached hit makes no driver call at all. */
START_TEST(hit_zero_calls)
{
	gpuvm_ptr_t a, b, c, d;
	uint64_t before;

	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	/* the first reuse synchronizes once; that covers both frees */
	before = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &c), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), before + 1);
	before = tl_calls_total(0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &d), 0);
	ck_assert_uint_eq(tl_calls_total(0), before);
	ck_assert(c == a || c == b);
	ck_assert(d == a || d == b);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert_int_eq(gpuvm_free(d), 0);
	ck_assert_uint_eq(tl_calls_total(0), before);
}
END_TEST

/*
 * Cached ranges side by side in VA serve a request of their sum as one,
 * with no driver call but the synchronization that cached them; the
 * smallest such run wins and its excess stays cached.  Ranges apart do not.
 */
START_TEST(hit_cached_run)
{
	gpuvm_ptr_t a, b, c, e, p, q;
	uint64_t before, maps;
	struct gpuvm_stats st;

	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, GPUVM_ALLOC_LARGE, &c), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, GPUVM_ALLOC_LARGE, &e), 0);
	if (b != a + 6 * MiB || c != b + 4 * MiB || e != c + 6 * MiB) {
		fprintf(stderr, "SKIP: the arena did not pack the ranges\n");
		return;
	}
	ck_assert_int_eq(tl_fill(a, 6 * MiB, 1), 0);
	ck_assert_int_eq(tl_fill(b, 4 * MiB, 2), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	/* 8 MiB: a and b (10 MiB) win over b and c (10 MiB, newer) and a
	 * alone; the rest of b stays cached */
	before = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
	maps = calls(GPUVM_DRV_MEM_MAP) + calls(GPUVM_DRV_MEM_SET_ACCESS) +
	       calls(GPUVM_DRV_MEM_UNMAP) + calls(GPUVM_DRV_MEM_CREATE);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_LARGE, &p), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), before + 1);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_MAP) + calls(GPUVM_DRV_MEM_SET_ACCESS) +
			  calls(GPUVM_DRV_MEM_UNMAP) + calls(GPUVM_DRV_MEM_CREATE), maps);
	ck_assert_uint_eq(p, a);
	ck_assert(tl_verify(a, 6 * MiB, 1));
	ck_assert(consistent(0));
	/* what is left, 2 + 6 MiB side by side, serves 8 MiB too */
	before = tl_calls_total(0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_LARGE, &q), 0);
	ck_assert_uint_eq(tl_calls_total(0), before);
	ck_assert_uint_eq(q, a + 8 * MiB);
	ck_assert_int_eq(tl_fill(p, 8 * MiB, 3), 0);
	ck_assert_int_eq(tl_fill(q, 8 * MiB, 4), 0);
	ck_assert(tl_verify(p, 8 * MiB, 3));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.mapped, 18 * MiB);
	ck_assert_uint_eq(st.allocated, 18 * MiB);
	/* p and e freed are not side by side (q is between): 10 MiB does not
	 * take them as one (e, with free VA after it, grows in place) */
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(gpuvm_free(e), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, GPUVM_ALLOC_LARGE, &p), 0);
	ck_assert_uint_ne(p, a);
	ck_assert(tl_verify(q, 8 * MiB, 4));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(gpuvm_free(q), 0);
}
END_TEST

/*
 * A thief unmaps at least 16 chunks from the range it robs, in one call:
 * those it does not need wait in the pool for the next thieves.
 */
START_TEST(steal_pools_spares)
{
	uint64_t unmaps, creates;
	struct gpuvm_stats st;
	gpuvm_ptr_t a, p[16];
	int i;

	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 40 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	unmaps = calls(GPUVM_DRV_MEM_UNMAP);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, GPUVM_ALLOC_LARGE | GPUVM_ALLOC_NOCACHE,
					     &p[i]), 0);
		ck_assert_int_eq(tl_fill(p[i], 2 * MiB, (uint32_t)i), 0);
		ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps + 1);
	}
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 40 * MiB);
	ck_assert_uint_eq(st.mapped, 40 * MiB);		/* 16 live, 4 cached */
	ck_assert_uint_eq(st.chunks_free, 4);
	for (i = 0; i < 16; i++)
		ck_assert(tl_verify(p[i], 2 * MiB, (uint32_t)i));
	/* the 17th robs again */
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, GPUVM_ALLOC_LARGE | GPUVM_ALLOC_NOCACHE, &a), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps + 2);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(a), 0);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
}
END_TEST

/* Stitching k pooled chunks: k cuMemMap, one cuMemSetAccess, no create. */
START_TEST(stitch_counts)
{
	uint64_t creates, maps, access;
	struct gpuvm_stats st;
	gpuvm_ptr_t p;

	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 16 * MiB), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks, 8);
	ck_assert_uint_eq(st.chunks_free, 8);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	maps = calls(GPUVM_DRV_MEM_MAP);
	access = calls(GPUVM_DRV_MEM_SET_ACCESS);
	ck_assert_int_eq(gpuvm_alloc(0, 16 * MiB, 0, &p), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_MAP), maps + 8);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_SET_ACCESS), access + 1);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.stitches, 1);
	ck_assert_uint_eq(st.chunks_free, 0);
	ck_assert_int_eq(gpuvm_free(p), 0);
	/* 6 MiB more than the pool: 1 create of 3 chunks, 11 maps + 1 access */
	ck_assert_int_eq(gpuvm_alloc(0, 22 * MiB, GPUVM_ALLOC_NOCACHE, &p), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_MAP), maps + 8 + 11);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_SET_ACCESS), access + 2);
	ck_assert_int_eq(gpuvm_free(p), 0);
}
END_TEST

/*
 * A cached range of k chunks whose VA tail is free serves a request of
 * k + 2 chunks in place: 2 cuMemMap and one cuMemSetAccess, same address.
 */
START_TEST(grow_in_place)
{
	uint64_t creates, maps, access;
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b;

	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 16 * MiB), 0);
	/* the miss synchronizes: the freed range is cached when looked for */
	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &a), 0);
	ck_assert_int_eq(tl_fill(a, 6 * MiB, 3), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	maps = calls(GPUVM_DRV_MEM_MAP);
	access = calls(GPUVM_DRV_MEM_SET_ACCESS);
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, 0, &b), 0);
	ck_assert_uint_eq(b, a);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_MAP), maps + 2);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_SET_ACCESS), access + 1);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_int_eq(gpuvm_query(b, &info), 0);
	ck_assert_uint_eq(info.size, 10 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 5);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.stitches, 2);
	ck_assert_uint_eq(st.chunks_free, 3);
	ck_assert_uint_eq(st.mapped, 10 * MiB);
	ck_assert_int_eq(tl_fill(b, 10 * MiB, 4), 0);
	ck_assert(tl_verify(b, 10 * MiB, 4));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(b), 0);
	/* the grown range is cached whole: a same-size request hits it */
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, 0, &b), 0);
	ck_assert_uint_eq(b, a);
	ck_assert_int_eq(gpuvm_free(b), 0);
}
END_TEST

/* The VA after the cached range is taken: a new range is stitched. */
START_TEST(grow_tail_taken)
{
	gpuvm_ptr_t a, c, b;
	uint64_t maps;

	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, 0, &c), 0);
	ck_assert_uint_eq(c, a + 6 * MiB);
	ck_assert_int_eq(gpuvm_free(a), 0);
	maps = calls(GPUVM_DRV_MEM_MAP);
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, 0, &b), 0);
	ck_assert_uint_ne(b, a);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_MAP), maps + 5);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
}
END_TEST

/*
 * A driver failure while growing in place undoes the growth: the range is
 * cached again, whole, and the request is stitched or fails cleanly.
 */
START_TEST(grow_fail)
{
	static const char *const spec[] = {
		"cuMemMap:1", "cuMemMap:2", "cuMemSetAccess:1", "cuMemMap:1+",
	};
	const char *s = spec[_i];
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b, c;
	uint64_t total;
	int ret;

	if (!tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fault injection\n");
		return;
	}
	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 16 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(tl_set_fail(s), 0);
	ret = gpuvm_alloc(0, 10 * MiB, 0, &b);
	ck_assert_int_eq(tl_set_fail(""), 0);
	ck_assert_msg(consistent(0), "%s", s);
	if (s[strlen(s) - 1] == '+') {
		ck_assert_int_ne(ret, 0);
	} else {
		/* the fallback stitched a new range */
		ck_assert_msg(ret == 0, "%s: %d", s, ret);
		ck_assert_uint_ne(b, a);
		ck_assert_int_eq(tl_fill(b, 10 * MiB, 5), 0);
		ck_assert(tl_verify(b, 10 * MiB, 5));
	}
	/*
	 * The cached range is intact: its size is a hit without a driver call
	 * (when all failed, the out-of-memory path may have reclaimed it).
	 */
	total = tl_calls_total(0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &c), 0);
	if (!ret) {
		ck_assert_uint_eq(c, a);
		ck_assert_uint_eq(tl_calls_total(0), total);
	}
	ck_assert_int_eq(tl_fill(c, 6 * MiB, 6), 0);
	ck_assert(tl_verify(c, 6 * MiB, 6));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.mapped, ret ? 6 * MiB : 16 * MiB);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(c), 0);
	if (!ret)
		ck_assert_int_eq(gpuvm_free(b), 0);
}
END_TEST

/*
 * Allocate blocks, free every other one, ask for a block larger than any
 * hole: a contiguous allocator (cudasim with CUDASIM_ALLOC=contiguous, see
 * setup_contiguous) fails, gpuvm stitches the holes' chunks.
 */
START_TEST(fragmentation)
{
	enum { N = 28 };
	uint64_t block = 32 * MiB, big = 96 * MiB;
	gpuvm_ptr_t p[N], q, tmp;
	struct gpuvm_stats st;
	int i, n;

	if (!tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fixed capacity\n");
		return;
	}
	/* the driver's own allocator: 28 x 32 MiB of 1 GiB, 128 MiB tail */
	for (n = 0; n < N && !tl_mem_alloc(&p[n], block); n++)
		;
	ck_assert_int_eq(n, N);
	ck_assert_int_eq(tl_mem_alloc(&q, big), 0);	/* the tail still fits */
	for (i = 0; i < N; i += 2)
		ck_assert_int_eq(tl_mem_free(p[i]), 0);
	ck_assert_int_ne(tl_mem_alloc(&tmp, big + 64 * MiB), 0);
	ck_assert_int_ne(tl_mem_alloc(&tmp, 2 * block), 0);	/* 14 holes of 32 */
	for (i = 1; i < N; i += 2)
		ck_assert_int_eq(tl_mem_free(p[i]), 0);
	ck_assert_int_eq(tl_mem_free(q), 0);

	/* the same through gpuvm */
	for (n = 0; n < N; n++)
		ck_assert_int_eq(gpuvm_alloc(0, block, 0, &p[n]), 0);
	ck_assert_int_eq(gpuvm_alloc(0, big, 0, &q), 0);
	for (i = 0; i < N; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 2 * block, 0, &p[0]), 0);
	ck_assert_int_eq(tl_fill(p[0], 2 * block, 9), 0);
	ck_assert(tl_verify(p[0], 2 * block, 9));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.ooms, 0);
	ck_assert_uint_le(st.physical, (uint64_t)N * block + big);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(p[0]), 0);
	for (i = 1; i < N; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_eq(gpuvm_free(q), 0);
}
END_TEST

/* Patterns survive frees, reuse, stitches from stolen chunks. */
START_TEST(integrity)
{
	enum { N = 24 };
	gpuvm_ptr_t p[N], big;
	uint64_t sz[N];
	int i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			sz[i] = (1 + (i * 7 + round) % 5) * 3 * MiB + 4096 * i;
			ck_assert_int_eq(gpuvm_alloc(0, sz[i], 0, &p[i]), 0);
			ck_assert_int_eq(tl_fill(p[i], sz[i], 100 * round + i), 0);
		}
		for (i = 0; i < N; i += 3)
			ck_assert_int_eq(gpuvm_free(p[i]), 0);
		/* larger than any freed range: stitched from stolen chunks */
		ck_assert_int_eq(gpuvm_alloc(0, 40 * MiB, 0, &big), 0);
		ck_assert_int_eq(tl_fill(big, 40 * MiB, 777), 0);
		for (i = 0; i < N; i++)
			if (i % 3)
				ck_assert_msg(tl_verify(p[i], sz[i], 100 * round + i),
					      "round %d block %d", round, i);
		ck_assert(tl_verify(big, 40 * MiB, 777));
		ck_assert(consistent(0));
		for (i = 0; i < N; i++)
			if (i % 3)
				ck_assert_int_eq(gpuvm_free(p[i]), 0);
		ck_assert_int_eq(gpuvm_free(big), 0);
	}
}
END_TEST

START_TEST(growable)
{
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	gpuvm_ptr_t p, q;

	ck_assert_int_eq(gpuvm_alloc_growable(0, 64 * MiB, 3 * MiB, &p), 0);
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.size, 4 * MiB);
	ck_assert_uint_eq(info.max_size, 64 * MiB);
	ck_assert_uint_eq(info.flags & GPUVM_INFO_GROWABLE, GPUVM_INFO_GROWABLE);
	ck_assert(!gpuvm_owns(p + 10 * MiB, NULL));	/* reserved, not mapped */
	ck_assert_int_eq(tl_fill(p, 3 * MiB, 5), 0);
	ck_assert_int_eq(gpuvm_resize(p, 30 * MiB), 0);
	ck_assert(gpuvm_owns(p + 29 * MiB, NULL));
	ck_assert(tl_verify(p, 3 * MiB, 5));
	ck_assert_int_eq(tl_fill(p, 30 * MiB, 6), 0);
	ck_assert_int_eq(gpuvm_resize(p, 9 * MiB), 0);
	ck_assert(tl_verify(p, 9 * MiB, 6));
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.base, p);
	ck_assert_uint_eq(info.size, 10 * MiB);
	ck_assert_uint_eq(info.requested, 9 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 5);
	ck_assert_int_eq(gpuvm_resize(p, 65 * MiB), -ERANGE);
	ck_assert_int_eq(gpuvm_resize(p + 2 * MiB, 4 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &q), 0);
	ck_assert_int_eq(gpuvm_resize(q, 8 * MiB), -EINVAL);	/* not growable */
	ck_assert_int_eq(gpuvm_resize(p, 0), 0);
	ck_assert_int_eq(gpuvm_query(p, &info), -ENOENT);	/* nothing mapped */
	ck_assert_int_eq(gpuvm_resize(p, 64 * MiB), 0);
	ck_assert_int_eq(tl_fill(p, 64 * MiB, 8), 0);
	ck_assert(tl_verify(p, 64 * MiB, 8));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.requested, 68 * MiB);
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(gpuvm_free(q), 0);
	/* growable of initial size 0 */
	ck_assert_int_eq(gpuvm_alloc_growable(0, 8 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_resize(p, 1), 0);
	ck_assert_int_eq(tl_fill(p, 1, 1), 0);
	ck_assert_int_eq(gpuvm_free(p), 0);
}
END_TEST

START_TEST(limit)
{
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b;

	ck_assert_int_eq(gpuvm_policy_set(0, "limit", 16 * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, 0, &b), -ENOMEM);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.ooms, 1);
	ck_assert_uint_eq(st.limit, 16 * MiB);
	ck_assert_uint_le(st.physical, 16 * MiB);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	/* a's chunks are reused (after a sync) under the limit */
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_NOCACHE, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 16 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
}
END_TEST

START_TEST(watermarks)
{
	struct gpuvm_stats st;
	gpuvm_ptr_t p[8];
	uint64_t v;
	int i;

	ck_assert_int_eq(gpuvm_policy_set(0, "high_watermark", 8 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "low_watermark", 16 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_get(0, "low_watermark", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "low_watermark", 4 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "high_watermark", 2 * MiB), -EINVAL);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &p[i]), 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_le(st.cached, 8 * MiB);
	ck_assert_uint_ge(st.cached, 4 * MiB);
	ck_assert_uint_gt(st.reclaimed, 0);
	ck_assert_uint_gt(st.driver_calls[GPUVM_DRV_MEM_RELEASE], 0);
}
END_TEST

START_TEST(reclaim)
{
	struct gpuvm_stats st;
	gpuvm_ptr_t p[4], s;
	int64_t got;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &p[i]), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 1000, 0, &s), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_eq(gpuvm_free(s), 0);
	got = gpuvm_reclaim(0, 4 * MiB);
	ck_assert_int_ge(got, 4 * MiB);
	got = gpuvm_reclaim(-1, 0);
	ck_assert_int_gt(got, 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert_uint_eq(st.mapped, 0);
	ck_assert_uint_eq(st.cached, 0);
	ck_assert_uint_eq(st.chunks, 0);
	ck_assert_uint_eq(st.live_allocs, 0);
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 0);
	ck_assert(consistent(0));
}
END_TEST

/*
 * A mapping that fails is undone even when an unmap of the undo fails too:
 * the batched undo (8 MiB), the one call per chunk after it (8 MiB, a map
 * failing after two chunks), the retry of a single chunk (2 MiB).  Were a
 * mapping left behind, the next range at that address could not be mapped.
 */
START_TEST(map_undo_retries)
{
	static const struct {
		const char *spec;
		uint64_t size;
	} t[] = {
		{ "cuMemSetAccess:1,cuMemUnmap:1", 8 * MiB },
		{ "cuMemMap:3,cuMemUnmap:1", 8 * MiB },
		{ "cuMemSetAccess:1,cuMemUnmap:1", 2 * MiB },
	};
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b;
	int ret;

	if (!tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fault injection\n");
		return;
	}
	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 16 * MiB), 0);
	ck_assert_int_eq(tl_set_fail(t[_i].spec), 0);
	ret = gpuvm_alloc(0, t[_i].size, GPUVM_ALLOC_LARGE, &a);
	ck_assert_int_eq(tl_set_fail(""), 0);
	ck_assert_msg(consistent(0), "%s", t[_i].spec);
	if (!ret)
		ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	/* the same size again: the same VA and the pooled chunks, mapped anew */
	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 16 * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, t[_i].size, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_int_eq(tl_fill(b, t[_i].size, 7), 0);
	ck_assert(tl_verify(b, t[_i].size, 7));
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_policy_set(-1, "pool_reserve", 0), 0);
	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert(consistent(0));
}
END_TEST

/*
 * A 20 MiB range written, freed and released with cudasim failing as
 * @spec says: the cuMemUnmap calls it took (everything must go back).
 */
static int release_with_unmap_fault(const char *spec)
{
	struct gpuvm_stats st;
	uint64_t unmaps;
	gpuvm_ptr_t a;

	ck_assert_int_eq(gpuvm_alloc(0, 20 * MiB, 0, &a), 0);
	ck_assert_int_eq(tl_fill(a, 20 * MiB, 9), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	unmaps = calls(GPUVM_DRV_MEM_UNMAP);
	ck_assert_int_eq(tl_set_fail(spec), 0);
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 20 * MiB);
	ck_assert_int_eq(tl_set_fail(""), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert(consistent(0));
	return (int)(calls(GPUVM_DRV_MEM_UNMAP) - unmaps);
}

/*
 * Releasing a cached range unmaps its chunks with one cuMemUnmap per 64
 * (adjacent whole mappings at once); a targeted reclaim unmaps only what it
 * releases: the chunks it needs and the rest of their cuMemCreate, which
 * goes back whole.  When the batched call fails, one call per chunk
 * finishes, and goes on so once the driver called such a call invalid.
 */
START_TEST(unmap_batched)
{
	struct gpuvm_stats st;
	uint64_t unmaps;
	gpuvm_ptr_t a, b;

	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 20 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 200 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks, 110);

	/* 5 MiB: three chunks off the oldest range's tail and the other seven
	 * of their cuMemCreate (all of a), in one call */
	unmaps = calls(GPUVM_DRV_MEM_UNMAP);
	ck_assert_int_eq(gpuvm_reclaim(0, 5 * MiB), 20 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps + 1);
	ck_assert(consistent(0));
	/* the rest: 100 chunks in two calls */
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 200 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps + 3);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert_uint_eq(st.mapped, 0);
	ck_assert(consistent(0));

	if (!tl_is_cudasim())
		return;
	/* a failure: one call per chunk; after it, batched again */
	ck_assert_int_eq(release_with_unmap_fault("cuMemUnmap:1"), 11);
	ck_assert_int_eq(release_with_unmap_fault(""), 1);
	/* refused as invalid: one call per chunk from then on */
	ck_assert_int_eq(release_with_unmap_fault("cuMemUnmap:1=1"), 11);
	ck_assert_int_eq(release_with_unmap_fault(""), 10);
}
END_TEST

/*
 * A request's new chunks come from one cuMemCreate (at most 32 MiB of
 * them), each mapped on its own at its offset, so they go anywhere alone;
 * the allocation goes back to the driver once none of its chunks is used.
 */
START_TEST(creates_batched)
{
	struct gpuvm_stats st;
	uint64_t creates, releases;
	gpuvm_ptr_t a, b, c;

	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	releases = calls(GPUVM_DRV_MEM_RELEASE);
	ck_assert_int_eq(gpuvm_alloc(0, 20 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1);
	/* 50 chunks: 16 + 16 + 16 + 2 */
	ck_assert_int_eq(gpuvm_alloc(0, 100 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 5);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks, 60);
	ck_assert_uint_eq(st.physical, 120 * MiB);
	ck_assert_int_eq(tl_fill(a, 20 * MiB, 1), 0);
	ck_assert_int_eq(tl_fill(b, 100 * MiB, 2), 0);
	ck_assert(tl_verify(a, 20 * MiB, 1));

	/* half of a's chunks move to c (stolen: c skips the cache) */
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, GPUVM_ALLOC_NOCACHE | GPUVM_ALLOC_LARGE, &c), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 5);
	ck_assert_int_eq(tl_fill(c, 10 * MiB, 3), 0);
	ck_assert(tl_verify(b, 100 * MiB, 2));
	ck_assert(consistent(0));
	/* the rest of a unmaps, but its cuMemCreate stays: c uses it */
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 120 * MiB);
	ck_assert_uint_eq(st.mapped, 110 * MiB);
	ck_assert_uint_eq(st.cached, 10 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases);
	ck_assert(tl_verify(c, 10 * MiB, 3));
	/* pooled, its chunks serve a request again */
	ck_assert_int_eq(gpuvm_alloc(0, 10 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 5);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 20 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases + 1);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 100 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases + 5);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical + st.chunks + st.mapped, 0);
	ck_assert(consistent(0));
}
END_TEST

/*
 * A watermark trim cannot hand back an allocation one of whose chunks is
 * live: it tries once, and no later free synchronizes to try again until
 * more is cached; then it all goes back.
 */
START_TEST(trim_kept_allocation)
{
	uint64_t syncs, releases, unmaps;
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b, c;
	int i;

	ck_assert_int_eq(gpuvm_alloc(0, 32 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	/* b takes a's first chunk; the other 15 stay cached */
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_uint_eq(b, a);
	ck_assert_int_eq(tl_fill(b, 2 * MiB, 1), 0);
	releases = calls(GPUVM_DRV_MEM_RELEASE);
	ck_assert_int_eq(gpuvm_policy_set(0, "high_watermark", 16 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "low_watermark", 8 * MiB), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 32 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, GPUVM_ALLOC_LARGE, &c), 0);
		ck_assert_int_eq(tl_fill(c, 4 * MiB, 2 + i), 0);
		syncs = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
		unmaps = calls(GPUVM_DRV_MEM_UNMAP);
		ck_assert_int_eq(gpuvm_free(c), 0);
		ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), syncs);
		ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps);
	}
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases);
	ck_assert(tl_verify(b, 2 * MiB, 1));
	/* b freed: more is cached, the trim runs and the allocation goes */
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases + 1);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert(consistent(0));
}
END_TEST

/* Under a limit, a cuMemCreate gets only the chunks the limit leaves. */
START_TEST(creates_batched_limit)
{
	struct gpuvm_stats st;
	uint64_t creates;
	gpuvm_ptr_t a, b;

	ck_assert_int_eq(gpuvm_policy_set(0, "limit", 10 * MiB), 0);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1);
	/* 2 of the 3 chunks fit: created (in one call), then pooled */
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, GPUVM_ALLOC_LARGE, &b), -ENOMEM);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 10 * MiB);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 10 * MiB);
	ck_assert_int_eq(tl_fill(a, 6 * MiB, 1), 0);
	ck_assert_int_eq(tl_fill(b, 4 * MiB, 2), 0);
	ck_assert(tl_verify(a, 6 * MiB, 1));
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
}
END_TEST

/*
 * A driver that refuses a mapping at an offset (asked once, with the
 * first cuMemCreate of several chunks) gets one cuMemCreate per chunk.
 */
START_TEST(creates_offset_refused)
{
	uint64_t creates, releases;
	gpuvm_ptr_t a, b;

	if (!tl_is_cudasim())
		return;
	creates = calls(GPUVM_DRV_MEM_CREATE);
	releases = calls(GPUVM_DRV_MEM_RELEASE);
	ck_assert_int_eq(tl_set_fail("cuMemMap:1=1"), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_LARGE, &a), 0);
	ck_assert_int_eq(tl_set_fail(""), 0);
	/* the probe's cuMemCreate went back; then one per chunk */
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1 + 4);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases + 1);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, GPUVM_ALLOC_LARGE, &b), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1 + 4 + 3);
	ck_assert_int_eq(tl_fill(a, 8 * MiB, 1), 0);
	ck_assert_int_eq(tl_fill(b, 6 * MiB, 2), 0);
	ck_assert(tl_verify(a, 8 * MiB, 1));
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_reclaim(0, 0), 14 * MiB);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_RELEASE), releases + 1 + 7);
}
END_TEST

START_TEST(small_objects)
{
	enum { N = 600 };
	static gpuvm_ptr_t p[N];
	static uint64_t sz[N];
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	uint64_t creates;
	int i;

	srand(3);
	for (i = 0; i < N; i++) {
		sz[i] = i < 64 ? (uint64_t)i + 1 : 1 + (uint64_t)rand() % (1 << (8 + i % 13));
		ck_assert_int_eq(gpuvm_alloc(0, sz[i], 0, &p[i]), 0);
		ck_assert_uint_eq(p[i] % 256, 0);
		ck_assert_int_eq(tl_fill(p[i], sz[i], i), 0);
	}
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(gpuvm_query(p[i] + sz[i] - 1, &info), 0);
		ck_assert_uint_eq(info.base, p[i]);
		ck_assert_uint_eq(info.requested, sz[i]);
		ck_assert_uint_eq(info.flags & GPUVM_INFO_SMALL, GPUVM_INFO_SMALL);
		ck_assert_uint_eq(info.nr_chunks, 0);
		if (sz[i] > 2048)
			ck_assert_uint_le(info.size - sz[i], info.size / 8);
		else
			ck_assert_uint_lt(info.size - sz[i], 256);
		ck_assert(gpuvm_owns(p[i], NULL));
		ck_assert(tl_verify(p[i], sz[i], i));
	}
	for (i = 0; i < N; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert(!gpuvm_owns(p[0], NULL));
	ck_assert_int_eq(gpuvm_free(p[0]), -EINVAL);
	ck_assert_int_eq(gpuvm_free(p[1] + 256), -EINVAL);
	/* refill the holes: the slabs are reused, nothing new is created */
	creates = calls(GPUVM_DRV_MEM_CREATE);
	for (i = 0; i < N; i += 2) {
		ck_assert_int_eq(gpuvm_alloc(0, sz[i], 0, &p[i]), 0);
		ck_assert_int_eq(tl_fill(p[i], sz[i], i + 1000), 0);
	}
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	for (i = 0; i < N; i++)
		ck_assert(tl_verify(p[i], sz[i], i % 2 ? i : i + 1000));
	ck_assert(consistent(0));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	/* every slab empty: reclaim gives all of it back */
	gpuvm_reclaim(0, 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert_uint_eq(st.requested, 0);
	ck_assert_uint_eq(st.live_allocs, 0);
	/* small_max 0: everything takes the large path */
	ck_assert_int_eq(gpuvm_policy_set(0, "small_max", 0), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 100, 0, &p[0]), 0);
	ck_assert_int_eq(gpuvm_query(p[0], &info), 0);
	ck_assert_uint_eq(info.flags & GPUVM_INFO_SMALL, 0);
	ck_assert_uint_eq(info.size, 2 * MiB);
	ck_assert_int_eq(gpuvm_free(p[0]), 0);
}
END_TEST

/* The device holds @physical bytes; @p (@size bytes) keeps data, is freed. */
static void holds_then_frees(gpuvm_ptr_t p, uint64_t size, uint64_t physical, uint32_t seed)
{
	struct gpuvm_stats st;

	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, physical);
	ck_assert_int_eq(tl_fill(p, size, seed), 0);
	ck_assert(tl_verify(p, size, seed));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(p), 0);
}

/*
 * Objects of @n sizes, all in one chunk: filled, verified, freed, and the
 * chunk handed back by a reclaim.
 */
static void one_chunk_holds(const uint64_t *size, int n)
{
	gpuvm_ptr_t p[64];
	struct gpuvm_stats st;
	int i;

	ck_assert_int_le(n, 64);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(gpuvm_alloc(0, size[i], 0, &p[i]), 0);
		ck_assert_int_eq(tl_fill(p[i], size[i], i), 0);
	}
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks, 1);
	ck_assert_uint_eq(st.physical, 2 * MiB);
	for (i = 0; i < n; i++)
		ck_assert(tl_verify(p[i], size[i], i));
	ck_assert(consistent(0));
	/* freed, the pages go back to the box and the box to the cache */
	for (i = 0; i < n; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_gt(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert(consistent(0));
}

/* Classes of up to 8 KiB take 64 KiB pages of one shared chunk. */
START_TEST(small_classes_share_chunks)
{
	uint64_t size[32];
	int i;

	for (i = 0; i < 32; i++)
		size[i] = 256 * (i + 1);
	one_chunk_holds(size, 32);
}
END_TEST

/*
 * Larger classes take runs of pages of a shared chunk: 8 objects each of
 * 16, 32, 64 and 128 KiB need 2 + 4 + 8 + 16 of its 32 pages (runs of 1,
 * 1, 2 and 4 pages holding 4, 2, 2 and 2 objects).
 */
START_TEST(page_runs_share_chunks)
{
	static const uint64_t kib[4] = { 16, 32, 64, 128 };
	uint64_t size[32];
	int i;

	for (i = 0; i < 32; i++)
		size[i] = kib[i / 8] << 10;
	one_chunk_holds(size, 32);
}
END_TEST

/*
 * Runs of any number of pages: one object of 300 KiB (5 pages), 700 KiB
 * (11) and 1 MiB (16) fill one chunk; freed, the 11-page hole takes a
 * 600 KiB object (10 pages) without a new chunk, as the tightest fit.
 */
START_TEST(page_runs_any_length)
{
	static const uint64_t size[3] = { 300 << 10, 700 << 10, MiB };
	struct gpuvm_stats st;
	gpuvm_ptr_t p[3], q, r;

	one_chunk_holds(size, 3);
	ck_assert_int_eq(gpuvm_alloc(0, size[0], 0, &p[0]), 0);
	ck_assert_int_eq(gpuvm_alloc(0, size[1], 0, &p[1]), 0);
	ck_assert_int_eq(gpuvm_alloc(0, size[2], 0, &p[2]), 0);
	ck_assert_int_eq(tl_fill(p[2], size[2], 2), 0);
	ck_assert_int_eq(gpuvm_free(p[1]), 0);
	ck_assert_int_eq(gpuvm_free(p[0]), 0);
	/* synchronizes: the two runs go back to the box, the box stays */
	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 600 << 10, 0, &q), 0);
	/* the 5-page hole stays for the next 300 KiB object */
	ck_assert_int_eq(gpuvm_alloc(0, size[0], 0, &r), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 2 * MiB);
	ck_assert_int_eq(tl_fill(q, 600 << 10, 3), 0);
	ck_assert_int_eq(tl_fill(r, size[0], 4), 0);
	ck_assert(tl_verify(p[2], size[2], 2));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(q), 0);
	ck_assert_int_eq(gpuvm_free(r), 0);
	ck_assert_int_eq(gpuvm_free(p[2]), 0);
}
END_TEST

/*
 * A slab of 300 KiB objects is one object's 5 pages, six of them to a
 * chunk, not eight objects' worth; emptied, the boxes go back as cached
 * ranges that a large request then reuses.
 */
START_TEST(slab_sizing)
{
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	gpuvm_ptr_t p[8], q;
	uint64_t creates;
	int i;

	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(gpuvm_alloc(0, 300 << 10, 0, &p[i]), 0);
		ck_assert_int_eq(tl_fill(p[i], 300 << 10, i), 0);
	}
	ck_assert_int_eq(gpuvm_query(p[0], &info), 0);
	ck_assert_uint_eq(info.flags & GPUVM_INFO_SMALL, GPUVM_INFO_SMALL);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	/* 320 KiB objects in 5-page runs, six to a chunk: one chunk */
	ck_assert_uint_eq(st.physical, 2 * MiB);
	ck_assert_int_eq(gpuvm_alloc(0, 300 << 10, 0, &p[6]), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 4 * MiB);
	for (i = 0; i < 6; i++)
		ck_assert(tl_verify(p[i], 300 << 10, i));
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	/* both slabs empty after the sync this miss makes: reused, no create */
	creates = calls(GPUVM_DRV_MEM_CREATE);
	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &q), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	holds_then_frees(q, 4 * MiB, 4 * MiB, 9);
}
END_TEST

/*
 * Classes above a chunk (small_max raised) take whole chunks, the fewest
 * that waste at most a third: 4 MiB for one 3 MiB object.
 */
START_TEST(chunk_slabs)
{
	struct gpuvm_alloc_info info;
	gpuvm_ptr_t p;

	ck_assert_int_eq(gpuvm_policy_set(0, "small_max", 8 * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.flags & GPUVM_INFO_SMALL, GPUVM_INFO_SMALL);
	holds_then_frees(p, 3 * MiB, 4 * MiB, 5);
}
END_TEST

/*
 * Tail sharing: 3 MiB leave 1 MiB free in their second chunk; 2.5 MiB (0.5
 * in their last chunk) start there and need one chunk of their own: three
 * chunks for both, not four.  Either may go first (_i): the other keeps
 * its data and the shared chunk; a donor whose recipient went lends its
 * room again.
 */
START_TEST(tail_share)
{
	struct vmm_device *d = &vmm.dev[0];
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b, c, keep;
	uint64_t creates, keep_size;
	uint32_t keep_seed;

	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &b), 0);
	ck_assert_uint_eq(b % (2 * MiB), MiB);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 6 * MiB);
	ck_assert_uint_eq(st.mapped, 6 * MiB);
	ck_assert_uint_eq(st.allocated, 6 * MiB);
	ck_assert_uint_eq(st.cached, 0);
	ck_assert_int_eq(gpuvm_query(b + MiB, &info), 0);
	ck_assert_uint_eq(info.base, b);
	ck_assert_uint_eq(info.size, 3 * MiB);
	ck_assert_uint_eq(info.requested, 5 * MiB / 2);
	ck_assert_uint_eq(info.nr_chunks, 2);
	ck_assert_int_eq(gpuvm_query(a, &info), 0);
	ck_assert_uint_eq(info.size, 3 * MiB);
	/* the donor's room is the recipient's, not the donor's */
	ck_assert_int_eq(gpuvm_query(a + 3 * MiB, &info), -ENOENT);
	ck_assert_int_eq(gpuvm_free(a + 3 * MiB), -EINVAL);
	ck_assert_int_eq(tl_fill(a, 3 * MiB, 1), 0);
	ck_assert_int_eq(tl_fill(b, 5 * MiB / 2, 2), 0);
	ck_assert(tl_verify(a, 3 * MiB, 1));
	ck_assert(consistent(0));

	ck_assert_int_eq(gpuvm_free(_i ? b : a), 0);
	keep = _i ? a : b;
	keep_size = _i ? 3 * MiB : 5 * MiB / 2;
	keep_seed = _i ? 1 : 2;
	ck_assert(tl_verify(keep, keep_size, keep_seed));
	/* cached, the freed range offers only its own chunk to stealing */
	vmm_lock(d);
	ck_assert_int_eq(__dev_sync(d), 0);
	ck_assert_uint_eq(d->cached_range_bytes, 2 * MiB);
	vmm_unlock(d);
	/* synchronized and released: the freed range gives up its mapping of the
	 * shared chunk, the other keeps the chunk; the freed range's own chunk
	 * goes back with its cuMemCreate: b's at once, a's (created with the
	 * shared chunk) only with the shared one */
	ck_assert_int_eq(gpuvm_reclaim(0, 0), _i ? 2 * MiB : 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, _i ? 4 * MiB : 6 * MiB);
	ck_assert_uint_eq(st.mapped, 4 * MiB);
	ck_assert_uint_eq(st.allocated, 4 * MiB);
	ck_assert(tl_verify(keep, keep_size, keep_seed));
	ck_assert(consistent(0));
	if (_i) {
		creates = calls(GPUVM_DRV_MEM_CREATE);
		ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &c), 0);
		ck_assert_uint_eq(c % (2 * MiB), MiB);
		ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates + 1);
		ck_assert_int_eq(tl_fill(c, 5 * MiB / 2, 3), 0);
		ck_assert(tl_verify(a, 3 * MiB, 1));
		ck_assert_int_eq(gpuvm_free(c), 0);
	}
	ck_assert_int_eq(gpuvm_free(keep), 0);
	ck_assert_int_gt(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert_uint_eq(st.mapped, 0);
}
END_TEST

/*
 * A request that fits in a donor's room takes no chunk of its own: 1.5 MiB
 * in the 1.75 MiB that 2.25 MiB leave.  A recipient lends its own room in
 * turn: 2.75 MiB after 3 MiB start 1 MiB into the donor's last chunk and
 * end 1.75 MiB into their own, where 2.25 MiB start: 6 chunks, not 9.
 */
START_TEST(tail_share_chain)
{
	struct gpuvm_stats st;
	gpuvm_ptr_t a, b, c, d, e;

	ck_assert_int_eq(gpuvm_alloc(0, 9 * MiB / 4, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB / 2, 0, &b), 0);
	ck_assert_uint_eq(b % (2 * MiB), MiB / 4);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 4 * MiB);
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &c), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 11 * MiB / 4, 0, &d), 0);
	ck_assert_uint_eq(d % (2 * MiB), MiB);
	ck_assert_int_eq(gpuvm_alloc(0, 9 * MiB / 4, 0, &e), 0);
	ck_assert_uint_eq(e % (2 * MiB), 7 * MiB / 4);
	/* 2 + 0 + 2 + 1 + 1 chunks */
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 12 * MiB);
	ck_assert_int_eq(tl_fill(a, 9 * MiB / 4, 1), 0);
	ck_assert_int_eq(tl_fill(b, 3 * MiB / 2, 2), 0);
	ck_assert_int_eq(tl_fill(c, 3 * MiB, 3), 0);
	ck_assert_int_eq(tl_fill(d, 11 * MiB / 4, 4), 0);
	ck_assert_int_eq(tl_fill(e, 9 * MiB / 4, 5), 0);
	ck_assert(tl_verify(a, 9 * MiB / 4, 1));
	ck_assert(tl_verify(c, 3 * MiB, 3));
	ck_assert(tl_verify(d, 11 * MiB / 4, 4));
	/* the middle of a chain goes first: both ends keep their data */
	ck_assert_int_eq(gpuvm_free(d), 0);
	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	ck_assert(tl_verify(c, 3 * MiB, 3));
	ck_assert(tl_verify(e, 9 * MiB / 4, 5));
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert(tl_verify(b, 3 * MiB / 2, 2));
	ck_assert_int_eq(gpuvm_free(e), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_gt(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
}
END_TEST

/*
 * A shared layout survives in the cache: 16 allocations of 3 MiB pair up
 * (the second of a pair starts in the first's last chunk: 3 chunks a pair,
 * not 4); freed and asked for again, they take the same ranges back with
 * no driver call but the one synchronization.
 */
START_TEST(tail_share_reuse)
{
	static const int calls_kinds[] = {
		GPUVM_DRV_MEM_CREATE, GPUVM_DRV_MEM_MAP, GPUVM_DRV_MEM_UNMAP,
		GPUVM_DRV_MEM_SET_ACCESS, GPUVM_DRV_MEM_RELEASE,
	};
	uint64_t before[5], syncs;
	struct gpuvm_stats st;
	gpuvm_ptr_t p[16];
	int i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < 5; i++)
			before[i] = calls(calls_kinds[i]);
		syncs = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
		for (i = 0; i < 16; i++)
			ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &p[i]), 0);
		ck_assert_int_eq(gpuvm_stats(0, &st), 0);
		ck_assert_uint_eq(st.physical, 48 * MiB);
		if (round) {
			for (i = 0; i < 5; i++)
				ck_assert_uint_eq(calls(calls_kinds[i]), before[i]);
			ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), syncs + 1);
		}
		for (i = 0; i < 16; i++)
			ck_assert_int_eq(tl_fill(p[i], 3 * MiB, 16 * round + i), 0);
		for (i = 0; i < 16; i++)
			ck_assert(tl_verify(p[i], 3 * MiB, 16 * round + i));
		ck_assert(consistent(0));
		for (i = 0; i < 16; i++)
			ck_assert_int_eq(gpuvm_free(p[i]), 0);
	}
	ck_assert_int_gt(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
}
END_TEST

/*
 * Not shared: with tail_share off; a GPUVM_ALLOC_LARGE request (own
 * chunks) as donor or recipient; a stream-ordered allocation as donor (it
 * may reuse a range its stream still uses).
 */
START_TEST(tail_share_exempt)
{
	gpuvm_ptr_t a, b;
	int i;

	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(gpuvm_policy_set(0, "tail_share", i != 0), 0);
		if (i == 3)
			ck_assert_int_eq(gpuvm_alloc_async(0, 3 * MiB, NULL, &a), 0);
		else
			ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, i == 1 ? GPUVM_ALLOC_LARGE : 0,
						     &a), 0);
		ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, i == 2 ? GPUVM_ALLOC_LARGE : 0, &b),
				 0);
		ck_assert_uint_eq(b % (2 * MiB), 0);
		ck_assert_int_eq(gpuvm_free(b), 0);
		ck_assert_int_eq(i == 3 ? gpuvm_free_async(a, NULL) : gpuvm_free(a), 0);
		ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	}
	/* on again: shared */
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &b), 0);
	ck_assert_uint_eq(b % (2 * MiB), MiB);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
}
END_TEST

/*
 * Growing a growable allocation synchronizes rather than creates when
 * deferred frees could supply the chunks (free_batch alone would not sync).
 */
START_TEST(growth_reuses_deferred)
{
	struct gpuvm_stats st;
	uint64_t creates, syncs;
	gpuvm_ptr_t a, b, g, h;

	ck_assert_int_eq(gpuvm_policy_set(0, "free_batch", 1000), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_alloc_growable(0, 64 * MiB, 0, &g), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	syncs = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
	ck_assert_int_eq(gpuvm_resize(g, 8 * MiB), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), syncs + 1);
	ck_assert_int_eq(tl_fill(g, 8 * MiB, 3), 0);
	/* a new growable allocation: the same rule */
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_alloc_growable(0, 64 * MiB, 6 * MiB, &h), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert_int_eq(tl_fill(h, 6 * MiB, 4), 0);
	ck_assert(tl_verify(g, 8 * MiB, 3));
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 16 * MiB);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(g), 0);
	ck_assert_int_eq(gpuvm_free(h), 0);
}
END_TEST

/* gpuvm_mem_info(): the driver's figures with gpuvm's cache free, under its limit. */
START_TEST(mem_info)
{
	struct gpuvm_stats st;
	uint64_t fr, tot;
	gpuvm_ptr_t a;

	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_ge(st.cached, 8 * MiB);
	fr = 100 * MiB;
	tot = 1024 * MiB;
	ck_assert_int_eq(gpuvm_mem_info(0, &fr, &tot), 0);
	ck_assert_uint_eq(fr, 100 * MiB + st.cached);
	ck_assert_uint_eq(tot, 1024 * MiB);
	/* a limit caps the total, and free at what it leaves */
	ck_assert_int_eq(gpuvm_policy_set(0, "limit", 32 * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 16 * MiB, 0, &a), 0);
	fr = 100 * MiB;
	tot = 1024 * MiB;
	ck_assert_int_eq(gpuvm_mem_info(0, &fr, &tot), 0);
	ck_assert_uint_eq(tot, 32 * MiB);
	ck_assert_uint_eq(fr, 16 * MiB);
	/* a driver short of memory stays the bound */
	fr = 1 * MiB;
	tot = 1024 * MiB;
	ck_assert_int_eq(gpuvm_mem_info(0, &fr, &tot), 0);
	ck_assert_uint_le(fr, 1 * MiB + 16 * MiB);
	ck_assert_int_eq(gpuvm_free(a), 0);
	/* bad input changes nothing */
	fr = tot = 7;
	ck_assert_int_eq(gpuvm_mem_info(-1, &fr, &tot), -EINVAL);
	ck_assert_int_eq(gpuvm_mem_info(GPUVM_MAX_DEVICES, &fr, &tot), -EINVAL);
	ck_assert_int_eq(gpuvm_mem_info(0, NULL, &tot), -EINVAL);
	ck_assert_uint_eq(fr, 7);
	ck_assert_uint_eq(tot, 7);
}
END_TEST

START_TEST(async_free)
{
	enum { N = 2 * VMM_ASYNC_MARK_EVERY };
	gpuvm_ptr_t a, b, p[N];
	uint64_t before, records, creates;
	void *stream = NULL;	/* the legacy stream */
	int i, n;

	ck_assert_int_eq(gpuvm_alloc_async(0, 8 * MiB, stream, &a), 0);
	ck_assert_int_eq(gpuvm_free_async(a, stream), 0);
	/* same stream: reused at once, without waiting or synchronizing */
	before = calls(GPUVM_DRV_CTX_SYNCHRONIZE) + calls(GPUVM_DRV_EVENT_SYNCHRONIZE) +
		 calls(GPUVM_DRV_EVENT_QUERY);
	ck_assert_int_eq(gpuvm_alloc_async(0, 8 * MiB, stream, &b), 0);
	ck_assert_uint_eq(b, a);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE) + calls(GPUVM_DRV_EVENT_SYNCHRONIZE) +
			  calls(GPUVM_DRV_EVENT_QUERY), before);
	ck_assert_int_eq(gpuvm_free(b), 0);

	/*
	 * One event per VMM_ASYNC_MARK_EVERY frees on a stream, not one each.
	 * Free until one is recorded (within that many, whatever the stream's
	 * count was); of the next VMM_ASYNC_MARK_EVERY frees only the last
	 * records one, and it covers every free before it on the stream.
	 */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &p[i]), 0);
	records = calls(GPUVM_DRV_EVENT_RECORD);
	for (n = 0; n < N && calls(GPUVM_DRV_EVENT_RECORD) == records; n++)
		ck_assert_int_eq(gpuvm_free_async(p[n], stream), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_EVENT_RECORD) - records, 1);
	ck_assert_int_le(n, VMM_ASYNC_MARK_EVERY);
	for (i = 0; i < VMM_ASYNC_MARK_EVERY; i++) {
		ck_assert_uint_eq(calls(GPUVM_DRV_EVENT_RECORD) - records, 1);
		ck_assert_int_eq(gpuvm_free_async(p[n + i], stream), 0);
	}
	ck_assert_uint_eq(calls(GPUVM_DRV_EVENT_RECORD) - records, 2);
	n += VMM_ASYNC_MARK_EVERY;
	/*
	 * Another user: all n come back through one query (of the newest
	 * event), with no context synchronization and no new memory.
	 */
	before = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
	records = calls(GPUVM_DRV_EVENT_QUERY);
	creates = calls(GPUVM_DRV_MEM_CREATE);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &p[i]), 0);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), before);
	ck_assert_uint_eq(calls(GPUVM_DRV_EVENT_QUERY) - records, 1);
	ck_assert_uint_eq(calls(GPUVM_DRV_MEM_CREATE), creates);
	ck_assert(consistent(0));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
}
END_TEST

/*
 * A free on a stream after its last event is not reused by others until
 * something covers it: a later event on that stream (taken over when the
 * range holding it is reused on the stream) or a synchronization.
 */
START_TEST(async_free_unmarked)
{
	gpuvm_ptr_t a, b, c;
	void *stream = NULL;
	uint64_t before;

	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &b), 0);
	ck_assert_int_eq(gpuvm_free_async(a, stream), 0);	/* marked: a new stream */
	ck_assert_int_eq(gpuvm_free_async(b, stream), 0);	/* not marked */
	/* the stream takes its newest free back; a keeps its event */
	ck_assert_int_eq(gpuvm_alloc_async(0, 8 * MiB, stream, &c), 0);
	ck_assert_uint_eq(c, b);
	before = calls(GPUVM_DRV_CTX_SYNCHRONIZE);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &b), 0);
	ck_assert_uint_eq(b, a);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), before);
	/* unmarked and alone: only a synchronization covers it */
	ck_assert_int_eq(gpuvm_free_async(c, stream), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 8 * MiB, 0, &a), 0);
	ck_assert_uint_eq(a, c);
	ck_assert_uint_eq(calls(GPUVM_DRV_CTX_SYNCHRONIZE), before + 1);
	ck_assert(consistent(0));
	ck_assert_int_eq(gpuvm_free(a), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
}
END_TEST

START_TEST(policy_live)
{
	uint64_t v;
	gpuvm_ptr_t p;
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;

	ck_assert_int_eq(gpuvm_stats(0, &st), 0);	/* set up: live values */
	ck_assert_int_eq(gpuvm_policy_get(0, "chunk_size", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "chunk_size", 3 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_set(0, "chunk_size", 2 * GPUVM_MAX_DEVICES * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	ck_assert_uint_eq(info.size, 32 * MiB);
	ck_assert_uint_eq(info.nr_chunks, 1);
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(gpuvm_policy_set(0, "va_factor", 2), -EACCES);	/* init only */
	ck_assert_int_eq(gpuvm_policy_set(0, "va_factor", 200), -ERANGE);
	ck_assert_int_eq(gpuvm_policy_set(0, "nope", 1), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_set(9, "limit", 1), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_set_str(0, "placement", "first-fit\n"), 0);
	ck_assert_int_eq(gpuvm_policy_get(0, "placement", &v), 0);
	ck_assert_uint_eq(v, VMM_PLACE_FIRST_FIT);
	ck_assert_int_eq(gpuvm_policy_set_str(0, "placement", "worst"), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_get(0, "placement", &v), 0);
	ck_assert_uint_eq(v, VMM_PLACE_FIRST_FIT);
	ck_assert_int_eq(gpuvm_policy_set_str(-1, "free_batch", "16"), 0);
	ck_assert_int_eq(gpuvm_policy_get(-1, "free_batch", &v), 0);
	ck_assert_uint_eq(v, 16);
	ck_assert_int_eq(gpuvm_policy_get(0, "free_batch", &v), 0);
	ck_assert_uint_eq(v, 16);
	ck_assert_int_eq(gpuvm_policy_set(-1, "va_factor", 8), 0);	/* later devices */
	ck_assert_int_eq(gpuvm_policy_get(-1, "va_factor", &v), 0);
	ck_assert_uint_eq(v, 8);
	ck_assert_int_eq(gpuvm_policy_get(0, "va_factor", &v), 0);
	ck_assert_uint_eq(v, 4);
	ck_assert_int_eq(gpuvm_policy_get(0, NULL, &v), -EINVAL);
}
END_TEST

START_TEST(stats_fragmentation)
{
	struct gpuvm_stats st;
	gpuvm_ptr_t p[8];
	int i;

	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert(st.frag_internal == 0.0 && st.frag_external == 0.0 && st.frag_peak == 0.0);
	ck_assert_uint_gt(st.reserved_va, 0);
	ck_assert_uint_gt(st.device_total, 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, GPUVM_ALLOC_LARGE, &p[i]), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.requested, 24 * MiB);
	ck_assert_uint_eq(st.allocated, 32 * MiB);
	ck_assert_uint_eq(st.mapped, 32 * MiB);
	ck_assert(st.frag_internal > 0.24 && st.frag_internal < 0.26);
	ck_assert_uint_eq(st.live_allocs, 8);
	ck_assert_uint_eq(st.alloc_calls, 8);
	for (i = 0; i < 8; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.cached, 16 * MiB);
	/* stitching makes all free chunks one mappable run */
	ck_assert_uint_eq(st.largest_free_run, 16 * MiB);
	ck_assert(st.frag_external == 0.0);
	ck_assert_int_eq(gpuvm_policy_set(0, "stitch", 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.largest_free_run, 4 * MiB);
	ck_assert(st.frag_external > 0.74 && st.frag_external < 0.76);
	ck_assert(st.frag_peak > 0.24 && st.frag_peak < 0.26);
	ck_assert_uint_eq(st.peak_requested, 24 * MiB);
	for (i = 1; i < 8; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
}
END_TEST

/*
 * Memory shared with cuIpcGetMemHandle is never handed out again once
 * freed: opened here (the same process may), it keeps the exporter's
 * bytes however much is allocated and written after the free and a sync.
 * Large allocations retire their chunks, small objects seal their slab.
 */
START_TEST(ipc_shared_never_reused)
{
	static const uint64_t size[2] = { 6 * MiB, 12 * 1024 };
	unsigned char handle[GPUVM_IPC_HANDLE_SIZE], again[GPUVM_IPC_HANDLE_SIZE];
	gpuvm_ptr_t p, alias, base, q[96];
	struct gpuvm_stats st;
	uint64_t unmaps;
	int i, k, n;

	/* a sync at the first want of memory: without the sealing and the
	 * retirement the freed memory would be what the next requests get */
	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(gpuvm_alloc(0, size[i], 0, &p), 0);
		ck_assert_int_eq(tl_fill(p, size[i], 500 + i), 0);
		ck_assert_int_eq(gpuvm_ipc_get_handle(p + 100, handle, &base), 0);
		ck_assert_uint_eq(base, p);
		ck_assert_int_eq(gpuvm_ipc_get_handle(p, again, NULL), 0);
		ck_assert_mem_eq(handle, again, sizeof(handle));
		ck_assert(gpuvm_ipc_is_handle(handle));
		ck_assert_int_eq(gpuvm_ipc_open_handle(handle, 0, 0, &alias), 0);
		ck_assert_uint_ne(alias, p);
		ck_assert(tl_verify(alias, size[i], 500 + i));
		/* a free unmaps nothing: queued work may still use it */
		unmaps = calls(GPUVM_DRV_MEM_UNMAP);
		ck_assert_int_eq(gpuvm_free(p), 0);
		ck_assert_uint_eq(calls(GPUVM_DRV_MEM_UNMAP), unmaps);
		n = i ? 96 : 4;
		for (k = 0; k < n; k++) {
			ck_assert_int_eq(gpuvm_alloc(0, size[i], 0, &q[k]), 0);
			ck_assert_int_eq(tl_fill(q[k], size[i], 600 + k), 0);
		}
		ck_assert(tl_verify(alias, size[i], 500 + i));
		/* a freed allocation's handle opens nothing */
		ck_assert_int_eq(gpuvm_ipc_open_handle(handle, 0, 0, &base), -EINVAL);
		ck_assert_int_eq(gpuvm_ipc_close_handle(alias), 0);
		ck_assert_int_eq(gpuvm_ipc_close_handle(alias), -EINVAL);
		for (k = 0; k < n; k++)
			ck_assert_int_eq(gpuvm_free(q[k]), 0);
	}
	/* freed in stream order: not reused on that stream either */
	ck_assert_int_eq(gpuvm_alloc(0, size[0], 0, &p), 0);
	ck_assert_int_eq(tl_fill(p, size[0], 700), 0);
	ck_assert_int_eq(gpuvm_ipc_get_handle(p, handle, NULL), 0);
	ck_assert_int_eq(gpuvm_ipc_open_handle(handle, 0, 0, &alias), 0);
	ck_assert_int_eq(gpuvm_free_async(p, NULL), 0);
	ck_assert_int_eq(gpuvm_alloc_async(0, size[0], NULL, &q[0]), 0);
	ck_assert_int_eq(tl_fill(q[0], size[0], 701), 0);
	ck_assert(tl_verify(alias, size[0], 700));
	ck_assert_int_eq(gpuvm_ipc_close_handle(alias), 0);
	ck_assert_int_eq(gpuvm_free(q[0]), 0);

	/* a forged handle, bad flags, a pointer gpuvm did not hand out */
	handle[40] ^= 1;
	ck_assert_int_eq(gpuvm_ipc_open_handle(handle, 0, 0, &base), -EINVAL);
	ck_assert_int_eq(gpuvm_ipc_open_handle(handle, 2, 0, &base), -EINVAL);
	memset(again, 0, sizeof(again));
	ck_assert(!gpuvm_ipc_is_handle(again));
	ck_assert_int_eq(gpuvm_ipc_open_handle(again, 0, 0, &base), -ENOENT);
	ck_assert_int_eq(gpuvm_ipc_get_handle(12345, handle, NULL), -ENOENT);
	ck_assert_int_gt(gpuvm_reclaim(-1, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	ck_assert(consistent(0));
}
END_TEST

/*
 * A shared allocation that began in a live donor's room: once it is freed
 * its room is not lent again, so the next request of its size does not get
 * the bytes an importer still sees.
 */
START_TEST(ipc_shared_tail_not_relent)
{
	unsigned char h[GPUVM_IPC_HANDLE_SIZE];
	gpuvm_ptr_t a, b, c, alias;

	ck_assert_int_eq(gpuvm_policy_set(-1, "free_batch", 1), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &a), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &b), 0);
	ck_assert_uint_eq(b % (2 * MiB), MiB);	/* it began in a donor's room */
	ck_assert_int_eq(tl_fill(b, 5 * MiB / 2, 7), 0);
	ck_assert_int_eq(gpuvm_ipc_get_handle(b, h, NULL), 0);
	ck_assert_int_eq(gpuvm_ipc_open_handle(h, 0, 0, &alias), 0);
	ck_assert_int_eq(gpuvm_free(b), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &c), 0);
	ck_assert_int_eq(tl_fill(c, 5 * MiB / 2, 8), 0);
	ck_assert(tl_verify(alias, 5 * MiB / 2, 7));
	ck_assert_int_eq(gpuvm_ipc_close_handle(alias), 0);
	ck_assert_int_eq(gpuvm_free(c), 0);
	ck_assert_int_eq(gpuvm_free(a), 0);
}
END_TEST

/* A shared growable allocation shrunk: its tail chunks are not reused. */
START_TEST(ipc_shared_shrink)
{
	unsigned char h[GPUVM_IPC_HANDLE_SIZE];
	gpuvm_ptr_t g, q, alias;

	ck_assert_int_eq(gpuvm_alloc_growable(0, 16 * MiB, 8 * MiB, &g), 0);
	ck_assert_int_eq(tl_fill(g, 8 * MiB, 9), 0);
	ck_assert_int_eq(gpuvm_ipc_get_handle(g, h, NULL), 0);
	ck_assert_int_eq(gpuvm_ipc_open_handle(h, 0, 0, &alias), 0);
	ck_assert_int_eq(gpuvm_resize(g, 2 * MiB), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &q), 0);
	ck_assert_int_eq(tl_fill(q, 6 * MiB, 10), 0);
	ck_assert(tl_verify(alias, 8 * MiB, 9));
	ck_assert_int_eq(gpuvm_ipc_close_handle(alias), 0);
	ck_assert_int_eq(gpuvm_free(q), 0);
	ck_assert_int_eq(gpuvm_free(g), 0);
}
END_TEST

/* A peer that connects and sends its request while the exporter shuts down. */
static void *ipc_slow_peer(void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[40] = { 1 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)arg;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d.ipc", getenv("GPUVM_RUNDIR"),
		 getpid());
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		usleep(300000);
		if (send(fd, req, sizeof(req), MSG_NOSIGNAL) < 0)
			perror("send");
		usleep(1000000);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The shutdown (as at exit) does not wait for a peer forever: it ends. */
START_TEST(ipc_shutdown_with_peer)
{
	unsigned char h[GPUVM_IPC_HANDLE_SIZE];
	pthread_t th;
	gpuvm_ptr_t p;

	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_ipc_get_handle(p, h, NULL), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, ipc_slow_peer, NULL), 0);
	usleep(100000);
	gpuvm_shutdown();	/* hung here, the server waiting for ipc.lock */
	pthread_join(th, NULL);
	ck_assert_int_eq(gpuvm_init(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_alloc");
	TCase *tc = tcase_create("alloc");

	if (!tl_suite_start())
		return 77;
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, basic);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, hit_zero_calls);
	tcase_add_test(tc, hit_cached_run);
	tcase_add_test(tc, stitch_counts);
	tcase_add_test(tc, steal_pools_spares);
	tcase_add_test(tc, grow_in_place);
	tcase_add_test(tc, grow_tail_taken);
	tcase_add_loop_test(tc, grow_fail, 0, 4);
	tcase_add_test(tc, integrity);
	tcase_add_test(tc, growable);
	tcase_add_test(tc, limit);
	tcase_add_test(tc, watermarks);
	tcase_add_test(tc, reclaim);
	tcase_add_test(tc, unmap_batched);
	tcase_add_test(tc, creates_batched);
	tcase_add_test(tc, creates_batched_limit);
	tcase_add_test(tc, trim_kept_allocation);
	tcase_add_test(tc, creates_offset_refused);
	tcase_add_test(tc, ipc_shared_never_reused);
	tcase_add_test(tc, ipc_shared_tail_not_relent);
	tcase_add_test(tc, ipc_shared_shrink);
	tcase_add_test(tc, ipc_shutdown_with_peer);
	tcase_add_loop_test(tc, map_undo_retries, 0, 3);
	tcase_add_test(tc, small_objects);
	tcase_add_test(tc, small_classes_share_chunks);
	tcase_add_test(tc, page_runs_share_chunks);
	tcase_add_test(tc, page_runs_any_length);
	tcase_add_test(tc, slab_sizing);
	tcase_add_test(tc, chunk_slabs);
	tcase_add_test(tc, growth_reuses_deferred);
	tcase_add_test(tc, mem_info);
	tcase_add_test(tc, async_free);
	tcase_add_test(tc, async_free_unmarked);
	tcase_add_loop_test(tc, tail_share, 0, 2);
	tcase_add_test(tc, tail_share_chain);
	tcase_add_test(tc, tail_share_reuse);
	tcase_add_test(tc, tail_share_exempt);
	tcase_add_test(tc, policy_live);
	tcase_add_test(tc, stats_fragmentation);
	suite_add_tcase(s, tc);
	tc = tcase_create("contiguous");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup_contiguous, teardown);
	tcase_add_test(tc, fragmentation);
	suite_add_tcase(s, tc);
	return check_run(s);
}
