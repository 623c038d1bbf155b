// SPDX-License-Identifier: MIT
/*
 * stress.c - `gpuvm stress`: threads allocate, free, resize and free in
 * stream order through libgpuvm at random, with mixed sizes on one or two
 * devices; every allocation is filled by the fill kernel with its own seed
 * and checked by the verify kernel before it is freed and after a resize,
 * so memory that moved, vanished or was handed out twice is found.
 *
 * Around the workers (each optional):
 *   --faults        every driver call fails in turn (cudasim's
 *                   fault injection): operations may fail, cleanly; data
 *                   is never lost
 *   --policy-churn  another process changes this one's knobs and reads
 *                   its page table through a gpuvmfs mount
 *   --kill          a client killed with SIGKILL and the daemon killed
 *                   and restarted mid-run
 *
 * At the end: operations, bytes verified, errors and leaks (what gpuvm and
 * the driver still hold after everything was freed and gpuvm shut down).
 * Exit status 0 only when errors and leaks are both 0.
 *
 * It uses the public API and the kernels/ launcher only, so the same file
 * is linked into bin/gpuvm and into tests/stress.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>
#include <gpuvm/segment.h>

#include "command.h"
#include <kernels/launch.h>

#define KiB		(1ull << 10)
#define MiB		(1ull << 20)
#define ST_SLOTS	12		/* live allocations per thread */
#define ST_MAX_THREADS	64
#define ST_MAX_DEVICES	2

struct st_opts {
	double duration;	/* seconds */
	int threads;
	int devices;
	uint64_t seed;
	bool policy_churn, kill, faults, progress, verbose;
};

/* The gpuvmfs side of a run (--policy-churn, --kill). */
struct st_churn_counts;
struct st_fs {
	const struct st_opts *o;
	bool active;			/* mounted by us */
	bool started;			/* st_fs_stop() has work to do */
	char exe[PATH_MAX];		/* this program, for the client */
	char daemon[PATH_MAX];		/* gpuvmfs, beside it */
	char rundir[PATH_MAX];
	char tmp[PATH_MAX];
	char mnt[PATH_MAX + 8];
	pid_t daemon_pid, churn_pid;
	struct st_churn_counts *churn;	/* shared with the churner */
	bool client_killed, daemon_restarted;
	int errors;
};

static void st_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int st_fs_start(struct st_fs *fs, const struct st_opts *o);
static void st_fs_tick(struct st_fs *fs, double elapsed, double duration);
static int st_fs_stop(struct st_fs *fs);

enum st_kind { ST_PLAIN, ST_ASYNC, ST_GROWABLE };

struct st_alloc {
	gpuvm_ptr_t p;		/* 0: slot empty */
	uint64_t size;		/* bytes filled with the pattern */
	uint64_t max;		/* growable: the most it may grow to */
	uint64_t seed;
	int dev;
	enum st_kind kind;
	bool known;		/* the pattern was written (no fault hit the fill) */
};

/* Counters a worker bumps and the progress line reads: relaxed atomics. */
struct st_counts {
	uint64_t ops, allocs, frees, resizes, verifies;
	uint64_t bytes_verified, ooms, failed, errors;
};

struct st_worker {
	pthread_t thread;
	int id;
	uint64_t rng;
	void *stream[ST_MAX_DEVICES];
	struct st_alloc a[ST_SLOTS];
	struct st_counts c;
};

static struct {
	struct st_opts o;
	struct st_worker *w;
	volatile sig_atomic_t interrupted;
	int stop;			/* atomic */
	int faults_on;			/* atomic: tolerate failed driver calls */
} st;

#define ST_ADD(field, n)	__atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define ST_GET(field)		__atomic_load_n(&(field), __ATOMIC_RELAXED)

/* ---- helpers ---- */

