// SPDX-License-Identifier: MIT
/*
 * svg.c - `gpuvm map PID --svg FILE`: a process's address space as a
 * picture.
 *
 * The arena's used span (base to the last granule in use) is drawn as rows
 * of cells, one cell per granule (or per stretch of granules when the span
 * is large), left to right, top to bottom:
 *   - mapped: the owning allocation's look, a colour and a fill;
 *   - cached: grey, hatched (physical memory kept for reuse);
 *   - reserved: the owner's look, pale (a growable tail not mapped);
 *   - free: white (a hole in the virtual range);
 * a dark tick at each cell where a new physical chunk starts, and a legend
 * of the allocations from maps.  Plain SVG 1.1, no scripts.
 *
 * Looks: the allocations, in address order, take the colours of a
 * qualitative palette in turn, and each time the palette comes round again
 * the next fill (solid, hatched one way, the other way, dotted), so two
 * allocations next to each other never look the same, nor do any two of
 * the first NR_LOOKS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"

#define CELL		12	/* px per cell, square */
#define COLS		64	/* cells per row */
#define MAX_CELLS	8192	/* larger spans: several granules per cell */
#define LEGEND_MAX	64	/* allocations listed */
#define MARGIN		16
#define PATTERN		6	/* px per period of a hatch or a dot */

/*
 * Tableau 10 less its grey, which the cached hatch already is: nine
 * colours of one weight, far apart; the fills then part what the colours
 * alone would not, for any eye.
 */
static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f",
};

#define NR_COLOURS	(sizeof(palette) / sizeof(palette[0]))
#define NR_FILLS	4	/* solid, hatched /, hatched \, dotted */
#define NR_LOOKS	(NR_COLOURS * NR_FILLS)
#define LOOK_UNLISTED	UINT32_MAX	/* an owner maps does not list */

struct cell {
	uint8_t state;		/* enum cli_cell */
	uint64_t owner;
	bool chunk_start;
};

/* One line of maps: "start-end flags device id requested max_size chunks". */
struct svg_alloc {
	uint64_t start, end;	/* VA, end exclusive: the bytes usable */
	uint64_t id;
	uint64_t requested;	/* bytes */
	bool small;		/* sub-allocated from a slab */
	uint32_t look;		/* its address rank: colour and fill */
};

