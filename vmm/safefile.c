// SPDX-License-Identifier: MIT
/*
 * safefile.c - opening files in places another user may have touched.
 *
 * The run directory is shared (sticky, world-writable) and a trace path
 * may name one, so every open there refuses what a hostile user can plant:
 * a symlink (O_NOFOLLOW), a FIFO or device that would block or misbehave
 * (O_NONBLOCK, then fstat for a regular file), and a file that is not ours
 * (st_uid), whose contents we must neither trust nor feed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"

/*
 * @fd must be a regular file of ours (or root's, when @root_ok).  Then it
 * blocks again: io_uring would answer -EAGAIN on an O_NONBLOCK file rather
 * than wait, and the trace writer hands its file to io_uring.
 */
static int fd_owned_regular(int fd, bool root_ok)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != geteuid() && !(root_ok && st.st_uid == 0))
		return -EPERM;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return 0;
}

/**
 * safe_open_owned - open @path read-only if it is our own regular file
 * @path: the file
 * @root_ok: a file of root's is believed too (what root's gpuvmfs wrote)
 *
 * Return: a descriptor; -ELOOP for a symlink, -EINVAL for anything but a
 * regular file, -EPERM for another user's file, -errno from open().
 */
int safe_open_owned(const char *path, bool root_ok)
{
	int fd, err;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fd_owned_regular(fd, root_ok);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/**
 * safe_create - open @path to read and write, mode 0600, as our own empty file
 * @path: the file
 * @fresh: remove what is there first and insist on creating it (O_EXCL);
 *	otherwise an existing file is reused (truncated) if it is ours
 *
 * Return: a descriptor; -ELOOP, -EINVAL, -EPERM as safe_open_owned(),
 * -EEXIST when @fresh and someone else's file holds the name.
 */
int safe_create(const char *path, bool fresh)
{
	int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd, err;

	if (fresh) {
		unlink(path);	/* a leftover of ours; another's stays (sticky) */
		flags |= O_EXCL;
	}
	fd = open(path, flags, 0600);
	if (fd < 0)
		return -errno;
	err = fd_owned_regular(fd, false);
	if (!err && ftruncate(fd, 0))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
