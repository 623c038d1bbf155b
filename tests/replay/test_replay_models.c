// SPDX-License-Identifier: MIT
/*
 * test_replay_models.c - the allocator models and the engine, against
 * expectations computed by hand from each model's documented rules.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "../check_run.h"

static struct replay_model m;
static struct replay_policy pol;

static void model_start(const struct replay_model_ops *ops, uint64_t capacity)
{
	memset(&m, 0, sizeof(m));
	m.ops = ops;
	m.capacity = capacity;
	m.nr_ids = 64;
	replay_policy_default(&pol);
	ck_assert_int_eq(ops->init(&m, &pol), 0);
}

static void model_start_pol(const struct replay_model_ops *ops, uint64_t capacity)
{
	memset(&m, 0, sizeof(m));
	m.ops = ops;
	m.capacity = capacity;
	m.nr_ids = 64;
	ck_assert_int_eq(ops->init(&m, &pol), 0);
}

static void model_end(void)
{
	m.ops->fini(&m);
}

/* ---- first-fit ---------------------------------------------------------- */

START_TEST(test_firstfit_holes)
{
	model_start(&replay_firstfit_ops, 8 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 3 * MiB, 0), 0);	/* [0, 3M) */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 1 * MiB, 0), 0);	/* [3M, 4M) */
	ck_assert_uint_eq(m.held, 4 * MiB);			/* pages 0, 1 */
	m.ops->free(&m, 0);					/* hole [0, 3M) */
	ck_assert_uint_eq(m.held, 2 * MiB);			/* page 1 only */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 4 * MiB, 0), 0);	/* [4M, 8M) */
	/* 4 MiB free in all, but no run of 3.5 MiB: contiguous first-fit fails */
	ck_assert_int_eq(m.ops->alloc(&m, 3, 3 * MiB + MiB / 2, 0), -ENOMEM);
	ck_assert_int_eq(m.ops->alloc(&m, 3, 3 * MiB, 0), 0);	/* the hole, exactly */
	ck_assert_uint_eq(m.held, 8 * MiB);
	ck_assert_uint_eq(m.peak_held, 8 * MiB);
	/* create: id0 (pages 0,1), id2 (pages 2,3), id3 (page 0 again) */
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 3);
	ck_assert_uint_eq(m.bytes[REPLAY_CALL_CREATE], 10 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_UNMAP], 1);	/* page 0 on free(0) */
	m.ops->free(&m, 1);
	m.ops->free(&m, 2);
	m.ops->free(&m, 3);
	ck_assert_uint_eq(m.held, 0);
	/* everything coalesced back into one run */
	ck_assert_int_eq(m.ops->alloc(&m, 4, 8 * MiB, 0), 0);
	model_end();
}
END_TEST

START_TEST(test_firstfit_rounding_and_sharing)
{
	model_start(&replay_firstfit_ops, 4 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 1, 0), 0);		/* 512 B at 0 */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 513, 0), 0);	/* 1 KiB at 512 */
	ck_assert_uint_eq(m.held, 2 * MiB);			/* one shared page */
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 1);	/* only the first */
	/* 4 MiB - 1.5 KiB left: a 4 MiB request cannot fit */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 4 * MiB - 1024, 0), -ENOMEM);
	ck_assert_int_eq(m.ops->alloc(&m, 2, 4 * MiB - 1536, 0), 0);
	model_end();
}
END_TEST

/* ---- PyTorch caching ------------------------------------------------------ */

START_TEST(test_torch_small_pool)
{
	model_start(&replay_torch_caching_ops, 64 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 1000, 0), 0);	/* 1 KiB of a 2 MiB segment */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 1000, 0), 0);	/* split from it */
	ck_assert_uint_eq(m.held, 2 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 1);
	ck_assert_int_eq(m.ops->alloc(&m, 2, 1 * MiB, 0), 0);	/* still small: fits the rest */
	ck_assert_uint_eq(m.held, 2 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 3, 1 * MiB, 0), 0);	/* 2M - 2K - 1M left: new segment */
	ck_assert_uint_eq(m.held, 4 * MiB);
	m.ops->free(&m, 0);
	m.ops->free(&m, 1);
	m.ops->free(&m, 2);
	m.ops->free(&m, 3);
	ck_assert_uint_eq(m.held, 4 * MiB);	/* cached, never returned */
	model_end();
}
END_TEST

