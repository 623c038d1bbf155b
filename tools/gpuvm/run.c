// SPDX-License-Identifier: MIT
/*
 * run.c - `gpuvm run`: run an unmodified program under the preload shim.
 *
 * The program gets LD_PRELOAD with libgpuvm_preload.so from beside the
 * libgpuvm this command runs with (else bin/../lib), the driver cli_driver_pick() chose (--driver;
 * by default the real one, else the cudasim beside), GPUVM_RUNDIR, and a
 * GPUVM_<KNOB> variable per
 * --set, each validated with the knob schema first so a typo is an error
 * here and not a silent default there.  With --mount DIR a gpuvmfs is
 * started for the run when none is mounted at DIR, and stopped after.
 *
 * The exit status is the program's (128 + N when signal N ended it, as a
 * shell reports it); SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to
 * it so gpuvm run can stand in for the program in scripts.
 *
 * PyTorch's caching allocator would keep its own segments and fragment
 * inside them, gpuvm seeing only a few large allocations: unless the user
 * configured it (PYTORCH_NO_CUDA_MEMORY_CACHING or PYTORCH_CUDA_ALLOC_CONF
 * set) or --keep-framework-cache, the run sets PYTORCH_NO_CUDA_MEMORY_CACHING=1
 * so each tensor is a cudaMalloc gpuvm serves, and says so in one line.
 */
#include <ctype.h>
#include <link.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"

#define PRELOAD_NAME		"libgpuvm_preload.so"
#define MOUNT_WAIT_MS		5000
#define MAX_SETS		64

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* Each --set: validated, then exported as GPUVM_<KNOB>=VALUE. */
static int apply_set(const char *arg)
{
	char name[GPUVM_SEG_KNOB_NAME + 8], env[GPUVM_SEG_KNOB_NAME + 16];
	const char *eq = strchr(arg, '=');
	const struct gpuvm_knob *knob;
	size_t i, len;
	int err;

	len = eq ? (size_t)(eq - arg) : 0;
	if (!eq || !len || len >= GPUVM_SEG_KNOB_NAME) {
		cli_err("run", "--set %s: expected KNOB=VALUE", arg);
		return EXIT_USAGE;
	}
	memcpy(name, arg, len);
	name[len] = '\0';
	err = cli_check_knob(name, eq + 1, &knob, NULL);
	if (err == -ENOENT) {
		cli_err("run", "--set %s: no knob '%s' (see gpuvm set --list)", arg, name);
		return EXIT_USAGE;
	}
	if (err) {
		cli_err("run", "--set %s: %s", arg, strerror(-err));
		return EXIT_USAGE;
	}
	strcpy(env, "GPUVM_");
	for (i = 0; i < len; i++)
		env[6 + i] = (char)toupper((unsigned char)name[i]);
	env[6 + len] = '\0';
	if (setenv(env, eq + 1, 1)) {
		cli_err("run", "setenv %s: %s", env, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * A sanitizer build of the shim needs its runtime loaded before it (ASan
 * and TSan refuse to start otherwise, and the programs run are not
 * instrumented): the runtime this command itself runs with is that one.
 */
static int find_sanitizer_runtime(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *base = strrchr(info->dlpi_name, '/');

	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, "libasan.so", 10) && strncmp(base, "libtsan.so", 10))
		return 0;
	snprintf(data, PATH_MAX, "%s", info->dlpi_name);
	return 1;
}

/* LD_PRELOAD=[<sanitizer runtime>:]<shim>[:<driver>][:<what was there>] */
static int set_preload(const char *driver)
{
	const char *old = getenv("LD_PRELOAD");
	char shim[PATH_MAX], rt[PATH_MAX] = "", *val;
	int n;

	/* beside libgpuvm (installed or built), else bin/../lib */
	n = snprintf(shim, sizeof(shim), "%s/" PRELOAD_NAME, cli_lib_dir());
	if (n < 0 || (size_t)n >= sizeof(shim) || access(shim, R_OK))
		n = snprintf(shim, sizeof(shim), "%s/../lib/" PRELOAD_NAME, cli_self_dir());
	if (n < 0 || (size_t)n >= sizeof(shim) || access(shim, R_OK)) {
		cli_err("run", "the preload shim %s is missing (build it with make)", shim);
		return 1;
	}
	dl_iterate_phdr(find_sanitizer_runtime, rt);
	if (rt[0] && old && strstr(old, rt))
		rt[0] = '\0';		/* already there, in front of us */
	if (asprintf(&val, "%s%s%s%s%s%s%s", rt, rt[0] ? ":" : "", shim,
		     driver ? ":" : "", driver ? driver : "",
		     old && *old ? ":" : "", old && *old ? old : "") < 0)
		return 1;
	n = setenv("LD_PRELOAD", val, 1);
	free(val);
	return n ? 1 : 0;
}

/*
 * Put PyTorch's allocator on gpuvm unless told otherwise.
 * Return: the line to print ("" when there is nothing to say), or NULL when
 * the environment could not be set.
 */
static const char *framework_cache_off(bool keep)
{
	const char *v = getenv("PYTORCH_NO_CUDA_MEMORY_CACHING");
	const char *conf = getenv("PYTORCH_CUDA_ALLOC_CONF");

	if (keep)
		return "";
	if (v)
		return "";	/* the user's choice, whatever it is */
	if (conf)
		return "gpuvm: PYTORCH_CUDA_ALLOC_CONF is set: PyTorch's caching allocator "
		       "stays on (set PYTORCH_NO_CUDA_MEMORY_CACHING=1 to put it on gpuvm)";
	if (setenv("PYTORCH_NO_CUDA_MEMORY_CACHING", "1", 1))
		return NULL;
	return "gpuvm: PYTORCH_NO_CUDA_MEMORY_CACHING=1: PyTorch allocates through gpuvm "
	       "(--keep-framework-cache keeps its cache)";
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Start gpuvmfs (from beside this command) in the foreground at @dir.
 * Return: its pid once the mount is there, 0 when it could not be started
 * (reported; the run goes on without it).
 */
static pid_t start_gpuvmfs(const char *dir, const char *rundir)
{
	char prog[PATH_MAX], opt[PATH_MAX + 16];
	int waited, status;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/gpuvmfs", cli_self_dir());
	if (access(prog, X_OK)) {
		cli_err("run", "%s is missing: running without a mount", prog);
		return 0;
	}
	if (access("/dev/fuse", R_OK | W_OK)) {
		cli_err("run", "FUSE is not available (/dev/fuse): running without a mount");
		return 0;
	}
	snprintf(opt, sizeof(opt), "--rundir=%s", rundir);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_err("run", "fork: %s", strerror(errno));
		return 0;
	}
	if (!pid) {
		execl(prog, "gpuvmfs", "-f", opt, dir, (char *)NULL);
		_exit(127);
	}
	for (waited = 0; waited < MOUNT_WAIT_MS; waited += 20) {
		if (cli_is_gpuvmfs(dir))
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			cli_err("run", "gpuvmfs could not mount %s: running without it", dir);
			return 0;
		}
		sleep_ms(20);
	}
	cli_err("run", "gpuvmfs did not mount %s in time: running without it", dir);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return 0;
}

