// SPDX-License-Identifier: MIT
/*
 * render.c - the text of /gpuvm files, from validated snapshots.
 *
 * Formats are a stable ABI (Documentation/ABI/testing/gpuvmfs-*): add keys
 * at the end, never change or remove one.  Values that are merely odd
 * (counters that make no sense together, unknown page states, allocation
 * slots with wrapping ranges) are shown or skipped here, never trusted for
 * anything but printing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvmfs/gpuvmfs.h>

/* ---- buffer ---- */

/* Room kept past GPUVM_READ_TEXT_MAX for the line that says it stopped. */
#define TRUNCATED_ROOM	128

/*
 * Room for @more bytes and a NUL.  A text stops (truncated) at
 * GPUVM_READ_TEXT_MAX, and fails (-EAGAIN) when every reader's copies and
 * texts together are at GPUVM_READ_MEM_MAX: a segment claims what it likes,
 * the daemon holds what it can bound.
 */
static bool __buf_reserve(struct gpuvmfs_buf *b, size_t more, size_t max)
{
	size_t need, cap;
	char *p;

	if (b->err || b->truncated)
		return false;
	if (__builtin_add_overflow(b->len, more + 1, &need) || need > max) {
		b->truncated = true;
		return false;
	}
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	if (!gpuvm_read_charge(cap - b->cap)) {
		b->err = -EAGAIN;
		return false;
	}
	p = realloc(b->data, cap);
	if (!p) {
		gpuvm_read_uncharge(cap - b->cap);
		b->err = -ENOMEM;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static bool buf_reserve(struct gpuvmfs_buf *b, size_t more)
{
	return __buf_reserve(b, more, GPUVM_READ_TEXT_MAX);
}

void gpuvmfs_buf_free(struct gpuvmfs_buf *b)
{
	free(b->data);
	gpuvm_read_uncharge(b->cap);
	memset(b, 0, sizeof(*b));
}

/**
 * gpuvmfs_buf_end_truncated - end a text that stopped at its bound with a
 * line saying so (a reader must not take a cut text for the whole)
 */
void gpuvmfs_buf_end_truncated(struct gpuvmfs_buf *b)
{
	char line[TRUNCATED_ROOM];
	int n;

	if (!b->truncated || b->err)
		return;
	n = snprintf(line, sizeof(line), "# truncated: the text stops at gpuvmfs's bound of %llu MiB\n",
		     (unsigned long long)(GPUVM_READ_TEXT_MAX >> 20));
	b->truncated = false;
	/* back to the last whole line, then the note */
	while (b->len && b->data[b->len - 1] != '\n')
		b->len--;
	if (__buf_reserve(b, (size_t)n, GPUVM_READ_TEXT_MAX + TRUNCATED_ROOM)) {
		memcpy(b->data + b->len, line, (size_t)n + 1);
		b->len += (size_t)n;
	}
	b->truncated = true;
}

void gpuvmfs_buf_printf(struct gpuvmfs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf_reserve(b, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!buf_reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

static void buf_puts(struct gpuvmfs_buf *b, const char *s, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* The page table is the one big file: format it without printf. */
static char *put_hex(char *p, uint64_t v, int min_digits)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n < min_digits--)
		*p++ = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_dec(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* ---- status ---- */

/* What a counter of the status is in /gpuvm/metrics (Prometheus's naming). */
enum stat_kind {
	STAT_BYTES,		/* a gauge, gpuvm_<name>_bytes */
	STAT_GAUGE,		/* a gauge, gpuvm_<name> */
	STAT_COUNTER,		/* a counter, gpuvm_<name>_total */
	STAT_BYTES_COUNTER,	/* a counter of bytes, gpuvm_<name>_bytes_total */
};

static const struct stat_kind_info {
	const char *suffix;
	const char *type;
} stat_kinds[] = {
	[STAT_BYTES] = { "_bytes", "gauge" },
	[STAT_GAUGE] = { "", "gauge" },
	[STAT_COUNTER] = { "_total", "counter" },
	[STAT_BYTES_COUNTER] = { "_bytes_total", "counter" },
};

/* The scalar counters of struct gpuvm_seg_stats, in declaration order. */
static const struct stat_field {
	const char *name;	/* its status key */
	size_t off;
	enum stat_kind kind;
	const char *help;	/* its metric's # HELP */
} stat_fields[] = {
#define F(name, kind, help) { #name, offsetof(struct gpuvm_seg_stats, name), kind, help }
	F(requested, STAT_BYTES, "Bytes the live allocations asked for."),
	F(allocated, STAT_BYTES, "Bytes of the live allocations, rounded up."),
	F(mapped, STAT_BYTES, "Physical bytes mapped into the arena."),
	F(cached, STAT_BYTES, "Physical bytes held but not in use."),
	F(physical, STAT_BYTES, "Physical bytes created: in use and cached."),
	F(reserved_va, STAT_BYTES, "Virtual bytes of the arena."),
	F(limit, STAT_BYTES, "The memory limit in bytes, 0 for none."),
	F(device_total, STAT_BYTES, "The device's memory in bytes, as the driver reports it."),
	F(peak_requested, STAT_BYTES, "The most bytes the live allocations asked for at once."),
	F(peak_allocated, STAT_BYTES, "The most bytes of live allocations at once."),
	F(peak_mapped, STAT_BYTES, "The most physical bytes mapped at once."),
	F(largest_free_run, STAT_BYTES, "The largest run of cached bytes one allocation can map."),
	F(live_allocs, STAT_GAUGE, "Live allocations."),
	F(alloc_calls, STAT_COUNTER, "Allocation calls."),
	F(free_calls, STAT_COUNTER, "Free calls."),
	F(cache_hits, STAT_COUNTER, "Allocations served from a mapped free range."),
	F(stitches, STAT_COUNTER, "Virtual ranges built from pooled chunks."),
	F(ooms, STAT_COUNTER, "Allocations refused for lack of memory."),
	F(chunks, STAT_GAUGE, "Physical chunks held."),
	F(chunks_free, STAT_GAUGE, "Physical chunks held that no allocation maps."),
	F(reclaimed, STAT_BYTES_COUNTER, "Bytes handed back to the driver."),
	F(trace_dropped, STAT_COUNTER, "Trace events dropped because the ring was full."),
	F(alloc_table_dropped, STAT_COUNTER,
	  "Allocations left out of the published allocation table: it was full."),
#undef F
};

#define NR_STATS	(sizeof(stat_fields) / sizeof(stat_fields[0]))

/* The fragmentation figures: 1 - part / whole, of two scalar counters. */
static const struct frag_field {
	const char *name;	/* its status key; its metric is gpuvm_<name>_ratio */
	size_t part, whole;
	const char *help;
} frag_fields[] = {
#define F(name, part, whole, help)					\
	{ #name, offsetof(struct gpuvm_seg_stats, part),		\
	  offsetof(struct gpuvm_seg_stats, whole), help }
	F(frag_internal, requested, mapped, "1 - requested / mapped: mapped bytes not asked for."),
	F(frag_external, largest_free_run, cached,
	  "1 - largest_free_run / cached: cached bytes one allocation cannot map."),
	F(frag_peak, peak_requested, peak_mapped, "1 - peak_requested / peak_mapped."),
#undef F
};

#define NR_FRAGS	(sizeof(frag_fields) / sizeof(frag_fields[0]))

static uint64_t stat_off(const struct gpuvm_seg_stats *st, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	return v;
}

static uint64_t stat_at(const struct gpuvm_seg_stats *st, unsigned int i)
{
	return stat_off(st, stat_fields[i].off);
}

static void stats_add(struct gpuvm_seg_stats *sum, const struct gpuvm_seg_stats *st)
{
	unsigned int i;

	for (i = 0; i < NR_STATS; i++) {
		uint64_t v = stat_at(sum, i) + stat_at(st, i);

		memcpy((char *)sum + stat_fields[i].off, &v, sizeof(v));
	}
	for (i = 0; i < 16; i++) {
		sum->driver_calls[i] += st->driver_calls[i];
		sum->driver_ns[i] += st->driver_ns[i];
	}
}

/* Fragmentation figure @i: 1 - part/whole in [0, 1]; 0 when whole is 0. */
static double frag_at(const struct gpuvm_seg_stats *st, unsigned int i)
{
	uint64_t part = stat_off(st, frag_fields[i].part);
	uint64_t whole = stat_off(st, frag_fields[i].whole);

	if (!whole || part >= whole)
		return 0.0;
	return 1.0 - (double)part / (double)whole;
}

/* One "<prefix><call>: <value>" line per driver call the library names. */
static void render_driver(struct gpuvmfs_buf *b, const char *prefix, const uint64_t v[16])
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		const char *name = i < GPUVM_DRV_NR ? gpuvm_driver_call_name(i) : NULL;

		if (name)
			gpuvmfs_buf_printf(b, "%s%s: %" PRIu64 "\n", prefix, name, v[i]);
	}
}

static void render_stats(struct gpuvmfs_buf *b, const struct gpuvm_seg_stats *st)
{
	unsigned int i;

	for (i = 0; i < NR_STATS; i++)
		gpuvmfs_buf_printf(b, "%s: %" PRIu64 "\n", stat_fields[i].name, stat_at(st, i));
	for (i = 0; i < NR_FRAGS; i++)
		gpuvmfs_buf_printf(b, "%s: %.4f\n", frag_fields[i].name, frag_at(st, i));
	render_driver(b, "driver_", st->driver_calls);
	render_driver(b, "driver_ns_", st->driver_ns);
}

static void render_device_head(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d)
{
	gpuvmfs_buf_printf(b, "device: %d\n", d->blk.ordinal);
	gpuvmfs_buf_printf(b, "granularity: %" PRIu64 "\n", d->blk.granularity);
	gpuvmfs_buf_printf(b, "chunk_size: %" PRIu64 "\n", d->blk.chunk_size);
	gpuvmfs_buf_printf(b, "arena_base: 0x%" PRIx64 "\n", d->blk.arena_base);
	gpuvmfs_buf_printf(b, "arena_size: %" PRIu64 "\n", d->blk.arena_size);
	gpuvmfs_buf_printf(b, "pt_entries: %" PRIu32 "\n", d->blk.pt_entries);
	gpuvmfs_buf_printf(b, "alloc_capacity: %" PRIu32 "\n", d->blk.alloc_capacity);
}

/**
 * gpuvmfs_render_status - /gpuvm/<pid>/status and .../dev<N>/status
 * @b: output
 * @s: the snapshot (header valid unless @err)
 * @err: the snapshot's result: a refused segment shows its error
 * @dev: ordinal, or -1 for the process (counters summed over devices;
 *       device keys only when it uses exactly one)
 */
void gpuvmfs_render_status(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int err,
			   int dev)
{
	const struct gpuvm_seg_header *h = &s->hdr;
	struct gpuvm_seg_stats sum;
	unsigned int i;

	if (err) {
		gpuvmfs_buf_printf(b, "state: error\n");
		gpuvmfs_buf_printf(b, "error: %s (%s)\n", s->error ? s->error : "unreadable",
				   strerror(-err));
		return;
	}
	gpuvmfs_buf_printf(b, "state: ok\n");
	gpuvmfs_buf_printf(b, "pid: %" PRId32 "\n", h->pid);
	gpuvmfs_buf_printf(b, "uid: %u\n", (unsigned int)s->uid);
	gpuvmfs_buf_printf(b, "comm: %s\n", s->comm);
	gpuvmfs_buf_printf(b, "driver: %s\n", s->driver);
	gpuvmfs_buf_printf(b, "flags:%s%s\n", h->flags & GPUVM_SEG_F_SIMULATED ? " simulated" : "",
			   h->flags & GPUVM_SEG_F_SHIM ? " shim" : "");
	gpuvmfs_buf_printf(b, "version: %u.%u\n", h->version_major, h->version_minor);
	gpuvmfs_buf_printf(b, "ctl_applied: %" PRIu64 "\n", h->ctl_applied);
	gpuvmfs_buf_printf(b, "ctl_error: %" PRId32 "\n", h->ctl_error);
	gpuvmfs_buf_printf(b, "devices:");
	for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++)
		if (s->dev[i])
			gpuvmfs_buf_printf(b, " %u", i);
	gpuvmfs_buf_printf(b, "\n");

	if (dev >= 0) {
		if (dev >= GPUVM_SEG_MAX_DEVICES || !s->dev[dev])
			return;
		render_device_head(b, s->dev[dev]);
		render_stats(b, &s->dev[dev]->blk.stats);
		return;
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++) {
		if (!s->dev[i])
			continue;
		if (s->nr_present == 1)
			render_device_head(b, s->dev[i]);
		stats_add(&sum, &s->dev[i]->blk.stats);
	}
	render_stats(b, &sum);
}

/* ---- maps ---- */

struct maps_line {
	const struct gpuvm_seg_alloc *a;
	int dev;
};

static int cmp_maps_line(const void *x, const void *y)
{
	const struct maps_line *p = x, *q = y;

	if (p->a->base != q->a->base)
		return p->a->base < q->a->base ? -1 : 1;
	return (p->a->id > q->a->id) - (p->a->id < q->a->id);
}

/**
 * gpuvmfs_render_maps - one line per live allocation, by address:
 * "start-end flags device id requested max_size chunks [ipc]"
 */
void gpuvmfs_render_maps(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int dev)
{
	struct maps_line *lines;
	size_t nr = 0, cap = 0, i;
	unsigned int d;
	uint32_t j;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++)
		if (s->dev[d] && s->dev[d]->allocs && (dev < 0 || (int)d == dev))
			cap += s->dev[d]->blk.alloc_capacity;
	if (!cap)
		return;
	lines = malloc(cap * sizeof(*lines));
	if (!lines) {
		b->err = -ENOMEM;
		return;
	}
	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		const struct gpuvm_snap_device *sd = s->dev[d];

		if (!sd || !sd->allocs || (dev >= 0 && (int)d != dev))
			continue;
		for (j = 0; j < sd->blk.alloc_capacity; j++)
			if (gpuvm_seg_alloc_valid(&sd->allocs[j]))
				lines[nr++] = (struct maps_line){ &sd->allocs[j], d };
	}
	qsort(lines, nr, sizeof(*lines), cmp_maps_line);
	for (i = 0; i < nr; i++) {
		const struct gpuvm_seg_alloc *a = lines[i].a;

		gpuvmfs_buf_printf(b, "%012" PRIx64 "-%012" PRIx64 " %c%c%c %d %" PRIu64
				   " %" PRIu64 " %" PRIu64 " %" PRIu32,
				   a->base, a->base + a->size,
				   a->flags & GPUVM_SEG_ALLOC_SMALL ? 's' : '-',
				   a->flags & GPUVM_SEG_ALLOC_GROWABLE ? 'g' : '-',
				   a->flags & GPUVM_SEG_ALLOC_ASYNC ? 'a' : '-',
				   lines[i].dev, a->id, a->requested, a->max_size, a->nr_chunks);
		/* shared with another process (CUDA IPC): a ninth field says how */
		if (a->flags & GPUVM_SEG_ALLOC_IMPORTED)
			gpuvmfs_buf_printf(b, " imported-from=%" PRIu64, a->stream);
		else if (a->flags & GPUVM_SEG_ALLOC_EXPORTED)
			gpuvmfs_buf_printf(b, " exported");
		gpuvmfs_buf_printf(b, "\n");
	}
	free(lines);
}

