/* SPDX-License-Identifier: MIT */
/*
 * gpuvmfs.h - the FUSE-free part of the gpuvmfs daemon (fusefs/libgpuvmfs.a):
 * the filesystem context, the inode numbering, the process list, the
 * defaults, the renderers and the metrics server.  The CLI renders what
 * /gpuvm serves through it when nothing is mounted, and the tests and the
 * fuzz target link it; not installed.  The segment reader and the control
 * ring are the ABI's (include/gpuvm/segment.h); the FUSE operations are
 * the daemon's own (fusefs/fuse_ops.h).
 */
#ifndef GPUVM_FUSEFS_GPUVMFS_H
#define GPUVM_FUSEFS_GPUVMFS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <gpuvm/gpuvm.h>
#include <gpuvm/segment.h>

#define GPUVMFS_VERSION		"1.0"
/* The file of /gpuvm/policy defaults, in the run directory. */
/* How long a scan of the run directory is reused, in ms. */
#define GPUVMFS_PROC_TTL_MS	200
/* How long a knob write waits for the process to apply it, in ms. */
#define GPUVMFS_CTL_TIMEOUT_MS	1000
/* Longest knob value accepted by a write, in bytes. */
#define GPUVMFS_MAX_WRITE	256

/* One process with a state segment, as the last scan saw it. */
struct gpuvmfs_proc {
	pid_t pid;
	uid_t uid;		/* owner of its state file (fstat) */
	gid_t gid;		/* group of its state file */
	uint64_t start_time;	/* from /proc/<pid>/stat */
	unsigned int dev_mask;	/* devices with a valid block */
	unsigned int nr_devices;
	bool valid;		/* header and devices passed validation */
};

struct gpuvmfs {
	char *rundir;			/* ours: the defaults, and every process unless per_user */
	bool per_user;			/* each process in its owner's own run directory */
	uid_t uid;			/* the daemon's */
	gid_t gid;
	bool show_all;			/* root: every user's processes */
	struct timespec started;	/* every file's times */

	pthread_mutex_t proc_lock;
	struct gpuvmfs_proc *procs;	/* sorted by pid; proc_lock */
	size_t nr_procs;		/* proc_lock */
	uint64_t procs_stamp_ns;	/* CLOCK_MONOTONIC of the scan; proc_lock */

};

/* ---- inode.c ---- */

enum gpuvmfs_kind {
	GFS_NONE,
	GFS_ROOT,
	GFS_VERSION,
	GFS_METRICS,
	GFS_GPOLICY_DIR,	/* /gpuvm/policy */
	GFS_GPOLICY_KNOB,	/* arg: schema index */
	GFS_PID_DIR,
	GFS_DEV_DIR,		/* dev: ordinal */
	GFS_STATUS,
	GFS_MAPS,
	GFS_PAGETABLE,
	GFS_RECLAIM,
	GFS_ALLOCS_DIR,
	GFS_ALLOC_DIR,		/* arg: allocation id, low 32 bits */
	GFS_ALLOC_INFO,
	GFS_ALLOC_MAPPINGS,
	GFS_POLICY_DIR,
	GFS_KNOB,		/* arg: schema index */
	GFS_NR_KINDS
};

/* What an inode number names; every field is in the number itself. */
struct gpuvmfs_node {
	enum gpuvmfs_kind kind;
	pid_t pid;		/* 0 outside a process directory */
	int dev;		/* ordinal, or -1: the whole process */
	uint32_t arg;
};

uint64_t gpuvmfs_node_ino(const struct gpuvmfs_node *n);
int gpuvmfs_ino_node(uint64_t ino, struct gpuvmfs_node *n);
bool gpuvmfs_kind_is_dir(enum gpuvmfs_kind kind);

/* ---- files.c ---- */

int gpuvmfs_knob_index(const char *name);
const struct gpuvm_knob *gpuvmfs_node_knob(const struct gpuvmfs_node *n);

