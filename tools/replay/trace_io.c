// SPDX-License-Identifier: MIT
/*
 * trace_io.c - traces in memory: read (binary, or an RMM CSV detected by its
 * header line), write, and print as text.
 *
 * The binary format is include/gpuvm/trace.h: a header, then fixed-size
 * records, little-endian.  A reader accepts larger header_size and
 * record_size than it knows (fields appended by later versions are
 * skipped) but never smaller ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the trace format is little-endian; add byte swapping for this host"
#endif

/* A sanity bound on what a header may claim, against hostile files. */
#define TRACE_MAX_HEADER	4096u
#define TRACE_MAX_RECORD	4096u

static const char *const event_names[GPUVM_EV_NR] = {
	[GPUVM_EV_ALLOC]		= "alloc",
	[GPUVM_EV_FREE_REQUESTED]	= "free_requested",
	[GPUVM_EV_FREE_COMPLETED]	= "free_completed",
	[GPUVM_EV_RESIZE]		= "resize",
	[GPUVM_EV_CHUNK_CREATE]		= "chunk_create",
	[GPUVM_EV_CHUNK_RELEASE]	= "chunk_release",
	[GPUVM_EV_MAP]			= "map",
	[GPUVM_EV_UNMAP]		= "unmap",
	[GPUVM_EV_OOM]			= "oom",
	[GPUVM_EV_DROPPED]		= "dropped",
};

/**
 * replay_event_name - the text name of a trace event
 * Return: e.g. "alloc", or NULL for an unknown event.
 */
const char *replay_event_name(uint32_t ev)
{
	if (ev >= GPUVM_EV_NR)
		return NULL;
	return event_names[ev];
}

/**
 * replay_trace_init - an empty trace with a filled header
 * @t: the trace
 * @source: where it comes from ("workload:llm-serving", "rmm-csv", ...)
 * @capacity: device memory in bytes (0: unknown)
 * @granularity: allocation granularity in bytes
 */
void replay_trace_init(struct replay_trace *t, const char *source, uint64_t capacity,
		       uint64_t granularity)
{
	memset(t, 0, sizeof(*t));
	t->hdr.magic = GPUVM_TRACE_MAGIC;
	t->hdr.version = GPUVM_TRACE_VERSION;
	t->hdr.header_size = sizeof(t->hdr);
	t->hdr.record_size = sizeof(struct gpuvm_trace_record);
	t->hdr.capacity = capacity;
	t->hdr.granularity = granularity;
	strncpy(t->hdr.source, source, sizeof(t->hdr.source) - 1);
}

void replay_trace_release(struct replay_trace *t)
{
	free(t->recs);
	t->recs = NULL;
	t->nr = t->cap = 0;
}