/* ---- page table ---- */

static char *put_pte(char *p, uint64_t va, const struct gpuvm_seg_pte *e)
{
	p = put_hex(p, va, 12);
	*p++ = ' ';
	p = put_str(p, gpuvm_pte_state_name(e->state));
	*p++ = ' ';
	if (e->chunk == GPUVM_NO_CHUNK) {
		*p++ = '-';
	} else {
		p = put_dec(p, e->chunk);
		*p++ = ':';
		p = put_dec(p, e->chunk_part);
	}
	*p++ = ' ';
	if (e->owner)
		p = put_dec(p, e->owner);
	else
		*p++ = '-';
	*p++ = ' ';
	*p++ = e->access & GPUVM_PTE_ACCESS_READ ? 'r' : '-';
	*p++ = e->access & GPUVM_PTE_ACCESS_WRITE ? 'w' : '-';
	*p++ = e->access & GPUVM_PTE_ACCESS_PEER ? 'p' : '-';
	*p++ = '\n';
	return p;
}

/* The longest line put_pte() writes. */
#define PTE_LINE_MAX	(16 + 1 + 9 + 1 + 10 + 1 + 5 + 1 + 20 + 1 + 3 + 1)

/**
 * gpuvmfs_render_pagetable - one line per granule not free:
 * "va state chunk:part owner access"
 */
