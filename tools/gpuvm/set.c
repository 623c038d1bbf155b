// SPDX-License-Identifier: MIT
/*
 * set.c - `gpuvm set` and `gpuvm reclaim`: change a live process's policy.
 *
 * Through /gpuvm/<pid>/[dev<N>/]policy/<knob> when mounted, else by
 * writing the process's control segment with gpuvmfs's writer; values are
 * checked with the schema (gpuvm_knob_parse, gpuvm_knob_check) first on
 * both paths, so a bad value gets the same errno as `echo` into the file
 * and nothing changes.  Several KNOB=VALUE pairs are applied in order; the
 * first refused one stops the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvm/segment.h>

#include "gpuvm.h"

/* The schema, as `gpuvm set --list` prints it. */
static void list_knobs(void)
{
	int i, n = gpuvm_knob_count();
	char def[128];

	printf("%-20s %-6s %-22s %s\n", "KNOB", "TYPE", "DEFAULT", "DESCRIPTION");
	for (i = 0; i < n; i++) {
		static const char *const types[] = { "size", "uint", "bool", "enum" };
		const struct gpuvm_knob *k = gpuvm_knob_at(i);

		if (!k)
			continue;
		if (gpuvm_knob_format(k, k->def, def, sizeof(def)) < 0)
			strcpy(def, "?");
		printf("%-20s %-6s %-22s %s%s%s\n", k->name,
		       (unsigned int)k->type < 4 ? types[k->type] : "?", def,
		       k->help ? k->help : "", k->init_only ? " (at start only)" : "",
		       k->new_allocs_only ? " (new allocations)" : "");
	}
}

/* Common to set and reclaim: [--device N] source options, then a PID. */
static int parse_common(const char *cmd, int argc, char **argv, struct cli_source *src,
			int *dev, pid_t *pid, bool *list)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "device", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct cli_source_opts so = { 0 };
	uint64_t v;
	int c;

	*dev = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		if (c == 'd') {
			if (cli_parse_uint(cmd, "--device", optarg, GPUVM_SEG_MAX_DEVICES - 1, &v))
				return EXIT_USAGE;
			*dev = (int)v;
			continue;
		}
		if (c == 'l' && list) {
			*list = true;
			return 0;
		}
		if (c == 'h') {
			cli_usage(cmd, false);
			return -1;
		}
		cli_usage(cmd, true);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		cli_err(cmd, "no PID given");
		cli_usage(cmd, true);
		return EXIT_USAGE;
	}
	if (cli_parse_pid(cmd, argv[optind], pid))
		return EXIT_USAGE;
	optind++;
	return cli_source_init(cmd, &so, src);
}

int cmd_set(int argc, char **argv)
{
	char name[GPUVM_SEG_KNOB_NAME];
	struct cli_source src;
	bool list = false;
	int dev, ret, i, first, err;
	pid_t pid;

	ret = parse_common("set", argc, argv, &src, &dev, &pid, &list);
	if (list) {
		list_knobs();
		return 0;
	}
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind >= argc) {
		cli_err("set", "no KNOB=VALUE given");
		return EXIT_USAGE;
	}
	first = optind;
	/* every pair is checked before any is applied: all or, on a typo, none */
	for (i = first; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : 0;

		if (!eq || !len || len >= sizeof(name)) {
			cli_err("set", "'%s': expected KNOB=VALUE", argv[i]);
			return EXIT_USAGE;
		}
		memcpy(name, argv[i], len);
		name[len] = '\0';
		err = cli_check_knob(name, eq + 1, NULL, NULL);
		if (err == -ENOENT) {
			cli_err("set", "%s: no such knob (gpuvm set --list)", name);
			return EXIT_USAGE;
		}
		if (err) {
			cli_err("set", "%s: %s", argv[i], strerror(-err));
			return EXIT_USAGE;
		}
	}
	for (i = first; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t len = eq - argv[i];

		memcpy(name, argv[i], len);
		name[len] = '\0';
		err = cli_write_knob(&src, pid, dev, name, eq + 1);
		if (err == -ESRCH || (err == -ENOENT && dev < 0)) {
			cli_err("set", "%d: no such process using gpuvm", (int)pid);
			return 1;
		}
		if (err) {
			cli_err("set", "%d %s: %s", (int)pid, argv[i], strerror(-err));
			return 1;
		}
	}
	return 0;
}

int cmd_reclaim(int argc, char **argv)
{
	struct cli_source src;
	const char *amount = "all";
	int dev, ret, err;
	pid_t pid;

	ret = parse_common("reclaim", argc, argv, &src, &dev, &pid, NULL);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind < argc)
		amount = argv[optind++];
	if (optind < argc) {
		cli_err("reclaim", "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	err = cli_reclaim(&src, pid, dev, amount);
	if (err == -EINVAL || err == -ERANGE) {
		cli_err("reclaim", "'%s': %s (expected all or a size)", amount, strerror(-err));
		return EXIT_USAGE;
	}
	if (err == -ESRCH) {
		cli_err("reclaim", "%d: no such process using gpuvm", (int)pid);
		return 1;
	}
	if (err) {
		cli_err("reclaim", "%d: %s", (int)pid, strerror(-err));
		return 1;
	}
	return 0;
}
