// SPDX-License-Identifier: MIT
/*
 * trace_writer.c - the allocation-event trace writer.
 *
 *   allocating threads ──append──▶ bounded ring (lock-free, no syscall)
 *                                       │ drained every 2 ms or at stop
 *                                       ▼
 *                  writer thread ──batched writes at increasing offsets──▶ io_uring ──▶ file
 *
 * The ring is a bounded multi-producer queue of fixed slots, each with a
 * sequence number (Vyukov's design): a producer claims a slot with one
 * compare-and-swap on the tail and publishes it with a release store; when
 * the ring is full the event is dropped and counted, never waited for.
 * The writer thread is the only consumer.  It never needs a wake-up from
 * a producer (that would be a system call on the allocation path): it
 * polls on a short timer and is signalled only by vmm_trace_stop().
 *
 * Drops are never silent: vmm_trace_dropped() counts them, and the writer
 * puts a GPUVM_EV_DROPPED record (granted = events lost since the previous
 * one) into the file where it noticed them.  Records that could not be
 * written (a write error) count as dropped as well.
 *
 * The file is the header of include/gpuvm/trace.h at offset 0, then the
 * records.  Should io_uring be unavailable (a kernel or seccomp policy
 * without it), the writer thread falls back to pwrite(): the allocating
 * thread is unaffected either way.
 *
 * Environment: GPUVM_TRACE_RING=N sets the ring size in records (a power
 * of two, 16 to 16M; default 64K, i.e. 3 MiB), in decimal with an optional
 * K/M/G suffix like every size gpuvm reads ("0100" is one hundred, not
 * 64); anything else is refused with a warning and the default is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "clock.h"
#include "log.h"
#include "trace_writer.h"
#include "safefile.h"

bool vmm_trace_on;

#ifdef CONFIG_GPUVM_TRACE

#include <liburing.h>

#define TRACE_RING_DEFAULT	(64u * 1024)	/* records */
#define TRACE_RING_MIN		16u
#define TRACE_RING_MAX		(16u * 1024 * 1024)
#define TRACE_BUF_RECORDS	512u		/* records per write (24 KiB) */
#define TRACE_NR_BUFS		8		/* writes in flight at most */
#define TRACE_POLL_NS		2000000l	/* writer's drain period */

struct trace_slot {
	_Atomic uint64_t seq;		/* == position: free; position + 1: full */
	struct gpuvm_trace_record rec;
};

struct trace_buf {
	struct gpuvm_trace_record recs[TRACE_BUF_RECORDS];
	size_t len;			/* bytes filled */
	size_t done;			/* bytes written so far */
	uint64_t offset;		/* file offset of recs[0] */
	bool busy;			/* submitted, not completed */
};

static struct trace_state {
	pthread_mutex_t lock;		/* start/stop; protects the fields below */
	bool running;
	pthread_t writer;
	bool stopping;			/* writer: drain, flush and exit */
	pthread_cond_t cond;		/* signals stopping */

	/* The ring: producers touch only these. */
	struct trace_slot *slots;
	uint64_t mask;			/* slots - 1 */
	_Atomic uint64_t tail;		/* next position a producer claims */
	_Atomic uint64_t dropped;	/* events lost (ring full, write error) */
	_Atomic bool accepting;		/* producers may claim slots */
	_Atomic int inflight;		/* producers inside __vmm_trace() */
	uint64_t start_mono_ns;

	/* Writer thread only. */
	uint64_t head;			/* next position to consume */
	uint64_t dropped_noted;		/* drops already put in the file */
	uint64_t dropped_published;	/* drops already in the status */
	int fd;
	bool uring;			/* io_uring, else pwrite() */
	struct io_uring ring;
	struct gpuvm_trace_header hdr;
	struct trace_buf *bufs;		/* TRACE_NR_BUFS */
	struct trace_buf *cur;		/* being filled, or NULL */
	uint64_t offset;		/* next file offset to write */
	bool hdr_dirty;			/* geometry learnt after the start */
	int nr_busy;
	uint64_t completions;
	int write_error;		/* first -errno, reported once */
} tr = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
};

/**
 * __vmm_trace - append one event to the ring (vmm_trace() checks the flag)
 *
 * Lock-free, never blocks, no system call: a full ring drops the event.
 */