void gpuvmfs_render_pagetable(struct gpuvmfs_buf *b, const struct gpuvm_snapshot *s, int dev)
{
	unsigned int d;
	uint32_t i;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		const struct gpuvm_snap_device *sd = s->dev[d];
		uint64_t va;

		if (!sd || !sd->pt || (dev >= 0 && (int)d != dev))
			continue;
		/* validation bounded pt_entries * granularity by arena_size */
		va = sd->blk.arena_base;
		for (i = 0; i < sd->blk.pt_entries; i++, va += sd->blk.granularity) {
			if (sd->pt[i].state == GPUVM_PTE_FREE)
				continue;
			if (!buf_reserve(b, PTE_LINE_MAX))
				return;
			b->len = put_pte(b->data + b->len, va, &sd->pt[i]) - b->data;
		}
	}
	if (b->data)
		b->data[b->len] = '\0';
}

/* ---- allocations ---- */

/**
 * gpuvmfs_find_alloc - a live allocation by id
 * @s: snapshot with GPUVM_SNAP_ALLOCS
 * @dev: ordinal, or -1 for any device
 * @id: the id
 * @low32: match only the low 32 bits (an id taken from an inode number)
 * @adev: its device, on success
 * Return: the slot, or NULL.
 */
const struct gpuvm_seg_alloc *gpuvmfs_find_alloc(const struct gpuvm_snapshot *s, int dev,
						 uint64_t id, bool low32, int *adev)
{
	unsigned int d;
	uint32_t j;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		const struct gpuvm_snap_device *sd = s->dev[d];

		if (!sd || !sd->allocs || (dev >= 0 && (int)d != dev))
			continue;
		for (j = 0; j < sd->blk.alloc_capacity; j++) {
			const struct gpuvm_seg_alloc *a = &sd->allocs[j];
			uint64_t aid = low32 ? (uint32_t)a->id : a->id;

			if (aid == id && gpuvm_seg_alloc_valid(a)) {
				*adev = d;
				return a;
			}
		}
	}
	return NULL;
}

