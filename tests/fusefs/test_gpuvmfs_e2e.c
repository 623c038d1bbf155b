// SPDX-License-Identifier: MIT
/*
 * test_gpuvmfs_e2e - a real mount over a real process using gpuvm on
 * cudasim: this program.
 *
 * It allocates through libgpuvm (publishing its state segment), mounts
 * gpuvmfs in a temporary folder and reads its own files while it is held
 * mid-run: status, maps and pagetable must match what it allocated.  Then
 * through the files: a limit below its usage makes its next over-limit
 * allocation fail with -ENOMEM; reclaim hands cached chunks back (status
 * and cudasim's counters agree); a chunk size applies to new allocations;
 * every kind of bad write fails with EINVAL/ERANGE and changes nothing;
 * user nobody cannot write.  A child process running gpuvm is killed with
 * SIGKILL: its directory goes.  The daemon is restarted: this process is
 * found again.  Skips (77) without /dev/fuse, fusermount3, a mount, or a
 * driver.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#define MiB	((uint64_t)1 << 20)

static char tmp[] = "/tmp/test_gpuvmfs_e2e.XXXXXX";
static char mnt[256], run[256], dir[300];
static pid_t daemon_pid = -1;
static int failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			failures++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fprintf(stderr, "\n");				\
		}							\
	} while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Poll @fn up to 5 s. */
static bool wait_for(bool (*fn)(const char *), const char *arg)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (fn(arg))
			return true;
		sleep_ms(100);
	}
	return false;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool gone(const char *path)
{
	return !exists(path);
}

/* A file's whole text (static buffer), or NULL with errno. */
static char *slurp(const char *fmt, ...)
{
	static char buf[1 << 20];
	char path[512];
	va_list ap;
	ssize_t n, len = 0;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		return NULL;
	buf[len] = '\0';
	return buf;
}

/* "key: value" of a status-like file, as a number; ~0 when absent. */
static uint64_t key(const char *file, const char *k)
{
	char *text = slurp("%s/%s", dir, file), *p;
	size_t klen = strlen(k);

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, k, klen) && p[klen] == ':')
			return strtoull(p + klen + 1, NULL, 0);
	return ~0ull;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* Write @text to dir/@file in one write(2); 0 or -errno. */
static int put(const char *file, const char *text)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int start_daemon(void)
{
	char bin[512], log[300];
	int fd;

	snprintf(bin, sizeof(bin), "%s/bin/gpuvmfs", getenv("GPUVM_BUILD"));
	snprintf(log, sizeof(log), "%s/fs.log", tmp);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, "gpuvmfs", "-f", mnt, NULL);
		_exit(127);
	}
	snprintf(log, sizeof(log), "%s/version", mnt);
	if (wait_for(exists, log))
		return 0;
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
	return -1;
}

static int stop_daemon(void)
{
	int status = -1;

	if (daemon_pid < 0)
		return 0;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, &status, 0);
	daemon_pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void cleanup(void)
{
	char cmd[600];

	stop_daemon();
	snprintf(cmd, sizeof(cmd), "fusermount3 -u %s 2>/dev/null; rm -rf %s", mnt, tmp);
	if (system(cmd))
		fprintf(stderr, "cleanup failed\n");
}

/* cudasim's stats, when the driver is cudasim. */
static int sim_stats(size_t *bytes_used, unsigned long *releases)
{
	static int (*stats)(int, void *);
	static unsigned long (*calls)(const char *);
	struct {
		unsigned long allocations, handles, mappings, reservations;
		size_t bytes_total, bytes_used, bytes_alloc, bytes_mapped, bytes_reserved;
	} st;
	void *h;

	if (!stats) {
		h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
		if (!h)
			return -1;
		stats = (int (*)(int, void *))dlsym(h, "cudasim_stats");
		calls = (unsigned long (*)(const char *))dlsym(h, "cudasim_call_count");
		dlclose(h);
		if (!stats || !calls)
			return -1;
	}
	if (stats(0, &st))
		return -1;
	*bytes_used = st.bytes_used;
	*releases = calls("cuMemRelease");
	return 0;
}

/* The child: a second process using gpuvm, held until killed. */
static int child_main(void)
{
	gpuvm_ptr_t p;

	if (gpuvm_alloc(0, 4 * MiB, 0, &p))
		return 1;
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}

