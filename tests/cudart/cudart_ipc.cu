// SPDX-License-Identifier: MIT
/*
 * cudart_ipc.cu - cudaIpcGetMemHandle / cudaIpcOpenMemHandle between two
 * processes: the exporter starts itself again as a consumer (fork and
 * exec, so the consumer has a runtime of its own), which reads the
 * exporter's bytes, writes its own and closes; the exporter reads them.
 * A 24 MiB and a 4 KiB allocation; the handle travels on the command line.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "cudart_test.h"

static const size_t sizes[] = { 24 << 20, 4096 };

static int consumer(const char *hex, size_t size, unsigned seed)
{
	cudaIpcMemHandle_t h;
	unsigned char *buf = (unsigned char *)malloc(size);
	void *p = NULL;
	unsigned v;

	runtime_up();
	EXPECT(buf && strlen(hex) == 2 * sizeof(h));
	for (size_t i = 0; i < sizeof(h); i++) {
		EXPECT(sscanf(hex + 2 * i, "%2x", &v) == 1);
		h.reserved[i] = (char)v;
	}
	CHECK(cudaIpcOpenMemHandle(&p, h, cudaIpcMemLazyEnablePeerAccess));
	CHECK(cudaMemcpy(buf, p, size, cudaMemcpyDeviceToHost));
	EXPECT(same(buf, size, seed));
	fill(buf, size, seed + 1);
	CHECK(cudaMemcpy(p, buf, size, cudaMemcpyHostToDevice));
	CHECK(cudaDeviceSynchronize());
	CHECK(cudaIpcCloseMemHandle(p));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *buf = (unsigned char *)malloc(sizes[0]);
	char hex[2 * sizeof(cudaIpcMemHandle_t) + 1], ssize[32], sseed[16];
	cudaIpcMemHandle_t h;
	void *d[2];
	int status;

	if (argc == 4)
		return consumer(argv[1], strtoul(argv[2], NULL, 0),
				(unsigned)strtoul(argv[3], NULL, 0));
	runtime_up();
	EXPECT(buf);
	for (int i = 0; i < 2; i++) {
		CHECK(cudaMalloc(&d[i], sizes[i]));
		fill(buf, sizes[i], 40 + i);
		CHECK(cudaMemcpy(d[i], buf, sizes[i], cudaMemcpyHostToDevice));
		CHECK(cudaIpcGetMemHandle(&h, d[i]));
		for (size_t k = 0; k < sizeof(h); k++)
			sprintf(hex + 2 * k, "%02x", (unsigned char)h.reserved[k]);
		snprintf(ssize, sizeof(ssize), "%zu", sizes[i]);
		snprintf(sseed, sizeof(sseed), "%d", 40 + i);
		fflush(NULL);
		pid_t pid = fork();
		EXPECT(pid >= 0);
		if (!pid) {
			execl(argv[0], argv[0], hex, ssize, sseed, (char *)NULL);
			_exit(127);
		}
		EXPECT(waitpid(pid, &status, 0) == pid);
		EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK(cudaMemcpy(buf, d[i], sizes[i], cudaMemcpyDeviceToHost));
		EXPECT(same(buf, sizes[i], 41 + i));
		CHECK(cudaFree(d[i]));
	}
	free(buf);
	printf("ok\n");
	return 0;
}
