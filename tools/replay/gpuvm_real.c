// SPDX-License-Identifier: MIT
/*
 * gpuvm_real.c - the gpuvm column of the replay: the real manager, not a
 * model of it.
 *
 * cudasim sizes its device memory from CUDASIM_MEM when cuInit runs, and the
 * replaying program may already have initialized the driver, so the trace is
 * replayed by a helper program (real_helper.c, bin/gpuvm-replay-real) started
 * with fork and exec in a fresh environment: CUDASIM_MEM set to the
 * capacity, GPUVM_LIBCUDA pointing at cudasim, tracing off.  The helper
 * prints its result as "key value" lines on a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"

/**
 * replay_result_write - a result as "key value" lines
 */
int replay_result_write(FILE *f, const struct replay_result *r)
{
	int i;

	fprintf(f, "name %s\nran %d\n", r->name, r->ran);
	fprintf(f, "peak_requested %" PRIu64 "\npeak_held %" PRIu64 "\n", r->peak_requested,
		r->peak_held);
	fprintf(f, "ooms %" PRIu64 "\nfirst_oom_rec %" PRId64 "\n", r->ooms, r->first_oom_rec);
	fprintf(f, "first_oom_size %" PRIu64 "\nfirst_oom_live %" PRIu64 "\n",
		r->first_oom_size, r->first_oom_live);
	for (i = 0; i < REPLAY_CALL_NR; i++)
		fprintf(f, "calls.%s %" PRIu64 "\nbytes.%s %" PRIu64 "\n", replay_call_name(i),
			r->calls[i], replay_call_name(i), r->bytes[i]);
	if (r->note[0])
		fprintf(f, "note %s\n", r->note);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/**
 * replay_result_read - parse what replay_result_write() wrote
 * Return: 0, or -EINVAL on a malformed line (unknown keys are skipped).
 */
int replay_result_read(FILE *f, struct replay_result *r)
{
	char line[256];
	bool any = false;

	memset(r, 0, sizeof(*r));
	r->first_oom_rec = -1;
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, ' '), *nl = strchr(line, '\n');
		uint64_t v = 0;
		int i;

		if (nl)
			*nl = '\0';
		if (!val)
			return -EINVAL;
		*val++ = '\0';
		any = true;
		if (!strcmp(line, "name")) {
			snprintf(r->name, sizeof(r->name), "%s", val);
			continue;
		}
		if (!strcmp(line, "note")) {
			snprintf(r->note, sizeof(r->note), "%s", val);
			continue;
		}
		if (!strcmp(line, "first_oom_rec")) {
			r->first_oom_rec = strtoll(val, NULL, 10);
			continue;
		}
		v = strtoull(val, NULL, 10);
		if (!strcmp(line, "ran"))
			r->ran = v;
		else if (!strcmp(line, "peak_requested"))
			r->peak_requested = v;
		else if (!strcmp(line, "peak_held"))
			r->peak_held = v;
		else if (!strcmp(line, "ooms"))
			r->ooms = v;
		else if (!strcmp(line, "first_oom_size"))
			r->first_oom_size = v;
		else if (!strcmp(line, "first_oom_live"))
			r->first_oom_live = v;
		for (i = 0; i < REPLAY_CALL_NR; i++) {
			if (!strncmp(line, "calls.", 6) && !strcmp(line + 6, replay_call_name(i)))
				r->calls[i] = v;
			if (!strncmp(line, "bytes.", 6) && !strcmp(line + 6, replay_call_name(i)))
				r->bytes[i] = v;
		}
	}
	return any ? 0 : -EINVAL;
}

/* The directory this program lives in (with a trailing slash). */
static int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -ENOENT;
	slash[1] = '\0';
	return 0;
}

static void free_env(char **envp)
{
	for (char **e = envp; *e; e++)
		free(*e);
	free(envp);
}

static bool env_is(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(entry, name, n) && entry[n] == '=';
}

/*
 * The helper's environment, built before fork: ours without tracing and
 * with cudasim sized to the capacity.
 */
static char **child_env(const char *cap, const char *devices, const char *cudasim)
{
	extern char **environ;
	size_t nr = 0, i = 0;
	char **envp, **e;

	for (e = environ; *e; e++)
		nr++;
	envp = calloc(nr + 4, sizeof(*envp));
	if (!envp)
		return NULL;
	for (e = environ; *e; e++) {
		if (env_is(*e, "CUDASIM_MEM") || env_is(*e, "GPUVM_TRACE") ||
		    (devices && env_is(*e, "CUDASIM_DEVICES")) ||
		    (cudasim && env_is(*e, "GPUVM_LIBCUDA")))
			continue;
		if (!(envp[i++] = strdup(*e)))
			goto out_free;
	}
	if (asprintf(&envp[i++], "CUDASIM_MEM=%s", cap) < 0)
		goto out_free_last;
	if (devices && asprintf(&envp[i++], "CUDASIM_DEVICES=%s", devices) < 0)
		goto out_free_last;
	if (cudasim && asprintf(&envp[i++], "GPUVM_LIBCUDA=%s", cudasim) < 0)
		goto out_free_last;
	return envp;

out_free_last:
	envp[i - 1] = NULL;	/* asprintf leaves it undefined on failure */
out_free:
	free_env(envp);
	return NULL;
}

