// SPDX-License-Identifier: MIT
/*
 * test_replay_io.c - trace files (round trip, hostile and future files),
 * the RMM CSV importer and the commands' argument handling.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "../check_run.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/gpuvm-replay-io-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *tmp(const char *name)
{
	static char path[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

static const char *data(const char *name)
{
	static char path[512];
	const char *src = getenv("GPUVM_SRC");

	snprintf(path, sizeof(path), "%s/tests/replay/data/%s", src ? src : ".", name);
	return path;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

START_TEST(test_round_trip)
{
	struct replay_trace t, u;
	FILE *out;
	char *text = NULL;
	size_t len = 0;

	make_tmpdir();
	replay_trace_init(&t, "test", 8 * GiB, 2 * MiB);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(replay_trace_add(&t, i * 10, GPUVM_EV_ALLOC + i % 3, i % 2,
						  7, 0x1000 + i, i, i + 1), 0);
	ck_assert_int_eq(replay_trace_save(&t, tmp("a.trace")), 0);
	ck_assert_int_eq(replay_trace_load(tmp("a.trace"), &u), 0);
	ck_assert_uint_eq(u.nr, 3000);
	ck_assert_uint_eq(u.hdr.capacity, 8 * GiB);
	ck_assert_uint_eq(u.hdr.granularity, 2 * MiB);
	ck_assert_str_eq(u.hdr.source, "test");
	ck_assert(!memcmp(t.recs, u.recs, t.nr * sizeof(*t.recs)));

	out = open_memstream(&text, &len);
	ck_assert_int_eq(replay_trace_dump(&u, out), 0);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "# capacity: 8589934592\n"));
	ck_assert_ptr_nonnull(strstr(text, " free_requested "));
	ck_assert_ptr_nonnull(strstr(text, " free_completed "));
	free(text);
	replay_trace_release(&t);
	replay_trace_release(&u);
	remove_tmpdir();
}
END_TEST

/* A trace's source is anyone's text: dumped raw, an ESC drove the terminal. */
START_TEST(test_dump_escapes_source)
{
	struct replay_trace t;
	char *text = NULL, buf[8];
	size_t len = 0;
	FILE *out;

	replay_trace_init(&t, "a\x1b[2J\\b\n\x7f\xff", 0, 0);
	out = open_memstream(&text, &len);
	ck_assert_int_eq(replay_trace_dump(&t, out), 0);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(text, "# source: a\\x1b[2J\\\\b\\x0a\\x7f\\xff\n"));
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(text[i] == '\n' || (text[i] >= 0x20 && text[i] < 0x7f),
			      "raw byte 0x%02x in the dump", (unsigned char)text[i]);
	free(text);
	/* cut at a whole escape, never inside one */
	ck_assert_str_eq(replay_escape(buf, sizeof(buf), "ab\x1b\x1b"), "ab\\x1b");
	replay_trace_release(&t);
}
END_TEST

START_TEST(test_bad_files)
{
	struct gpuvm_trace_header h;
	struct replay_trace t;
	unsigned char buf[512];

	make_tmpdir();
	ck_assert_int_eq(replay_trace_load(tmp("missing"), &t), -ENOENT);
	ck_assert_uint_eq(t.nr, 0);

	write_bytes(tmp("empty"), "", 0);
	ck_assert_int_eq(replay_trace_load(tmp("empty"), &t), -EINVAL);

	write_bytes(tmp("junk"), "\x01\x02garbage\n", 10);
	ck_assert_int_eq(replay_trace_load(tmp("junk"), &t), -EINVAL);

	/* the magic, then nothing */
	replay_trace_init(&t, "x", 0, 0);
	h = t.hdr;
	write_bytes(tmp("short"), &h, 12);
	ck_assert_int_eq(replay_trace_load(tmp("short"), &t), -EINVAL);

	h.version = 99;
	write_bytes(tmp("version"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("version"), &t), -EINVAL);

	h.version = GPUVM_TRACE_VERSION;
	h.record_size = 8;		/* smaller than a record */
	write_bytes(tmp("recsize"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("recsize"), &t), -EINVAL);

	h.record_size = sizeof(struct gpuvm_trace_record);
	h.header_size = 1u << 30;	/* hostile */
	write_bytes(tmp("hdrsize"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("hdrsize"), &t), -EINVAL);

	h.header_size = sizeof(h);
	h.granularity = 3 * MiB;
	write_bytes(tmp("gran"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("gran"), &t), -EINVAL);
	remove_tmpdir();
	(void)buf;
}
END_TEST

