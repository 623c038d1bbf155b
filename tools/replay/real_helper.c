// SPDX-License-Identifier: MIT
/*
 * real_helper.c - gpuvm-replay-real: replays a trace through the real
 * manager, started by gpuvm_real.c with cudasim sized to the capacity.
 *
 *	gpuvm-replay-real TRACE --capacity BYTES --device N [--policy K=V]...
 *
 * libgpuvm.so is opened at run time (GPUVM_REPLAY_LIBGPUVM, else
 * ../lib/libgpuvm.so beside this program) and driven only through its
 * public API.  The result goes to stdout as "key value" lines; a manager
 * that cannot run yields "ran 0" and a note, not a failure.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "replay.h"

struct gpuvm_api {
	__typeof__(gpuvm_init) *init;
	__typeof__(gpuvm_shutdown) *shutdown;
	__typeof__(gpuvm_device_count) *device_count;
	__typeof__(gpuvm_alloc) *alloc;
	__typeof__(gpuvm_alloc_growable) *alloc_growable;
	__typeof__(gpuvm_resize) *resize;
	__typeof__(gpuvm_free) *free;
	__typeof__(gpuvm_stats) *stats;
	__typeof__(gpuvm_policy_get) *policy_get;
	__typeof__(gpuvm_policy_set_str) *policy_set_str;
};

static int api_open(struct gpuvm_api *api, void **handle, struct replay_result *res)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f) { "gpuvm_" #f, offsetof(struct gpuvm_api, f) }
		SYM(init), SYM(shutdown), SYM(device_count), SYM(alloc),
		SYM(alloc_growable), SYM(resize), SYM(free), SYM(stats),
		SYM(policy_get), SYM(policy_set_str),
#undef SYM
	};
	char path[PATH_MAX + 32];
	const char *lib = getenv("GPUVM_REPLAY_LIBGPUVM");
	size_t i;

	if (!lib) {
		ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
		char *slash;

		if (n < 0)
			return -errno;
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (!slash)
			return -ENOENT;
		strcpy(slash + 1, "../lib/libgpuvm.so");
		lib = path;
	}
	*handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		snprintf(res->note, sizeof(res->note), "cannot open libgpuvm: %s", dlerror());
		return -ENOENT;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = dlsym(*handle, syms[i].name);

		if (!fn) {
			snprintf(res->note, sizeof(res->note), "libgpuvm lacks %s", syms[i].name);
			dlclose(*handle);
			return -ENOSYS;
		}
		memcpy((char *)api + syms[i].off, &fn, sizeof(fn));
	}
	return 0;
}

struct real_run {
	const struct gpuvm_api *api;
	int dev;
	uint64_t live;		/* bytes requested and live */
	uint64_t errors;	/* failures other than -ENOMEM */
	int first_error;
	struct gpuvm_stats end;	/* at the end of the replay */
};

static void run_note_oom(struct replay_result *res, const struct replay_op *op,
			 uint64_t live)
{
	if (!res->ooms++) {
		res->first_oom_rec = op->rec;
		res->first_oom_size = op->size;
		res->first_oom_live = live;
	}
}

static void run_failed(struct real_run *run, int err)
{
	if (!run->errors++)
		run->first_error = err;
}

static int replay(struct real_run *run, const struct replay_ops *ops,
		  struct replay_result *res)
{
	const struct gpuvm_api *api = run->api;
	gpuvm_ptr_t *ptr = calloc(ops->nr_chains + 1, sizeof(*ptr));
	uint64_t *size = calloc(ops->nr_chains + 1, sizeof(*size));
	struct gpuvm_stats st;
	size_t i;
	int err;

	if (!ptr || !size) {
		free(ptr);
		free(size);
		return -ENOMEM;
	}
	for (i = 0; i < ops->nr; i++) {
		const struct replay_op *op = &ops->ops[i];
		uint32_t c = op->chain;

		switch (op->kind) {
		case REPLAY_OP_ALLOC:
			if (op->growable)
				err = api->alloc_growable(run->dev, op->max_size, op->size, &ptr[c]);
			else
				err = api->alloc(run->dev, op->size, 0, &ptr[c]);
			if (err == -ENOMEM) {
				run_note_oom(res, op, run->live);
			} else if (err) {
				run_failed(run, err);
			} else {
				size[c] = op->size;
				run->live += op->size;
			}
			if (err)
				ptr[c] = 0;
			break;
		case REPLAY_OP_RESIZE:
			if (!ptr[c])
				continue;
			err = api->resize(ptr[c], op->size);
			if (err == -ENOMEM) {
				run_note_oom(res, op, run->live);
			} else if (err) {
				run_failed(run, err);
			} else {
				run->live += op->size - size[c];
				size[c] = op->size;
			}
			break;
		case REPLAY_OP_FREE:
			if (!ptr[c])
				continue;
			err = api->free(ptr[c]);
			if (err)
				run_failed(run, err);
			run->live -= size[c];
			ptr[c] = 0;
			break;
		}
		if (run->live > res->peak_requested)
			res->peak_requested = run->live;
		if (!api->stats(run->dev, &st) && st.physical > res->peak_held)
			res->peak_held = st.physical;
	}

