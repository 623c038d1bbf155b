// SPDX-License-Identifier: MIT
/*
 * seg_read.c - copy and validate state segments: the reader of gpuvmfs,
 * the CLI and the fuzz target.
 *
 * Everything read from a segment is checked on our private copy before it
 * is used: sizes against the file size, offset + count * size with
 * overflow-checked arithmetic, counts against the fixed arrays, strings for
 * a NUL, knob names for their alphabet.  A segment that fails gets an error
 * string (shown in its status file) and is otherwise left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#define SEG_DEFAULT_TRIES	200

/* Bytes of copies and texts held now, against GPUVM_READ_MEM_MAX. */
static size_t read_charged;

/* Charge @bytes only when @room bytes stay below GPUVM_READ_MEM_MAX after. */
static bool charge_leaving(size_t bytes, size_t room)
{
	size_t now = __atomic_add_fetch(&read_charged, bytes, __ATOMIC_RELAXED);

	if (now <= GPUVM_READ_MEM_MAX - room && now >= bytes)
		return true;
	__atomic_sub_fetch(&read_charged, bytes, __ATOMIC_RELAXED);
	return false;
}

/**
 * gpuvm_read_charge - account @bytes a reader is about to hold
 * Return: false (nothing charged) when that would pass GPUVM_READ_MEM_MAX.
 */
bool gpuvm_read_charge(size_t bytes)
{
	return charge_leaving(bytes, 0);
}

void gpuvm_read_uncharge(size_t bytes)
{
	__atomic_sub_fetch(&read_charged, bytes, __ATOMIC_RELAXED);
}

/**
 * gpuvm_segment_open - open <pid>.state in a run directory
 * @rundir: the run directory
 * @pid: the process
 * @seg: filled on success; close with gpuvm_segment_close()
 *
 * Refuses anything but a regular file (no symlinks, fifos or devices: a
 * hostile user could otherwise make the daemon block or read elsewhere).
 * Return: 0, -ENOENT, -EINVAL (not a regular file), -EFBIG, or -errno.
 */
int gpuvm_segment_open(const char *rundir, pid_t pid, struct gpuvm_segment *seg)
{
	char name[PATH_MAX];
	struct stat st;
	int fd, err;

	if ((size_t)snprintf(name, sizeof(name), "%s/%d" GPUVM_STATE_SUFFIX, rundir,
			     (int)pid) >= sizeof(name))
		return -ENAMETOOLONG;
	fd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > GPUVM_SEG_MAX_SIZE) {
		err = -EFBIG;
		goto out_close;
	}
	seg->fd = fd;
	seg->mem = NULL;
	seg->size = st.st_size;
	seg->pid = pid;
	seg->uid = st.st_uid;
	seg->gid = st.st_gid;
	seg->max_tries = SEG_DEFAULT_TRIES;
	return 0;

out_close:
	close(fd);
	return err;
}

/**
 * gpuvm_segment_from_memory - read a segment from a buffer
 * @seg: filled
 * @buf: the bytes (must outlive @seg)
 * @size: bytes in @buf
 * @pid: the pid the header must name, 0 for any
 * @uid: the uid the header must name
 *
 * A buffer never changes under the reader, so an odd seqcount fails at once
 * instead of being waited for.
 */
void gpuvm_segment_from_memory(struct gpuvm_segment *seg, const void *buf, size_t size,
			       pid_t pid, uid_t uid)
{
	seg->fd = -1;
	seg->mem = buf;
	seg->size = size;
	seg->pid = pid;
	seg->uid = uid;
	seg->gid = 0;
	seg->max_tries = 1;
}

void gpuvm_segment_close(struct gpuvm_segment *seg)
{
	if (seg->fd >= 0)
		close(seg->fd);
	seg->fd = -1;
}

