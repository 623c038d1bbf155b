// SPDX-License-Identifier: MIT
/*
 * gpuvmfs.c - gpuvmfs: mount /gpuvm.
 *
 *   gpuvmfs [options] MOUNTPOINT
 *     -f                foreground       -d   debug (implies -f)
 *     -s                single-threaded  -o   mount options
 *     --rundir=DIR      where processes publish (default: $GPUVM_RUNDIR,
 *                       else each user's own GPUVM_RUNDIR_DEFAULT)
 *     --metrics-listen=ADDR:PORT
 *                       serve /gpuvm/metrics over HTTP too (metrics_http.c)
 *
 * Mounted by root, the filesystem gets allow_other and default_permissions
 * (everyone sees it, the kernel enforces the modes, each process's files
 * belong to its user) and, with no directory named, serves every user's
 * own run directory; mounted by a user, it shows that user's processes.
 * SIGINT, SIGTERM and SIGHUP unmount cleanly.
 */
#define FUSE_USE_VERSION 35

#include <ctype.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvmfs/gpuvmfs.h>
#include "fuse_ops.h"

struct gpuvmfs_opts {
	char *rundir;
	char *metrics_listen;	/* ADDR:PORT, or NULL: no HTTP */
};

static const struct fuse_opt gpuvmfs_opt_spec[] = {
	{ "--rundir=%s", offsetof(struct gpuvmfs_opts, rundir), 0 },
	{ "rundir=%s", offsetof(struct gpuvmfs_opts, rundir), 0 },
	/* "--metrics-listen ADDR", and "--metrics-listen=ADDR" as "=ADDR" */
	{ "--metrics-listen %s", offsetof(struct gpuvmfs_opts, metrics_listen), 0 },
	{ "metrics_listen=%s", offsetof(struct gpuvmfs_opts, metrics_listen), 0 },
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n\n"
	       "Shows what gpuvm holds in every process using it, and tunes it.\n\n"
	       "    --rundir=DIR       run directory of the state segments\n"
	       "                       (default $GPUVM_RUNDIR, else each user's own\n"
	       "                       %s; root serves them all)\n"
	       "    -o rundir=DIR      the same\n"
	       "    --metrics-listen=ADDR:PORT\n"
	       "                       serve /gpuvm/metrics over HTTP at GET /metrics too:\n"
	       "                       127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464 (every\n"
	       "                       interface); PORT alone is 127.0.0.1, 0 any free port\n"
	       "    -o metrics_listen=ADDR:PORT\n"
	       "                       the same\n\n",
	       prog, GPUVM_RUNDIR_DEFAULT);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/*
 * Our own run directory (the defaults file lives there) is made like a
 * process would make it: mode 0700.  A named one is the caller's to make.
 */
static void rundir_prepare(const struct gpuvmfs *fs, bool named)
{
	if (!named)
		mkdir(fs->rundir, 0700);
}

/*
 * -ofsname=gpuvmfs:SERVED: the mount's source in /proc/self/mountinfo says
 * which run directory it serves ("per-user": every user's own), so the
 * gpuvm command picks the mount that shows its processes without reading
 * through FUSE.  A path the option syntax or mountinfo would mangle (a
 * comma, a backslash, white space) leaves it at plain "gpuvmfs".
 */
static void fsname_served(const struct gpuvmfs *fs, char *buf, size_t len)
{
	char real[PATH_MAX];
	const char *dir = fs->rundir, *p;

	if (fs->per_user) {
		snprintf(buf, len, "-ofsname=gpuvmfs:per-user");
		return;
	}
	if (realpath(dir, real))
		dir = real;
	for (p = dir; *p; p++) {
		if (*p == ',' || *p == '\\' || isspace((unsigned char)*p) || !isprint((unsigned char)*p)) {
			snprintf(buf, len, "-ofsname=gpuvmfs");
			return;
		}
	}
	snprintf(buf, len, "-ofsname=gpuvmfs:%s", dir);
}

static int metrics_text(void *fs, struct gpuvmfs_buf *b)
{
	return gpuvmfs_metrics_text(fs, b);
}

/*
 * --metrics-listen binds before the mount, so a malformed address (exit
 * status 2, as for bad usage) or a busy one (1) fails at once, on the
 * terminal; the threads start after fuse_daemonize()'s fork.
 */
