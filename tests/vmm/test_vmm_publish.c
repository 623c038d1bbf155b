// SPDX-License-Identifier: MIT
/*
 * test_vmm_publish.c - the writer side of the segment ABI: <pid>.state and
 * <pid>.ctl appear in the run directory with the right modes, hold what
 * the ABI says (header, device block, page table, allocation table, live
 * knobs), control requests are applied and validated, stale files of dead
 * processes are removed, and both files go at shutdown.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/internal.h"
#include "testlib.h"
#include "../check_run.h"

#define MiB (1ull << 20)

static char rundir[4096];

static void path_of(char *buf, size_t len, int pid, const char *suffix)
{
	snprintf(buf, len, "%s/%d%s", rundir, pid, suffix);
}

static void *map_file(const char *path, int prot, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = mmap(NULL, st.st_size, prot, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(p, MAP_FAILED);
	*len = st.st_size;
	return p;
}

static void setup(void)
{
	const char *build = getenv("GPUVM_BUILD");

	snprintf(rundir, sizeof(rundir), "%s/gpuvm-publish-XXXXXX", build ? build : "/tmp");
	if (build) {
		char tests[4200];

		snprintf(tests, sizeof(tests), "%s/tests", build);
		mkdir(tests, 0755);
		snprintf(rundir, sizeof(rundir), "%s/tests/gpuvm-publish-XXXXXX", build);
	}
	ck_assert_ptr_nonnull(mkdtemp(rundir));
	strcat(rundir, "/run");		/* missing: gpuvm creates it */
	setenv("GPUVM_RUNDIR", rundir, 1);
	if (!tl_open()) {
		fprintf(stderr, "SKIP: no CUDA driver\n");
		exit(77);
	}
}

static void teardown(void)
{
	char *slash;

	gpuvm_shutdown();
	rmdir(rundir);		/* empty once both segments are gone */
	slash = strrchr(rundir, '/');
	*slash = '\0';
	rmdir(rundir);
}

START_TEST(state_segment)
{
	char path[4200], stale[4200], stale_ctl[4200];
	const struct gpuvm_seg_device *blk;
	const struct gpuvm_seg_header *h;
	const struct gpuvm_seg_alloc *a;
	const struct gpuvm_seg_pte *pte;
	struct gpuvm_alloc_info info;
	struct stat st;
	gpuvm_ptr_t p, s;
	size_t len;
	uint32_t i, found = 0;
	int fd;

	/* a dead process's leftovers */
	ck_assert_int_eq(mkdir(rundir, 0700), 0);
	snprintf(stale, sizeof(stale), "%s/999999999.state", rundir);
	snprintf(stale_ctl, sizeof(stale_ctl), "%s/999999999.ctl", rundir);
	fd = open(stale, O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open(stale_ctl, O_CREAT | O_WRONLY, 0600);
	close(fd);

	ck_assert_int_eq(gpuvm_alloc(0, 6 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_alloc(0, 300, 0, &s), 0);
	ck_assert_int_ne(access(stale, F_OK), 0);
	ck_assert_int_ne(access(stale_ctl, F_OK), 0);

	path_of(path, sizeof(path), getpid(), GPUVM_STATE_SUFFIX);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_uid, getuid());
	path_of(path, sizeof(path), getpid(), GPUVM_CTL_SUFFIX);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	path_of(path, sizeof(path), getpid(), GPUVM_STATE_SUFFIX);
	h = map_file(path, PROT_READ, &len);
	ck_assert_uint_eq(h->magic, GPUVM_STATE_MAGIC);
	ck_assert_uint_eq(h->version_major, GPUVM_SEG_VERSION_MAJOR);
	ck_assert_uint_eq(h->header_size, sizeof(*h));
	ck_assert_uint_eq(h->pte_size, sizeof(struct gpuvm_seg_pte));
	ck_assert_uint_eq(h->alloc_size, sizeof(struct gpuvm_seg_alloc));
	ck_assert_int_eq(h->pid, getpid());
	ck_assert_uint_eq(h->uid, getuid());
	ck_assert_uint_gt(h->start_time, 0);
	ck_assert_uint_le(h->segment_size, len);
	ck_assert_uint_ge(h->nr_devices, 1);
	ck_assert_uint_gt(h->device_offset[0], 0);
	if (tl_is_cudasim()) {
		ck_assert_str_eq(h->driver, "cudasim");
		ck_assert_uint_eq(h->flags & GPUVM_SEG_F_SIMULATED, GPUVM_SEG_F_SIMULATED);
	}
	blk = (const void *)((const char *)h + h->device_offset[0]);
	ck_assert_uint_eq(blk->seq % 2, 0);
	ck_assert_int_eq(blk->ordinal, 0);
	ck_assert_uint_eq(blk->arena_size / blk->granularity, blk->pt_entries);
	ck_assert_uint_le(blk->pt_offset + blk->pt_entries * sizeof(*pte), len);
	ck_assert_uint_le(blk->alloc_offset + blk->alloc_capacity * sizeof(*a), len);
	ck_assert_uint_eq(blk->stats.requested, 6 * MiB + 300);
	ck_assert_uint_eq(blk->stats.live_allocs, 2);
	ck_assert_uint_ge(blk->stats.driver_calls[GPUVM_DRV_MEM_MAP], 3);
	ck_assert_uint_eq(blk->nr_knobs, VMM_KNOB_NR);
	ck_assert_str_eq(blk->knobs[VMM_KNOB_SMALL_MAX].name, "small_max");
	ck_assert_uint_eq(blk->knobs[VMM_KNOB_SMALL_MAX].value, MiB);

	ck_assert_int_eq(gpuvm_query(p, &info), 0);
	pte = (const void *)((const char *)h + blk->pt_offset);
	pte += (p - blk->arena_base) / blk->granularity;
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(pte[i].state, GPUVM_PTE_MAPPED);
		ck_assert_uint_eq(pte[i].owner, info.id);
		ck_assert_uint_ne(pte[i].chunk, GPUVM_NO_CHUNK);
		ck_assert_uint_eq(pte[i].access, GPUVM_PTE_ACCESS_READ | GPUVM_PTE_ACCESS_WRITE);
	}
	a = (const void *)((const char *)h + blk->alloc_offset);
	for (i = 0; i < blk->alloc_capacity; i++) {
		if (!(a[i].flags & GPUVM_SEG_ALLOC_LIVE))
			continue;
		found++;
		if (a[i].base == p) {
			ck_assert_uint_eq(a[i].id, info.id);
			ck_assert_uint_eq(a[i].size, 6 * MiB);
			ck_assert_uint_eq(a[i].nr_chunks, 3);
		} else {
			ck_assert_uint_eq(a[i].base, s);
			ck_assert_uint_eq(a[i].requested, 300);
			ck_assert_uint_eq(a[i].flags & GPUVM_SEG_ALLOC_SMALL, GPUVM_SEG_ALLOC_SMALL);
		}
	}
	ck_assert_uint_eq(found, 2);
	ck_assert_int_eq(gpuvm_free(p), 0);
	ck_assert_uint_eq(pte[0].state, GPUVM_PTE_CACHED);
	ck_assert_uint_eq(pte[0].owner, 0);
	ck_assert_int_eq(gpuvm_free(s), 0);
	ck_assert_uint_eq(blk->stats.live_allocs, 0);
	munmap((void *)h, len);

	gpuvm_shutdown();
	path_of(path, sizeof(path), getpid(), GPUVM_STATE_SUFFIX);
	ck_assert_int_ne(access(path, F_OK), 0);
	path_of(path, sizeof(path), getpid(), GPUVM_CTL_SUFFIX);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(stat(rundir, &st), 0);
}
END_TEST

