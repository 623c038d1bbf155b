// SPDX-License-Identifier: MIT
/*
 * top.c - `gpuvm top`: a live view of every process using gpuvm.
 *
 * Each second, per process and device: mapped, requested, cached and
 * limit bytes, fragmentation (external: 1 - largest mappable run / free
 * physical; internal: 1 - requested / mapped), driver calls per second
 * (the difference of the status counters between two frames), and a bar
 * of the arena's used span, one character per stretch of granules:
 *
 *   '#' mapped   '+' cached   'o' reserved   '.' free
 *
 * so a person sees the holes.  --once and -n N print frames without
 * screen control (for scripts and tests); q or Ctrl-C ends the live view.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "gpuvm.h"

#define MAX_TRACKED	256
#define BAR_MIN		16
#define BAR_MAX		512

struct top_opts {
	struct cli_source src;
	bool color;
	long frames;		/* 0: until quit */
	long interval_ms;
	int width;		/* bar columns */
	pid_t *only;		/* PIDs to show, or NULL for all */
	size_t nr_only;
};

/* Driver-call counters of the last frame, for the rate. */
static struct {
	pid_t pid;
	int dev;
	uint64_t calls;
	double when;		/* seconds, CLOCK_MONOTONIC */
} seen[MAX_TRACKED];
static size_t nr_seen;

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	quit = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Calls per second since the last frame, or -1 on the first. */
static double call_rate(pid_t pid, int dev, uint64_t calls)
{
	double t = now_s(), rate = -1.0;
	size_t i;

	for (i = 0; i < nr_seen; i++) {
		if (seen[i].pid != pid || seen[i].dev != dev)
			continue;
		if (t > seen[i].when && calls >= seen[i].calls)
			rate = (double)(calls - seen[i].calls) / (t - seen[i].when);
		seen[i].calls = calls;
		seen[i].when = t;
		return rate;
	}
	if (nr_seen < MAX_TRACKED)
		seen[nr_seen++] = (typeof(seen[0])){ pid, dev, calls, t };
	return rate;
}

static const char cell_char[CELL_NR] = {
	[CELL_FREE] = '.', [CELL_RESERVED] = 'o', [CELL_MAPPED] = '#',
	[CELL_CACHED] = '+', [CELL_OTHER] = '?',
};

static const char *const cell_color[CELL_NR] = {
	[CELL_FREE] = "\033[2m", [CELL_RESERVED] = "\033[34m", [CELL_MAPPED] = "\033[32m",
	[CELL_CACHED] = "\033[33m", [CELL_OTHER] = "\033[31m",
};

/*
 * The bar: the arena from its base to the end of the last granule in
 * use, @width columns, each showing the state most of its granules are in.
 */
static void draw_bar(const struct cli_arena *a, int width, bool color)
{
	uint64_t span, per, col_end;
	unsigned int count[CELL_NR];
	size_t i = 0;
	int col, c, best, last = -1;
	char human_span[16], human_arena[16];

	if (!a->nr) {
		printf("      [%*s] nothing mapped\n", width, "");
		return;
	}
	span = a->pte[a->nr - 1].va + a->granule - a->base;
	if (a->pte[0].va < a->base)	/* a table not from the status's arena */
		span = a->pte[a->nr - 1].va + a->granule - a->pte[0].va;
	per = (span + width - 1) / width;
	if (per < a->granule)
		per = a->granule;
	printf("      [");
	for (col = 0; col < width; col++) {
		uint64_t col_start = a->base + (uint64_t)col * per;
		unsigned int listed = 0;

		col_end = col_start + per;
		memset(count, 0, sizeof(count));
		if (col_start >= a->base + span) {
			break;
		}
		while (i < a->nr && a->pte[i].va < col_end) {
			if (a->pte[i].va >= col_start) {
				count[a->pte[i].cell]++;
				listed++;
			}
			i++;
		}
		count[CELL_FREE] += per / a->granule > listed ? per / a->granule - listed : 0;
		best = CELL_FREE;
		for (c = 0; c < CELL_NR; c++)
			if (count[c] > count[best] || (count[c] && count[c] == count[best] &&
						       c == CELL_MAPPED))
				best = c;
		if (color && best != last)
			fputs(cell_color[best], stdout);
		last = best;
		putchar(cell_char[best]);
	}
	if (color)
		fputs("\033[0m", stdout);
	printf("%*s]", width - col, "");
	cli_human(human_span, sizeof(human_span), span);
	cli_human(human_arena, sizeof(human_arena), a->size);
	printf(" %s of %s\n", human_span, human_arena);
}

static void show_device(const struct top_opts *o, pid_t pid, const char *comm, int dev)
{
	char mapped[16], req[16], cached[16], limit[16], rate[16];
	struct cli_arena a;
	char *st;
	double r;

	if (cli_read(&o->src, pid, dev, CLI_STATUS, &st))
		return;
	cli_human(mapped, sizeof(mapped), cli_status_u64(st, "mapped"));
	cli_human(req, sizeof(req), cli_status_u64(st, "requested"));
	cli_human(cached, sizeof(cached), cli_status_u64(st, "cached"));
	if (cli_status_u64(st, "limit"))
		cli_human(limit, sizeof(limit), cli_status_u64(st, "limit"));
	else
		strcpy(limit, "-");
	r = call_rate(pid, dev, cli_status_driver_calls(st));
	if (r < 0)
		strcpy(rate, "-");
	else
		snprintf(rate, sizeof(rate), "%.0f", r);
	printf("%7d %-15s %3d %9s %9s %9s %9s %6.1f%% %6.1f%% %8s\n", (int)pid, comm, dev,
	       mapped, req, cached, limit, 100.0 * cli_status_double(st, "frag_external"),
	       100.0 * cli_status_double(st, "frag_internal"), rate);
	free(st);
	if (!cli_arena_load(&o->src, pid, dev, &a)) {
		draw_bar(&a, o->width, o->color);
		cli_arena_free(&a);
	}
}