START_TEST(test_torch_large_pool)
{
	model_start(&replay_torch_caching_ops, 256 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 5 * MiB, 0), 0);	/* 20 MiB segment, split */
	ck_assert_uint_eq(m.held, 20 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 1, 12 * MiB, 0), 0);	/* best fit: the 15 MiB rest */
	ck_assert_uint_eq(m.held, 20 * MiB);
	/* rest is 3 MiB: a 2.5 MiB request fits; rest 0.5 MiB is not split off */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 5 * MiB / 2, 0), 0);
	ck_assert_uint_eq(m.held, 20 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 3, 11 * MiB + 1, 0), 0);	/* >= 10 MiB: 12 MiB segment */
	ck_assert_uint_eq(m.held, 32 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 2);
	/* freeing 0 and 1 merges [0, 17M) of segment one; a 16 MiB request reuses it */
	m.ops->free(&m, 0);
	m.ops->free(&m, 1);
	ck_assert_int_eq(m.ops->alloc(&m, 4, 16 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 32 * MiB);
	model_end();
}
END_TEST

START_TEST(test_torch_oom_release_retry)
{
	model_start(&replay_torch_caching_ops, 40 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 30 * MiB, 0), 0);
	m.ops->free(&m, 0);				/* 30 MiB cached */
	/* 36 MiB does not fit in the cache or beside it: release, retry */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 36 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 36 * MiB);
	ck_assert_uint_eq(m.peak_held, 36 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 2);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_RELEASE], 1);
	/* a segment in use is never released: this one fails */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 6 * MiB, 0), -ENOMEM);
	model_end();
}
END_TEST

START_TEST(test_torch_max_split_and_streams)
{
	replay_policy_default(&pol);
	pol.torch_max_split_size = 32 * MiB;
	model_start_pol(&replay_torch_caching_ops, 1 * GiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 40 * MiB, 0), 0);
	m.ops->free(&m, 0);
	/* below max_split_size: may not take the 40 MiB oversize block */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 8 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 60 * MiB);
	/* 38 MiB >= max_split: the 40 MiB block (less than 20 MiB larger), unsplit */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 38 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 60 * MiB);
	m.ops->free(&m, 2);
	/* another stream never reuses this stream's blocks */
	ck_assert_int_eq(m.ops->alloc(&m, 3, 38 * MiB, 7), 0);
	ck_assert_uint_eq(m.held, 98 * MiB);
	model_end();
}
END_TEST

/* ---- PyTorch expandable segments ----------------------------------------- */

START_TEST(test_expandable_grow)
{
	model_start(&replay_expandable_ops, 100 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 5 * MiB, 0), 0);	/* one 20 MiB page */
	ck_assert_uint_eq(m.held, 20 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 1, 10 * MiB, 0), 0);	/* from the 15 MiB rest */
	ck_assert_uint_eq(m.held, 20 * MiB);
	/* 5 MiB free at the end, 10 needed: one more page, block grows into it */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 10 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 40 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_CREATE], 2);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_MAP], 2);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_SET_ACCESS], 2);
	ck_assert_int_eq(m.ops->alloc(&m, 3, 100 * KiB, 0), 0);	/* small pool: 2 MiB page */
	ck_assert_uint_eq(m.held, 42 * MiB);
	/* a request of 60 MiB: 15 MiB free at the end + 3 pages = 75 > 60 */
	ck_assert_int_eq(m.ops->alloc(&m, 4, 60 * MiB, 0), -ENOMEM);	/* 42 + 60 > 100 */
	ck_assert_int_eq(m.ops->alloc(&m, 4, 55 * MiB, 0), 0);		/* 2 pages more */
	ck_assert_uint_eq(m.held, 82 * MiB);
	model_end();
}
END_TEST

