// SPDX-License-Identifier: MIT
/*
 * publish.c - the writer side of the state segment (include/gpuvm/segment.h)
 * and the creator of the control segment.
 *
 * <rundir>/<pid>.state is mapped once over a large reservation and grown
 * with ftruncate() as devices are set up, so nothing ever moves: the page
 * table and allocation table of each device live in it and publishing an
 * update is a plain store.  Without CONFIG_GPUVM_PUBLISH the same tables
 * live in ordinary memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "safefile.h"

#define STATE_RESERVE	(256ull << 30)	/* bytes of VA for the state mapping */

#ifdef CONFIG_GPUVM_PUBLISH
#define PUBLISH_ENABLED	1
#else
#define PUBLISH_ENABLED	0	/* tables on the heap, no files */
#endif
#define PAGE		4096ull

static struct {
	bool on;			/* the segments exist */
	int state_fd, ctl_fd;
	struct gpuvm_seg_header *hdr;	/* mapping of STATE_RESERVE bytes */
	uint64_t used;			/* bytes of the file in use */
	struct gpuvm_ctl_header *ctl;
	uint64_t ctl_size;		/* bytes mapped */
	char rundir[PATH_MAX];
	char state_path[PATH_MAX];
	char ctl_path[PATH_MAX];
	char driver[GPUVM_SEG_DRIVER];
	bool simulated;
} pub = { .state_fd = -1, .ctl_fd = -1 };

const char *publish_rundir(void)
{
	const char *s;

	if (!pub.rundir[0]) {
		s = getenv("GPUVM_RUNDIR");
		if (s && *s)
			snprintf(pub.rundir, sizeof(pub.rundir), "%s", s);
		else
			gpuvm_rundir_default(pub.rundir, sizeof(pub.rundir), geteuid());
	}
	return pub.rundir;
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks), 0 if unknown. */
uint64_t publish_start_time(int pid)
{
	char path[64], buf[1024];
	uint64_t v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return gpuvm_stat_start_time(buf, &v) ? 0 : v;
}

/* The pid of a "<pid><suffix>" name with one of our two suffixes, else 0. */
static long segment_name_pid(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	if (pid <= 0 || end == name)
		return 0;
	return !strcmp(end, GPUVM_STATE_SUFFIX) || !strcmp(end, GPUVM_CTL_SUFFIX) ? pid : 0;
}

/*
 * Whether our own segment file @path belongs to a process that is gone:
 * its pid is dead, or (a state segment) its start time says the pid was
 * reused.  Anything not our own regular file is never judged, opened for
 * reading or removed: a FIFO there must not block us, a link not lead us.
 */
static bool segment_is_stale(const char *path, long pid)
{
	struct gpuvm_seg_header h;
	bool dead = kill((pid_t)pid, 0) && errno == ESRCH;
	int fd = safe_open_owned(path, false);

	if (fd < 0)
		return false;
	if (!dead && read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
	    h.magic == GPUVM_STATE_MAGIC && h.start_time &&
	    h.start_time != publish_start_time((int)pid))
		dead = true;
	close(fd);
	return dead;
}

/* Remove our segments (state and control) of processes that are gone. */
static void remove_stale(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dp = opendir(dir);
	long pid;
	int fd;

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		pid = segment_name_pid(e->d_name);
		if (!pid || pid == getpid())
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (!segment_is_stale(path, pid))
			continue;
		unlink(path);
		/* a reused pid's control segment goes with its state segment */
		if (snprintf(path, sizeof(path), "%s/%ld%s", dir, pid, GPUVM_CTL_SUFFIX) <
		    (int)sizeof(path) && (fd = safe_open_owned(path, false)) >= 0) {
			close(fd);
			unlink(path);
		}
	}
	closedir(dp);
}

/*
 * The run directory must be one no other user can subvert, the way
 * /run/user/<uid> is: a real directory (not a link), owned by us, that
 * nobody else may write.  Otherwise we refuse it and run unpublished.
 */
static int rundir_check(const char *dir)
{
	struct stat st;
	const char *why;

	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		why = S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a directory";
	else if (st.st_uid != geteuid())
		why = "belongs to another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		why = "is writable by other users";
	else
		return 0;
	vmm_warn("refusing the run directory %s: it %s; this process runs unpublished "
		 "(set GPUVM_RUNDIR to a directory of your own, mode 0700)", dir, why);
	return -EPERM;
}

/**
 * publish_rundir_check - whether the run directory may hold our files
 *
 * For what goes there besides the segments (the IPC socket, ipc_socket.c):
 * the same check as at start.  Return: 0, or -errno (said).
 */
