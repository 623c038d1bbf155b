// SPDX-License-Identifier: MIT
/*
 * test_cudasim_alloc.c - how cudasim's cuMemAlloc takes physical memory:
 * 2 MiB pages anywhere (CUDASIM_ALLOC=paged, the default, as the driver)
 * or one contiguous first-fit hole (CUDASIM_ALLOC=contiguous).
 */
#include <stdbool.h>

#include "cudasim_test.h"

#define NR_FILL 64

static void alloc_mode(const char *mode)
{
	setenv("CUDASIM_ALLOC", mode, 1);
}

static size_t mem_free(void)
{
	size_t free_b, total;

	CK(cuMemGetInfo(&free_b, &total));
	return free_b;
}

static void fill_pattern(unsigned char *buf, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 12));
}

static void put(CUdeviceptr p, size_t n, unsigned int seed)
{
	unsigned char *buf = malloc(n);

	ck_assert_ptr_nonnull(buf);
	fill_pattern(buf, n, seed);
	CK(cuMemcpyHtoD(p, buf, n));
	free(buf);
}

/* Does [p, p + n) read back as put(p, n, seed) wrote it? */
static bool same(CUdeviceptr p, size_t n, unsigned int seed)
{
	unsigned char *want = malloc(n), *got = malloc(n);
	bool ok;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	fill_pattern(want, n, seed);
	CK(cuMemcpyDtoH(got, p, n));
	ok = !memcmp(want, got, n);
	free(want);
	free(got);
	return ok;
}