static uint64_t st_rand(uint64_t *s)
{
	/* xorshift64*: fast, and reproducible from --seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t st_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + st_rand(s) % (hi - lo + 1);
}

static double st_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void st_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gpuvm stress: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void st_error(struct st_worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void st_error(struct st_worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "gpuvm stress: thread %d: ERROR: ", w->id);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	ST_ADD(w->c.errors, 1);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
}

/* A failure an injected fault may cause; anything else is a bug. */
static bool st_tolerated(int ret)
{
	if (ret == -ENOMEM)
		return true;
	return ST_GET(st.faults_on) && (ret == -EIO || ret == -ENODEV || ret == -EAGAIN);
}

static void *st_stream(struct st_worker *w, struct st_alloc *a)
{
	return a->kind == ST_ASYNC ? w->stream[a->dev] : NULL;
}

/* Mixed sizes, log-uniform: many small, some large. */
static uint64_t st_size(uint64_t *rng)
{
	unsigned int r = st_rand(rng) % 100;
	double lo, hi;

	if (r < 50)
		lo = 8, hi = 64 * KiB;
	else if (r < 85)
		lo = 64 * KiB, hi = 4 * MiB;
	else
		lo = 4 * MiB, hi = 24 * MiB;
	return (uint64_t)exp(log(lo) + (log(hi) - log(lo)) * (st_rand(rng) % 10000) / 10000.0);
}

/* ---- the operations ---- */

static void st_fill(struct st_worker *w, struct st_alloc *a)
{
	int ret;

	a->seed = st_rand(&w->rng);
	ret = kl_fill(a->dev, st_stream(w, a), a->p, a->size, a->seed);
	a->known = !ret;
	if (ret && !st_tolerated(ret))
		st_error(w, "fill of 0x%" PRIx64 " (%" PRIu64 " bytes): %s", a->p, a->size,
			 kl_strerror(ret));
	else if (ret)
		ST_ADD(w->c.failed, 1);
}

/* Check [p, p + bytes) against the allocation's pattern. */
static void st_verify(struct st_worker *w, struct st_alloc *a, uint64_t bytes, const char *when)
{
	uint64_t bad = 0;
	int ret;

	if (!a->known || !bytes)
		return;
	ret = kl_verify(a->dev, st_stream(w, a), a->p, bytes, a->seed, &bad);
	if (ret && st_tolerated(ret) && ret != -ENOMEM) {
		ST_ADD(w->c.failed, 1);
		return;
	}
	if (ret) {
		st_error(w, "verify %s 0x%" PRIx64 " (%" PRIu64 " bytes, dev %d): %s", when,
			 a->p, bytes, a->dev, kl_strerror(ret));
		return;
	}
	ST_ADD(w->c.verifies, 1);
	ST_ADD(w->c.bytes_verified, bytes & ~7ull);
	if (bad)
		st_error(w, "CORRUPT: %" PRIu64 " of %" PRIu64 " words differ %s 0x%" PRIx64
			 " (dev %d, seed %#" PRIx64 ")", bad, bytes / 8, when, a->p, a->dev,
			 a->seed);
}

static void st_alloc_one(struct st_worker *w, struct st_alloc *a)
{
	uint64_t size = st_size(&w->rng);
	unsigned int r = st_rand(&w->rng) % 100;
	gpuvm_ptr_t p = 0;
	int ret;

	memset(a, 0, sizeof(*a));
	a->dev = (int)(st_rand(&w->rng) % (uint64_t)st.o.devices);
	if (r < 50) {
		a->kind = ST_PLAIN;
		ret = gpuvm_alloc(a->dev, size, 0, &p);
	} else if (r < 70) {
		a->kind = ST_ASYNC;
		ret = gpuvm_alloc_async(a->dev, size, w->stream[a->dev], &p);
	} else {
		a->kind = ST_GROWABLE;
		a->max = size * st_range(&w->rng, 1, 4);
		ret = gpuvm_alloc_growable(a->dev, a->max, size, &p);
	}
	ST_ADD(w->c.ops, 1);
	if (ret) {
		if (!st_tolerated(ret))
			st_error(w, "alloc of %" PRIu64 " bytes (kind %d, dev %d): %s", size,
				 a->kind, a->dev, strerror(-ret));
		ST_ADD(*(ret == -ENOMEM ? &w->c.ooms : &w->c.failed), 1);
		return;
	}
	ST_ADD(w->c.allocs, 1);
	a->p = p;
	a->size = size;
	st_fill(w, a);
}

static void st_free_one(struct st_worker *w, struct st_alloc *a, bool async)
{
	void *stream = async ? w->stream[a->dev] : NULL;
	int ret;

	st_verify(w, a, a->size, "before free of");
	/* work still queued when the free comes must not see the memory reused */
	if (a->known && a->size)
		kl_stride_touch(a->dev, stream, a->p, a->size, 4096);
	ret = async ? gpuvm_free_async(a->p, stream) : gpuvm_free(a->p);
	ST_ADD(w->c.ops, 1);
	if (ret && !st_tolerated(ret))
		st_error(w, "free%s of 0x%" PRIx64 ": %s", async ? "_async" : "", a->p,
			 strerror(-ret));
	else if (ret)
		ST_ADD(w->c.failed, 1);
	ST_ADD(w->c.frees, 1);
	a->p = 0;	/* gone either way: a failed free releases what it can */
}

static void st_resize_one(struct st_worker *w, struct st_alloc *a)
{
	uint64_t old = a->size, want = st_range(&w->rng, 0, a->max);
	int ret;

	ret = gpuvm_resize(a->p, want);
	ST_ADD(w->c.ops, 1);
	if (ret) {
		if (!st_tolerated(ret))
			st_error(w, "resize of 0x%" PRIx64 " from %" PRIu64 " to %" PRIu64
				 " (max %" PRIu64 "): %s", a->p, old, want, a->max,
				 strerror(-ret));
		ST_ADD(*(ret == -ENOMEM ? &w->c.ooms : &w->c.failed), 1);
		/* what lay below both sizes is kept, whatever happened */
		a->size = old < want ? old : want;
		st_verify(w, a, a->size, "after a failed resize of");
		return;
	}
	ST_ADD(w->c.resizes, 1);
	a->size = want;
	st_verify(w, a, old < want ? old : want, "after resize of");
	if (want > old)
		st_fill(w, a);
}

static void st_step(struct st_worker *w)
{
	unsigned int r = st_rand(&w->rng) % 100;
	struct st_alloc *a = &w->a[st_rand(&w->rng) % ST_SLOTS];

	if (!a->p) {
		st_alloc_one(w, a);
		return;
	}
	if (r < 30)
		st_free_one(w, a, false);
	else if (r < 50)
		st_free_one(w, a, true);
	else if (r < 80 && a->kind == ST_GROWABLE)
		st_resize_one(w, a);
	else
		st_verify(w, a, a->size, "at random in");
}

static void *st_worker_main(void *arg)
{
	struct st_worker *w = arg;
	int dev, i, ret;

	for (dev = 0; dev < st.o.devices; dev++) {
		ret = kl_stream_create(dev, &w->stream[dev]);
		if (ret && st_tolerated(ret)) {
			/* an injected fault: go on with the legacy stream */
			ST_ADD(w->c.failed, 1);
			w->stream[dev] = NULL;
		} else if (ret) {
			st_error(w, "cannot create a stream on device %d: %s", dev,
				 kl_strerror(ret));
			goto out_streams;
		}
	}
	while (!ST_GET(st.stop))
		st_step(w);
	/* the faults are off by now: everything goes back, verified */
	for (i = 0; i < ST_SLOTS; i++)
		if (w->a[i].p)
			st_free_one(w, &w->a[i], i & 1);
out_streams:
	for (dev = 0; dev < st.o.devices; dev++) {
		if (w->stream[dev]) {
			kl_stream_sync(dev, w->stream[dev]);
			kl_stream_destroy(dev, w->stream[dev]);
		}
	}
	return NULL;
}

/* ---- faults: every driver call gpuvm makes fails in turn ---- */

static const char *const st_fault_calls[] = {
	"cuMemCreate", "cuMemMap", "cuMemSetAccess", "cuMemUnmap", "cuMemRelease",
	"cuMemAddressReserve", "cuMemAddressFree", "cuEventCreate", "cuEventRecord",
	"cuEventQuery", "cuEventSynchronize", "cuEventDestroy", "cuCtxSynchronize",
	"cuCtxSetCurrent", "cuCtxGetCurrent", "cuMemGetAllocationGranularity",
	"cuLaunchKernel", "cuStreamSynchronize",
};
#define ST_NR_FAULT_CALLS	(int)(sizeof(st_fault_calls) / sizeof(st_fault_calls[0]))

struct st_faults {
	double start, phase;	/* seconds */
	int armed;		/* index in st_fault_calls, -1: none yet */
	double rearm;		/* when to arm the next failure */
	uint64_t rng;
	uint64_t injected;
};

static void st_faults_tick(struct st_faults *f, double now)
{
	char spec[64];
	int idx;

	if (now < f->start || now < f->rearm)
		return;
	idx = (int)((now - f->start) / f->phase);
	if (idx >= ST_NR_FAULT_CALLS) {
		if (f->armed >= 0)
			kl_sim_set_fail("");
		f->armed = -1;
		f->rearm = 1e300;
		return;
	}
	if (idx != f->armed && st.o.verbose)
		st_msg("faults: %s", st_fault_calls[idx]);
	f->armed = idx;
	/* the Nth call from now fails; armed again a little later */
	snprintf(spec, sizeof(spec), "%s:%u", st_fault_calls[idx],
		 (unsigned int)st_range(&f->rng, 1, 6));
	if (!kl_sim_set_fail(spec))
		f->injected++;
	f->rearm = now + 0.02;
}

/* ---- gpuvmfs: policy churn, a client killed, the daemon restarted ---- */

/* What the churner did, in memory it shares with the parent. */
struct st_churn_counts {
	uint64_t writes_ok, writes_refused, writes_failed;
	uint64_t reads_ok, reads_failed;
	int last_write_err, last_read_err;	/* errno */
};

static pid_t st_spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	/* only exec-safe calls between fork and exec: the parent has threads */
	if (out) {
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
	}
	execv(argv[0], argv);
	_exit(127);
}

