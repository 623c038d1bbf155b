// SPDX-License-Identifier: MIT
/*
 * gate.c - who is inside gpuvm, so that shutdown can wait for them.
 *
 * Every public entry point that touches a device passes the gate
 * (vmm_enter() / vmm_leave() in internal.h).  Each thread counts its own
 * depth in a slot of its own, on a cache line of its own: threads on
 * different devices still never share a written line, and leaving is a
 * plain store.  Entering is one atomic add on that line (a full barrier)
 * followed by a look at vmm.closing; shutdown stores closing, then reads
 * every slot.  Either the thread sees closing and turns back, or shutdown
 * sees the thread and waits for it.
 *
 * Slots are made on a thread's first entry, kept on a push-only list and
 * never freed: a thread that exits gives its slot to the next new one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

__thread struct vmm_gate_slot *vmm_gate_self __attribute__((tls_model("initial-exec")));

/* Every slot ever made, newest first; push-only. */
static struct vmm_gate_slot *gate_slots;
/* Of the threads that could get no slot (no memory): counted atomically. */
struct vmm_gate_slot vmm_gate_shared;
static pthread_key_t gate_key;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static bool gate_key_ok;

/*
 * A thread exits (this runs on it): its slot, with nothing inside, is free
 * for another.  A call from a later destructor of the thread takes a slot
 * afresh.
 */
static void gate_slot_release(void *arg)
{
	struct vmm_gate_slot *s = arg;

	if (vmm_gate_self == s)
		vmm_gate_self = NULL;
	__atomic_store_n(&s->used, false, __ATOMIC_RELEASE);
}

static void gate_key_init(void)
{
	gate_key_ok = !pthread_key_create(&gate_key, gate_slot_release);
}

/* A free slot of the list, claimed, or a new one pushed on it. */
static struct vmm_gate_slot *gate_slot_claim(void)
{
	struct vmm_gate_slot *s;

	for (s = __atomic_load_n(&gate_slots, __ATOMIC_ACQUIRE); s; s = s->next) {
		bool no = false;

		if (!__atomic_load_n(&s->used, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&s->used, &no, true, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return s;
	}
	if (posix_memalign((void **)&s, 64, sizeof(*s)))
		return NULL;
	s->inside = 0;
	s->used = true;
	s->next = __atomic_load_n(&gate_slots, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&gate_slots, &s->next, s, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	return s;
}

/**
 * __vmm_gate_slot - the calling thread's slot, made on its first entry
 *
 * Without memory for one (or for the key that frees it at thread exit)
 * the thread counts, from then on, in a slot shared with others like it,
 * with atomic read-modify-writes: slower, still correct.
 * Return: the slot.
 */
struct vmm_gate_slot *__vmm_gate_slot(void)
{
	struct vmm_gate_slot *s;

	pthread_once(&gate_once, gate_key_init);
	s = gate_key_ok ? gate_slot_claim() : NULL;
	if (s && pthread_setspecific(gate_key, s)) {
		gate_slot_release(s);
		s = NULL;
	}
	vmm_gate_self = s ? s : &vmm_gate_shared;
	return vmm_gate_self;
}

/**
 * vmm_gate_inside - how many threads are inside the gate now
 * Return: the sum of every slot's depth.
 */
unsigned long vmm_gate_inside(void)
{
	const struct vmm_gate_slot *s;
	unsigned long n = __atomic_load_n(&vmm_gate_shared.inside, __ATOMIC_SEQ_CST);

	for (s = __atomic_load_n(&gate_slots, __ATOMIC_ACQUIRE); s; s = s->next)
		n += __atomic_load_n(&s->inside, __ATOMIC_SEQ_CST);
	return n;
}

/**
 * vmm_gate_atfork_child - in a forked child only this thread exists
 *
 * The others' slots go free with nothing inside; so does the shared one.
 */
void vmm_gate_atfork_child(void)
{
	struct vmm_gate_slot *s;

	for (s = gate_slots; s; s = s->next) {
		if (s == vmm_gate_self)
			continue;
		s->inside = 0;
		s->used = false;
	}
	vmm_gate_shared.inside = 0;
}
