// SPDX-License-Identifier: MIT
/*
 * test_fusefs_segment - the segment reader against hostile segments: every
 * field the validator checks, corrupted one at a time, must be refused
 * with the expected error (never a crash, never a read outside the
 * buffer); forward-compatible growth must be accepted; strings must come
 * out printable, and escaped in metrics labels; a file truncated under
 * the reader must give -EIO; the control writer must refuse foreign,
 * malformed and silent control files.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvmfs/gpuvmfs.h>
#include "segbuild.h"

static int failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			failures++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fprintf(stderr, "\n");				\
		}							\
	} while (0)

static struct segbuild params;
static size_t seg_size;

static unsigned char *fresh(void)
{
	unsigned char *buf = calloc(1, seg_size);

	if (!buf)
		exit(1);
	segbuild_fill(&params, buf);
	return buf;
}

static struct gpuvm_seg_header *hdr(unsigned char *buf)
{
	return (void *)buf;
}

static struct gpuvm_seg_device *dev0(unsigned char *buf)
{
	return (void *)(buf + segbuild_device_offset(&params, 0));
}

/* Snapshot @buf, render every file from it, return the snapshot's result. */
static int take(unsigned char *buf, size_t size, const char **why)
{
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	struct gpuvmfs_buf b = { 0 };
	int err, adev;

	gpuvm_segment_from_memory(&seg, buf, size, params.pid, params.uid);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT | GPUVM_SNAP_ALLOCS, &snap);
	*why = snap.error;
	gpuvmfs_render_status(&b, &snap, err, -1);
	if (!err) {
		const struct gpuvm_seg_alloc *a;

		gpuvmfs_render_maps(&b, &snap, -1);
		gpuvmfs_render_pagetable(&b, &snap, -1);
		a = gpuvmfs_find_alloc(&snap, -1, 1, false, &adev);
		if (a) {
			gpuvmfs_render_alloc_info(&b, snap.dev[adev], a);
			gpuvmfs_render_alloc_mappings(&b, snap.dev[adev], a);
		}
	}
	gpuvmfs_buf_free(&b);
	gpuvm_snapshot_release(&snap);
	return err;
}

struct corruption {
	const char *what;
	void (*apply)(unsigned char *buf);
	int err;
};

#define C(name, body, e)						\
	static void corrupt_##name(unsigned char *buf) { body; }
#define H	(hdr(buf))
#define D	(dev0(buf))

C(magic, H->magic ^= 1, -EBADMSG)
C(version, H->version_major = 2, -EBADMSG)
C(header_small, H->header_size = 8, -EBADMSG)
C(header_huge, H->header_size = 0xffffffff, -EBADMSG)
C(device_size_small, H->device_size = 4, -EBADMSG)
C(device_size_huge, H->device_size = 1u << 30, -EBADMSG)
C(pte_size_zero, H->pte_size = 0, -EBADMSG)
C(alloc_size_zero, H->alloc_size = 0, -EBADMSG)
C(segment_size_big, H->segment_size = seg_size + 1, -EBADMSG)
C(segment_size_huge, H->segment_size = ~0ull, -EBADMSG)
C(segment_size_tiny, H->segment_size = 16, -EBADMSG)
C(pid, H->pid = params.pid + 1, -EBADMSG)
C(uid, H->uid = params.uid + 1, -EBADMSG)
C(nr_devices, H->nr_devices = 17, -EBADMSG)
C(device_offset_past, H->device_offset[0] = seg_size, -EBADMSG)
C(device_offset_in_header, H->device_offset[0] = 8, -EBADMSG)
C(device_offset_tail, H->device_offset[0] = seg_size - 10, -EBADMSG)
C(device_offset_wrap, H->device_offset[0] = ~0ull - 100, -EBADMSG)
C(device_offset_other, H->device_offset[5] = ~0ull, -EBADMSG)
C(header_seq_odd, H->seq = 1, -EBUSY)
C(device_seq_odd, D->seq = 3, -EBUSY)
C(ordinal, D->ordinal = 1, -EBADMSG)
C(ordinal_negative, D->ordinal = -1, -EBADMSG)
C(granularity_zero, D->granularity = 0, -EBADMSG)
C(granularity_odd, D->granularity = 3 << 20, -EBADMSG)
C(arena_wrap, D->arena_base = ~0ull - 4096, -EBADMSG)
C(pt_entries_arena, D->pt_entries = params.pt_entries + 1, -EBADMSG)
C(pt_entries_huge, (D->pt_entries = 0xffffffff, D->arena_size = ~0ull >> 1), -EBADMSG)
C(pt_offset_past, D->pt_offset = seg_size, -EBADMSG)
C(pt_offset_wrap, D->pt_offset = ~0ull - 8, -EBADMSG)
C(alloc_capacity_huge, D->alloc_capacity = 0xffffffff, -EBADMSG)
C(alloc_offset_wrap, D->alloc_offset = ~0ull - 63, -EBADMSG)
C(nr_knobs, D->nr_knobs = GPUVM_SEG_MAX_KNOBS + 1, -EBADMSG)
C(knob_slash, (D->nr_knobs = 1, strcpy(D->knobs[0].name, "../x")), -EBADMSG)
C(knob_empty, (D->nr_knobs = 1, D->knobs[0].name[0] = 0), -EBADMSG)
C(knob_upper, (D->nr_knobs = 1, strcpy(D->knobs[0].name, "Limit")), -EBADMSG)
C(knob_unterminated, (D->nr_knobs = 1, memset(D->knobs[0].name, 'a', GPUVM_SEG_KNOB_NAME)),
  -EBADMSG)