static int st_wait_path(const char *path, bool present, double seconds)
{
	double end = st_now() + seconds;

	do {
		if ((access(path, F_OK) == 0) == present)
			return 0;
		usleep(20000);
	} while (st_now() < end);
	return -ETIMEDOUT;
}

static void st_unmount(struct st_fs *fs)
{
	char *argv[] = { "/bin/sh", "-c",
			 "fusermount3 -u -z \"$1\" 2>/dev/null || umount -l \"$1\" 2>/dev/null",
			 "sh", fs->mnt, NULL };
	pid_t pid;

	pid = st_spawn(argv, NULL);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int st_daemon_start(struct st_fs *fs)
{
	char rundir_opt[PATH_MAX + 16], path[PATH_MAX + 32];
	char *argv[] = { fs->daemon, "-f", fs->mnt, rundir_opt, NULL };

	snprintf(rundir_opt, sizeof(rundir_opt), "--rundir=%s", fs->rundir);
	snprintf(path, sizeof(path), "%s/daemon.log", fs->tmp);
	fs->daemon_pid = st_spawn(argv, path);
	if (fs->daemon_pid < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/version", fs->mnt);
	if (st_wait_path(path, true, 10)) {
		kill(fs->daemon_pid, SIGKILL);
		waitpid(fs->daemon_pid, NULL, 0);
		fs->daemon_pid = 0;
		st_unmount(fs);
		return -ENOTCONN;
	}
	return 0;
}

static int st_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int st_read_file(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -EIO : 0;
}

/*
 * The churner, a forked process (before the workers start): knob writes
 * and page-table reads of the parent through the mount, until SIGTERM.
 * Refused writes (EINVAL, ERANGE: e.g. low above high watermark) are
 * expected; it never calls gpuvm and leaves with _exit().
 */
static void st_churn(struct st_fs *fs, pid_t target, uint64_t seed)
{
	static const char *const knobs[][6] = {
		{ "limit", "0", "256M", "512M", "768M", "0" },
		{ "chunk_size", "0", "2M", "4M", "8M", "2M" },
		{ "high_watermark", "0", "64M", "256M", "0", "128M" },
		{ "low_watermark", "0", "32M", "128M", "0", "16M" },
		{ "placement", "best-fit", "first-fit", "best-fit", "first-fit", "best-fit" },
		{ "stitch", "1", "0", "1", "1", "0" },
	};
	struct st_churn_counts *c = fs->churn;
	char path[PATH_MAX + 64];
	uint64_t rng = seed | 1;
	int ret, k;

	for (;;) {
		k = (int)(st_rand(&rng) % 8);
		if (k < 6) {
			snprintf(path, sizeof(path), "%s/%d/policy/%s", fs->mnt, (int)target,
				 knobs[k][0]);
			ret = st_write_file(path, knobs[k][1 + st_rand(&rng) % 5]);
		} else if (k == 6) {
			snprintf(path, sizeof(path), "%s/%d/reclaim", fs->mnt, (int)target);
			ret = st_write_file(path, st_rand(&rng) & 1 ? "all" : "8M");
		} else {
			snprintf(path, sizeof(path), "%s/%d/%s", fs->mnt, (int)target,
				 st_rand(&rng) & 1 ? "pagetable" : "status");
			ret = st_read_file(path);
			__atomic_fetch_add(ret ? &c->reads_failed : &c->reads_ok, 1,
					   __ATOMIC_RELAXED);
			if (ret)
				__atomic_store_n(&c->last_read_err, -ret, __ATOMIC_RELAXED);
			continue;
		}
		if (!ret)
			__atomic_fetch_add(&c->writes_ok, 1, __ATOMIC_RELAXED);
		else if (ret == -EINVAL || ret == -ERANGE)
			__atomic_fetch_add(&c->writes_refused, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&c->writes_failed, 1, __ATOMIC_RELAXED);
		if (ret)
			__atomic_store_n(&c->last_write_err, -ret, __ATOMIC_RELAXED);
		usleep(2000);
	}
}

static void st_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
}

static int st_fs_start(struct st_fs *fs, const struct st_opts *o)
{
	const char *rundir = getenv("GPUVM_RUNDIR");
	char path[PATH_MAX + 64], *slash;

	memset(fs, 0, sizeof(*fs));
	fs->o = o;
	st_self_exe(fs->exe, sizeof(fs->exe));
	snprintf(fs->daemon, sizeof(fs->daemon), "%s", fs->exe);
	slash = strrchr(fs->daemon, '/');
	if (slash)
		snprintf(slash + 1, sizeof(fs->daemon) - (size_t)(slash + 1 - fs->daemon),
			 "gpuvmfs");
	if (access("/dev/fuse", R_OK | W_OK) || access(fs->daemon, X_OK) ||
	    (access("/usr/bin/fusermount3", X_OK) && access("/bin/fusermount3", X_OK))) {
		st_msg("skipping --policy-churn/--kill: needs /dev/fuse, fusermount3 and %s",
		       fs->daemon);
		return 0;
	}
	if (rundir && *rundir)
		snprintf(fs->rundir, sizeof(fs->rundir), "%s", rundir);
	else
		gpuvm_rundir_default(fs->rundir, sizeof(fs->rundir), geteuid());
	snprintf(fs->tmp, sizeof(fs->tmp), "/tmp/gpuvm-stress.XXXXXX");
	if (!mkdtemp(fs->tmp)) {
		st_msg("cannot create a temporary folder: %s", strerror(errno));
		return -errno;
	}
	snprintf(fs->mnt, sizeof(fs->mnt), "%s/mnt", fs->tmp);
	mkdir(fs->mnt, 0755);
	if (st_daemon_start(fs)) {
		st_msg("skipping --policy-churn/--kill: gpuvmfs did not mount (%s/daemon.log)",
		       fs->tmp);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%d", fs->mnt, (int)getpid());
	if (st_wait_path(path, true, 5)) {
		st_msg("ERROR: %s never appeared", path);
		fs->errors++;
	}
	if (o->verbose)
		st_msg("gpuvmfs %d mounted at %s", (int)fs->daemon_pid, fs->mnt);
	fs->active = true;
	fs->started = true;
	if (o->policy_churn) {
		fs->churn = mmap(NULL, sizeof(*fs->churn), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (fs->churn == MAP_FAILED) {
			fs->churn = NULL;
			return -ENOMEM;
		}
		fs->churn_pid = fork();
		if (!fs->churn_pid) {
			st_churn(fs, getppid(), o->seed);
			_exit(0);
		}
		if (fs->churn_pid < 0) {
			st_msg("cannot fork the churner: %s", strerror(errno));
			fs->churn_pid = 0;
		}
	}
	return 0;
}

/* A client (this program again) killed with SIGKILL while it works. */
static void st_kill_client(struct st_fs *fs)
{
	char seed[32], out[PATH_MAX + 16], path[PATH_MAX + 64];
	char *argv[] = { fs->exe, "stress", "--duration", "60s", "--threads", "2",
			 "--seed", seed, NULL };
	pid_t pid;

	snprintf(seed, sizeof(seed), "%" PRIu64, fs->o->seed + 1);
	snprintf(out, sizeof(out), "%s/client.log", fs->tmp);
	pid = st_spawn(argv, out);
	if (pid < 0)
		return;
	snprintf(path, sizeof(path), "%s/%d/status", fs->mnt, (int)pid);
	if (st_wait_path(path, true, 10)) {
		st_msg("ERROR: client %d never appeared in %s (%s)", (int)pid, fs->mnt, out);
		fs->errors++;
	}
	usleep(300000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* the daemon notices the death and removes the client's segments */
	snprintf(path, sizeof(path), "%s/%d", fs->mnt, (int)pid);
	if (st_wait_path(path, false, 5)) {
		st_msg("ERROR: %s still there after SIGKILL", path);
		fs->errors++;
	}
	snprintf(path, sizeof(path), "%s/%d" GPUVM_STATE_SUFFIX, fs->rundir, (int)pid);
	if (st_wait_path(path, false, 5)) {
		st_msg("ERROR: %s not cleaned after SIGKILL", path);
		fs->errors++;
	}
	if (kill(fs->daemon_pid, 0)) {
		st_msg("ERROR: gpuvmfs died with the client");
		fs->errors++;
	}
	if (fs->o->verbose)
		st_msg("client %d killed, its segments cleaned", (int)pid);
}

/* The daemon killed with SIGKILL and started again: it finds us again. */
static void st_restart_daemon(struct st_fs *fs)
{
	char path[PATH_MAX + 64];

	kill(fs->daemon_pid, SIGKILL);
	waitpid(fs->daemon_pid, NULL, 0);
	fs->daemon_pid = 0;
	st_unmount(fs);
	/* a busy machine may take a while: one more try before calling it */
	if (st_daemon_start(fs) && st_daemon_start(fs)) {
		st_msg("ERROR: gpuvmfs did not mount again after SIGKILL (%s/daemon.log)",
		       fs->tmp);
		fs->errors++;
		return;
	}
	snprintf(path, sizeof(path), "%s/%d/status", fs->mnt, (int)getpid());
	if (st_wait_path(path, true, 5)) {
		st_msg("ERROR: the restarted gpuvmfs does not show %d", (int)getpid());
		fs->errors++;
	}
	if (fs->o->verbose)
		st_msg("gpuvmfs killed and restarted (%d)", (int)fs->daemon_pid);
}

static void st_fs_tick(struct st_fs *fs, double elapsed, double duration)
{
	if (!fs->o->kill || !fs->daemon_pid)
		return;
	if (!fs->client_killed && elapsed >= duration * 0.3) {
		fs->client_killed = true;
		st_kill_client(fs);
	}
	if (!fs->daemon_restarted && elapsed >= duration * 0.6) {
		fs->daemon_restarted = true;
		st_restart_daemon(fs);
	}
}

/* Return: the errors seen around the workers. */
static int st_fs_stop(struct st_fs *fs)
{
	struct st_churn_counts *c = fs->churn;
	int status = 0;

	if (fs->churn_pid > 0) {
		kill(fs->churn_pid, SIGKILL);
		waitpid(fs->churn_pid, &status, 0);
	}
	if (c) {
		printf("stress: policy churn: %" PRIu64 " knob writes applied, %" PRIu64
		       " refused, %" PRIu64 " failed; %" PRIu64 " reads, %" PRIu64 " failed%s%s%s%s\n",
		       c->writes_ok, c->writes_refused, c->writes_failed, c->reads_ok,
		       c->reads_failed, c->last_write_err ? "; last write error: " : "",
		       c->last_write_err ? strerror(c->last_write_err) : "",
		       c->last_read_err ? "; last read error: " : "",
		       c->last_read_err ? strerror(c->last_read_err) : "");
		if (!c->writes_ok || !c->reads_ok) {
			st_msg("ERROR: the policy churn never got through");
			fs->errors++;
		}
		munmap(c, sizeof(*c));
	}
	if (fs->daemon_pid > 0) {
		if (waitpid(fs->daemon_pid, &status, WNOHANG)) {
			st_msg("ERROR: gpuvmfs died during the run (%s/daemon.log)", fs->tmp);
			fs->errors++;
		} else {
			kill(fs->daemon_pid, SIGTERM);
			waitpid(fs->daemon_pid, &status, 0);
		}
	}
	st_unmount(fs);
	rmdir(fs->mnt);
	if (!fs->errors) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/daemon.log", fs->tmp);
		unlink(path);
		snprintf(path, sizeof(path), "%s/client.log", fs->tmp);
		unlink(path);
		rmdir(fs->tmp);
	}
	fs->active = false;
	fs->started = false;
	return fs->errors;
}

/* ---- the run ---- */

static void st_sum(struct st_counts *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < st.o.threads; i++) {
		struct st_counts *c = &st.w[i].c;

		t->ops += ST_GET(c->ops);
		t->allocs += ST_GET(c->allocs);
		t->frees += ST_GET(c->frees);
		t->resizes += ST_GET(c->resizes);
		t->verifies += ST_GET(c->verifies);
		t->bytes_verified += ST_GET(c->bytes_verified);
		t->ooms += ST_GET(c->ooms);
		t->failed += ST_GET(c->failed);
		t->errors += ST_GET(c->errors);
	}
}

static void st_progress(double elapsed, bool tty, bool last)
{
	struct st_counts t;

	st_sum(&t);
	fprintf(stderr, "%sstress: %6.0f s  ops %" PRIu64 "  verified %.2f GiB  ooms %" PRIu64
		"  failed %" PRIu64 "  errors %" PRIu64 "%s", tty ? "\r" : "", elapsed, t.ops,
		t.bytes_verified / (double)(1ull << 30), t.ooms, t.failed, t.errors,
		tty && !last ? "   " : "\n");
	fflush(stderr);
}

static void st_on_signal(int sig)
{
	(void)sig;
	st.interrupted = 1;
}

/*
 * What gpuvm and the driver still hold once everything was freed: gpuvm's
 * live allocations now, and after gpuvm_shutdown() and kl_close() every
 * object cudasim still counts (on a real driver only the first part).
 */
static uint64_t st_leaks(int devices, bool *driver_checked)
{
	struct kl_sim_stats ss;
	struct gpuvm_stats gs;
	uint64_t leaks = 0;
	int dev;

	for (dev = 0; dev < devices; dev++) {
		if (!gpuvm_stats(dev, &gs) && gs.live_allocs) {
			st_msg("LEAK: gpuvm still counts %" PRIu64 " live allocations on device %d",
			       gs.live_allocs, dev);
			leaks += gs.live_allocs;
		}
	}
	gpuvm_shutdown();
	kl_close();
	*driver_checked = false;
	if (kl_open())
		return leaks;
	for (dev = 0; dev < devices; dev++) {
		if (kl_sim_stats(dev, &ss))
			break;
		*driver_checked = true;
		if (ss.allocations || ss.handles || ss.mappings || (!dev && ss.reservations)) {
			st_msg("LEAK: device %d still holds %lu allocations, %lu handles, "
			       "%lu mappings, %lu reservations", dev, ss.allocations, ss.handles,
			       ss.mappings, ss.reservations);
			leaks += ss.allocations + ss.handles + ss.mappings + ss.reservations;
		}
	}
	if (leaks)
		kl_sim_outstanding(2);
	kl_close();
	return leaks;
}

static int st_parse_time(const char *s, double *sec)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 1e7)
		return -EINVAL;
	if (!*end || !strcmp(end, "s"))
		*sec = v;
	else if (!strcmp(end, "ms"))
		*sec = v / 1000;
	else if (!strcmp(end, "m"))
		*sec = v * 60;
	else if (!strcmp(end, "h"))
		*sec = v * 3600;
	else
		return -EINVAL;
	return 0;
}

