// SPDX-License-Identifier: MIT
/*
 * llmserve - an unmodified CUDA driver-API program that serves an LLM-like
 * workload; the main job (`make run`) runs it plain and under gpuvm.
 *
 * It knows nothing of gpuvm: no gpuvm header, no gpuvm call.  Like the CUDA
 * runtime, it dlopen()s libcuda.so.1 (GPUVM_LIBCUDA may name another path),
 * looks up cuGetProcAddress_v2 with dlsym() and fetches every other entry
 * point through it, so the preload shim catches it exactly where it catches
 * a real framework.
 *
 * The workload: the model's weights are allocated first (a few large
 * tensors), then requests of random lengths (seeded PRNG) arrive, run
 * concurrently and finish at different times.  Each request keeps its KV
 * cache in one contiguous buffer that grows by one block per decoding step
 * the way a naive server grows a tensor: allocate the bigger buffer, copy,
 * free the old one.  Under a contiguous first-fit allocator (plain
 * cuMemAlloc on cudasim with CUDASIM_ALLOC=contiguous, which the main job
 * sets) every freed buffer leaves a hole just too small for the next
 * growth, so the device runs out of memory with plenty free in holes; a
 * request that cannot grow is dropped.  The real driver and paged cudasim
 * map free 2 MiB pages under one range and serve all 40.  Every block is written with
 * cuMemsetD32 and every buffer verified with cuMemcpyDtoH when its request
 * finishes, so data moved by a growth is checked too.
 *
 * Output: human lines prefixed "llmserve:", then "result.KEY=VALUE" lines
 * the main job parses.  With GPUVM_MAINJOB_PAUSE_FIFO naming a fifo it
 * stops mid-run and once more at the end (weights still allocated), prints
 * "llmserve: paused <where> pid=<pid>" and waits until a line is written to
 * the fifo, so a person (or the job script) can look at /gpuvm/<pid>.
 *
 * Exit status: 0 when the run completed and every byte verified (dropped
 * requests are an outcome, not a failure), 1 on a verification or driver
 * error, 2 on bad arguments.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>

#define MiB		((uint64_t)1 << 20)
#define GiB		((uint64_t)1 << 30)
#define ALIGN_2M	(2 * MiB)
#define MAX_REQUESTS	4096
#define NR_WEIGHTS	8
#define MAX_LAYERS	16
#define STATE_TAG	0x40000000u	/* tags of request states */

/* The driver entry points we use, fetched through cuGetProcAddress_v2. */
static struct {
	void *lib;
	CUresult (*get_proc)(const char *, void **, int, cuuint64_t,
			     CUdriverProcAddressQueryResult *);
	CUresult (*get_proc_v1)(const char *, void **, int, cuuint64_t);
	CUresult (*init)(unsigned int);
	CUresult (*driver_version)(int *);
	CUresult (*device_count)(int *);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*device_name)(char *, int, CUdevice);
	CUresult (*ctx_retain)(CUcontext *, CUdevice);
	CUresult (*ctx_release)(CUdevice);
	CUresult (*ctx_set)(CUcontext);
	CUresult (*ctx_sync)(void);
	CUresult (*mem_info)(size_t *, size_t *);
	CUresult (*mem_alloc)(CUdeviceptr *, size_t);
	CUresult (*mem_free)(CUdeviceptr);
	CUresult (*mem_granularity)(size_t *, const CUmemAllocationProp *,
				    CUmemAllocationGranularity_flags);
	CUresult (*mem_create)(CUmemGenericAllocationHandle *, size_t,
			       const CUmemAllocationProp *, unsigned long long);
	CUresult (*mem_release)(CUmemGenericAllocationHandle);
	CUresult (*htod)(CUdeviceptr, const void *, size_t);
	CUresult (*dtoh)(void *, CUdeviceptr, size_t);
	CUresult (*dtod)(CUdeviceptr, CUdeviceptr, size_t);
	CUresult (*memset32)(CUdeviceptr, unsigned int, size_t);
	CUresult (*error_name)(CUresult, const char **);
} cu;

struct entry {
	const char *name;
	void **slot;
};

#define ENTRY(n, f) { n, (void **)&cu.f }