/* A later minor revision appends fields: readers skip what they do not know. */
START_TEST(test_future_sizes_and_partial_tail)
{
	struct gpuvm_trace_header h;
	struct gpuvm_trace_record r = { .time_ns = 5, .event = GPUVM_EV_ALLOC,
					.addr = 0x1000, .requested = 64, .granted = 512 };
	struct replay_trace t;
	unsigned char buf[1024] = { 0 };
	size_t off;

	make_tmpdir();
	replay_trace_init(&t, "future", GiB, 2 * MiB);
	h = t.hdr;
	h.header_size = sizeof(h) + 16;
	h.record_size = sizeof(r) + 8;
	memcpy(buf, &h, sizeof(h));
	off = h.header_size;
	memcpy(buf + off, &r, sizeof(r));
	off += h.record_size;
	r.event = GPUVM_EV_FREE_REQUESTED;
	memcpy(buf + off, &r, sizeof(r));
	off += h.record_size;
	write_bytes(tmp("future"), buf, off + 20);	/* + a partial record */
	ck_assert_int_eq(replay_trace_load(tmp("future"), &t), 0);
	ck_assert_uint_eq(t.nr, 2);
	ck_assert_uint_eq(t.recs[0].event, GPUVM_EV_ALLOC);
	ck_assert_uint_eq(t.recs[0].granted, 512);
	ck_assert_uint_eq(t.recs[1].event, GPUVM_EV_FREE_REQUESTED);
	ck_assert_str_eq(t.hdr.source, "future");
	replay_trace_release(&t);
	remove_tmpdir();
}
END_TEST

START_TEST(test_rmm_csv)
{
	struct replay_trace t;
	struct replay_ops o;

	ck_assert_int_eq(replay_trace_load(data("rmm_sample.csv"), &t), 0);
	ck_assert_str_eq(t.hdr.source, "rmm-csv");
	ck_assert_uint_eq(t.hdr.capacity, 0);
	ck_assert_uint_eq(t.nr, 6);
	ck_assert_uint_eq(t.recs[0].time_ns, 0);
	ck_assert_uint_eq(t.recs[1].time_ns, 500000);
	ck_assert_uint_eq(t.recs[2].time_ns, 1250000);		/* past midnight */
	ck_assert_uint_eq(t.recs[1].event, GPUVM_EV_ALLOC);
	ck_assert_uint_eq(t.recs[1].addr, 0x7f3a2c001000ull);
	ck_assert_uint_eq(t.recs[1].requested, 10 * MiB);
	ck_assert_uint_eq(t.recs[2].event, GPUVM_EV_FREE_REQUESTED);
	ck_assert_uint_eq(t.recs[3].event, GPUVM_EV_OOM);
	ck_assert_uint_eq(t.recs[3].requested, 1ull << 40);
	ck_assert_uint_eq(t.recs[4].stream, 5);
	ck_assert_int_eq(replay_ops_build(&t, -1, &o), 0);
	ck_assert_uint_eq(o.nr, 5);
	ck_assert_uint_eq(o.nr_chains, 3);
	ck_assert_uint_eq(o.ignored, 0);
	replay_ops_release(&o);
	replay_trace_release(&t);

	ck_assert_int_eq(replay_trace_load(data("rmm_bad_action.csv"), &t), -EINVAL);
	ck_assert_uint_eq(t.nr, 0);
	ck_assert_int_eq(replay_trace_load(data("rmm_no_size.csv"), &t), -EINVAL);
	ck_assert_uint_eq(t.nr, 0);
}
END_TEST

static int run(int (*cmd)(int, char **), int argc, const char **argv)
{
	return cmd(argc, (char **)argv);
}

/*
 * Sizes near 2^64 wrapped the models' rounding to 0 (a heap overflow in
 * first-fit), and a header pointing past the end of the file read as an
 * empty trace: both are refused now, and the replay exits 1.
 */
