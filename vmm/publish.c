// SPDX-License-Identifier: MIT
/*
 * publish.c - the library's state segment and control segment: where
 * they live, when they are made and removed (the layout and the writer's
 * primitives are the ABI's own, seg/ and include/gpuvm/segment.h).
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

/*
 * Whether our own segment file @path belongs to a process that is gone:
 * its pid is dead, or (a state segment) its start time says the pid was
 * reused.  Anything not our own regular file is never judged, opened for
 * reading or removed: a FIFO there must not block us, a link not lead us.
 */
static bool segment_is_stale(const char *path, pid_t pid)
{
	struct gpuvm_seg_header h;
	bool dead = kill(pid, 0) && errno == ESRCH;
	int fd = safe_open_owned(path, false);

	if (fd < 0)
		return false;
	if (!dead && read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
	    h.magic == GPUVM_STATE_MAGIC && h.start_time &&
	    h.start_time != gpuvm_proc_start_time(pid))
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
	pid_t pid;
	int fd;

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (!gpuvm_seg_file_name(e->d_name, &pid) || pid == getpid())
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (!segment_is_stale(path, pid))
			continue;
		unlink(path);
		/* a reused pid's control segment goes with its state segment */
		if (snprintf(path, sizeof(path), "%s/%d%s", dir, (int)pid, GPUVM_CTL_SUFFIX) <
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

static void fill_header(struct gpuvm_seg_header *h)
{
	const char *preload = getenv("LD_PRELOAD");
	char comm[64] = "";
	ssize_t n;
	int fd;

	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
		}
	}
	/* the uid is the file owner's, which readers check */
	gpuvm_seg_header_init(h, getpid(), geteuid(), comm, pub.used);
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
	gpuvm_ctl_header_init(pub.ctl);

	fill_header(pub.hdr);
	gpuvm_seg_set_string(pub.hdr->driver, GPUVM_SEG_DRIVER, pub.driver);
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
 * control thread reporting results): its seqcount is their lock.
 */
static void hdr_write_begin(void)
{
	gpuvm_seq_write_lock(&pub.hdr->seq);
}

static void hdr_write_end(void)
{
	gpuvm_seq_write_end(&pub.hdr->seq);
}

void publish_set_driver(const char *name, bool simulated)
{
	snprintf(pub.driver, sizeof(pub.driver), "%s", simulated ? "cudasim" : name);
	pub.simulated = simulated;
	if (!pub.on)
		return;
	hdr_write_begin();
	gpuvm_seg_set_string(pub.hdr->driver, GPUVM_SEG_DRIVER, pub.driver);
	if (simulated)
		pub.hdr->flags |= GPUVM_SEG_F_SIMULATED;
	hdr_write_end();
}

/*
 * Memory for device @dev's block, page table and allocation table: in the
 * segment (appended, each part on pages of its own) or, when not
 * publishing, on the heap.  The block says where its tables are and how
 * big they are before the header shows it.
 */
int publish_device(int dev, uint32_t nr_pt, uint32_t atab_cap, struct gpuvm_seg_device **blk,
		   struct gpuvm_seg_pte **pt, struct gpuvm_seg_alloc **atab)
{
	struct gpuvm_seg_header *h = pub.hdr;
	struct gpuvm_seg_layout l = { 0 };
	char *base = (char *)h;

	if (!pub.on || gpuvm_seg_layout_device(pub.used, nr_pt, atab_cap, PAGE, &l) ||
	    l.end > STATE_RESERVE) {
		*blk = calloc(1, sizeof(**blk));
		*pt = calloc(nr_pt, sizeof(**pt));
		*atab = calloc(atab_cap, sizeof(**atab));
		if (!*blk || !*pt || !*atab) {
			free(*blk);
			free(*pt);
			free(*atab);
			return -ENOMEM;
		}
		memset(&l, 0, sizeof(l));	/* no offsets: not in a file */
		gpuvm_seg_device_init(*blk, dev, &l, nr_pt, atab_cap);
		return 0;
	}
	if (ftruncate(pub.state_fd, (off_t)l.end))
		return -errno;
	*blk = (struct gpuvm_seg_device *)(base + l.device_offset);
	*pt = (struct gpuvm_seg_pte *)(base + l.pt_offset);
	*atab = (struct gpuvm_seg_alloc *)(base + l.alloc_offset);
	gpuvm_seg_device_init(*blk, dev, &l, nr_pt, atab_cap);
	pub.used = l.end;

	hdr_write_begin();
	h->segment_size = pub.used;
	h->device_offset[dev] = l.device_offset;
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