/* Odd values that are only shown, never trusted: accepted. */
C(pte_state, ((struct gpuvm_seg_pte *)(buf + D->pt_offset))[0].state = 200, 0)
C(alloc_wrap, ((struct gpuvm_seg_alloc *)(buf + D->alloc_offset))[0].size = ~0ull, 0)
C(alloc_outside, ((struct gpuvm_seg_alloc *)(buf + D->alloc_offset))[0].base = 1, 0)
C(alloc_huge_span, ((struct gpuvm_seg_alloc *)(buf + D->alloc_offset))[0].max_size = ~0ull >> 20,
  0)
C(stats_odd, (D->stats.requested = ~0ull, D->stats.mapped = 1), 0)
C(ctl_error_odd, H->ctl_error = 12345, 0)
C(flags_unknown, H->flags = ~0u, 0)
C(comm_unterminated, memset(H->comm, 0x1b, sizeof(H->comm)), 0)
C(minor_newer, H->version_minor = 7, 0)

#define E(name, e)	{ #name, corrupt_##name, e }

static const struct corruption corruptions[] = {
	E(magic, -EBADMSG), E(version, -EBADMSG), E(header_small, -EBADMSG),
	E(header_huge, -EBADMSG), E(device_size_small, -EBADMSG),
	E(device_size_huge, -EBADMSG), E(pte_size_zero, -EBADMSG),
	E(alloc_size_zero, -EBADMSG), E(segment_size_big, -EBADMSG),
	E(segment_size_huge, -EBADMSG), E(segment_size_tiny, -EBADMSG), E(pid, -EBADMSG),
	E(uid, -EBADMSG), E(nr_devices, -EBADMSG), E(device_offset_past, -EBADMSG),
	E(device_offset_in_header, -EBADMSG), E(device_offset_tail, -EBADMSG),
	E(device_offset_wrap, -EBADMSG), E(device_offset_other, -EBADMSG),
	E(header_seq_odd, -EBUSY), E(device_seq_odd, -EBUSY), E(ordinal, -EBADMSG),
	E(ordinal_negative, -EBADMSG), E(granularity_zero, -EBADMSG),
	E(granularity_odd, -EBADMSG), E(arena_wrap, -EBADMSG), E(pt_entries_arena, -EBADMSG),
	E(pt_entries_huge, -EBADMSG), E(pt_offset_past, -EBADMSG),
	E(pt_offset_wrap, -EBADMSG), E(alloc_capacity_huge, -EBADMSG),
	E(alloc_offset_wrap, -EBADMSG), E(nr_knobs, -EBADMSG), E(knob_slash, -EBADMSG),
	E(knob_empty, -EBADMSG), E(knob_upper, -EBADMSG), E(knob_unterminated, -EBADMSG),
	E(pte_state, 0), E(alloc_wrap, 0), E(alloc_outside, 0), E(alloc_huge_span, 0),
	E(stats_odd, 0), E(ctl_error_odd, 0), E(flags_unknown, 0), E(comm_unterminated, 0),
	E(minor_newer, 0),
};

