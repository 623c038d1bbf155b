// SPDX-License-Identifier: MIT
/*
 * seg_proc.c - who wrote a segment: the run directory of a user, the name
 * of a process's files in it, and the start time that tells a live
 * writer from a reused pid.  The writer, the daemon and the CLI all read
 * them here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvm/segment.h>

/**
 * gpuvm_rundir_default - user @uid's own run directory
 * @buf: receives the path
 * @len: size of @buf
 * @uid: the user
 * Return: @buf.
 */
const char *gpuvm_rundir_default(char *buf, size_t len, uid_t uid)
{
	snprintf(buf, len, GPUVM_RUNDIR_PARENT "/" GPUVM_RUNDIR_PREFIX "%u", (unsigned int)uid);
	return buf;
}

/**
 * gpuvm_stat_start_time - field 22 (starttime) of a /proc/<pid>/stat text
 * @text: the file's text, NUL-terminated
 * @start_time: receives the value, in clock ticks since boot
 *
 * comm (field 2) may hold spaces and parentheses, so fields are counted
 * from the last ')'.
 * Return: 0, or -1 when the text has no such field.
 */
int gpuvm_stat_start_time(const char *text, uint64_t *start_time)
{
	const char *p = strrchr(text, ')');
	unsigned long long v;
	int field;

	if (!p)
		return -1;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field < 22 || sscanf(p, "%llu", &v) != 1)
		return -1;
	*start_time = v;
	return 0;
}

/**
 * gpuvm_proc_identity - start time and owner of a live process
 * @pid: the process
 * @start_time: receives field 22 of its /proc/<pid>/stat
 * @uid: receives the owner of that file (the process's real owner), or NULL
 * Return: 0, -ESRCH when it does not exist (or is a zombie being reaped),
 * -EIO for a stat text without the field, or -errno.
 */
int gpuvm_proc_identity(pid_t pid, uint64_t *start_time, uid_t *uid)
{
	char path[64], buf[1024];
	struct stat sb;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;	/* a zombie being reaped reads empty */
	buf[n] = '\0';
	if (gpuvm_stat_start_time(buf, start_time))
		return -EIO;
	if (uid)
		*uid = sb.st_uid;
	return 0;
}

/** gpuvm_proc_start_time - field 22 of /proc/@pid/stat, 0 when unknown */
uint64_t gpuvm_proc_start_time(pid_t pid)
{
	uint64_t v;

	return gpuvm_proc_identity(pid, &v, NULL) ? 0 : v;
}

/*
 * A decimal of @len bytes, strictly: no sign, no leading zero, no other
 * byte, at most @max.  Return: 0 or -EINVAL.
 */
static int parse_decimal(const char *name, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10 || name[0] == '0')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		v = v * 10 + (name[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/**
 * gpuvm_parse_pid - a pid from a decimal name, strictly
 * @name: the text (not necessarily NUL-terminated)
 * @len: its length
 * @pid: the pid on success
 *
 * No sign, no leading zero, no trailing byte, below 2^22 (PID_MAX_LIMIT).
 * Return: 0 or -EINVAL.
 */
int gpuvm_parse_pid(const char *name, size_t len, pid_t *pid)
{
	unsigned long v;

	if (parse_decimal(name, len, (1ul << 22) - 1, &v))
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

/**
 * gpuvm_seg_file_name - whether a run-directory entry is a process's file
 * @name: the entry's name
 * @pid: receives the pid it names
 * Return: which file ("<pid>.state", "<pid>.ctl"), or GPUVM_SEG_FILE_NONE.
 */
enum gpuvm_seg_file gpuvm_seg_file_name(const char *name, pid_t *pid)
{
	const char *dot = strchr(name, '.');
	unsigned long v;

	/*
	 * Any pid_t, not only those below PID_MAX_LIMIT: a file named for a
	 * pid that cannot exist is a leftover to remove, not a stranger.
	 */
	if (!dot || parse_decimal(name, dot - name, INT_MAX, &v))
		return GPUVM_SEG_FILE_NONE;
	*pid = (pid_t)v;
	if (!strcmp(dot, GPUVM_STATE_SUFFIX))
		return GPUVM_SEG_FILE_STATE;
	if (!strcmp(dot, GPUVM_CTL_SUFFIX))
		return GPUVM_SEG_FILE_CTL;
	return GPUVM_SEG_FILE_NONE;
}