static const struct entry entries[] = {
	ENTRY("cuInit", init),
	ENTRY("cuDriverGetVersion", driver_version),
	ENTRY("cuDeviceGetCount", device_count),
	ENTRY("cuDeviceGet", device_get),
	ENTRY("cuDeviceGetName", device_name),
	ENTRY("cuDevicePrimaryCtxRetain", ctx_retain),
	ENTRY("cuDevicePrimaryCtxRelease", ctx_release),
	ENTRY("cuCtxSetCurrent", ctx_set),
	ENTRY("cuCtxSynchronize", ctx_sync),
	ENTRY("cuMemGetInfo", mem_info),
	ENTRY("cuMemAlloc", mem_alloc),
	ENTRY("cuMemFree", mem_free),
	ENTRY("cuMemGetAllocationGranularity", mem_granularity),
	ENTRY("cuMemCreate", mem_create),
	ENTRY("cuMemRelease", mem_release),
	ENTRY("cuMemcpyHtoD", htod),
	ENTRY("cuMemcpyDtoH", dtoh),
	ENTRY("cuMemcpyDtoD", dtod),
	ENTRY("cuMemsetD32", memset32),
	ENTRY("cuGetErrorName", error_name),
};

/* The CUDA version whose ABI we ask for: 12.0 (the _v2 entry points). */
#define API_VERSION	12000

struct params {
	uint64_t seed;
	unsigned int requests;		/* requests in the whole run */
	unsigned int concurrency;	/* at most this many running */
	unsigned int weights_pct;	/* % of device memory for weights */
	unsigned int layers;		/* KV caches per request */
	unsigned int growth_pct;	/* a full KV cache grows by this % of
					 * its size (at least one block) */
	unsigned int fill_pct;		/* % of the memory left after the
					 * weights that admission plans for */
	unsigned int min_len, max_len;	/* request length, blocks */
	uint64_t block;			/* bytes per KV block; 0: derive */
	uint64_t capacity;		/* bytes to use of the device; 0: all */
	bool probe;			/* print the driver line and exit */
	bool quiet;
};

struct request {
	unsigned int id;
	unsigned int len;		/* blocks when finished */
	unsigned int have;		/* blocks written */
	unsigned int cap;		/* blocks the buffer holds */
	CUdeviceptr buf[MAX_LAYERS];	/* KV cache per layer; 0: none yet */
	unsigned int lcap[MAX_LAYERS];	/* blocks each holds (they differ
					 * only while a step grows them) */
	CUdeviceptr state;		/* per-request state (one block), lives
					 * from arrival to the end: 0 none */
};

struct run {
	struct params p;
	CUcontext ctx;
	CUdevice dev;
	uint64_t total;			/* device memory, bytes (capacity) */
	CUmemGenericAllocationHandle *ballast;	/* what --capacity sets aside */
	unsigned int nr_ballast;
	uint64_t ballast_size;		/* bytes */
	uint64_t base_used;		/* total - free before the workload */
	CUdeviceptr weights[NR_WEIGHTS];
	uint64_t weight_size;		/* bytes per tensor */
	struct request *active;		/* p.concurrency slots */
	unsigned int nr_active;
	unsigned int arrived, served, dropped;
	unsigned int pending_len;	/* blocks of the next request; 0: none */
	uint64_t budget;		/* blocks the server may plan for */
	unsigned int step;
	uint64_t live;			/* bytes requested and not freed */
	uint64_t peak_live;
	uint64_t peak_held;		/* max(total - free) - base_used seen */
	uint64_t alloc_calls, free_calls, ooms;
	bool oom_seen;
	char oom_text[256];		/* the first OOM, in words */
	uint64_t oom_free, oom_asked, oom_largest;
	uint64_t verified;		/* bytes read back and checked */
	uint32_t *host;			/* scratch for verification */
	uint64_t rng;
};

