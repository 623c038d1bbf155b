// SPDX-License-Identifier: MIT
/*
 * fuzz_trace.c - fuzz target of the trace readers: any bytes as a trace
 * file, through the reader (the gpuvm binary trace and the RMM CSV
 * importer, told apart by the first byte as for a file), the dump, the
 * request builder and every model.
 *
 * libFuzzer:  tests/replay/fuzz.sh (clang -fsanitize=fuzzer,address)
 * make check: test_fuzz_trace runs the same entry point over seeds and
 *             tens of thousands of mutated traces under whatever compiler
 *             built it.
 *
 * The input is read through fmemopen() over exactly @size bytes, as a pipe
 * would give it: read once, front to back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "replay.h"

/*
 * A capacity up to REPLAY_MAX_BYTES is valid, but first-fit sizes a page
 * array by it: a fuzzer's malloc limit would report the (lazily backed or
 * refused) calloc as a crash.  The models are not what is fuzzed here.
 */
#define FUZZ_MAX_CAPACITY	(64 * GiB)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *null_out(void)
{
	static FILE *out;

	if (!out)
		out = fopen("/dev/null", "w");
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct replay_model_ops *const models[] = {
		&replay_firstfit_ops, &replay_torch_caching_ops, &replay_expandable_ops,
	};
	struct replay_policy pol;
	struct replay_result res;
	struct replay_trace t;
	struct replay_ops ops;
	uint64_t capacity;
	FILE *f;
	size_t i;

	/* fmemopen() wants at least one byte; an empty file is /dev/null */
	f = size ? fmemopen((void *)data, size, "rb") : fopen("/dev/null", "rb");
	if (!f)
		return 0;
	if (replay_trace_read(f, "fuzz", &t)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (null_out())
		replay_trace_dump(&t, null_out());
	capacity = t.hdr.capacity ? t.hdr.capacity : GiB;
	if (capacity > FUZZ_MAX_CAPACITY)
		capacity = FUZZ_MAX_CAPACITY;
	if (!replay_ops_build(&t, -1, &ops)) {
		replay_policy_default(&pol);
		for (i = 0; i < sizeof(models) / sizeof(models[0]); i++)
			replay_run_model(models[i], &ops, capacity, &pol, &res);
		replay_ops_release(&ops);
	}
	replay_trace_release(&t);
	return 0;
}
