// SPDX-License-Identifier: MIT
/*
 * costs.c - what each driver call costs, to turn call counts into an
 * estimated driver time.
 *
 * Defaults are public A100 measurements per 2 MiB: cuMemCreate 190 us,
 * cuMemSetAccess 36 us, cuMemUnmap 26 us, cuMemMap 1.5 us; cuMemRelease
 * has no public number and defaults to 0 (measure it: see
 * Documentation/trace.rst).  A call covering less than 2 MiB costs as one
 * of 2 MiB.
 *
 * A cost file overrides entries, one per line:
 *
 *	# kind  per_2mib_us  [per_call_us]
 *	create      190
 *	map         1.5      0.4
 *
 * kind is create, map, unmap, set-access or release; '#' starts a comment.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static const char *const call_names[REPLAY_CALL_NR] = {
	[REPLAY_CALL_CREATE]	 = "create",
	[REPLAY_CALL_MAP]	 = "map",
	[REPLAY_CALL_UNMAP]	 = "unmap",
	[REPLAY_CALL_SET_ACCESS] = "set-access",
	[REPLAY_CALL_RELEASE]	 = "release",
};

const char *replay_call_name(int call)
{
	if (call < 0 || call >= REPLAY_CALL_NR)
		return NULL;
	return call_names[call];
}

void replay_costs_default(struct replay_costs *c)
{
	memset(c, 0, sizeof(*c));
	c->per_2mib_us[REPLAY_CALL_CREATE] = 190;
	c->per_2mib_us[REPLAY_CALL_SET_ACCESS] = 36;
	c->per_2mib_us[REPLAY_CALL_UNMAP] = 26;
	c->per_2mib_us[REPLAY_CALL_MAP] = 1.5;
	c->per_2mib_us[REPLAY_CALL_RELEASE] = 0;
	strcpy(c->source, "defaults (A100, public)");
}

static int parse_cost(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*v) || *v < 0 || *v > 1e9)
		return -EINVAL;
	return 0;
}

/**
 * replay_costs_load - override costs from a file (format above)
 * @c: the table; unchanged when the file has an error
 * @path: the file
 * Return: 0 or -errno, with a message naming the line.
 */
int replay_costs_load(struct replay_costs *c, const char *path)
{
	struct replay_costs n = *c;
	char line[256];
	int lineno = 0, err = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		char *tok[4], *save = NULL, *hash;
		int nr = 0, call;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "%s:%d: line too long\n", path, lineno);
			err = -EINVAL;
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (char *p = strtok_r(line, " \t\r\n", &save); p;
		     p = strtok_r(NULL, " \t\r\n", &save)) {
			if (nr == 4)
				break;
			tok[nr++] = p;
		}
		if (!nr)
			continue;
		for (call = 0; call < REPLAY_CALL_NR; call++)
			if (!strcmp(tok[0], call_names[call]))
				break;
		if (call == REPLAY_CALL_NR || nr < 2 || nr > 3 ||
		    parse_cost(tok[1], &n.per_2mib_us[call]) ||
		    (nr == 3 && parse_cost(tok[2], &n.per_call_us[call]))) {
			fprintf(stderr, "%s:%d: expected \"<create|map|unmap|set-access|"
				"release> <us per 2 MiB> [<us per call>]\"\n", path, lineno);
			err = -EINVAL;
			break;
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err)
		return err;
	snprintf(n.source, sizeof(n.source), "%s", path);
	*c = n;
	return 0;
}

/**
 * replay_costs_call_us - estimated driver time of one kind of call
 * @c: the cost table
 * @call: the kind (REPLAY_CALL_*)
 * @calls: how many calls of that kind
 * @bytes: the bytes they covered
 *
 * per_call * calls + per_2mib * units, where units is the number of 2 MiB
 * pieces covered, and at least one per call.
 */
double replay_costs_call_us(const struct replay_costs *c, int call, uint64_t calls,
			    uint64_t bytes)
{
	uint64_t units = (bytes + 2 * MiB - 1) / (2 * MiB);

	if (units < calls)
		units = calls;
	return c->per_call_us[call] * calls + c->per_2mib_us[call] * units;
}

/**
 * replay_costs_estimate_us - estimated driver time of a run, every kind
 * @c: the cost table
 * @calls: calls by kind
 * @bytes: bytes the calls of each kind covered
 */
double replay_costs_estimate_us(const struct replay_costs *c, const uint64_t *calls,
				const uint64_t *bytes)
{
	double us = 0;
	int i;

	for (i = 0; i < REPLAY_CALL_NR; i++)
		us += replay_costs_call_us(c, i, calls[i], bytes[i]);
	return us;
}
