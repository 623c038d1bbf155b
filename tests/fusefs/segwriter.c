// SPDX-License-Identifier: MIT
/*
 * segwriter - a stand-in for a process using gpuvm, for the gpuvmfs tests.
 *
 *   segwriter                  self-test (what `make check` runs): build
 *                              segments, read them back through the
 *                              fusefs reader, compare
 *   segwriter serve [opts]     publish $GPUVM_RUNDIR/<pid>.state and .ctl
 *                              and apply control requests as the library
 *                              does, until SIGTERM or SIGINT (files
 *                              removed); prints "ready" when published
 *       -d N  devices        -e N  page-table entries per device
 *       -u N  used entries   -a N  allocations      -c N  table slots
 *       -n NAME  the program name it publishes (comm)
 *   segwriter corpus DIR       write fuzz seed segments into DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>
#include <gpuvm/segment.h>

#include "segbuild.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* ---- self-test ---- */

static int check_snapshot(const struct segbuild *p)
{
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	size_t size = segbuild_size(p);
	unsigned char *buf = calloc(1, size);
	unsigned int d;
	int err, ret = 1;

	if (!buf)
		return 1;
	segbuild_fill(p, buf);
	gpuvm_segment_from_memory(&seg, buf, size, p->pid, p->uid);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT | GPUVM_SNAP_ALLOCS, &snap);
	if (err) {
		fprintf(stderr, "FAIL: snapshot: %s (%s)\n", strerror(-err), snap.error);
		goto out;
	}
	if (snap.nr_present != p->nr_devices || strcmp(snap.comm, p->comm)) {
		fprintf(stderr, "FAIL: %u devices, comm '%s'\n", snap.nr_present, snap.comm);
		goto out;
	}
	for (d = 0; d < p->nr_devices; d++) {
		const struct gpuvm_snap_device *sd = snap.dev[d];
		uint32_t i, used = 0, live = 0;

		for (i = 0; i < sd->blk.pt_entries; i++)
			used += sd->pt[i].state != GPUVM_PTE_FREE;
		for (i = 0; i < sd->blk.alloc_capacity; i++)
			live += gpuvm_seg_alloc_valid(&sd->allocs[i]);
		if (used != p->pt_used || live != p->nr_allocs) {
			fprintf(stderr, "FAIL: dev %u: %u used, %u live\n", d, used, live);
			goto out;
		}
	}
	ret = 0;
out:
	gpuvm_snapshot_release(&snap);
	free(buf);
	return ret;
}

static int self_test(void)
{
	struct segbuild p;
	int fails = 0;

	segbuild_defaults(&p);
	segbuild_schema_knobs(&p);
	fails += check_snapshot(&p);
	p.nr_devices = 3;
	p.pt_entries = 1000;
	p.pt_used = 999;
	p.nr_allocs = 333;
	p.alloc_capacity = 400;
	fails += check_snapshot(&p);
	printf("%s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}

/* ---- corpus ---- */

static int write_file(const char *dir, const char *name, const void *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, size, f) != size) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) ? 1 : 0;
}

static int corpus(const char *dir)
{
	unsigned int i;
	int fails = 0;

	mkdir(dir, 0755);
	for (i = 0; i < SEGBUILD_NR_SEEDS; i++) {
		char name[32];
		size_t size;
		void *buf = segbuild_seed(i, &size);

		if (!buf)
			return 1;
		snprintf(name, sizeof(name), "seed-%u", i);
		fails += write_file(dir, name, buf, size);
		free(buf);
	}
	return fails ? 1 : 0;
}

/* ---- serve: a fake process ---- */

struct fake {
	struct segbuild p;
	unsigned char *state;
	size_t state_size;
	struct gpuvm_ctl_header *ctl;
	char state_path[PATH_MAX], ctl_path[PATH_MAX];
};

static struct gpuvm_seg_device *fake_dev(struct fake *f, unsigned int i)
{
	return (void *)(f->state + segbuild_device_offset(&f->p, i));
}

