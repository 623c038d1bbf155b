// SPDX-License-Identifier: MIT
/*
 * source.c - where the gpuvm command reads state and writes knobs.
 *
 * When gpuvmfs is mounted, everything goes through its files, so a person
 * sees exactly what `cat` and `echo` see.  When it is not, the command does
 * what gpuvmfs would do, with gpuvmfs's own code (fusefs/proc.c,
 * segment.c, render.c, control.c linked in): the same process list, the
 * same validation of hostile segments, the same text, the same knob
 * checks and the same control-segment writer, so the two paths cannot
 * drift apart.
 *
 * Which mount: --mount DIR, else $GPUVM_MOUNT, else a gpuvmfs mount that
 * serves our run directory (/gpuvm first): each mount says which one it
 * serves in its source field of /proc/self/mountinfo ("gpuvmfs:DIR", or
 * "gpuvmfs:per-user" for root's mount of every user's own directory), so
 * choosing reads nothing through FUSE.  --direct, or none found: the
 * segments in the run directory.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"
#include <gpuvmfs/gpuvmfs.h>

/* gpuvmfs mounts with fsname=gpuvmfs[:SERVED],subtype=gpuvm (fusefs/gpuvmfs.c). */
#define GPUVMFS_FSTYPE	"fuse.gpuvm"
#define GPUVMFS_SOURCE	"gpuvmfs"
#define GPUVMFS_PER_USER "per-user"

/* Most bytes a status, maps or pagetable file may hold for us. */
#define READ_MAX	(256u << 20)

bool cli_source_opt(int c, const char *arg, struct cli_source_opts *o)
{
	switch (c) {
	case 'M':
		o->mount = arg;
		return true;
	case 'D':
		o->direct = true;
		return true;
	case 'R':
		o->rundir = arg;
		return true;
	default:
		return false;
	}
}

/* Undo the octal escapes of /proc/self/mountinfo ("\040" for a space). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * Walk the gpuvmfs mounts: @fn gets each mount point and what it serves
 * (a run directory, GPUVMFS_PER_USER, or "" when it does not say); a
 * non-zero return stops the walk and is returned.
 */
static int each_gpuvmfs(int (*fn)(const char *mnt, const char *served, void *arg), void *arg)
{
	char *line = NULL, *fields[12], *sep, *p;
	size_t cap = 0;
	int ret = 0, n;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	while (!ret && getline(&line, &cap, f) > 0) {
		/* id parent dev root mountpoint opts [optional...] - fstype source super */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (n = 0, p = strtok(line, " "); p && n < 5; p = strtok(NULL, " "))
			fields[n++] = p;
		if (n < 5)
			continue;
		fields[5] = strtok(sep + 3, " \n");
		fields[6] = strtok(NULL, " \n");
		if (!fields[5] || !fields[6])
			continue;
		if (strcmp(fields[5], GPUVMFS_FSTYPE))
			continue;
		if (strncmp(fields[6], GPUVMFS_SOURCE, strlen(GPUVMFS_SOURCE)))
			continue;
		p = fields[6] + strlen(GPUVMFS_SOURCE);
		if (*p && *p != ':')
			continue;
		unescape(fields[4]);
		unescape(p);
		ret = fn(fields[4], *p ? p + 1 : p, arg);
	}
	free(line);
	fclose(f);
	return ret;
}

struct mount_match {
	const char *dir;	/* a mount point, canonical */
	char *served;		/* receives what it serves, or NULL */
	size_t len;
};

static int match_mount(const char *mnt, const char *served, void *arg)
{
	struct mount_match *m = arg;

	if (strcmp(mnt, m->dir))
		return 0;
	if (m->served)
		snprintf(m->served, m->len, "%s", served);
	return 1;
}

/* Whether a gpuvmfs is mounted at @dir; @served (may be NULL) gets what it serves. */
static bool gpuvmfs_at(const char *dir, char *served, size_t len)
{
	char real[PATH_MAX];
	struct mount_match m = { real, served, len };

	if (!realpath(dir, real))
		return false;
	return each_gpuvmfs(match_mount, &m) > 0;
}

/**
 * cli_is_gpuvmfs - whether a gpuvmfs is mounted at @dir
 * @dir: a directory (need not exist)
 */
bool cli_is_gpuvmfs(const char *dir)
{
	return gpuvmfs_at(dir, NULL, 0);
}

/* Two paths name the same directory (both must exist), or the same text. */
static bool same_dir(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!strcmp(a, b))
		return true;
	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* Whether a mount serving @served shows the processes of @src. */
