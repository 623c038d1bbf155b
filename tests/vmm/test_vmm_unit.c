// SPDX-License-Identifier: MIT
/*
 * test_vmm_unit.c - the manager's pure data structures and the knob schema,
 * no driver: the AVL tree, the VA arena (first and best fit, merging), the
 * size classes (waste bound) and knob parsing/formatting.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/internal.h"
#include "../check_run.h"

/* ---- tree ---- */

struct item {
	struct vtree_node node;
	int key;
	int sum;	/* augmented: sum of keys in the subtree */
};

static int cmp_item(const struct vtree_node *a, const struct vtree_node *b)
{
	int x = container_of(a, struct item, node)->key;
	int y = container_of(b, struct item, node)->key;

	return x < y ? -1 : x > y;
}

static void aug_sum(struct vtree_node *n)
{
	struct item *it = container_of(n, struct item, node);

	it->sum = it->key;
	if (n->left)
		it->sum += container_of(n->left, struct item, node)->sum;
	if (n->right)
		it->sum += container_of(n->right, struct item, node)->sum;
}

START_TEST(tree_random)
{
	struct vtree t = { .cmp = cmp_item, .augment = aug_sum };
	static struct item items[2000];
	static bool in[2000];
	int i, step, total = 0;

	srand(42);
	for (i = 0; i < 2000; i++)
		items[i].key = i;
	for (step = 0; step < 20000; step++) {
		i = rand() % 2000;
		if (in[i]) {
			vtree_erase(&t, &items[i].node);
			total -= i;
		} else {
			vtree_insert(&t, &items[i].node);
			total += i;
		}
		in[i] = !in[i];
		if (step % 997 == 0) {
			ck_assert(vtree_check(&t));
			ck_assert_int_eq(t.root ? container_of(t.root, struct item, node)->sum : 0,
					 total);
		}
	}
	ck_assert(vtree_check(&t));
	for (i = 0; i < 2000; i++) {
		struct item key = { .key = i };
		struct vtree_node *n = vtree_lower_bound(&t, &key.node);
		int j = i;

		while (j < 2000 && !in[j])
			j++;
		if (j == 2000)
			ck_assert_ptr_null(n);
		else
			ck_assert_int_eq(container_of(n, struct item, node)->key, j);
	}
}
END_TEST

/* ---- arena ---- */

#define G (2ull << 20)
#define BASE 0x10000000000ull

START_TEST(arena_fits_and_merges)
{
	struct vmm_arena a;
	uint64_t va[8], x;
	int i;

	arena_init(&a, BASE, 64 * G, G);
	ck_assert(arena_check(&a));
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(arena_alloc(&a, (i + 1) * G, VMM_PLACE_FIRST_FIT, &va[i]), 0);
		ck_assert(arena_check(&a));
	}
	ck_assert_uint_eq(va[0], BASE);
	ck_assert_uint_eq(va[1], BASE + G);
	ck_assert_uint_eq(a.free_bytes, 64 * G - 36 * G);
	/* holes of 2, 4 and 6 granules, and the 28-granule tail */
	arena_free(&a, va[1], 2 * G);
	arena_free(&a, va[3], 4 * G);
	arena_free(&a, va[5], 6 * G);
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 4);
	ck_assert_uint_eq(arena_largest_free(&a), 28 * G);
	/* first fit of 3 granules: the 4-granule hole (lowest that fits) */
	ck_assert_int_eq(arena_alloc(&a, 3 * G, VMM_PLACE_FIRST_FIT, &x), 0);
	ck_assert_uint_eq(x, va[3]);
	arena_free(&a, x, 3 * G);
	/* best fit of 5 granules: the 6-granule hole, not the lower 28 */
	ck_assert_int_eq(arena_alloc(&a, 5 * G, VMM_PLACE_BEST_FIT, &x), 0);
	ck_assert_uint_eq(x, va[5]);
	arena_free(&a, x, 5 * G);
	/* too large */
	ck_assert_int_eq(arena_alloc(&a, 29 * G, VMM_PLACE_BEST_FIT, &x), -ENOMEM);
	ck_assert_int_eq(arena_alloc(&a, G + 1, VMM_PLACE_BEST_FIT, &x), -EINVAL);
	/* free everything: one range again */
	arena_free(&a, va[0], G);
	arena_free(&a, va[2], 3 * G);
	arena_free(&a, va[4], 5 * G);
	arena_free(&a, va[6], 7 * G);
	arena_free(&a, va[7], 8 * G);
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 1);
	ck_assert_uint_eq(a.free_bytes, 64 * G);
	arena_destroy(&a);
}
END_TEST

