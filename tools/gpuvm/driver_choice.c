// SPDX-License-Identifier: MIT
/*
 * driver_choice.c - which CUDA driver a program started from here gets, and the
 * environment that gives it that one.  `gpuvm driver` prints it in one line:
 *
 *   driver: cudasim (/path/build/lib/cudasim/libcuda.so.1), 1 device
 *   driver: NVIDIA 580.65.06 (libcuda.so.1), 1 device: NVIDIA H100 80GB HBM3
 *
 * The choice (--driver): "real" is whatever libcuda.so.1 the dynamic linker
 * finds, when it is not cudasim; "cudasim" the one built beside this command
 * (lib/cudasim beside libgpuvm, or lib/gpuvm/cudasim where installed);
 * anything else a path.  With none named: the
 * driver $GPUVM_LIBCUDA names, else the real one when it initializes a
 * device, else cudasim.  A driver other than the linker's own is handed to
 * the program by GPUVM_LIBCUDA (the shim and libgpuvm open it) and by
 * LD_LIBRARY_PATH (the program's own dlopen or link of libcuda.so.1 finds
 * the same file), so the program runs on the driver this line names.
 *
 * Each probe runs in a child process that exits right after: the command
 * itself never keeps a driver loaded, and a driver that hangs or crashes
 * in cuInit takes only the child down (it gets a few seconds).  It only
 * asks who is there; managing memory stays vmm/'s business.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cuda.h>
#include <gpuvm/cuda_driver.h>

#include "command.h"

#define PROBE_TIMEOUT_MS	15000
#define DRIVER_SONAME		"libcuda.so.1"

/*
 * "NVIDIA 580.65.06" from the kernel module, or "" when not loaded: the
 * first word of "NVRM version: NVIDIA UNIX ... Kernel Module for x86_64
 * 580.65.06  Release Build ..." that looks like a version.
 */
static void nvidia_version(char *buf, size_t len)
{
	char line[256], *tok, *save;
	FILE *f;

	buf[0] = '\0';
	f = fopen("/proc/driver/nvidia/version", "re");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			if (isdigit((unsigned char)tok[0]) && strchr(tok, '.')) {
				snprintf(buf, len, "NVIDIA %s", tok);
				break;
			}
		}
	}
	fclose(f);
}

/* In the child: open the driver at @path and describe it on @fd. */
static int probe(int fd, const char *path)
{
	CUresult (*init)(unsigned int);
	CUresult (*count)(int *);
	CUresult (*get)(CUdevice *, int);
	CUresult (*name)(char *, int, CUdevice);
	CUresult (*version)(int *);
	char devname[128] = "?", ver[96], line[512], why[GPUVM_CUDA_WHY_LEN];
	void *lib, *sim;
	Dl_info info;
	CUdevice dev;
	int nr = 0;

	lib = gpuvm_cuda_open(path, why, sizeof(why));
	if (!lib) {
		dprintf(fd, "driver: none (%s %s)\n", path, why);
		return 1;
	}
	*(void **)&init = gpuvm_cuda_sym(lib, "cuInit", NULL);
	*(void **)&count = gpuvm_cuda_sym(lib, "cuDeviceGetCount", NULL);
	*(void **)&get = gpuvm_cuda_sym(lib, "cuDeviceGet", NULL);
	*(void **)&name = gpuvm_cuda_sym(lib, "cuDeviceGetName", NULL);
	*(void **)&version = gpuvm_cuda_sym(lib, "cuDriverGetVersion", NULL);
	if (!name) {
		dprintf(fd, "driver: none (%s lacks cuDeviceGetName)\n", path);
		return 1;
	}
	if (init(0) != CUDA_SUCCESS || count(&nr) != CUDA_SUCCESS || nr < 1) {
		dprintf(fd, "driver: none (%s has no usable device)\n", path);
		return 1;
	}
	if (get(&dev, 0) == CUDA_SUCCESS)
		name(devname, sizeof(devname), dev);
	sim = dlsym(lib, "cudasim_call_count");
	if (sim) {
		if (dladdr(sim, &info) && info.dli_fname)
			path = info.dli_fname;
		snprintf(line, sizeof(line), "driver: cudasim (%s), %d device%s\n", path, nr,
			 nr == 1 ? "" : "s");
	} else {
		nvidia_version(ver, sizeof(ver));
		if (!ver[0]) {
			int v = 0;

			version(&v);
			snprintf(ver, sizeof(ver), "CUDA %d.%d", v / 1000, v % 1000 / 10);
		}
		snprintf(line, sizeof(line), "driver: %s (%s), %d device%s: %s\n", ver, path, nr,
			 nr == 1 ? "" : "s", devname);
	}
	dprintf(fd, "%s", line);
	return 0;
}

