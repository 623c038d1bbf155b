// SPDX-License-Identifier: MIT
/*
 * test_fuzz_trace - the trace fuzz target's entry point, deterministically:
 * the seeds (binary traces, old and future layouts, RMM CSVs), then
 * FUZZ_ITERATIONS (default 100000, 20000 under SANITIZE, which make check
 * passes on) inputs mutated from them with a fixed-seed PRNG (FUZZ_SEED):
 * bit flips, interesting values in aligned 32- and 64-bit fields, byte
 * runs, truncation, extension, and CSV tokens (huge numbers, separators)
 * spliced in.  Passes when nothing crashes (run it under
 * SANITIZE=address,undefined to catch reads outside the input).
 *
 *	test_fuzz_trace seeds DIR	writes the seeds for tests/replay/fuzz.sh
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "../fuzz_mutate.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define NR_SEEDS	6

struct seed {
	const char *name;
	unsigned char *buf;
	size_t size;
};

static const char rmm_csv[] =
	"Thread,Time,Action,Pointer,Size,Stream\n"
	"140211,23:59:59:999000,allocate,0x7f3a2c000000,4096,0x0\n"
	"140211,23:59:59:999500,allocate,0x7f3a2c001000,10485760,0x0\n"
	"140212,00:00:00:000250,free,0x7f3a2c000000,4096,0x0\n"
	"140212,00:00:00:001000,allocate failure,0x0,1099511627776,0x0\n"
	"140211,00:00:00:002000,allocate,0x7f3a2c000000,512,0x5\n"
	"\n"
	"140211,00:00:00:003000,free,0x7f3a2c001000,10485760,0x0\n";

/* columns in another order, no Time, decimal pointers, a '.' before the us */
static const char rmm_csv_other[] =
	"Size,Action,Pointer,Thread,Stream\n"
	"2097152,allocate,139887000000000,1,7\n"
	"1048576,allocate,139887002097152,1,7\n"
	"2097152,free,139887000000000,1,7\n"
	"1048576,free,139887002097152,1,7\n";

/* Values a trace or CSV reader must cope with in any 32- or 64-bit field. */
static const uint64_t interesting[] = {
	0, 1, 2, 3, 7, 8, 16, 48, 88, 63, 64, 255, 256, 511, 512, 4096, 65535,
	2 * MiB, 2 * MiB - 1, 20 * MiB, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ull, REPLAY_MAX_BYTES, REPLAY_MAX_BYTES + 1,
	0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull - 511, ~0ull, ~0ull - 1,
};

/* Text an RMM CSV reader must cope with, spliced in at random. */
static const char *const tokens[] = {
	",", "\n", "\r\n", "0x", "-1", "+1", " ", "18446744073709551615",
	"18446744073709551104", "1152921504606846977", "99999999999999999999999",
	"allocate", "free", "allocate failure", "23:59:59:999999", "99:99:99:9",
	"00:00:00.000001", "Size", "Pointer", "Action", ",,,,,,,,,,,,,,,,,,",
};

static struct fuzz_mutator mut = {
	.values = interesting,
	.nr_values = sizeof(interesting) / sizeof(interesting[0]),
	.tokens = tokens,
	.nr_tokens = sizeof(tokens) / sizeof(tokens[0]),
	.max_extend = 256,
};

