// SPDX-License-Identifier: MIT
/*
 * fuse_ops.c - the FUSE low-level operations of gpuvmfs: the one place that
 * speaks FUSE.  Everything below works on decoded inode numbers (inode.c)
 * and returns 0 or -errno; the handlers turn that into fuse_reply_*().
 *
 * A file's text is produced when it is opened, from one snapshot, and kept
 * with the open file: a reader that reads in pieces sees one consistent
 * state (as with seq_file), and files report size 0 and are served with
 * direct_io, as /proc does.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gpuvmfs/gpuvmfs.h>
#include "fuse_ops.h"

/* Cache lifetimes (s): process entries come and go, the rest stays. */
#define TIMEOUT_PROC	0.1
#define TIMEOUT_STATIC	1.0

struct dir_entry {
	const char *name;
	enum gpuvmfs_kind kind;
};

static const struct dir_entry root_entries[] = {
	{ "version", GFS_VERSION },
	{ "metrics", GFS_METRICS },
	{ "policy", GFS_GPOLICY_DIR },
};

static const struct dir_entry proc_entries[] = {
	{ "status", GFS_STATUS },
	{ "maps", GFS_MAPS },
	{ "pagetable", GFS_PAGETABLE },
	{ "allocs", GFS_ALLOCS_DIR },
	{ "policy", GFS_POLICY_DIR },
	{ "reclaim", GFS_RECLAIM },
};

static const struct dir_entry alloc_entries[] = {
	{ "info", GFS_ALLOC_INFO },
	{ "mappings", GFS_ALLOC_MAPPINGS },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct gpuvmfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Device ordinals that get a dev<N> directory: only with several devices. */
static bool proc_has_dev_dirs(const struct gpuvmfs_proc *p)
{
	return p->nr_devices > 1;
}

/*
 * Does @n exist now, and as what?  Fills @st (when not NULL) and @p (the
 * process, for nodes inside one).
 */
static int node_stat(struct gpuvmfs *fs, const struct gpuvmfs_node *n, struct stat *st,
		     struct gpuvmfs_proc *p)
{
	const struct gpuvm_knob *knob = NULL;
	struct gpuvmfs_proc proc = { 0 };
	mode_t mode = 0444;
	int err;

	if (n->pid) {
		err = gpuvmfs_proc_get(fs, n->pid, &proc);
		if (err)
			return err;
		if (n->dev >= 0 && (!proc_has_dev_dirs(&proc) || !(proc.dev_mask & (1u << n->dev))))
			return -ENOENT;
		if (p)
			*p = proc;
	}
	switch (n->kind) {
	case GFS_GPOLICY_KNOB:
		knob = gpuvmfs_node_knob(n);
		if (!knob)
			return -ENOENT;
		mode = 0644;
		break;
	case GFS_KNOB:
		knob = gpuvmfs_node_knob(n);
		if (!knob)
			return -ENOENT;
		/* read once at device setup: changing it live means nothing */
		mode = knob->init_only ? 0444 : 0644;
		break;
	case GFS_RECLAIM:
		mode = 0200;
		break;
	case GFS_ALLOC_DIR:
	case GFS_ALLOC_INFO:
	case GFS_ALLOC_MAPPINGS: {
		struct gpuvm_snapshot snap;
		int adev;

		err = gpuvmfs_proc_snapshot(fs, &proc, GPUVM_SNAP_ALLOCS, &snap);
		if (!err && !gpuvmfs_find_alloc(&snap, n->dev, n->arg, true, &adev))
			err = -ENOENT;
		gpuvm_snapshot_release(&snap);
		if (err)
			return -ENOENT;
		break;
	}
	default:
		break;
	}
	if (!st)
		return 0;
	memset(st, 0, sizeof(*st));
	st->st_ino = gpuvmfs_node_ino(n);
	if (gpuvmfs_kind_is_dir(n->kind)) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | mode;
		st->st_nlink = 1;
	}
	st->st_uid = n->pid ? proc.uid : fs->uid;
	st->st_gid = n->pid ? proc.gid : fs->gid;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fs->started;
	return 0;
}

