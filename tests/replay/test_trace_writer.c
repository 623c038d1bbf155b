// SPDX-License-Identifier: MIT
/*
 * test_trace_writer.c - vmm/trace_writer.c on its own: the ring, the io_uring
 * writer, drops when the ring is full, threads, fork and bad input.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"
#include "trace_writer.h"
#include "../check_run.h"

/* Not yet in vmm/trace_writer.h (asked of the lead). */
void vmm_trace_set_geometry(uint64_t capacity, uint64_t granularity);

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/gpuvm-trace-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	vmm_trace_stop();
	unsetenv("GPUVM_TRACE_RING");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* Kept records and the drops the file reports. */
static void load(const char *name, struct replay_trace *t, uint64_t *kept,
		 uint64_t *dropped)
{
	ck_assert_int_eq(replay_trace_load(path(name), t), 0);
	*kept = *dropped = 0;
	for (size_t i = 0; i < t->nr; i++) {
		if (t->recs[i].event == GPUVM_EV_DROPPED)
			*dropped += t->recs[i].granted;
		else
			(*kept)++;
	}
}

START_TEST(test_basic)
{
	struct replay_trace t;
	uint64_t kept, dropped, i;

	ck_assert_int_eq(vmm_trace_start(path("a"), 8 * GiB, 2 * MiB), 0);
	ck_assert(vmm_trace_on);
	for (i = 0; i < 1000; i++)
		vmm_trace(GPUVM_EV_ALLOC + i % 9, 0, 3, i, i * 2, i * 4);
	vmm_trace_stop();
	ck_assert(!vmm_trace_on);
	ck_assert_uint_eq(vmm_trace_dropped(), 0);

	load("a", &t, &kept, &dropped);
	ck_assert_str_eq(t.hdr.source, "gpuvm");
	ck_assert_uint_eq(t.hdr.capacity, 8 * GiB);
	ck_assert_uint_eq(t.hdr.granularity, 2 * MiB);
	ck_assert_int_eq(t.hdr.pid, getpid());
	ck_assert_uint_ne(t.hdr.start_ns, 0);
	ck_assert_uint_eq(t.nr, 1000);
	for (i = 0; i < 1000; i++) {
		ck_assert_uint_eq(t.recs[i].event, GPUVM_EV_ALLOC + i % 9);
		ck_assert_uint_eq(t.recs[i].addr, i);
		ck_assert_uint_eq(t.recs[i].requested, i * 2);
		ck_assert_uint_eq(t.recs[i].granted, i * 4);
		ck_assert_uint_eq(t.recs[i].stream, 3);
		if (i)
			ck_assert_uint_ge(t.recs[i].time_ns, t.recs[i - 1].time_ns);
	}
	replay_trace_release(&t);

	/* stopped: appending does nothing, stopping again is harmless */
	__vmm_trace(GPUVM_EV_ALLOC, 0, 0, 1, 1, 1);
	vmm_trace_stop();

	/* and it starts again, on a new file, with a fresh drop count; the
	 * geometry may come after the start (GPUVM_TRACE at library load) */
	ck_assert_int_eq(vmm_trace_start(path("b"), 0, 0), 0);
	vmm_trace(GPUVM_EV_OOM, 1, 0, 0, 123, 0);
	vmm_trace_set_geometry(4 * GiB, 2 * MiB);
	vmm_trace_set_geometry(8 * GiB, 4 * MiB);	/* the first one stays */
	vmm_trace_stop();
	load("b", &t, &kept, &dropped);
	ck_assert_uint_eq(t.nr, 1);
	ck_assert_int_eq(t.recs[0].device, 1);
	ck_assert_uint_eq(t.hdr.capacity, 4 * GiB);
	ck_assert_uint_eq(t.hdr.granularity, 2 * MiB);
	replay_trace_release(&t);
}
END_TEST

START_TEST(test_bad_input)
{
	ck_assert_int_eq(vmm_trace_start("", GiB, 2 * MiB), -EINVAL);
	ck_assert_int_eq(vmm_trace_start(NULL, GiB, 2 * MiB), -EINVAL);
	ck_assert_int_eq(vmm_trace_start("/nonexistent/dir/trace", GiB, 2 * MiB), -ENOENT);
	ck_assert(!vmm_trace_on);
	ck_assert_int_eq(vmm_trace_start(path("a"), GiB, 2 * MiB), 0);
	ck_assert_int_eq(vmm_trace_start(path("b"), GiB, 2 * MiB), -EBUSY);
	ck_assert_int_eq(access(path("b"), F_OK), -1);	/* nothing created */
	vmm_trace_stop();
	/* a bad ring size is ignored (with a message), not fatal */
	setenv("GPUVM_TRACE_RING", "17", 1);
	ck_assert_int_eq(vmm_trace_start(path("c"), GiB, 2 * MiB), 0);
	vmm_trace_stop();
}
END_TEST

/* stderr of @fn() as text, in @buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void start_stop(void)
{
	ck_assert_int_eq(vmm_trace_start(path("r"), GiB, 2 * MiB), 0);
	vmm_trace_stop();
	unlink(path("r"));
}

/*
 * GPUVM_TRACE_RING in decimal with K/M suffixes like every size, never
 * octal or hex; a refused value says why and keeps the default (64K).
 */
