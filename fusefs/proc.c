// SPDX-License-Identifier: MIT
/*
 * proc.c - which processes /gpuvm shows.
 *
 * The run directory is scanned at most every GPUVMFS_PROC_TTL_MS and the
 * result reused by lookups, so a process that exits disappears within a
 * fraction of a second and a new one appears as fast, while `ls -l` of a
 * busy /gpuvm does not rescan per entry.  Nothing else is remembered: a
 * restarted daemon finds the same processes on its first scan.
 *
 * Which run directories: the one named (--rundir, $GPUVM_RUNDIR), else
 * the daemon user's own; a root daemon with none named serves every
 * user's own directory (GPUVM_RUNDIR_PARENT/GPUVM_RUNDIR_PREFIX<uid>),
 * each only when it is a real directory owned by that uid and writable by
 * nobody else, and each holding only that user's segments.
 *
 * A <pid>.state file is shown when
 *   - the pid is alive (/proc/<pid> exists), else both its files are
 *     removed when the directory is the daemon's (the process died
 *     without cleaning up; another user's files are left to that user's
 *     next process, so root never unlinks through a path a user controls);
 *   - /proc/<pid> belongs to the file's owner: nobody can plant a segment
 *     in another user's name;
 *   - a valid header carries the pid's start time: a reused pid is hidden;
 *   - the daemon is root, or the file is the daemon user's.
 * A file whose header does not validate is still shown (its status says
 * why): the process exists, and a person wants to know it is broken.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpuvmfs/gpuvmfs.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One run directory being scanned. */
struct scan_dir {
	const char *path;
	uid_t owner;		/* of the directory (lstat) */
	bool per_user;		/* a user's own: only its owner's segments */
};

