// SPDX-License-Identifier: MIT
/*
 * command.c - the gpuvm command: one table of subcommands, `gpuvm help`,
 * `gpuvm CMD --help`, and the small helpers every subcommand shares.
 *
 * See Documentation/gpuvm-cli.rst for the manual.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"
#include <gpuvmfs/gpuvmfs.h>

static int cmd_help(int argc, char **argv);

#define SOURCE_USAGE							\
	"  --mount DIR    read and write through the gpuvmfs mounted at DIR\n" \
	"  --direct       read the state segments even when gpuvmfs is mounted\n" \
	"  --rundir DIR   the run directory of the segments\n"		\
	"                 (default: $GPUVM_RUNDIR, else your own " GPUVM_RUNDIR_DEFAULT ";\n" \
	"                 root reads every user's)\n"

static const struct gpuvm_cmd cmds[] = {
	{ "run", cmd_run, "run a program under gpuvm (the preload shim)",
	  "usage: gpuvm run [--mount DIR] [--set KNOB=VALUE]... [--rundir DIR]\n"
	  "                 [--driver real|cudasim|PATH] [--keep-framework-cache] [-q]\n"
	  "                 [--] PROGRAM [ARGS...]\n"
	  "\n"
	  "Run an unmodified CUDA program with gpuvm managing its device memory.\n"
	  "\n"
	  "  --mount DIR        mount gpuvmfs at DIR for the run unless one is there\n"
	  "  --set KNOB=VALUE   a policy default for the program (GPUVM_<KNOB>);\n"
	  "                     validated first, may be repeated\n"
	  "  --rundir DIR       the run directory (default: $GPUVM_RUNDIR, else\n"
	  "                     your own " GPUVM_RUNDIR_DEFAULT ")\n"
	  "  --driver WHICH     the CUDA driver the program gets: real (NVIDIA's\n"
	  "                     libcuda.so.1), cudasim (built beside gpuvm) or a\n"
	  "                     file; default $GPUVM_LIBCUDA, else real when it\n"
	  "                     initializes a device, else cudasim\n"
	  "  --keep-framework-cache\n"
	  "                     leave PyTorch's caching allocator on (by default\n"
	  "                     PYTORCH_NO_CUDA_MEMORY_CACHING=1 is set unless\n"
	  "                     it or PYTORCH_CUDA_ALLOC_CONF is already set)\n"
	  "  -q, --quiet        do not print the driver and framework lines\n"
	  "\n"
	  "Exit status: the program's, 128+N when signal N ended it, 127 when it\n"
	  "cannot be run, 2 for bad arguments.\n" },
	{ "ps", cmd_ps, "list the processes using gpuvm",
	  "usage: gpuvm ps [--mount DIR | --direct] [--rundir DIR]\n"
	  "\n"
	  "One line per process: pid, user, program, devices, requested, mapped,\n"
	  "cached and limit bytes, live allocations, fragmentation, driver.\n"
	  "\n" SOURCE_USAGE },
	{ "status", cmd_status, "show a process's /gpuvm/<pid>/status",
	  "usage: gpuvm status [--device N] [--mount DIR | --direct] [--rundir DIR] PID\n"
	  "\n"
	  "Print the status of PID (key: value lines), for one device with --device.\n"
	  "\n" SOURCE_USAGE },
	{ "maps", cmd_maps, "show a process's allocations (/gpuvm/<pid>/maps)",
	  "usage: gpuvm maps [--device N] [--mount DIR | --direct] [--rundir DIR] PID\n"
	  "\n"
	  "One line per live allocation: start-end flags device id requested\n"
	  "max_size chunks.\n"
	  "\n" SOURCE_USAGE },
	{ "pagetable", cmd_pagetable, "show a process's page table",
	  "usage: gpuvm pagetable [--device N] [--mount DIR | --direct] [--rundir DIR] PID\n"
	  "\n"
	  "One line per granule in use: va state chunk:part owner access.\n"
	  "\n" SOURCE_USAGE },
	{ "set", cmd_set, "change a live policy knob of a process",
	  "usage: gpuvm set [--device N] [--mount DIR | --direct] [--rundir DIR] PID KNOB=VALUE...\n"
	  "       gpuvm set --list\n"
	  "\n"
	  "Validate each value with the knob schema, then hand it to the process\n"
	  "and wait until it applied it.  Errors are those of a write to\n"
	  "/gpuvm/<pid>/policy/<knob>: EINVAL or ERANGE for a bad value, EACCES\n"
	  "for a knob read only at start, ESRCH for no such process.  --list\n"
	  "prints the schema.\n"
	  "\n" SOURCE_USAGE },
	{ "reclaim", cmd_reclaim, "hand a process's cached chunks back to the driver",
	  "usage: gpuvm reclaim [--device N] [--mount DIR | --direct] [--rundir DIR] PID [all|SIZE]\n"
	  "\n"
	  "Ask PID to release cached physical memory: everything (all, the\n"
	  "default) or at least SIZE bytes (K/M/G suffixes).\n"
	  "\n" SOURCE_USAGE },
	{ "top", cmd_top, "live view of every process, refreshed each second",
	  "usage: gpuvm top [--once | -n N] [-d SECONDS] [--no-color] [--width COLS]\n"
	  "                 [--mount DIR | --direct] [--rundir DIR] [PID...]\n"
	  "\n"
	  "Per process and device: mapped, requested, cached and limit bytes,\n"
	  "fragmentation, driver calls per second, and a bar of the arena's used\n"
	  "span: '#' mapped, '+' cached, 'o' reserved, '.' free.  Its text, \"102M\n"
	  "used span of 512M arena\", names the used span (the arena's base to the\n"
	  "end of its last granule in use: what the bar draws) and the arena's\n"
	  "size (the whole virtual range reserved for the device).  q or Ctrl-C\n"
	  "quits.\n"
	  "\n"
	  "  --once         print one frame and exit (no screen control)\n"
	  "  -n N           print N frames, then exit\n"
	  "  -d SECONDS     refresh interval (default 1)\n"
	  "  --no-color     no colours (nor with $NO_COLOR or when not a terminal)\n"
	  "  --width COLS   fit every line of a frame in COLS columns, at least 40\n"
	  "                 (default: the terminal's width; not a terminal, the\n"
	  "                 whole table's, 92).  Narrower than the table, columns\n"
	  "                 go: INTFRAG, LIMIT, CALLS/s, EXTFRAG, REQUESTED, CACHED;\n"
	  "                 a bar takes what its line leaves; other lines wrap.\n"
	  "\n" SOURCE_USAGE },
	{ "map", cmd_map, "draw a process's address space as an SVG picture",
	  "usage: gpuvm map [--device N] [--mount DIR | --direct] [--rundir DIR] PID --svg FILE\n"
	  "\n"
	  "Write the arena's used span as SVG: rows of cells, one per granule or\n"
	  "stretch of granules; allocations in the colours of a qualitative palette\n"
	  "taken in address order, hatched or dotted each time it comes round, so\n"
	  "neighbours never look alike; cached ranges hatched grey, holes white,\n"
	  "chunk starts as ticks; a legend of the allocations (id, first address,\n"
	  "bytes usable, bytes requested).  FILE - writes to stdout.\n"
	  "\n" SOURCE_USAGE },
	{ "exporter", cmd_exporter, "serve /gpuvm/metrics over HTTP for Prometheus",
	  "usage: gpuvm exporter [--listen ADDR:PORT] [--mount DIR | --direct] [--rundir DIR]\n"
	  "\n"
	  "Serve the text of /gpuvm/metrics at http://ADDR:PORT/metrics for a\n"
	  "Prometheus server to scrape, until SIGINT or SIGTERM.  It needs no FUSE:\n"
	  "with no gpuvmfs serving the run directory, it reads the segments.  The\n"
	  "first line says where it listens and what it reads.\n"
	  "\n"
	  "  --listen ADDR:PORT\n"
	  "                 where to listen (default " GPUVMFS_METRICS_LISTEN ": this machine\n"
	  "                 only); 0.0.0.0:PORT or [::]:PORT for every interface,\n"
	  "                 [::1]:PORT; PORT alone is 127.0.0.1:PORT, 0 any free port\n"
	  "\n" SOURCE_USAGE },
	{ "driver", cmd_driver, "say which CUDA driver runs here",
	  "usage: gpuvm driver [--driver real|cudasim|PATH]\n"
	  "\n"
	  "Say in one line which CUDA driver gpuvm run would give a program: the\n"
	  "real driver with its version and devices, or cudasim.  It is chosen as\n"
	  "gpuvm run chooses (--driver; $GPUVM_LIBCUDA; the real libcuda.so.1 when\n"
	  "it initializes a device; else the cudasim built beside gpuvm) and\n"
	  "opened in a child process.  Exit status 1 when none initializes.\n" },
	{ "trace", cmd_trace, "record and inspect allocation traces",
	  "usage: gpuvm trace dump FILE\n"
	  "       gpuvm trace convert IN OUT [--capacity SIZE]\n"
	  "\n"
	  "dump prints a trace as text; convert writes any readable trace (a gpuvm\n"
	  "trace or an RMM log CSV) in gpuvm's binary format.\n" },
	{ "replay", cmd_replay, "replay a trace through gpuvm and allocator models",
	  "usage: gpuvm replay ...   (see gpuvm replay --help)\n" },
	{ "stress", cmd_stress, "stress test with data verification",
	  "usage: gpuvm stress [--duration TIME] ...\n" },
	{ "help", cmd_help, "list the subcommands, or show one's usage",
	  "usage: gpuvm help [CMD]\n" },
};

#define NR_CMDS	(sizeof(cmds) / sizeof(cmds[0]))

const struct gpuvm_cmd *cli_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void cli_usage(const char *name, bool to_stderr)
{
	const struct gpuvm_cmd *c = cli_find_cmd(name);

	if (c)
		fputs(c->usage, to_stderr ? stderr : stdout);
}

static void overview(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gpuvm CMD [ARGS...]\n"
		   "       gpuvm CMD --help\n\n"
		   "gpuvm manages GPU memory in fixed-size chunks behind one virtual\n"
		   "range per device; this command runs programs under it and shows\n"
		   "and tunes them.  Commands:\n\n");
	for (i = 0; i < NR_CMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nSee Documentation/gpuvm-cli.rst.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		overview(stdout);
		return 0;
	}
	if (argc > 2 || !cli_find_cmd(argv[1])) {
		cli_err("help", "no such command '%s' (try: gpuvm help)", argv[1]);
		return EXIT_USAGE;
	}
	cli_usage(argv[1], false);
	return 0;
}

void cli_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpuvm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A pid: decimal, > 0, nothing trailing.  Return: 0 or EXIT_USAGE. */
int cli_parse_pid(const char *cmd, const char *text, pid_t *pid)
{
	uint64_t v;

	if (cli_parse_uint(cmd, "PID", text, INT_MAX, &v))
		return EXIT_USAGE;
	if (!v) {
		cli_err(cmd, "PID: '%s' is not a process id", text);
		return EXIT_USAGE;
	}
	*pid = (pid_t)v;
	return 0;
}

