// SPDX-License-Identifier: MIT
/*
 * pagetable_file.c - a device's page table as the command sees it: the pagetable
 * file ("va state chunk:part owner access", one line per granule not
 * free) parsed back, with the arena's base, size and granule from the
 * device's status.  top draws it as a bar, map as a picture.
 *
 * The text comes from gpuvmfs or from its renderer (source.c); a line
 * that does not parse is skipped, never trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvm/segment.h>

#include "command.h"

static int cell_of(const char *state)
{
	if (!strcmp(state, "mapped"))
		return CELL_MAPPED;
	if (!strcmp(state, "cached"))
		return CELL_CACHED;
	if (!strcmp(state, "reserved"))
		return CELL_RESERVED;
	if (!strcmp(state, "free"))
		return CELL_FREE;
	return CELL_OTHER;
}

static int parse_line(const char *line, struct cli_pte *e)
{
	char state[16], chunk[32], owner[24];
	unsigned long long va;
	char *colon;

	if (sscanf(line, "%llx %15s %31s %23s", &va, state, chunk, owner) != 4)
		return -EINVAL;
	e->va = va;
	e->cell = cell_of(state);
	e->chunk = GPUVM_NO_CHUNK;
	colon = strchr(chunk, ':');
	if (colon) {
		*colon = '\0';
		e->chunk = (uint32_t)strtoul(chunk, NULL, 10);
	}
	e->owner = strcmp(owner, "-") ? strtoull(owner, NULL, 10) : 0;
	return 0;
}

static int cmp_pte(const void *a, const void *b)
{
	const struct cli_pte *x = a, *y = b;

	return (x->va > y->va) - (x->va < y->va);
}

/**
 * cli_arena_load - read one device's page table
 * @src: the source
 * @pid: the process
 * @dev: device ordinal
 * @a: filled on success; cli_arena_free() it
 * Return: 0, -ENOENT, or negative errno.
 */
int cli_arena_load(const struct cli_source *src, pid_t pid, int dev, struct cli_arena *a)
{
	char *status, *pt, *line, *next;
	size_t cap = 0;
	int err;

	memset(a, 0, sizeof(*a));
	err = cli_read(src, pid, dev, CLI_STATUS, &status);
	if (err)
		return err;
	a->base = cli_status_u64(status, "arena_base");
	a->size = cli_status_u64(status, "arena_size");
	a->granule = cli_status_u64(status, "granularity");
	free(status);
	err = cli_read(src, pid, dev, CLI_PAGETABLE, &pt);
	if (err)
		return err;
	for (line = pt; line && *line; line = next) {
		struct cli_pte e, *nv;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (parse_line(line, &e))
			continue;
		if (a->nr == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(a->pte, cap * sizeof(*nv));
			if (!nv) {
				free(pt);
				cli_arena_free(a);
				return -ENOMEM;
			}
			a->pte = nv;
		}
		a->pte[a->nr++] = e;
	}
	free(pt);
	qsort(a->pte, a->nr, sizeof(*a->pte), cmp_pte);
	if (!a->granule)
		a->granule = 2ull << 20;
	if (!a->size && a->nr) {
		a->base = a->pte[0].va;
		a->size = a->pte[a->nr - 1].va + a->granule - a->base;
	}
	return 0;
}

void cli_arena_free(struct cli_arena *a)
{
	free(a->pte);
	a->pte = NULL;
	a->nr = 0;
}