static void check_state(gpuvm_ptr_t *ptrs, int nr)
{
	struct gpuvm_stats st;
	struct gpuvm_alloc_info info;
	char *text, *eol, line[128], path[64];
	int i, owned;

	CHECK(!gpuvm_stats(0, &st), "gpuvm_stats");
	CHECK(key("status", "pid") == (uint64_t)getpid(), "status pid");
	CHECK(key("status", "live_allocs") == st.live_allocs, "live_allocs %" PRIu64 " vs %" PRIu64,
	      key("status", "live_allocs"), st.live_allocs);
	CHECK(key("status", "requested") == st.requested, "requested");
	CHECK(key("status", "mapped") == st.mapped, "mapped");
	CHECK(key("status", "cached") == st.cached, "cached");

	text = slurp("%s/maps", dir);
	CHECK(text && count_lines(text) == (int)st.live_allocs, "maps lines %d, want %" PRIu64,
	      count_lines(text), st.live_allocs);
	for (i = 0; i < nr; i++) {
		CHECK(!gpuvm_query(ptrs[i], &info), "query");
		text = slurp("%s/maps", dir);
		snprintf(line, sizeof(line), "%012" PRIx64 "-%012" PRIx64 " ", info.base,
			 info.base + info.size);
		CHECK(text && strstr(text, line), "maps lacks %s", line);

		snprintf(path, sizeof(path), "allocs/%" PRIu64 "/info", info.id);
		CHECK(key(path, "base") == info.base, "%s base", path);
		CHECK(key(path, "size") == info.size, "%s size", path);

		/* the page table: this allocation's granules, mapped */
		owned = 0;
		for (text = slurp("%s/pagetable", dir); text && *text; text = eol + 1) {
			unsigned long long va, owner;
			char state[16], chunk[32];

			eol = strchr(text, '\n');
			if (sscanf(text, "%llx %15s %31s %llu", &va, state, chunk, &owner) == 4 &&
			    owner == info.id && !strcmp(state, "mapped"))
				owned++;
			if (!eol)
				break;
		}
		if (!(info.flags & GPUVM_INFO_SMALL))
			CHECK(owned > 0 && (uint64_t)owned * key("status", "granularity") == info.size,
			      "pagetable: %d granules of id %" PRIu64, owned, info.id);
	}
}

static void check_bad_writes(void)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "garbage\n", -EINVAL }, { "-1\n", -EINVAL }, { "\n", -EINVAL },
		{ "12abc\n", -EINVAL }, { "1.5G\n", -EINVAL }, { "4K 4K\n", -EINVAL },
		{ "99999999999999999999999\n", -ERANGE }, { "20000000000G\n", -ERANGE },
		{ "2048T\n", -ERANGE },
	};
	char before[256], big[400];
	unsigned int i;
	int err;

	snprintf(before, sizeof(before), "%s", slurp("%s/policy/limit", dir));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = put("policy/limit", bad[i].text);
		CHECK(err == bad[i].err, "write '%s': %d, want %d", bad[i].text, err, bad[i].err);
	}
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(put("policy/limit", big) == -EINVAL, "too long");
	CHECK(put("policy/placement", "worst-fit\n") == -EINVAL, "unknown choice");
	CHECK(put("policy/chunk_size", "2G\n") == -ERANGE, "chunk_size out of range");
	CHECK(!strcmp(before, slurp("%s/policy/limit", dir)), "limit changed by bad writes");
}

static void check_other_user(void)
{
	char path[512];
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return;
	snprintf(path, sizeof(path), "%s/policy/limit", dir);
	pid = fork();
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		fd = open(path, O_WRONLY);
		if (fd >= 0 && write(fd, "1M\n", 3) == 3)
			_exit(1);	/* it could tune another user's process */
		fd = open(path, O_RDONLY);
		_exit(fd >= 0 ? 0 : 3);	/* but it may read */
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody: status %d", status);
}

static void check_kill_child(const char *self)
{
	char path[512], buf[16];
	int pipefd[2];
	pid_t pid;

	if (pipe(pipefd))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(self, self, "child", NULL);
		_exit(127);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], buf, sizeof(buf)) > 0, "child not ready");
	close(pipefd[0]);
	snprintf(path, sizeof(path), "%s/%d/status", mnt, (int)pid);
	CHECK(wait_for(exists, path), "child %d not shown", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/%d", mnt, (int)pid);
	CHECK(wait_for(gone, path), "child %d still shown after SIGKILL", (int)pid);
	snprintf(path, sizeof(path), "%s/%d.state", run, (int)pid);
	CHECK(wait_for(gone, path), "child's state file left behind");
}