static void msg(const struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void msg(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r && r->p.quiet)
		return;
	fputs("llmserve: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static const char *cu_err(CUresult rc)
{
	const char *s = NULL;

	if (cu.error_name && cu.error_name(rc, &s) == CUDA_SUCCESS && s)
		return s;
	return "CUDA_ERROR_?";
}

/* xorshift64*: the same stream on every run for one seed. */
static uint64_t rnd(struct run *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545f4914f6cdd1dull;
}

static unsigned int rnd_range(struct run *r, unsigned int lo, unsigned int hi)
{
	return lo + (unsigned int)(rnd(r) % (hi - lo + 1));
}

/* ---- the driver ---- */

static int driver_open(void)
{
	const char *path = getenv("GPUVM_LIBCUDA");
	CUdriverProcAddressQueryResult qr;
	size_t i;

	if (!path || !*path)
		path = "libcuda.so.1";
	cu.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!cu.lib) {
		fprintf(stderr, "llmserve: cannot open the CUDA driver %s: %s\n", path, dlerror());
		return -ENOENT;
	}
	*(void **)&cu.get_proc = dlsym(cu.lib, "cuGetProcAddress_v2");
	if (!cu.get_proc)
		*(void **)&cu.get_proc_v1 = dlsym(cu.lib, "cuGetProcAddress");
	if (!cu.get_proc && !cu.get_proc_v1) {
		fprintf(stderr, "llmserve: %s has no cuGetProcAddress\n", path);
		return -ENOSYS;
	}
	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		CUresult rc;

		if (cu.get_proc)
			rc = cu.get_proc(entries[i].name, entries[i].slot, API_VERSION,
					 CU_GET_PROC_ADDRESS_DEFAULT, &qr);
		else
			rc = cu.get_proc_v1(entries[i].name, entries[i].slot, API_VERSION,
					    CU_GET_PROC_ADDRESS_DEFAULT);
		if (rc != CUDA_SUCCESS || !*entries[i].slot) {
			fprintf(stderr, "llmserve: the driver lacks %s\n", entries[i].name);
			return -ENOSYS;
		}
	}
	return 0;
}

/* "NVIDIA 580.65.06" from the kernel module, or "" when not there. */
static void nvidia_version(char *buf, size_t len)
{
	char line[256], *p, *end;
	FILE *f;

	buf[0] = '\0';
	f = fopen("/proc/driver/nvidia/version", "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		p = strstr(line, "Module");
		if (p) {
			p += strlen("Module");
			p += strspn(p, " \t");
			end = p + strcspn(p, " \t\n");
			*end = '\0';
			snprintf(buf, len, "NVIDIA %s", p);
		}
	}
	fclose(f);
}

/* One line that says which driver runs us: cudasim or the real one. */
static void driver_line(int nr_dev, const char *dev_name)
{
	const char *path = getenv("GPUVM_LIBCUDA");
	char ver[96];
	Dl_info info;

	if (!path || !*path)
		path = "libcuda.so.1";
	if (dlsym(cu.lib, "cudasim_call_count")) {
		if (dladdr(dlsym(cu.lib, "cudasim_call_count"), &info) && info.dli_fname)
			path = info.dli_fname;
		printf("llmserve: driver: cudasim (%s), %d device%s\n", path, nr_dev, nr_dev == 1 ? "" : "s");
		fflush(stdout);
		return;
	}
	nvidia_version(ver, sizeof(ver));
	if (!ver[0]) {
		int v = 0;

		cu.driver_version(&v);
		snprintf(ver, sizeof(ver), "CUDA %d.%d", v / 1000, v % 1000 / 10);
	}
	printf("llmserve: driver: %s (%s), %d device%s: %s\n", ver, path, nr_dev,
	       nr_dev == 1 ? "" : "s", dev_name);
	fflush(stdout);
}

/* ---- accounting ---- */

static void note_held(struct run *r)
{
	size_t free_b = 0, total_b = 0;

	if (cu.mem_info(&free_b, &total_b) == CUDA_SUCCESS &&
	    total_b >= free_b + r->base_used &&
	    total_b - free_b - r->base_used > r->peak_held)
		r->peak_held = total_b - free_b - r->base_used;
}

/*
 * --capacity on a larger device: set all but @r->p.capacity of the free
 * memory aside, so that both runs of the main job see the same capacity.
 * Physical allocations (cuMemCreate, never mapped) hold it: they take memory
 * like any allocation, but no allocator sees them, gpuvm's shim included
 * (it routes cuMemAlloc, not a program's own VMM calls), so gpuvm neither
 * counts them nor maps 2 MiB chunks for them.  Pieces of at most 1 GiB.
 */
static int set_aside(struct run *r, uint64_t free_b)
{
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = (int)r->dev },
	};
	uint64_t want, piece, gran = ALIGN_2M;
	size_t g = 0;
	unsigned int max;
	CUresult rc = CUDA_SUCCESS;

	if (cu.mem_granularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM) == CUDA_SUCCESS &&
	    g > gran)
		gran = g;
	want = (free_b - r->p.capacity) / gran * gran;
	max = (unsigned int)((want + GiB - 1) / GiB);
	r->ballast = calloc(max ? max : 1, sizeof(*r->ballast));
	if (!r->ballast)
		return -ENOMEM;
	while (r->ballast_size < want) {
		piece = want - r->ballast_size;
		if (piece > GiB)
			piece = GiB / gran * gran;
		rc = cu.mem_create(&r->ballast[r->nr_ballast], piece, &prop, 0);
		if (rc != CUDA_SUCCESS)
			break;
		r->nr_ballast++;
		r->ballast_size += piece;
	}
	if (rc != CUDA_SUCCESS) {
		fprintf(stderr, "llmserve: --capacity: cannot set %" PRIu64
			" MiB aside: %s\n", want / MiB, cu_err(rc));
		return -ENOMEM;
	}
	return 0;
}