/* A decimal number in [0, max].  Return: 0 or EXIT_USAGE (reported). */
int cli_parse_uint(const char *cmd, const char *what, const char *text, uint64_t max,
		   uint64_t *val)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!text || text[0] < '0' || text[0] > '9')
		goto bad;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		goto bad;
	*val = v;
	return 0;
bad:
	cli_err(cmd, "%s: '%s' is not a number in [0, %" PRIu64 "]", what, text ? text : "",
		max);
	return EXIT_USAGE;
}

/* Bytes as "1.5G", "640M", "12K", "512B". */
void cli_human(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else if (v < 10.0 && v != (double)(uint64_t)v)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

/* @path without its last component ("/" stays). */
static void strip_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash && slash != path)
		*slash = '\0';
}

/*
 * The directory libgpuvm was loaded from: the shim and cudasim are
 * installed beside it (libdir, libdir/gpuvm/cudasim) wherever libdir is.
 */
const char *cli_lib_dir(void)
{
	static char dir[PATH_MAX];
	Dl_info info;

	if (dir[0])
		return dir;
	if (!dladdr((void *)gpuvm_init, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, dir)) {
		snprintf(dir, sizeof(dir), "%s/../lib", cli_self_dir());
		return dir;
	}
	strip_last(dir);
	return dir;
}

/* The directory of this executable (for the shim and gpuvmfs beside it). */
const char *cli_self_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0) {
		strcpy(dir, ".");
		return dir;
	}
	dir[n] = '\0';
	strip_last(dir);
	return dir;
}

int main(int argc, char **argv)
{
	const struct gpuvm_cmd *c;

	if (argc < 2) {
		overview(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		printf("gpuvm segment ABI %d.%d\n", GPUVM_SEG_VERSION_MAJOR,
		       GPUVM_SEG_VERSION_MINOR);
		return 0;
	}
	c = cli_find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "gpuvm: no such command '%s' (try: gpuvm help)\n", argv[1]);
		return EXIT_USAGE;
	}
	/* `gpuvm CMD --help` for every command; replay and stress own theirs */
	if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) &&
	    c->fn != cmd_replay && c->fn != cmd_stress) {
		cli_usage(c->name, false);
		return 0;
	}
	/* stress drives a device itself: the driver gpuvm run would choose */
	if (c->fn == cmd_stress) {
		struct cli_driver drv;

		if (!cli_driver_pick(NULL, &drv))
			cli_driver_export(&drv);
	}
	return c->fn(argc - 1, argv + 1);
}