/* The largest block cuMemAlloc gives now, to 512 bytes. */
static size_t largest_block(size_t below)
{
	size_t lo = 0, hi = below + 512;
	CUdeviceptr p;

	while (hi - lo > 512) {
		size_t mid = (lo + (hi - lo) / 2) / 512 * 512;

		if (cuMemAlloc(&p, mid) == CUDA_SUCCESS) {
			CK(cuMemFree(p));
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/*
 * Fill a 32 MiB device with 3, 2, 1 and 4 MiB allocations in turn, each
 * with its own pattern, free every other one, then ask for all that is
 * free at once.  Returns whether that succeeded; checks the survivors.
 */
static bool fill_free_every_other(const char *mode, size_t *free_after, size_t *largest)
{
	static const size_t sizes[] = { 3 * MiB, 2 * MiB, 1 * MiB, 4 * MiB };
	CUdeviceptr p[NR_FILL], big, base;
	size_t n, i, bsize;
	CUresult res;
	bool served;

	alloc_mode(mode);
	sim_up("32M", NULL);
	for (n = 0; n < NR_FILL; n++) {
		res = cuMemAlloc(&p[n], sizes[n % 4]);
		if (res == CUDA_ERROR_OUT_OF_MEMORY)
			break;
		CK(res);
		put(p[n], sizes[n % 4], (unsigned int)n);
	}
	ck_assert_uint_lt(n, NR_FILL);
	for (i = 0; i < n; i += 2)
		CK(cuMemFree(p[i]));
	*free_after = mem_free();
	*largest = largest_block(*free_after);
	printf("%s: %zu allocations fit; every other one freed: %zu KiB free, "
	       "largest block %zu KiB\n", mode, n, *free_after >> 10, *largest >> 10);
	fflush(stdout);

	res = cuMemAlloc(&big, *free_after);
	served = res == CUDA_SUCCESS;
	if (served) {
		/* one range over pages from all over the device */
		bsize = *free_after;
		CK(cuMemGetAddressRange(&base, &bsize, big + *free_after - 1));
		ck_assert_uint_eq(base, big);
		ck_assert_uint_eq(bsize, *free_after);
		ck_assert_uint_eq(mem_free(), 0);
		put(big, *free_after, 1000);
		ck_assert(same(big, *free_after, 1000));
		CK(cuMemFree(big));
	} else {
		CKE(res, CUDA_ERROR_OUT_OF_MEMORY);
	}
	/* the survivors were not touched */
	for (i = 1; i < n; i += 2) {
		ck_assert(same(p[i], sizes[i % 4], (unsigned int)i));
		CK(cuMemFree(p[i]));
	}
	ck_assert_uint_eq(mem_free(), 32 * MiB);
	sim_down();
	return served;
}

START_TEST(test_paged_fill_free_every_other)
{
	size_t free_b, largest;

	ck_assert(fill_free_every_other("paged", &free_b, &largest));
	/*
	 * 3 and 4 MiB take 2 pages, 2 MiB one, two 1 MiB allocations share
	 * one: 11 allocations fit in 16 pages; freeing every other one frees
	 * 7 pages of their own and both shared pages (their allocations were
	 * all even), 9 with the page never used: no two runs adjacent.
	 */
	ck_assert_uint_eq(free_b, 18 * MiB);
	ck_assert_uint_eq(largest, free_b);
}
END_TEST

START_TEST(test_contiguous_fill_free_every_other)
{
	size_t free_b, largest;

	ck_assert(!fill_free_every_other("contiguous", &free_b, &largest));
	/* 1 MiB granules of 512 bytes each: holes of the freed sizes */
	ck_assert_uint_eq(free_b, 14 * MiB);
	ck_assert_uint_lt(largest, free_b);
	ck_assert_uint_le(largest, 3 * MiB);
}
END_TEST

/* A range whose pages are not adjacent reads back, page boundaries too. */
START_TEST(test_paged_data_across_pages)
{
	CUdeviceptr a, b, c, d, x, base;
	unsigned char buf[512], back[512];
	size_t size;
	int i;

	sim_up("16M", NULL);
	CK(cuMemAlloc(&a, GRAN));
	CK(cuMemAlloc(&b, GRAN));
	CK(cuMemAlloc(&c, GRAN));
	CK(cuMemAlloc(&d, GRAN));
	put(b, GRAN, 2);
	put(d, GRAN, 4);
	CK(cuMemFree(a));
	CK(cuMemFree(c));
	/* pages 0 and 2 free, 1 (b) and 3 (d) not: x is pages 0, 2 and 4 */
	CK(cuMemAlloc(&x, 5 * MiB - 512));
	ck_assert_uint_eq(x % GRAN, 0);
	CK(cuMemAlloc(&a, 6 * MiB));		/* pages 5 to 7 */
	ck_assert_uint_eq(mem_free(), 0);
	CK(cuMemGetAddressRange(&base, &size, x + 3 * MiB));
	ck_assert_uint_eq(base, x);
	ck_assert_uint_eq(size, 5 * MiB - 512);
	CK(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, x + 4 * MiB));
	ck_assert_uint_eq(base, x);
	CK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, x + 4 * MiB));
	ck_assert_uint_eq(size, 5 * MiB - 512);

	put(x, 5 * MiB - 512, 7);
	ck_assert(same(x, 5 * MiB - 512, 7));
	/* a piece across the first page boundary */
	memset(buf, 0x5a, sizeof(buf));
	CK(cuMemcpyHtoD(x + GRAN - 100, buf, sizeof(buf)));
	CK(cuMemcpyDtoH(back, x + GRAN - 100, sizeof(back)));
	ck_assert(!memcmp(buf, back, sizeof(buf)));
	/* a memset and a device-to-device copy over the whole range */
	CK(cuMemsetD32(x, 0xdeadbeef, (5 * MiB - 512) / 4));
	CK(cuMemcpyDtoH(back, x + 4 * MiB - 256, sizeof(back)));
	for (i = 0; i < (int)sizeof(back); i += 4)
		ck_assert_uint_eq(*(uint32_t *)(back + i), 0xdeadbeef);
	put(a, 5 * MiB - 512, 9);
	CK(cuMemcpyDtoD(x, a, 5 * MiB - 512));
	ck_assert(same(x, 5 * MiB - 512, 9));
	/* past the end of the allocation, even inside its last page: refused */
	CKE(cuMemcpyHtoD(x + 5 * MiB - 1024, buf, sizeof(buf) + 1), CUDA_ERROR_INVALID_VALUE);
	/* the pages between were not written */
	ck_assert(same(b, GRAN, 2));
	ck_assert(same(d, GRAN, 4));
	CK(cuMemFree(x));
	CK(cuMemFree(a));
	CK(cuMemFree(b));
	CK(cuMemFree(d));
	ck_assert_uint_eq(mem_free(), 16 * MiB);
	sim_down();
}
END_TEST