/** gpuvmfs_render_alloc_info - .../allocs/<id>/info, key: value */
void gpuvmfs_render_alloc_info(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d,
			       const struct gpuvm_seg_alloc *a)
{
	gpuvmfs_buf_printf(b, "id: %" PRIu64 "\n", a->id);
	gpuvmfs_buf_printf(b, "device: %d\n", d->blk.ordinal);
	gpuvmfs_buf_printf(b, "base: 0x%" PRIx64 "\n", a->base);
	gpuvmfs_buf_printf(b, "size: %" PRIu64 "\n", a->size);
	gpuvmfs_buf_printf(b, "requested: %" PRIu64 "\n", a->requested);
	gpuvmfs_buf_printf(b, "max_size: %" PRIu64 "\n", a->max_size);
	gpuvmfs_buf_printf(b, "chunks: %" PRIu32 "\n", a->nr_chunks);
	gpuvmfs_buf_printf(b, "flags:%s%s%s\n", a->flags & GPUVM_SEG_ALLOC_SMALL ? " small" : "",
			   a->flags & GPUVM_SEG_ALLOC_GROWABLE ? " growable" : "",
			   a->flags & GPUVM_SEG_ALLOC_ASYNC ? " async" : "");
	gpuvmfs_buf_printf(b, "stream: 0x%" PRIx64 "\n", a->stream);
	gpuvmfs_buf_printf(b, "time_ns: %" PRIu64 "\n", a->time_ns);
}