static double node_timeout(const struct gpuvmfs_node *n)
{
	return n->pid ? TIMEOUT_PROC : TIMEOUT_STATIC;
}

static void reply_entry(fuse_req_t req, const struct gpuvmfs_node *n)
{
	struct fuse_entry_param e;
	int err;

	memset(&e, 0, sizeof(e));
	err = node_stat(req_fs(req), n, &e.attr, NULL);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	e.ino = e.attr.st_ino;
	e.attr_timeout = node_timeout(n);
	e.entry_timeout = node_timeout(n);
	fuse_reply_entry(req, &e);
}

static const struct dir_entry *find_entry(const struct dir_entry *v, size_t nr,
					  const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* "dev<N>" with N a decimal ordinal, strictly. */
static int parse_dev_name(const char *name)
{
	pid_t v;

	if (strncmp(name, "dev", 3))
		return -1;
	if (!strcmp(name + 3, "0"))
		return 0;
	if (gpuvm_parse_pid(name + 3, strlen(name + 3), &v) || v >= GPUVM_SEG_MAX_DEVICES)
		return -1;
	return v;
}

/* A decimal allocation id (> 0, no sign, no leading zero, no overflow). */
static int parse_id(const char *name, uint64_t *id)
{
	uint64_t v = 0;
	const char *p;

	if (!*name || *name == '0')
		return -EINVAL;
	for (p = name; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return -EINVAL;
	}
	*id = v;
	return 0;
}

static int lookup_node(struct gpuvmfs *fs, const struct gpuvmfs_node *parent, const char *name,
		       struct gpuvmfs_node *n)
{
	const struct dir_entry *e;
	struct gpuvmfs_proc proc;
	int idx, dev, err;

	*n = (struct gpuvmfs_node){ .pid = parent->pid, .dev = parent->dev };
	switch (parent->kind) {
	case GFS_ROOT:
		e = find_entry(root_entries, ARRAY_SIZE(root_entries), name);
		if (e) {
			n->kind = e->kind;
			return 0;
		}
		if (gpuvm_parse_pid(name, strlen(name), &n->pid))
			return -ENOENT;
		n->kind = GFS_PID_DIR;
		return 0;
	case GFS_GPOLICY_DIR:
	case GFS_POLICY_DIR:
		idx = gpuvmfs_knob_index(name);
		if (idx < 0)
			return -ENOENT;
		n->kind = parent->kind == GFS_POLICY_DIR ? GFS_KNOB : GFS_GPOLICY_KNOB;
		n->arg = idx;
		return 0;
	case GFS_PID_DIR:
		dev = parse_dev_name(name);
		if (dev >= 0) {
			n->kind = GFS_DEV_DIR;
			n->dev = dev;
			return 0;
		}
		/* fall through */
	case GFS_DEV_DIR:
		e = find_entry(proc_entries, ARRAY_SIZE(proc_entries), name);
		if (!e)
			return -ENOENT;
		n->kind = e->kind;
		return 0;
	case GFS_ALLOCS_DIR: {
		struct gpuvm_snapshot snap;
		uint64_t id;
		int adev;

		if (parse_id(name, &id))
			return -ENOENT;
		err = gpuvmfs_proc_get(fs, parent->pid, &proc);
		if (err)
			return err;
		err = gpuvmfs_proc_snapshot(fs, &proc, GPUVM_SNAP_ALLOCS, &snap);
		if (!err && !gpuvmfs_find_alloc(&snap, parent->dev, id, false, &adev))
			err = -ENOENT;
		gpuvm_snapshot_release(&snap);
		if (err)
			return -ENOENT;
		n->kind = GFS_ALLOC_DIR;
		n->arg = (uint32_t)id;
		return 0;
	}
	case GFS_ALLOC_DIR:
		e = find_entry(alloc_entries, ARRAY_SIZE(alloc_entries), name);
		if (!e)
			return -ENOENT;
		n->kind = e->kind;
		n->arg = parent->arg;
		return 0;
	default:
		return -ENOTDIR;
	}
}

static void gfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gpuvmfs_node pn, n;
	int err;

	err = gpuvmfs_ino_node(parent, &pn);
	if (!err)
		err = lookup_node(req_fs(req), &pn, name, &n);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_entry(req, &n);
}

