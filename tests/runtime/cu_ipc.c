// SPDX-License-Identifier: MIT
/*
 * cu_ipc.c - legacy CUDA IPC between unmodified driver-API processes.
 *
 * Usage: cu_ipc routed       the whole test, as the exporter: it starts
 *                            consumers (itself, in another mode) and checks
 *                            what they did;
 *        cu_ipc consumer MODE HANDLE SIZE SEED   (what the exporter starts)
 *        cu_ipc exporter SIZE SEED               (frees its memory and exits
 *                                                 while a consumer reads it)
 *
 * HANDLE is the 64-byte handle in hex.  With CU_IPC_NOBODY=1 (the test
 * runs as root) a consumer started as user nobody must be refused; with
 * CU_IPC_GPUVM=<the gpuvm command>, its maps must mark both ends.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"

/* Not in the compat cuda.h (cudasim refuses them): as CUDA's cuda.h has them. */
#define CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS	0x1
CUresult cuIpcOpenMemHandle_v2(CUdeviceptr *pdptr, CUipcMemHandle handle, unsigned int flags);
CUresult cuIpcCloseMemHandle(CUdeviceptr dptr);
#define cuIpcOpenMemHandle	cuIpcOpenMemHandle_v2

#define MIB		(1ul << 20)

static void fill(unsigned char *buf, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 12));
}

static void write_pattern(CUdeviceptr p, size_t n, unsigned int seed)
{
	unsigned char *buf = malloc(n);

	EXPECT(buf);
	fill(buf, n, seed);
	CHECK(cuMemcpyHtoD(p, buf, n));
	free(buf);
}

static bool has_pattern(CUdeviceptr p, size_t n, unsigned int seed)
{
	unsigned char *got = malloc(n), *want = malloc(n);
	bool same;

	EXPECT(got && want);
	CHECK(cuMemcpyDtoH(got, p, n));
	fill(want, n, seed);
	same = !memcmp(got, want, n);
	free(got);
	free(want);
	return same;
}

static void to_hex(const CUipcMemHandle *h, char *out)
{
	int i;

	for (i = 0; i < CU_IPC_HANDLE_SIZE; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)h->reserved[i]);
}

static void from_hex(const char *s, CUipcMemHandle *h)
{
	unsigned int v;
	int i;

	EXPECT(strlen(s) == 2 * CU_IPC_HANDLE_SIZE);
	for (i = 0; i < CU_IPC_HANDLE_SIZE; i++) {
		EXPECT(sscanf(s + 2 * i, "%2x", &v) == 1);
		h->reserved[i] = (char)v;
	}
}

static CUdevice setup(void)
{
	CUcontext ctx;
	CUdevice dev;

	CHECK(cuInit(0));
	CHECK(cuDeviceGet(&dev, 0));
	CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
	CHECK(cuCtxSetCurrent(ctx));
	return dev;
}

/* Read a line from @fd (a pipe) into @buf. */
static void read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
}

/*
 * The consumer: "rw" reads SEED, opens twice (same address), writes
 * SEED + 1; "read" checks SEED; "bad" must be refused; "hold" opens, says
 * "ready", waits for a line on stdin (or a SIGKILL), then reads SEED,
 * writes SEED + 2 and reads it back.
 */
