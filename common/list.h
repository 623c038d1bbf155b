/* SPDX-License-Identifier: MIT */
/*
 * list.h - intrusive doubly linked lists in the kernel's manner, the one
 * list of the tree (the manager's ranges and chunks, the replay models'
 * blocks and segments).
 */
#ifndef GPUVM_COMMON_LIST_H
#define GPUVM_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)
#define list_for_each(pos, head)					\
	for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_safe(pos, tmp, head)				\
	for (pos = (head)->next, tmp = pos->next; pos != (head);	\
	     pos = tmp, tmp = pos->next)
#define list_for_each_entry(pos, head, type, member)			\
	for (pos = list_entry((head)->next, type, member);		\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, type, member))
#define list_for_each_entry_safe(pos, n, head, type, member)		\
	for (pos = list_entry((head)->next, type, member),		\
	     n = list_entry(pos->member.next, type, member);		\
	     &pos->member != (head);					\
	     pos = n, n = list_entry(n->member.next, type, member))

#endif /* GPUVM_COMMON_LIST_H */