static int release_aside(struct run *r)
{
	int err = 0;

	while (r->nr_ballast)
		if (cu.mem_release(r->ballast[--r->nr_ballast]) != CUDA_SUCCESS)
			err = -EIO;
	free(r->ballast);
	r->ballast = NULL;
	return err;
}

/*
 * The largest block the driver would hand out right now, to the 2 MiB:
 * a bisection with cuMemAlloc/cuMemFree, only run at the first OOM.
 */
static uint64_t largest_block(uint64_t hi)
{
	uint64_t lo = 0, mid;
	CUdeviceptr p;

	hi /= ALIGN_2M;
	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (cu.mem_alloc(&p, mid * ALIGN_2M) == CUDA_SUCCESS) {
			cu.mem_free(p);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo * ALIGN_2M;
}

static void note_oom(struct run *r, uint64_t asked, const char *what)
{
	size_t free_b = 0, total_b = 0;

	r->ooms++;
	if (r->oom_seen)
		return;
	r->oom_seen = true;
	cu.mem_info(&free_b, &total_b);
	r->oom_free = free_b;
	r->oom_asked = asked;
	r->oom_largest = largest_block(free_b);
	snprintf(r->oom_text, sizeof(r->oom_text),
		 "step %u, %s: asked %" PRIu64 " MiB, driver reported %" PRIu64
		 " MiB free (largest block %" PRIu64 " MiB)",
		 r->step, what, asked / MiB, (uint64_t)free_b / MiB, r->oom_largest / MiB);
	msg(r, "first out-of-memory at %s\n", r->oom_text);
}

/*
 * Allocate @size bytes.  Return: 0, 1 when the driver is out of memory,
 * or -EIO on any other error.
 */
static int dev_alloc(struct run *r, CUdeviceptr *p, uint64_t size, const char *what)
{
	CUresult rc;

	r->alloc_calls++;
	rc = cu.mem_alloc(p, size);
	if (rc == CUDA_ERROR_OUT_OF_MEMORY) {
		note_oom(r, size, what);
		return 1;
	}
	if (rc != CUDA_SUCCESS) {
		fprintf(stderr, "llmserve: cuMemAlloc(%" PRIu64 ") failed: %s\n", size,
			cu_err(rc));
		return -EIO;
	}
	r->live += size;
	if (r->live > r->peak_live)
		r->peak_live = r->live;
	note_held(r);
	return 0;
}

static int dev_free(struct run *r, CUdeviceptr p, uint64_t size)
{
	CUresult rc;

	r->free_calls++;
	rc = cu.mem_free(p);
	if (rc != CUDA_SUCCESS) {
		fprintf(stderr, "llmserve: cuMemFree failed: %s\n", cu_err(rc));
		return -EIO;
	}
	r->live -= size;
	return 0;
}

/* ---- data ---- */

static uint32_t pattern(unsigned int tag, unsigned int blk)
{
	return (tag * 0x9e3779b1u) ^ (blk * 0x85ebca6bu) ^ 0x5bd1e995u;
}

/* Check @nr_blk blocks of @bytes each at @p against pattern(tag, i). */
static int verify(struct run *r, CUdeviceptr p, uint64_t bytes, unsigned int nr_blk,
		  unsigned int tag)
{
	uint64_t words = bytes / 4, w;
	unsigned int b;
	CUresult rc;

	for (b = 0; b < nr_blk; b++) {
		uint32_t want = pattern(tag, b);

		rc = cu.dtoh(r->host, p + (uint64_t)b * bytes, bytes);
		if (rc != CUDA_SUCCESS) {
			fprintf(stderr, "llmserve: cuMemcpyDtoH failed: %s\n", cu_err(rc));
			return -EIO;
		}
		for (w = 0; w < words; w++) {
			if (r->host[w] != want) {
				fprintf(stderr, "llmserve: data mismatch: tag %u block %u word %"
					PRIu64 ": 0x%08x, want 0x%08x\n", tag, b, w,
					r->host[w], want);
				return -EIO;
			}
		}
		r->verified += bytes;
	}
	return 0;
}

/* ---- the server ---- */

static int load_weights(struct run *r)
{
	unsigned int i;
	int err;

	r->weight_size = r->total * r->p.weights_pct / 100 / NR_WEIGHTS / ALIGN_2M * ALIGN_2M;
	if (!r->weight_size)
		r->weight_size = ALIGN_2M;
	for (i = 0; i < NR_WEIGHTS; i++) {
		err = dev_alloc(r, &r->weights[i], r->weight_size, "weights");
		if (err) {
			fprintf(stderr, "llmserve: cannot load the weights\n");
			return -ENOMEM;
		}
		if (cu.memset32(r->weights[i], pattern(100000 + i, 0), r->weight_size / 4)) {
			fprintf(stderr, "llmserve: cuMemsetD32 failed\n");
			return -EIO;
		}
	}
	msg(r, "weights: %d tensors of %" PRIu64 " MiB (%" PRIu64 " MiB)\n", NR_WEIGHTS,
	    r->weight_size / MiB, NR_WEIGHTS * r->weight_size / MiB);
	return 0;
}

static int unload_weights(struct run *r)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < NR_WEIGHTS; i++) {
		if (!r->weights[i])
			continue;
		if (!err && verify(r, r->weights[i], r->weight_size, 1, 100000 + i))
			err = -EIO;
		if (dev_free(r, r->weights[i], r->weight_size))
			err = -EIO;
		r->weights[i] = 0;
	}
	return err;
}