void __vmm_trace(enum gpuvm_trace_event ev, int dev, uint64_t stream, uint64_t addr,
		 uint64_t requested, uint64_t granted)
{
	struct trace_slot *slot;
	uint64_t pos, seq;

	/* Pairs with vmm_trace_stop(): it clears accepting, then waits for us. */
	atomic_fetch_add(&tr.inflight, 1);
	if (!atomic_load(&tr.accepting))
		goto out;
	pos = atomic_load_explicit(&tr.tail, memory_order_relaxed);
	for (;;) {
		slot = &tr.slots[pos & tr.mask];
		seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
		if (seq == pos) {
			if (atomic_compare_exchange_weak_explicit(&tr.tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if ((int64_t)(seq - pos) < 0) {
			/* Full: the writer has not consumed this slot's last lap. */
			atomic_fetch_add_explicit(&tr.dropped, 1, memory_order_relaxed);
			goto out;
		} else {
			pos = atomic_load_explicit(&tr.tail, memory_order_relaxed);
		}
	}
	slot->rec.time_ns = vmm_clock_ns(CLOCK_MONOTONIC) - tr.start_mono_ns;
	slot->rec.event = ev;
	slot->rec.device = dev;
	slot->rec.stream = stream;
	slot->rec.addr = addr;
	slot->rec.requested = requested;
	slot->rec.granted = granted;
	atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
out:
	atomic_fetch_sub(&tr.inflight, 1);
}

static void note_write_error(int err, uint64_t records)
{
	atomic_fetch_add(&tr.dropped, records);
	if (!tr.write_error) {
		tr.write_error = err;
		fprintf(stderr, "gpuvm: trace: write failed: %s (events are counted as "
			"dropped)\n", strerror(-err));
	}
}

/* Submit the rest of @b at its offset. */
static void buf_submit(struct trace_buf *b)
{
	const char *data = (const char *)b->recs + b->done;
	size_t len = b->len - b->done;

	if (tr.uring) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&tr.ring);

		/* The SQ has a slot per buffer, so this cannot fail; be safe. */
		if (!sqe) {
			io_uring_submit(&tr.ring);
			sqe = io_uring_get_sqe(&tr.ring);
		}
		if (sqe) {
			io_uring_prep_write(sqe, tr.fd, data, len, b->offset + b->done);
			io_uring_sqe_set_data(sqe, b);
			b->busy = true;
			tr.nr_busy++;
			io_uring_submit(&tr.ring);
			return;
		}
		note_write_error(-EBUSY, len / sizeof(struct gpuvm_trace_record));
		b->len = b->done = 0;
		return;
	}
	while (b->done < b->len) {
		ssize_t n = pwrite(tr.fd, (const char *)b->recs + b->done, b->len - b->done,
				   b->offset + b->done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			note_write_error(n < 0 ? -errno : -EIO,
					 (b->len - b->done) / sizeof(struct gpuvm_trace_record));
			break;
		}
		b->done += n;
	}
	b->len = b->done = 0;
}

/* Handle one completion: resubmit a short write, else free the buffer. */
static void buf_complete(struct io_uring_cqe *cqe)
{
	struct trace_buf *b = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&tr.ring, cqe);
	tr.completions++;
	if (!b)
		return;
	b->busy = false;
	tr.nr_busy--;
	if (res <= 0) {
		note_write_error(res < 0 ? res : -EIO,
				 (b->len - b->done) / sizeof(struct gpuvm_trace_record));
		b->len = b->done = 0;
		return;
	}
	b->done += res;
	if (b->done < b->len)
		buf_submit(b);
	else
		b->len = b->done = 0;
}

static void reap(bool wait)
{
	struct io_uring_cqe *cqe;

	if (!tr.uring)
		return;
	while (tr.nr_busy) {
		int err = wait ? io_uring_wait_cqe(&tr.ring, &cqe) : io_uring_peek_cqe(&tr.ring, &cqe);

		if (err == -EINTR)
			continue;
		if (err)
			return;		/* nothing ready (-EAGAIN) */
		buf_complete(cqe);
		wait = false;		/* one completion frees a buffer */
	}
}

/* A buffer to fill, waiting for a write to complete if all are busy. */
static struct trace_buf *buf_get(void)
{
	int i;

	if (tr.cur)
		return tr.cur;
	for (;;) {
		for (i = 0; i < TRACE_NR_BUFS; i++) {
			if (!tr.bufs[i].busy) {
				tr.cur = &tr.bufs[i];
				tr.cur->len = tr.cur->done = 0;
				tr.cur->offset = tr.offset;
				return tr.cur;
			}
		}
		reap(true);
		if (tr.nr_busy == TRACE_NR_BUFS)
			return NULL;	/* the ring is broken: give up on this batch */
	}
}

