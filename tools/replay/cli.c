// SPDX-License-Identifier: MIT
/*
 * cli.c - the commands: "trace dump|convert", "replay", "workload".  Each
 * entry takes argv[0] as its own name, the command as the user typed it
 * ("gpuvm replay", "gpuvm-replay replay"), and prints it in its usage and
 * its messages; the rest of the arguments are handed over unchanged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse_size.h"
#include "replay.h"

/**
 * replay_parse_size - "4096", "512K", "2M", "1.5G" (binary units; an
 * optional "i" after the unit and a trailing "B"): parse_size() with the
 * whole grammar
 * Return: 0, -EINVAL (garbage) or -ERANGE (overflow).
 */
int replay_parse_size(const char *s, uint64_t *val)
{
	return parse_size(s, PARSE_SIZE_FRACTION | PARSE_SIZE_BYTE_SUFFIX, val);
}

static void trace_usage(FILE *f, const char *cmd)
{
	fprintf(f, "usage: %s dump FILE\n"
		   "       %s convert IN OUT [--capacity SIZE]\n"
		   "FILE/IN: a gpuvm trace or an RMM log CSV (- or a pipe: standard input);\n"
		   "OUT: a gpuvm trace\n", cmd, cmd);
}

/**
 * replay_cmd_trace - "trace dump FILE" prints a trace as text; "trace
 * convert IN OUT" writes any readable trace in the binary format
 * @argc: argument count
 * @argv: the arguments; argv[0] is the command as typed ("gpuvm trace")
 * Return: exit status (0, 1 on error, 2 on bad usage).
 */
int replay_cmd_trace(int argc, char **argv)
{
	struct replay_trace t;
	int err;

	if (argc == 3 && !strcmp(argv[1], "dump")) {
		err = replay_trace_load(argv[2], &t);
		if (err)
			return 1;
		err = replay_trace_dump(&t, stdout);
		replay_trace_release(&t);
		return err ? 1 : 0;
	}
	if ((argc == 4 || argc == 6) && !strcmp(argv[1], "convert")) {
		uint64_t capacity = 0;

		if (argc == 6 && (strcmp(argv[4], "--capacity") ||
				  replay_parse_size(argv[5], &capacity) ||
				  capacity > REPLAY_MAX_BYTES)) {
			trace_usage(stderr, argv[0]);
			return 2;
		}
		err = replay_trace_load(argv[2], &t);
		if (err)
			return 1;
		if (capacity)
			t.hdr.capacity = capacity;
		err = replay_trace_save(&t, argv[3]);
		replay_trace_release(&t);
		return err ? 1 : 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		trace_usage(stdout, argv[0]);
		return 0;
	}
	trace_usage(stderr, argv[0]);
	return 2;
}

static void replay_usage(FILE *f, const char *cmd)
{
	/* the second line lines up under TRACE */
	fprintf(f,
		"usage: %s TRACE [--capacity SIZE] [--device N] [--policy KNOB=VALUE]...\n"
		"       %*s [--costs FILE] [--no-gpuvm]\n", cmd, (int)strlen(cmd), "");
	fprintf(f,
		"Replays TRACE (a gpuvm trace or an RMM log CSV; a pipe will do, - is\n"
		"standard input) through gpuvm (the real manager on cudasim, in a child\n"
		"process), contiguous first-fit (cudaMalloc), PyTorch's caching allocator\n"
		"and PyTorch's expandable segments.\n"
		"  --capacity SIZE   device memory (default: the trace's)\n"
		"  --policy K=V      a gpuvm knob, or torch.max_split_size=SIZE for the\n"
		"                    PyTorch models; repeatable\n"
		"  --costs FILE      per-call driver costs (see Documentation/trace.rst)\n"
		"  --no-gpuvm        only the models\n");
}

static void print_targets(FILE *out, const struct replay_result *res, int nr)
{
	const struct replay_result *g = &res[0];
	double fg = replay_fragmentation(g);
	int i;

	if (!g->ran)
		return;
	fprintf(out, "targets: gpuvm frag %.3f", fg);
	for (i = 1; i < nr; i++) {
		if (!res[i].ran)
			continue;
		fprintf(out, ", %s than %s (%.3f",
			fg < replay_fragmentation(&res[i]) ? "lower" : "NOT lower",
			res[i].name, replay_fragmentation(&res[i]));
		/* a column that failed requests held less because it served less */
		if (res[i].ooms)
			fprintf(out, ", %" PRIu64 " OOMs", res[i].ooms);
		fputc(')', out);
	}
	fprintf(out, "; peak held / peak requested %.3f; OOMs %" PRIu64 "\n",
		g->peak_requested ? (double)g->peak_held / g->peak_requested : 0.0, g->ooms);
}

