// SPDX-License-Identifier: MIT
/*
 * control.c - applies what gpuvmfs or the CLI writes to our control segment.
 *
 * A background thread sleeps on the segment's generation word (a shared
 * futex, 1 s timeout so it notices shutdown even without a wake-up) and
 * applies requests generation by generation.  Nothing read from the
 * segment is trusted: names are bounded, devices and values re-validated
 * by the schema.  The allocation path never looks at the segment.
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static pthread_t ctl_thread;
static bool ctl_running;	/* setup: only the thread that started it */
static int ctl_stop;		/* atomic */
static uint32_t ctl_start_gen;	/* generation when the thread was started */

static int apply_request(const struct gpuvm_ctl_request *req, uint64_t gen)
{
	char name[GPUVM_SEG_KNOB_NAME];
	int64_t got;

	if (req->generation != gen)
		return -ESTALE;		/* overwritten or never written */
	memcpy(name, req->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (req->device < -1 || req->device >= GPUVM_MAX_DEVICES)
		return -EINVAL;
	if (!strcmp(name, "reclaim")) {
		got = gpuvm_reclaim(req->device, req->value);
		return got < 0 ? (int)got : 0;
	}
	/* the one validation of the value: gpuvm_policy_set()'s */
	return gpuvm_policy_set(req->device, name, req->value);
}

static void *control_main(void *arg)
{
	struct gpuvm_ctl_header *h = arg;
	uint32_t applied = ctl_start_gen;
	struct timespec ts = { .tv_sec = 1 };

	while (!__atomic_load_n(&ctl_stop, __ATOMIC_ACQUIRE)) {
		uint32_t gen = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE), g;
		int err = 0, ret;

		if (gen == applied) {
			syscall(SYS_futex, &h->generation, FUTEX_WAIT, gen, &ts, NULL, 0);
			continue;
		}
		/* requests older than the ring holds are lost: say so */
		g = applied + 1;
		if (gen - applied > GPUVM_CTL_MAX_REQUESTS) {
			g = gen - GPUVM_CTL_MAX_REQUESTS + 1;
			err = -EOVERFLOW;
		}
		for (; g != gen + 1; g++) {
			struct gpuvm_ctl_request req;

			memcpy(&req, (const void *)&h->requests[g % GPUVM_CTL_MAX_REQUESTS],
			       sizeof(req));
			ret = apply_request(&req, g);
			if (ret) {
				err = ret;
				vmm_info("control request %u (%.31s) rejected: %d", g, req.name, ret);
			}
		}
		applied = gen;
		publish_ctl_result(gen, err);
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
	ctl_start_gen = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
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
		syscall(SYS_futex, &h->generation, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_join(ctl_thread, NULL);
	ctl_running = false;
}

/* A forked child has no control thread. */
void control_forget(void)
{
	ctl_running = false;
}
