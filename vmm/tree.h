/* SPDX-License-Identifier: MIT */
/*
 * tree.h - an intrusive, augmentable balanced binary search tree (AVL).
 *
 * The node is embedded in the object (container_of), keys are compared by a
 * callback and must be unique, and an optional augment callback recomputes
 * a node's subtree summary (for instance the largest free gap below it)
 * from its children every time the shape under it changes, so searches can
 * skip whole subtrees in O(log n) as the kernel's vmap areas do.
 *
 * We use AVL rather than red-black balancing because its recursive insert
 * and erase keep the augment update trivially correct (every node on the
 * path is recomputed on the way back up) at the same O(log n).
 */
#ifndef GPUVM_VMM_TREE_H
#define GPUVM_VMM_TREE_H

#include <stdbool.h>

struct vtree_node {
	struct vtree_node *left, *right;
	int height;			/* of the subtree, leaf = 1 */
};

struct vtree {
	struct vtree_node *root;
	/* < 0, 0, > 0 as a sorts before, equal to, after b */
	int (*cmp)(const struct vtree_node *a, const struct vtree_node *b);
	/* recompute a node's summary from itself and its children; may be NULL */
	void (*augment)(struct vtree_node *n);
};

void vtree_insert(struct vtree *t, struct vtree_node *n);
void vtree_erase(struct vtree *t, struct vtree_node *n);
/* the smallest node that does not sort before @key, or NULL */
struct vtree_node *vtree_lower_bound(const struct vtree *t, const struct vtree_node *key);
/* the largest node that sorts before @key, or NULL */
struct vtree_node *vtree_predecessor(const struct vtree *t, const struct vtree_node *key);
struct vtree_node *vtree_first(const struct vtree *t);
struct vtree_node *vtree_last(const struct vtree *t);
/* calls @fn on every node in order; @fn may not change the tree */
void vtree_walk(const struct vtree *t, void (*fn)(struct vtree_node *n, void *arg), void *arg);
/* checks the AVL shape and order; true when sound (debug builds and tests) */
bool vtree_check(const struct vtree *t);

#endif /* GPUVM_VMM_TREE_H */
