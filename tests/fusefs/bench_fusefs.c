// SPDX-License-Identifier: MIT
/*
 * bench_fusefs - how fast /gpuvm answers.
 *
 * Publishes a state segment for itself with a 100,000-entry page table
 * (every granule in use, 1,000 allocations), mounts gpuvmfs over it in a
 * temporary folder and times, through the mount: reading status, and
 * reading the whole pagetable (100,000 lines).  The same files are also
 * timed in-process (snapshot + render, no FUSE) to show what the kernel
 * round trips add.  Without a mount (no /dev/fuse, no rights) only the
 * in-process numbers are printed, and it says so.  Targets (issue 5):
 * status <= 1 ms, 100k-entry pagetable <= 200 ms.  The per-allocation
 * publishing cost is measured by the vmm benchmark (CONFIG_GPUVM_PUBLISH=n).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpuvmfs/gpuvmfs.h>
#include "segbuild.h"

#define PT_ENTRIES	100000
#define NR_ALLOCS	1000

static char tmp[] = "/tmp/bench_fusefs.XXXXXX";
static char mnt[256], run[256];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t read_file(const char *path)
{
	static char buf[1 << 16];
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return total;
}

/* Mean seconds per read of @path over @n reads (after one warm-up). */
static double time_reads(const char *path, int n, size_t *bytes)
{
	double t0;
	int i;

	*bytes = read_file(path);
	t0 = now_s();
	for (i = 0; i < n; i++)
		read_file(path);
	return (now_s() - t0) / n;
}

static double time_render(const struct gpuvm_segment *seg, unsigned int what, bool pt, int n,
			  size_t *bytes)
{
	struct gpuvm_snapshot snap;
	struct gpuvmfs_buf b = { 0 };
	double t0 = 0;
	int i;

	for (i = -1; i < n; i++) {
		if (i == 0)
			t0 = now_s();
		b.len = 0;
		gpuvm_snapshot_take(seg, what, &snap);
		if (pt)
			gpuvmfs_render_pagetable(&b, &snap, -1);
		else
			gpuvmfs_render_status(&b, &snap, 0, -1);
		gpuvm_snapshot_release(&snap);
	}
	*bytes = b.len;
	gpuvmfs_buf_free(&b);
	return (now_s() - t0) / n;
}

static int publish(struct segbuild *p, void **map, size_t *size)
{
	char path[300];
	int fd;

	segbuild_defaults(p);
	segbuild_schema_knobs(p);
	p->comm = "bench_fusefs";
	p->pt_entries = PT_ENTRIES;
	p->pt_used = PT_ENTRIES;
	p->nr_allocs = NR_ALLOCS;
	p->alloc_capacity = NR_ALLOCS;
	*size = segbuild_size(p);
	snprintf(path, sizeof(path), "%s/%d.state", run, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, *size))
		return -1;
	*map = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (*map == MAP_FAILED)
		return -1;
	segbuild_fill(p, *map);
	return 0;
}

static pid_t mount_fs(void)
{
	char bin[512], probe[300], opt[300];
	pid_t pid;
	int i, fd;

	if (access("/dev/fuse", R_OK | W_OK))
		return -1;
	snprintf(bin, sizeof(bin), "%s/bin/gpuvmfs",
		 getenv("GPUVM_BUILD") ? getenv("GPUVM_BUILD") : "build");
	snprintf(opt, sizeof(opt), "--rundir=%s", run);
	pid = fork();
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, "gpuvmfs", "-f", mnt, opt, NULL);
		_exit(127);
	}
	snprintf(probe, sizeof(probe), "%s/%d/status", mnt, (int)getpid());
	for (i = 0; i < 50; i++) {
		if (!access(probe, R_OK))
			return pid;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int main(void)
{
	double st_fs = 0, pt_fs = 0, st_mem, pt_mem;
	size_t size, st_bytes, pt_bytes;
	struct gpuvm_segment seg;
	struct segbuild p;
	char path[300];
	void *map;
	pid_t fs;

	if (!mkdtemp(tmp))
		return 1;
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
	snprintf(run, sizeof(run), "%s/run", tmp);
	mkdir(mnt, 0755);
	mkdir(run, 0755);
	if (publish(&p, &map, &size)) {
		perror("publish");
		return 1;
	}
	if (gpuvm_segment_open(run, getpid(), &seg)) {
		perror("open");
		return 1;
	}
	st_mem = time_render(&seg, 0, false, 2000, &st_bytes);
	pt_mem = time_render(&seg, GPUVM_SNAP_PT, true, 20, &pt_bytes);
	gpuvm_segment_close(&seg);

	printf("segment: %zu bytes, %d page-table entries, %d allocations\n", size,
	       PT_ENTRIES, NR_ALLOCS);
	printf("in-process (snapshot + render, no FUSE):\n");
	printf("  status     %8.1f us   (%zu bytes)\n", st_mem * 1e6, st_bytes);
	printf("  pagetable  %8.2f ms   (%zu bytes)\n", pt_mem * 1e3, pt_bytes);

	fs = mount_fs();
	if (fs > 0) {
		snprintf(path, sizeof(path), "%s/%d/status", mnt, (int)getpid());
		st_fs = time_reads(path, 1000, &st_bytes);
		snprintf(path, sizeof(path), "%s/%d/pagetable", mnt, (int)getpid());
		pt_fs = time_reads(path, 10, &pt_bytes);
		printf("through the mount (open + read all + close):\n");
		printf("  status     %8.1f us   (target <= 1000 us: %s)\n", st_fs * 1e6,
		       st_fs <= 1e-3 ? "met" : "MISSED");
		printf("  pagetable  %8.2f ms   (%zu bytes; target <= 200 ms: %s)\n", pt_fs * 1e3,
		       pt_bytes, pt_fs <= 0.2 ? "met" : "MISSED");
		printf("  FUSE overhead: status x%.1f, pagetable x%.1f of in-process\n",
		       st_fs / st_mem, pt_fs / pt_mem);
		kill(fs, SIGTERM);
		waitpid(fs, NULL, 0);
	} else {
		printf("no mount (no /dev/fuse or no rights): in-process numbers only\n");
	}
	munmap(map, size);
	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	return system(path) ? 1 : 0;
}