/*
 * The helper reads the trace again by name, but a pipe (or "-") can be read
 * only once: hand it what was read instead, as a memory file it inherits.
 * Returns the path for the helper; *fd is -1 when @path itself will do.
 */
static const char *trace_for_helper(const char *path, const struct replay_trace *t,
				    char *buf, size_t len, int *fd)
{
	struct stat st;
	int wfd, err;
	FILE *f;

	*fd = -1;
	if (strcmp(path, "-") && !stat(path, &st) && S_ISREG(st.st_mode))
		return path;
	*fd = memfd_create("gpuvm-replay-trace", 0);	/* not MFD_CLOEXEC: inherited */
	if (*fd < 0)
		return NULL;
	/* written through a copy, so that fclose() leaves *fd open */
	wfd = dup(*fd);
	f = wfd >= 0 ? fdopen(wfd, "wb") : NULL;
	if (!f) {
		if (wfd >= 0)
			close(wfd);
		goto out_close;
	}
	err = replay_trace_write(t, f);
	if (fclose(f) || err)
		goto out_close;
	snprintf(buf, len, "/dev/fd/%d", *fd);
	return buf;

out_close:
	close(*fd);
	*fd = -1;
	return NULL;
}

/**
 * replay_cmd_replay - replay a trace through gpuvm and the models and print
 * the comparison table
 * @argc: argument count
 * @argv: the arguments; argv[0] is the command as typed ("gpuvm replay")
 * Return: exit status (0, 1 on error, 2 on bad usage).
 */