static bool wanted(const struct top_opts *o, pid_t pid)
{
	size_t i;

	if (!o->nr_only)
		return true;
	for (i = 0; i < o->nr_only; i++)
		if (o->only[i] == pid)
			return true;
	return false;
}

static int frame(const struct top_opts *o, bool live)
{
	char when[32], comm[GPUVM_SEG_COMM + 1], devs[64], how[8400], *st, *p, *end;
	time_t t = time(NULL);
	pid_t *pids;
	size_t nr, i, shown = 0;
	int err;

	err = cli_list_pids(&o->src, &pids, &nr);
	if (err) {
		cli_err("top", "%s", strerror(-err));
		return 1;
	}
	if (live)
		fputs("\033[H\033[2J", stdout);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	cli_source_describe(&o->src, how, sizeof(how));
	printf("gpuvm top - %s, %zu process%s, %s\n", when, nr, nr == 1 ? "" : "es", how);
	printf("%7s %-15s %3s %9s %9s %9s %9s %7s %7s %8s\n", "PID", "COMM", "DEV", "MAPPED",
	       "REQUESTED", "CACHED", "LIMIT", "EXTFRAG", "INTFRAG", "CALLS/s");
	for (i = 0; i < nr; i++) {
		if (!wanted(o, pids[i]))
			continue;
		if (cli_read(&o->src, pids[i], -1, CLI_STATUS, &st))
			continue;
		if (!cli_status_str(st, "comm", comm, sizeof(comm)))
			strcpy(comm, "?");
		if (!cli_status_str(st, "devices", devs, sizeof(devs)))
			devs[0] = '\0';
		free(st);
		shown++;
		for (p = devs; *p; p = end) {
			long dev = strtol(p, &end, 10);

			if (end == p)
				break;
			if (dev >= 0 && dev < GPUVM_SEG_MAX_DEVICES)
				show_device(o, pids[i], comm, (int)dev);
		}
	}
	if (!shown)
		printf("(no process is using gpuvm)\n");
	printf("bar: '#' mapped  '+' cached  'o' reserved  '.' free%s\n",
	       live ? "   (q quits)" : "");
	fflush(stdout);
	free(pids);
	return 0;
}

/* Sleep one interval; true when the user asked to quit. */
static bool wait_key(long ms, bool tty)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;

	if (!tty) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return quit;
	}
	if (poll(&pfd, 1, (int)ms) > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
	    (c == 'q' || c == 'Q'))
		return true;
	return quit;
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col - 30;
	return 64;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "once", no_argument, NULL, '1' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct top_opts o = { .interval_ms = 1000, .frames = 0 };
	struct cli_source_opts so = { 0 };
	struct termios old_tio, tio;
	bool no_color = false, live, tty = false;
	struct sigaction sa;
	uint64_t v;
	long n;
	int c, err, ret = 0, width = 0;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:d:h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		switch (c) {
		case '1':
			o.frames = 1;
			break;
		case 'n':
			if (cli_parse_uint("top", "-n", optarg, 1000000, &v))
				return EXIT_USAGE;
			if (!v) {
				cli_err("top", "-n: at least one frame");
				return EXIT_USAGE;
			}
			o.frames = v;
			break;
		case 'd':
			if (cli_parse_uint("top", "-d", optarg, 3600, &v))
				return EXIT_USAGE;
			if (!v) {
				cli_err("top", "-d: at least 1 second");
				return EXIT_USAGE;
			}
			o.interval_ms = v * 1000;
			break;
		case 'C':
			no_color = true;
			break;
		case 'w':
			if (cli_parse_uint("top", "--width", optarg, BAR_MAX, &v))
				return EXIT_USAGE;
			if (v < BAR_MIN) {
				cli_err("top", "--width: at least %d", BAR_MIN);
				return EXIT_USAGE;
			}
			width = (int)v;
			break;
		case 'h':
			cli_usage("top", false);
			return 0;
		default:
			cli_usage("top", true);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		o.only = calloc(argc - optind, sizeof(*o.only));
		if (!o.only)
			return 1;
		for (i = 0; optind < argc; optind++, i++) {
			if (cli_parse_pid("top", argv[optind], &o.only[i])) {
				free(o.only);
				return EXIT_USAGE;
			}
		}
		o.nr_only = i;
	}
	err = cli_source_init("top", &so, &o.src);
	if (err) {
		free(o.only);
		return err;
	}
	live = o.frames == 0 && isatty(STDOUT_FILENO);
	o.color = !no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	o.width = width ? width : term_width();
	if (o.width < BAR_MIN)
		o.width = BAR_MIN;
	if (o.width > BAR_MAX)
		o.width = BAR_MAX;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (live && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old_tio) == 0) {
		tio = old_tio;
		tio.c_lflag &= ~(ICANON | ECHO);
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
		tty = true;
	}
	for (n = 0; !quit && (!o.frames || n < o.frames); n++) {
		if (n && wait_key(o.interval_ms, tty))
			break;
		ret = frame(&o, live);
		if (ret)
			break;
		if (o.frames > 1 && n + 1 < o.frames)
			putchar('\n');
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &old_tio);
	free(o.only);
	return ret;
}
