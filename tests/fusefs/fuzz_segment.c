// SPDX-License-Identifier: MIT
/*
 * fuzz_segment.c - fuzz target of the gpuvmfs segment reader: any bytes as
 * a state segment, through the validator and every renderer.
 *
 * libFuzzer:  tests/fusefs/fuzz.sh (clang -fsanitize=fuzzer,address)
 * AFL++:      build this file with afl-clang-fast and AFL_DRIVER
 * make check: test_fuzz_segment runs the same entry point over seeds and
 *             ~100k mutated segments under whatever compiler built it.
 *
 * The segment is read from a buffer of exactly @size bytes, so a read past
 * its end is an ASan report; pid is not checked (0) and the uid must be 0,
 * which the seeds (segwriter corpus) carry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvmfs/gpuvmfs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render_knobs(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d)
{
	unsigned int i;

	/* knob values are hostile too: the schema's formatter must cope */
	for (i = 0; i < d->blk.nr_knobs; i++) {
		const struct gpuvm_knob *k = gpuvm_knob_find(d->blk.knobs[i].name);

		if (k)
			gpuvmfs_render_knob(b, k, d->blk.knobs[i].value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	struct gpuvmfs_buf b = { 0 };
	struct gpuvmfs_metrics_proc mp;
	unsigned int d;
	int err;

	gpuvm_segment_from_memory(&seg, data, size, 0, 0);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT | GPUVM_SNAP_ALLOCS, &snap);
	gpuvmfs_render_status(&b, &snap, err, -1);
	if (!err) {
		gpuvmfs_render_maps(&b, &snap, -1);
		gpuvmfs_render_pagetable(&b, &snap, -1);
		for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
			const struct gpuvm_snap_device *sd = snap.dev[d];
			uint32_t j;

			if (!sd)
				continue;
			gpuvmfs_render_status(&b, &snap, 0, d);
			render_knobs(&b, sd);
			for (j = 0; j < sd->blk.alloc_capacity && j < 64; j++) {
				if (!gpuvm_seg_alloc_valid(&sd->allocs[j]))
					continue;
				gpuvmfs_render_alloc_info(&b, sd, &sd->allocs[j]);
				gpuvmfs_render_alloc_mappings(&b, sd, &sd->allocs[j]);
			}
		}
	}
	mp.pid = 1;
	mp.uid = 0;
	mp.err = err;
	mp.snap = snap;
	gpuvmfs_render_metrics(&b, &mp, 1);
	gpuvmfs_buf_free(&b);
	gpuvm_snapshot_release(&snap);
	return 0;
}