/* Claiming a given range: only when all of it is free, nothing else. */
START_TEST(arena_claim_range)
{
	struct vmm_arena a;

	arena_init(&a, BASE, 64 * G, G);
	ck_assert_int_eq(arena_claim(&a, BASE + 4 * G, 2 * G), 0);	/* middle */
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 2);
	ck_assert_uint_eq(a.free_bytes, 62 * G);
	ck_assert_int_eq(arena_claim(&a, BASE + 4 * G, 2 * G), -EBUSY);
	ck_assert_int_eq(arena_claim(&a, BASE + 5 * G, 2 * G), -EBUSY);
	ck_assert_int_eq(arena_claim(&a, BASE + 3 * G, 2 * G), -EBUSY);
	ck_assert_int_eq(arena_claim(&a, BASE + 3 * G, G / 2), -EINVAL);
	ck_assert_int_eq(arena_claim(&a, BASE + 3 * G + 1, G), -EINVAL);
	ck_assert_int_eq(arena_claim(&a, BASE + 3 * G, 0), -EINVAL);
	ck_assert_int_eq(arena_claim(&a, BASE - G, G), -EINVAL);
	ck_assert_int_eq(arena_claim(&a, BASE + 63 * G, 2 * G), -EINVAL);
	ck_assert_int_eq(arena_claim(&a, BASE + 64 * G, G), -EINVAL);
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.free_bytes, 62 * G);
	ck_assert_int_eq(arena_claim(&a, BASE, 4 * G), 0);		/* a whole hole */
	ck_assert_uint_eq(a.nr_free, 1);
	ck_assert_int_eq(arena_claim(&a, BASE + 6 * G, G), 0);	/* a head */
	ck_assert_int_eq(arena_claim(&a, BASE + 63 * G, G), 0);	/* a tail */
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 1);
	ck_assert_uint_eq(arena_largest_free(&a), 56 * G);
	ck_assert_int_eq(arena_claim(&a, BASE + 7 * G, 56 * G), 0);	/* the rest */
	ck_assert_uint_eq(a.nr_free, 0);
	ck_assert_uint_eq(a.free_bytes, 0);
	ck_assert_int_eq(arena_claim(&a, BASE, G), -EBUSY);
	ck_assert(arena_check(&a));
	arena_free(&a, BASE + 7 * G, 56 * G);
	arena_free(&a, BASE, 4 * G);
	arena_free(&a, BASE + 63 * G, G);
	arena_free(&a, BASE + 4 * G, 3 * G);
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 1);
	ck_assert_uint_eq(a.free_bytes, 64 * G);
	arena_destroy(&a);
}
END_TEST

START_TEST(arena_churn)
{
	struct vmm_arena a;
	static uint64_t va[512], sz[512];
	int i, step;

	srand(7);
	arena_init(&a, BASE, 4096 * G, G);
	for (step = 0; step < 20000; step++) {
		i = rand() % 512;
		if (sz[i]) {
			arena_free(&a, va[i], sz[i]);
			sz[i] = 0;
		} else {
			uint64_t s = (1 + rand() % 8) * G;

			if (!arena_alloc(&a, s, step & 1, &va[i]))
				sz[i] = s;
		}
	}
	ck_assert(arena_check(&a));
	for (i = 0; i < 512; i++)
		if (sz[i])
			arena_free(&a, va[i], sz[i]);
	ck_assert(arena_check(&a));
	ck_assert_uint_eq(a.nr_free, 1);
	arena_destroy(&a);
}
END_TEST

