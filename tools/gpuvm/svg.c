// SPDX-License-Identifier: MIT
/*
 * svg.c - `gpuvm map PID --svg FILE`: a process's address space as a
 * picture.
 *
 * The arena's used span (base to the last granule in use) is drawn as rows
 * of cells, one cell per granule (or per stretch of granules when the span
 * is large), left to right, top to bottom:
 *   - mapped: the owning allocation's colour (one hue per allocation id);
 *   - cached: grey, hatched (physical memory kept for reuse);
 *   - reserved: the owner's colour, pale (a growable tail not mapped);
 *   - free: white (a hole in the virtual range);
 * a dark tick at each cell where a new physical chunk starts, and a legend
 * of the allocations from maps.  Plain SVG 1.1, no scripts.
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

#include "gpuvm.h"

#define CELL		12	/* px per cell, square */
#define COLS		64	/* cells per row */
#define MAX_CELLS	8192	/* larger spans: several granules per cell */
#define LEGEND_MAX	64	/* allocations listed */
#define MARGIN		16

struct cell {
	uint8_t state;		/* enum cli_cell */
	uint64_t owner;
	bool chunk_start;
};

/* A stable, well-spread hue per allocation id. */
static unsigned int hue(uint64_t id)
{
	return (unsigned int)((id * 137) % 360);
}

static void cell_fill(FILE *f, const struct cell *c)
{
	switch (c->state) {
	case CELL_MAPPED:
		fprintf(f, "hsl(%u,65%%,55%%)", hue(c->owner));
		break;
	case CELL_RESERVED:
		fprintf(f, "hsl(%u,60%%,88%%)", hue(c->owner));
		break;
	case CELL_CACHED:
		fputs("url(#cached)", f);
		break;
	case CELL_OTHER:
		fputs("#d62728", f);
		break;
	default:
		fputs("#ffffff", f);
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

static int write_svg(FILE *f, pid_t pid, int dev, const char *comm, const struct cli_arena *a,
		     const char *maps)
{
	uint64_t start, span, per;
	size_t nr, rows, k, legend = 0;
	struct cell *cells;
	const char *line;
	char h1[16], h2[16], title[160];
	int width, height;

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
	cells = calloc(nr, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	fill_cells(a, start, per, cells, nr);
	rows = (nr + COLS - 1) / COLS;
	for (line = maps; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		legend++;
	if (legend > LEGEND_MAX)
		legend = LEGEND_MAX + 1;
	width = 2 * MARGIN + COLS * CELL;
	if (width < 640)
		width = 640;
	height = (int)(MARGIN + 40 + rows * CELL + 40 + (legend + 1) * 16 + MARGIN);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"monospace\" font-size=\"11\">\n", width, height, width, height);
	fprintf(f, "<defs><pattern id=\"cached\" width=\"4\" height=\"4\" "
		   "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		   "<rect width=\"4\" height=\"4\" fill=\"#cccccc\"/>"
		   "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#888888\" "
		   "stroke-width=\"1.5\"/></pattern></defs>\n");
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
	cli_human(h1, sizeof(h1), span);
	cli_human(h2, sizeof(h2), per);
	snprintf(title, sizeof(title), "gpuvm map: pid %d (%s), device %d", (int)pid, comm, dev);
	fprintf(f, "<title>");
	xml_text(f, title);
	fprintf(f, "</title>\n<text x=\"%d\" y=\"%d\" font-size=\"14\">", MARGIN, MARGIN + 4);
	xml_text(f, title);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\">0x%012" PRIx64 ": %s shown, %s per cell, "
		   "%zu granules in use; ticks: chunk starts</text>\n",
		MARGIN, MARGIN + 22, start, h1, h2, a->nr);
	fprintf(f, "<g stroke=\"#e0e0e0\" stroke-width=\"0.5\">\n");
	for (k = 0; k < nr; k++) {
		int x = MARGIN + (int)(k % COLS) * CELL, y = MARGIN + 34 + (int)(k / COLS) * CELL;

		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"", x, y,
			CELL, CELL);
		cell_fill(f, &cells[k]);
		if (cells[k].owner)
			fprintf(f, "\"><title>0x%012" PRIx64 " %s alloc %" PRIu64 "</title></rect>\n",
				start + k * per, cells[k].state == CELL_CACHED ? "cached" :
				cells[k].state == CELL_RESERVED ? "reserved" : "mapped",
				cells[k].owner);
		else
			fprintf(f, "\"/>\n");
	}
	fprintf(f, "</g>\n<g stroke=\"#222222\" stroke-width=\"2\">\n");
	for (k = 0; k < nr; k++) {
		int x = MARGIN + (int)(k % COLS) * CELL, y = MARGIN + 34 + (int)(k / COLS) * CELL;

		if (cells[k].chunk_start)
			fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", x, y + CELL - 3,
				x, y + CELL);
	}
	fprintf(f, "</g>\n");

	/* legend: the states, then the allocations from maps */
	{
		int y = MARGIN + 34 + (int)rows * CELL + 20, x = MARGIN;
		static const struct { const char *fill, *name; } keys[] = {
			{ "hsl(200,65%,55%)", "mapped (colour: allocation)" },
			{ "url(#cached)", "cached" },
			{ "hsl(200,60%,88%)", "reserved" },
			{ "#ffffff", "free" },
		};
		size_t j;

		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" "
				   "stroke=\"#999999\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
				x, y - 9, keys[j].fill, x + 14, y, keys[j].name);
			x += 60 + 7 * (int)strlen(keys[j].name);
		}
		y += 20;
		j = 0;
		for (line = maps; line && *line && j < LEGEND_MAX; j++) {
			unsigned long long s, e, id, req;
			char flags[8];
			int d;
			const char *nl = strchr(line, '\n');

			if (sscanf(line, "%llx-%llx %7s %d %llu %llu", &s, &e, flags, &d, &id,
				   &req) == 6) {
				cli_human(h1, sizeof(h1), e - s);
				cli_human(h2, sizeof(h2), req);
				fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" "
					   "fill=\"hsl(%u,65%%,55%%)\"/>"
					   "<text x=\"%d\" y=\"%d\">alloc %llu: 0x%012llx, %s "
					   "(asked %s)%s</text>\n",
					MARGIN, y - 9, hue(id), MARGIN + 14, y, id, s, h1, h2,
					flags[0] == 's' ? ", sub-allocated" : "");
				y += 16;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (line && *line)
			fprintf(f, "<text x=\"%d\" y=\"%d\">... more in gpuvm maps %d</text>\n",
				MARGIN, y, (int)pid);
	}
	fprintf(f, "</svg>\n");
	free(cells);
	return ferror(f) ? -EIO : 0;
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