int replay_cmd_replay(int argc, char **argv)
{
	static const struct replay_model_ops *const models[] = {
		&replay_firstfit_ops, &replay_torch_caching_ops, &replay_expandable_ops,
	};
	struct replay_result res[1 + sizeof(models) / sizeof(models[0])];
	const char *path = NULL, *costs_path = NULL;
	struct replay_policy pol;
	struct replay_costs costs;
	struct replay_trace t;
	struct replay_ops ops;
	uint64_t capacity = 0;
	bool gpuvm = true;
	int device = -1, i, err, nr = 0;

	replay_policy_default(&pol);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			replay_usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(a, "--no-gpuvm")) {
			gpuvm = false;
			continue;
		} else if (a[0] != '-' || !a[1]) {	/* "-": standard input */
			if (path)
				goto out_usage;
			path = a;
			continue;
		}
		if (!v)
			goto out_usage;
		i++;
		if (!strcmp(a, "--capacity")) {
			if (replay_parse_size(v, &capacity) || !capacity ||
			    capacity > REPLAY_MAX_BYTES) {
				fprintf(stderr, "%s: bad capacity \"%s\"\n", argv[0], v);
				return 2;
			}
		} else if (!strcmp(a, "--device")) {
			char *end;
			long d = strtol(v, &end, 10);

			if (*end || end == v || d < 0 || d > 1023) {
				fprintf(stderr, "%s: bad device \"%s\"\n", argv[0], v);
				return 2;
			}
			device = d;
		} else if (!strcmp(a, "--costs")) {
			costs_path = v;
		} else if (!strcmp(a, "--policy")) {
			const char *eq = strchr(v, '=');

			if (!eq || eq == v || !eq[1]) {
				fprintf(stderr, "%s: --policy wants KNOB=VALUE, not \"%s\"\n",
					argv[0], v);
				return 2;
			}
			if (!strncmp(v, "torch.", 6)) {
				if (strncmp(v, "torch.max_split_size=", 21) ||
				    replay_parse_size(eq + 1, &pol.torch_max_split_size) ||
				    pol.torch_max_split_size < 20 * MiB) {
					fprintf(stderr, "%s: the PyTorch models know only "
						"torch.max_split_size=SIZE (at least 20M)\n",
						argv[0]);
					return 2;
				}
			} else if (pol.nr_gpuvm_knobs == 32) {
				fprintf(stderr, "%s: too many --policy knobs\n", argv[0]);
				return 2;
			} else {
				pol.gpuvm_knobs[pol.nr_gpuvm_knobs++] = v;
			}
		} else {
			goto out_usage;
		}
	}
	if (!path)
		goto out_usage;

	replay_costs_default(&costs);
	if (costs_path && replay_costs_load(&costs, costs_path))
		return 1;
	if (replay_trace_load(path, &t))
		return 1;
	if (!capacity)
		capacity = t.hdr.capacity;
	if (!capacity) {
		fprintf(stderr, "%s: %s names no device capacity; give --capacity SIZE\n",
			argv[0], path);
		replay_trace_release(&t);
		return 2;
	}
	err = replay_ops_build(&t, device, &ops);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[0], strerror(-err));
		replay_trace_release(&t);
		return 1;
	}

	if (gpuvm) {
		char fd_path[32];
		const char *helper_path;
		int fd;

		helper_path = trace_for_helper(path, &t, fd_path, sizeof(fd_path), &fd);
		if (!helper_path) {
			memset(&res[nr], 0, sizeof(res[nr]));
			strcpy(res[nr].name, "gpuvm");
			snprintf(res[nr].note, sizeof(res[nr].note),
				 "cannot hand the trace to the helper");
			err = -EIO;
		} else {
			err = replay_run_gpuvm(helper_path, ops.device, capacity, &pol, &res[nr]);
		}
		if (fd >= 0)
			close(fd);
		if (err == -EINVAL) {
			fprintf(stderr, "%s: %s\n", argv[0], res[nr].note);
			replay_ops_release(&ops);
			replay_trace_release(&t);
			return 2;
		}
		if (res[nr].ran)
			res[nr].est_us = replay_costs_estimate_us(&costs, res[nr].calls,
								  res[nr].bytes);
		nr++;
	}
	for (i = 0; i < (int)(sizeof(models) / sizeof(models[0])); i++) {
		replay_run_model(models[i], &ops, capacity, &pol, &res[nr]);
		if (res[nr].ran)
			res[nr].est_us = replay_costs_estimate_us(&costs, res[nr].calls,
								  res[nr].bytes);
		nr++;
	}
	replay_print_table(stdout, &t, &ops, capacity, &costs, res, nr);
	if (gpuvm)
		print_targets(stdout, res, nr);
	replay_ops_release(&ops);
	replay_trace_release(&t);
	return 0;

out_usage:
	replay_usage(stderr, argv[0]);
	return 2;
}

/**
 * replay_cmd_workload - "workload NAME --out FILE [--seed N]" writes a
 * bundled workload as a trace; "workload list" names them
 * @argc: argument count
 * @argv: the arguments; argv[0] is the command as typed
 * Return: exit status.
 */
int replay_cmd_workload(int argc, char **argv)
{
	const struct replay_workload *w = NULL;
	const char *out = NULL;
	struct replay_trace t;
	uint64_t seed = 1;
	int i, err;

	if (argc == 2 && !strcmp(argv[1], "list")) {
		for (i = 0; i < replay_nr_workloads; i++)
			printf("%-12s %s\n", replay_workloads[i].name, replay_workloads[i].help);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			char *end;

			errno = 0;
			seed = strtoull(argv[++i], &end, 0);
			if (errno || *end || end == argv[i] || argv[i][0] == '-') {
				fprintf(stderr, "%s: bad seed \"%s\"\n", argv[0], argv[i]);
				return 2;
			}
		} else if (argv[i][0] != '-' && !w) {
			w = replay_workload_find(argv[i]);
			if (!w) {
				fprintf(stderr, "%s: unknown workload \"%s\" "
					"(\"%s list\" names them)\n", argv[0], argv[i], argv[0]);
				return 2;
			}
		} else {
			w = NULL;
			break;
		}
	}
	if (!w || !out) {
		fprintf(stderr, "usage: %s NAME --out FILE [--seed N] | %s list\n", argv[0],
			argv[0]);
		return 2;
	}
	err = replay_workload_generate(w, seed, &t);
	if (!err)
		err = replay_trace_save(&t, out);
	replay_trace_release(&t);
	return err ? 1 : 0;
}
