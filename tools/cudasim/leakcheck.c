// SPDX-License-Identifier: MIT
/*
 * leakcheck.c - CUDASIM_LEAKCHECK=1: report what is left at exit.
 *
 * An on_exit() handler records the exit status; cudasim's destructor, which
 * runs after the atexit handlers, prints one line per allocation, handle,
 * mapping and reservation still outstanding and turns a clean exit status
 * into 66 when anything is left.  A non-zero status is kept.  In a fork
 * child, objects inherited from the parent are not counted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cudasim.h"

static bool exit_seen;
static int exit_status;

CS_API unsigned long cudasim_outstanding(int fd)
{
	unsigned long n = 0;
	size_t i;

	cs_lock();
	for (i = 0; i < cs.regions.nr; i++) {
		struct cs_region *r = cs.regions.v[i];

		if (r->inherited)
			continue;
		n++;
		if (r->kind == CS_REGION_ALLOC)
			dprintf(fd, "cudasim: leak: allocation 0x%lx size %zu device %d\n",
				(unsigned long)r->start, r->size, r->dev);
		else
			dprintf(fd, "cudasim: leak: mapping 0x%lx size %zu handle 0x%llx "
				"offset %zu device %d\n", (unsigned long)r->start, r->size,
				r->handle->id, r->offset, r->dev);
	}
	for (i = 0; i < cs.handles.nr; i++) {
		struct cs_handle *h = cs.handles.v[i];

		if (h->inherited)
			continue;
		n++;
		dprintf(fd, "cudasim: leak: handle 0x%llx size %zu device %d "
			"refs %lu maps %lu%s\n", h->id, h->size, h->dev, h->refs, h->maps,
			h->phys ? "" : " (imported)");
	}
	for (i = 0; i < cs.resvs.nr; i++) {
		struct cs_resv *rv = cs.resvs.v[i];

		if (rv->inherited)
			continue;
		n++;
		dprintf(fd, "cudasim: leak: reservation 0x%lx size %zu\n",
			(unsigned long)rv->start, rv->size);
	}
	n += __cs_host_leaks(fd);
	cs_unlock();
	return n;
}

static void cs_on_exit(int status, void *arg)
{
	(void)arg;
	exit_seen = true;
	exit_status = status;
}

/*
 * Called by cuInit.  The handler is registered here, after main() started,
 * so that it runs before the loader's own exit handler (which runs the
 * destructors); registered from a constructor it would run after them.
 */
void cs_leakcheck_setup(void)
{
	const char *s = getenv("CUDASIM_LEAKCHECK");

	cs.leakcheck = s && *s && strcmp(s, "0");
	if (cs.leakcheck)
		on_exit(cs_on_exit, NULL);
}

__attribute__((destructor)) static void cs_leakcheck_destructor(void)
{
	unsigned long n;

	if (!cs.leakcheck || !cs.initialized)
		return;
	n = cudasim_outstanding(STDERR_FILENO);
	if (!n)
		return;
	dprintf(STDERR_FILENO, "cudasim: %lu driver object%s outstanding at exit\n", n,
		n == 1 ? "" : "s");
	if (exit_seen && exit_status == 0) {
		fflush(NULL);
		_exit(CS_LEAK_EXIT_CODE);
	}
}