static int metrics_listen(const char *text, struct gpuvmfs_http **http)
{
	const char *why;
	int err;

	if (text[0] == '=')
		text++;
	err = gpuvmfs_http_listen(text, http, &why);
	if (err == -EINVAL && why) {
		fprintf(stderr, "gpuvmfs: --metrics-listen '%s': %s\n", text, why);
		return 2;
	}
	if (err) {
		fprintf(stderr, "gpuvmfs: cannot listen on %s: %s\n", text, strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_loop_config loop = { .clone_fd = 0, .max_idle_threads = 10 };
	struct gpuvmfs_opts opts = { NULL };
	struct gpuvmfs_http *http = NULL;
	struct fuse_cmdline_opts cmd;
	struct fuse_session *se;
	char own[PATH_MAX], fsname[PATH_MAX + 32];
	struct gpuvmfs fs;
	const char *env;
	bool named;
	int ret = 1;

	memset(&fs, 0, sizeof(fs));
	if (fuse_opt_parse(&args, &opts, gpuvmfs_opt_spec, NULL) < 0)
		return 1;
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		goto out_args;
	if (cmd.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_cmd;
	}
	if (cmd.show_version) {
		printf("gpuvmfs %s (segment %d.%d), libfuse %s\n", GPUVMFS_VERSION,
		       GPUVM_SEG_VERSION_MAJOR, GPUVM_SEG_VERSION_MINOR, fuse_pkgversion());
		ret = 0;
		goto out_cmd;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr, "gpuvmfs: no mount point (try --help)\n");
		goto out_cmd;
	}

	env = getenv("GPUVM_RUNDIR");
	fs.uid = getuid();
	fs.gid = getgid();
	fs.show_all = fs.uid == 0;
	named = opts.rundir || (env && *env);
	/* root with no directory named serves every user's own */
	fs.per_user = fs.show_all && !named;
	fs.rundir = strdup(opts.rundir ? opts.rundir : env && *env ? env :
			   gpuvm_rundir_default(own, sizeof(own), fs.uid));
	if (!fs.rundir)
		goto out_cmd;
	clock_gettime(CLOCK_REALTIME, &fs.started);
	pthread_mutex_init(&fs.proc_lock, NULL);
	rundir_prepare(&fs, named);
	/* the daemon leaves the working directory: a relative one must hold */
	if (fs.rundir[0] != '/' && realpath(fs.rundir, own)) {
		free(fs.rundir);
		fs.rundir = strdup(own);
		if (!fs.rundir)
			goto out_fs;
	}
	if (opts.metrics_listen) {
		ret = metrics_listen(opts.metrics_listen, &http);
		if (ret)
			goto out_fs;
		ret = 1;
	}

	fsname_served(&fs, fsname, sizeof(fsname));
	if (fuse_opt_add_arg(&args, fsname) ||
	    fuse_opt_add_arg(&args, "-osubtype=gpuvm,default_permissions") ||
	    (fs.show_all && fuse_opt_add_arg(&args, "-oallow_other")))
		goto out_fs;

	se = fuse_session_new(&args, &gpuvmfs_ops, sizeof(gpuvmfs_ops), &fs);
	if (!se)
		goto out_fs;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out_signals;
	if (http) {
		printf("gpuvmfs: serving http://%s/metrics\n", gpuvmfs_http_address(http));
		fflush(stdout);
	}
	if (fuse_daemonize(cmd.foreground) != 0)
		goto out_unmount;
	if (http) {
		int err = gpuvmfs_http_start(http, metrics_text, &fs);

		if (err) {
			fprintf(stderr, "gpuvmfs: metrics server: %s\n", strerror(-err));
			goto out_unmount;
		}
	}

	if (cmd.singlethread)
		ret = fuse_session_loop(se);
	else
		ret = fuse_session_loop_mt(se, &loop);
	/* a positive value is the signal that ended the loop: a clean exit */
	ret = ret < 0 ? 1 : 0;

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_fs:
	gpuvmfs_http_close(http);
	gpuvmfs_proc_exit(&fs);
	pthread_mutex_destroy(&fs.proc_lock);
	free(fs.rundir);
out_cmd:
	free(cmd.mountpoint);
out_args:
	free(opts.rundir);
	free(opts.metrics_listen);
	fuse_opt_free_args(&args);
	return ret;
}