/* ---- proc.c ---- */

int gpuvmfs_proc_get(struct gpuvmfs *fs, pid_t pid, struct gpuvmfs_proc *out);
int gpuvmfs_proc_list(struct gpuvmfs *fs, struct gpuvmfs_proc **out, size_t *nr);
int gpuvmfs_proc_snapshot(struct gpuvmfs *fs, const struct gpuvmfs_proc *p, unsigned int what,
			  struct gpuvm_snapshot *snap);
void gpuvmfs_proc_exit(struct gpuvmfs *fs);
const char *gpuvmfs_proc_rundir(const struct gpuvmfs *fs, uid_t uid, char *buf, size_t len);

/* ---- reclaim.c ---- */

int gpuvmfs_parse_reclaim(const char *text, uint64_t *bytes);

/* ---- defaults (policy.c) ---- */

int gpuvmfs_default_get(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t *val);
int gpuvmfs_default_set(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t val);

/* ---- render.c ---- */

/* A growing text buffer; on allocation failure err is set, text dropped. */
struct gpuvmfs_buf {
	char *data;
	size_t len, cap;	/* bytes; cap is charged (gpuvm_read_charge) */
	int err;
	bool truncated;		/* stopped at GPUVM_READ_TEXT_MAX */
};

void gpuvmfs_buf_free(struct gpuvmfs_buf *b);
void gpuvmfs_buf_end_truncated(struct gpuvmfs_buf *b);
void gpuvmfs_buf_printf(struct gpuvmfs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void gpuvmfs_render_status(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int err,
			   int dev);
void gpuvmfs_render_maps(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int dev);
void gpuvmfs_render_pagetable(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int dev);
const struct gpuvm_seg_alloc *gpuvmfs_find_alloc(const struct gpuvm_snapshot *s, int dev,
						 uint64_t id, bool low32, int *adev);
void gpuvmfs_render_alloc_info(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d,
			       const struct gpuvm_seg_alloc *a);
void gpuvmfs_render_alloc_mappings(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d,
				   const struct gpuvm_seg_alloc *a);
int gpuvmfs_render_knob(struct gpuvmfs_buf *b, const struct gpuvm_knob *knob, uint64_t val);
int gpuvmfs_snap_knob_value(const struct gpuvm_snapshot *s, int dev, const char *name,
			    uint64_t *val);

struct gpuvmfs_metrics_proc {
	pid_t pid;
	uid_t uid;
	int err;			/* of the snapshot */
	struct gpuvm_snapshot snap;
};

void gpuvmfs_render_metrics(struct gpuvmfs_buf *b, const struct gpuvmfs_metrics_proc *p,
			    size_t nr);

int gpuvmfs_node_text(struct gpuvmfs *fs, const struct gpuvmfs_node *n,
		      const struct gpuvmfs_proc *proc, struct gpuvmfs_buf *b);
int gpuvmfs_metrics_text(struct gpuvmfs *fs, struct gpuvmfs_buf *b);

/* ---- metrics_http.c: GET /metrics over HTTP ---- */

/* Where gpuvm exporter listens unless told (loopback only). */
#define GPUVMFS_METRICS_LISTEN	"127.0.0.1:9464"

struct gpuvmfs_http;

/* Fills @b with the metrics text; 0 or negative errno. */
typedef int (*gpuvmfs_http_text_fn)(void *arg, struct gpuvmfs_buf *b);

int gpuvmfs_http_listen(const char *text, struct gpuvmfs_http **out, const char **why);
const char *gpuvmfs_http_address(const struct gpuvmfs_http *h);
int gpuvmfs_http_start(struct gpuvmfs_http *h, gpuvmfs_http_text_fn text, void *arg);
void gpuvmfs_http_close(struct gpuvmfs_http *h);

#endif /* GPUVM_FUSEFS_GPUVMFS_H */