static int consumer(const char *mode, const char *hex, size_t size, unsigned int seed)
{
	CUdeviceptr p = 0, q = 0;
	CUipcMemHandle h;
	CUdevice dev = setup();
	char line[16];
	CUresult r;

	from_hex(hex, &h);
	r = cuIpcOpenMemHandle(&p, h, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
	if (!strcmp(mode, "bad")) {
		EXPECT_RES(r, CUDA_ERROR_INVALID_VALUE);
		EXPECT(p == 0);
		goto out;
	}
	CHECK(r);
	EXPECT(has_pattern(p, size, seed));
	if (!strcmp(mode, "rw")) {
		CHECK(cuIpcOpenMemHandle(&q, h, 0));
		EXPECT(q == p);
		CHECK(cuIpcCloseMemHandle(q));
		EXPECT(has_pattern(p, size, seed));
		write_pattern(p, size, seed + 1);
	} else if (!strcmp(mode, "hold")) {
		printf("ready\n");
		fflush(stdout);
		read_line(0, line, sizeof(line));
		EXPECT(has_pattern(p, size, seed));
		write_pattern(p, size, seed + 2);
		EXPECT(has_pattern(p, size, seed + 2));
	}
	CHECK(cuIpcCloseMemHandle(p));
	EXPECT_RES(cuIpcCloseMemHandle(p), CUDA_ERROR_INVALID_VALUE);
out:
	CHECK(cuDevicePrimaryCtxRelease(dev));
	return 0;
}

/* Start this program as a consumer; its stdin and stdout on pipes when asked. */
static pid_t spawn(const char *self, bool as_nobody, const char *mode, const char *hex,
		   size_t size, unsigned int seed, int *to, int *from)
{
	char ssize[32], sseed[16];
	int in[2], out[2];
	pid_t pid;

	snprintf(ssize, sizeof(ssize), "%zu", size);
	snprintf(sseed, sizeof(sseed), "%u", seed);
	EXPECT(!pipe(in) && !pipe(out));
	fflush(NULL);
	pid = fork();
	EXPECT(pid >= 0);
	if (!pid) {
		dup2(in[0], 0);
		if (from)
			dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		if (as_nobody)
			execlp("setpriv", "setpriv", "--reuid=nobody", "--regid=nogroup",
			       "--clear-groups", self, "consumer", mode, hex, ssize, sseed,
			       (char *)NULL);
		else
			execl(self, self, "consumer", mode, hex, ssize, sseed, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (to)
		*to = in[1];
	else
		close(in[1]);
	if (from)
		*from = out[0];
	else
		close(out[0]);
	return pid;
}

static int wait_ok(pid_t pid)
{
	int status;

	EXPECT(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The exporter that frees and exits: prints its handle, waits for "go". */
static int exporter(size_t size, unsigned int seed)
{
	CUdeviceptr p, other[4];
	CUdevice dev = setup();
	CUipcMemHandle h;
	char hex[2 * CU_IPC_HANDLE_SIZE + 1], line[16];
	int i;

	CHECK(cuMemAlloc(&p, size));
	write_pattern(p, size, seed);
	CHECK(cuIpcGetMemHandle(&h, p));
	to_hex(&h, hex);
	printf("%s\n", hex);
	fflush(stdout);
	read_line(0, line, sizeof(line));
	CHECK(cuMemFree(p));
	/* what it allocates now must not land on the memory a consumer holds */
	for (i = 0; i < 4; i++) {
		CHECK(cuMemAlloc(&other[i], size));
		write_pattern(other[i], size, seed + 50 + i);
	}
	for (i = 0; i < 4; i++)
		CHECK(cuMemFree(other[i]));
	CHECK(cuDevicePrimaryCtxRelease(dev));
	return 0;
}

int main(int argc, char **argv)
{
	/* two stitched from chunks of several allocations, one sub-allocated */
	static const size_t sizes[] = { 40 * MIB + 64 * 1024, 3 * MIB, 12 * 1024 };
	char hex[3][2 * CU_IPC_HANDLE_SIZE + 1], forged[2 * CU_IPC_HANDLE_SIZE + 1];
	char line[2 * CU_IPC_HANDLE_SIZE + 8];
	CUipcMemHandle h[3], again;
	CUdeviceptr p[3], other[64];
	pid_t pid[8];
	CUdevice dev;
	int i, k, to, from;

	if (argc == 6 && !strcmp(argv[1], "consumer"))
		return consumer(argv[2], argv[3], strtoul(argv[4], NULL, 0),
				(unsigned int)strtoul(argv[5], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "exporter"))
		return exporter(strtoul(argv[2], NULL, 0), (unsigned int)strtoul(argv[3], NULL, 0));
	cutest_mode(argc, argv);
	if (!routed) {
		printf("ok (legacy IPC of the driver's own memory is not cudasim's)\n");
		return 0;
	}
	dev = setup();
	for (i = 0; i < 3; i++) {
		CHECK(cuMemAlloc(&p[i], sizes[i]));
		write_pattern(p[i], sizes[i], 10 + i);
		CHECK(cuIpcGetMemHandle(&h[i], p[i]));
		/* an interior pointer names the same allocation: the same handle */
		CHECK(cuIpcGetMemHandle(&again, p[i] + sizes[i] / 2));
		EXPECT(!memcmp(&again, &h[i], sizeof(again)));
		to_hex(&h[i], hex[i]);
	}
	/* both directions: the consumer reads ours and writes, we read its */
	for (i = 0; i < 3; i++) {
		EXPECT(wait_ok(spawn(argv[0], false, "rw", hex[i], sizes[i], 10 + i,
				     NULL, NULL)) == 0);
		EXPECT(has_pattern(p[i], sizes[i], 11 + i));
	}
	/* eight consumers at once */
	for (k = 0; k < 8; k++)
		pid[k] = spawn(argv[0], false, "read", hex[k % 3], sizes[k % 3], 11 + (k % 3),
			       NULL, NULL);
	for (k = 0; k < 8; k++)
		EXPECT(wait_ok(pid[k]) == 0);
	/* a consumer killed while it holds the memory */
	pid[0] = spawn(argv[0], false, "hold", hex[0], sizes[0], 11, &to, &from);
	read_line(from, line, sizeof(line));
	EXPECT(!strcmp(line, "ready"));
	if (getenv("CU_IPC_GPUVM")) {
		/* maps marks both ends, naming the exporter at the importer */
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "%s maps --direct %d | grep -q ' exported$' && "
			 "%s maps --direct %d | grep -q ' imported-from=%d$'",
			 getenv("CU_IPC_GPUVM"), (int)getpid(), getenv("CU_IPC_GPUVM"),
			 (int)pid[0], (int)getpid());
		EXPECT(system(cmd) == 0);
	}
	kill(pid[0], SIGKILL);
	EXPECT(wait_ok(pid[0]) == 128 + SIGKILL);
	close(to), close(from);
	EXPECT(has_pattern(p[0], sizes[0], 11));
	/* forged: a token byte changed; truncated: its second half zero */
	memcpy(forged, hex[0], sizeof(forged));
	forged[2 * 40] = forged[2 * 40] == '0' ? '1' : '0';
	EXPECT(wait_ok(spawn(argv[0], false, "bad", forged, sizes[0], 0, NULL, NULL)) == 0);
	memset(forged + CU_IPC_HANDLE_SIZE, '0', CU_IPC_HANDLE_SIZE);
	EXPECT(wait_ok(spawn(argv[0], false, "bad", forged, sizes[0], 0, NULL, NULL)) == 0);
	if (getenv("CU_IPC_NOBODY"))
		EXPECT(wait_ok(spawn(argv[0], true, "bad", hex[0], sizes[0], 0, NULL,
				     NULL)) == 0);
	/* freed: its handle opens nothing, whatever takes the address */
	CHECK(cuMemFree(p[1]));
	CHECK(cuMemAlloc(&p[1], sizes[1]));
	EXPECT(wait_ok(spawn(argv[0], false, "bad", hex[1], sizes[1], 0, NULL, NULL)) == 0);
	CHECK(cuMemFree(p[1]));

	/* a freed shared object: its bytes are never handed out again */
	pid[0] = spawn(argv[0], false, "hold", hex[2], sizes[2], 13, &to, &from);
	read_line(from, line, sizeof(line));
	EXPECT(!strcmp(line, "ready"));
	CHECK(cuMemFree(p[2]));
	CHECK(cuCtxSynchronize());
	for (k = 0; k < 64; k++) {
		CHECK(cuMemAlloc(&other[k], sizes[2]));
		EXPECT(other[k] + sizes[2] <= p[2] || other[k] >= p[2] + sizes[2]);
		write_pattern(other[k], sizes[2], 70 + k);
	}
	EXPECT(write(to, "check\n", 6) == 6);
	EXPECT(wait_ok(pid[0]) == 0);
	close(to), close(from);
	for (k = 0; k < 64; k++) {
		EXPECT(has_pattern(other[k], sizes[2], 70 + k));
		CHECK(cuMemFree(other[k]));
	}

	/* the exporter frees and exits while a consumer holds its memory */
	for (i = 0; i < 3; i += 2) {
		char ssize[32], *args[5];
		int ein[2], eout[2];
		pid_t e;

		snprintf(ssize, sizeof(ssize), "%zu", sizes[i]);
		args[0] = argv[0], args[1] = "exporter", args[2] = ssize, args[3] = "30";
		args[4] = NULL;
		EXPECT(!pipe(ein) && !pipe(eout));
		fflush(NULL);
		e = fork();
		EXPECT(e >= 0);
		if (!e) {
			dup2(ein[0], 0), dup2(eout[1], 1);
			close(ein[0]), close(ein[1]), close(eout[0]), close(eout[1]);
			execv(argv[0], args);
			_exit(127);
		}
		close(ein[0]), close(eout[1]);
		read_line(eout[0], line, sizeof(line));
		pid[0] = spawn(argv[0], false, "hold", line, sizes[i], 30, &to, &from);
		read_line(from, line, sizeof(line));
		EXPECT(!strcmp(line, "ready"));
		EXPECT(write(ein[1], "go\n", 3) == 3);
		EXPECT(wait_ok(e) == 0);
		EXPECT(write(to, "check\n", 6) == 6);
		EXPECT(wait_ok(pid[0]) == 0);
		close(ein[1]), close(eout[0]), close(to), close(from);
	}
	CHECK(cuMemFree(p[0]));
	CHECK(cuDevicePrimaryCtxRelease(dev));
	printf("ok\n");
	return 0;
}