int publish_rundir_check(void)
{
	return rundir_check(publish_rundir());
}

/* Copy a string into a fixed NUL-padded field, always terminated. */
static void copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memset(dst, 0, size);
	memcpy(dst, src, n);
}

static void fill_header(struct gpuvm_seg_header *h)
{
	const char *preload = getenv("LD_PRELOAD");
	char comm[64] = "";
	ssize_t n;
	int fd;

	h->magic = GPUVM_STATE_MAGIC;
	h->version_major = GPUVM_SEG_VERSION_MAJOR;
	h->version_minor = GPUVM_SEG_VERSION_MINOR;
	h->header_size = sizeof(struct gpuvm_seg_header);
	h->device_size = sizeof(struct gpuvm_seg_device);
	h->pte_size = sizeof(struct gpuvm_seg_pte);
	h->alloc_size = sizeof(struct gpuvm_seg_alloc);
	h->segment_size = pub.used;
	h->pid = getpid();
	h->uid = geteuid();	/* the file owner, which readers check */
	h->start_time = publish_start_time(h->pid);
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
		}
	}
	copy_field(h->comm, GPUVM_SEG_COMM, comm);
	if (preload && strstr(preload, "libgpuvm_preload"))
		h->flags |= GPUVM_SEG_F_SHIM;
}

int publish_init(void)
{
	const char *dir = publish_rundir();
	void *p;
	int ret;

	if (pub.on || !PUBLISH_ENABLED)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	ret = rundir_check(dir);
	if (ret)
		return ret;
	remove_stale(dir);
	if (snprintf(pub.state_path, sizeof(pub.state_path), "%s/%d%s", dir, (int)getpid(),
		     GPUVM_STATE_SUFFIX) >= (int)sizeof(pub.state_path) ||
	    snprintf(pub.ctl_path, sizeof(pub.ctl_path), "%s/%d%s", dir, (int)getpid(),
		     GPUVM_CTL_SUFFIX) >= (int)sizeof(pub.ctl_path))
		return -ENAMETOOLONG;

	ret = safe_create(pub.state_path, true);	/* a leftover with our pid goes */
	if (ret < 0)
		return ret;
	pub.state_fd = ret;
	pub.used = PAGE;
	if (ftruncate(pub.state_fd, (off_t)pub.used)) {
		ret = -errno;
		goto out_remove_state;
	}
	p = mmap(NULL, STATE_RESERVE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 pub.state_fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_remove_state;
	}
	pub.hdr = p;

	ret = safe_create(pub.ctl_path, true);
	if (ret < 0)
		goto out_unmap_state;
	pub.ctl_fd = ret;
	pub.ctl_size = round_up(sizeof(struct gpuvm_ctl_header), PAGE);
	if (ftruncate(pub.ctl_fd, (off_t)pub.ctl_size)) {
		ret = -errno;
		goto out_remove_ctl;
	}
	p = mmap(NULL, pub.ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED, pub.ctl_fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_remove_ctl;
	}
	pub.ctl = p;
	pub.ctl->magic = GPUVM_CTL_MAGIC;
	pub.ctl->version_major = GPUVM_SEG_VERSION_MAJOR;
	pub.ctl->version_minor = GPUVM_SEG_VERSION_MINOR;
	pub.ctl->header_size = sizeof(struct gpuvm_ctl_header);

	fill_header(pub.hdr);
	copy_field(pub.hdr->driver, GPUVM_SEG_DRIVER, pub.driver);
	if (pub.simulated)
		pub.hdr->flags |= GPUVM_SEG_F_SIMULATED;
	pub.on = true;
	return 0;

out_remove_ctl:
	close(pub.ctl_fd);
	unlink(pub.ctl_path);
	pub.ctl_fd = -1;
out_unmap_state:
	munmap(pub.hdr, STATE_RESERVE);
	pub.hdr = NULL;
out_remove_state:
	close(pub.state_fd);
	unlink(pub.state_path);
	pub.state_fd = -1;
	return ret;
}

/*
 * Remove our segment files but keep them mapped: threads still inside
 * gpuvm at exit may go on writing the tables until the process is gone.
 */
void publish_unlink(void)
{
	if (!pub.on)
		return;
	unlink(pub.state_path);
	unlink(pub.ctl_path);
}