/**
 * replay_run_gpuvm - replay a trace file through the real manager on cudasim
 * @trace_path: the trace (the helper reads it again)
 * @device: the device replayed
 * @capacity: CUDASIM_MEM for the helper, bytes
 * @pol: gpuvm knobs to set first
 * @res: the result; res->ran is false (with a note) when it could not run
 * Return: 0 or -errno (also noted in @res).
 */
int replay_run_gpuvm(const char *trace_path, int device, uint64_t capacity,
		     const struct replay_policy *pol, struct replay_result *res)
{
	char dir[PATH_MAX], helper[PATH_MAX + 32], cudasim[PATH_MAX + 64];
	char cap[32], dev[16], devices[16];
	char *argv[8 + 2 * 32], **envp;
	int pipefd[2], status, argc = 0, i, err;
	pid_t pid;
	FILE *f;

	memset(res, 0, sizeof(*res));
	strcpy(res->name, "gpuvm");
	res->first_oom_rec = -1;

	if (getenv("GPUVM_REPLAY_HELPER")) {
		snprintf(helper, sizeof(helper), "%s", getenv("GPUVM_REPLAY_HELPER"));
	} else {
		if (self_dir(dir, sizeof(dir))) {
			snprintf(res->note, sizeof(res->note), "cannot find this program");
			return -ENOENT;
		}
		snprintf(helper, sizeof(helper), "%sgpuvm-replay-real", dir);
	}
	if (access(helper, X_OK)) {
		snprintf(res->note, sizeof(res->note), "no helper %.140s", helper);
		return -ENOENT;
	}
	cudasim[0] = '\0';
	if (!getenv("GPUVM_LIBCUDA") && !self_dir(dir, sizeof(dir))) {
		/* built (lib/cudasim) or installed (lib/gpuvm/cudasim) */
		snprintf(cudasim, sizeof(cudasim), "%s../lib/cudasim/libcuda.so.1", dir);
		if (access(cudasim, R_OK))
			snprintf(cudasim, sizeof(cudasim), "%s../lib/gpuvm/cudasim/libcuda.so.1", dir);
		if (access(cudasim, R_OK))
			cudasim[0] = '\0';
	}
	snprintf(cap, sizeof(cap), "%" PRIu64, capacity);
	snprintf(dev, sizeof(dev), "%d", device);
	snprintf(devices, sizeof(devices), "%d", device + 1);

	argv[argc++] = helper;
	argv[argc++] = (char *)trace_path;
	argv[argc++] = "--capacity";
	argv[argc++] = cap;
	argv[argc++] = "--device";
	argv[argc++] = dev;
	for (i = 0; i < pol->nr_gpuvm_knobs; i++) {
		argv[argc++] = "--policy";
		argv[argc++] = (char *)pol->gpuvm_knobs[i];
	}
	argv[argc] = NULL;

	envp = child_env(cap, device > 0 && !getenv("CUDASIM_DEVICES") ? devices : NULL,
			 cudasim[0] ? cudasim : NULL);
	if (!envp) {
		snprintf(res->note, sizeof(res->note), "out of memory");
		return -ENOMEM;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		err = -errno;
		snprintf(res->note, sizeof(res->note), "pipe: %s", strerror(errno));
		free_env(envp);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		snprintf(res->note, sizeof(res->note), "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		free_env(envp);
		return err;
	}
	if (!pid) {
		/* Child: only async-signal-safe calls until exec. */
		if (dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(126);
		execve(helper, argv, envp);
		_exit(127);
	}
	free_env(envp);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	if (!f) {
		close(pipefd[0]);
		err = -ENOMEM;
	} else {
		err = replay_result_read(f, res);
		fclose(f);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	strcpy(res->name, "gpuvm");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		res->ran = false;
		if (!res->note[0])
			snprintf(res->note, sizeof(res->note), "helper: bad arguments");
		return -EINVAL;		/* bad input (a knob): the caller stops */
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		res->ran = false;
		if (WIFSIGNALED(status))
			snprintf(res->note, sizeof(res->note), "helper killed by signal %d",
				 WTERMSIG(status));
		else if (!res->note[0])
			snprintf(res->note, sizeof(res->note), "helper exited %d",
				 WEXITSTATUS(status));
		return -EIO;
	}
	if (err) {
		res->ran = false;
		snprintf(res->note, sizeof(res->note), "helper gave no result");
	}
	return err;
}
