// SPDX-License-Identifier: MIT
/*
 * files.c - what each /gpuvm file holds: the schema knob a knob file names,
 * and a file's whole text, produced from one snapshot when it is opened.
 * No FUSE in here (fuse_ops.c serves the text).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpuvmfs/gpuvmfs.h>

/** gpuvmfs_knob_index - index of a knob in the schema, or -1 */
int gpuvmfs_knob_index(const char *name)
{
	int i, n = gpuvm_knob_count();

	for (i = 0; i < n; i++) {
		const struct gpuvm_knob *k = gpuvm_knob_at(i);

		if (k && !strcmp(k->name, name))
			return i;
	}
	return -1;
}

/** gpuvmfs_node_knob - the schema knob a knob file names, or NULL */
const struct gpuvm_knob *gpuvmfs_node_knob(const struct gpuvmfs_node *n)
{
	if (n->arg >= (uint32_t)gpuvm_knob_count())
		return NULL;
	return gpuvm_knob_at(n->arg);
}

/**
 * gpuvmfs_metrics_text - the text of /gpuvm/metrics: every shown process,
 * each from one fresh snapshot
 * @fs: the filesystem (or the gpuvm command's stand-in for it)
 * @b: receives the text
 *
 * The file, gpuvmfs --metrics-listen and gpuvm exporter all serve this.
 * Return: 0 or negative errno.
 */
int gpuvmfs_metrics_text(struct gpuvmfs *fs, struct gpuvmfs_buf *b)
{
	struct gpuvmfs_metrics_proc *mp;
	struct gpuvmfs_proc *procs;
	size_t nr, i;
	int err;

	err = gpuvmfs_proc_list(fs, &procs, &nr);
	if (err)
		return err;
	mp = calloc(nr ? nr : 1, sizeof(*mp));
	if (!mp) {
		free(procs);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		mp[i].pid = procs[i].pid;
		mp[i].uid = procs[i].uid;
		mp[i].err = gpuvmfs_proc_snapshot(fs, &procs[i], 0, &mp[i].snap);
	}
	gpuvmfs_render_metrics(b, mp, nr);
	gpuvmfs_buf_end_truncated(b);
	for (i = 0; i < nr; i++)
		gpuvm_snapshot_release(&mp[i].snap);
	free(mp);
	free(procs);
	return b->err;
}

/**
 * gpuvmfs_node_text - the text of a file, from one fresh snapshot
 * @fs: the filesystem
 * @n: the file (it exists: the caller checked)
 * @proc: its process, for files inside one
 * @b: receives the text
 * Return: 0 or negative errno (-EIO: the segment is refused).
 */
int gpuvmfs_node_text(struct gpuvmfs *fs, const struct gpuvmfs_node *n,
		      const struct gpuvmfs_proc *proc, struct gpuvmfs_buf *b)
{
	const struct gpuvm_knob *knob;
	struct gpuvm_snapshot snap;
	unsigned int what = 0;
	uint64_t val;
	int err, adev;

	switch (n->kind) {
	case GFS_VERSION:
		gpuvmfs_buf_printf(b, "gpuvmfs %s segment %u.%u\n", GPUVMFS_VERSION,
				   GPUVM_SEG_VERSION_MAJOR, GPUVM_SEG_VERSION_MINOR);
		return b->err;
	case GFS_METRICS:
		return gpuvmfs_metrics_text(fs, b);
	case GFS_GPOLICY_KNOB:
		knob = gpuvmfs_node_knob(n);
		err = gpuvmfs_default_get(fs, knob, &val);
		return err ? err : gpuvmfs_render_knob(b, knob, val);
	case GFS_MAPS:
	case GFS_ALLOC_INFO:
		what = GPUVM_SNAP_ALLOCS;
		break;
	case GFS_PAGETABLE:
		what = GPUVM_SNAP_PT;
		break;
	case GFS_ALLOC_MAPPINGS:
		what = GPUVM_SNAP_ALLOCS | GPUVM_SNAP_PT;
		break;
	case GFS_STATUS:
	case GFS_KNOB:
		break;
	default:
		return -EISDIR;
	}

	err = gpuvmfs_proc_snapshot(fs, proc, what, &snap);
	if (n->kind == GFS_STATUS) {
		gpuvmfs_render_status(b, &snap, err, n->dev);
		err = b->err;
		goto out_release;
	}
	if (err) {
		/* a broken segment: its status says why; our bounds say so */
		if (err != -EFBIG && err != -EAGAIN)
			err = -EIO;
		goto out_release;
	}
	switch (n->kind) {
	case GFS_MAPS:
		gpuvmfs_render_maps(b, &snap, n->dev);
		break;
	case GFS_PAGETABLE:
		gpuvmfs_render_pagetable(b, &snap, n->dev);
		break;
	case GFS_ALLOC_INFO:
	case GFS_ALLOC_MAPPINGS: {
		const struct gpuvm_seg_alloc *a;

		a = gpuvmfs_find_alloc(&snap, n->dev, n->arg, true, &adev);
		if (!a) {
			err = -ENOENT;
			goto out_release;
		}
		if (n->kind == GFS_ALLOC_INFO)
			gpuvmfs_render_alloc_info(b, snap.dev[adev], a);
		else
			gpuvmfs_render_alloc_mappings(b, snap.dev[adev], a);
		break;
	}
	case GFS_KNOB:
		knob = gpuvmfs_node_knob(n);
		err = gpuvmfs_snap_knob_value(&snap, n->dev, knob->name, &val);
		if (!err)
			err = gpuvmfs_render_knob(b, knob, val);
		goto out_release;
	default:
		break;
	}
	gpuvmfs_buf_end_truncated(b);
	err = b->err;
out_release:
	gpuvm_snapshot_release(&snap);
	return err;
}
