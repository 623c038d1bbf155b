// SPDX-License-Identifier: MIT
/*
 * control.c - applies what gpuvmfs or the CLI writes to our control segment.
 *
 * A background thread sleeps on the ring's generation word (a shared
 * futex, 1 s timeout so it notices shutdown even without a wake-up) and
 * applies requests generation by generation through the ring's consumer
 * (seg/seg_ring.c).  Nothing read from the segment is trusted: devices
 * and values are re-validated by the schema.  The allocation path never
 * looks at the segment.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static pthread_t ctl_thread;
static bool ctl_running;	/* setup: only the thread that started it */
static int ctl_stop;		/* atomic */
static uint32_t ctl_start_gen;	/* generation when the thread was started */

/* One request, on the ring's private copy (its name terminated). */
static int apply_request(const struct gpuvm_ctl_request *req, void *arg)
{
	int64_t got;
	int ret;

	if (req->device < -1 || req->device >= GPUVM_MAX_DEVICES) {
		ret = -EINVAL;
	} else if (!strcmp(req->name, "reclaim")) {
		got = gpuvm_reclaim(req->device, req->value);
		ret = got < 0 ? (int)got : 0;
	} else {
		/* the one validation of the value: gpuvm_policy_set()'s */
		ret = gpuvm_policy_set(req->device, req->name, req->value);
	}
	if (ret)
		vmm_info("control request %u (%s) rejected: %d", (unsigned int)req->generation,
			 req->name, ret);
	return ret;
}

static void *control_main(void *arg)
{
	struct gpuvm_ctl_header *h = arg;
	uint32_t applied = ctl_start_gen;
	int err;

	while (!__atomic_load_n(&ctl_stop, __ATOMIC_ACQUIRE)) {
		if (gpuvm_ctl_generation(h) == applied) {
			/* 1 s at most: shutdown is noticed without a wake-up */
			gpuvm_ctl_wait(h, applied, 1000);
			continue;
		}
		err = gpuvm_ctl_consume(h, &applied, apply_request, NULL);
		publish_ctl_result(applied, err);
	}
	return NULL;
}

int control_start(void)
{
	struct gpuvm_ctl_header *h = publish_ctl();
	int ret;

	if (!h || ctl_running)
		return h ? 0 : -ENOENT;
	__atomic_store_n(&ctl_stop, 0, __ATOMIC_RELEASE);
	/* read before the thread runs: a request written meanwhile is not lost */
	ctl_start_gen = gpuvm_ctl_generation(h);
	ret = pthread_create(&ctl_thread, NULL, control_main, h);
	if (ret)
		return -ret;
	ctl_running = true;
	return 0;
}

void control_stop(void)
{
	struct gpuvm_ctl_header *h = publish_ctl();

	if (!ctl_running)
		return;
	__atomic_store_n(&ctl_stop, 1, __ATOMIC_RELEASE);
	if (h)
		gpuvm_ctl_wake(h);
	pthread_join(ctl_thread, NULL);
	ctl_running = false;
}

/* A forked child has no control thread. */
void control_forget(void)
{
	ctl_running = false;
}