static void test_corruptions(void)
{
	size_t i;

	for (i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		unsigned char *buf = fresh();
		const char *why = NULL;
		int err;

		corruptions[i].apply(buf);
		err = take(buf, seg_size, &why);
		CHECK(err == corruptions[i].err, "%s: got %d (%s), want %d", corruptions[i].what,
		      err, why ? why : "-", corruptions[i].err);
		CHECK(!err || why, "%s: no reason given", corruptions[i].what);
		free(buf);
	}
}

/* Every prefix of a valid segment: refused cleanly, never read past. */
static void test_truncated_buffers(void)
{
	unsigned char *buf = fresh();
	const char *why;
	size_t len;

	for (len = 0; len < seg_size; len += len < 512 ? 1 : 61) {
		/* a copy of exactly len bytes so ASan sees any overread */
		unsigned char *cut = malloc(len ? len : 1);

		memcpy(cut, buf, len);
		CHECK(take(cut, len, &why) != 0, "prefix of %zu bytes accepted", len);
		free(cut);
	}
	free(buf);
}

/* Strings come out printable and bounded. */
static void test_strings(void)
{
	unsigned char *buf = fresh();
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	size_t i;

	memset(hdr(buf)->comm, '\n', sizeof(hdr(buf)->comm));
	memcpy(hdr(buf)->driver, "a\x1b[2Jb", 7);
	gpuvm_segment_from_memory(&seg, buf, seg_size, params.pid, params.uid);
	CHECK(!gpuvm_snapshot_take(&seg, 0, &snap), "snapshot with odd strings");
	CHECK(strlen(snap.comm) == GPUVM_SEG_COMM, "comm length %zu", strlen(snap.comm));
	for (i = 0; snap.comm[i]; i++)
		CHECK(snap.comm[i] == '?', "comm byte %zu is %#x", i, snap.comm[i]);
	CHECK(!strcmp(snap.driver, "a?[2Jb"), "driver '%s'", snap.driver);
	gpuvm_snapshot_release(&snap);
	free(buf);
}

/* Whether every line of a metrics text is a comment or one whole sample. */
static bool metrics_lines_whole(const char *text)
{
	const char *line = text, *nl;

	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			return false;
		if (strncmp(line, "# HELP gpuvm_", 13) && strncmp(line, "# TYPE gpuvm_", 13) &&
		    strncmp(line, "gpuvm_", 6))
			return false;
	}
	return true;
}

/* A hostile program name cannot break a metrics line: labels are escaped. */
static void test_metrics_labels(void)
{
	unsigned char *buf = fresh();
	struct gpuvmfs_metrics_proc mp = { .pid = params.pid, .uid = 1000 };
	struct gpuvmfs_buf b = { 0 };
	struct gpuvm_segment seg;
	char want[128];

	memcpy(hdr(buf)->comm, "a\"b\\c", 6);
	gpuvm_segment_from_memory(&seg, buf, seg_size, params.pid, params.uid);
	mp.err = gpuvm_snapshot_take(&seg, 0, &mp.snap);
	CHECK(!mp.err, "snapshot: %s", strerror(-mp.err));
	gpuvmfs_render_metrics(&b, &mp, 1);
	snprintf(want, sizeof(want), "\ngpuvm_mapped_bytes{pid=\"%d\",comm=\"a\\\"b\\\\c\","
		 "uid=\"1000\",device=\"0\"} ", (int)params.pid);
	CHECK(b.data && strstr(b.data, want), "no '%s' in the metrics", want + 1);
	CHECK(b.data && metrics_lines_whole(b.data), "a metrics line broken by the comm");
	gpuvmfs_buf_free(&b);

	/* the reader makes comm printable; the renderer escapes a newline anyway */
	strcpy(mp.snap.comm, "x\ny");
	gpuvmfs_render_metrics(&b, &mp, 1);
	CHECK(b.data && strstr(b.data, ",comm=\"x\\ny\","), "newline in comm not escaped");
	CHECK(b.data && metrics_lines_whole(b.data), "a metrics line broken by a newline");
	gpuvmfs_buf_free(&b);

	/* a refused segment: its segment_ok is 0, and it has no other sample */
	mp.err = -EINVAL;
	gpuvmfs_render_metrics(&b, &mp, 1);
	snprintf(want, sizeof(want), "\ngpuvm_segment_ok{pid=\"%d\",comm=\"x\\ny\",uid=\"1000\"} 0\n",
		 (int)params.pid);
	CHECK(b.data && strstr(b.data, want), "no '%s' in the metrics", want + 1);
	CHECK(b.data && !strstr(b.data, "\ngpuvm_mapped_bytes{"), "samples of a refused segment");
	gpuvmfs_buf_free(&b);
	gpuvm_snapshot_release(&mp.snap);
	free(buf);
}