static bool serves(const struct cli_source *src, const char *served)
{
	if (!strcmp(served, GPUVMFS_PER_USER))
		return src->per_user || same_dir(src->rundir, src->own);
	return *served && !src->per_user && same_dir(src->rundir, served);
}

struct find_mount {
	const struct cli_source *src;
	char *buf;
	size_t len;
	int others;		/* gpuvmfs mounts that serve someone else */
};

static int take_serving(const char *mnt, const char *served, void *arg)
{
	struct find_mount *fm = arg;
	struct stat st;

	/* only a mount we can read, of our own user or root */
	if (stat(mnt, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0))
		return 0;
	if (!serves(fm->src, served)) {
		fm->others++;
		return 0;
	}
	if (strlen(mnt) >= fm->len)
		return 0;
	strcpy(fm->buf, mnt);
	return 1;
}

/*
 * The gpuvmfs to use when none was named: $GPUVM_MOUNT, else /gpuvm or the
 * first mount when they serve @src's run directory.  Return: 0, or -ENOENT
 * (src->others_mounted says how many serve other directories).
 */
static int find_gpuvmfs(struct cli_source *src)
{
	struct find_mount fm = { src, src->mount, sizeof(src->mount), 0 };
	const char *env = getenv("GPUVM_MOUNT");
	char served[PATH_MAX];

	if (env && *env && gpuvmfs_at(env, src->served, sizeof(src->served)) &&
	    strlen(env) < sizeof(src->mount)) {
		strcpy(src->mount, env);
		return 0;
	}
	if (gpuvmfs_at("/gpuvm", served, sizeof(served)) && serves(src, served)) {
		strcpy(src->mount, "/gpuvm");
		snprintf(src->served, sizeof(src->served), "%s", served);
		return 0;
	}
	if (each_gpuvmfs(take_serving, &fm) > 0) {
		gpuvmfs_at(src->mount, src->served, sizeof(src->served));
		return 0;
	}
	src->mount[0] = '\0';
	src->others_mounted = fm.others;
	return -ENOENT;
}

/**
 * cli_source_describe - where @src reads from, for a header line
 * @src: from cli_source_init()
 * @buf: receives e.g. "through /gpuvm (gpuvmfs serving /dev/shm/gpuvm-0)"
 * @len: size of @buf
 */
void cli_source_describe(const struct cli_source *src, char *buf, size_t len)
{
	const char *dir = src->per_user ? "every user's " GPUVM_RUNDIR_DEFAULT : src->rundir;

	if (src->mount[0] && !strcmp(src->served, GPUVMFS_PER_USER))
		snprintf(buf, len, "through %s (gpuvmfs serving every user's "
			 GPUVM_RUNDIR_DEFAULT ")", src->mount);
	else if (src->mount[0] && src->served[0])
		snprintf(buf, len, "through %s (gpuvmfs serving %s)", src->mount, src->served);
	else if (src->mount[0])
		snprintf(buf, len, "through %s", src->mount);
	else if (src->direct)
		snprintf(buf, len, "from the segments in %s (--direct)", dir);
	else if (src->others_mounted)
		snprintf(buf, len, "from the segments in %s (%d gpuvmfs mounted, none serving it)",
			 dir, src->others_mounted);
	else
		snprintf(buf, len, "from the segments in %s (no gpuvmfs mounted)", dir);
}

/**
 * cli_source_init - decide where to read from
 * @cmd: subcommand name, for messages
 * @o: the parsed --mount/--direct/--rundir
 * @src: filled
 * Return: 0, or EXIT_USAGE when --mount names no gpuvmfs (reported).
 */
int cli_source_init(const char *cmd, const struct cli_source_opts *o, struct cli_source *src)
{
	const char *env = getenv("GPUVM_RUNDIR");

	memset(src, 0, sizeof(*src));
	/* ours even when another is named: a per-user mount serves it */
	gpuvm_rundir_default(src->own, sizeof(src->own), geteuid());
	src->rundir = o->rundir ? o->rundir : env && *env ? env : src->own;
	/* like a root gpuvmfs: with no directory named, every user's own */
	src->per_user = !o->rundir && !(env && *env) && geteuid() == 0;
	if (o->direct && o->mount) {
		cli_err(cmd, "--mount and --direct exclude each other");
		return EXIT_USAGE;
	}
	if (o->direct) {
		src->direct = true;
		return 0;
	}
	if (o->mount) {
		if (!gpuvmfs_at(o->mount, src->served, sizeof(src->served))) {
			cli_err(cmd, "no gpuvmfs is mounted at %s", o->mount);
			return EXIT_USAGE;
		}
		if (strlen(o->mount) >= sizeof(src->mount)) {
			cli_err(cmd, "--mount: path too long");
			return EXIT_USAGE;
		}
		strcpy(src->mount, o->mount);
		return 0;
	}
	find_gpuvmfs(src);
	return 0;
}

