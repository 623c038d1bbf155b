// SPDX-License-Identifier: MIT
/*
 * seg_write.c - what a writer of a state or control segment must get
 * right, once: the header's identification, where a device's block and
 * tables go, a string in a fixed field, and the header's many-writer
 * seqcount.  The library (vmm/publish.c) and the test fixtures both write
 * through these, so a fixture cannot build what the library never would.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <gpuvm/segment.h>

/**
 * gpuvm_seq_write_lock - begin a write of a seqcount that has writers on
 * several threads
 * @seq: the count; even when no one writes
 *
 * Spins (yielding) while another writer holds it: a write is a few
 * stores long.  End the write with gpuvm_seq_write_end().
 */
void gpuvm_seq_write_lock(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	for (;;) {
		if (!(s & 1) && __atomic_compare_exchange_n(seq, &s, s + 1, false,
							    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (s & 1) {
			sched_yield();
			s = __atomic_load_n(seq, __ATOMIC_RELAXED);
		}
	}
	gpuvm_seq_fence_release();
}

static int align_up(uint64_t x, uint64_t align, uint64_t *out)
{
	if (__builtin_add_overflow(x, align - 1, out))
		return -EOVERFLOW;
	*out &= ~(align - 1);
	return 0;
}

/* *@off += @count records of @size bytes, aligned up; 0 or -EOVERFLOW. */
static int layout_add(uint64_t *off, uint64_t count, uint64_t size, uint64_t align)
{
	uint64_t bytes;

	if (__builtin_mul_overflow(count, size, &bytes) ||
	    __builtin_add_overflow(*off, bytes, off))
		return -EOVERFLOW;
	return align_up(*off, align, off);
}

/**
 * gpuvm_seg_layout_device - where a device's block, page table and
 * allocation table go
 * @off: the first free byte of the segment
 * @pt_entries: page-table entries
 * @alloc_capacity: allocation-table slots
 * @align: alignment of each part, a power of two of at least 8 (the
 *	   library uses the page size, so that each part is its own pages)
 * @l: receives the offsets, all from the file start
 * Return: 0, -EINVAL for a bad @align, or -EOVERFLOW.
 */
int gpuvm_seg_layout_device(uint64_t off, uint32_t pt_entries, uint32_t alloc_capacity,
			    uint64_t align, struct gpuvm_seg_layout *l)
{
	if (align < 8 || (align & (align - 1)))
		return -EINVAL;
	if (align_up(off, align, &off))
		return -EOVERFLOW;
	l->device_offset = off;
	if (layout_add(&off, 1, sizeof(struct gpuvm_seg_device), align))
		return -EOVERFLOW;
	l->pt_offset = off;
	if (layout_add(&off, pt_entries, sizeof(struct gpuvm_seg_pte), align))
		return -EOVERFLOW;
	l->alloc_offset = off;
	if (layout_add(&off, alloc_capacity, sizeof(struct gpuvm_seg_alloc), align))
		return -EOVERFLOW;
	l->end = off;
	return 0;
}

/**
 * gpuvm_seg_set_string - store @src in a fixed, NUL-padded field
 * @field: the field
 * @size: its size; the text is cut to @size - 1 bytes, always terminated
 * @src: the text
 */
void gpuvm_seg_set_string(char *field, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memset(field, 0, size);
	memcpy(field, src, n);
}

/**
 * gpuvm_seg_header_init - the identification of a new state segment
 * @h: the header, zeroed
 * @pid: the writer
 * @uid: its effective uid (readers check it against the file's owner)
 * @comm: its program name
 * @segment_size: bytes of the file in use
 *
 * Sets magic, version, the record sizes, the writer's identity (its start
 * time read now) and @comm; the writer adds the rest (driver, flags,
 * devices).
 */
void gpuvm_seg_header_init(struct gpuvm_seg_header *h, pid_t pid, uid_t uid,
			   const char *comm, uint64_t segment_size)
{
	h->magic = GPUVM_STATE_MAGIC;
	h->version_major = GPUVM_SEG_VERSION_MAJOR;
	h->version_minor = GPUVM_SEG_VERSION_MINOR;
	h->header_size = sizeof(struct gpuvm_seg_header);
	h->device_size = sizeof(struct gpuvm_seg_device);
	h->pte_size = sizeof(struct gpuvm_seg_pte);
	h->alloc_size = sizeof(struct gpuvm_seg_alloc);
	h->segment_size = segment_size;
	h->pid = pid;
	h->uid = uid;
	h->start_time = pid > 0 ? gpuvm_proc_start_time(pid) : 0;
	gpuvm_seg_set_string(h->comm, sizeof(h->comm), comm ? comm : "");
}

/**
 * gpuvm_seg_device_init - a device block's place and table sizes
 * @d: the block
 * @ordinal: the device
 * @l: from gpuvm_seg_layout_device()
 * @pt_entries: as given to it
 * @alloc_capacity: as given to it
 *
 * Call before the device's offset is published in the header.
 */
void gpuvm_seg_device_init(struct gpuvm_seg_device *d, int ordinal,
			   const struct gpuvm_seg_layout *l, uint32_t pt_entries,
			   uint32_t alloc_capacity)
{
	d->ordinal = ordinal;
	d->pt_offset = l->pt_offset;
	d->pt_entries = pt_entries;
	d->alloc_offset = l->alloc_offset;
	d->alloc_capacity = alloc_capacity;
}

/** gpuvm_ctl_header_init - an empty control segment (@ctl zeroed) */
void gpuvm_ctl_header_init(struct gpuvm_ctl_header *ctl)
{
	ctl->magic = GPUVM_CTL_MAGIC;
	ctl->version_major = GPUVM_SEG_VERSION_MAJOR;
	ctl->version_minor = GPUVM_SEG_VERSION_MINOR;
	ctl->header_size = sizeof(struct gpuvm_ctl_header);
}