/* Sub-page allocations share 2 MiB pages, first fit over 512-byte granules. */
START_TEST(test_paged_subpages_share)
{
	CUdeviceptr p, q, r, s, t, base;
	size_t free0, size;
	char buf[512];

	sim_up("16M", NULL);
	free0 = mem_free();
	CK(cuMemAlloc(&p, 1000));
	ck_assert_uint_eq(p % GRAN, 0);
	ck_assert_uint_eq(mem_free(), free0 - GRAN);	/* a whole page */
	CK(cuMemAlloc(&q, 4096));
	ck_assert_uint_eq(q, p + 1024);			/* its neighbour */
	CK(cuMemAlloc(&r, MiB));
	ck_assert_uint_eq(r, q + 4096);
	ck_assert_uint_eq(mem_free(), free0 - GRAN);
	CK(cuMemGetAddressRange(&base, &size, q + 4000));
	ck_assert_uint_eq(base, q);
	ck_assert_uint_eq(size, 4096);
	/* neighbours, but a copy may not run from one into the next */
	memset(buf, 1, sizeof(buf));
	CKE(cuMemcpyHtoD(p + 900, buf, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemsetD8(q + 4000, 0, 200), CUDA_ERROR_INVALID_VALUE);
	/* 1 MiB no longer fits in the first page: a second one */
	CK(cuMemAlloc(&s, MiB));
	ck_assert_uint_eq(mem_free(), free0 - 2 * GRAN);
	ck_assert_uint_eq(s % GRAN, 0);
	/* a freed slot is reused, first fit */
	CK(cuMemFree(p));
	ck_assert_uint_eq(mem_free(), free0 - 2 * GRAN);
	CK(cuMemAlloc(&t, 512));
	ck_assert_uint_eq(t, p);
	CK(cuMemFree(t));
	/* a page goes back with its last allocation */
	CK(cuMemFree(q));
	ck_assert_uint_eq(mem_free(), free0 - 2 * GRAN);
	CK(cuMemFree(r));
	ck_assert_uint_eq(mem_free(), free0 - GRAN);
	CK(cuMemFree(s));
	ck_assert_uint_eq(mem_free(), free0);
	/* 2 MiB and more: whole pages of its own, the tail not shared */
	CK(cuMemAlloc(&p, GRAN + 512));
	ck_assert_uint_eq(mem_free(), free0 - 2 * GRAN);
	CK(cuMemAlloc(&q, 512));
	ck_assert_uint_eq(mem_free(), free0 - 3 * GRAN);
	CK(cuMemFree(q));
	CK(cuMemFree(p));
	ck_assert_uint_eq(mem_free(), free0);
	sim_down();
}
END_TEST

/* cuMemCreate and cuMemAlloc draw on one budget of pages. */
START_TEST(test_paged_budget_with_vmm)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h[8];
	struct cudasim_stats st;
	struct vrange v;
	CUdeviceptr p, q;
	int i;

	sim_up("16M", NULL);
	for (i = 0; i < 8; i++)
		CK(cuMemCreate(&h[i], GRAN, &prop, 0));
	CKE(cuMemAlloc(&p, 512), CUDA_ERROR_OUT_OF_MEMORY);
	for (i = 0; i < 8; i += 2)
		CK(cuMemRelease(h[i]));
	ck_assert_uint_eq(mem_free(), 8 * MiB);
	/* four single pages between handles: one cuMemAlloc over all four */
	CK(cuMemAlloc(&p, 8 * MiB));
	ck_assert_uint_eq(mem_free(), 0);
	CKE(cuMemCreate(&h[0], GRAN, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CKE(cuMemAlloc(&q, 512), CUDA_ERROR_OUT_OF_MEMORY);
	put(p, 8 * MiB, 3);
	CK(cuMemFree(p));
	for (i = 1; i < 8; i += 2)
		CK(cuMemRelease(h[i]));

	/* a shared page counts whole against cuMemCreate */
	CK(cuMemAlloc(&p, 512));
	CK(cuMemCreate(&h[0], 14 * MiB, &prop, 0));
	CKE(cuMemCreate(&h[1], GRAN, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemAlloc(&q, 4096));			/* room in its page */
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.bytes_used, 16 * MiB);
	ck_assert_uint_eq(st.bytes_alloc, 512 + 4096);
	CK(cuMemFree(q));
	CK(cuMemFree(p));
	CK(cuMemRelease(h[0]));

	/* mapped handles and paged allocations do not alias */
	CK(cuMemAlloc(&p, 3 * MiB));
	vrange_up(&v, 4 * MiB, 0);
	CK(cuMemAlloc(&q, 1000));
	put(p, 3 * MiB, 11);
	put(v.va, 4 * MiB, 12);
	put(q, 1000, 13);
	ck_assert(same(p, 3 * MiB, 11));
	ck_assert(same(v.va, 4 * MiB, 12));
	ck_assert(same(q, 1000, 13));
	ck_assert_uint_eq(mem_free(), 16 * MiB - 2 * GRAN - 4 * MiB - GRAN);
	vrange_down(&v);
	CK(cuMemFree(q));
	CK(cuMemFree(p));
	ck_assert_uint_eq(mem_free(), 16 * MiB);
	sim_down();
}
END_TEST

/* A fork child gets a copy of paged memory at the same addresses. */
START_TEST(test_paged_fork)
{
	CUdeviceptr p, q, x;
	int status;
	pid_t pid;

	sim_up("16M", NULL);
	CK(cuMemAlloc(&p, GRAN));
	CK(cuMemAlloc(&q, 4096));
	CK(cuMemAlloc(&x, GRAN));
	CK(cuMemFree(p));
	CK(cuMemAlloc(&p, 3 * MiB));			/* two runs around x */
	put(p, 3 * MiB, 1);
	put(q, 4096, 2);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		CUdeviceptr r;
		bool ok = same(p, 3 * MiB, 1) && same(q, 4096, 2);

		ok = ok && cuMemsetD8(p, 0x33, 3 * MiB) == CUDA_SUCCESS &&
		     cuMemsetD8(q, 0x44, 4096) == CUDA_SUCCESS &&
		     cuMemAlloc(&r, 512) == CUDA_SUCCESS && cuMemFree(r) == CUDA_SUCCESS;
		exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(same(p, 3 * MiB, 1));
	ck_assert(same(q, 4096, 2));
	CK(cuMemFree(p));
	CK(cuMemFree(q));
	CK(cuMemFree(x));
	sim_down();
}
END_TEST

static void child_all_freed(void)
{
	CUdeviceptr p[6];
	int i;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up("32M", NULL);
	for (i = 0; i < 6; i++)
		CK(cuMemAlloc(&p[i], (size_t)(i + 1) * 700 * 1024));
	for (i = 0; i < 6; i++)
		CK(cuMemFree(p[i]));
	sim_down();
}

static void child_leaks_one(void)
{
	CUdeviceptr p, q;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up("16M", NULL);
	CK(cuMemAlloc(&p, 4096));
	CK(cuMemAlloc(&q, 3 * MiB));
	CK(cuMemFree(q));
	sim_down();
}

START_TEST(test_paged_leakcheck)
{
	char err[4096];
	int st;

	st = run_child(child_all_freed, err, sizeof(err));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stderr: %s", err);
	ck_assert_ptr_null(strstr(err, "leak"));
	st = run_child(child_leaks_one, err, sizeof(err));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 66);
	ck_assert_ptr_nonnull(strstr(err, "cudasim: leak: allocation"));
	ck_assert_ptr_nonnull(strstr(err, "size 4096 device 0"));
}
END_TEST

static void child_bad_mode(void)
{
	CUdeviceptr p;
	size_t before;

	alloc_mode("pages");
	sim_up("16M", NULL);
	before = mem_free();
	CK(cuMemAlloc(&p, 1000));
	/* paged: a whole page */
	exit(mem_free() == before - GRAN && cuMemFree(p) == CUDA_SUCCESS ? 0 : 1);
}

START_TEST(test_alloc_mode_bad_value)
{
	char err[1024];
	int st = run_child(child_bad_mode, err, sizeof(err));

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stderr: %s", err);
	ck_assert_ptr_nonnull(strstr(err, "CUDASIM_ALLOC='pages'"));
	ck_assert_ptr_null(strchr(strchr(err, '\n') + 1, '\n'));	/* one line */
}
END_TEST

/* The contiguous mode counts 512-byte granules, as before. */
START_TEST(test_contiguous_granules)
{
	CUdeviceptr p, q;
	size_t free0;

	alloc_mode("contiguous");
	sim_up("16M", NULL);
	free0 = mem_free();
	CK(cuMemAlloc(&p, 1000));
	ck_assert_uint_eq(free0 - mem_free(), 1024);
	CK(cuMemAlloc(&q, GRAN + 512));
	ck_assert_uint_eq(free0 - mem_free(), 1024 + GRAN + 512);
	CK(cuMemFree(q));
	CK(cuMemFree(p));
	ck_assert_uint_eq(mem_free(), free0);
	sim_down();
}
END_TEST

static Suite *cudasim_alloc_suite(void)
{
	Suite *s = suite_create("cudasim-alloc");
	TCase *tc;

	tc = tcase_create("paged");
	tcase_add_test(tc, test_paged_fill_free_every_other);
	tcase_add_test(tc, test_paged_data_across_pages);
	tcase_add_test(tc, test_paged_subpages_share);
	tcase_add_test(tc, test_paged_budget_with_vmm);
	tcase_add_test(tc, test_paged_fork);
	tcase_add_test(tc, test_paged_leakcheck);
	tcase_add_test(tc, test_alloc_mode_bad_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("contiguous");
	tcase_add_test(tc, test_contiguous_fill_free_every_other);
	tcase_add_test(tc, test_contiguous_granules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cudasim_alloc_suite());
}