static int trace_reserve(struct replay_trace *t, size_t nr)
{
	struct gpuvm_trace_record *recs;
	size_t cap;

	if (nr <= t->cap)
		return 0;
	cap = t->cap ? t->cap : 1024;
	while (cap < nr) {
		if (cap > SIZE_MAX / 2 / sizeof(*recs))
			return -ENOMEM;
		cap *= 2;
	}
	recs = realloc(t->recs, cap * sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	t->recs = recs;
	t->cap = cap;
	return 0;
}

/**
 * replay_trace_add - append one record
 * Return: 0 or -ENOMEM.
 */
int replay_trace_add(struct replay_trace *t, uint64_t time_ns, enum gpuvm_trace_event ev,
		     int dev, uint64_t stream, uint64_t addr, uint64_t requested,
		     uint64_t granted)
{
	struct gpuvm_trace_record *r;
	int err;

	err = trace_reserve(t, t->nr + 1);
	if (err)
		return err;
	r = &t->recs[t->nr++];
	r->time_ns = time_ns;
	r->event = ev;
	r->device = dev;
	r->stream = stream;
	r->addr = addr;
	r->requested = requested;
	r->granted = granted;
	return 0;
}

/* A record naming more bytes than any device has would wrap the models' rounding. */
static int check_record(const struct gpuvm_trace_record *r, size_t idx, const char *name)
{
	if (r->requested <= REPLAY_MAX_BYTES && r->granted <= REPLAY_MAX_BYTES)
		return 0;
	fprintf(stderr, "%s: record %zu: %s of %" PRIu64 " bytes is beyond the %llu a trace "
		"may name\n", name, idx, r->requested > REPLAY_MAX_BYTES ? "request" : "grant",
		r->requested > REPLAY_MAX_BYTES ? r->requested : r->granted,
		REPLAY_MAX_BYTES);
	return -EINVAL;
}

static int read_binary(FILE *f, const char *name, struct replay_trace *t)
{
	struct gpuvm_trace_header hdr;
	unsigned char *buf = NULL;
	size_t n, skip;
	int err;

	if (fread(&hdr, sizeof(hdr), 1, f) != 1) {
		fprintf(stderr, "%s: truncated trace header\n", name);
		return -EINVAL;
	}
	if (hdr.magic != GPUVM_TRACE_MAGIC) {
		fprintf(stderr, "%s: not a gpuvm trace (bad magic)\n", name);
		return -EINVAL;
	}
	if (hdr.version != GPUVM_TRACE_VERSION) {
		fprintf(stderr, "%s: trace version %u, this tool reads version %u\n",
			name, hdr.version, GPUVM_TRACE_VERSION);
		return -EINVAL;
	}
	if (hdr.header_size < sizeof(hdr) || hdr.header_size > TRACE_MAX_HEADER ||
	    hdr.record_size < sizeof(struct gpuvm_trace_record) ||
	    hdr.record_size > TRACE_MAX_RECORD) {
		fprintf(stderr, "%s: bad header (header_size %u, record_size %u)\n",
			name, hdr.header_size, hdr.record_size);
		return -EINVAL;
	}
	if (hdr.granularity & (hdr.granularity - 1)) {
		fprintf(stderr, "%s: granularity %" PRIu64 " is not a power of two\n",
			name, hdr.granularity);
		return -EINVAL;
	}
	if (hdr.capacity > REPLAY_MAX_BYTES || hdr.granularity > REPLAY_MAX_BYTES) {
		fprintf(stderr, "%s: bad header (capacity %" PRIu64 ", granularity %" PRIu64
			" bytes: beyond the %llu a trace may name)\n", name, hdr.capacity,
			hdr.granularity, REPLAY_MAX_BYTES);
		return -EINVAL;
	}
	buf = malloc(TRACE_MAX_HEADER > hdr.record_size ? TRACE_MAX_HEADER : hdr.record_size);
	if (!buf)
		return -ENOMEM;
	/* Fields appended to the header by a later minor revision: read past them. */
	skip = hdr.header_size - sizeof(hdr);
	if (skip && fread(buf, 1, skip, f) != skip) {
		fprintf(stderr, "%s: truncated trace: header_size %u, but the file ends "
			"inside the header\n", name, hdr.header_size);
		err = ferror(f) ? -EIO : -EINVAL;
		goto out_free;
	}
	hdr.source[sizeof(hdr.source) - 1] = '\0';
	t->hdr = hdr;
	t->hdr.header_size = sizeof(hdr);
	t->hdr.record_size = sizeof(struct gpuvm_trace_record);

	for (;;) {
		n = fread(buf, 1, hdr.record_size, f);
		if (n == 0)
			break;
		if (n < hdr.record_size && !t->nr) {
			/* Not one whole record: a lying record_size, or a file cut short. */
			fprintf(stderr, "%s: truncated trace: record_size %u, but only %zu "
				"bytes follow the header\n", name, hdr.record_size, n);
			err = -EINVAL;
			goto out_free;
		}
		if (n < hdr.record_size) {
			/* A writer killed mid-record leaves a partial tail. */
			fprintf(stderr, "%s: warning: ignoring %zu trailing bytes "
				"(a partial record)\n", name, n);
			break;
		}
		err = check_record((const struct gpuvm_trace_record *)buf, t->nr, name);
		if (err)
			goto out_free;
		err = trace_reserve(t, t->nr + 1);
		if (err)
			goto out_free;
		memcpy(&t->recs[t->nr++], buf, sizeof(struct gpuvm_trace_record));
	}
	err = ferror(f) ? -EIO : 0;
	if (err)
		fprintf(stderr, "%s: read error\n", name);
out_free:
	free(buf);
	if (err)
		replay_trace_release(t);
	return err;
}

/**
 * replay_trace_read - read a trace from a stream: a gpuvm binary trace, or
 * an RMM logging-adaptor CSV (recognized by its header line)
 * @f: the stream, at its start; it is read once, front to back, so a pipe
 *     will do
 * @name: for messages
 * @t: filled on success (release with replay_trace_release())
 * Return: 0 or -errno, with a message on stderr; @t is empty on error.
 */
int replay_trace_read(FILE *f, const char *name, struct replay_trace *t)
{
	int c;

	replay_trace_init(t, "", 0, 0);
	/* One byte tells them apart, and one byte of push-back works on any stream. */
	c = getc(f);
	if (c == EOF || ungetc(c, f) == EOF) {
		fprintf(stderr, "%s: %s\n", name, ferror(f) ? "read error" : "empty file");
		return ferror(f) ? -EIO : -EINVAL;
	}
	if (c == (GPUVM_TRACE_MAGIC & 0xff))
		return read_binary(f, name, t);
	if (c == 'T' || c == 't')
		return replay_import_rmm_csv(f, name, t);
	fprintf(stderr, "%s: neither a gpuvm trace nor an RMM log CSV\n", name);
	return -EINVAL;
}

/**
 * replay_trace_load - replay_trace_read() from a file
 * @path: the file, or "-" for standard input (any file may be a pipe)
 * @t: as for replay_trace_read()
 */
int replay_trace_load(const char *path, struct replay_trace *t)
{
	FILE *f;
	int err;

	if (!strcmp(path, "-"))
		return replay_trace_read(stdin, "<stdin>", t);
	f = fopen(path, "rb");
	if (!f) {
		err = -errno;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		replay_trace_init(t, "", 0, 0);
		return err;
	}
	err = replay_trace_read(f, path, t);
	fclose(f);
	return err;
}

/**
 * replay_trace_write - write a trace in the binary format to a stream
 * Return: 0 or -EIO (the caller reports it).
 */
int replay_trace_write(const struct replay_trace *t, FILE *f)
{
	struct gpuvm_trace_header hdr = t->hdr;

	hdr.header_size = sizeof(hdr);
	hdr.record_size = sizeof(struct gpuvm_trace_record);
	if (fwrite(&hdr, sizeof(hdr), 1, f) != 1 ||
	    (t->nr && fwrite(t->recs, sizeof(*t->recs), t->nr, f) != t->nr) || fflush(f))
		return -EIO;
	return 0;
}

/**
 * replay_trace_save - write a trace in the binary format
 * Return: 0 or -errno; a failed write removes the partial file.
 */
int replay_trace_save(const struct replay_trace *t, const char *path)
{
	FILE *f;
	int err;

	f = fopen(path, "wb");
	if (!f) {
		err = -errno;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return err;
	}
	err = replay_trace_write(t, f);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr, "%s: write failed\n", path);
		remove(path);
	}
	return err;
}