static int kv_release(struct run *r, struct request *q)
{
	unsigned int l;
	int err = 0;

	for (l = 0; l < r->p.layers; l++) {
		if (q->buf[l] && dev_free(r, q->buf[l], q->lcap[l] * r->p.block))
			err = -EIO;
		q->buf[l] = 0;
	}
	q->have = 0;
	q->cap = 0;
	return err;
}

/* The request ends: its KV cache and its state go. */
static int request_release(struct run *r, struct request *q)
{
	int err = kv_release(r, q);

	if (q->state && dev_free(r, q->state, r->p.block))
		err = -EIO;
	q->state = 0;
	return err;
}

/*
 * A request arrives: its state buffer (sampling state, logits: one block
 * for its whole life) is allocated first and filled.
 * Return: 0, 1 when it had to be dropped, -EIO.
 */
static int request_start(struct run *r, struct request *q)
{
	int err;

	err = dev_alloc(r, &q->state, r->p.block, "request state");
	if (err) {
		q->state = 0;
		if (err > 0)
			r->dropped++;
		return err;
	}
	if (cu.memset32(q->state, pattern(q->id + STATE_TAG, 0), r->p.block / 4) != CUDA_SUCCESS) {
		fprintf(stderr, "llmserve: cuMemsetD32 failed\n");
		return -EIO;
	}
	return 0;
}

/* The tag of the blocks of layer @l of request @id. */
static unsigned int kv_tag(unsigned int id, unsigned int l)
{
	return id * MAX_LAYERS + l;
}

/*
 * One decoding step of one request: each layer's KV cache gets a block.
 * A full cache grows the naive way, layer after layer: a bigger buffer,
 * the cache copied over, the old one freed.
 * Return: 0, 1 when it had to be dropped (out of memory), -EIO.
 */
static int request_step(struct run *r, struct request *q)
{
	uint64_t blk = r->p.block, old = q->cap * blk, cap = q->cap;
	unsigned int l;
	CUdeviceptr nb;
	int err;

	if (q->have == q->cap) {
		cap = q->cap + (q->cap * r->p.growth_pct / 100 ? : 1);
		if (cap > q->len)
			cap = q->len;
	}
	for (l = 0; l < r->p.layers; l++) {
		if (cap == q->cap)
			goto write;
		err = dev_alloc(r, &nb, cap * blk, "KV cache growth");
		if (err < 0)
			return err;
		if (err > 0) {
			r->dropped++;
			return request_release(r, q) ? -EIO : 1;
		}
		if (q->buf[l] && (cu.dtod(nb, q->buf[l], q->have * blk) != CUDA_SUCCESS ||
				  dev_free(r, q->buf[l], old))) {
			fprintf(stderr, "llmserve: moving the KV cache failed\n");
			dev_free(r, nb, cap * blk);
			return -EIO;
		}
		q->buf[l] = nb;
		q->lcap[l] = cap;
write:
		if (cu.memset32(q->buf[l] + q->have * blk, pattern(kv_tag(q->id, l), q->have),
				blk / 4) != CUDA_SUCCESS) {
			fprintf(stderr, "llmserve: cuMemsetD32 failed\n");
			return -EIO;
		}
	}
	q->cap = cap;
	q->have++;
	return 0;
}