/* A newer minor version with bigger records: stepped over, still read. */
static void test_bigger_records(void)
{
	struct segbuild p = params;
	unsigned char *buf;
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	struct gpuvm_seg_device *d;
	int err;

	/* same bytes, read as half as many 32-byte entries */
	p.pt_entries = 64;
	p.pt_used = 0;
	p.nr_allocs = 0;
	buf = calloc(1, segbuild_size(&p));
	segbuild_fill(&p, buf);
	hdr(buf)->pte_size = 32;
	d = (void *)(buf + segbuild_device_offset(&p, 0));
	d->pt_entries = 32;
	((struct gpuvm_seg_pte *)(buf + d->pt_offset))[2].state = GPUVM_PTE_MAPPED;
	gpuvm_segment_from_memory(&seg, buf, segbuild_size(&p), p.pid, p.uid);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT, &snap);
	CHECK(!err, "pte_size 32 refused: %s", snap.error);
	if (!err)
		CHECK(snap.dev[0]->pt[1].state == GPUVM_PTE_MAPPED, "record stride ignored");
	gpuvm_snapshot_release(&snap);
	free(buf);
}

/*
 * A 1.0 writer's device block ends before driver_ns: accepted, and what it
 * did not have reads as zero (not the bytes after it, nor stale ones);
 * anything shorter is refused.  The status then shows zero times.
 */
static void test_older_device_block(void)
{
	unsigned char *buf = fresh();
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	struct gpuvmfs_buf b = { 0 };
	int err;

	hdr(buf)->version_minor = 0;
	hdr(buf)->device_size = GPUVM_SEG_DEVICE_SIZE_1_0;
	dev0(buf)->stats.driver_calls[GPUVM_DRV_MEM_MAP] = 7;
	dev0(buf)->stats.driver_ns[GPUVM_DRV_MEM_MAP] = 12345;	/* not the 1.0 block's */
	gpuvm_segment_from_memory(&seg, buf, seg_size, params.pid, params.uid);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT, &snap);
	CHECK(!err, "a 1.0 device block refused: %s", snap.error);
	if (!err) {
		CHECK(snap.dev[0]->blk.stats.driver_calls[GPUVM_DRV_MEM_MAP] == 7,
		      "1.0 field lost");
		CHECK(snap.dev[0]->blk.stats.driver_ns[GPUVM_DRV_MEM_MAP] == 0,
		      "driver_ns read past a 1.0 block: %" PRIu64,
		      snap.dev[0]->blk.stats.driver_ns[GPUVM_DRV_MEM_MAP]);
		gpuvmfs_render_status(&b, &snap, err, 0);
		CHECK(b.data && strstr(b.data, "\ndriver_cuMemMap: 7\n") &&
		      strstr(b.data, "\ndriver_ns_cuMemMap: 0\n"), "status of a 1.0 block");
		gpuvmfs_buf_free(&b);
	}
	gpuvm_snapshot_release(&snap);
	hdr(buf)->device_size = GPUVM_SEG_DEVICE_SIZE_1_0 - 8;
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT, &snap);
	CHECK(err == -EBADMSG, "a device block shorter than 1.0's: %d", err);
	gpuvm_snapshot_release(&snap);
	/* a 1.1 block shows its times */
	hdr(buf)->version_minor = 1;
	hdr(buf)->device_size = sizeof(struct gpuvm_seg_device);
	err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT, &snap);
	CHECK(!err && snap.dev[0]->blk.stats.driver_ns[GPUVM_DRV_MEM_MAP] == 12345,
	      "driver_ns of a 1.1 block: %d", err);
	gpuvm_snapshot_release(&snap);
	free(buf);
}