static void gfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gpuvmfs_node n;
	struct stat st;
	int err;

	err = gpuvmfs_ino_node(ino, &n);
	if (!err)
		err = node_stat(req_fs(req), &n, &st, NULL);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, node_timeout(&n));
}

/* Only the truncation that comes with O_TRUNC is allowed (and ignored). */
static void gfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			struct fuse_file_info *fi)
{
	const int allowed = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
			    FUSE_SET_ATTR_CTIME;
	struct gpuvmfs_node n;
	struct stat st;
	int err;

	err = gpuvmfs_ino_node(ino, &n);
	if (!err)
		err = node_stat(req_fs(req), &n, &st, NULL);
	if (!err && ((to_set & ~allowed) || !(st.st_mode & 0222)))
		err = -EPERM;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, node_timeout(&n));
}

/* ---- directories ---- */

struct dir_list {
	size_t nr, cap;
	struct dir_list_entry {
		char name[32];
		uint64_t ino;
		mode_t mode;
	} *v;
};

static int dir_add(struct dir_list *d, const char *name, const struct gpuvmfs_node *n)
{
	struct dir_list_entry *e;

	if (d->nr == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		e = realloc(d->v, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->v = e;
		d->cap = cap;
	}
	e = &d->v[d->nr++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->ino = gpuvmfs_node_ino(n);
	e->mode = gpuvmfs_kind_is_dir(n->kind) ? S_IFDIR : S_IFREG;
	return 0;
}

static int dir_add_entries(struct dir_list *d, const struct dir_entry *v, size_t nr,
			   const struct gpuvmfs_node *parent)
{
	size_t i;
	int err = 0;

	for (i = 0; i < nr && !err; i++) {
		/* children of an allocation keep its id */
		struct gpuvmfs_node n = { v[i].kind, parent->pid, parent->dev,
					  parent->kind == GFS_ALLOC_DIR ? parent->arg : 0 };

		err = dir_add(d, v[i].name, &n);
	}
	return err;
}

static int dir_add_knobs(struct dir_list *d, enum gpuvmfs_kind kind,
			 const struct gpuvmfs_node *parent)
{
	int i, n = gpuvm_knob_count(), err = 0;

	for (i = 0; i < n && !err; i++) {
		const struct gpuvm_knob *k = gpuvm_knob_at(i);
		struct gpuvmfs_node kn = { kind, parent->pid, parent->dev, i };

		if (k)
			err = dir_add(d, k->name, &kn);
	}
	return err;
}

static int dir_fill(struct gpuvmfs *fs, const struct gpuvmfs_node *n, struct dir_list *d)
{
	struct gpuvmfs_node self = *n, up = { GFS_ROOT, 0, -1, 0 };
	struct gpuvmfs_proc proc, *procs;
	struct gpuvm_snapshot snap;
	size_t nr, i;
	char name[32];
	int err;

	err = node_stat(fs, n, NULL, &proc);
	if (err)
		return err;
	/* ".." only needs a plausible inode: the kernel resolves it itself */
	if (dir_add(d, ".", &self) || dir_add(d, "..", &up))
		return -ENOMEM;
	switch (n->kind) {
	case GFS_ROOT:
		err = dir_add_entries(d, root_entries, ARRAY_SIZE(root_entries), n);
		if (err)
			return err;
		err = gpuvmfs_proc_list(fs, &procs, &nr);
		for (i = 0; !err && i < nr; i++) {
			struct gpuvmfs_node pn = { GFS_PID_DIR, procs[i].pid, -1, 0 };

			snprintf(name, sizeof(name), "%d", (int)procs[i].pid);
			err = dir_add(d, name, &pn);
		}
		free(procs);
		return err;
	case GFS_GPOLICY_DIR:
		return dir_add_knobs(d, GFS_GPOLICY_KNOB, n);
	case GFS_POLICY_DIR:
		return dir_add_knobs(d, GFS_KNOB, n);
	case GFS_PID_DIR:
		err = dir_add_entries(d, proc_entries, ARRAY_SIZE(proc_entries), n);
		for (i = 0; !err && proc_has_dev_dirs(&proc) && i < GPUVM_SEG_MAX_DEVICES; i++) {
			struct gpuvmfs_node dn = { GFS_DEV_DIR, n->pid, (int)i, 0 };

			if (!(proc.dev_mask & (1u << i)))
				continue;
			snprintf(name, sizeof(name), "dev%zu", i);
			err = dir_add(d, name, &dn);
		}
		return err;
	case GFS_DEV_DIR:
		return dir_add_entries(d, proc_entries, ARRAY_SIZE(proc_entries), n);
	case GFS_ALLOC_DIR:
		return dir_add_entries(d, alloc_entries, ARRAY_SIZE(alloc_entries), n);
	case GFS_ALLOCS_DIR:
		err = gpuvmfs_proc_snapshot(fs, &proc, GPUVM_SNAP_ALLOCS, &snap);
		for (i = 0; !err && i < GPUVM_SEG_MAX_DEVICES; i++) {
			const struct gpuvm_snap_device *sd = snap.dev[i];
			uint32_t j;

			if (!sd || !sd->allocs || (n->dev >= 0 && (int)i != n->dev))
				continue;
			for (j = 0; !err && j < sd->blk.alloc_capacity; j++) {
				const struct gpuvm_seg_alloc *a = &sd->allocs[j];
				struct gpuvmfs_node an = { GFS_ALLOC_DIR, n->pid, n->dev,
							   (uint32_t)a->id };

				if (!gpuvm_seg_alloc_valid(a))
					continue;
				snprintf(name, sizeof(name), "%" PRIu64, a->id);
				err = dir_add(d, name, &an);
			}
		}
		gpuvm_snapshot_release(&snap);
		/* a broken segment lists no allocations; status says why */
		return err == -ENOMEM ? err : 0;
	default:
		return -ENOTDIR;
	}
}

static void gfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_list *d;
	struct gpuvmfs_node n;
	int err;

	err = gpuvmfs_ino_node(ino, &n);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (!gpuvmfs_kind_is_dir(n.kind)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = dir_fill(req_fs(req), &n, d);
	if (err) {
		free(d->v);
		free(d);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* the opener was interrupted: nobody will release it */
		free(d->v);
		free(d);
	}
}

static void gfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct dir_list *d = (struct dir_list *)(uintptr_t)fi->fh;
	size_t used = 0, i;
	char *buf;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off; i < d->nr; i++) {
		struct stat st = { .st_ino = d->v[i].ino, .st_mode = d->v[i].mode };
		size_t len = fuse_add_direntry(req, buf + used, size - used, d->v[i].name, &st,
					       i + 1);

		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void gfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_list *d = (struct dir_list *)(uintptr_t)fi->fh;

	free(d->v);
	free(d);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

static bool kind_writable(enum gpuvmfs_kind kind)
{
	return kind == GFS_GPOLICY_KNOB || kind == GFS_KNOB || kind == GFS_RECLAIM;
}

static void gfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gpuvmfs *fs = req_fs(req);
	int acc = fi->flags & O_ACCMODE;
	struct gpuvmfs_buf *b = NULL;
	struct gpuvmfs_proc proc;
	struct gpuvmfs_node n;
	struct stat st;
	int err;

	err = gpuvmfs_ino_node(ino, &n);
	if (!err)
		err = node_stat(fs, &n, &st, &proc);
	if (err)
		goto out_err;
	if (gpuvmfs_kind_is_dir(n.kind)) {
		err = -EISDIR;
		goto out_err;
	}
	/* root passes default_permissions: the modes still hold here */
	if ((acc != O_RDONLY && !(st.st_mode & 0222)) || (acc != O_WRONLY && !(st.st_mode & 0444))) {
		err = -EACCES;
		goto out_err;
	}
	if (acc != O_WRONLY) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			err = -ENOMEM;
			goto out_err;
		}
		err = gpuvmfs_node_text(fs, &n, &proc, b);
		if (err)
			goto out_free;
	}
	fi->fh = (uintptr_t)b;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		goto out_free_quiet;
	return;