/* A finished request's KV cache and state read back and checked. */
static int request_verify(struct run *r, struct request *q)
{
	unsigned int l;

	for (l = 0; l < r->p.layers; l++)
		if (verify(r, q->buf[l], r->p.block, q->have, kv_tag(q->id, l)))
			return -EIO;
	return verify(r, q->state, r->p.block, 1, q->id + STATE_TAG);
}

static void pause_here(struct run *r, const char *where)
{
	const char *fifo = getenv("GPUVM_MAINJOB_PAUSE_FIFO");
	char line[64];
	int fd;

	if (!fifo || !*fifo)
		return;
	printf("llmserve: paused %s pid=%d\n", where, (int)getpid());
	fflush(stdout);
	/* opening blocks until the other side opens it to write */
	fd = open(fifo, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "llmserve: %s: %s (not pausing)\n", fifo, strerror(errno));
		return;
	}
	while (read(fd, line, sizeof(line)) < 0 && errno == EINTR)
		;
	close(fd);
	msg(r, "resumed\n");
}

/*
 * Blocks the running requests (and one more of @len) need at their
 * longest: their KV caches and states, plus the largest growth's copy.
 */
static uint64_t need_blocks(const struct run *r, unsigned int len)
{
	uint64_t sum = (uint64_t)len * r->p.layers + 1, top = len;
	unsigned int i;

	for (i = 0; i < r->nr_active; i++) {
		sum += (uint64_t)r->active[i].len * r->p.layers + 1;
		if (r->active[i].len > top)
			top = r->active[i].len;
	}
	return sum + top;
}