/* ---- reading ---- */

static int read_file(const char *path, char **text)
{
	size_t len = 0, cap = 65536;
	char *buf, *nb;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= READ_MAX) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			close(fd);
			return n;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static const char *const file_names[] = {
	[CLI_STATUS] = "status",
	[CLI_MAPS] = "maps",
	[CLI_PAGETABLE] = "pagetable",
};

/* A gpuvmfs context over the run directory, as the daemon would have it. */
static void direct_init(const struct cli_source *src, struct gpuvmfs *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->rundir = (char *)src->rundir;
	fs->uid = geteuid();
	fs->show_all = fs->uid == 0;
	fs->per_user = src->per_user;
	pthread_mutex_init(&fs->proc_lock, NULL);
}

static void direct_exit(struct gpuvmfs *fs)
{
	gpuvmfs_proc_exit(fs);
	pthread_mutex_destroy(&fs->proc_lock);
}

static int direct_read(const struct cli_source *src, pid_t pid, int dev, enum cli_file file,
		       char **text)
{
	static const unsigned int what[] = {
		[CLI_STATUS] = 0,
		[CLI_MAPS] = GPUVM_SNAP_ALLOCS,
		[CLI_PAGETABLE] = GPUVM_SNAP_PT,
	};
	struct gpuvmfs_buf b = { 0 };
	struct gpuvm_snapshot snap;
	struct gpuvmfs_proc proc;
	struct gpuvmfs fs;
	int err;

	direct_init(src, &fs);
	err = gpuvmfs_proc_get(&fs, pid, &proc);
	if (err)
		goto out;
	if (dev >= 0 && (dev >= GPUVM_SEG_MAX_DEVICES || !(proc.dev_mask & (1u << dev)))) {
		err = -ENOENT;
		goto out;
	}
	err = gpuvmfs_proc_snapshot(&fs, &proc, what[file], &snap);
	/* as gpuvmfs: a broken segment has a status saying why, else EIO */
	if (file == CLI_STATUS) {
		gpuvmfs_render_status(&b, &snap, err, dev);
		err = b.err;
	} else if (err) {
		err = -EIO;
	} else if (file == CLI_MAPS) {
		gpuvmfs_render_maps(&b, &snap, dev);
		err = b.err;
	} else {
		gpuvmfs_render_pagetable(&b, &snap, dev);
		err = b.err;
	}
	gpuvm_snapshot_release(&snap);
	if (!err) {
		*text = b.data ? b.data : strdup("");
		if (!*text)
			err = -ENOMEM;
		b.data = NULL;
	}
	gpuvmfs_buf_free(&b);
out:
	direct_exit(&fs);
	return err;
}

/**
 * cli_read - the text of /gpuvm/<pid>/[dev<N>/]<file>
 * @src: the source
 * @pid: the process
 * @dev: device ordinal, or -1 for the whole process
 * @file: which file
 * @text: on success, malloc'ed text (free() it)
 * Return: 0, -ENOENT (no such process or device), or negative errno.
 */
int cli_read(const struct cli_source *src, pid_t pid, int dev, enum cli_file file, char **text)
{
	char path[PATH_MAX + 64];

	char devs[64], *status;
	int err;

	if (!src->mount[0])
		return direct_read(src, pid, dev, file, text);
	if (dev >= 0) {
		snprintf(path, sizeof(path), "%s/%d/dev%d/%s", src->mount, (int)pid, dev,
			 file_names[file]);
		err = read_file(path, text);
		if (err != -ENOENT)
			return err;
		/*
		 * gpuvmfs has dev<N> directories only for processes on several
		 * devices; a process on device N alone shows it at the top.
		 */
		snprintf(path, sizeof(path), "%s/%d/status", src->mount, (int)pid);
		err = read_file(path, &status);
		if (err)
			return err;
		if (!cli_status_str(status, "devices", devs, sizeof(devs)) ||
		    strtol(devs, NULL, 10) != dev || strchr(devs, ' ')) {
			free(status);
			return -ENOENT;
		}
		if (file == CLI_STATUS) {
			*text = status;
			return 0;
		}
		free(status);
	}
	snprintf(path, sizeof(path), "%s/%d/%s", src->mount, (int)pid, file_names[file]);
	return read_file(path, text);
}