/* A real file: shrunk after open, the reader gets -EIO, not SIGBUS. */
static void test_file(const char *dir)
{
	char path[256];
	struct gpuvm_segment seg;
	struct gpuvm_snapshot snap;
	unsigned char *buf = fresh();
	int fd, err;

	snprintf(path, sizeof(path), "%s/%d.state", dir, (int)params.pid);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, buf, seg_size) == (ssize_t)seg_size, "write %s", path);
	err = gpuvm_segment_open(dir, params.pid, &seg);
	CHECK(!err, "open: %d", err);
	if (!err) {
		CHECK(!gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT | GPUVM_SNAP_ALLOCS, &snap),
		      "file snapshot: %s", snap.error);
		gpuvm_snapshot_release(&snap);
		CHECK(ftruncate(fd, seg_size / 2) == 0, "truncate");
		err = gpuvm_snapshot_take(&seg, GPUVM_SNAP_PT | GPUVM_SNAP_ALLOCS, &snap);
		CHECK(err == -EIO, "truncated file: %d (%s)", err, snap.error);
		gpuvm_snapshot_release(&snap);
		gpuvm_segment_close(&seg);
	}
	close(fd);
	unlink(path);

	/* not a regular file */
	CHECK(mkfifo(path, 0600) == 0, "mkfifo");
	CHECK(gpuvm_segment_open(dir, params.pid, &seg) == -EINVAL, "fifo accepted");
	unlink(path);
	CHECK(symlink("/etc/passwd", path) == 0, "symlink");
	CHECK(gpuvm_segment_open(dir, params.pid, &seg) == -EINVAL, "symlink accepted");
	unlink(path);
	free(buf);
}

/* The control writer refuses what it must, and times out on silence. */
static void test_control(const char *dir)
{
	char spath[256], cpath[256];
	struct gpuvm_ctl_header ctl;
	struct gpuvm_segment seg;
	unsigned char *buf = fresh();
	int fd, err;

	snprintf(spath, sizeof(spath), "%s/%d.state", dir, (int)params.pid);
	snprintf(cpath, sizeof(cpath), "%s/%d.ctl", dir, (int)params.pid);
	fd = open(spath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, buf, seg_size) == (ssize_t)seg_size, "write state");
	close(fd);
	CHECK(!gpuvm_segment_open(dir, params.pid, &seg), "open state");

	err = gpuvm_ctl_request(dir, &seg, -1, "limit", 1, 100);
	CHECK(err == -ENOENT, "no ctl file: %d", err);

	segbuild_ctl_fill(&ctl);
	ctl.magic = 0;
	fd = open(cpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, &ctl, sizeof(ctl)) == sizeof(ctl), "write ctl");
	err = gpuvm_ctl_request(dir, &seg, -1, "limit", 1, 100);
	CHECK(err == -EPROTO, "bad ctl magic: %d", err);

	segbuild_ctl_fill(&ctl);
	CHECK(pwrite(fd, &ctl, sizeof(ctl), 0) == sizeof(ctl), "rewrite ctl");
	err = gpuvm_ctl_request(dir, &seg, -1, "limit", 1, 100);
	CHECK(err == -ETIMEDOUT, "nobody applies: %d", err);
	CHECK(pread(fd, &ctl, sizeof(ctl), 0) == sizeof(ctl) && ctl.generation == 1 &&
	      ctl.requests[1].generation == 1 && !strcmp(ctl.requests[1].name, "limit") &&
	      ctl.requests[1].value == 1 && ctl.requests[1].device == -1,
	      "request not in the ring");

	err = gpuvm_ctl_request(dir, &seg, -1, "a_name_longer_than_thirty_two_bytes", 1, 100);
	CHECK(err == -EINVAL, "long name: %d", err);

	if (geteuid() == 0) {
		CHECK(fchown(fd, 65534, 65534) == 0, "chown");
		err = gpuvm_ctl_request(dir, &seg, -1, "limit", 1, 100);
		CHECK(err == -EPROTO, "foreign ctl file: %d", err);
	}
	CHECK(ftruncate(fd, 10) == 0, "truncate ctl");
	err = gpuvm_ctl_request(dir, &seg, -1, "limit", 1, 100);
	CHECK(err == -EPROTO, "short ctl file: %d", err);
	close(fd);
	gpuvm_segment_close(&seg);
	unlink(spath);
	unlink(cpath);
	free(buf);
}