static int serve(struct run *r)
{
	unsigned int i, mid = r->p.requests / 2;
	bool paused = false;
	int err;

	while (r->arrived < r->p.requests || r->nr_active) {
		r->step++;
		/*
		 * Arrivals: up to two per step, admitted while the blocks the
		 * running requests will need at their longest fit the budget.
		 */
		for (i = 0; i < 2 && r->arrived < r->p.requests &&
			    r->nr_active < r->p.concurrency; i++) {
			struct request *q;

			if (i && (rnd(r) & 1))
				break;
			if (!r->pending_len)
				r->pending_len = rnd_range(r, r->p.min_len, r->p.max_len);
			if (r->nr_active && need_blocks(r, r->pending_len) > r->budget)
				break;
			q = &r->active[r->nr_active];
			q->id = ++r->arrived;
			q->len = r->pending_len;
			r->pending_len = 0;
			q->have = 0;
			q->cap = 0;
			memset(q->buf, 0, sizeof(q->buf));
			err = request_start(r, q);
			if (err < 0)
				return err;
			if (!err)
				r->nr_active++;
		}
		for (i = 0; i < r->nr_active; ) {
			struct request *q = &r->active[i];
			bool done = false;

			err = request_step(r, q);
			if (err < 0)
				return err;
			if (err > 0) {
				done = true;
			} else if (q->have == q->len) {
				if (request_verify(r, q))
					return -EIO;
				if (request_release(r, q))
					return -EIO;
				r->served++;
				done = true;
			}
			if (done)
				r->active[i] = r->active[--r->nr_active];
			else
				i++;
		}
		/* mid-run: half the requests done and several running */
		if (!paused && r->served + r->dropped >= mid &&
		    (r->nr_active >= 2 || r->arrived == r->p.requests)) {
			paused = true;
			msg(r, "step %u: %u served, %u dropped, %u running, %" PRIu64
			    " MiB requested\n", r->step, r->served, r->dropped, r->nr_active,
			    r->live / MiB);
			pause_here(r, "mid-run");
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: llmserve [--seed N] [--requests N] [--concurrency N] [--weights PCT]\n"
		"                [--fill PCT] [--growth PCT] [--layers N]\n"
		"                [--min-len BLOCKS] [--max-len BLOCKS] [--block BYTES]\n"
		"                [--capacity BYTES] [--probe] [--quiet]\n"
		"Serve an LLM-like workload on CUDA device 0 through the driver API.\n"
		"--capacity sets the rest of a larger device's free memory aside first\n"
		"(physical allocations, which no allocator sees).\n");
}

static int parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "llmserve: %s: '%s' is not a number in [%" PRIu64 ", %" PRIu64
			"]\n", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct params *p)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "requests", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "weights", required_argument, NULL, 'w' },
		{ "fill", required_argument, NULL, 'f' },
		{ "growth", required_argument, NULL, 'g' },
		{ "layers", required_argument, NULL, 'l' },
		{ "min-len", required_argument, NULL, 'm' },
		{ "max-len", required_argument, NULL, 'M' },
		{ "block", required_argument, NULL, 'b' },
		{ "capacity", required_argument, NULL, 'C' },
		{ "probe", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "s:r:c:w:f:g:l:m:M:b:C:pqh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_uint("--seed", optarg, 0, UINT64_MAX, &p->seed))
				return -EINVAL;
			break;
		case 'r':
			if (parse_uint("--requests", optarg, 1, MAX_REQUESTS, &v))
				return -EINVAL;
			p->requests = v;
			break;
		case 'c':
			if (parse_uint("--concurrency", optarg, 1, 256, &v))
				return -EINVAL;
			p->concurrency = v;
			break;
		case 'w':
			if (parse_uint("--weights", optarg, 0, 90, &v))
				return -EINVAL;
			p->weights_pct = v;
			break;
		case 'l':
			if (parse_uint("--layers", optarg, 1, MAX_LAYERS, &v))
				return -EINVAL;
			p->layers = v;
			break;
		case 'g':
			if (parse_uint("--growth", optarg, 0, 400, &v))
				return -EINVAL;
			p->growth_pct = v;
			break;
		case 'f':
			if (parse_uint("--fill", optarg, 1, 100, &v))
				return -EINVAL;
			p->fill_pct = v;
			break;
		case 'm':
			if (parse_uint("--min-len", optarg, 1, 4096, &v))
				return -EINVAL;
			p->min_len = v;
			break;
		case 'M':
			if (parse_uint("--max-len", optarg, 1, 4096, &v))
				return -EINVAL;
			p->max_len = v;
			break;
		case 'C':
			if (parse_uint("--capacity", optarg, 16 * MiB, UINT64_MAX, &p->capacity))
				return -EINVAL;
			break;
		case 'b':
			if (parse_uint("--block", optarg, 4096, 1ull << 34, &v))
				return -EINVAL;
			if (v % 4096) {
				fprintf(stderr, "llmserve: --block: not a multiple of 4096\n");
				return -EINVAL;
			}
			p->block = v;
			break;
		case 'p':
			p->probe = true;
			break;
		case 'q':
			p->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "llmserve: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (p->min_len > p->max_len) {
		fprintf(stderr, "llmserve: --min-len above --max-len\n");
		return -EINVAL;
	}
	return 0;
}