START_TEST(test_ring_size_env)
{
	static const struct {
		const char *text;
		unsigned int records;	/* 0: refused, the default */
		const char *why;
	} cases[] = {
		{ "16", 16, NULL },
		{ "1024", 1024, NULL },
		{ "0256", 256, NULL },		/* decimal, leading zero and all */
		{ "1K", 1024, NULL },
		{ "4k", 4096, NULL },
		{ "16M", 16u << 20, NULL },
		{ "0100", 0, "not a power of two" },	/* not 64 */
		{ "0x100", 0, "not a number of records" },
		{ "17", 0, "not a power of two" },
		{ "8", 0, "out of range" },
		{ "32M", 0, "out of range" },
		{ "-16", 0, "not a number of records" },
		{ "64 ", 0, "not a number of records" },
		{ "1Q", 0, "not a number of records" },
	};
	char err[512], want[96];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("GPUVM_TRACE_RING", cases[i].text, 1);
		capture_stderr(start_stop, err, sizeof(err));
		ck_assert_msg(vmm_trace_ring_records() == (cases[i].records ?: 64u * 1024),
			      "GPUVM_TRACE_RING=%s: %u records", cases[i].text,
			      vmm_trace_ring_records());
		if (!cases[i].why) {
			ck_assert_msg(!err[0], "GPUVM_TRACE_RING=%s: said '%s'", cases[i].text, err);
			continue;
		}
		snprintf(want, sizeof(want), "GPUVM_TRACE_RING=%s: %s", cases[i].text,
			 cases[i].why);
		ck_assert_msg(strstr(err, want) && strstr(err, "using 64K"),
			      "GPUVM_TRACE_RING=%s: '%s', want '%s'", cases[i].text, err, want);
	}
}
END_TEST

/*
 * A 16-slot ring and a burst far faster than a writer that drains every
 * 2 ms: most events are dropped, and every drop is accounted for.
 */
START_TEST(test_ring_full_drops)
{
	struct replay_trace t;
	uint64_t kept, dropped, last = 0, i;
	const uint64_t n = 200000;

	setenv("GPUVM_TRACE_RING", "16", 1);
	ck_assert_int_eq(vmm_trace_start(path("d"), GiB, 2 * MiB), 0);
	for (i = 1; i <= n; i++)
		vmm_trace(GPUVM_EV_MAP, 0, 0, i, 0, 2 * MiB);
	vmm_trace_stop();
	load("d", &t, &kept, &dropped);
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(dropped, vmm_trace_dropped());
	ck_assert_uint_eq(kept + dropped, n);
	for (size_t j = 0; j < t.nr; j++) {
		if (t.recs[j].event == GPUVM_EV_DROPPED)
			continue;
		ck_assert_uint_gt(t.recs[j].addr, last);	/* order kept */
		last = t.recs[j].addr;
	}
	replay_trace_release(&t);
}
END_TEST

#define THREADS		4
#define PER_THREAD	50000

static void *producer(void *arg)
{
	uint64_t id = (uintptr_t)arg;

	for (uint64_t i = 1; i <= PER_THREAD; i++)
		vmm_trace(GPUVM_EV_ALLOC, 0, id, id << 32 | i, i, i);
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[THREADS];
	struct replay_trace t;
	uint64_t kept, dropped, last[THREADS] = { 0 };
	int k;

	setenv("GPUVM_TRACE_RING", "1024", 1);
	ck_assert_int_eq(vmm_trace_start(path("e"), GiB, 2 * MiB), 0);
	for (k = 0; k < THREADS; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, producer, (void *)(uintptr_t)k), 0);
	for (k = 0; k < THREADS; k++)
		pthread_join(th[k], NULL);
	vmm_trace_stop();
	load("e", &t, &kept, &dropped);
	ck_assert_uint_eq(kept + dropped, THREADS * PER_THREAD);
	ck_assert_uint_eq(dropped, vmm_trace_dropped());
	for (size_t j = 0; j < t.nr; j++) {
		const struct gpuvm_trace_record *r = &t.recs[j];

		if (r->event == GPUVM_EV_DROPPED)
			continue;
		ck_assert_uint_lt(r->stream, THREADS);
		ck_assert_uint_eq(r->addr >> 32, r->stream);
		/* each thread's events stay in its order */
		ck_assert_uint_gt(r->addr & 0xffffffff, last[r->stream]);
		last[r->stream] = r->addr & 0xffffffff;
	}
	replay_trace_release(&t);
}
END_TEST

START_TEST(test_fork)
{
	struct replay_trace t;
	uint64_t kept, dropped;
	int status;
	pid_t pid;

	ck_assert_int_eq(vmm_trace_start(path("f"), GiB, 2 * MiB), 0);
	vmm_trace(GPUVM_EV_ALLOC, 0, 0, 1, 1, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* the child does not trace into the parent's file */
		vmm_trace(GPUVM_EV_ALLOC, 0, 0, 99, 1, 1);
		__vmm_trace(GPUVM_EV_ALLOC, 0, 0, 98, 1, 1);
		vmm_trace_stop();
		_exit(vmm_trace_on ? 1 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	vmm_trace(GPUVM_EV_FREE_REQUESTED, 0, 0, 1, 0, 0);
	vmm_trace_stop();
	load("f", &t, &kept, &dropped);
	ck_assert_uint_eq(t.nr, 2);
	ck_assert_uint_eq(t.recs[0].addr, 1);
	ck_assert_uint_eq(t.recs[1].event, GPUVM_EV_FREE_REQUESTED);
	replay_trace_release(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace-writer");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_ring_size_env);
	tcase_add_test(tc, test_ring_full_drops);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_fork);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return check_run(s);
}
