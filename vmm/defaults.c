// SPDX-License-Identifier: MIT
/*
 * defaults.c - <rundir>/defaults, the knob values for processes that start
 * later: its one reader (the library when it initializes, gpuvmfs's
 * /gpuvm/policy/<knob> files) and its one writer (those files, written).
 *
 * One "name=value" line per knob, the value as gpuvm_knob_parse() reads it
 * back (sizes and integers in decimal, bools 0/1, enums by choice name).
 * Written by whoever mounted /gpuvm, so it is believed only when it is a
 * regular file owned by us or by root, of at most DEFAULTS_MAX bytes, and
 * every line is validated like any input (gpuvm_knob_parse(), which checks
 * what it parsed): a bad line is skipped, the last good one of a knob
 * wins.  It is replaced atomically (written aside, then renamed), so a
 * process starting meanwhile reads the old file or the new, never half.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "safefile.h"

#define DEFAULTS_FILE	"defaults"
#define DEFAULTS_MAX	65536	/* bytes; more is not ours */

/* Serializes the rewrites of this process (gpuvmfs's threads). */
static pthread_mutex_t defaults_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The file's text in *@text (NULL, and 0 returned, when there is none or
 * it is not ours to believe: a link, another user's, too big).
 */
static int defaults_load(const char *path, char **text)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd;

	*text = NULL;
	fd = safe_open_owned(path, true);
	if (fd < 0)
		return fd == -ENOENT || fd == -ELOOP || fd == -EINVAL || fd == -EPERM ? 0 : fd;
	if (fstat(fd, &st) || st.st_size > DEFAULTS_MAX) {
		close(fd);
		return 0;
	}
	buf = malloc(DEFAULTS_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, DEFAULTS_MAX);
	close(fd);
	if (n < 0) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

/* Each valid line of @text into @vals (and @set); the others said, unless @quiet. */
static void defaults_parse(const char *path, char *text, uint64_t *vals, bool *set, bool quiet)
{
	char *line, *next, *eq;

	for (line = text; line && *line; line = next) {
		const struct gpuvm_knob *k;
		uint64_t v;
		int ret;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (eq)
			*eq = '\0';
		k = eq ? gpuvm_knob_find(line) : NULL;
		if (!k) {
			if (!quiet)
				vmm_warn("%s: '%.40s' ignored (not name=value of a knob)", path, line);
			continue;
		}
		ret = gpuvm_knob_parse(k, eq + 1, &v);	/* parsed is checked */
		if (ret) {
			if (!quiet)
				vmm_warn("%s: %s=%.64s: %s; ignored", path, k->name, eq + 1,
					 ret == -ERANGE ? "out of range" : "invalid value");
			continue;
		}
		vals[policy_knob_index(k)] = v;
		if (set)
			set[policy_knob_index(k)] = true;
	}
}

/* The run directory meant (NULL: this process's), and its file in @path. */
static const char *defaults_path(const char *rundir, char *path, size_t len)
{
	if (!rundir)
		rundir = publish_rundir();
	snprintf(path, len, "%s/" DEFAULTS_FILE, rundir);
	return rundir;
}

/**
 * gpuvm_defaults_read - the knob values a run directory's defaults file sets
 * @rundir: the run directory, or NULL for this process's
 * @vals: gpuvm_knob_count() values by schema index; each knob the file sets
 *	  with a valid line is written, the others are left as they are
 * @set: NULL, or gpuvm_knob_count() flags: set to true for each written
 * @quiet: do not warn about the lines skipped
 *
 * No file, or one not believed (see above), sets nothing.
 * Return: 0, or -ENOMEM, -EIO, -errno of open() (nothing written).
 */
GPUVM_API int gpuvm_defaults_read(const char *rundir, uint64_t *vals, bool *set, bool quiet)
{
	char path[PATH_MAX], *text;
	int ret;

	if (!vals)
		return -EINVAL;
	defaults_path(rundir, path, sizeof(path));
	ret = defaults_load(path, &text);
	if (ret || !text)
		return ret;
	defaults_parse(path, text, vals, set, quiet);
	free(text);
	return 0;
}

/* @val as the text gpuvm_knob_parse() reads back. */
static int value_text(const struct gpuvm_knob *knob, uint64_t val, char *buf, size_t len)
{
	uint64_t i;

	if (knob->type != GPUVM_KNOB_ENUM) {
		snprintf(buf, len, "%" PRIu64, val);
		return 0;
	}
	for (i = 0; knob->choices && knob->choices[i]; i++) {
		if (i == val) {
			snprintf(buf, len, "%s", knob->choices[i]);
			return 0;
		}
	}
	return -EINVAL;
}

/* The file as @vals and @set say, written aside in @dir and renamed to @path. */
static int defaults_replace(const char *dir, const char *path, const uint64_t *vals,
			    const bool *set)
{
	char tmp[PATH_MAX], value[64];
	FILE *out;
	int fd, i, err = 0;

	snprintf(tmp, sizeof(tmp), "%s/." DEFAULTS_FILE ".XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		close(fd);
		goto out_unlink;
	}
	fchmod(fd, 0644);
	for (i = 0; i < VMM_KNOB_NR; i++)
		if (set[i] && !value_text(&vmm_knobs[i].schema, vals[i], value, sizeof(value)))
			fprintf(out, "%s=%s\n", vmm_knobs[i].schema.name, value);
	if (fclose(out)) {
		err = -EIO;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto out_unlink;
	}
	return 0;

out_unlink:
	unlink(tmp);
	return err;
}

/**
 * gpuvm_defaults_write - set one knob's default in a run directory's file
 * @rundir: the run directory, or NULL for this process's
 * @knob: the knob
 * @val: its value, checked with gpuvm_knob_check()
 *
 * The other knobs' valid lines are kept; broken and unknown ones go.  A
 * file not believed (a link there, another user's) is replaced, never
 * written through.
 * Return: 0, or -EINVAL, -ERANGE (a bad value) or -errno (nothing changed).
 */
GPUVM_API int gpuvm_defaults_write(const char *rundir, const struct gpuvm_knob *knob,
				   uint64_t val)
{
	char path[PATH_MAX], *text;
	uint64_t vals[VMM_KNOB_NR] = { 0 };
	bool set[VMM_KNOB_NR] = { false };
	int i = policy_knob_index(knob), err;

	if (i < 0)
		return -EINVAL;
	err = gpuvm_knob_check(knob, val);
	if (err)
		return err;
	rundir = defaults_path(rundir, path, sizeof(path));
	pthread_mutex_lock(&defaults_lock);
	err = defaults_load(path, &text);
	if (err)
		goto out_unlock;
	if (text)
		defaults_parse(path, text, vals, set, true);
	free(text);
	vals[i] = val;
	set[i] = true;
	err = defaults_replace(rundir, path, vals, set);
out_unlock:
	pthread_mutex_unlock(&defaults_lock);
	return err;
}