/*
 * Probe the driver at @path in a child: @buf gets its line (no newline).
 * Return: 0 when it initializes a device, else -ENODEV (the line says why).
 */
static int probe_line(const char *path, char *buf, size_t len)
{
	struct pollfd pfd;
	int fds[2], status, left = PROBE_TIMEOUT_MS, rc;
	size_t got = 0;
	pid_t pid;
	ssize_t n;

	snprintf(buf, len, "driver: unknown (the probe failed)");
	if (len < 2 || pipe(fds) < 0)
		return -EINVAL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		close(fds[0]);
		/* _exit: no atexit handlers of the driver in a probe */
		_exit(probe(fds[1], path));
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (got + 1 < len && left > 0) {
		rc = poll(&pfd, 1, 100);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0) {
			left -= 100;
			continue;
		}
		n = read(fds[0], buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fds[0]);
	if (left <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(buf, len, "driver: none (the probe of %s timed out)", path);
		return -ETIMEDOUT;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!got)
		snprintf(buf, len, "driver: none (the probe of %s died)", path);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENODEV;
}

static bool line_is_cudasim(const char *line)
{
	return !strncmp(line, "driver: cudasim ", 16);
}

/*
 * The cudasim beside this command, or false when there is none: built
 * (build/lib/cudasim) or installed (libdir/gpuvm/cudasim).
 */
static bool cudasim_beside(char *path, size_t len)
{
	const char *const where[] = { "%s/cudasim/", "%s/gpuvm/cudasim/", "%s/../lib/cudasim/" };
	char real[PATH_MAX];
	size_t i;
	int n;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		n = snprintf(path, len, where[i], i < 2 ? cli_lib_dir() : cli_self_dir());
		if (n < 0 || (size_t)n + strlen(DRIVER_SONAME) >= len)
			continue;
		strcat(path, DRIVER_SONAME);
		if (access(path, R_OK))
			continue;
		if (realpath(path, real) && strlen(real) < len)
			strcpy(path, real);
		return true;
	}
	return false;
}

static int pick_path(struct cli_driver *drv, const char *path)
{
	char real[PATH_MAX];

	/* a program that changes folder must still find it */
	if (strchr(path, '/') && realpath(path, real))
		path = real;
	if (strlen(path) >= sizeof(drv->path)) {
		snprintf(drv->line, sizeof(drv->line), "driver: none (path too long)");
		return -ENAMETOOLONG;
	}
	strcpy(drv->path, path);
	drv->by_name = false;
	return probe_line(drv->path, drv->line, sizeof(drv->line));
}

static int pick_real(struct cli_driver *drv)
{
	int err;

	strcpy(drv->path, DRIVER_SONAME);
	drv->by_name = true;
	err = probe_line(drv->path, drv->line, sizeof(drv->line));
	if (!err && line_is_cudasim(drv->line)) {
		snprintf(drv->line, sizeof(drv->line),
			 "driver: none (the " DRIVER_SONAME " found is cudasim, not NVIDIA's driver)");
		return -ENODEV;
	}
	return err;
}

