// SPDX-License-Identifier: MIT
/*
 * test_vmm_fault.c - every driver call on the manager's paths fails in turn
 * (cudasim's fault injection, "name:N"): each API call returns 0 or a clean
 * -errno, the page table stays consistent, memory that was handed out keeps
 * its data, and at exit CUDASIM_LEAKCHECK=1 finds nothing outstanding.
 * The warning about a failed call names the driver's error.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/internal.h"
#include "testlib.h"
#include "../check_run.h"

#define MiB (1ull << 20)

static const char *const calls[] = {
	"cuMemCreate", "cuMemMap", "cuMemSetAccess", "cuMemUnmap", "cuMemRelease",
	"cuCtxSynchronize", "cuEventCreate", "cuEventRecord", "cuEventQuery",
	"cuEventDestroy", "cuMemAddressReserve", "cuMemAddressFree",
	"cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease",
	"cuMemGetAllocationGranularity", "cuDeviceTotalMem", "cuCtxSetCurrent",
};
#define NR_CALLS	(int)(sizeof(calls) / sizeof(calls[0]))
#define NR_NTH		4

static bool consistent(void)
{
	struct vmm_device *d = &vmm.dev[0];
	bool ok;

	if (!d->ready)
		return true;
	vmm_lock(d);
	ok = __pt_check(d);
	vmm_unlock(d);
	return ok;
}

static void check_ret(const char *what, long ret)
{
	ck_assert_msg(ret == 0 || ret == -ENOMEM || ret == -EIO || ret == -EINVAL ||
		      ret == -ENODEV, "%s returned %ld", what, ret);
	ck_assert_msg(consistent(), "inconsistent after %s (%ld)", what, ret);
}

struct held {
	gpuvm_ptr_t p;
	uint64_t size;
	uint32_t seed;
};

static void hold(struct held *h, const char *what, int ret, gpuvm_ptr_t p, uint64_t size,
		 uint32_t seed)
{
	check_ret(what, ret);
	if (ret)
		return;
	h->p = p;
	h->size = size;
	h->seed = seed;
	ck_assert_int_eq(tl_fill(p, size, seed), 0);
}

static void drop(struct held *h, bool async)
{
	if (!h->p)
		return;
	ck_assert_msg(tl_verify(h->p, h->size, h->seed), "data lost at 0x%llx",
		      (unsigned long long)h->p);
	check_ret("free", async ? gpuvm_free_async(h->p, NULL) : gpuvm_free(h->p));
	h->p = 0;
}

START_TEST(fail_each)
{
	const char *name = calls[_i / NR_NTH];
	int nth = _i % NR_NTH + 1;
	struct held a = { 0 }, b = { 0 }, c = { 0 }, x = { 0 }, s = { 0 }, g = { 0 };
	struct held dn = { 0 }, rc = { 0 };
	char spec[96];
	gpuvm_ptr_t p;
	int ret;

	if (!tl_open() || !tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fault injection\n");
		return;
	}
	ck_assert_int_eq(tl_use_device(0), 0);
	snprintf(spec, sizeof(spec), "%s:%d", name, nth);
	ck_assert_int_eq(tl_set_fail(spec), 0);

	ret = gpuvm_alloc(0, 6 * MiB, 0, &p);
	hold(&a, "alloc a", ret, p, 6 * MiB, 1);
	ret = gpuvm_alloc(0, 4 * MiB, 0, &p);
	hold(&b, "alloc b", ret, p, 4 * MiB, 2);
	ret = gpuvm_alloc(0, 1000, 0, &p);
	hold(&s, "alloc small", ret, p, 1000, 3);
	/* a recipient of the donor's last chunk; freed, it gives the chunk up at reclaim */
	ret = gpuvm_alloc(0, 3 * MiB, 0, &p);
	hold(&dn, "alloc donor", ret, p, 3 * MiB, 10);
	ret = gpuvm_alloc(0, 5 * MiB / 2, 0, &p);
	hold(&rc, "alloc recipient", ret, p, 5 * MiB / 2, 11);
	drop(&a, false);
	ret = gpuvm_alloc(0, 6 * MiB, 0, &p);
	hold(&c, "alloc c (reuse)", ret, p, 6 * MiB, 4);
	drop(&b, false);
	ret = gpuvm_alloc(0, 16 * MiB, GPUVM_ALLOC_NOCACHE, &p);
	hold(&x, "alloc x (stitch)", ret, p, 16 * MiB, 5);
	ret = gpuvm_alloc_growable(0, 32 * MiB, 4 * MiB, &p);
	hold(&g, "growable", ret, p, 4 * MiB, 6);
	if (g.p) {
		check_ret("grow", gpuvm_resize(g.p, 20 * MiB));
		ck_assert(tl_verify(g.p, 4 * MiB, 6));
		check_ret("shrink", gpuvm_resize(g.p, 2 * MiB));
		g.size = 2 * MiB;
		ck_assert(tl_verify(g.p, 2 * MiB, 6));
	}
	drop(&c, true);
	ret = gpuvm_alloc_async(0, 6 * MiB, NULL, &p);
	hold(&c, "alloc async", ret, p, 6 * MiB, 7);
	drop(&c, true);
	ret = gpuvm_alloc(0, 6 * MiB, 0, &p);
	hold(&c, "alloc after async", ret, p, 6 * MiB, 8);
	drop(&x, false);
	drop(&rc, false);
	check_ret("reclaim", gpuvm_reclaim(0, 0) < 0 ? -EIO : 0);
	ck_assert(!dn.p || tl_verify(dn.p, dn.size, dn.seed));

	/* the fault is gone: everything works and goes back */
	ck_assert_int_eq(tl_set_fail(""), 0);
	ret = gpuvm_alloc(0, 8 * MiB, 0, &p);
	ck_assert_int_eq(ret, 0);
	hold(&a, "alloc again", ret, p, 8 * MiB, 9);
	drop(&a, false);
	drop(&c, false);
	drop(&s, false);
	drop(&g, false);
	drop(&dn, false);
	ck_assert(consistent());
	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	tl_close();
}
END_TEST