void publish_exit(bool remove_files)
{
	if (!pub.on)
		return;
	munmap(pub.ctl, pub.ctl_size);
	munmap(pub.hdr, STATE_RESERVE);
	close(pub.ctl_fd);
	close(pub.state_fd);
	if (remove_files)
		publish_unlink();
	pub.ctl = NULL;
	pub.hdr = NULL;
	pub.ctl_fd = pub.state_fd = -1;
	pub.on = false;
}

/*
 * The header has writers on more than one thread (device set-up, and the
 * control thread reporting results), so its seqcount doubles as their
 * lock: a writer claims it by turning it odd with a compare-and-swap from
 * even, and releases it by turning it even.  No mutex, so nothing is left
 * locked in a forked child (which maps a header of its own anyway).
 */
static void hdr_write_begin(void)
{
	uint32_t *seq = &pub.hdr->seq;
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	for (;;) {
		if (!(s & 1) && __atomic_compare_exchange_n(seq, &s, s + 1, false,
							    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (s & 1) {
			sched_yield();	/* another writer: a few stores long */
			s = __atomic_load_n(seq, __ATOMIC_RELAXED);
		}
	}
	vmm_smp_wmb();
}

static void hdr_write_end(void)
{
	__seq_write_end(&pub.hdr->seq);
}

void publish_set_driver(const char *name, bool simulated)
{
	snprintf(pub.driver, sizeof(pub.driver), "%s", simulated ? "cudasim" : name);
	pub.simulated = simulated;
	if (!pub.on)
		return;
	hdr_write_begin();
	copy_field(pub.hdr->driver, GPUVM_SEG_DRIVER, pub.driver);
	if (simulated)
		pub.hdr->flags |= GPUVM_SEG_F_SIMULATED;
	hdr_write_end();
}

/*
 * Memory for device @dev's block, page table and allocation table: in the
 * segment (appended, page-aligned) or, when not publishing, on the heap.
 */
int publish_device(int dev, uint32_t nr_pt, uint32_t atab_cap, struct gpuvm_seg_device **blk,
		   struct gpuvm_seg_pte **pt, struct gpuvm_seg_alloc **atab)
{
	uint64_t blk_bytes = round_up(sizeof(**blk), PAGE);
	uint64_t pt_bytes = round_up((uint64_t)nr_pt * sizeof(**pt), PAGE);
	uint64_t atab_bytes = round_up((uint64_t)atab_cap * sizeof(**atab), PAGE);
	uint64_t off = pub.used, total = blk_bytes + pt_bytes + atab_bytes;
	struct gpuvm_seg_header *h = pub.hdr;
	char *base;

	if (!pub.on || off + total > STATE_RESERVE) {
		*blk = calloc(1, sizeof(**blk));
		*pt = calloc(nr_pt, sizeof(**pt));
		*atab = calloc(atab_cap, sizeof(**atab));
		if (*blk && *pt && *atab)
			return 0;
		free(*blk);
		free(*pt);
		free(*atab);
		return -ENOMEM;
	}
	if (ftruncate(pub.state_fd, (off_t)(off + total)))
		return -errno;
	base = (char *)h + off;
	*blk = (struct gpuvm_seg_device *)base;
	*pt = (struct gpuvm_seg_pte *)(base + blk_bytes);
	*atab = (struct gpuvm_seg_alloc *)(base + blk_bytes + pt_bytes);
	(*blk)->pt_offset = off + blk_bytes;
	(*blk)->alloc_offset = off + blk_bytes + pt_bytes;
	pub.used = off + total;

	hdr_write_begin();
	h->segment_size = pub.used;
	h->device_offset[dev] = off;
	if ((uint32_t)dev + 1 > h->nr_devices)
		h->nr_devices = dev + 1;
	hdr_write_end();
	return 0;
}

void publish_device_free(int dev, struct gpuvm_seg_device *blk, struct gpuvm_seg_pte *pt,
			 struct gpuvm_seg_alloc *atab, uint32_t nr_pt, uint32_t atab_cap)
{
	char *b = (char *)blk;

	if (pub.on && b >= (char *)pub.hdr && b < (char *)pub.hdr + STATE_RESERVE) {
		/* the space stays in the file; readers stop seeing the device */
		hdr_write_begin();
		pub.hdr->device_offset[dev] = 0;
		hdr_write_end();
		return;
	}
	free(blk);
	free(pt);
	free(atab);
}

struct gpuvm_ctl_header *publish_ctl(void)
{
	return pub.on ? pub.ctl : NULL;
}

void publish_ctl_result(uint64_t generation, int err)
{
	if (!pub.on)
		return;
	hdr_write_begin();
	pub.hdr->ctl_applied = generation;
	pub.hdr->ctl_error = err;
	hdr_write_end();
}
