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
 * so a person sees the holes.  The bar's text names its two sizes: the
 * used span (the arena's base to the end of its last granule in use, what
 * the bar draws) and the arena (the whole virtual range reserved for the
 * device): "102M used span of 512M arena".  --once and -n N print frames without
 * screen control (for scripts and tests); q or Ctrl-C ends the live view.
 *
 * Every line of a frame fits its width (--width, else the terminal's):
 * a narrower frame drops table columns in a fixed order, each bar takes
 * what its line leaves, and the other lines wrap.
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

#include "command.h"

#define MAX_TRACKED	256
#define FRAME_MIN	40	/* columns: PID, COMM, DEV, MAPPED and a bar */
#define FRAME_MAX	512
#define BAR_MIN		16	/* columns; else the bar's text goes under it */
#define BAR_INDENT	6
#define WRAP_INDENT	2	/* a wrapped line goes on under its first */

enum top_col {
	COL_PID, COL_COMM, COL_DEV, COL_MAPPED, COL_REQUESTED, COL_CACHED, COL_LIMIT,
	COL_EXTFRAG, COL_INTFRAG, COL_CALLS, NR_COLS
};

/*
 * The table, left to right.  A frame narrower than the whole table drops
 * columns, highest @drop first; those with none always stay.
 */
static const struct {
	const char *name;
	int width;		/* columns */
	bool left;		/* aligned left, not right */
	int drop;
} cols[NR_COLS] = {
	[COL_PID] = { "PID", 7 },
	[COL_COMM] = { "COMM", 15, .left = true },
	[COL_DEV] = { "DEV", 3 },
	[COL_MAPPED] = { "MAPPED", 9 },
	[COL_REQUESTED] = { "REQUESTED", 9, .drop = 2 },
	[COL_CACHED] = { "CACHED", 9, .drop = 1 },
	[COL_LIMIT] = { "LIMIT", 9, .drop = 5 },
	[COL_EXTFRAG] = { "EXTFRAG", 7, .drop = 3 },
	[COL_INTFRAG] = { "INTFRAG", 7, .drop = 6 },
	[COL_CALLS] = { "CALLS/s", 8, .drop = 4 },
};

struct top_opts {
	struct cli_source src;
	bool color;
	long frames;		/* 0: until quit */
	long interval_ms;
	int width_opt;		/* --width, in columns; 0: the terminal's */
	int width;		/* this frame's, in columns */
	unsigned int shown;	/* this frame's columns, bit (1 << enum top_col) */
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

/* Columns of a table of @shown columns. */
static int table_width(unsigned int shown)
{
	int c, w = -1;

	for (c = 0; c < NR_COLS; c++)
		if (shown & (1u << c))
			w += 1 + cols[c].width;
	return w;
}

/* The columns a frame @width wide shows: all that fit, in drop order. */
static unsigned int columns_for(int width)
{
	unsigned int shown = (1u << NR_COLS) - 1;
	int c, victim;

	while (table_width(shown) > width) {
		victim = -1;
		for (c = 0; c < NR_COLS; c++)
			if ((shown & (1u << c)) && cols[c].drop &&
			    (victim < 0 || cols[c].drop > cols[victim].drop))
				victim = c;
		if (victim < 0)
			break;
		shown &= ~(1u << victim);
	}
	return shown;
}

/* One table line: each value cut to its column, so the line fits. */
static void print_row(const struct top_opts *o, const char *const val[NR_COLS])
{
	const char *sep = "";
	int c;

	for (c = 0; c < NR_COLS; c++) {
		if (!(o->shown & (1u << c)))
			continue;
		printf(cols[c].left ? "%s%-*.*s" : "%s%*.*s", sep, cols[c].width, cols[c].width,
		       val[c]);
		sep = " ";
	}
	putchar('\n');
}

/*
 * @text in lines of at most @width columns, broken at spaces (a word
 * longer than a line is cut); lines after the first are indented.
 */
static void put_wrapped(const char *text, int width)
{
	const char *s = text;
	bool empty = true;	/* nothing on this line but the indent */
	int col = 0, sp, len, n;

	while (*s) {
		sp = (int)strspn(s, " ");
		len = (int)strcspn(s + sp, " ");
		s += sp;
		if (!len)
			break;		/* trailing spaces */
		if (!empty && col + sp + len > width) {
			/* the spaces go at the break */
			printf("\n%*s", WRAP_INDENT, "");
			col = WRAP_INDENT;
		} else if (!empty) {
			printf("%*s", sp, "");
			col += sp;
		}
		for (; len; len -= n, s += n) {
			if (col == width) {
				printf("\n%*s", WRAP_INDENT, "");
				col = WRAP_INDENT;
			}
			n = len < width - col ? len : width - col;
			printf("%.*s", n, s);
			col += n;
		}
		empty = false;
	}
	putchar('\n');
}

/*
 * The bar line of a device: the arena from its base to the end of the
 * last granule in use, one character per stretch, each showing the state
 * most of its granules are in; as wide as the frame leaves it, its text
 * on a line of its own when that would leave less than BAR_MIN.
 */
static void draw_bar(const struct cli_arena *a, int frame_width, bool color)
{
	uint64_t span, per, col_end;
	unsigned int count[CELL_NR];
	size_t i = 0;
	int width, col, c, best, last = -1;
	char human_span[16], human_arena[16], text[64];
	bool below;

	/* "      [" BAR "] " TEXT */
	if (!a->nr) {
		width = frame_width - BAR_INDENT - 3 - (int)strlen("nothing mapped");
		printf("%*s[%*s] nothing mapped\n", BAR_INDENT, "", width, "");
		return;
	}
	span = a->pte[a->nr - 1].va + a->granule - a->base;
	if (a->pte[0].va < a->base)	/* a table not from the status's arena */
		span = a->pte[a->nr - 1].va + a->granule - a->pte[0].va;
	cli_human(human_span, sizeof(human_span), span);
	cli_human(human_arena, sizeof(human_arena), a->size);
	snprintf(text, sizeof(text), "%s used span of %s arena", human_span, human_arena);
	width = frame_width - BAR_INDENT - 3 - (int)strlen(text);
	below = width < BAR_MIN;
	if (below)
		width = frame_width - BAR_INDENT - 2;
	per = (span + width - 1) / width;
	if (per < a->granule)
		per = a->granule;
	printf("%*s[", BAR_INDENT, "");
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
	if (below)
		printf("\n%*s%s\n", BAR_INDENT, "", text);
	else
		printf(" %s\n", text);
}

static void show_device(const struct top_opts *o, pid_t pid, const char *comm, int dev)
{
	char id[16], ord[16], mapped[16], req[16], cached[16], limit[16], ext[16], in[16];
	char rate[16];
	const char *val[NR_COLS] = {
		[COL_PID] = id, [COL_COMM] = comm, [COL_DEV] = ord, [COL_MAPPED] = mapped,
		[COL_REQUESTED] = req, [COL_CACHED] = cached, [COL_LIMIT] = limit,
		[COL_EXTFRAG] = ext, [COL_INTFRAG] = in, [COL_CALLS] = rate,
	};
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
	snprintf(id, sizeof(id), "%d", (int)pid);
	snprintf(ord, sizeof(ord), "%d", dev);
	snprintf(ext, sizeof(ext), "%.1f%%", 100.0 * cli_status_double(st, "frag_external"));
	snprintf(in, sizeof(in), "%.1f%%", 100.0 * cli_status_double(st, "frag_internal"));
	print_row(o, val);
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

/* The terminal's width; not a terminal, the whole table's. */
static int frame_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return table_width((1u << NR_COLS) - 1);
}

static int frame(struct top_opts *o, bool live)
{
	char when[32], comm[GPUVM_SEG_COMM + 1], devs[64], how[8400], line[8800], *st, *p, *end;
	const char *names[NR_COLS];
	time_t t = time(NULL);
	pid_t *pids;
	size_t nr, i, shown = 0;
	int c, err;

	/* followed each frame, so a resized terminal gets frames that fit */
	o->width = o->width_opt ? o->width_opt : frame_width();
	if (o->width < FRAME_MIN)
		o->width = FRAME_MIN;
	if (o->width > FRAME_MAX)
		o->width = FRAME_MAX;
	o->shown = columns_for(o->width);

	err = cli_list_pids(&o->src, &pids, &nr);
	if (err) {
		cli_err("top", "%s", strerror(-err));
		return 1;
	}
	if (live)
		fputs("\033[H\033[2J", stdout);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	cli_source_describe(&o->src, how, sizeof(how));
	snprintf(line, sizeof(line), "gpuvm top - %s, %zu process%s, %s", when, nr,
		 nr == 1 ? "" : "es", how);
	put_wrapped(line, o->width);
	for (c = 0; c < NR_COLS; c++)
		names[c] = cols[c].name;
	print_row(o, names);
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
	snprintf(line, sizeof(line), "bar: '#' mapped  '+' cached  'o' reserved  '.' free%s",
		 live ? "   (q quits)" : "");
	put_wrapped(line, o->width);
	put_wrapped("used span: arena base to last granule in use (the bar); "
		    "arena: its VA range", o->width);
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
	int c, err, ret = 0;
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
			if (cli_parse_uint("top", "--width", optarg, FRAME_MAX, &v))
				return EXIT_USAGE;
			if (v < FRAME_MIN) {
				cli_err("top", "--width: at least %d columns", FRAME_MIN);
				return EXIT_USAGE;
			}
			o.width_opt = (int)v;
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
