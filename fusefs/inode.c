// SPDX-License-Identifier: MIT
/*
 * inode.c - inode numbers that say what they name.
 *
 * The daemon keeps no inode table: every inode number encodes the file's
 * kind, its process, its device and one argument (a knob's index in the
 * schema or an allocation id), so lookup, getattr, open and readdir are
 * stateless and survive a daemon restart unchanged:
 *
 *   63    59 58            37 36   32 31                    0
 *  +--------+----------------+-------+-----------------------+
 *  |  kind  |      pid       | dev+1 |          arg          |
 *  +--------+----------------+-------+-----------------------+
 *
 * pid fits in 22 bits (the kernel's PID_MAX_LIMIT is 2^22); dev+1 is 0 for
 * the whole process and 1..16 for a device; an allocation id is kept to its
 * low 32 bits (ids are unique per process, so two live allocations sharing
 * those bits would need 2^32 allocations in between).  The root is
 * FUSE_ROOT_ID (1), which no encoding produces since kind starts at 1.
 */
#include <errno.h>

#include <gpuvmfs/gpuvmfs.h>

#define INO_KIND_SHIFT	59
#define INO_PID_SHIFT	37
#define INO_PID_BITS	22
#define INO_DEV_SHIFT	32
#define INO_DEV_BITS	5
#define INO_ROOT	1ull

static uint64_t field(uint64_t ino, unsigned int shift, unsigned int bits)
{
	return (ino >> shift) & ((1ull << bits) - 1);
}

/**
 * gpuvmfs_node_ino - the inode number of a node
 * @n: the node; pid, dev and arg must fit (the caller checked)
 */
uint64_t gpuvmfs_node_ino(const struct gpuvmfs_node *n)
{
	if (n->kind == GFS_ROOT)
		return INO_ROOT;
	return (uint64_t)n->kind << INO_KIND_SHIFT |
	       ((uint64_t)n->pid & ((1ull << INO_PID_BITS) - 1)) << INO_PID_SHIFT |
	       (uint64_t)(n->dev + 1) << INO_DEV_SHIFT | n->arg;
}

/**
 * gpuvmfs_ino_node - decode an inode number
 * @ino: from the kernel
 * @n: filled on success
 *
 * Checks only the shape (kind known, fields allowed for that kind); whether
 * the process, device, knob or allocation still exists is the caller's.
 * Return: 0 or -ENOENT.
 */
int gpuvmfs_ino_node(uint64_t ino, struct gpuvmfs_node *n)
{
	uint64_t kind = ino >> INO_KIND_SHIFT;
	bool in_proc;

	if (ino == INO_ROOT) {
		*n = (struct gpuvmfs_node){ .kind = GFS_ROOT, .dev = -1 };
		return 0;
	}
	if (kind <= GFS_ROOT || kind >= GFS_NR_KINDS)
		return -ENOENT;
	n->kind = kind;
	n->pid = field(ino, INO_PID_SHIFT, INO_PID_BITS);
	n->dev = (int)field(ino, INO_DEV_SHIFT, INO_DEV_BITS) - 1;
	n->arg = (uint32_t)ino;

	in_proc = kind >= GFS_PID_DIR;
	if (in_proc != (n->pid > 0))
		return -ENOENT;
	if (n->dev >= GPUVM_SEG_MAX_DEVICES)
		return -ENOENT;
	if (!in_proc && n->dev != -1)
		return -ENOENT;
	if (kind == GFS_PID_DIR && n->dev != -1)
		return -ENOENT;
	if (kind == GFS_DEV_DIR && n->dev < 0)
		return -ENOENT;
	switch (n->kind) {
	case GFS_GPOLICY_KNOB:
	case GFS_KNOB:
	case GFS_ALLOC_DIR:
	case GFS_ALLOC_INFO:
	case GFS_ALLOC_MAPPINGS:
		break;
	default:
		if (n->arg)
			return -ENOENT;
	}
	return 0;
}

bool gpuvmfs_kind_is_dir(enum gpuvmfs_kind kind)
{
	switch (kind) {
	case GFS_ROOT:
	case GFS_GPOLICY_DIR:
	case GFS_PID_DIR:
	case GFS_DEV_DIR:
	case GFS_ALLOCS_DIR:
	case GFS_ALLOC_DIR:
	case GFS_POLICY_DIR:
		return true;
	default:
		return false;
	}
}