/* Write one request the way the daemon does, wait until it is applied. */
static int request(struct gpuvm_ctl_header *ctl, const struct gpuvm_seg_header *h,
		   const char *name, int dev, uint64_t value)
{
	uint32_t gen = ctl->generation + 1;
	struct gpuvm_ctl_request *r = &ctl->requests[gen % GPUVM_CTL_MAX_REQUESTS];
	int waited;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->device = dev;
	r->value = value;
	r->generation = gen;
	__atomic_store_n(&ctl->generation, gen, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ctl->generation, FUTEX_WAKE, 1, NULL, NULL, 0);
	for (waited = 0; waited < 5000; waited++) {
		if (__atomic_load_n(&h->ctl_applied, __ATOMIC_ACQUIRE) == gen)
			return h->ctl_error;
		usleep(1000);
	}
	ck_abort_msg("request %s not applied", name);
	return 0;
}

START_TEST(control_requests)
{
	const struct gpuvm_seg_header *h;
	struct gpuvm_ctl_header *ctl;
	struct gpuvm_stats st;
	char path[4200];
	size_t hlen, clen;
	gpuvm_ptr_t p;
	uint64_t v;

	ck_assert_int_eq(gpuvm_alloc(0, 4 * MiB, 0, &p), 0);
	ck_assert_int_eq(gpuvm_free(p), 0);
	path_of(path, sizeof(path), getpid(), GPUVM_STATE_SUFFIX);
	h = map_file(path, PROT_READ, &hlen);
	path_of(path, sizeof(path), getpid(), GPUVM_CTL_SUFFIX);
	ctl = map_file(path, PROT_READ | PROT_WRITE, &clen);
	ck_assert_uint_eq(ctl->magic, GPUVM_CTL_MAGIC);
	ck_assert_uint_eq(ctl->header_size, sizeof(*ctl));

	ck_assert_int_eq(request(ctl, h, "limit", 0, 64 * MiB), 0);
	ck_assert_int_eq(gpuvm_policy_get(0, "limit", &v), 0);
	ck_assert_uint_eq(v, 64 * MiB);
	ck_assert_int_eq(request(ctl, h, "placement", -1, 1), 0);
	ck_assert_int_eq(gpuvm_policy_get(-1, "placement", &v), 0);
	ck_assert_uint_eq(v, 1);
	/* hostile or bad requests: rejected, nothing changes */
	ck_assert_int_eq(request(ctl, h, "limit", 0, 1ull << 62), -ERANGE);
	ck_assert_int_eq(request(ctl, h, "no_such_knob", 0, 1), -EINVAL);
	ck_assert_int_eq(request(ctl, h, "limit", 42, 1), -EINVAL);
	ck_assert_int_eq(request(ctl, h, "placement", 0, 7), -ERANGE);
	ck_assert_int_eq(request(ctl, h, "low_watermark", 0, 8 * MiB), 0);
	ck_assert_int_eq(request(ctl, h, "high_watermark", 0, 4 * MiB), -EINVAL);
	ck_assert_int_eq(gpuvm_policy_get(0, "limit", &v), 0);
	ck_assert_uint_eq(v, 64 * MiB);
	ck_assert_int_eq(gpuvm_policy_get(0, "placement", &v), 0);
	ck_assert_uint_eq(v, 1);
	/* reclaim through the segment */
	ck_assert_int_eq(request(ctl, h, "reclaim", 0, 0), 0);
	ck_assert_int_eq(gpuvm_stats(0, &st), 0);
	ck_assert_uint_eq(st.physical, 0);
	munmap((void *)h, hlen);
	munmap(ctl, clen);
}
END_TEST