/* Inode numbers round-trip; malformed ones are refused. */
static void test_inodes(void)
{
	struct gpuvmfs_node n = { GFS_ALLOC_INFO, 4194303, 15, 0xffffffffu }, m;
	uint64_t ino = gpuvmfs_node_ino(&n);

	CHECK(!gpuvmfs_ino_node(ino, &m) && m.kind == n.kind && m.pid == n.pid &&
	      m.dev == n.dev && m.arg == n.arg, "round trip");
	CHECK(gpuvmfs_ino_node(0, &m) == -ENOENT, "ino 0");
	CHECK(gpuvmfs_ino_node(~0ull, &m) == -ENOENT, "ino ~0");
	n = (struct gpuvmfs_node){ GFS_STATUS, 0, -1, 0 };
	CHECK(gpuvmfs_ino_node(gpuvmfs_node_ino(&n), &m) == -ENOENT, "status without pid");
	n = (struct gpuvmfs_node){ GFS_VERSION, 0, -1, 0 };
	CHECK(!gpuvmfs_ino_node(gpuvmfs_node_ino(&n), &m) && m.kind == GFS_VERSION, "version");
	CHECK(gpuvmfs_ino_node(gpuvmfs_node_ino(&n) | 5, &m) == -ENOENT, "version with arg");
}

static void test_parse_pid(void)
{
	pid_t pid;

	CHECK(!gpuvm_parse_pid("123", 3, &pid) && pid == 123, "123");
	CHECK(gpuvm_parse_pid("0123", 4, &pid), "leading zero");
	CHECK(gpuvm_parse_pid("", 0, &pid), "empty");
	CHECK(gpuvm_parse_pid("-1", 2, &pid), "negative");
	CHECK(gpuvm_parse_pid("4194304", 7, &pid), "past PID_MAX_LIMIT");
	CHECK(gpuvm_parse_pid("99999999", 8, &pid), "long");
	CHECK(gpuvm_parse_pid("12a", 3, &pid), "garbage");
}

static void test_seg_file_name(void)
{
	pid_t pid = 0;

	CHECK(gpuvm_seg_file_name("123.state", &pid) == GPUVM_SEG_FILE_STATE && pid == 123,
	      "123.state");
	CHECK(gpuvm_seg_file_name("123.ctl", &pid) == GPUVM_SEG_FILE_CTL && pid == 123, "123.ctl");
	/* a pid that cannot exist is still a leftover of ours */
	CHECK(gpuvm_seg_file_name("999999999.ctl", &pid) == GPUVM_SEG_FILE_CTL &&
	      pid == 999999999, "999999999.ctl");
	CHECK(!gpuvm_seg_file_name("2147483648.state", &pid), "past INT_MAX");
	CHECK(!gpuvm_seg_file_name("0123.state", &pid), "leading zero");
	CHECK(!gpuvm_seg_file_name(".state", &pid), "no pid");
	CHECK(!gpuvm_seg_file_name("12.state.tmp", &pid), "another suffix");
	CHECK(!gpuvm_seg_file_name("12", &pid), "no suffix");
	CHECK(!gpuvm_seg_file_name("defaults", &pid), "defaults");
	CHECK(!gpuvm_seg_file_name("-1.state", &pid), "negative");
}

static void test_seg_layout(void)
{
	struct gpuvm_seg_layout l;

	CHECK(!gpuvm_seg_layout_device(4097, 3, 5, 4096, &l), "layout");
	CHECK(l.device_offset == 8192 && l.pt_offset == 12288 && l.alloc_offset == 16384 &&
	      l.end == 20480, "page layout: %llu %llu %llu %llu",
	      (unsigned long long)l.device_offset, (unsigned long long)l.pt_offset,
	      (unsigned long long)l.alloc_offset, (unsigned long long)l.end);
	CHECK(!gpuvm_seg_layout_device(0, 0, 0, 64, &l) && l.pt_offset == l.alloc_offset &&
	      l.end == l.pt_offset && l.pt_offset >= sizeof(struct gpuvm_seg_device),
	      "empty tables");
	CHECK(gpuvm_seg_layout_device(0, 1, 1, 48, &l) == -EINVAL, "align not a power of 2");
	CHECK(gpuvm_seg_layout_device(0, 1, 1, 4, &l) == -EINVAL, "align below 8");
	CHECK(gpuvm_seg_layout_device(UINT64_MAX - 100, 1, 1, 64, &l) == -EOVERFLOW,
	      "offset overflow");
	CHECK(gpuvm_seg_layout_device(UINT64_MAX - (1ull << 30), UINT32_MAX, UINT32_MAX, 64,
				      &l) == -EOVERFLOW, "tables overflow");
}

