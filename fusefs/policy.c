// SPDX-License-Identifier: MIT
/*
 * policy.c - /gpuvm/policy/<knob>: defaults for processes that start later.
 *
 * They live in <rundir>/defaults, one "name=value" line per knob that was
 * set, the value as text gpuvm_knob_parse() accepts (sizes and integers in
 * decimal, bools 0/1, enums by choice name).  The library reads the file
 * once when it initializes and validates every line with the same schema;
 * a knob without a line keeps its schema default (and a GPUVM_<KNOB>
 * variable of the process wins over the file).
 *
 * The file is replaced atomically (written aside, then renamed), so a
 * process starting meanwhile reads the old or the new file, never half.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpuvmfs.h"

#define DEFAULTS_MAX	65536	/* bytes; more is not ours */

/* Read the defaults file; *text is NULL (and 0 returned) when there is none. */
static int defaults_read(struct gpuvmfs *fs, char **text)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	char *buf;
	int fd;

	*text = NULL;
	snprintf(path, sizeof(path), "%s/" GPUVMFS_DEFAULTS_FILE, fs->rundir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	/* a link there is not our file: as if none, and the next write replaces it */
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 0 : -errno;
	/* only a regular file of ours (or root's) is our file */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != fs->uid && st.st_uid != 0) || st.st_size > DEFAULTS_MAX) {
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

/* Walk "name=value" lines; @fn returns nonzero to stop. */
static void defaults_each(char *text, int (*fn)(const char *name, const char *value, void *arg),
			  void *arg)
{
	char *line, *save = NULL, *eq;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (fn(line, eq + 1, arg))
			break;
	}
}

struct default_lookup {
	const struct gpuvm_knob *knob;
	uint64_t val;
	bool found;
};

static int lookup_line(const char *name, const char *value, void *arg)
{
	struct default_lookup *l = arg;

	if (strcmp(name, l->knob->name))
		return 0;
	/* the last valid line wins; an invalid one is ignored, as the library does */
	if (!gpuvm_knob_parse(l->knob, value, &l->val))
		l->found = true;
	return 0;
}

/**
 * gpuvmfs_default_get - the default a knob has for processes starting now
 * @fs: the filesystem
 * @knob: the knob
 * @val: its value from the defaults file, else the schema's
 */
int gpuvmfs_default_get(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t *val)
{
	struct default_lookup l = { .knob = knob };
	char *text;
	int err;

	err = defaults_read(fs, &text);
	if (err)
		return err;
	if (text)
		defaults_each(text, lookup_line, &l);
	free(text);
	*val = l.found ? l.val : knob->def;
	return 0;
}

/* A value as the text gpuvm_knob_parse() reads back. */
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

struct default_rewrite {
	const struct gpuvm_knob *knob;
	FILE *out;
};

static int copy_line(const char *name, const char *value, void *arg)
{
	struct default_rewrite *r = arg;
	const struct gpuvm_knob *k = gpuvm_knob_find(name);
	uint64_t v;

	/* keep other knobs' valid lines; drop ours, unknown and broken ones */
	if (!k || k == r->knob || gpuvm_knob_parse(k, value, &v))
		return 0;
	fprintf(r->out, "%s=%s\n", name, value);
	return 0;
}

/**
 * gpuvmfs_default_set - set a default for processes that start later
 * @fs: the filesystem
 * @knob: the knob
 * @val: a value gpuvm_knob_check() accepted
 * Return: 0 or negative errno (nothing changed).
 */
int gpuvmfs_default_set(struct gpuvmfs *fs, const struct gpuvm_knob *knob, uint64_t val)
{
	struct default_rewrite r = { .knob = knob };
	char path[PATH_MAX], tmp[PATH_MAX], value[64];
	char *text = NULL;
	int fd, err;

	err = value_text(knob, val, value, sizeof(value));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/" GPUVMFS_DEFAULTS_FILE, fs->rundir);
	snprintf(tmp, sizeof(tmp), "%s/." GPUVMFS_DEFAULTS_FILE ".XXXXXX", fs->rundir);

	pthread_mutex_lock(&fs->defaults_lock);
	err = defaults_read(fs, &text);
	if (err)
		goto out_unlock;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_unlock;
	}
	r.out = fdopen(fd, "w");
	if (!r.out) {
		err = -errno;
		close(fd);
		goto out_unlink;
	}
	fchmod(fd, 0644);
	if (text)
		defaults_each(text, copy_line, &r);
	fprintf(r.out, "%s=%s\n", knob->name, value);
	if (fclose(r.out)) {
		err = -EIO;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto out_unlink;
	}
	goto out_unlock;

out_unlink:
	unlink(tmp);
out_unlock:
	pthread_mutex_unlock(&fs->defaults_lock);
	free(text);
	return err;
}