/* The published stats of device 0 in our own segment. */
static const struct gpuvm_seg_stats *published(const struct gpuvm_seg_header **h, size_t *len)
{
	const struct gpuvm_seg_device *blk;
	char path[4200];

	path_of(path, sizeof(path), getpid(), GPUVM_STATE_SUFFIX);
	*h = map_file(path, PROT_READ, len);
	blk = (const void *)((const char *)*h + (*h)->device_offset[0]);
	return &blk->stats;
}

/*
 * largest_free_run is published with cached on every change, not only when
 * someone calls gpuvm_stats(): a reader of the segment (gpuvmfs, the gpuvm
 * command) computes frag_external from two figures of the same moment.
 */
START_TEST(free_run_published)
{
	const struct gpuvm_seg_header *h;
	const struct gpuvm_seg_stats *st;
	struct gpuvm_stats gs;
	struct vmm_device *d;
	gpuvm_ptr_t p[8];
	size_t len;
	int i, err;

	for (i = 0; i < 8; i++)
		ck_assert_int_eq(gpuvm_alloc(0, 3 * MiB, GPUVM_ALLOC_LARGE, &p[i]), 0);
	st = published(&h, &len);
	ck_assert_uint_eq(st->cached, 0);
	ck_assert_uint_eq(st->largest_free_run, 0);
	for (i = 0; i < 8; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	/* with stitching every free chunk is one run: frag_external 0 */
	ck_assert_uint_eq(st->cached, 16 * MiB);
	ck_assert_uint_eq(st->largest_free_run, 16 * MiB);
	ck_assert_uint_eq(st->chunks_free, 8);
	/* without, the largest freed range: 1 - 4/16 */
	ck_assert_int_eq(gpuvm_policy_set(0, "stitch", 0), 0);
	ck_assert_uint_eq(st->largest_free_run, 4 * MiB);
	ck_assert_int_eq(gpuvm_stats(0, &gs), 0);
	ck_assert_uint_eq(gs.largest_free_run, st->largest_free_run);
	ck_assert(gs.frag_external > 0.74 && gs.frag_external < 0.76);
	ck_assert_int_eq(gpuvm_policy_set(0, "stitch", 1), 0);
	ck_assert_uint_eq(st->largest_free_run, 16 * MiB);

	/* cached ranges of an earlier chunk size are reused whole, not stitched */
	d = vmm_device_get(0, &err);
	ck_assert_ptr_nonnull(d);
	vmm_lock(d);
	ck_assert_int_eq(__dev_sync(d), 0);
	vmm_unlock(d);
	ck_assert_int_eq(gpuvm_policy_set(0, "chunk_size", 4 * MiB), 0);
	ck_assert_uint_eq(st->cached, 16 * MiB);
	ck_assert_uint_eq(st->largest_free_run, 4 * MiB);
	ck_assert_int_eq(gpuvm_policy_set(0, "chunk_size", 2 * MiB), 0);
	ck_assert_uint_eq(st->largest_free_run, 16 * MiB);
	for (i = 1; i < 8; i += 2)
		ck_assert_int_eq(gpuvm_free(p[i]), 0);
	ck_assert_uint_eq(st->cached, 32 * MiB);
	ck_assert_uint_eq(st->largest_free_run, 32 * MiB);
	ck_assert_int_eq(gpuvm_stats(0, &gs), 0);
	ck_assert_uint_eq(gs.largest_free_run, 32 * MiB);
	ck_assert(gs.frag_external == 0.0);
	munmap((void *)h, len);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_publish");
	TCase *tc = tcase_create("publish");

#ifndef CONFIG_GPUVM_PUBLISH
	printf("SKIP: built with CONFIG_GPUVM_PUBLISH=n\n");
	return 77;
#endif
	if (!tl_available()) {
		printf("SKIP: no CUDA driver (libcuda.so.1)\n");
		return 77;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_segment);
	tcase_add_test(tc, control_requests);
	tcase_add_test(tc, free_run_published);
	suite_add_tcase(s, tc);
	return check_run(s);
}