/**
 * cli_metrics - the text of /gpuvm/metrics
 * @src: the source: its mount's file, else gpuvmfs's renderer over the
 *       segments (gpuvmfs_metrics_text(), as the daemon makes it)
 * @b: receives the text
 * Return: 0 or negative errno.
 */
int cli_metrics(const struct cli_source *src, struct gpuvmfs_buf *b)
{
	char path[PATH_MAX + 16], *text;
	struct gpuvmfs fs;
	int err;

	if (!src->mount[0]) {
		direct_init(src, &fs);
		err = gpuvmfs_metrics_text(&fs, b);
		direct_exit(&fs);
		return err;
	}
	snprintf(path, sizeof(path), "%s/metrics", src->mount);
	err = read_file(path, &text);
	if (err)
		return err;
	gpuvmfs_buf_printf(b, "%s", text);
	free(text);
	return b->err;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/**
 * cli_list_pids - the processes gpuvmfs shows (or would show), by pid
 * @src: the source
 * @pids: malloc'ed array (free() it), NULL when empty
 * @nr: its length
 */
int cli_list_pids(const struct cli_source *src, pid_t **pids, size_t *nr)
{
	size_t n = 0, cap = 0, i;
	pid_t *v = NULL, *nv;
	struct dirent *de;
	DIR *dir;
	int err = 0;

	*pids = NULL;
	*nr = 0;
	if (!src->mount[0]) {
		struct gpuvmfs_proc *procs;
		struct gpuvmfs fs;

		direct_init(src, &fs);
		err = gpuvmfs_proc_list(&fs, &procs, &n);
		if (!err && n) {
			v = malloc(n * sizeof(*v));
			if (v) {
				for (i = 0; i < n; i++)
					v[i] = procs[i].pid;
			} else {
				err = -ENOMEM;
			}
			free(procs);
		}
		direct_exit(&fs);
		if (err)
			return err;
		*pids = v;
		*nr = n;
		return 0;
	}
	dir = opendir(src->mount);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		pid_t pid;

		if (gpuvm_parse_pid(de->d_name, strlen(de->d_name), &pid))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = pid;
	}
	closedir(dir);
	if (err) {
		free(v);
		return err;
	}
	qsort(v, n, sizeof(*v), cmp_pid);
	*pids = v;
	*nr = n;
	return 0;
}

/* ---- writing ---- */

/**
 * cli_check_knob - validate NAME=VALUE text as gpuvmfs does before a write
 * @name: knob name
 * @value: text
 * @knob: on success, the schema entry (may be NULL)
 * @val: on success, the value (may be NULL)
 * Return: 0; -ENOENT (no such knob), -EINVAL, -ERANGE.
 */
int cli_check_knob(const char *name, const char *value, const struct gpuvm_knob **knob,
		   uint64_t *val)
{
	const struct gpuvm_knob *k = gpuvm_knob_find(name);
	uint64_t v;
	int err;

	if (!k)
		return -ENOENT;
	if (strlen(value) >= GPUVMFS_MAX_WRITE)
		return -EINVAL;
	err = gpuvm_knob_parse(k, value, &v);	/* parsed is checked */
	if (err)
		return err;
	if (knob)
		*knob = k;
	if (val)
		*val = v;
	return 0;
}