START_TEST(test_expandable_release_on_oom)
{
	model_start(&replay_expandable_ops, 40 * MiB);
	ck_assert_int_eq(m.ops->alloc(&m, 0, 30 * MiB, 0), 0);	/* two pages */
	ck_assert_uint_eq(m.held, 40 * MiB);
	m.ops->free(&m, 0);
	ck_assert_uint_eq(m.held, 40 * MiB);			/* still mapped */
	/* a small request needs a 2 MiB page: unmap the free ones, retry */
	ck_assert_int_eq(m.ops->alloc(&m, 1, 100 * KiB, 0), 0);
	ck_assert_uint_eq(m.held, 2 * MiB);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_UNMAP], 2);
	ck_assert_uint_eq(m.calls[REPLAY_CALL_RELEASE], 2);
	/* the large segment maps its pages again on demand */
	ck_assert_int_eq(m.ops->alloc(&m, 2, 20 * MiB, 0), 0);
	ck_assert_uint_eq(m.held, 22 * MiB);
	model_end();
}
END_TEST

/* ---- engine ---------------------------------------------------------------- */

static void build(struct replay_trace *t, struct replay_ops *o)
{
	ck_assert_int_eq(replay_ops_build(t, -1, o), 0);
}

START_TEST(test_engine_resize_and_oom)
{
	struct replay_trace t;
	struct replay_ops o;
	struct replay_result r;

	replay_policy_default(&pol);
	replay_trace_init(&t, "test", 16 * MiB, 2 * MiB);
	replay_trace_add(&t, 1, GPUVM_EV_ALLOC, 0, 0, 0x1000, 4 * MiB, 4 * MiB);
	replay_trace_add(&t, 2, GPUVM_EV_RESIZE, 0, 0, 0x1000, 8 * MiB, 8 * MiB);
	replay_trace_add(&t, 3, GPUVM_EV_ALLOC, 0, 0, 0x9000, 10 * MiB, 10 * MiB);
	replay_trace_add(&t, 4, GPUVM_EV_FREE_REQUESTED, 0, 0, 0x1000, 0, 0);
	replay_trace_add(&t, 5, GPUVM_EV_FREE_COMPLETED, 0, 0, 0x1000, 0, 0);
	replay_trace_add(&t, 6, GPUVM_EV_FREE_REQUESTED, 0, 0, 0x9000, 0, 0);
	build(&t, &o);
	ck_assert_uint_eq(o.nr, 5);
	ck_assert_uint_eq(o.nr_chains, 2);
	ck_assert_uint_eq(o.nr_ids, 3);
	ck_assert(o.ops[0].growable);
	ck_assert_uint_eq(o.ops[0].max_size, 8 * MiB);
	ck_assert(!o.ops[2].growable);
	ck_assert_uint_eq(o.ignored, 0);

	ck_assert_int_eq(replay_run_model(&replay_firstfit_ops, &o, 16 * MiB, &pol, &r), 0);
	/* resize = new 8 MiB at [4M, 12M) then free [0, 4M): 12 MiB held at once */
	ck_assert_uint_eq(r.peak_requested, 8 * MiB);
	ck_assert_uint_eq(r.peak_held, 12 * MiB);
	/* 10 MiB: [0, 4M) and [12M, 16M) are free, no run of 10 */
	ck_assert_uint_eq(r.ooms, 1);
	ck_assert_int_eq(r.first_oom_rec, 2);
	ck_assert_uint_eq(r.first_oom_size, 10 * MiB);
	ck_assert_uint_eq(r.first_oom_live, 8 * MiB);
	ck_assert(replay_fragmentation(&r) > 0.33 && replay_fragmentation(&r) < 0.34);

	/* expandable: 4 MiB then 8 MiB in one segment; 10 MiB after: no OOM */
	ck_assert_int_eq(replay_run_model(&replay_expandable_ops, &o, 60 * MiB, &pol, &r), 0);
	ck_assert_uint_eq(r.ooms, 0);
	ck_assert_uint_eq(r.peak_requested, 18 * MiB);
	ck_assert_uint_eq(r.peak_held, 40 * MiB);
	replay_ops_release(&o);
	replay_trace_release(&t);
}
END_TEST