static int cmp_start(const void *a, const void *b)
{
	const struct svg_alloc *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static int cmp_id(const void *a, const void *b)
{
	const struct svg_alloc *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * The allocations of @maps, each with its look, in two orders: *@by_addr
 * for the legend, *@by_id to find a cell's owner.  Lines that do not
 * parse are skipped.  Return: 0 or -ENOMEM.
 */
static int parse_allocs(const char *maps, struct svg_alloc **by_addr,
			struct svg_alloc **by_id, size_t *nr)
{
	struct svg_alloc *v = NULL, *nv;
	const char *line, *nl;
	size_t n = 0, cap = 0, i;

	for (line = maps; line && *line; line = nl ? nl + 1 : NULL) {
		unsigned long long s, e, id, req;
		char flags[8];
		int d;

		nl = strchr(line, '\n');
		if (sscanf(line, "%llx-%llx %7s %d %llu %llu", &s, &e, flags, &d, &id, &req) != 6)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto out_free;
			v = nv;
		}
		v[n++] = (struct svg_alloc){ .start = s, .end = e, .id = id, .requested = req,
					     .small = flags[0] == 's' };
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_start);
	for (i = 0; i < n; i++)
		v[i].look = (uint32_t)(i % NR_LOOKS);
	*by_id = malloc((n ? n : 1) * sizeof(*v));
	if (!*by_id)
		goto out_free;
	if (n) {
		memcpy(*by_id, v, n * sizeof(*v));
		qsort(*by_id, n, sizeof(*v), cmp_id);
	}
	*by_addr = v;
	*nr = n;
	return 0;

out_free:
	free(v);
	return -ENOMEM;
}

static uint32_t look_of(const struct svg_alloc *by_id, size_t nr, uint64_t owner)
{
	struct svg_alloc key = { .id = owner };
	const struct svg_alloc *a = nr ? bsearch(&key, by_id, nr, sizeof(key), cmp_id) : NULL;

	return a ? a->look : LOOK_UNLISTED;
}

/* A look as an SVG paint: a palette colour, or a pattern of one. */
static void look_paint(FILE *f, uint32_t look, uint64_t owner)
{
	if (look == LOOK_UNLISTED) {	/* its colour by id, solid */
		fputs(palette[owner % NR_COLOURS], f);
		return;
	}
	if (look < NR_COLOURS)
		fputs(palette[look], f);
	else
		fprintf(f, "url(#look%u)", look);
}

/* The patterns of the looks past the solid ones that @nr allocations use. */
static void write_patterns(FILE *f, size_t nr)
{
	static const char stripe[] =
		"<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"2\"/>";
	static const char *const mark[NR_FILLS] = {
		[1] = stripe, [2] = stripe,
		[3] = "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#ffffff\"/>",
	};
	static const char *const turn[NR_FILLS] = {
		[1] = " patternTransform=\"rotate(45)\"", [2] = " patternTransform=\"rotate(-45)\"",
		[3] = "",
	};
	uint32_t look;

	for (look = NR_COLOURS; look < NR_LOOKS && look < nr; look++) {
		unsigned int fill = look / NR_COLOURS;

		fprintf(f, "<pattern id=\"look%u\" width=\"%d\" height=\"%d\" "
			   "patternUnits=\"userSpaceOnUse\"%s><rect width=\"%d\" height=\"%d\" "
			   "fill=\"%s\"/>%s</pattern>\n", look, PATTERN, PATTERN, turn[fill],
			PATTERN, PATTERN, palette[look % NR_COLOURS], mark[fill]);
	}
}

/* fill="..." (and a pale one's opacity) of a cell. */
static void cell_fill(FILE *f, const struct cell *c, const struct svg_alloc *by_id, size_t nr)
{
	fputs(" fill=\"", f);
	switch (c->state) {
	case CELL_MAPPED:
		look_paint(f, look_of(by_id, nr, c->owner), c->owner);
		fputc('"', f);
		break;
	case CELL_RESERVED:
		look_paint(f, look_of(by_id, nr, c->owner), c->owner);
		fputs("\" fill-opacity=\"0.35\"", f);
		break;
	case CELL_CACHED:
		fputs("url(#cached)\"", f);
		break;
	case CELL_OTHER:
		fputs("#000000\"", f);
		break;
	default:
		fputs("#ffffff\"", f);
	}
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
				fputc(*s, f);
		}
	}
}

/* Fold the page table into @nr cells of @per bytes from @start. */
static void fill_cells(const struct cli_arena *a, uint64_t start, uint64_t per,
		       struct cell *cells, size_t nr)
{
	uint32_t last_chunk = GPUVM_NO_CHUNK;
	size_t i, k;

	for (k = 0; k < nr; k++)
		cells[k] = (struct cell){ .state = CELL_FREE };
	for (i = 0; i < a->nr; i++) {
		const struct cli_pte *e = &a->pte[i];

		if (e->va < start)
			continue;
		k = (e->va - start) / per;
		if (k >= nr)
			break;
		/* a cell shows its most telling granule: mapped over cached over the rest */
		if (cells[k].state == CELL_FREE || e->cell == CELL_MAPPED ||
		    (e->cell == CELL_CACHED && cells[k].state != CELL_MAPPED)) {
			cells[k].state = e->cell;
			cells[k].owner = e->owner;
		}
		if (e->chunk != GPUVM_NO_CHUNK && e->chunk != last_chunk)
			cells[k].chunk_start = true;
		last_chunk = e->chunk;
	}
}