int main(int argc, char **argv)
{
	gpuvm_ptr_t ptrs[3], big, extra;
	struct gpuvm_alloc_info info;
	struct gpuvm_stats st;
	unsigned long rel0, rel1;
	size_t used0, used1;
	uint64_t cached;
	char text[64];
	int err;

	if (argc == 2 && !strcmp(argv[1], "child"))
		return child_main();
	if (access("/dev/fuse", R_OK | W_OK) || system("command -v fusermount3 >/dev/null")) {
		printf("skip: no /dev/fuse or fusermount3\n");
		return 77;
	}
	if (!getenv("GPUVM_BUILD") || !mkdtemp(tmp)) {
		printf("skip: no GPUVM_BUILD\n");
		return 77;
	}
	chmod(tmp, 0755);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
	snprintf(run, sizeof(run), "%s/run", tmp);
	mkdir(mnt, 0755);
	setenv("GPUVM_RUNDIR", run, 1);
	snprintf(dir, sizeof(dir), "%s/%d", mnt, (int)getpid());

	err = gpuvm_init();
	if (err) {
		printf("skip: gpuvm_init: %s\n", strerror(-err));
		cleanup();
		return 77;
	}
	/* three large allocations; free one so it is cached */
	CHECK(!gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_LARGE, &ptrs[0]), "alloc 0");
	CHECK(!gpuvm_alloc(0, 8 * MiB, GPUVM_ALLOC_LARGE, &ptrs[1]), "alloc 1");
	CHECK(!gpuvm_alloc(0, 8 * MiB - 1000, GPUVM_ALLOC_LARGE, &ptrs[2]), "alloc 2");
	CHECK(!gpuvm_free(ptrs[1]), "free 1");
	ptrs[1] = ptrs[2];

	if (start_daemon()) {
		printf("skip: gpuvmfs did not mount (see %s/fs.log)\n", tmp);
		gpuvm_free(ptrs[0]);
		gpuvm_free(ptrs[1]);
		gpuvm_shutdown();
		cleanup();
		return 77;
	}
	CHECK(wait_for(exists, dir), "%s not shown", dir);

	/* paused mid-run: the files show what it holds */
	check_state(ptrs, 2);

	/* reclaim: the cached chunks go back to the driver */
	cached = key("status", "cached");
	CHECK(cached && cached != ~0ull, "nothing cached");
	CHECK(!sim_stats(&used0, &rel0), "cudasim stats");
	CHECK(!put("reclaim", "all\n"), "reclaim");
	CHECK(key("status", "cached") == 0, "cached after reclaim: %" PRIu64,
	      key("status", "cached"));
	CHECK(key("status", "reclaimed") >= cached, "reclaimed");
	CHECK(!sim_stats(&used1, &rel1), "cudasim stats");
	CHECK(used1 + cached <= used0 && rel1 > rel0,
	      "cudasim: bytes_used %zu -> %zu, cuMemRelease %lu -> %lu", used0, used1, rel0, rel1);
	CHECK(put("reclaim", "garbage\n") == -EINVAL, "bad reclaim");

	/* a limit below its usage: the next allocation over it fails */
	CHECK(!gpuvm_stats(0, &st), "stats");
	snprintf(text, sizeof(text), "%" PRIu64 "\n", st.physical - 2 * MiB);
	CHECK(!put("policy/limit", text), "write limit");
	CHECK(strtoull(slurp("%s/policy/limit", dir), NULL, 0) == st.physical - 2 * MiB,
	      "limit reads back: %s", slurp("%s/policy/limit", dir));
	err = gpuvm_alloc(0, 32 * MiB, GPUVM_ALLOC_LARGE, &big);
	CHECK(err == -ENOMEM, "allocation over the limit: %d", err);
	if (!err)
		gpuvm_free(big);
	CHECK(!put("policy/limit", "0\n"), "unset limit");
	err = gpuvm_alloc(0, 32 * MiB, GPUVM_ALLOC_LARGE, &big);
	CHECK(!err, "allocation without a limit: %d", err);
	if (!err)
		gpuvm_free(big);
	put("reclaim", "all\n");

	/* a chunk size: new allocations use it */
	CHECK(!put("policy/chunk_size", "4M\n"), "write chunk_size");
	CHECK(!strcmp(slurp("%s/policy/chunk_size", dir), "4194304\n"), "chunk_size reads %s",
	      slurp("%s/policy/chunk_size", dir));
	err = gpuvm_alloc(0, 16 * MiB, GPUVM_ALLOC_LARGE | GPUVM_ALLOC_NOCACHE, &extra);
	CHECK(!err, "alloc with 4M chunks: %d", err);
	if (!err) {
		CHECK(!gpuvm_query(extra, &info) && info.nr_chunks == 4,
		      "16M in 4M chunks: %u chunks", info.nr_chunks);
		gpuvm_free(extra);
	}
	CHECK(key("status", "chunk_size") == 4 * MiB, "status chunk_size %" PRIu64,
	      key("status", "chunk_size"));

	/* enums show every choice, the active one bracketed */
	CHECK(!strcmp(slurp("%s/policy/placement", dir), "[best-fit] first-fit\n"),
	      "placement: %s", slurp("%s/policy/placement", dir));
	CHECK(!put("policy/placement", "first-fit\n"), "placement write");
	CHECK(!strcmp(slurp("%s/policy/placement", dir), "best-fit [first-fit]\n"),
	      "placement after: %s", slurp("%s/policy/placement", dir));

	check_bad_writes();
	check_other_user();
	check_kill_child(argv[0]);

	/* the daemon restarts: this process is found again, unharmed */
	CHECK(stop_daemon() == 0, "gpuvmfs exit status on SIGTERM");
	CHECK(gone(dir), "still mounted after SIGTERM");
	CHECK(!gpuvm_alloc(0, 2 * MiB, 0, &extra) && !gpuvm_free(extra),
	      "allocation while the daemon is away");
	CHECK(!start_daemon(), "restart");
	CHECK(wait_for(exists, dir), "not found after restart");
	check_state(ptrs, 2);

	gpuvm_free(ptrs[0]);
	gpuvm_free(ptrs[1]);
	gpuvm_shutdown();
	cleanup();
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