START_TEST(test_ops_unmatched)
{
	struct replay_trace t;
	struct replay_ops o;

	replay_trace_init(&t, "test", 16 * MiB, 2 * MiB);
	replay_trace_add(&t, 1, GPUVM_EV_FREE_REQUESTED, 0, 0, 0x1000, 0, 0);	/* unknown */
	replay_trace_add(&t, 2, GPUVM_EV_RESIZE, 0, 0, 0x1000, MiB, MiB);		/* unknown */
	replay_trace_add(&t, 3, GPUVM_EV_ALLOC, 1, 0, 0x2000, MiB, MiB);		/* device 1 */
	replay_trace_add(&t, 4, GPUVM_EV_ALLOC, 0, 0, 0x3000, 0, 0);		/* size 0 */
	replay_trace_add(&t, 5, GPUVM_EV_ALLOC, 0, 0, 0x4000, MiB, MiB);
	replay_trace_add(&t, 6, GPUVM_EV_ALLOC, 0, 0, 0x4000, MiB, MiB);		/* free lost */
	replay_trace_add(&t, 7, GPUVM_EV_CHUNK_CREATE, 0, 0, 0, 0, 2 * MiB);	/* internal */
	replay_trace_add(&t, 8, GPUVM_EV_FREE_COMPLETED, 0, 0, 0x4000, 0, 0);
	ck_assert_int_eq(replay_ops_build(&t, 0, &o), 0);
	ck_assert_uint_eq(o.ignored, 4);
	/* the trace has requests: the completion is not a free */
	ck_assert_uint_eq(o.nr, 3);	/* alloc, implicit free, alloc */
	ck_assert_int_eq(o.ops[1].kind, REPLAY_OP_FREE);
	replay_ops_release(&o);
	/* without any FREE_REQUESTED, completions close allocations */
	t.recs[0].event = GPUVM_EV_FREE_COMPLETED;
	ck_assert_int_eq(replay_ops_build(&t, 0, &o), 0);
	ck_assert_uint_eq(o.ignored, 3);
	ck_assert_uint_eq(o.nr, 4);	/* alloc, implicit free, alloc, free */
	ck_assert_int_eq(o.ops[3].kind, REPLAY_OP_FREE);
	replay_ops_release(&o);
	t.recs[0].event = GPUVM_EV_FREE_REQUESTED;
	/* device -1 picks the device of the first ALLOC: 1 */
	ck_assert_int_eq(replay_ops_build(&t, -1, &o), 0);
	ck_assert_int_eq(o.device, 1);
	ck_assert_uint_eq(o.nr, 1);
	replay_ops_release(&o);
	replay_trace_release(&t);
}
END_TEST

/* ---- costs ------------------------------------------------------------------ */

START_TEST(test_costs)
{
	struct replay_costs c;
	uint64_t calls[REPLAY_CALL_NR] = { 0 }, bytes[REPLAY_CALL_NR] = { 0 };
	char path[] = "/tmp/gpuvm-costs-XXXXXX";
	FILE *f;
	int fd;

	replay_costs_default(&c);
	calls[REPLAY_CALL_CREATE] = 1;
	bytes[REPLAY_CALL_CREATE] = 20 * MiB;		/* 10 units */
	calls[REPLAY_CALL_MAP] = 4;
	bytes[REPLAY_CALL_MAP] = 4 * KiB;		/* under 2 MiB: one unit per call */
	ck_assert(replay_costs_estimate_us(&c, calls, bytes) == 1900 + 4 * 1.5);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "# measured\ncreate 100 10\n\nmap 2 # comment\n");
	fclose(f);
	ck_assert_int_eq(replay_costs_load(&c, path), 0);
	ck_assert(replay_costs_estimate_us(&c, calls, bytes) == 10 + 1000 + 4 * 2);

	/* a bad file changes nothing */
	f = fopen(path, "w");
	fprintf(f, "create 5\nbogus 1\n");
	fclose(f);
	ck_assert_int_eq(replay_costs_load(&c, path), -EINVAL);
	ck_assert(c.per_2mib_us[REPLAY_CALL_CREATE] == 100);
	f = fopen(path, "w");
	fprintf(f, "map -1\n");
	fclose(f);
	ck_assert_int_eq(replay_costs_load(&c, path), -EINVAL);
	ck_assert_int_eq(replay_costs_load(&c, "/nonexistent/costs"), -ENOENT);
	unlink(path);
}
END_TEST