START_TEST(test_hostile_sizes)
{
	struct gpuvm_trace_record r = { .event = GPUVM_EV_ALLOC, .addr = 0x1000,
					.requested = ~0ull, .granted = ~0ull };
	const char *rep[] = { "replay", NULL, "--no-gpuvm" };
	const char *capped[] = { "replay", NULL, "--no-gpuvm", "--capacity",
				 "18446744073709551615" };
	const char *csv_huge = "Thread,Time,Action,Pointer,Size,Stream\n"
			       "1,00:00:00:000001,allocate,0x1000,18446744073709551104,0\n";
	struct gpuvm_trace_header h;
	struct replay_trace t;
	unsigned char buf[1024] = { 0 };

	make_tmpdir();
	replay_trace_init(&t, "hostile", GiB, 2 * MiB);
	h = t.hdr;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &r, sizeof(r));
	write_bytes(tmp("huge"), buf, sizeof(h) + sizeof(r));
	ck_assert_int_eq(replay_trace_load(tmp("huge"), &t), -EINVAL);
	ck_assert_uint_eq(t.nr, 0);
	rep[1] = tmp("huge");
	ck_assert_int_eq(run(replay_cmd_replay, 3, rep), 1);

	/* the largest size a trace may name still replays */
	r.requested = r.granted = REPLAY_MAX_BYTES;
	memcpy(buf + sizeof(h), &r, sizeof(r));
	write_bytes(tmp("max"), buf, sizeof(h) + sizeof(r));
	rep[1] = tmp("max");
	ck_assert_int_eq(run(replay_cmd_replay, 3, rep), 0);

	write_bytes(tmp("huge.csv"), csv_huge, strlen(csv_huge));
	ck_assert_int_eq(replay_trace_load(tmp("huge.csv"), &t), -EINVAL);
	capped[1] = tmp("huge.csv");
	ck_assert_int_eq(run(replay_cmd_replay, 5, capped), 2);	/* bad usage */
	capped[4] = "1G";
	ck_assert_int_eq(run(replay_cmd_replay, 5, capped), 1);

	h.capacity = ~0ull;
	write_bytes(tmp("capacity"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("capacity"), &t), -EINVAL);

	/* header_size past the end of the file: a truncated header */
	h.capacity = GiB;
	h.header_size = 4000;
	write_bytes(tmp("hdrlie"), &h, sizeof(h));
	ck_assert_int_eq(replay_trace_load(tmp("hdrlie"), &t), -EINVAL);

	/* record_size past the end of the file: not one whole record */
	h.header_size = sizeof(h);
	h.record_size = 4000;
	r.requested = r.granted = 4096;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &r, sizeof(r));
	write_bytes(tmp("reclie"), buf, sizeof(h) + sizeof(r));
	ck_assert_int_eq(replay_trace_load(tmp("reclie"), &t), -EINVAL);
	remove_tmpdir();
}
END_TEST

START_TEST(test_commands)
{
	const char *wl[] = { "workload", "classic", "--out", NULL, "--seed", "7" };
	const char *dump[] = { "trace", "dump", NULL };
	const char *conv[] = { "trace", "convert", NULL, NULL, "--capacity", "1G" };
	const char *rep[] = { "replay", NULL, "--no-gpuvm", "--policy",
			      "torch.max_split_size=64M", "--costs", NULL };
	const char *bad1[] = { "replay" };
	const char *bad2[] = { "replay", NULL, "--capacity", "lots" };
	const char *bad3[] = { "replay", NULL, "--frobnicate" };
	const char *bad4[] = { "replay", NULL, "--policy", "torch.bogus=1" };
	const char *bad5[] = { "replay", NULL, "--policy", "noequals" };
	const char *csv[] = { "replay", NULL, "--no-gpuvm" };
	const char *csvcap[] = { "replay", NULL, "--no-gpuvm", "--capacity", "1G" };
	const char *badwl[] = { "workload", "nope", "--out", "/dev/null" };

	make_tmpdir();
	wl[3] = tmp("classic.trace");
	ck_assert_int_eq(run(replay_cmd_workload, 6, wl), 0);
	dump[2] = tmp("classic.trace");
	ck_assert_int_eq(run(replay_cmd_trace, 3, dump), 0);
	rep[1] = tmp("classic.trace");
	rep[6] = data("costs_a100.txt");
	ck_assert_int_eq(run(replay_cmd_replay, 7, rep), 0);

	ck_assert_int_eq(run(replay_cmd_replay, 1, bad1), 2);
	bad2[1] = bad3[1] = bad4[1] = bad5[1] = tmp("classic.trace");
	ck_assert_int_eq(run(replay_cmd_replay, 4, bad2), 2);
	ck_assert_int_eq(run(replay_cmd_replay, 3, bad3), 2);
	ck_assert_int_eq(run(replay_cmd_replay, 4, bad4), 2);
	ck_assert_int_eq(run(replay_cmd_replay, 4, bad5), 2);
	ck_assert_int_eq(run(replay_cmd_workload, 4, badwl), 2);
	dump[2] = tmp("missing");
	ck_assert_int_eq(run(replay_cmd_trace, 3, dump), 1);

	/* RMM logs carry no capacity: the replay asks for one */
	csv[1] = csvcap[1] = data("rmm_sample.csv");
	ck_assert_int_eq(run(replay_cmd_replay, 3, csv), 2);
	ck_assert_int_eq(run(replay_cmd_replay, 5, csvcap), 0);
	conv[2] = data("rmm_sample.csv");
	conv[3] = tmp("rmm.trace");
	ck_assert_int_eq(run(replay_cmd_trace, 6, conv), 0);
	csv[1] = tmp("rmm.trace");
	ck_assert_int_eq(run(replay_cmd_replay, 3, csv), 0);
	remove_tmpdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay-io");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_dump_escapes_source);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_future_sizes_and_partial_tail);
	tcase_add_test(tc, test_rmm_csv);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_hostile_sizes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return check_run(s);
}