/* One write(2) of the whole value, as `echo VALUE > FILE` does. */
static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = write(fd, text, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/**
 * cli_segment_open - open the state segment of a shown process
 * @src: where to read from
 * @pid: the process
 * @seg: filled on success; close with gpuvm_segment_close()
 * @proc: filled with the process as listed
 * @dir: receives the run directory it publishes in (PATH_MAX bytes)
 *
 * The process is found as gpuvmfs finds it (so, for root with no run
 * directory named, in its owner's own one), and the segment must still be
 * its owner's.
 * Return: 0, -ESRCH (not shown), -ESTALE (the file changed hands), -errno.
 */
int cli_segment_open(const struct cli_source *src, pid_t pid, struct gpuvm_segment *seg,
		     struct gpuvmfs_proc *proc, char *dir)
{
	char own[PATH_MAX];
	struct gpuvmfs fs;
	int err;

	direct_init(src, &fs);
	err = gpuvmfs_proc_get(&fs, pid, proc);
	if (!err)
		snprintf(dir, PATH_MAX, "%s", gpuvmfs_proc_rundir(&fs, proc->uid, own, sizeof(own)));
	direct_exit(&fs);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	err = gpuvm_segment_open(dir, pid, seg);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	if (seg->uid != proc->uid) {
		gpuvm_segment_close(seg);
		return -ESTALE;
	}
	return 0;
}

/* What gpuvmfs's write handler does after it parsed and checked. */
static int direct_request(const struct cli_source *src, pid_t pid, int dev, const char *name,
			  uint64_t val)
{
	struct gpuvm_segment seg;
	struct gpuvmfs_proc proc;
	char dir[PATH_MAX];
	int err;

	err = cli_segment_open(src, pid, &seg, &proc, dir);
	if (err)
		return err;
	if (dev >= 0 && (dev >= GPUVM_SEG_MAX_DEVICES || !(proc.dev_mask & (1u << dev))))
		err = -ENOENT;
	else if (geteuid() != 0 && geteuid() != proc.uid)
		err = -EACCES;
	else
		err = gpuvm_ctl_request(dir, &seg, dev, name, val, GPUVMFS_CTL_TIMEOUT_MS);
	gpuvm_segment_close(&seg);
	return err;
}

static void knob_path(char *path, size_t len, const struct cli_source *src, pid_t pid, int dev,
		      const char *file)
{
	if (dev >= 0)
		snprintf(path, len, "%s/%d/dev%d/%s", src->mount, (int)pid, dev, file);
	else
		snprintf(path, len, "%s/%d/%s", src->mount, (int)pid, file);
}

/**
 * cli_write_knob - change a live knob of a process
 * @src: the source
 * @pid: the process
 * @dev: device ordinal, or -1 for every device
 * @knob: its name
 * @value: the text, as written to the knob file
 * Return: 0, or the errno a write to /gpuvm/<pid>/policy/<knob> gives.
 */
int cli_write_knob(const struct cli_source *src, pid_t pid, int dev, const char *knob,
		   const char *value)
{
	const struct gpuvm_knob *k;
	char path[PATH_MAX + 128];
	uint64_t val;
	int err;

	/* checked here on both paths: a mount would refuse the same way */
	err = cli_check_knob(knob, value, &k, &val);
	if (err)
		return err;
	if (k->init_only)
		return -EACCES;
	if (!src->mount[0])
		return direct_request(src, pid, dev, k->name, val);
	knob_path(path, sizeof(path), src, pid, dev, "policy/");
	if (strlen(path) + strlen(k->name) >= sizeof(path))
		return -ENAMETOOLONG;
	strcat(path, k->name);
	return write_file(path, value);
}

/**
 * cli_reclaim - ask a process to hand cached chunks back
 * @src: the source
 * @pid: the process
 * @dev: device ordinal, or -1 for every device
 * @amount: "all" or a size
 * Return: 0, or the errno a write to /gpuvm/<pid>/reclaim gives.
 */
int cli_reclaim(const struct cli_source *src, pid_t pid, int dev, const char *amount)
{
	char path[PATH_MAX + 64];
	uint64_t val;
	int err;

	err = gpuvmfs_parse_reclaim(amount, &val);
	if (err)
		return err;
	if (!src->mount[0])
		return direct_request(src, pid, dev, "reclaim", val);
	knob_path(path, sizeof(path), src, pid, dev, "reclaim");
	return write_file(path, amount);
}

/* ---- status text ---- */

/* The value text of "key: value" in @text, or NULL; *len its length. */
static const char *status_find(const char *text, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			*len = strcspn(p, "\n");
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

bool cli_status_str(const char *text, const char *key, char *buf, size_t len)
{
	const char *v;
	size_t n;

	v = status_find(text, key, &n);
	if (!v || !len)
		return false;
	if (n >= len)
		n = len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

uint64_t cli_status_u64(const char *text, const char *key)
{
	char buf[32];

	if (!cli_status_str(text, key, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 0);
}

double cli_status_double(const char *text, const char *key)
{
	char buf[32];

	if (!cli_status_str(text, key, buf, sizeof(buf)))
		return 0.0;
	return strtod(buf, NULL);
}

/* The sum of every driver_<call> counter (not the driver_ns_<call> times). */
uint64_t cli_status_driver_calls(const char *text)
{
	const char *p = text;
	uint64_t sum = 0;

	while (p && *p) {
		if (!strncmp(p, "driver_", 7) && strncmp(p, "driver_ns_", 10)) {
			size_t n = strcspn(p, "\n");
			const char *colon = memchr(p, ':', n);

			if (colon)
				sum += strtoull(colon + 1, NULL, 10);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return sum;
}
