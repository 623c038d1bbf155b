// SPDX-License-Identifier: MIT
/*
 * driver.c - `gpuvm driver`: which CUDA driver a program started from here
 * would get, in one line:
 *
 *   driver: cudasim (/path/build/lib/cudasim/libcuda.so.1), 1 device
 *   driver: NVIDIA 580.65.06 (libcuda.so.1), 1 device: NVIDIA H100 80GB HBM3
 *
 * The probe runs in a child process that exits right after: the command
 * itself never keeps a driver loaded, and a driver that hangs or crashes
 * in cuInit takes only the child down (it gets a few seconds).  It only
 * asks who is there; managing memory stays vmm/'s business.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cuda.h>

#include "gpuvm.h"

#define PROBE_TIMEOUT_MS	15000

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

/* In the child: open the driver and describe it on @fd. */
static int probe(int fd)
{
	CUresult (*init)(unsigned int);
	CUresult (*count)(int *);
	CUresult (*get)(CUdevice *, int);
	CUresult (*name)(char *, int, CUdevice);
	CUresult (*version)(int *);
	const char *path = getenv("GPUVM_LIBCUDA");
	char devname[128] = "?", ver[96], line[512];
	void *lib, *sim;
	Dl_info info;
	CUdevice dev;
	int nr = 0;

	if (!path || !*path)
		path = "libcuda.so.1";
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		dprintf(fd, "driver: none (%s cannot be opened)\n", path);
		return 1;
	}
	if (dlsym(lib, GPUVM_SHIM_MARKER)) {
		dprintf(fd, "driver: none (%s is gpuvm's preload shim, not a CUDA driver)\n",
			path);
		return 1;
	}
	*(void **)&init = dlsym(lib, "cuInit");
	*(void **)&count = dlsym(lib, "cuDeviceGetCount");
	*(void **)&get = dlsym(lib, "cuDeviceGet");
	*(void **)&name = dlsym(lib, "cuDeviceGetName");
	*(void **)&version = dlsym(lib, "cuDriverGetVersion");
	if (!init || !count || !get || !name || !version) {
		dprintf(fd, "driver: none (%s is not a CUDA driver)\n", path);
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

/**
 * cli_driver_line - describe the driver in one line (no newline)
 * @buf: receives the line
 * @len: size of @buf
 * Return: 0 when a driver with a device initializes, else -ENODEV (the
 * line says why).
 */
int cli_driver_line(char *buf, size_t len)
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
		_exit(probe(fds[1]));
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
		snprintf(buf, len, "driver: none (the probe timed out)");
		return -ETIMEDOUT;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!got)
		snprintf(buf, len, "driver: none (the probe died)");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENODEV;
}

int cmd_driver(int argc, char **argv)
{
	char line[512];
	int err;

	if (argc > 1) {
		cli_usage("driver", true);
		return EXIT_USAGE;
	}
	err = cli_driver_line(line, sizeof(line));
	printf("%s\n", line);
	return err ? 1 : 0;
}