/* Apply one request to one device as the library would: validate, set. */
static int apply_one(struct fake *f, struct gpuvm_seg_device *d, const char *name,
		     uint64_t value)
{
	const struct gpuvm_knob *k;
	unsigned int i;
	int err;

	if (!strcmp(name, "reclaim")) {
		gpuvm_seq_write_begin(&d->seq);
		d->stats.reclaimed += d->stats.cached;
		d->stats.physical -= d->stats.cached;
		d->stats.cached = 0;
		d->stats.chunks -= d->stats.chunks_free;
		d->stats.chunks_free = 0;
		gpuvm_seq_write_end(&d->seq);
		return 0;
	}
	for (i = 0; i < d->nr_knobs; i++)
		if (!strncmp(d->knobs[i].name, name, GPUVM_SEG_KNOB_NAME))
			break;
	if (i == d->nr_knobs)
		return -EINVAL;
	k = gpuvm_knob_find(name);
	err = k ? gpuvm_knob_check(k, value) : -EINVAL;
	if (err)
		return err;
	gpuvm_seq_write_begin(&d->seq);
	d->knobs[i].value = value;
	if (!strcmp(name, "chunk_size"))
		d->chunk_size = value;
	if (!strcmp(name, "limit"))
		d->stats.limit = value;
	gpuvm_seq_write_end(&d->seq);
	return 0;
}

static int apply(const struct gpuvm_ctl_request *req, void *arg)
{
	struct fake *f = arg;
	unsigned int i;
	int err = 0;

	if (req->device >= (int)f->p.nr_devices || req->device < -1)
		return -ENODEV;
	for (i = 0; i < f->p.nr_devices && !err; i++)
		if (req->device < 0 || (int)i == req->device)
			err = apply_one(f, fake_dev(f, i), req->name, req->value);
	return err;
}

/* The library's loop (vmm/control.c), over the same ring consumer. */
static void serve_requests(struct fake *f)
{
	struct gpuvm_seg_header *h = (void *)f->state;
	uint32_t applied = 0;
	int err;

	while (!stop) {
		if (gpuvm_ctl_generation(f->ctl) == applied) {
			gpuvm_ctl_wait(f->ctl, applied, 100);
			continue;
		}
		err = gpuvm_ctl_consume(f->ctl, &applied, apply, f);
		gpuvm_seq_write_begin(&h->seq);
		h->ctl_applied = applied;
		h->ctl_error = err;
		gpuvm_seq_write_end(&h->seq);
	}
}

static void *map_new(const char *path, size_t size)
{
	void *p;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		return NULL;
	}
	if (ftruncate(fd, size) < 0) {
		perror("ftruncate");
		close(fd);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static int serve(int argc, char **argv)
{
	const char *rundir = getenv("GPUVM_RUNDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	struct fake f;
	int opt;

	memset(&f, 0, sizeof(f));
	segbuild_defaults(&f.p);
	segbuild_schema_knobs(&f.p);
	while ((opt = getopt(argc, argv, "d:e:u:a:c:n:")) != -1) {
		unsigned long v = strtoul(optarg, NULL, 0);

		switch (opt) {
		case 'n': f.p.comm = optarg; break;
		case 'd': f.p.nr_devices = v; break;
		case 'e': f.p.pt_entries = v; break;
		case 'u': f.p.pt_used = v; break;
		case 'a': f.p.nr_allocs = v; break;
		case 'c': f.p.alloc_capacity = v; break;
		default: return 2;
		}
	}
	if (!rundir || !f.p.nr_devices || f.p.nr_devices > GPUVM_SEG_MAX_DEVICES ||
	    f.p.pt_used > f.p.pt_entries || f.p.nr_allocs > f.p.alloc_capacity) {
		fprintf(stderr, "segwriter: bad arguments or no GPUVM_RUNDIR\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	snprintf(f.state_path, sizeof(f.state_path), "%s/%d" GPUVM_STATE_SUFFIX, rundir,
		 (int)getpid());
	snprintf(f.ctl_path, sizeof(f.ctl_path), "%s/%d" GPUVM_CTL_SUFFIX, rundir,
		 (int)getpid());
	f.state_size = segbuild_size(&f.p);
	/* the control segment first: a reader that sees the state can write */
	f.ctl = map_new(f.ctl_path, sizeof(*f.ctl));
	if (!f.ctl)
		return 1;
	segbuild_ctl_fill(f.ctl);
	f.state = map_new(f.state_path, f.state_size);
	if (!f.state) {
		unlink(f.ctl_path);
		return 1;
	}
	segbuild_fill(&f.p, f.state);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);

	serve_requests(&f);

	unlink(f.state_path);
	unlink(f.ctl_path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "corpus"))
		return corpus(argv[2]);
	if (argc == 1)
		return self_test();
	fprintf(stderr, "usage: segwriter [serve [-d N] [-e N] [-u N] [-a N] [-c N] | corpus DIR]\n");
	return 2;
}