static void buf_flush(void)
{
	struct trace_buf *b = tr.cur;

	if (!b || !b->len)
		return;
	tr.cur = NULL;
	tr.offset += b->len;
	buf_submit(b);
}

static void emit(const struct gpuvm_trace_record *rec)
{
	struct trace_buf *b = buf_get();

	if (!b) {
		note_write_error(-EIO, 1);
		return;
	}
	b->recs[b->len / sizeof(*rec)] = *rec;
	b->len += sizeof(*rec);
	if (b->len == sizeof(b->recs))
		buf_flush();
}

/* Move everything published in the ring into write buffers. */
static void drain(void)
{
	uint64_t dropped = atomic_load(&tr.dropped);

	for (;;) {
		struct trace_slot *slot = &tr.slots[tr.head & tr.mask];
		struct gpuvm_trace_record rec;

		if (atomic_load_explicit(&slot->seq, memory_order_acquire) != tr.head + 1)
			break;
		rec = slot->rec;
		atomic_store_explicit(&slot->seq, tr.head + tr.mask + 1, memory_order_release);
		tr.head++;
		emit(&rec);
	}
	if (dropped > tr.dropped_noted) {
		struct gpuvm_trace_record rec = {
			.time_ns = vmm_clock_ns(CLOCK_MONOTONIC) - tr.start_mono_ns,
			.event = GPUVM_EV_DROPPED,
			.device = -1,
			.granted = dropped - tr.dropped_noted,
		};

		tr.dropped_noted = dropped;
		emit(&rec);
	}
	buf_flush();
}

/*
 * The drop count into the status (trace_dropped), within a drain period
 * of a change: the producers only count, the writer publishes.  Without
 * @wait a busy device lock is left for the next period.
 */
static void publish_dropped(bool wait)
{
	uint64_t dropped = atomic_load(&tr.dropped);

	if (dropped != tr.dropped_published && stats_publish_trace_dropped(dropped, wait))
		tr.dropped_published = dropped;
}

static void write_header(void)
{
	struct trace_buf *b = &tr.bufs[0];

	/* The header goes first, through the same path, from buffer 0. */
	pthread_mutex_lock(&tr.lock);
	memcpy(b->recs, &tr.hdr, sizeof(tr.hdr));
	pthread_mutex_unlock(&tr.lock);
	b->len = sizeof(tr.hdr);
	b->done = 0;
	b->offset = 0;
	tr.offset = sizeof(tr.hdr);
	buf_submit(b);
}

static void *writer_main(void *arg)
{
	struct timespec deadline;
	bool stopping;

	write_header();
	pthread_mutex_lock(&tr.lock);
	for (;;) {
		stopping = tr.stopping;
		pthread_mutex_unlock(&tr.lock);
		reap(false);
		drain();
		publish_dropped(false);
		if (stopping)
			break;
		pthread_mutex_lock(&tr.lock);
		if (!tr.stopping) {
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_nsec += TRACE_POLL_NS;
			if (deadline.tv_nsec >= 1000000000l) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000l;
			}
			pthread_cond_timedwait(&tr.cond, &tr.lock, &deadline);
		}
	}
	/* vmm_trace_stop() made every producer leave before it set stopping. */
	drain();
	while (tr.nr_busy && tr.uring) {
		uint64_t before = tr.completions;

		reap(true);
		if (tr.completions == before)
			break;		/* the ring failed: nothing more will complete */
	}
	/* the last word: write errors above may have added drops */
	publish_dropped(true);
	return NULL;
}

/* GPUVM_TRACE_RING is read as every size is: decimal, K/M/G suffixes. */
static const struct gpuvm_knob ring_desc = {
	.name = "GPUVM_TRACE_RING", .type = GPUVM_KNOB_SIZE, .unit = "records",
	.min = TRACE_RING_MIN, .max = TRACE_RING_MAX, .def = TRACE_RING_DEFAULT,
};

static unsigned int ring_size(void)
{
	const char *s = getenv("GPUVM_TRACE_RING"), *why;
	uint64_t v;
	int err;

	if (!s || !*s)
		return TRACE_RING_DEFAULT;
	err = gpuvm_knob_parse(&ring_desc, s, &v);
	if (!err && !(v & (v - 1)))
		return v;
	why = err == -ERANGE ? "out of range" : err ? "not a number of records" :
	      "not a power of two";
	vmm_warn("GPUVM_TRACE_RING=%.64s: %s (a power of two, 16 to 16M, decimal with an "
		 "optional K or M); using %uK", s, why, TRACE_RING_DEFAULT >> 10);
	return TRACE_RING_DEFAULT;
}

