// SPDX-License-Identifier: MIT
/*
 * rmm_csv.c - import RMM's logging_resource_adaptor CSV:
 *
 *	Thread,Time,Action,Pointer,Size,Stream
 *	140211,08:30:12:004581,allocate,0x7f3a2c000000,4096,0x0
 *	140211,08:30:12:004802,free,0x7f3a2c000000,4096,0x0
 *
 * Columns are found by name in the header line (any order; Thread is
 * ignored, Time and Stream are optional).  Time is HH:MM:SS:microseconds
 * (a '.' before the microseconds is accepted) and may wrap at midnight.
 * Actions: "allocate" (ALLOC), "free" (FREE_REQUESTED), "allocate failure"
 * (OOM).  Pointers and streams are hex with 0x, or decimal.  RMM logs
 * neither the device nor its capacity: everything goes to device 0 and the
 * capacity is 0 (unknown; give --capacity to the replay).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

enum { COL_TIME, COL_ACTION, COL_POINTER, COL_SIZE, COL_STREAM, COL_NR };

#define CSV_MAX_LINE	1024
#define CSV_MAX_FIELDS	16

static const char *const col_names[COL_NR] = {
	[COL_TIME] = "Time", [COL_ACTION] = "Action", [COL_POINTER] = "Pointer",
	[COL_SIZE] = "Size", [COL_STREAM] = "Stream",
};

/* Split @line in place at commas; trims blanks and the line end. */
static int csv_split(char *line, char **fields)
{
	int nr = 0;
	char *p = line, *end;

	for (;;) {
		char *comma = strchr(p, ',');

		if (nr == CSV_MAX_FIELDS)
			return -EINVAL;
		if (comma)
			*comma = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		fields[nr++] = p;
		if (!comma)
			return nr;
		p = comma + 1;
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* HH:MM:SS:us (or HH:MM:SS.us) -> ns since midnight. */
static int parse_time(const char *s, uint64_t *ns)
{
	unsigned int h, m, sec, us;
	char sep;
	int n = 0;

	if (sscanf(s, "%2u:%2u:%2u%c%6u%n", &h, &m, &sec, &sep, &us, &n) != 5 || s[n] ||
	    (sep != ':' && sep != '.') || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	*ns = (((uint64_t)h * 60 + m) * 60 + sec) * 1000000000ull + (uint64_t)us * 1000;
	return 0;
}

/**
 * replay_import_rmm_csv - read an RMM log into @t
 * @f: the CSV, at its start
 * @name: for messages
 * @t: an initialized empty trace
 * Return: 0, or -EINVAL with a message naming the line (@t is emptied).
 */
int replay_import_rmm_csv(FILE *f, const char *name, struct replay_trace *t)
{
	int col[COL_NR], nr, i, c, lineno = 1, err = 0;
	uint64_t first_ns = 0, last_ns = 0, wrap = 0;
	char line[CSV_MAX_LINE], *fields[CSV_MAX_FIELDS];
	bool have_time = false;

	replay_trace_init(t, "rmm-csv", 0, 0);
	if (!fgets(line, sizeof(line), f)) {
		fprintf(stderr, "%s: empty file\n", name);
		return -EINVAL;
	}
	nr = csv_split(line, fields);
	for (c = 0; c < COL_NR; c++) {
		col[c] = -1;
		for (i = 0; i < nr; i++)
			if (!strcasecmp(fields[i], col_names[c]))
				col[c] = i;
	}
	if (nr < 0 || col[COL_ACTION] < 0 || col[COL_POINTER] < 0 || col[COL_SIZE] < 0) {
		fprintf(stderr, "%s:1: not an RMM log header (need Action, Pointer and Size "
			"columns: Thread,Time,Action,Pointer,Size,Stream)\n", name);
		return -EINVAL;
	}

	while (fgets(line, sizeof(line), f)) {
		uint64_t ptr, size, stream = 0, ns = 0;
		enum gpuvm_trace_event ev;
		const char *action;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "%s:%d: line too long\n", name, lineno);
			err = -EINVAL;
			break;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		nr = csv_split(line, fields);
		for (c = 0; c < COL_NR; c++)
			if (col[c] >= nr)
				break;
		if (nr < 0 || c < COL_NR) {
			fprintf(stderr, "%s:%d: wrong number of fields\n", name, lineno);
			err = -EINVAL;
			break;
		}
		action = fields[col[COL_ACTION]];
		if (!strcmp(action, "allocate")) {
			ev = GPUVM_EV_ALLOC;
		} else if (!strcmp(action, "free")) {
			ev = GPUVM_EV_FREE_REQUESTED;
		} else if (!strcmp(action, "allocate failure")) {
			ev = GPUVM_EV_OOM;
		} else {
			fprintf(stderr, "%s:%d: unknown action \"%s\"\n", name, lineno, action);
			err = -EINVAL;
			break;
		}
		if (parse_u64(fields[col[COL_POINTER]], &ptr) ||
		    parse_u64(fields[col[COL_SIZE]], &size) ||
		    (col[COL_STREAM] >= 0 && parse_u64(fields[col[COL_STREAM]], &stream)) ||
		    (col[COL_TIME] >= 0 && parse_time(fields[col[COL_TIME]], &ns))) {
			fprintf(stderr, "%s:%d: bad pointer, size, stream or time\n", name, lineno);
			err = -EINVAL;
			break;
		}
		if (size > REPLAY_MAX_BYTES) {
			/* the models round sizes up: this one would wrap */
			fprintf(stderr, "%s:%d: size %" PRIu64 " bytes is beyond the %llu a trace "
				"may name\n", name, lineno, size, REPLAY_MAX_BYTES);
			err = -EINVAL;
			break;
		}
		if (col[COL_TIME] >= 0) {
			if (!have_time) {
				first_ns = last_ns = ns;
				have_time = true;
			}
			if (ns + wrap < last_ns)
				wrap += 24ull * 3600 * 1000000000ull;	/* past midnight */
			last_ns = ns + wrap;
			ns = last_ns - first_ns;
		}
		err = replay_trace_add(t, ns, ev, 0, stream, ev == GPUVM_EV_OOM ? 0 : ptr,
				       ev == GPUVM_EV_FREE_REQUESTED ? 0 : size,
				       ev == GPUVM_EV_ALLOC ? size : 0);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	if (err)
		replay_trace_release(t);
	return err;
}