/* ---- size classes ---- */

START_TEST(classes_waste)
{
	struct vmm_device *d = calloc(1, sizeof(*d));
	uint64_t s, prev = 0;
	uint32_t c;

	small_classes_init(d);
	for (c = 0; c < VMM_NR_CLASSES; c++) {
		ck_assert_uint_gt(d->cls[c].size, prev);
		ck_assert_uint_eq(d->cls[c].size % VMM_SMALL_MIN, 0);
		/* above 2 KiB a class is at most 1/8 larger than the previous */
		if (prev >= 2048)
			ck_assert_uint_le(d->cls[c].size - prev, d->cls[c].size / 8);
		prev = d->cls[c].size;
	}
	ck_assert_uint_eq(d->cls[VMM_NR_CLASSES - 1].size, 64u << 20);
	for (s = 1; s <= (64u << 20); s += s < 65536 ? 1 : s / 7 + 1) {
		uint64_t cs;

		c = small_class_of(s);
		ck_assert_uint_lt(c, VMM_NR_CLASSES);
		cs = d->cls[c].size;
		ck_assert_uint_ge(cs, s);
		ck_assert(c == 0 || d->cls[c - 1].size < s);	/* smallest that fits */
		if (s > 2048)
			ck_assert_uint_le(cs - s, cs / 8);
		else
			ck_assert_uint_lt(cs - s, VMM_SMALL_MIN);
	}
	free(d);
}
END_TEST

/* ---- knobs ---- */

static uint64_t parse_ok(const char *name, const char *text)
{
	uint64_t v = 12345;

	ck_assert_msg(gpuvm_knob_parse(gpuvm_knob_find(name), text, &v) == 0, "%s=%s", name, text);
	return v;
}

static int parse_err(const char *name, const char *text)
{
	uint64_t v = 12345;
	int ret = gpuvm_knob_parse(gpuvm_knob_find(name), text, &v);

	ck_assert_uint_eq(v, 12345);	/* untouched on error */
	return ret;
}