static void release_resources(void)
{
	if (tr.uring)
		io_uring_queue_exit(&tr.ring);
	tr.uring = false;
	if (tr.fd >= 0)
		close(tr.fd);
	tr.fd = -1;
	free(tr.slots);
	tr.slots = NULL;
	free(tr.bufs);
	tr.bufs = NULL;
	tr.cur = NULL;
}

/**
 * vmm_trace_start - start writing events to @path (the trace knob, or
 * GPUVM_TRACE=path)
 * @path: the file, created (0600) or truncated; refused when it is a link,
 *	not a regular file, or another user's
 * @capacity: device memory in bytes, for the header
 * @granularity: allocation granularity in bytes, for the header
 *
 * Return: 0; -EBUSY when a trace is already being written; -EINVAL for an
 * empty path; -errno from opening the file or starting the writer.
 */
int vmm_trace_start(const char *path, uint64_t capacity, uint64_t granularity)
{
	unsigned int nr = ring_size(), i;
	sigset_t all, old;
	int err;

	if (!path || !*path)
		return -EINVAL;
	pthread_mutex_lock(&tr.lock);
	if (tr.running) {
		err = -EBUSY;
		goto out_unlock;
	}
	tr.fd = safe_create(path, false);	/* ours, 0600, never through a link */
	if (tr.fd < 0) {
		err = tr.fd;
		goto out_unlock;
	}
	tr.slots = aligned_alloc(64, sizeof(*tr.slots) * nr);
	tr.bufs = calloc(TRACE_NR_BUFS, sizeof(*tr.bufs));
	if (!tr.slots || !tr.bufs) {
		err = -ENOMEM;
		goto out_release;
	}
	for (i = 0; i < nr; i++)
		atomic_init(&tr.slots[i].seq, i);
	tr.mask = nr - 1;
	atomic_store(&tr.tail, 0);
	atomic_store(&tr.dropped, 0);
	tr.head = 0;
	tr.dropped_noted = 0;
	tr.dropped_published = UINT64_MAX;	/* a new trace starts at 0, shown */
	tr.nr_busy = 0;
	tr.write_error = 0;
	tr.offset = 0;
	tr.cur = NULL;
	tr.stopping = false;
	tr.hdr_dirty = false;
	/* One SQ entry per buffer: a submission never finds the queue full. */
	tr.uring = !io_uring_queue_init(TRACE_NR_BUFS, &tr.ring, 0);

	memset(&tr.hdr, 0, sizeof(tr.hdr));
	tr.hdr.magic = GPUVM_TRACE_MAGIC;
	tr.hdr.version = GPUVM_TRACE_VERSION;
	tr.hdr.header_size = sizeof(tr.hdr);
	tr.hdr.record_size = sizeof(struct gpuvm_trace_record);
	tr.hdr.capacity = capacity;
	tr.hdr.granularity = granularity;
	tr.hdr.start_ns = vmm_clock_ns(CLOCK_REALTIME);
	tr.hdr.pid = getpid();
	strcpy(tr.hdr.source, "gpuvm");
	tr.start_mono_ns = vmm_clock_ns(CLOCK_MONOTONIC);

	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&tr.cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	/* The writer takes no signal meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&tr.writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out_destroy_cond;
	tr.running = true;
	atomic_store(&tr.accepting, true);
	__atomic_store_n(&vmm_trace_on, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tr.lock);
	return 0;

out_destroy_cond:
	pthread_cond_destroy(&tr.cond);
out_release:
	release_resources();
	unlink(path);
out_unlock:
	pthread_mutex_unlock(&tr.lock);
	return err;
}

/**
 * vmm_trace_stop - stop tracing: every event appended so far is written,
 * the file closed and the writer joined.  No-op when not tracing.
 */
void vmm_trace_stop(void)
{
	pthread_mutex_lock(&tr.lock);
	if (!tr.running) {
		pthread_mutex_unlock(&tr.lock);
		return;
	}
	__atomic_store_n(&vmm_trace_on, false, __ATOMIC_RELAXED);
	atomic_store(&tr.accepting, false);
	/* A producer that saw accepting set finishes its append; wait for it. */
	while (atomic_load(&tr.inflight))
		sched_yield();
	tr.stopping = true;
	pthread_cond_signal(&tr.cond);
	pthread_mutex_unlock(&tr.lock);

	pthread_join(tr.writer, NULL);

	pthread_mutex_lock(&tr.lock);
	/* The stop path may make system calls: fix the header up in place. */
	if (tr.hdr_dirty && pwrite(tr.fd, &tr.hdr, sizeof(tr.hdr), 0) != sizeof(tr.hdr))
		fprintf(stderr, "gpuvm: trace: cannot update the header\n");
	tr.hdr_dirty = false;
	pthread_cond_destroy(&tr.cond);
	release_resources();
	tr.running = false;
	pthread_mutex_unlock(&tr.lock);
}

/**
 * vmm_trace_set_geometry - device capacity and granularity for the header
 * of a trace started before the device was set up (GPUVM_TRACE at library
 * load): fields still 0 are filled and the header rewritten at stop
 * @capacity: device memory in bytes
 * @granularity: allocation granularity in bytes
 */
void vmm_trace_set_geometry(uint64_t capacity, uint64_t granularity)
{
	pthread_mutex_lock(&tr.lock);
	if (tr.running) {
		if (!tr.hdr.capacity && capacity) {
			tr.hdr.capacity = capacity;
			tr.hdr_dirty = true;
		}
		if (!tr.hdr.granularity && granularity) {
			tr.hdr.granularity = granularity;
			tr.hdr_dirty = true;
		}
	}
	pthread_mutex_unlock(&tr.lock);
}

/**
 * vmm_trace_dropped - events lost by the current or last trace (ring full,
 * or a failed write); also recorded in the file as GPUVM_EV_DROPPED
 */
uint64_t vmm_trace_dropped(void)
{
	return atomic_load_explicit(&tr.dropped, memory_order_relaxed);
}

/** vmm_trace_ring_records - slots of the current or last trace's ring */
unsigned int vmm_trace_ring_records(void)
{
	unsigned int nr;

	pthread_mutex_lock(&tr.lock);
	nr = tr.mask ? (unsigned int)(tr.mask + 1) : 0;	/* kept after a stop */
	pthread_mutex_unlock(&tr.lock);
	return nr;
}

/*
 * fork(): the child has no writer thread and shares the parent's io_uring
 * and file offset; it stops tracing without touching them.
 *
 * The forking thread holds tr.lock across fork() so that the child sees the
 * start/stop fields in a consistent state.  It is the innermost lock of the
 * library: nothing is taken while holding it (no driver call, no vmm lock),
 * so it nests under whatever the other fork handlers hold, in whichever
 * order they run (cudasim's, dlopen()ed later, runs first: cs.lock).  The
 * child's only thread is the one that locked it, so unlocking it there
 * leaves it as good as new; re-initialising a locked mutex instead would
 * be undefined (and ThreadSanitizer then sees it locked twice).
 */
static void trace_atfork_prepare(void)
{
	pthread_mutex_lock(&tr.lock);
}

static void trace_atfork_parent(void)
{
	pthread_mutex_unlock(&tr.lock);
}

static void trace_atfork_child(void)
{
	__atomic_store_n(&vmm_trace_on, false, __ATOMIC_RELAXED);
	atomic_store(&tr.accepting, false);
	atomic_store(&tr.inflight, 0);
	if (tr.running) {
		/* Abandon the parent's writer state: not ours to flush. */
		if (tr.fd >= 0)
			close(tr.fd);
		tr.fd = -1;
		tr.running = false;
		tr.uring = false;
		tr.slots = NULL;	/* the parent's allocation, leaked here */
		tr.bufs = NULL;
		tr.cur = NULL;
	}
	pthread_mutex_unlock(&tr.lock);
}

__attribute__((constructor)) static void trace_init(void)
{
	pthread_atfork(trace_atfork_prepare, trace_atfork_parent, trace_atfork_child);
}

#else /* !CONFIG_GPUVM_TRACE */

void vmm_trace_set_geometry(uint64_t capacity, uint64_t granularity)
{
}

void __vmm_trace(enum gpuvm_trace_event ev, int dev, uint64_t stream, uint64_t addr,
		 uint64_t requested, uint64_t granted)
{
}

int vmm_trace_start(const char *path, uint64_t capacity, uint64_t granularity)
{
	return -EOPNOTSUPP;	/* built with CONFIG_GPUVM_TRACE=n */
}

void vmm_trace_stop(void)
{
}

uint64_t vmm_trace_dropped(void)
{
	return 0;
}

unsigned int vmm_trace_ring_records(void)
{
	return 0;
}

#endif /* CONFIG_GPUVM_TRACE */