/* The exit-time teardown survives one failure of each call it makes. */
static const char *const teardown_calls[] = {
	"cuCtxSynchronize", "cuMemUnmap", "cuMemRelease", "cuMemAddressFree",
	"cuEventDestroy", "cuDevicePrimaryCtxRelease",
};

START_TEST(fail_teardown)
{
	gpuvm_ptr_t p[4], donor, recipient;
	char spec[96];
	int i;

	if (!tl_open() || !tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fault injection\n");
		return;
	}
	ck_assert_int_eq(tl_use_device(0), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(gpuvm_alloc(0, (i + 1) * 1000 * 1000, 0, &p[i]), 0);
	ck_assert_int_eq(gpuvm_free_async(p[3], NULL), 0);
	ck_assert_int_eq(gpuvm_free(p[0]), 0);
	/* a shared chunk: the donor live, the recipient freed and deferred */
	ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, 0, &donor), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 5 * MiB / 2, 0, &recipient), 0);
	ck_assert_uint_eq(recipient % (2 * MiB), MiB);
	ck_assert_int_eq(gpuvm_free(recipient), 0);
	tl_close();
	snprintf(spec, sizeof(spec), "%s:1", teardown_calls[_i]);
	ck_assert_int_eq(tl_set_fail(spec), 0);
	gpuvm_shutdown();
	ck_assert_int_eq(tl_set_fail(""), 0);
}
END_TEST

/* stderr goes to a temporary file until stderr_end() returns what it got */
static int stderr_begin(FILE **tmp)
{
	int saved;

	fflush(stderr);
	*tmp = tmpfile();
	ck_assert_ptr_nonnull(*tmp);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(*tmp), STDERR_FILENO), 0);
	return saved;
}

static void stderr_end(int saved, FILE *tmp, char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	fputs(buf, stderr);	/* still in the log */
}

/*
 * A refused cuMemRelease is reported with the driver's name and words for
 * the CUresult (cudasim's cuGetErrorName and cuGetErrorString), not as
 * the errno it became; a code the driver cannot name, by its number.  The
 * chunk stays in the pool and goes back later.
 */
static const struct {
	const char *spec;
	const char *says;
} release_fails[] = {
	/* CUDA_ERROR_INVALID_VALUE, which gpuvm returns as -EINVAL */
	{ "cuMemRelease:1=1", "failed: CUDA_ERROR_INVALID_VALUE (invalid argument); kept" },
	{ "cuMemRelease:1", "failed: CUDA_ERROR_UNKNOWN (unknown error); kept" },
	{ "cuMemRelease:1=4242", "failed: CUresult 4242; kept" },
};

START_TEST(warn_names_driver_error)
{
	struct gpuvm_stats st;
	char out[4096];
	gpuvm_ptr_t p;
	FILE *tmp;
	int saved;

	if (!tl_open() || !tl_is_cudasim()) {
		fprintf(stderr, "SKIP: needs cudasim's fault injection\n");
		return;
	}
	ck_assert_int_eq(tl_use_device(0), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 2 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_int_eq(tl_set_fail(release_fails[_i].spec), 0);
	saved = stderr_begin(&tmp);
	gpuvm_reclaim(0, 0);
	stderr_end(saved, tmp, out, sizeof(out));
	ck_assert_int_eq(tl_set_fail(""), 0);

	ck_assert_msg(strstr(out, "cuMemRelease of chunk"), "no warning: '%s'", out);
	ck_assert_msg(strstr(out, release_fails[_i].says), "%s: not '%s': '%s'",
		      release_fails[_i].spec, release_fails[_i].says, out);
	ck_assert_msg(!strstr(out, "(-"), "an errno number: '%s'", out);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks_free, 1);

	ck_assert_int_ge(gpuvm_reclaim(0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.chunks, 0);
	tl_close();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("vmm_fault");
	TCase *tc = tcase_create("fault");

	if (!tl_suite_start())
		return 77;
	setenv("GPUVM_LOG", "warn", 0);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, fail_each, 0, NR_CALLS * NR_NTH);
	tcase_add_loop_test(tc, fail_teardown, 0,
			    (int)(sizeof(teardown_calls) / sizeof(teardown_calls[0])));
	tcase_add_loop_test(tc, warn_names_driver_error, 0,
			    (int)(sizeof(release_fails) / sizeof(release_fails[0])));
	suite_add_tcase(su, tc);
	return check_run(su);
}