/* Copy @len bytes at @off; -EIO when the file is shorter than it said. */
static int seg_read(const struct gpuvm_segment *seg, uint64_t off, void *buf, size_t len)
{
	uint64_t end;
	char *p = buf;

	if (__builtin_add_overflow(off, len, &end) || end > seg->size)
		return -EIO;
	if (seg->fd < 0) {
		memcpy(buf, seg->mem + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(seg->fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* truncated under us */
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int seg_read_seq(const struct gpuvm_segment *seg, uint64_t off, uint32_t *seq)
{
	int err = seg_read(seg, off, seq, sizeof(*seq));

	/* pairs with the writer's release store of the count */
	gpuvm_seq_fence_acquire();
	return err;
}

/* Back off between retries: spin a little, then sleep up to 1 ms. */
static void seg_backoff(unsigned int try)
{
	struct timespec ts = { 0, 0 };

	if (try < 8) {
		sched_yield();
		return;
	}
	ts.tv_nsec = try < 40 ? 50000 : 1000000;
	nanosleep(&ts, NULL);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Does [off, off + count * size) lie inside [0, limit)? */
static bool range_ok(uint64_t off, uint64_t count, uint64_t size, uint64_t limit)
{
	uint64_t bytes, end;

	if (__builtin_mul_overflow(count, size, &bytes))
		return false;
	if (__builtin_add_overflow(off, bytes, &end))
		return false;
	return end <= limit;
}

/**
 * gpuvm_seg_copy_string - copy a fixed-size, maybe unterminated field as
 * printable text
 * @dst: @len + 1 bytes
 * @src: the field
 * @len: its size
 *
 * Stops at the first NUL; any byte outside printable ASCII becomes '?', so
 * a hostile name cannot smuggle newlines into a key: value file or escape
 * sequences into a terminal.
 */
void gpuvm_seg_copy_string(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i]; i++) {
		unsigned char c = src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[i] = '\0';
}

bool gpuvm_seg_knob_name_valid(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len && name[i]; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return i > 0 && i < len;	/* non-empty and NUL-terminated */
}

static const char *validate_header(const struct gpuvm_segment *seg,
				   const struct gpuvm_seg_header *h)
{
	unsigned int i;

	if (h->magic != GPUVM_STATE_MAGIC)
		return "bad magic";
	if (h->version_major != GPUVM_SEG_VERSION_MAJOR)
		return "unsupported version";
	if (h->header_size < sizeof(*h) || h->header_size > GPUVM_SEG_MAX_HEADER)
		return "bad header_size";
	if (h->device_size < GPUVM_SEG_DEVICE_SIZE_1_0 || h->device_size > GPUVM_SEG_MAX_RECORD)
		return "bad device_size";
	if (h->pte_size < sizeof(struct gpuvm_seg_pte) || h->pte_size > GPUVM_SEG_MAX_RECORD)
		return "bad pte_size";
	if (h->alloc_size < sizeof(struct gpuvm_seg_alloc) ||
	    h->alloc_size > GPUVM_SEG_MAX_RECORD)
		return "bad alloc_size";
	if (h->segment_size > seg->size)
		return "segment_size beyond end of file";
	if (h->segment_size < h->header_size)
		return "segment_size below header_size";
	if (seg->pid && h->pid != seg->pid)
		return "pid does not match the file name";
	if (h->uid != seg->uid)
		return "uid does not match the file owner";
	if (h->nr_devices > GPUVM_SEG_MAX_DEVICES)
		return "bad nr_devices";
	for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++) {
		uint64_t off = h->device_offset[i];

		if (!off)
			continue;
		if (off < h->header_size || !range_ok(off, 1, h->device_size, h->segment_size))
			return "device block out of bounds";
	}
	return NULL;
}

/**
 * gpuvm_segment_read_header - a consistent, validated copy of the header
 * @seg: the segment
 * @hdr: filled on success
 * @why: on failure, a static string saying why (may be NULL)
 *
 * Return: 0; -EBADMSG (invalid), -EBUSY (never consistent: the writer is
 * stuck in an update or hostile), -EIO (file shorter than it said).
 */
int gpuvm_segment_read_header(const struct gpuvm_segment *seg, struct gpuvm_seg_header *hdr,
			      const char **why)
{
	const size_t seq_off = offsetof(struct gpuvm_seg_header, seq);
	const char *reason = "writer never settled";
	unsigned int try;
	uint32_t s1, s2;
	int err = -EBUSY;

	if (seg->size < sizeof(*hdr)) {
		err = -EBADMSG;
		reason = "file smaller than a header";
		goto out;
	}
	for (try = 0; try < seg->max_tries; try++) {
		if (try)
			seg_backoff(try);
		err = seg_read_seq(seg, seq_off, &s1);
		if (err)
			break;
		if (s1 & 1) {
			err = -EBUSY;
			continue;
		}
		err = seg_read(seg, 0, hdr, sizeof(*hdr));
		if (err)
			break;
		err = seg_read_seq(seg, seq_off, &s2);
		if (err)
			break;
		if (s1 != s2) {
			err = -EBUSY;
			continue;
		}
		reason = validate_header(seg, hdr);
		err = reason ? -EBADMSG : 0;
		break;
	}
	if (err == -EIO)
		reason = "file truncated";
out:
	if (err && why)
		*why = reason;
	return err;
}

static const char *validate_device(const struct gpuvm_seg_header *h, unsigned int slot,
				   const struct gpuvm_seg_device *d)
{
	uint64_t max_entries;
	unsigned int i;

	if (d->ordinal < 0 || (unsigned int)d->ordinal != slot)
		return "device ordinal does not match its slot";
	if (!is_pow2(d->granularity))
		return "device granularity not a power of two";
	if (d->arena_base + d->arena_size < d->arena_base)
		return "device arena wraps around";
	max_entries = d->arena_size / d->granularity;
	if (d->pt_entries > max_entries)
		return "page table larger than the arena";
	if (d->pt_entries && !range_ok(d->pt_offset, d->pt_entries, h->pte_size, h->segment_size))
		return "page table out of bounds";
	if (d->alloc_capacity &&
	    !range_ok(d->alloc_offset, d->alloc_capacity, h->alloc_size, h->segment_size))
		return "allocation table out of bounds";
	if (d->nr_knobs > GPUVM_SEG_MAX_KNOBS)
		return "bad nr_knobs";
	for (i = 0; i < d->nr_knobs; i++)
		if (!gpuvm_seg_knob_name_valid(d->knobs[i].name, sizeof(d->knobs[i].name)))
			return "bad knob name";
	return NULL;
}

/*
 * Copy records of @rec bytes into an array of @want-byte structs, stepping
 * over the tail a newer minor version appended.
 */
/*
 * Copy a table of @count records of @rec bytes into records of @want.
 * *@charged: the bytes of the copy, charged until it is freed.
 * Return: 0; -EFBIG past GPUVM_READ_TABLE_MAX, -EAGAIN past the readers'
 * memory bound, -ENOMEM, -EIO.
 */
static int copy_table(const struct gpuvm_segment *seg, uint64_t off, uint32_t count,
		      uint32_t rec, size_t want, void **out, size_t *charged)
{
	size_t bytes = (size_t)(count ? count : 1) * want, raw_bytes = (size_t)count * rec;
	unsigned char *dst, *raw;
	uint32_t i;
	int err;

	if (bytes > GPUVM_READ_TABLE_MAX || raw_bytes > GPUVM_READ_TABLE_MAX)
		return -EFBIG;
	/*
	 * A copy is taken only with room left for a whole text of it: else
	 * readers that each hold a copy can all starve growing their texts,
	 * and none gets an answer.
	 */
	if (!charge_leaving(bytes, GPUVM_READ_TEXT_MAX))
		return -EAGAIN;
	dst = calloc(count ? count : 1, want);
	if (!dst) {
		err = -ENOMEM;
		goto out;
	}
	if (rec == want) {
		err = seg_read(seg, off, dst, (size_t)count * want);
		goto out;
	}
	if (!gpuvm_read_charge(raw_bytes)) {
		err = -EAGAIN;
		goto out;
	}
	raw = malloc(raw_bytes);
	err = raw ? seg_read(seg, off, raw, raw_bytes) : -ENOMEM;
	for (i = 0; !err && i < count; i++)
		memcpy(dst + (size_t)i * want, raw + (size_t)i * rec, want);
	free(raw);
	gpuvm_read_uncharge(raw_bytes);
out:
	if (err) {
		free(dst);
		gpuvm_read_uncharge(bytes);
	} else {
		*out = dst;
		*charged = bytes;
	}
	return err;
}

static void snap_tables_free(struct gpuvm_snap_device *d)
{
	free(d->pt);
	free(d->allocs);
	gpuvm_read_uncharge(d->pt_bytes + d->allocs_bytes);
	d->pt = NULL;
	d->allocs = NULL;
	d->pt_bytes = d->allocs_bytes = 0;
}

static void snap_device_free(struct gpuvm_snap_device *d)
{
	if (!d)
		return;
	snap_tables_free(d);
	free(d);
}

/* One device block and, as asked, its tables, under its seqcount. */
static int snap_device(const struct gpuvm_segment *seg, const struct gpuvm_seg_header *h,
		       unsigned int slot, unsigned int what, struct gpuvm_snap_device **out,
		       const char **why)
{
	uint64_t off = h->device_offset[slot];
	const char *reason = "device block never settled";
	struct gpuvm_snap_device *d;
	unsigned int try;
	uint32_t s1, s2;
	int err = -EBUSY;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (try = 0; try < seg->max_tries; try++) {
		if (try)
			seg_backoff(try);
		snap_tables_free(d);

		err = seg_read_seq(seg, off, &s1);
		if (err)
			break;
		if (s1 & 1) {
			err = -EBUSY;
			continue;
		}
		/* an older writer's block is shorter: the rest reads as zero */
		memset(&d->blk, 0, sizeof(d->blk));
		err = seg_read(seg, off, &d->blk,
			       h->device_size < sizeof(d->blk) ? h->device_size : sizeof(d->blk));
		if (err)
			break;
		reason = validate_device(h, slot, &d->blk);
		if (!reason && (what & GPUVM_SNAP_PT) && d->blk.pt_entries)
			err = copy_table(seg, d->blk.pt_offset, d->blk.pt_entries, h->pte_size,
					 sizeof(*d->pt), (void **)&d->pt, &d->pt_bytes);
		if (!reason && !err && (what & GPUVM_SNAP_ALLOCS) && d->blk.alloc_capacity)
			err = copy_table(seg, d->blk.alloc_offset, d->blk.alloc_capacity,
					 h->alloc_size, sizeof(*d->allocs), (void **)&d->allocs,
					 &d->allocs_bytes);
		if (err == -ENOMEM || err == -EFBIG || err == -EAGAIN)
			break;
		/* A torn copy may look invalid: only a stable one is judged. */
		if (seg_read_seq(seg, off, &s2) || s1 != s2) {
			err = -EBUSY;
			reason = "device block never settled";
			continue;
		}
		if (err)
			break;
		err = reason ? -EBADMSG : 0;
		break;
	}
	if (err == -EIO)
		reason = "file truncated";
	else if (err == -ENOMEM)
		reason = "out of memory";
	else if (err == -EFBIG)
		reason = "a table larger than readers copy";
	else if (err == -EAGAIN)
		reason = "readers are at their memory bound: try again";
	if (err) {
		*why = reason;
		snap_device_free(d);
		return err;
	}
	*out = d;
	return 0;
}

/**
 * gpuvm_snapshot_take - a consistent, validated copy of a state segment
 * @seg: the segment
 * @what: GPUVM_SNAP_* tables to copy besides the header and device blocks
 * @snap: filled; release with gpuvm_snapshot_release() whatever the result
 *
 * The header and each device (block plus tables) are each consistent; one
 * device's counters may be a little newer than another's.
 * Return: 0, or negative errno with @snap->error saying why.
 */
int gpuvm_snapshot_take(const struct gpuvm_segment *seg, unsigned int what,
			struct gpuvm_snapshot *snap)
{
	unsigned int i;
	int err;

	memset(snap, 0, sizeof(*snap));
	snap->uid = seg->uid;
	err = gpuvm_segment_read_header(seg, &snap->hdr, &snap->error);
	if (err)
		return err;
	gpuvm_seg_copy_string(snap->comm, snap->hdr.comm, sizeof(snap->hdr.comm));
	gpuvm_seg_copy_string(snap->driver, snap->hdr.driver, sizeof(snap->hdr.driver));
	for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++) {
		if (!snap->hdr.device_offset[i])
			continue;
		err = snap_device(seg, &snap->hdr, i, what, &snap->dev[i], &snap->error);
		if (err)
			return err;
		snap->dev_mask |= 1u << i;
		snap->nr_present++;
	}
	return 0;
}

void gpuvm_snapshot_release(struct gpuvm_snapshot *snap)
{
	unsigned int i;

	for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++) {
		snap_device_free(snap->dev[i]);
		snap->dev[i] = NULL;
	}
}

/**
 * gpuvm_seg_alloc_valid - whether an allocation slot holds something showable
 * @a: a slot of a copied allocation table
 *
 * Live, with an id, and with address ranges that do not wrap.
 */
bool gpuvm_seg_alloc_valid(const struct gpuvm_seg_alloc *a)
{
	uint64_t end;

	if (!(a->flags & GPUVM_SEG_ALLOC_LIVE) || !a->id)
		return false;
	if (__builtin_add_overflow(a->base, a->size, &end))
		return false;
	if (__builtin_add_overflow(a->base, a->max_size, &end))
		return false;
	return true;
}

const char *gpuvm_pte_state_name(unsigned int state)
{
	static const char *const names[GPUVM_PTE_NR_STATES] = {
		[GPUVM_PTE_FREE] = "free",
		[GPUVM_PTE_RESERVED] = "reserved",
		[GPUVM_PTE_MAPPED] = "mapped",
		[GPUVM_PTE_CACHED] = "cached",
		[GPUVM_PTE_OFFLOADED] = "offloaded",
	};

	return state < GPUVM_PTE_NR_STATES ? names[state] : "invalid";
}

/**
 * gpuvm_snap_knob - a device's published knob by name
 * Return: the knob, or NULL when the device does not publish it.
 */
const struct gpuvm_seg_knob *gpuvm_snap_knob(const struct gpuvm_snap_device *d,
					     const char *name)
{
	unsigned int i;

	for (i = 0; i < d->blk.nr_knobs; i++)
		if (!strcmp(d->blk.knobs[i].name, name))
			return &d->blk.knobs[i];
	return NULL;
}