static bool pte_continues(const struct gpuvm_seg_pte *prev, const struct gpuvm_seg_pte *e)
{
	if (e->state != prev->state || e->access != prev->access)
		return false;
	if (e->chunk == GPUVM_NO_CHUNK)
		return prev->chunk == GPUVM_NO_CHUNK;
	return e->chunk == prev->chunk && e->chunk_part == prev->chunk_part + 1;
}

static void put_run(struct gpuvmfs_buf *b, uint64_t start, uint64_t end,
		    const struct gpuvm_seg_pte *e)
{
	char chunk[16];

	if (e->chunk == GPUVM_NO_CHUNK)
		snprintf(chunk, sizeof(chunk), "-");
	else
		snprintf(chunk, sizeof(chunk), "%" PRIu32, e->chunk);
	gpuvmfs_buf_printf(b, "%012" PRIx64 "-%012" PRIx64 " %s %s %u %c%c%c\n", start, end,
			   gpuvm_pte_state_name(e->state), chunk, e->chunk_part,
			   e->access & GPUVM_PTE_ACCESS_READ ? 'r' : '-',
			   e->access & GPUVM_PTE_ACCESS_WRITE ? 'w' : '-',
			   e->access & GPUVM_PTE_ACCESS_PEER ? 'p' : '-');
}