static int st_parse_uint(const char *s, unsigned long min, unsigned long max,
			 unsigned long *val)
{
	char *end;
	unsigned long v;

	if (*s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

static const char st_usage[] =
	"usage: gpuvm stress [--duration TIME] [--threads N] [--devices 1|2] [--seed S]\n"
	"                    [--policy-churn] [--kill] [--faults] [--progress] [--verbose]\n"
	"\n"
	"Threads allocate, free, resize and free in stream order through gpuvm at\n"
	"random, with mixed sizes; every allocation is filled and verified with the\n"
	"kernels/ fill and verify kernels.  At the end it prints operations, bytes\n"
	"verified, errors and leaks, and exits 0 only when both are 0.\n"
	"\n"
	"  --duration TIME   how long (30s, 500ms, 10m, 1h; default 30s)\n"
	"  --threads N       worker threads (1-64, default 4)\n"
	"  --devices N       devices to use (1 or 2; cudasim gets CUDASIM_DEVICES=2)\n"
	"  --seed S          random seed (default: from the clock), printed\n"
	"  --policy-churn    another process changes knobs and reads the page table\n"
	"                    through a gpuvmfs mount (one is started when none is)\n"
	"  --kill            SIGKILL a client and the gpuvmfs daemon mid-run, restart it\n"
	"  --faults          every driver call fails in turn (cudasim only)\n"
	"  --progress        a progress line each second (\\r on a tty, else every 10 s)\n"
	"  --verbose         say what happens around the workers\n";

static int st_parse(int argc, char **argv, struct st_opts *o)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "devices", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "policy-churn", no_argument, NULL, 'p' },
		{ "kill", no_argument, NULL, 'k' },
		{ "faults", no_argument, NULL, 'f' },
		{ "progress", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->duration = 30;
	o->threads = 4;
	o->devices = 1;
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:t:D:s:pkfPvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (st_parse_time(optarg, &o->duration)) {
				st_msg("bad --duration '%s' (e.g. 30s, 500ms, 10m)", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (st_parse_uint(optarg, 1, ST_MAX_THREADS, &v)) {
				st_msg("bad --threads '%s' (1-%d)", optarg, ST_MAX_THREADS);
				return -EINVAL;
			}
			o->threads = (int)v;
			break;
		case 'D':
			if (st_parse_uint(optarg, 1, ST_MAX_DEVICES, &v)) {
				st_msg("bad --devices '%s' (1 or 2)", optarg);
				return -EINVAL;
			}
			o->devices = (int)v;
			break;
		case 's':
			if (st_parse_uint(optarg, 0, ULONG_MAX, &v)) {
				st_msg("bad --seed '%s'", optarg);
				return -EINVAL;
			}
			o->seed = v;
			break;
		case 'p':
			o->policy_churn = true;
			break;
		case 'k':
			o->kill = true;
			break;
		case 'f':
			o->faults = true;
			break;
		case 'P':
			o->progress = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(st_usage, stdout);
			return 1;
		default:
			st_msg("unknown option '%s' (try --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		st_msg("unexpected argument '%s' (try --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/**
 * cmd_stress - `gpuvm stress`
 * @argc: arguments, argv[0] being "stress"
 * @argv: the arguments
 *
 * Return: 0 when the run found no error and no leak, 1 otherwise, 2 on a
 * usage error.
 */
int cmd_stress(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = st_on_signal }, old_int, old_term;
	struct st_faults faults = { .armed = -1 };
	struct st_fs fs = { 0 };
	double t0, now, next_line, elapsed;
	bool tty, driver_checked;
	struct st_counts t;
	uint64_t leaks;
	int i, ret, n;

	ret = st_parse(argc, argv, &st.o);
	if (ret)
		return ret > 0 ? 0 : EXIT_USAGE;
	/* cudasim reads its device count at cuInit: ask before anything opens it */
	if (st.o.devices > 1)
		setenv("CUDASIM_DEVICES", "2", 0);
	if (kl_open() || gpuvm_init()) {
		st_msg("no usable CUDA driver or device (GPUVM_LIBCUDA, libcuda.so.1)");
		return 1;
	}
	n = gpuvm_device_count();
	if (n < st.o.devices || kl_device_count() < st.o.devices) {
		st_msg("--devices %d, but the driver has %d", st.o.devices, n);
		ret = 1;
		goto out_shutdown;
	}
	if (st.o.faults && !kl_is_cudasim()) {
		st_msg("--faults needs cudasim's fault injection: skipped on this driver");
		st.o.faults = false;
	}
	printf("stress: %s, %d thread%s on %d device%s, %.1f s, seed %" PRIu64 "%s%s%s\n",
	       kl_is_cudasim() ? "cudasim" : "real driver", st.o.threads,
	       st.o.threads > 1 ? "s" : "", st.o.devices, st.o.devices > 1 ? "s" : "",
	       st.o.duration, st.o.seed, st.o.faults ? ", faults" : "",
	       st.o.policy_churn ? ", policy churn" : "", st.o.kill ? ", kill" : "");
	fflush(stdout);

	st.w = calloc(st.o.threads, sizeof(*st.w));
	if (!st.w) {
		st_msg("out of memory");
		ret = 1;
		goto out_shutdown;
	}
	if (st.o.policy_churn || st.o.kill) {
		ret = st_fs_start(&fs, &st.o);
		if (ret < 0) {
			ret = 1;
			goto out_free;
		}
	}
	st.stop = 0;
	st.interrupted = 0;
	st.faults_on = st.o.faults;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	for (i = 0; i < st.o.threads; i++) {
		struct st_worker *w = &st.w[i];

		w->id = i;
		w->rng = st.o.seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 0xbf58476d1ce4e5b9ull + 1;
		if (pthread_create(&w->thread, NULL, st_worker_main, w)) {
			st_msg("cannot start thread %d", i);
			__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
			st.o.threads = i;
			break;
		}
	}

	/* the faults cover the middle 80% of the run, one call after another */
	faults.start = st.o.duration * 0.1;
	faults.phase = st.o.duration * 0.8 / ST_NR_FAULT_CALLS;
	faults.rng = st.o.seed ^ 0x5bd1e995;
	tty = isatty(2);
	t0 = st_now();
	next_line = tty ? 1 : 10;
	for (;;) {
		now = st_now();
		elapsed = now - t0;
		if (elapsed >= st.o.duration || ST_GET(st.stop) || st.interrupted)
			break;
		if (st.o.faults)
			st_faults_tick(&faults, elapsed);
		if (fs.active)
			st_fs_tick(&fs, elapsed, st.o.duration);
		if ((st.o.progress || st.o.duration >= 60) && elapsed >= next_line) {
			st_progress(elapsed, tty, false);
			next_line += tty ? 1 : 10;
		}
		usleep(5000);
	}
	if (st.o.faults)
		kl_sim_set_fail("");
	__atomic_store_n(&st.faults_on, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < st.o.threads; i++)
		pthread_join(st.w[i].thread, NULL);
	elapsed = st_now() - t0;
	if (st.o.progress || st.o.duration >= 60)
		st_progress(elapsed, tty, true);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (st.interrupted)
		st_msg("interrupted: stopping early");

	st_sum(&t);
	if (fs.started && st_fs_stop(&fs))
		t.errors++;
	leaks = st_leaks(st.o.devices, &driver_checked);
	printf("stress: %" PRIu64 " ops in %.1f s (%" PRIu64 " allocs, %" PRIu64 " frees, %"
	       PRIu64 " resizes, %" PRIu64 " verifies), %.2f GiB verified, %" PRIu64 " ooms, %"
	       PRIu64 " failed (%" PRIu64 " faults armed), errors %" PRIu64 ", leaks %"
	       PRIu64 "%s\n", t.ops, elapsed, t.allocs, t.frees, t.resizes, t.verifies,
	       t.bytes_verified / (double)(1ull << 30), t.ooms, t.failed, faults.injected,
	       t.errors, leaks, driver_checked ? "" : " (driver objects not checked)");
	ret = t.errors || leaks ? 1 : 0;
	free(st.w);
	st.w = NULL;
	return ret;

out_free:
	free(st.w);
	st.w = NULL;
out_shutdown:
	gpuvm_shutdown();
	kl_close();
	return ret;
}