struct ring_seen {
	unsigned int calls;
	uint64_t last_value;
	bool unterminated;
};

static int ring_apply(const struct gpuvm_ctl_request *req, void *arg)
{
	struct ring_seen *seen = arg;

	seen->calls++;
	seen->last_value = req->value;
	seen->unterminated |= req->name[sizeof(req->name) - 1] != '\0';
	return req->value == 13 ? -EINVAL : 0;
}

/* The ring's consumer: in order, lost requests, stale slots, hostile names. */
static void test_ctl_ring(void)
{
	struct gpuvm_ctl_header *ctl = calloc(1, sizeof(*ctl));
	struct ring_seen seen = { 0 };
	uint32_t applied = 0, g;
	int err;

	if (!ctl)
		return;
	gpuvm_ctl_header_init(ctl);
	CHECK(!gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen) && !seen.calls,
	      "an empty ring applied something");
	CHECK(gpuvm_ctl_post(ctl, 0, "limit", 5) == 1 && gpuvm_ctl_post(ctl, -1, "limit", 6) == 2,
	      "generations");
	err = gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen);
	CHECK(!err && applied == 2 && seen.calls == 2 && seen.last_value == 6,
	      "two requests: %d, applied %u, %u calls", err, applied, seen.calls);

	/* more than the ring holds: the oldest are lost, and said so */
	memset(&seen, 0, sizeof(seen));
	for (g = 0; g < GPUVM_CTL_MAX_REQUESTS + 6; g++)
		gpuvm_ctl_post(ctl, 0, "limit", 100 + g);
	err = gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen);
	CHECK(err == -EOVERFLOW && seen.calls == GPUVM_CTL_MAX_REQUESTS &&
	      seen.last_value == 100 + GPUVM_CTL_MAX_REQUESTS + 5 &&
	      applied == gpuvm_ctl_generation(ctl), "overflow: %d, %u calls", err, seen.calls);

	/* an apply error is the answer; a slot of another generation is stale */
	memset(&seen, 0, sizeof(seen));
	gpuvm_ctl_post(ctl, 0, "limit", 13);
	g = gpuvm_ctl_post(ctl, 0, "limit", 14);
	ctl->requests[g % GPUVM_CTL_MAX_REQUESTS].generation = g - GPUVM_CTL_MAX_REQUESTS;
	err = gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen);
	CHECK(err == -ESTALE && seen.calls == 1, "stale slot: %d, %u calls", err, seen.calls);
	gpuvm_ctl_post(ctl, 0, "limit", 13);
	err = gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen);
	CHECK(err == -EINVAL, "apply error: %d", err);

	/* a name with no NUL reaches apply terminated */
	memset(&seen, 0, sizeof(seen));
	g = gpuvm_ctl_post(ctl, 0, "limit", 1);
	memset(ctl->requests[g % GPUVM_CTL_MAX_REQUESTS].name, 'a', GPUVM_SEG_KNOB_NAME);
	err = gpuvm_ctl_consume(ctl, &applied, ring_apply, &seen);
	CHECK(!err && seen.calls == 1 && !seen.unterminated, "unterminated name");
	free(ctl);
}

int main(void)
{
	char dir[] = "/tmp/gpuvmfs-test.XXXXXX";

	segbuild_defaults(&params);
	params.nr_knobs = 1;
	params.knob_names[0] = "limit";
	seg_size = segbuild_size(&params);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_corruptions();
	test_truncated_buffers();
	test_strings();
	test_metrics_labels();
	test_bigger_records();
	test_older_device_block();
	test_file(dir);
	test_control(dir);
	test_inodes();
	test_parse_pid();
	test_seg_file_name();
	test_seg_layout();
	test_ctl_ring();
	rmdir(dir);
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