/* The states, then the allocations in address order, from @y down. */
static void write_legend(FILE *f, int y, pid_t pid, const struct svg_alloc *allocs,
			 size_t nr)
{
	static const struct { const char *fill, *opacity, *name; } keys[] = {
		{ "#4e79a7", "1", "mapped (colour and fill: its allocation)" },
		{ "url(#cached)", "1", "cached" },
		{ "#4e79a7", "0.35", "reserved (pale)" },
		{ "#ffffff", "1", "free" },
	};
	char size[16], req[16];
	int x = MARGIN;
	size_t j;

	for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" "
			   "fill-opacity=\"%s\" stroke=\"#999999\"/><text x=\"%d\" y=\"%d\">%s"
			   "</text>\n", x, y - 9, keys[j].fill, keys[j].opacity, x + 14, y,
			keys[j].name);
		x += 34 + 7 * (int)strlen(keys[j].name);
	}
	y += 20;
	fprintf(f, "<text x=\"%d\" y=\"%d\">allocations by address: id, first address, bytes "
		   "usable, bytes requested (K, M, G: KiB, MiB, GiB)</text>\n", MARGIN, y);
	y += 16;
	fprintf(f, "<g id=\"allocations\">\n");
	for (j = 0; j < nr && j < LEGEND_MAX; j++, y += 16) {
		const struct svg_alloc *a = &allocs[j];

		cli_human(size, sizeof(size), a->end - a->start);
		cli_human(req, sizeof(req), a->requested);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"", MARGIN,
			y - 9);
		look_paint(f, a->look, a->id);
		fprintf(f, "\"/><text x=\"%d\" y=\"%d\">alloc %" PRIu64 " at 0x%012" PRIx64 ": %s "
			   "usable, %s requested%s</text>\n", MARGIN + 14, y, a->id, a->start, size,
			req, a->small ? ", sub-allocated" : "");
	}
	fprintf(f, "</g>\n");
	if (nr > LEGEND_MAX)
		fprintf(f, "<text x=\"%d\" y=\"%d\">... %zu more in gpuvm maps %d</text>\n",
			MARGIN, y, nr - LEGEND_MAX, (int)pid);
}

static int write_svg(FILE *f, pid_t pid, int dev, const char *comm, const struct cli_arena *a,
		     const char *maps)
{
	struct svg_alloc *allocs, *by_id;
	uint64_t start, span, per;
	size_t nr, rows, k, nr_allocs, legend;
	struct cell *cells;
	char h1[16], h2[16], h3[16], title[160];
	int width, height, err;

	start = a->nr ? a->pte[0].va : a->base;
	if (a->base && a->base <= start)
		start = a->base;
	span = a->nr ? a->pte[a->nr - 1].va + a->granule - start : a->granule;
	per = a->granule;
	while (span / per > MAX_CELLS)
		per *= 2;
	nr = (span + per - 1) / per;
	if (!nr)
		nr = 1;
	err = parse_allocs(maps, &allocs, &by_id, &nr_allocs);
	if (err)
		return err;
	cells = calloc(nr, sizeof(*cells));
	if (!cells) {
		err = -ENOMEM;
		goto out_free_allocs;
	}
	fill_cells(a, start, per, cells, nr);
	rows = (nr + COLS - 1) / COLS;
	legend = nr_allocs > LEGEND_MAX ? LEGEND_MAX + 1 : nr_allocs;
	width = 2 * MARGIN + COLS * CELL;
	if (width < 800)	/* room for the longest line of text */
		width = 800;
	height = (int)(MARGIN + 40 + rows * CELL + 40 + (legend + 2) * 16 + MARGIN);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"monospace\" font-size=\"11\">\n", width, height, width, height);
	fprintf(f, "<defs><pattern id=\"cached\" width=\"4\" height=\"4\" "
		   "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		   "<rect width=\"4\" height=\"4\" fill=\"#cccccc\"/>"
		   "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#888888\" "
		   "stroke-width=\"1.5\"/></pattern>\n");
	write_patterns(f, nr_allocs);
	fprintf(f, "</defs>\n");
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
	cli_human(h1, sizeof(h1), span);
	cli_human(h2, sizeof(h2), per);
	cli_human(h3, sizeof(h3), a->granule);
	snprintf(title, sizeof(title), "gpuvm map: pid %d (%s), device %d", (int)pid, comm, dev);
	fprintf(f, "<title>");
	xml_text(f, title);
	fprintf(f, "</title>\n<text x=\"%d\" y=\"%d\" font-size=\"14\">", MARGIN, MARGIN + 4);
	xml_text(f, title);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\">from 0x%012" PRIx64 ": %s of VA shown, "
		   "%s per cell, %zu granules of %s in use; ticks: a physical chunk starts"
		   "</text>\n", MARGIN, MARGIN + 22, start, h1, h2, a->nr, h3);
	fprintf(f, "<g id=\"cells\" stroke=\"#e0e0e0\" stroke-width=\"0.5\">\n");
	for (k = 0; k < nr; k++) {
		int x = MARGIN + (int)(k % COLS) * CELL, y = MARGIN + 34 + (int)(k / COLS) * CELL;

		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"", x, y, CELL, CELL);
		cell_fill(f, &cells[k], by_id, nr_allocs);
		if (cells[k].owner)
			fprintf(f, "><title>0x%012" PRIx64 " %s alloc %" PRIu64 "</title></rect>\n",
				start + k * per, cells[k].state == CELL_CACHED ? "cached" :
				cells[k].state == CELL_RESERVED ? "reserved" : "mapped",
				cells[k].owner);
		else
			fprintf(f, "/>\n");
	}
	fprintf(f, "</g>\n<g stroke=\"#222222\" stroke-width=\"2\">\n");
	for (k = 0; k < nr; k++) {
		int x = MARGIN + (int)(k % COLS) * CELL, y = MARGIN + 34 + (int)(k / COLS) * CELL;

		if (cells[k].chunk_start)
			fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", x, y + CELL - 3,
				x, y + CELL);
	}
	fprintf(f, "</g>\n");
	write_legend(f, MARGIN + 34 + (int)rows * CELL + 20, pid, allocs, nr_allocs);
	fprintf(f, "</svg>\n");
	err = ferror(f) ? -EIO : 0;
	free(cells);
