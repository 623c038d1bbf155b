// SPDX-License-Identifier: MIT
/*
 * ps.c - `gpuvm ps`, `gpuvm status`, `gpuvm maps`, `gpuvm pagetable`:
 * what gpuvm holds in each process, from /gpuvm or from the segments
 * (source.c decides; the text is gpuvmfs's either way).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
	return buf;
}

static void say_source(const struct cli_source *src)
{
	char how[8400];

	cli_source_describe(src, how, sizeof(how));
	printf("# %s\n", how);
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct cli_source_opts so = { 0 };
	struct cli_source src;
	char user[32], comm[GPUVM_SEG_COMM + 1], driver[GPUVM_SEG_DRIVER + 1], state[16];
	char req[16], map[16], cache[16], lim[16], devs[64];
	pid_t *pids;
	size_t nr, i;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		cli_usage("ps", c != 'h');
		return c == 'h' ? 0 : EXIT_USAGE;
	}
	if (optind != argc) {
		cli_err("ps", "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	err = cli_source_init("ps", &so, &src);
	if (err)
		return err;
	err = cli_list_pids(&src, &pids, &nr);
	if (err) {
		cli_err("ps", "%s: %s", src.mount[0] ? src.mount : src.rundir, strerror(-err));
		return 1;
	}
	say_source(&src);
	printf("%7s %-10s %-15s %-5s %9s %9s %9s %9s %6s %6s  %s\n", "PID", "USER", "COMM",
	       "DEVS", "REQUESTED", "MAPPED", "CACHED", "LIMIT", "ALLOCS", "FRAG", "DRIVER");
	for (i = 0; i < nr; i++) {
		char *text;

		if (cli_read(&src, pids[i], -1, CLI_STATUS, &text))
			continue;	/* gone meanwhile */
		if (cli_status_str(text, "state", state, sizeof(state)) && strcmp(state, "ok")) {
			cli_status_str(text, "error", driver, sizeof(driver));
			printf("%7d %-10s %-15s broken segment: %s\n", (int)pids[i], "?", "?",
			       driver);
			free(text);
			continue;
		}
		if (!cli_status_str(text, "comm", comm, sizeof(comm)))
			strcpy(comm, "?");
		if (!cli_status_str(text, "driver", driver, sizeof(driver)))
			strcpy(driver, "?");
		if (!cli_status_str(text, "devices", devs, sizeof(devs)) || !devs[0])
			strcpy(devs, "-");
		cli_human(req, sizeof(req), cli_status_u64(text, "requested"));
		cli_human(map, sizeof(map), cli_status_u64(text, "mapped"));
		cli_human(cache, sizeof(cache), cli_status_u64(text, "cached"));
		if (cli_status_u64(text, "limit"))
			cli_human(lim, sizeof(lim), cli_status_u64(text, "limit"));
		else
			strcpy(lim, "-");
		printf("%7d %-10s %-15s %-5s %9s %9s %9s %9s %6" PRIu64 " %5.1f%%  %s\n",
		       (int)pids[i],
		       user_name((uid_t)cli_status_u64(text, "uid"), user, sizeof(user)),
		       comm, devs, req, map, cache, lim, cli_status_u64(text, "live_allocs"),
		       100.0 * cli_status_double(text, "frag_external"), driver);
		free(text);
	}
	free(pids);
	return 0;
}

/* status, maps and pagetable: one file of one process, printed as is. */
static int show_file(const char *cmd, enum cli_file file, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct cli_source_opts so = { 0 };
	struct cli_source src;
	uint64_t dev = 0;
	bool has_dev = false;
	char *text;
	pid_t pid;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		if (c == 'd') {
			if (cli_parse_uint(cmd, "--device", optarg, GPUVM_SEG_MAX_DEVICES - 1, &dev))
				return EXIT_USAGE;
			has_dev = true;
			continue;
		}
		cli_usage(cmd, c != 'h');
		return c == 'h' ? 0 : EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		cli_err(cmd, optind >= argc ? "no PID given" : "one PID, please");
		cli_usage(cmd, true);
		return EXIT_USAGE;
	}
	if (cli_parse_pid(cmd, argv[optind], &pid))
		return EXIT_USAGE;
	err = cli_source_init(cmd, &so, &src);
	if (err)
		return err;
	err = cli_read(&src, pid, has_dev ? (int)dev : -1, file, &text);
	if (err == -ENOENT) {
		if (has_dev)
			cli_err(cmd, "%d: no such process using gpuvm, or no device %d",
				(int)pid, (int)dev);
		else
			cli_err(cmd, "%d: no such process using gpuvm", (int)pid);
		return 1;
	}
	if (err) {
		cli_err(cmd, "%d: %s", (int)pid, strerror(-err));
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	return show_file("status", CLI_STATUS, argc, argv);
}

int cmd_maps(int argc, char **argv)
{
	return show_file("maps", CLI_MAPS, argc, argv);
}

int cmd_pagetable(int argc, char **argv)
{
	return show_file("pagetable", CLI_PAGETABLE, argc, argv);
}
