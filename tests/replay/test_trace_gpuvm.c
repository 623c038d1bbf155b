// SPDX-License-Identifier: MIT
/*
 * test_trace_gpuvm.c - tracing through the manager, end to end:
 * GPUVM_TRACE=path, a few allocations on cudasim, then the file is read
 * back, checked against what was done, and replayed through the models.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "replay.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		goto out;						\
	}								\
} while (0)

static size_t count(const struct replay_trace *t, uint32_t ev, uint64_t requested)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr; i++)
		if (t->recs[i].event == ev && (!requested || t->recs[i].requested == requested))
			n++;
	return n;
}

int main(void)
{
	char dir[] = "/tmp/gpuvm-trace-e2e-XXXXXX", path[128], cmd[160];
	gpuvm_ptr_t a, b, g;
	struct gpuvm_stats st;
	struct replay_trace t = { 0 };
	struct replay_ops ops = { 0 };
	struct replay_policy pol;
	struct replay_result res;
	int err, rc = 1;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/run.trace", dir);
	setenv("GPUVM_TRACE", path, 1);
	err = gpuvm_init();
	if (err) {
		printf("skip: gpuvm_init failed (%s): no driver\n", strerror(-err));
		rc = 77;
		goto out;
	}
	CHECK(gpuvm_alloc(0, 4 * MiB, 0, &a) == 0);
	CHECK(gpuvm_alloc(0, 100, 0, &b) == 0);
	CHECK(gpuvm_alloc_growable(0, 64 * MiB, 2 * MiB, &g) == 0);
	CHECK(gpuvm_resize(g, 10 * MiB) == 0);
	CHECK(gpuvm_free(a) == 0);
	CHECK(gpuvm_free(b) == 0);
	CHECK(gpuvm_free(g) == 0);
	CHECK(gpuvm_stats(0, &st) == 0);
	CHECK(st.trace_dropped == 0);
	gpuvm_shutdown();	/* stops and flushes the trace */

	CHECK(replay_trace_load(path, &t) == 0);
	CHECK(!strcmp(t.hdr.source, "gpuvm"));
	CHECK(t.hdr.pid == getpid());
	if (!t.hdr.capacity)
		printf("note: the header names no capacity (trace started before the device)\n");
	CHECK(count(&t, GPUVM_EV_ALLOC, 4 * MiB) == 1);
	CHECK(count(&t, GPUVM_EV_ALLOC, 100) == 1);
	CHECK(count(&t, GPUVM_EV_ALLOC, 2 * MiB) == 1);
	CHECK(count(&t, GPUVM_EV_RESIZE, 10 * MiB) == 1);
	CHECK(count(&t, GPUVM_EV_FREE_REQUESTED, 0) == 3);
	CHECK(count(&t, GPUVM_EV_CHUNK_CREATE, 0) >= 1);
	CHECK(count(&t, GPUVM_EV_MAP, 0) >= 1);
	CHECK(count(&t, GPUVM_EV_DROPPED, 0) == 0);

	CHECK(replay_ops_build(&t, 0, &ops) == 0);
	CHECK(ops.ignored == 0);
	CHECK(ops.nr_chains == 3);
	CHECK(ops.nr == 7);	/* 3 allocs, 1 resize, 3 frees */
	replay_policy_default(&pol);
	CHECK(replay_run_model(&replay_torch_caching_ops, &ops, GiB, &pol, &res) == 0);
	CHECK(res.ooms == 0 && res.peak_requested == 4 * MiB + 100 + 10 * MiB);
	rc = 0;
out:
	replay_ops_release(&ops);
	replay_trace_release(&t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		rc = 1;
	return rc;
}
