// SPDX-License-Identifier: MIT
/*
 * seg_ring.c - the control ring of a process (struct gpuvm_ctl_header):
 * request g lives in requests[g % GPUVM_CTL_MAX_REQUESTS]; the producer
 * writes it, then publishes g in the generation word (a shared futex);
 * the process applies every generation after the last it applied.
 *
 * Nothing the consumer reads from the ring is trusted: it works on a
 * private copy of each request, with the name's NUL forced, and the
 * request's own generation must be the one it was taken for.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <gpuvm/segment.h>

/**
 * gpuvm_ctl_post - write one request into the ring and publish it
 * @ctl: the mapped control segment
 * @dev: device ordinal, or -1 for every device
 * @name: knob name, or "reclaim"; cut to GPUVM_SEG_KNOB_NAME - 1 bytes
 * @value: the value
 *
 * Does not wake the process (gpuvm_ctl_wake()).
 * Return: the request's generation.
 */
uint32_t gpuvm_ctl_post(struct gpuvm_ctl_header *ctl, int dev, const char *name,
			uint64_t value)
{
	uint32_t gen = __atomic_load_n(&ctl->generation, __ATOMIC_RELAXED) + 1;
	struct gpuvm_ctl_request *req = &ctl->requests[gen % GPUVM_CTL_MAX_REQUESTS];

	gpuvm_seg_set_string(req->name, sizeof(req->name), name);
	req->device = dev;
	req->pad = 0;
	req->value = value;
	req->generation = gen;
	/* the process reads the request after it sees the generation */
	__atomic_store_n(&ctl->generation, gen, __ATOMIC_RELEASE);
	return gen;
}

/** gpuvm_ctl_generation - the last generation posted */
uint32_t gpuvm_ctl_generation(const struct gpuvm_ctl_header *ctl)
{
	return __atomic_load_n(&ctl->generation, __ATOMIC_ACQUIRE);
}

/** gpuvm_ctl_wake - wake the process waiting on @ctl's generation */
void gpuvm_ctl_wake(struct gpuvm_ctl_header *ctl)
{
	/* a shared futex: the process waits on its own mapping of the file */
	syscall(SYS_futex, &ctl->generation, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/**
 * gpuvm_ctl_wait - sleep until a generation after @seen is posted
 * @ctl: the mapped control segment
 * @seen: the generation the caller has seen
 * @timeout_ms: the longest sleep; a wake-up, a signal or a timeout all
 *		return
 */
void gpuvm_ctl_wait(struct gpuvm_ctl_header *ctl, uint32_t seen, unsigned int timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000,
	};

	/* the kernel compares the word with @seen: no wake-up is missed */
	syscall(SYS_futex, &ctl->generation, FUTEX_WAIT, seen, &ts, NULL, 0);
}

/**
 * gpuvm_ctl_consume - apply every request posted after *@applied
 * @ctl: the mapped control segment
 * @applied: the last generation applied; advanced to the last posted
 * @apply: called on a private copy of each request, in order
 * @arg: for @apply
 *
 * Requests older than the ring holds are lost (-EOVERFLOW); a slot whose
 * generation is not the one it was taken for was overwritten or never
 * written (-ESTALE, @apply is not called).
 * Return: 0 when every request applied, else the last error (of @apply or
 * of the ring).
 */
int gpuvm_ctl_consume(struct gpuvm_ctl_header *ctl, uint32_t *applied, gpuvm_ctl_apply_fn apply,
		      void *arg)
{
	uint32_t gen = gpuvm_ctl_generation(ctl), g = *applied + 1;
	int err = 0, ret;

	if (gen == *applied)
		return 0;
	if (gen - *applied > GPUVM_CTL_MAX_REQUESTS) {
		g = gen - GPUVM_CTL_MAX_REQUESTS + 1;
		err = -EOVERFLOW;
	}
	for (; g != gen + 1; g++) {
		struct gpuvm_ctl_request req;

		memcpy(&req, (const void *)&ctl->requests[g % GPUVM_CTL_MAX_REQUESTS],
		       sizeof(req));
		req.name[sizeof(req.name) - 1] = '\0';
		ret = req.generation == g ? apply(&req, arg) : -ESTALE;
		if (ret)
			err = ret;
	}
	*applied = gen;
	return err;
}