out_free_allocs:
	free(by_id);
	free(allocs);
	return err;
}

/*
 * A new file beside @out for the picture, *@tmp its name (free() it).
 * mkstemp() creates it with O_EXCL, so nothing planted at a name we would
 * pick is followed or reused; it then gets the mode a plain create would
 * give (0666 less the umask), as the file renamed over @out.
 */
static FILE *open_aside(const char *cmd, const char *out, char **tmp)
{
	mode_t mask;
	FILE *f;
	int fd;

	if (asprintf(tmp, "%s.XXXXXX", out) < 0) {
		*tmp = NULL;
		cli_err(cmd, "%s: %s", out, strerror(ENOMEM));
		return NULL;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		cli_err(cmd, "%s: %s", *tmp, strerror(errno));
		return NULL;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) || !(f = fdopen(fd, "w"))) {
		cli_err(cmd, "%s: %s", *tmp, strerror(errno));
		close(fd);
		unlink(*tmp);
		return NULL;
	}
	return f;
}

int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "svg", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct cli_source_opts so = { 0 };
	const char *out = NULL;
	char comm[GPUVM_SEG_COMM + 1], *st = NULL, *maps = NULL, *tmp = NULL;
	struct cli_source src;
	struct cli_arena a;
	uint64_t dev = 0;
	int c, err, ret = 1;
	pid_t pid;
	FILE *f;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		switch (c) {
		case 's':
			out = optarg;
			break;
		case 'd':
			if (cli_parse_uint("map", "--device", optarg, GPUVM_SEG_MAX_DEVICES - 1, &dev))
				return EXIT_USAGE;
			break;
		case 'h':
			cli_usage("map", false);
			return 0;
		default:
			cli_usage("map", true);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !out) {
		cli_err("map", optind + 1 != argc ? "one PID, please" : "--svg FILE is required");
		cli_usage("map", true);
		return EXIT_USAGE;
	}
	if (cli_parse_pid("map", argv[optind], &pid))
		return EXIT_USAGE;
	err = cli_source_init("map", &so, &src);
	if (err)
		return err;
	err = cli_read(&src, pid, (int)dev, CLI_STATUS, &st);
	if (!err)
		err = cli_read(&src, pid, (int)dev, CLI_MAPS, &maps);
	if (!err)
		err = cli_arena_load(&src, pid, (int)dev, &a);
	if (err) {
		if (err == -ENOENT)
			cli_err("map", "%d: no such process using gpuvm, or no device %d",
				(int)pid, (int)dev);
		else
			cli_err("map", "%d: %s", (int)pid, strerror(-err));
		goto out_free;
	}
	if (!cli_status_str(st, "comm", comm, sizeof(comm)))
		strcpy(comm, "?");
	/* written aside and renamed: a reader never sees half a picture */
	if (strcmp(out, "-")) {
		f = open_aside("map", out, &tmp);
		if (!f)
			goto out_arena;
	} else {
		f = stdout;
	}
	err = write_svg(f, pid, (int)dev, comm, &a, maps);
	if (f != stdout) {
		if (fclose(f) && !err)
			err = -errno;
		if (!err && rename(tmp, out))
			err = -errno;
		if (err)
			unlink(tmp);
	}
	if (err)
		cli_err("map", "%s: %s", out, strerror(-err));
	else
		ret = 0;
out_arena:
	cli_arena_free(&a);
out_free:
	free(tmp);
	free(st);
	free(maps);
	return ret;
}