START_TEST(knob_parse)
{
	char longtext[80];

	ck_assert_uint_eq(parse_ok("limit", "0"), 0);
	ck_assert_uint_eq(parse_ok("limit", "4096\n"), 4096);
	ck_assert_uint_eq(parse_ok("limit", "4K"), 4096);
	ck_assert_uint_eq(parse_ok("limit", "2m"), 2u << 20);
	ck_assert_uint_eq(parse_ok("limit", "3G"), 3ull << 30);
	ck_assert_uint_eq(parse_ok("limit", "1T"), 1ull << 40);
	ck_assert_uint_eq(parse_ok("chunk_size", "4M"), 4u << 20);
	ck_assert_uint_eq(parse_ok("stitch", "off"), 0);
	ck_assert_uint_eq(parse_ok("stitch", "yes\n"), 1);
	ck_assert_uint_eq(parse_ok("placement", "first-fit"), 1);
	ck_assert_uint_eq(parse_ok("va_factor", "8"), 8);

	ck_assert_int_eq(parse_err("limit", ""), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "\n"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "abc"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "12abc"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "12MB"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "-1"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", " 1"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "1\n\n"), -EINVAL);
	ck_assert_int_eq(parse_err("limit", "99999999999999999999999"), -ERANGE);
	ck_assert_int_eq(parse_err("limit", "17179869184T"), -ERANGE);
	ck_assert_int_eq(parse_err("limit", "2P"), -EINVAL);
	ck_assert_int_eq(parse_err("small_max", "65M"), -ERANGE);
	ck_assert_int_eq(parse_err("va_factor", "0"), -ERANGE);
	ck_assert_int_eq(parse_err("va_factor", "65"), -ERANGE);
	ck_assert_int_eq(parse_err("va_factor", "4K"), -EINVAL);	/* no suffix on UINT */
	ck_assert_int_eq(parse_err("chunk_size", "1000"), -EINVAL);	/* not 64 KiB multiple */
	ck_assert_int_eq(parse_err("placement", "worst-fit"), -EINVAL);
	ck_assert_int_eq(parse_err("placement", "[best-fit] first-fit"), -EINVAL);
	ck_assert_int_eq(parse_err("stitch", "2"), -EINVAL);
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	ck_assert_int_eq(parse_err("limit", longtext), -EINVAL);
	ck_assert_ptr_null(gpuvm_knob_find("nope"));
	ck_assert_ptr_null(gpuvm_knob_find(NULL));
	ck_assert_int_eq(gpuvm_knob_parse(NULL, "1", &(uint64_t){ 0 }), -EINVAL);
}
END_TEST

START_TEST(knob_format_and_schema)
{
	const struct gpuvm_knob *k;
	char buf[64];
	int i, n;

	k = gpuvm_knob_find("placement");
	n = gpuvm_knob_format(k, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[best-fit] first-fit");
	ck_assert_int_eq(n, (int)strlen(buf));
	gpuvm_knob_format(k, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "best-fit [first-fit]");
	n = gpuvm_knob_format(k, 1, buf, 5);	/* truncated, length still whole */
	ck_assert_int_eq(n, 20);
	ck_assert_str_eq(buf, "best");
	gpuvm_knob_format(gpuvm_knob_find("limit"), 1ull << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1073741824");
	gpuvm_knob_format(gpuvm_knob_find("stitch"), 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1");

	ck_assert_int_ge(gpuvm_knob_count(), 11);
	ck_assert_ptr_null(gpuvm_knob_at(-1));
	ck_assert_ptr_null(gpuvm_knob_at(gpuvm_knob_count()));
	for (i = 0; i < gpuvm_knob_count(); i++) {
		k = gpuvm_knob_at(i);
		ck_assert_ptr_nonnull(k->name);
		ck_assert_ptr_nonnull(k->help);
		ck_assert_ptr_eq(gpuvm_knob_find(k->name), k);
		ck_assert_int_eq(gpuvm_knob_check(k, k->def), 0);
		/* every default formats and parses back to itself */
		gpuvm_knob_format(k, k->def, buf, sizeof(buf));
		if (k->type == GPUVM_KNOB_ENUM)
			snprintf(buf, sizeof(buf), "%s", k->choices[k->def]);
		ck_assert_uint_eq(parse_ok(k->name, buf), k->def);
	}
	for (i = 0; i < 11; i++)
		ck_assert_ptr_nonnull(gpuvm_knob_find((const char *[]){ "chunk_size", "limit",
			"pool_reserve", "high_watermark", "low_watermark", "small_max",
			"placement", "stitch", "trace", "va_factor", "free_batch" }[i]));
	ck_assert_int_eq(gpuvm_knob_check(gpuvm_knob_find("va_factor"), 100), -ERANGE);
	ck_assert_str_eq(gpuvm_driver_call_name(GPUVM_DRV_MEM_MAP), "cuMemMap");
	ck_assert_ptr_null(gpuvm_driver_call_name(GPUVM_DRV_NR));
}
END_TEST

START_TEST(knob_env_defaults)
{
	uint64_t v[VMM_KNOB_NR];

	setenv("GPUVM_CHUNK_SIZE", "4M", 1);
	setenv("GPUVM_LIMIT", "12abc", 1);		/* bad: default kept */
	setenv("GPUVM_PLACEMENT", "first-fit\n", 1);
	setenv("GPUVM_LOW_WATERMARK", "8M", 1);
	setenv("GPUVM_HIGH_WATERMARK", "4M", 1);	/* low > high: both default */
	policy_load_env(v);
	ck_assert_uint_eq(v[VMM_KNOB_CHUNK_SIZE], 4u << 20);
	ck_assert_uint_eq(v[VMM_KNOB_LIMIT], 0);
	ck_assert_uint_eq(v[VMM_KNOB_PLACEMENT], VMM_PLACE_FIRST_FIT);
	ck_assert_uint_eq(v[VMM_KNOB_LOW_WATERMARK], 0);
	ck_assert_uint_eq(v[VMM_KNOB_HIGH_WATERMARK], 0);
	ck_assert_uint_eq(v[VMM_KNOB_SMALL_MAX], 1u << 20);
}
END_TEST

START_TEST(knob_defaults_file)
{
	char dir[] = "/tmp/gpuvm-defaults-XXXXXX", path[64];
	uint64_t v[VMM_KNOB_NR];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/defaults", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("chunk_size=4194304\nlimit=12abc\nbogus=1\nno equals sign\n"
	      "placement=first-fit\nsmall_max=512K\n", f);
	fclose(f);
	setenv("GPUVM_RUNDIR", dir, 1);
	setenv("GPUVM_SMALL_MAX", "64K", 1);		/* the environment wins */
	policy_load_env(v);
	ck_assert_uint_eq(v[VMM_KNOB_CHUNK_SIZE], 4u << 20);
	ck_assert_uint_eq(v[VMM_KNOB_LIMIT], 0);	/* bad line skipped */
	ck_assert_uint_eq(v[VMM_KNOB_PLACEMENT], VMM_PLACE_FIRST_FIT);
	ck_assert_uint_eq(v[VMM_KNOB_SMALL_MAX], 64u << 10);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* The text of the file at @path. */
static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
}

/* The one writer and reader of <rundir>/defaults, as gpuvmfs uses them. */
START_TEST(knob_defaults_write)
{
	char dir[] = "/tmp/gpuvm-defaults-XXXXXX", path[64], victim[80], text[256];
	uint64_t v[VMM_KNOB_NR];
	bool set[VMM_KNOB_NR] = { false };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/defaults", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("limit=12abc\nbogus=1\nsmall_max=512K\nplacement=first-fit\n", f);
	fclose(f);
	ck_assert_int_eq(gpuvm_defaults_write(dir, gpuvm_knob_find("limit"), 1ull << 30), 0);
	ck_assert_int_eq(gpuvm_defaults_write(dir, gpuvm_knob_find("placement"),
					      VMM_PLACE_BEST_FIT), 0);
	slurp(path, text, sizeof(text));
	/* valid lines kept (as plain numbers, in schema order), broken and unknown gone */
	ck_assert_str_eq(text, "limit=1073741824\nsmall_max=524288\nplacement=best-fit\n");

	/* a bad value changes nothing */
	ck_assert_int_eq(gpuvm_defaults_write(dir, gpuvm_knob_find("small_max"), 65ull << 20),
			 -ERANGE);
	ck_assert_int_eq(gpuvm_defaults_write(dir, NULL, 1), -EINVAL);
	memset(v, 0xff, sizeof(v));
	ck_assert_int_eq(gpuvm_defaults_read(dir, v, set, true), 0);
	ck_assert(set[VMM_KNOB_LIMIT] && set[VMM_KNOB_PLACEMENT] && set[VMM_KNOB_SMALL_MAX]);
	ck_assert(!set[VMM_KNOB_CHUNK_SIZE]);
	ck_assert_uint_eq(v[VMM_KNOB_CHUNK_SIZE], UINT64_MAX);	/* left alone */
	ck_assert_uint_eq(v[VMM_KNOB_LIMIT], 1ull << 30);
	ck_assert_uint_eq(v[VMM_KNOB_SMALL_MAX], 512u << 10);
	ck_assert_int_eq(gpuvm_defaults_read(dir, NULL, NULL, true), -EINVAL);

	/* a link there reads as no file, and a write replaces it */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	f = fopen(victim, "w");
	ck_assert_ptr_nonnull(f);
	fputs("limit=4096\n", f);
	fclose(f);
	unlink(path);
	ck_assert_int_eq(symlink(victim, path), 0);
	memset(set, 0, sizeof(set));
	ck_assert_int_eq(gpuvm_defaults_read(dir, v, set, true), 0);
	ck_assert(!set[VMM_KNOB_LIMIT]);
	ck_assert_int_eq(gpuvm_defaults_write(dir, gpuvm_knob_find("limit"), 8192), 0);
	slurp(victim, text, sizeof(text));
	ck_assert_str_eq(text, "limit=4096\n");
	ck_assert_int_eq(gpuvm_defaults_read(dir, v, set, true), 0);
	ck_assert(set[VMM_KNOB_LIMIT]);
	ck_assert_uint_eq(v[VMM_KNOB_LIMIT], 8192);
	unlink(victim);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* starttime is field 22 whatever comm holds; a short text has none. */
START_TEST(stat_start_time)
{
	uint64_t v = 0;

	ck_assert_int_eq(gpuvm_stat_start_time("42 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 "
					       "14 15 16 17 18 123456789 20 21\n", &v), 0);
	ck_assert_uint_eq(v, 123456789);
	ck_assert_int_eq(gpuvm_stat_start_time("42 (x y) S 1 2 3", &v), -1);
	ck_assert_int_eq(gpuvm_stat_start_time("no parenthesis", &v), -1);
}
END_TEST

/* A thread that enters the gate and stays until told. */
static void *gate_holder(void *arg)
{
	volatile int *phase = arg;

	ck_assert(vmm_enter());
	__atomic_store_n(phase, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(phase, __ATOMIC_SEQ_CST) != 2)
		usleep(100);
	vmm_leave();
	return NULL;
}

static void *gate_pass(void *arg)
{
	(void)arg;
	ck_assert(vmm_enter());
	vmm_leave();
	return NULL;
}

/* The gate counts each thread's depth, turns callers back while closing,
 * and gives an exited thread's slot to the next one. */
START_TEST(gate_counts_and_closes)
{
	volatile int phase = 0;
	pthread_t t;
	int i;

	ck_assert_uint_eq(vmm_gate_inside(), 0);
	ck_assert(vmm_enter());
	ck_assert(vmm_enter());		/* nested */
	ck_assert_uint_eq(vmm_gate_inside(), 2);
	vmm_leave();
	vmm_leave();
	ck_assert_uint_eq(vmm_gate_inside(), 0);

	ck_assert_int_eq(pthread_create(&t, NULL, gate_holder, (void *)&phase), 0);
	while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) != 1)
		usleep(100);
	ck_assert_uint_eq(vmm_gate_inside(), 1);
	__atomic_store_n(&vmm.closing, true, __ATOMIC_SEQ_CST);
	ck_assert(!vmm_enter());	/* turned back, and not counted */
	ck_assert_uint_eq(vmm_gate_inside(), 1);
	__atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	ck_assert_uint_eq(vmm_gate_inside(), 0);
	__atomic_store_n(&vmm.closing, false, __ATOMIC_SEQ_CST);

	/* many short-lived threads reuse the slots of the ones gone */
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, gate_pass, NULL), 0);
		pthread_join(t, NULL);
	}
	ck_assert_uint_eq(vmm_gate_inside(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_unit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tree_random);
	tcase_add_test(tc, arena_fits_and_merges);
	tcase_add_test(tc, arena_churn);
	tcase_add_test(tc, arena_claim_range);
	tcase_add_test(tc, classes_waste);
	tcase_add_test(tc, knob_parse);
	tcase_add_test(tc, knob_format_and_schema);
	tcase_add_test(tc, knob_env_defaults);
	tcase_add_test(tc, knob_defaults_file);
	tcase_add_test(tc, knob_defaults_write);
	tcase_add_test(tc, gate_counts_and_closes);
	tcase_add_test(tc, stat_start_time);
	suite_add_tcase(s, tc);
	return check_run(s);
}