static int pick_cudasim(struct cli_driver *drv)
{
	char path[PATH_MAX];

	if (!cudasim_beside(path, sizeof(path))) {
		snprintf(drv->line, sizeof(drv->line),
			 "driver: none (no cudasim in %s/cudasim or %s/gpuvm/cudasim: build it with make)",
			 cli_lib_dir(), cli_lib_dir());
		return -ENOENT;
	}
	return pick_path(drv, path);
}

/**
 * cli_driver_pick - choose the driver a program started from here gets
 * @choice: "real", "cudasim", a path, or NULL to choose (see the top)
 * @drv: filled: what to open, and the one line that describes it
 *
 * Return: 0 when the driver chosen initializes a device, else -errno (the
 * line says why; with @choice NULL, why neither the real one nor cudasim).
 */
int cli_driver_pick(const char *choice, struct cli_driver *drv)
{
	const char *env = getenv("GPUVM_LIBCUDA");
	char real_line[sizeof(drv->line)];
	int err;

	memset(drv, 0, sizeof(*drv));
	if (choice && !strcmp(choice, "real"))
		return pick_real(drv);
	if (choice && !strcmp(choice, "cudasim"))
		return pick_cudasim(drv);
	if (choice)
		return pick_path(drv, choice);
	if (env && *env)
		return pick_path(drv, env);
	err = pick_real(drv);
	if (!err)
		return 0;
	snprintf(real_line, sizeof(real_line), "%s", drv->line);
	if (!pick_cudasim(drv))
		return 0;
	/* neither: say why the real one failed, and that no cudasim helped */
	snprintf(drv->line, sizeof(drv->line), "%.400s; no cudasim beside gpuvm", real_line);
	return err;
}

/**
 * cli_driver_preload - the file to preload after the shim, or NULL
 * @drv: from cli_driver_pick()
 *
 * A driver file not named libcuda.so.1 is found by that name only when it
 * is loaded already.
 */
const char *cli_driver_preload(const struct cli_driver *drv)
{
	const char *slash = strrchr(drv->path, '/');

	if (drv->by_name || !slash || !strcmp(slash + 1, DRIVER_SONAME))
		return NULL;
	return drv->path;
}

/* @var=@dir[:old value] */
static int prepend_path(const char *var, const char *dir)
{
	const char *old = getenv(var);
	char *val;
	int err;

	if (asprintf(&val, "%s%s%s", dir, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return -ENOMEM;
	err = setenv(var, val, 1) ? -errno : 0;
	free(val);
	return err;
}

/**
 * cli_driver_export - give programs started from here the driver @drv
 * @drv: from cli_driver_pick()
 *
 * The linker's own libcuda.so.1 needs nothing.  Another file goes into
 * GPUVM_LIBCUDA, and its folder in front of LD_LIBRARY_PATH when the file
 * is named libcuda.so.1, so a program that links or dlopens the driver by
 * that name gets the same file; one named otherwise must be preloaded
 * after the shim (cli_driver_preload(): its SONAME then answers for
 * libcuda.so.1).
 * Return: 0 or -errno.
 */
int cli_driver_export(const struct cli_driver *drv)
{
	char dir[PATH_MAX], *slash;
	const char *base;

	if (drv->by_name)
		return unsetenv("GPUVM_LIBCUDA") ? -errno : 0;
	if (setenv("GPUVM_LIBCUDA", drv->path, 1))
		return -errno;
	slash = strrchr(drv->path, '/');
	base = slash ? slash + 1 : drv->path;
	if (strcmp(base, DRIVER_SONAME) || !slash)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - drv->path), drv->path);
	return prepend_path("LD_LIBRARY_PATH", dir[0] ? dir : "/");
}

int cmd_driver(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *choice = NULL;
	struct cli_driver drv;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			choice = optarg;
			break;
		case 'h':
			cli_usage("driver", false);
			return 0;
		default:
			cli_usage("driver", true);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_usage("driver", true);
		return EXIT_USAGE;
	}
	err = cli_driver_pick(choice, &drv);
	printf("%s\n", drv.line);
	return err ? 1 : 0;
}