/* Remove the files of a process that died without cleaning up. */
static void proc_cleanup(struct gpuvmfs *fs, const struct scan_dir *d, pid_t pid)
{
	char path[PATH_MAX];

	if (d->owner != fs->uid)
		return;
	snprintf(path, sizeof(path), "%s/%d" GPUVM_STATE_SUFFIX, d->path, (int)pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%d" GPUVM_CTL_SUFFIX, d->path, (int)pid);
	unlink(path);
}

/*
 * Examine one <pid>.state.
 * Return: 1 to show it (@p filled), 0 to hide it.
 */
static int proc_examine(struct gpuvmfs *fs, const struct scan_dir *d, pid_t pid,
			struct gpuvmfs_proc *p)
{
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	uint64_t start_time = 0;
	uid_t owner = 0;
	int err;

	err = gpuvm_proc_identity(pid, &start_time, &owner);
	if (err == -ESRCH) {
		proc_cleanup(fs, d, pid);
		return 0;
	}
	if (err)
		return 0;
	if (gpuvm_segment_open(d->path, pid, &seg))
		return 0;
	if (seg.uid != owner || (!fs->show_all && seg.uid != fs->uid) ||
	    (d->per_user && seg.uid != d->owner)) {
		gpuvm_segment_close(&seg);
		return 0;
	}
	/* a scan must not stall behind one segment stuck mid-update */
	seg.max_tries = 20;
	err = gpuvm_snapshot_take(&seg, 0, &snap);
	gpuvm_segment_close(&seg);
	gpuvm_snapshot_release(&snap);
	if (!err && snap.hdr.start_time != start_time)
		return 0;	/* the pid was reused: the file is another's */

	p->pid = pid;
	p->uid = owner;
	p->gid = seg.gid;
	p->start_time = start_time;
	p->valid = !err;
	p->dev_mask = err ? 0 : snap.dev_mask;
	p->nr_devices = err ? 0 : snap.nr_present;
	return 1;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct gpuvmfs_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A growing array of shown processes. */
struct proc_vec {
	struct gpuvmfs_proc *v;
	size_t nr, cap;
};

/* Add the shown processes of run directory @d to @pv. */
static int scan_rundir(struct gpuvmfs *fs, const struct scan_dir *d, struct proc_vec *pv)
{
	struct gpuvmfs_proc *nv;
	struct dirent *de;
	DIR *dir = opendir(d->path);

	if (!dir)
		return 0;	/* no run directory yet: nobody has started */
	while ((de = readdir(dir))) {
		pid_t pid;

		if (gpuvm_seg_file_name(de->d_name, &pid) != GPUVM_SEG_FILE_STATE)
			continue;
		if (pv->nr == pv->cap) {
			pv->cap = pv->cap ? pv->cap * 2 : 32;
			nv = realloc(pv->v, pv->cap * sizeof(*nv));
			if (!nv) {
				closedir(dir);
				return -ENOMEM;
			}
			pv->v = nv;
		}
		if (proc_examine(fs, d, pid, &pv->v[pv->nr]))
			pv->nr++;
	}
	closedir(dir);
	return 0;
}

/*
 * Whether @path is user @uid's own run directory: a real directory (not a
 * link) owned by @uid that no one else may write.
 */
static bool rundir_is_users(const char *path, uid_t uid)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode) && st.st_uid == uid &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* Every user's own run directory, GPUVM_RUNDIR_PARENT/GPUVM_RUNDIR_PREFIX<uid>. */
static int scan_per_user(struct gpuvmfs *fs, struct proc_vec *pv)
{
	const size_t plen = strlen(GPUVM_RUNDIR_PREFIX);
	char path[PATH_MAX], *end;
	struct scan_dir d = { .path = path, .per_user = true };
	struct dirent *de;
	unsigned long uid;
	DIR *dir = opendir(GPUVM_RUNDIR_PARENT);
	int err = 0;

	if (!dir)
		return 0;
	while (!err && (de = readdir(dir))) {
		if (strncmp(de->d_name, GPUVM_RUNDIR_PREFIX, plen) || !isdigit(de->d_name[plen]))
			continue;
		errno = 0;
		uid = strtoul(de->d_name + plen, &end, 10);
		if (errno || *end || uid != (uid_t)uid)
			continue;
		gpuvm_rundir_default(path, sizeof(path), (uid_t)uid);
		if (strcmp(path + strlen(GPUVM_RUNDIR_PARENT) + 1, de->d_name))
			continue;	/* not the canonical spelling of a uid */
		if (!rundir_is_users(path, (uid_t)uid))
			continue;
		d.owner = (uid_t)uid;
		err = scan_rundir(fs, &d, pv);
	}
	closedir(dir);
	return err;
}

/* Rescan the run directories when the last scan is older than the TTL. */
static int __proc_refresh(struct gpuvmfs *fs)
{
	struct proc_vec pv = { NULL, 0, 0 };
	struct scan_dir d = { .path = fs->rundir };
	uint64_t now = now_ns();
	struct stat st;
	int err;

	if (fs->procs_stamp_ns && now - fs->procs_stamp_ns < GPUVMFS_PROC_TTL_MS * 1000000ull)
		return 0;
	if (fs->per_user) {
		err = scan_per_user(fs, &pv);
	} else {
		/* a directory not ours gets no cleanup from us */
		d.owner = lstat(fs->rundir, &st) ? (uid_t)-1 : st.st_uid;
		err = scan_rundir(fs, &d, &pv);
	}
	if (err) {
		free(pv.v);
		return err;
	}
	qsort(pv.v, pv.nr, sizeof(*pv.v), cmp_proc);
	free(fs->procs);
	fs->procs = pv.v;
	fs->nr_procs = pv.nr;
	fs->procs_stamp_ns = now_ns();
	return 0;
}

/**
 * gpuvmfs_proc_rundir - the run directory of a shown process
 * @fs: the filesystem
 * @uid: the process's owner (struct gpuvmfs_proc.uid)
 * @buf: room for the path when it is computed
 * @len: size of @buf
 * Return: the directory holding its <pid>.state and <pid>.ctl.
 */
const char *gpuvmfs_proc_rundir(const struct gpuvmfs *fs, uid_t uid, char *buf, size_t len)
{
	return fs->per_user ? gpuvm_rundir_default(buf, len, uid) : fs->rundir;
}

/**
 * gpuvmfs_proc_get - a shown process by pid
 * @fs: the filesystem
 * @pid: the process
 * @out: a copy of its entry
 * Return: 0, -ENOENT, -ENOMEM.
 */
int gpuvmfs_proc_get(struct gpuvmfs *fs, pid_t pid, struct gpuvmfs_proc *out)
{
	struct gpuvmfs_proc key = { .pid = pid }, *p;
	int err;

	pthread_mutex_lock(&fs->proc_lock);
	err = __proc_refresh(fs);
	if (!err) {
		p = bsearch(&key, fs->procs, fs->nr_procs, sizeof(*p), cmp_proc);
		if (p)
			*out = *p;
		else
			err = -ENOENT;
	}
	pthread_mutex_unlock(&fs->proc_lock);
	return err;
}

/**
 * gpuvmfs_proc_list - a copy of the shown processes, sorted by pid
 * @fs: the filesystem
 * @out: malloc'ed array (free() it), NULL when empty
 * @nr: its length
 */
int gpuvmfs_proc_list(struct gpuvmfs *fs, struct gpuvmfs_proc **out, size_t *nr)
{
	int err;

	*out = NULL;
	*nr = 0;
	pthread_mutex_lock(&fs->proc_lock);
	err = __proc_refresh(fs);
	if (!err && fs->nr_procs) {
		*out = malloc(fs->nr_procs * sizeof(**out));
		if (*out) {
			memcpy(*out, fs->procs, fs->nr_procs * sizeof(**out));
			*nr = fs->nr_procs;
		} else {
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&fs->proc_lock);
	return err;
}

/**
 * gpuvmfs_proc_snapshot - open a shown process's segment and copy it
 * @fs: the filesystem
 * @p: the process (from gpuvmfs_proc_get())
 * @what: GPUVM_SNAP_*
 * @snap: filled; gpuvm_snapshot_release() it whatever the result
 *
 * The file is reopened: the owner is checked again, so a file replaced
 * since the scan by another user's is refused.
 * Return: 0 or negative errno (snap->error says why).
 */
int gpuvmfs_proc_snapshot(struct gpuvmfs *fs, const struct gpuvmfs_proc *p, unsigned int what,
			  struct gpuvm_snapshot *snap)
{
	char dir[PATH_MAX];
	struct gpuvm_segment seg;
	int err;

	memset(snap, 0, sizeof(*snap));
	err = gpuvm_segment_open(gpuvmfs_proc_rundir(fs, p->uid, dir, sizeof(dir)), p->pid, &seg);
	if (err) {
		snap->error = "cannot open the state segment";
		return err;
	}
	if (seg.uid != p->uid) {
		gpuvm_segment_close(&seg);
		snap->error = "state segment changed owner";
		return -ESTALE;
	}
	err = gpuvm_snapshot_take(&seg, what, snap);
	gpuvm_segment_close(&seg);
	return err;
}

void gpuvmfs_proc_exit(struct gpuvmfs *fs)
{
	free(fs->procs);
	fs->procs = NULL;
	fs->nr_procs = 0;
}