static void stop_gpuvmfs(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	/* SIGTERM: gpuvmfs unmounts and exits */
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mount", required_argument, NULL, 'M' },
		{ "set", required_argument, NULL, 's' },
		{ "rundir", required_argument, NULL, 'R' },
		{ "driver", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "keep-framework-cache", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *mount = NULL, *rundir = NULL, *choice = NULL, *env, *line;
	struct cli_driver drv;
	char own[PATH_MAX];
	struct sigaction sa, old[4];
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	bool quiet = false, made_dir = false, keep_cache = false;
	pid_t fs_pid = 0, pid;
	int c, status, ret, err;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+M:s:R:d:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			mount = optarg;
			break;
		case 's':
			ret = apply_set(optarg);
			if (ret)
				return ret;
			break;
		case 'R':
			rundir = optarg;
			break;
		case 'd':
			choice = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'K':
			keep_cache = true;
			break;
		case 'h':
			cli_usage("run", false);
			return 0;
		default:
			cli_usage("run", true);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("run", "no program to run");
		cli_usage("run", true);
		return EXIT_USAGE;
	}
	/*
	 * The driver first: a --driver that does not work ends the run; with
	 * none named the program runs anyway (it may need no device).
	 */
	err = cli_driver_pick(choice, &drv);
	if (err && choice) {
		cli_err("run", "--driver %s: %s", choice, drv.line + strlen("driver: "));
		return 1;
	}
	if (!quiet || err)
		fprintf(stderr, "gpuvm: %s\n", drv.line);
	if (!err && cli_driver_export(&drv)) {
		cli_err("run", "cannot set the driver's environment: %s", strerror(errno));
		return 1;
	}
	if (set_preload(err ? NULL : cli_driver_preload(&drv)))
		return 1;
	line = framework_cache_off(keep_cache);
	if (!line) {
		cli_err("run", "cannot set PYTORCH_NO_CUDA_MEMORY_CACHING: %s", strerror(errno));
		return 1;
	}
	if (!quiet && *line)
		fprintf(stderr, "%s\n", line);
	env = getenv("GPUVM_RUNDIR");
	if (!rundir)
		rundir = env && *env ? env : gpuvm_rundir_default(own, sizeof(own), geteuid());
	if (setenv("GPUVM_RUNDIR", rundir, 1))
		return 1;
	if (mount && !cli_is_gpuvmfs(mount)) {
		if (mkdir(mount, 0755) == 0)
			made_dir = true;
		fs_pid = start_gpuvmfs(mount, rundir);
		if (fs_pid && !quiet)
			fprintf(stderr, "gpuvm: gpuvmfs mounted at %s for this run\n", mount);
	}

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_err("run", "fork: %s", strerror(errno));
		ret = 1;
		goto out_unmount;
	}
	if (!pid) {
		execvp(argv[optind], argv + optind);
		ret = errno;
		cli_err("run", "%s: %s", argv[optind], strerror(ret));
		_exit(ret == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < 4; i++)
		sigaction(fwd[i], &sa, &old[i]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 1 << 8;
			break;
		}
	}
	for (i = 0; i < 4; i++)
		sigaction(fwd[i], &old[i], NULL);
	child_pid = 0;
	if (WIFSIGNALED(status))
		ret = 128 + WTERMSIG(status);
	else
		ret = WEXITSTATUS(status);
out_unmount:
	stop_gpuvmfs(fs_pid);
	if (made_dir)
		rmdir(mount);
	return ret;
}