/**
 * gpuvmfs_render_alloc_mappings - .../allocs/<id>/mappings: the granules
 * under the allocation's virtual range, one line per run of granules that
 * map consecutive parts of one chunk:
 * "start-end state chunk first_part access"
 */
void gpuvmfs_render_alloc_mappings(struct gpuvmfs_buf *b, const struct gpuvm_snap_device *d,
				   const struct gpuvm_seg_alloc *a)
{
	uint64_t gran = d->blk.granularity, base = d->blk.arena_base;
	uint64_t span = a->max_size > a->size ? a->max_size : a->size;
	uint64_t first, last, i, run_start;
	const struct gpuvm_seg_pte *run = NULL;

	/* the allocation may claim any range: clip it to the page table */
	if (!d->pt || !span || a->base < base)
		return;
	first = (a->base - base) / gran;
	last = (a->base - base + span - 1) / gran;	/* no wrap: alloc_valid */
	if (first >= d->blk.pt_entries)
		return;
	if (last >= d->blk.pt_entries)
		last = d->blk.pt_entries - 1;
	run_start = first;
	for (i = first; i <= last; i++) {
		const struct gpuvm_seg_pte *e = &d->pt[i];

		if (run && pte_continues(&d->pt[i - 1], e))
			continue;
		if (run)
			put_run(b, base + run_start * gran, base + i * gran, run);
		run = e;
		run_start = i;
	}
	if (run)
		put_run(b, base + run_start * gran, base + (last + 1) * gran, run);
}

/* ---- knobs ---- */

/** gpuvmfs_render_knob - a knob file: the schema's format, then a newline */
int gpuvmfs_render_knob(struct gpuvmfs_buf *b, const struct gpuvm_knob *knob, uint64_t val)
{
	char text[512];
	int n;

	n = gpuvm_knob_format(knob, val, text, sizeof(text));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(text))
		return -EOVERFLOW;
	gpuvmfs_buf_printf(b, "%s\n", text);
	return 0;
}

/**
 * gpuvmfs_snap_knob_value - a live knob of a process
 * @s: the snapshot
 * @dev: ordinal, or -1: the lowest device that publishes it
 * @name: knob name
 * @val: the value
 * Return: 0, or -ENODATA when no device publishes it (none set up yet).
 */
int gpuvmfs_snap_knob_value(const struct gpuvm_snapshot *s, int dev, const char *name,
			    uint64_t *val)
{
	unsigned int d;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		const struct gpuvm_seg_knob *k;

		if (!s->dev[d] || (dev >= 0 && (int)d != dev))
			continue;
		k = gpuvm_snap_knob(s->dev[d], name);
		if (k) {
			*val = k->value;
			return 0;
		}
	}
	return -ENODATA;
}

/* ---- metrics ---- */

/*
 * A label value, escaped as the text format wants: backslash, double quote
 * and newline (a segment's comm is made printable, so the newline only
 * matters to a caller that passes its own text).
 */
static void put_label(struct gpuvmfs_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\", 2);
		else if (*s == '"')
			buf_puts(b, "\\\"", 2);
		else if (*s == '\n')
			buf_puts(b, "\\n", 2);
		else
			buf_puts(b, s, 1);
	}
}

/* {pid="..",comm="..",uid="..",device=".."  (no closing brace) */
static void metric_labels(struct gpuvmfs_buf *b, const struct gpuvmfs_metrics_proc *p,
			  int dev)
{
	gpuvmfs_buf_printf(b, "{pid=\"%d\",comm=\"", (int)p->pid);
	put_label(b, p->snap.comm);
	gpuvmfs_buf_printf(b, "\",uid=\"%u\"", (unsigned int)p->uid);
	if (dev >= 0)
		gpuvmfs_buf_printf(b, ",device=\"%d\"", dev);
}

static void metric_head(struct gpuvmfs_buf *b, const char *name, const char *suffix,
			const char *type, const char *help)
{
	gpuvmfs_buf_printf(b, "# HELP gpuvm_%s%s %s\n# TYPE gpuvm_%s%s %s\n", name, suffix, help,
			   name, suffix, type);
}