START_TEST(test_parse_size)
{
	uint64_t v;

	ck_assert_int_eq(replay_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(replay_parse_size("8G", &v), 0);
	ck_assert_uint_eq(v, 8 * GiB);
	ck_assert_int_eq(replay_parse_size("1.5GiB", &v), 0);
	ck_assert_uint_eq(v, 3 * GiB / 2);
	ck_assert_int_eq(replay_parse_size("512k", &v), 0);
	ck_assert_uint_eq(v, 512 * KiB);
	ck_assert_int_eq(replay_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(replay_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(replay_parse_size("12Q", &v), -EINVAL);
	ck_assert_int_eq(replay_parse_size("99999999999T", &v), -ERANGE);
}
END_TEST

/* ---- workloads ---------------------------------------------------------------- */

START_TEST(test_workloads)
{
	int i;

	for (i = 0; i < replay_nr_workloads; i++) {
		const struct replay_workload *w = &replay_workloads[i];
		struct replay_trace a, b, c;
		struct replay_ops o;
		struct replay_result r;

		ck_assert_ptr_eq(replay_workload_find(w->name), w);
		ck_assert_int_eq(replay_workload_generate(w, 42, &a), 0);
		ck_assert_int_eq(replay_workload_generate(w, 42, &b), 0);
		ck_assert_int_eq(replay_workload_generate(w, 43, &c), 0);
		ck_assert_uint_gt(a.nr, 100);
		ck_assert_uint_eq(a.nr, b.nr);
		ck_assert(!memcmp(a.recs, b.recs, a.nr * sizeof(*a.recs)));	/* deterministic */
		ck_assert(a.nr != c.nr || memcmp(a.recs, c.recs, a.nr * sizeof(*a.recs)));
		ck_assert_uint_eq(a.hdr.capacity, w->capacity);

		ck_assert_int_eq(replay_ops_build(&a, -1, &o), 0);
		ck_assert_uint_eq(o.ignored, 0);
		/* sized to fit: what is requested stays under capacity - 2 chunks */
		replay_policy_default(&pol);
		ck_assert_int_eq(replay_run_model(&replay_expandable_ops, &o, UINT64_MAX / 4,
						  &pol, &r), 0);
		ck_assert_uint_le(r.peak_requested, w->capacity - 4 * MiB);
		replay_ops_release(&o);
		replay_trace_release(&a);
		replay_trace_release(&b);
		replay_trace_release(&c);
	}
	ck_assert_ptr_null(replay_workload_find("nope"));
}
END_TEST

static Suite *models_suite(void)
{
	Suite *s = suite_create("replay-models");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_firstfit_holes);
	tcase_add_test(tc, test_firstfit_rounding_and_sharing);
	tcase_add_test(tc, test_torch_small_pool);
	tcase_add_test(tc, test_torch_large_pool);
	tcase_add_test(tc, test_torch_oom_release_retry);
	tcase_add_test(tc, test_torch_max_split_and_streams);
	tcase_add_test(tc, test_expandable_grow);
	tcase_add_test(tc, test_expandable_release_on_oom);
	tcase_add_test(tc, test_engine_resize_and_oom);
	tcase_add_test(tc, test_ops_unmatched);
	tcase_add_test(tc, test_costs);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_workloads);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(models_suite());
}