out_free:
	gpuvmfs_buf_free(b);
	free(b);
out_err:
	fuse_reply_err(req, -err);
	return;
out_free_quiet:
	if (b)
		gpuvmfs_buf_free(b);
	free(b);
}

static void gfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct gpuvmfs_buf *b = (struct gpuvmfs_buf *)(uintptr_t)fi->fh;

	if (!b) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (off < 0 || (size_t)off >= b->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > b->len - off)
		size = b->len - off;
	fuse_reply_buf(req, b->data + off, size);
}

/* "all", or a size with the schema's syntax; 0 means everything. */
static int do_write(struct gpuvmfs *fs, const struct fuse_ctx *ctx,
		    const struct gpuvmfs_node *n, const char *text)
{
	const struct gpuvm_knob *knob = NULL;
	char dirbuf[PATH_MAX];
	struct gpuvm_segment seg;
	struct gpuvmfs_proc proc;
	const char *name, *dir;
	uint64_t val;
	int err;

	err = node_stat(fs, n, NULL, &proc);
	if (err)
		return err;
	/*
	 * Checked here too, not only by default_permissions: whatever the
	 * mount options, a user never tunes another user's process.
	 */
	if (ctx->uid != 0 && ctx->uid != (n->pid ? proc.uid : fs->uid))
		return -EACCES;
	if (n->kind == GFS_RECLAIM) {
		name = "reclaim";
		err = gpuvmfs_parse_reclaim(text, &val);
	} else {
		/* an init-only knob is refused by the process (EACCES) */
		knob = gpuvmfs_node_knob(n);
		name = knob->name;
		/* the one text entry point: parsed is checked */
		err = gpuvm_knob_parse(knob, text, &val);
	}
	if (err)
		return err;
	if (n->kind == GFS_GPOLICY_KNOB)
		return gpuvmfs_default_set(fs, knob, val);

	dir = gpuvmfs_proc_rundir(fs, proc.uid, dirbuf, sizeof(dirbuf));
	err = gpuvm_segment_open(dir, n->pid, &seg);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	if (seg.uid != proc.uid)
		err = -ESTALE;
	else
		err = gpuvm_ctl_request(dir, &seg, n->dev, name, val, GPUVMFS_CTL_TIMEOUT_MS);
	gpuvm_segment_close(&seg);
	return err;
}