/* Every device of every process whose segment validates. */
#define for_each_metrics_device(p, nr, k, d)				\
	for ((k) = 0; (k) < (nr); (k)++)				\
		for ((d) = 0; (d) < GPUVM_SEG_MAX_DEVICES; (d)++)	\
			if (!(p)[k].err && (p)[k].snap.dev[d])

/*
 * gpuvm_driver_<what>_total, one sample per device and call: the calls
 * (driver_calls), or with @seconds the time in them (driver_ns, 9 decimals).
 */
static void metric_driver(struct gpuvmfs_buf *b, const struct gpuvmfs_metrics_proc *p,
			  size_t nr, const char *what, const char *help, bool seconds)
{
	char family[32];
	unsigned int d, c;
	size_t k;

	snprintf(family, sizeof(family), "driver_%s", what);
	metric_head(b, family, "_total", "counter", help);
	for_each_metrics_device(p, nr, k, d) {
		const struct gpuvm_seg_stats *st = &p[k].snap.dev[d]->blk.stats;

		for (c = 0; c < GPUVM_DRV_NR && c < 16; c++) {
			const char *name = gpuvm_driver_call_name(c);

			if (!name)
				continue;
			gpuvmfs_buf_printf(b, "gpuvm_%s_total", family);
			metric_labels(b, &p[k], d);
			if (seconds)
				gpuvmfs_buf_printf(b, ",call=\"%s\"} %" PRIu64 ".%09" PRIu64 "\n",
						   name, st->driver_ns[c] / 1000000000u,
						   st->driver_ns[c] % 1000000000u);
			else
				gpuvmfs_buf_printf(b, ",call=\"%s\"} %" PRIu64 "\n", name,
						   st->driver_calls[c]);
		}
	}
}

/**
 * gpuvmfs_render_metrics - /gpuvm/metrics in the Prometheus text format
 * @b: output
 * @p: every shown process with its snapshot (header and devices)
 * @nr: how many
 *
 * Format 0.0.4, by Prometheus's naming: gauges of bytes end in _bytes,
 * counters in _total (of bytes, _bytes_total), fractions in _ratio; every
 * family has its # HELP and # TYPE, and its samples are grouped, as the
 * format requires.  Samples are labelled pid, comm, uid and device.
 */
void gpuvmfs_render_metrics(struct gpuvmfs_buf *b, const struct gpuvmfs_metrics_proc *p,
			    size_t nr)
{
	unsigned int i, d;
	size_t k;

	metric_head(b, "processes", "", "gauge", "Processes publishing gpuvm state.");
	gpuvmfs_buf_printf(b, "gpuvm_processes %zu\n", nr);
	metric_head(b, "segment_ok", "", "gauge",
		    "Whether the process's state segment validates (1) or not (0).");
	for (k = 0; k < nr; k++) {
		gpuvmfs_buf_printf(b, "gpuvm_segment_ok");
		metric_labels(b, &p[k], -1);
		gpuvmfs_buf_printf(b, "} %d\n", !p[k].err);
	}
	for (i = 0; i < NR_STATS; i++) {
		const struct stat_kind_info *kind = &stat_kinds[stat_fields[i].kind];

		metric_head(b, stat_fields[i].name, kind->suffix, kind->type, stat_fields[i].help);
		for_each_metrics_device(p, nr, k, d) {
			gpuvmfs_buf_printf(b, "gpuvm_%s%s", stat_fields[i].name, kind->suffix);
			metric_labels(b, &p[k], d);
			gpuvmfs_buf_printf(b, "} %" PRIu64 "\n",
					   stat_at(&p[k].snap.dev[d]->blk.stats, i));
		}
	}
	for (i = 0; i < NR_FRAGS; i++) {
		metric_head(b, frag_fields[i].name, "_ratio", "gauge", frag_fields[i].help);
		for_each_metrics_device(p, nr, k, d) {
			gpuvmfs_buf_printf(b, "gpuvm_%s_ratio", frag_fields[i].name);
			metric_labels(b, &p[k], d);
			gpuvmfs_buf_printf(b, "} %.4f\n",
					   frag_at(&p[k].snap.dev[d]->blk.stats, i));
		}
	}
	metric_driver(b, p, nr, "calls", "CUDA driver calls, by name.", false);
	metric_driver(b, p, nr, "seconds", "Time spent in CUDA driver calls, by name.", true);
}