/**
 * replay_escape - @src made safe for a terminal: control and non-ASCII
 * bytes as \xNN, a backslash as two
 * @dst: the text; 4 * strlen(@src) + 1 bytes always suffice
 * @len: bytes at @dst; longer text is cut at a whole escape
 * @src: a trace's own text (its source), which anyone may have written
 * Return: @dst.
 */
char *replay_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src; src++) {
		unsigned char c = *src;
		char esc[5];
		size_t n;

		if (c == '\\')
			n = snprintf(esc, sizeof(esc), "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			n = snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			n = snprintf(esc, sizeof(esc), "%c", c);
		if (o + n >= len)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	if (len)
		dst[o] = '\0';
	return dst;
}

/**
 * replay_trace_dump - print a trace as text: the header as "key: value"
 * lines, then one line per record
 * Return: 0 or -EIO.
 */
int replay_trace_dump(const struct replay_trace *t, FILE *out)
{
	const struct gpuvm_trace_header *h = &t->hdr;
	char src[REPLAY_SOURCE_TEXT];
	uint64_t dropped = 0;
	size_t i;

	fprintf(out, "# version: %u\n", h->version);
	fprintf(out, "# source: %s\n", replay_escape(src, sizeof(src), h->source));
	fprintf(out, "# capacity: %" PRIu64 "\n", h->capacity);
	fprintf(out, "# granularity: %" PRIu64 "\n", h->granularity);
	fprintf(out, "# start_ns: %" PRIu64 "\n", h->start_ns);
	fprintf(out, "# pid: %d\n", h->pid);
	fprintf(out, "# flags: 0x%x\n", h->flags);
	fprintf(out, "# records: %zu\n", t->nr);
	fprintf(out, "#%15s %-15s %3s %18s %18s %14s %14s\n", "time_ns", "event", "dev",
		"stream", "addr", "requested", "granted");
	for (i = 0; i < t->nr; i++) {
		const struct gpuvm_trace_record *r = &t->recs[i];
		const char *name = replay_event_name(r->event);
		char unknown[24];

		if (!name) {
			snprintf(unknown, sizeof(unknown), "event-%u", r->event);
			name = unknown;
		}
		if (r->event == GPUVM_EV_DROPPED)
			dropped += r->granted;
		fprintf(out, "%16" PRIu64 " %-15s %3d %#18" PRIx64 " %#18" PRIx64
			" %14" PRIu64 " %14" PRIu64 "\n", r->time_ns, name, r->device,
			r->stream, r->addr, r->requested, r->granted);
	}
	if (dropped)
		fprintf(out, "# dropped: %" PRIu64 " events (ring full)\n", dropped);
	return ferror(out) ? -EIO : 0;
}
