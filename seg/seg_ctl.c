// SPDX-License-Identifier: MIT
/*
 * seg_ctl.c - asking a process through its control ring: the side of
 * gpuvmfs and the CLI.
 *
 * One request at a time per process: the writer holds flock(LOCK_EX) on
 * <pid>.ctl from writing the request until the process has applied it, so
 * the ring never overruns and the state segment's ctl_error is the answer
 * to our request (the CLI takes the same lock).
 *
 * The control file belongs to the process's user, who may truncate it at
 * any moment; a store into a mapping past the end of file raises SIGBUS.
 * The few accesses to the mapping run under a per-thread guard that turns
 * that SIGBUS into -EIO for this request instead of the end of the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/segment.h>

/* ---- SIGBUS guard ---- */

static __thread sigjmp_buf *bus_guard;
static struct sigaction bus_old;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void bus_handler(int sig, siginfo_t *info, void *uc)
{
	if (bus_guard)
		siglongjmp(*bus_guard, 1);
	/* not ours: hand it to whoever had it, or die of it as usual */
	if ((bus_old.sa_flags & SA_SIGINFO) && bus_old.sa_sigaction) {
		bus_old.sa_sigaction(sig, info, uc);
		return;
	}
	if (bus_old.sa_handler != SIG_DFL && bus_old.sa_handler != SIG_IGN) {
		bus_old.sa_handler(sig);
		return;
	}
	sigaction(SIGBUS, &bus_old, NULL);	/* the fault repeats, unguarded */
}

static void bus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_old);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* flock without blocking forever behind a hostile holder. */
static int ctl_lock(int fd, uint64_t deadline)
{
	long us = 100;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -EBUSY;
		sleep_us(us);
		if (us < 10000)
			us *= 2;
	}
	return 0;
}

/*
 * Post the request, under the SIGBUS guard.
 * Return: its generation, or negative errno.
 */
static int64_t ctl_post(struct gpuvm_ctl_header *ctl, int dev, const char *name,
			uint64_t value)
{
	sigjmp_buf env;
	uint32_t gen;

	if (sigsetjmp(env, 1)) {
		bus_guard = NULL;
		return -EIO;
	}
	bus_guard = &env;
	if (ctl->magic != GPUVM_CTL_MAGIC || ctl->version_major != GPUVM_SEG_VERSION_MAJOR ||
	    ctl->header_size < sizeof(*ctl)) {
		bus_guard = NULL;
		return -EPROTO;
	}
	gen = gpuvm_ctl_post(ctl, dev, name, value);
	bus_guard = NULL;
	gpuvm_ctl_wake(ctl);
	return gen;
}

/* Wait until the state segment says the process applied @gen. */
static int ctl_wait(const struct gpuvm_segment *state, uint32_t gen, uint64_t deadline)
{
	struct gpuvm_seg_header hdr;
	long us = 50;
	int err;

	for (;;) {
		err = gpuvm_segment_read_header(state, &hdr, NULL);
		if (err && err != -EBUSY)
			return err;
		if (!err && (int32_t)((uint32_t)hdr.ctl_applied - gen) >= 0) {
			if ((uint32_t)hdr.ctl_applied != gen)
				return 0;	/* a writer that skipped the lock */
			if (hdr.ctl_error > 0 || hdr.ctl_error < -4095)
				return -EIO;
			return hdr.ctl_error;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_us(us);
		if (us < 5000)
			us *= 2;
	}
}

/**
 * gpuvm_ctl_request - ask a process to change a knob (or to reclaim)
 * @rundir: the run directory
 * @state: the process's open state segment (its owner is the trusted uid)
 * @dev: device ordinal, or -1 for every device
 * @name: knob name, or "reclaim"
 * @value: the value (the process validates it)
 * @timeout_ms: how long to wait for the process to apply it
 *
 * Return: the process's answer (0 or its -errno); -ETIMEDOUT when it did
 * not answer in time (the request stays queued: it applies it at its next
 * gpuvm call); -EBUSY when the control file stayed locked; -EPROTO for a
 * control segment we do not understand; -EIO when it was cut short.
 */
int gpuvm_ctl_request(const char *rundir, const struct gpuvm_segment *state, int dev,
		      const char *name, uint64_t value, unsigned int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct gpuvm_ctl_header *ctl;
	char path[PATH_MAX];
	struct stat st;
	int64_t gen;
	int fd, err;

	if (strlen(name) >= GPUVM_SEG_KNOB_NAME)
		return -EINVAL;
	pthread_once(&bus_once, bus_install);
	if ((size_t)snprintf(path, sizeof(path), "%s/%d" GPUVM_CTL_SUFFIX, rundir,
			     (int)state->pid) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPROTO : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	/* only a file of the process's own user can speak for it */
	if (!S_ISREG(st.st_mode) || st.st_uid != state->uid ||
	    (uint64_t)st.st_size < sizeof(*ctl)) {
		err = -EPROTO;
		goto out_close;
	}
	err = ctl_lock(fd, deadline);
	if (err)
		goto out_close;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ctl == MAP_FAILED) {
		err = -errno;
		goto out_unlock;
	}
	gen = ctl_post(ctl, dev, name, value);
	if (gen < 0) {
		err = gen;
		goto out_unmap;
	}
	err = ctl_wait(state, gen, deadline);
out_unmap:
	munmap(ctl, sizeof(*ctl));
out_unlock:
	flock(fd, LOCK_UN);
out_close:
	close(fd);
	return err;
}
