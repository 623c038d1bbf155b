// SPDX-License-Identifier: MIT
/*
 * policy_dir.c - /gpuvm/policy/<knob>: defaults for processes that start later,
 * kept in <rundir>/defaults by the library's one reader and writer of that
 * file (vmm/defaults.c, gpuvm_defaults_read() and gpuvm_defaults_write()),
 * so what this file shows is what the next process will use.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <gpuvmfs/gpuvmfs.h>

#define KNOBS_MAX	64	/* more than the schema has */

/**
 * gpuvmfs_default_get - the default a knob has for processes starting now
 * @fs: the filesystem
 * @knob: the knob
 * @val: its value from the defaults file, else the schema's
 * Return: 0 or negative errno.
 */
int gpuvmfs_default_get(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t *val)
{
	uint64_t vals[KNOBS_MAX];
	int i, n = gpuvm_knob_count(), err;

	if (n > KNOBS_MAX)
		return -EOVERFLOW;
	for (i = 0; i < n && gpuvm_knob_at(i) != knob; i++)
		;
	if (i == n)
		return -EINVAL;
	vals[i] = knob->def;
	err = gpuvm_defaults_read(fs->rundir, vals, NULL, true);
	if (err)
		return err;
	*val = vals[i];
	return 0;
}

/**
 * gpuvmfs_default_set - set a default for processes that start later
 * @fs: the filesystem
 * @knob: the knob
 * @val: its value
 * Return: 0 or negative errno (nothing changed).
 */
int gpuvmfs_default_set(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t val)
{
	return gpuvm_defaults_write(fs->rundir, knob, val);
}