static void gfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	char text[GPUVMFS_MAX_WRITE];
	struct gpuvmfs_node n;
	int err;

	err = gpuvmfs_ino_node(ino, &n);
	if (err)
		goto out;
	if (!kind_writable(n.kind)) {
		err = -EACCES;
		goto out;
	}
	/* one value per write, as sysfs: no appending, no pieces, no NULs */
	if (off != 0 || size >= sizeof(text) || memchr(buf, '\0', size)) {
		err = -EINVAL;
		goto out;
	}
	memcpy(text, buf, size);
	text[size] = '\0';
	err = do_write(req_fs(req), fuse_req_ctx(req), &n, text);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void gfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gpuvmfs_buf *b = (struct gpuvmfs_buf *)(uintptr_t)fi->fh;

	if (b) {
		gpuvmfs_buf_free(b);
		free(b);
	}
	fuse_reply_err(req, 0);
}

static void gfs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* the file text is built at open: no need for the kernel to cache it */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

const struct fuse_lowlevel_ops gpuvmfs_ops = {
	.init		= gfs_init,
	.lookup		= gfs_lookup,
	.getattr	= gfs_getattr,
	.setattr	= gfs_setattr,
	.open		= gfs_open,
	.read		= gfs_read,
	.write		= gfs_write,
	.release	= gfs_release,
	.opendir	= gfs_opendir,
	.readdir	= gfs_readdir,
	.releasedir	= gfs_releasedir,
};