static int seed_from_trace(struct seed *s, const struct replay_trace *t)
{
	FILE *f = open_memstream((char **)&s->buf, &s->size);

	if (!f)
		return -ENOMEM;
	if (replay_trace_write(t, f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -EIO : 0;
}

static int seed_from_text(struct seed *s, const char *text)
{
	s->size = strlen(text);
	s->buf = malloc(s->size);
	if (!s->buf)
		return -ENOMEM;
	memcpy(s->buf, text, s->size);
	return 0;
}

/* Every event, two devices, a resize chain, a lost free, a drop marker. */
static void fill_events(struct replay_trace *t)
{
	replay_trace_add(t, 10, GPUVM_EV_CHUNK_CREATE, 0, 0, 0, 0, 2 * MiB);
	replay_trace_add(t, 20, GPUVM_EV_ALLOC, 0, 1, 0x10000, 1000, 1024);
	replay_trace_add(t, 30, GPUVM_EV_MAP, 0, 0, 0x10000, 0, 2 * MiB);
	replay_trace_add(t, 40, GPUVM_EV_ALLOC, 0, 1, 0x20000, 3 * MiB, 4 * MiB);
	replay_trace_add(t, 50, GPUVM_EV_RESIZE, 0, 1, 0x20000, 6 * MiB, 6 * MiB);
	replay_trace_add(t, 60, GPUVM_EV_ALLOC, 1, 2, 0x30000, 512, 512);
	replay_trace_add(t, 70, GPUVM_EV_FREE_REQUESTED, 0, 1, 0x10000, 0, 0);
	replay_trace_add(t, 80, GPUVM_EV_FREE_COMPLETED, 0, 1, 0x10000, 0, 1024);
	replay_trace_add(t, 90, GPUVM_EV_OOM, 0, 1, 0, GiB, 0);
	replay_trace_add(t, 100, GPUVM_EV_DROPPED, 0, 0, 0, 0, 3);
	replay_trace_add(t, 110, GPUVM_EV_ALLOC, 0, 1, 0x20000, 4096, 4096);
	replay_trace_add(t, 120, GPUVM_EV_UNMAP, 0, 0, 0x10000, 0, 2 * MiB);
	replay_trace_add(t, 130, GPUVM_EV_CHUNK_RELEASE, 0, 0, 0, 0, 2 * MiB);
	replay_trace_add(t, 140, GPUVM_EV_FREE_REQUESTED, 0, 1, 0x20000, 0, 0);
}

/* A later minor revision's layout: a longer header and records, a partial tail. */
static int seed_future(struct seed *s)
{
	struct replay_trace t;
	struct gpuvm_trace_header h;
	size_t i, off;

	replay_trace_init(&t, "future", GiB, 2 * MiB);
	fill_events(&t);
	h = t.hdr;
	h.header_size = sizeof(h) + 16;
	h.record_size = sizeof(*t.recs) + 8;
	s->size = h.header_size + t.nr * h.record_size + 20;
	s->buf = calloc(1, s->size);
	if (!s->buf) {
		replay_trace_release(&t);
		return -ENOMEM;
	}
	memcpy(s->buf, &h, sizeof(h));
	for (i = 0, off = h.header_size; i < t.nr; i++, off += h.record_size)
		memcpy(s->buf + off, &t.recs[i], sizeof(t.recs[i]));
	replay_trace_release(&t);
	return 0;
}

static int make_seeds(struct seed *seeds)
{
	const struct replay_workload *w = replay_workload_find("classic");
	struct replay_trace t;
	int err;

	seeds[0].name = "classic.trace";
	if (!w || replay_workload_generate(w, 3, &t))
		return -EINVAL;
	err = seed_from_trace(&seeds[0], &t);
	replay_trace_release(&t);
	if (err)
		return err;

	seeds[1].name = "events.trace";
	replay_trace_init(&t, "events", 8 * GiB, 2 * MiB);
	fill_events(&t);
	err = seed_from_trace(&seeds[1], &t);
	replay_trace_release(&t);
	if (err)
		return err;

	seeds[2].name = "future.trace";
	err = seed_future(&seeds[2]);
	if (err)
		return err;

	seeds[3].name = "empty.trace";
	replay_trace_init(&t, "", 0, 0);
	err = seed_from_trace(&seeds[3], &t);
	if (err)
		return err;

	seeds[4].name = "rmm.csv";
	err = seed_from_text(&seeds[4], rmm_csv);
	if (err)
		return err;
	seeds[5].name = "rmm-other.csv";
	return seed_from_text(&seeds[5], rmm_csv_other);
}

static int write_seeds(const struct seed *seeds, const char *dir)
{
	char path[4096];
	unsigned int i;
	FILE *f;

	for (i = 0; i < NR_SEEDS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		f = fopen(path, "wb");
		if (!f || fwrite(seeds[i].buf, 1, seeds[i].size, f) != seeds[i].size) {
			perror(path);
			if (f)
				fclose(f);
			return 1;
		}
		if (fclose(f)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("FUZZ_ITERATIONS"), *san = getenv("SANITIZE");
	unsigned long iterations = env ? strtoul(env, NULL, 0) : san && *san ? 20000 : 100000;
	struct seed seeds[NR_SEEDS] = { 0 };
	unsigned char *work, *input;
	size_t cap = 0;
	unsigned long it;
	unsigned int i;
	int rc = 1;

	if (make_seeds(seeds)) {
		fprintf(stderr, "test_fuzz_trace: cannot make the seeds\n");
		goto out_free;
	}
	if (argc == 3 && !strcmp(argv[1], "seeds")) {
		rc = write_seeds(seeds, argv[2]);
		goto out_free;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: test_fuzz_trace [seeds DIR]\n");
		goto out_free;
	}
	/*
	 * The readers' one-line messages would be the whole log: send stdio's
	 * stderr to /dev/null.  Sanitizer reports write to fd 2 and still show.
	 */
	stderr = fopen("/dev/null", "w");
	if (!stderr)
		goto out_free;

	fuzz_seed(&mut);
	for (i = 0; i < NR_SEEDS; i++) {
		LLVMFuzzerTestOneInput(seeds[i].buf, seeds[i].size);
		if (seeds[i].size > cap)
			cap = seeds[i].size;
	}
	cap += 256;
	work = malloc(cap);
	if (!work)
		goto out_free;
	for (it = 0; it < iterations; it++) {
		size_t size;

		i = fuzz_rnd(&mut) % NR_SEEDS;
		memcpy(work, seeds[i].buf, seeds[i].size);
		size = fuzz_mutate(&mut, work, seeds[i].size, cap);
		/* an exact-size copy: ASan sees any read past the end */
		input = malloc(size ? size : 1);
		if (!input)
			break;
		memcpy(input, work, size);
		LLVMFuzzerTestOneInput(input, size);
		free(input);
	}
	free(work);
	if (it == iterations) {
		printf("ok: %lu mutated traces\n", iterations);
		rc = 0;
	}
out_free:
	for (i = 0; i < NR_SEEDS; i++)
		free(seeds[i].buf);
	return rc;
}