	/* The counts cover the replay only; then free what the trace left. */
	if (!api->stats(run->dev, &st)) {
		uint64_t chunk = 2 * MiB;

		run->end = st;
		if (api->policy_get(run->dev, "chunk_size", &chunk) || !chunk)
			chunk = 2 * MiB;
		res->calls[REPLAY_CALL_CREATE] = st.driver_calls[GPUVM_DRV_MEM_CREATE];
		res->calls[REPLAY_CALL_MAP] = st.driver_calls[GPUVM_DRV_MEM_MAP];
		res->calls[REPLAY_CALL_UNMAP] = st.driver_calls[GPUVM_DRV_MEM_UNMAP];
		res->calls[REPLAY_CALL_SET_ACCESS] = st.driver_calls[GPUVM_DRV_MEM_SET_ACCESS];
		res->calls[REPLAY_CALL_RELEASE] = st.driver_calls[GPUVM_DRV_MEM_RELEASE];
		/* Every chunk is its own mapping; access is set once per mapped byte. */
		for (i = 0; i < REPLAY_CALL_NR; i++)
			res->bytes[i] = res->calls[i] * chunk;
		res->bytes[REPLAY_CALL_SET_ACCESS] = res->bytes[REPLAY_CALL_MAP];
	}
	for (i = 0; i < ops->nr_chains; i++)
		if (ptr[i])
			api->free(ptr[i]);
	free(ptr);
	free(size);
	return 0;
}

int main(int argc, char **argv)
{
	struct replay_result res = { .name = "gpuvm", .first_oom_rec = -1 };
	const char *path = NULL, *knobs[64];
	struct real_run run = { .dev = 0 };
	uint64_t capacity = 0;
	struct replay_trace t;
	struct replay_ops ops;
	struct gpuvm_api api;
	void *handle;
	int i, nr_knobs = 0, err = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--capacity") && i + 1 < argc)
			err = replay_parse_size(argv[++i], &capacity);
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			run.dev = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc && nr_knobs < 64)
			knobs[nr_knobs++] = argv[++i];
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			err = -EINVAL;
		if (err) {
			fprintf(stderr, "usage: gpuvm-replay-real TRACE --capacity BYTES "
				"--device N [--policy KNOB=VALUE]...\n");
			return 2;
		}
		err = 0;
	}
	if (!path) {
		fprintf(stderr, "gpuvm-replay-real: no trace\n");
		return 2;
	}
	if (replay_trace_load(path, &t))
		return 1;
	err = replay_ops_build(&t, run.dev, &ops);
	replay_trace_release(&t);
	if (err) {
		fprintf(stderr, "gpuvm-replay-real: %s\n", strerror(-err));
		return 1;
	}

	if (api_open(&api, &handle, &res))
		goto out_print;
	run.api = &api;
	err = api.init();
	if (err) {
		snprintf(res.note, sizeof(res.note), "gpuvm_init: %s", strerror(-err));
		goto out_close;
	}
	for (i = 0; i < nr_knobs; i++) {
		char name[64], *eq = strchr(knobs[i], '=');

		if (!eq || eq - knobs[i] >= (long)sizeof(name)) {
			err = -EINVAL;
		} else {
			memcpy(name, knobs[i], eq - knobs[i]);
			name[eq - knobs[i]] = '\0';
			err = api.policy_set_str(-1, name, eq + 1);
		}
		if (err) {
			snprintf(res.note, sizeof(res.note), "--policy %s: %s", knobs[i],
				 strerror(-err));
			rc = 2;		/* bad input: the replay stops */
			goto out_shutdown;
		}
	}
	err = replay(&run, &ops, &res);
	if (err) {
		snprintf(res.note, sizeof(res.note), "replay: %s", strerror(-err));
		goto out_shutdown;
	}
	res.ran = true;
	if (run.errors)
		snprintf(res.note, sizeof(res.note), "%" PRIu64 " calls failed other than "
			 "with ENOMEM (first: %s)", run.errors, strerror(-run.first_error));
	else
		snprintf(res.note, sizeof(res.note), "peak mapped %.1f MiB, cache hits %"
			 PRIu64 ", stitches %" PRIu64 ", context syncs %" PRIu64,
			 (double)run.end.peak_mapped / MiB, run.end.cache_hits, run.end.stitches,
			 run.end.driver_calls[GPUVM_DRV_CTX_SYNCHRONIZE]);
out_shutdown:
	api.shutdown();
out_close:
	/* Never dlclose: the library may have exit handlers registered. */
	(void)handle;
out_print:
	replay_ops_release(&ops);
	(void)capacity;		/* cudasim got it through CUDASIM_MEM */
	if (replay_result_write(stdout, &res))
		return 1;
	return rc;
}