static void report(const struct run *r)
{
	printf("result.requests=%u\n", r->p.requests);
	printf("result.served=%u\n", r->served);
	printf("result.dropped=%u\n", r->dropped);
	printf("result.ooms=%" PRIu64 "\n", r->ooms);
	if (r->oom_seen) {
		printf("result.first_oom=%s\n", r->oom_text);
		printf("result.first_oom_free=%" PRIu64 "\n", r->oom_free);
		printf("result.first_oom_asked=%" PRIu64 "\n", r->oom_asked);
		printf("result.first_oom_largest=%" PRIu64 "\n", r->oom_largest);
	} else {
		printf("result.first_oom=none\n");
	}
	printf("result.total=%" PRIu64 "\n", r->total);
	printf("result.ballast=%" PRIu64 "\n", r->ballast_size);
	printf("result.peak_requested=%" PRIu64 "\n", r->peak_live);
	printf("result.peak_held=%" PRIu64 "\n", r->peak_held);
	printf("result.alloc_calls=%" PRIu64 "\n", r->alloc_calls);
	printf("result.free_calls=%" PRIu64 "\n", r->free_calls);
	printf("result.verified=%" PRIu64 "\n", r->verified);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* the defaults are the main job's: on 256 MiB they fragment
	 * CUDASIM_ALLOC=contiguous's first fit */
	struct run r = {
		.p = {
			.seed = 3, .requests = 40, .concurrency = 8, .weights_pct = 25,
			.fill_pct = 95, .layers = 2, .min_len = 1, .max_len = 28,
		},
	};
	size_t free_b = 0, total_b = 0;
	char name[128] = "?";
	int nr_dev = 0, err, ret = 1;
	CUresult rc;

	if (parse_args(argc, argv, &r.p))
		return 2;
	r.rng = r.p.seed * 0x9e3779b97f4a7c15ull + 1;
	if (driver_open())
		return 1;
	rc = cu.init(0);
	if (rc == CUDA_SUCCESS)
		rc = cu.device_count(&nr_dev);
	if (rc != CUDA_SUCCESS || nr_dev < 1) {
		fprintf(stderr, "llmserve: no CUDA device: %s\n",
			rc == CUDA_SUCCESS ? "none found" : cu_err(rc));
		return 1;
	}
	if (cu.device_get(&r.dev, 0) != CUDA_SUCCESS ||
	    cu.device_name(name, sizeof(name), r.dev) != CUDA_SUCCESS)
		snprintf(name, sizeof(name), "device 0");
	driver_line(nr_dev, name);
	if (r.p.probe)
		return 0;
	rc = cu.ctx_retain(&r.ctx, r.dev);
	if (rc == CUDA_SUCCESS)
		rc = cu.ctx_set(r.ctx);
	if (rc == CUDA_SUCCESS)
		rc = cu.mem_info(&free_b, &total_b);
	if (rc != CUDA_SUCCESS) {
		fprintf(stderr, "llmserve: context setup failed: %s\n", cu_err(rc));
		goto out_release;
	}
	if (r.p.capacity && free_b > r.p.capacity + ALIGN_2M) {
		if (set_aside(&r, free_b))
			goto out_release;
		rc = cu.mem_info(&free_b, &total_b);
		if (rc != CUDA_SUCCESS) {
			fprintf(stderr, "llmserve: cuMemGetInfo failed: %s\n", cu_err(rc));
			goto out_release;
		}
	}
	/* what the context and the set-aside hold is not the workload's */
	r.base_used = total_b - free_b;
	if (r.ballast_size) {
		msg(&r, "capacity: %" PRIu64 " MiB of the device, %" PRIu64 " MiB set aside, "
		    "%" PRIu64 " MiB held by the context\n", (uint64_t)free_b / MiB,
		    r.ballast_size / MiB, (r.base_used - r.ballast_size) / MiB);
		/* the device is as large as what is left free */
		total_b = free_b;
	}
	r.total = total_b;
	if (!r.p.block) {
		/* 1/128 of the device in whole 2 MiB pages, at least one */
		r.p.block = total_b / 128 / ALIGN_2M * ALIGN_2M;
		if (!r.p.block)
			r.p.block = ALIGN_2M;
	}
	msg(&r, "%s: %" PRIu64 " MiB total, %" PRIu64 " MiB free; KV block %" PRIu64
	    " KiB; %u requests of %u..%u blocks, %u at a time (seed %" PRIu64 ")\n",
	    name, (uint64_t)total_b / MiB, (uint64_t)free_b / MiB, r.p.block >> 10,
	    r.p.requests, r.p.min_len, r.p.max_len, r.p.concurrency, r.p.seed);
	r.active = calloc(r.p.concurrency, sizeof(*r.active));
	if (!r.active) {
		fprintf(stderr, "llmserve: out of host memory\n");
		goto out_release;
	}
	err = load_weights(&r);
	if (!err) {
		/* the admission budget: a share of what the weights left */
		if (cu.mem_info(&free_b, &total_b) != CUDA_SUCCESS)
			free_b = 0;
		r.budget = (uint64_t)free_b * r.p.fill_pct / 100 / r.p.block;
		msg(&r, "admission plans for %" PRIu64 " blocks (%u%% of %" PRIu64
		    " MiB free after the weights)\n", r.budget, r.p.fill_pct,
		    (uint64_t)free_b / MiB);
		r.host = malloc(r.p.block > r.weight_size ? r.p.block : r.weight_size);
		if (!r.host)
			err = -ENOMEM;
	}
	if (!err)
		err = serve(&r);
	if (!err) {
		msg(&r, "done after %u steps: %u of %u requests served, %u dropped\n",
		    r.step, r.served, r.p.requests, r.dropped);
		pause_here(&r, "at the end");
	}
	/* drop whatever is still running (only after an error) */
	while (r.nr_active)
		request_release(&r, &r.active[--r.nr_active]);
	if (unload_weights(&r))
		err = -EIO;
	if (!err) {
		report(&r);
		ret = 0;
	}
out_release:
	if (release_aside(&r))
		ret = 1;
	free(r.host);
	free(r.active);
	cu.ctx_release(r.dev);
	return ret;
}
