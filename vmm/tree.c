// SPDX-License-Identifier: MIT
/*
 * tree.c - the augmented AVL tree behind the VA allocator and the caches
 * (see tree.h).
 */
#include <stddef.h>

#include "tree.h"

static inline int height(const struct vtree_node *n)
{
	return n ? n->height : 0;
}

static void update(const struct vtree *t, struct vtree_node *n)
{
	int hl = height(n->left), hr = height(n->right);

	n->height = (hl > hr ? hl : hr) + 1;
	if (t->augment)
		t->augment(n);
}

static struct vtree_node *rotate_right(const struct vtree *t, struct vtree_node *n)
{
	struct vtree_node *l = n->left;

	n->left = l->right;
	l->right = n;
	update(t, n);
	update(t, l);
	return l;
}

static struct vtree_node *rotate_left(const struct vtree *t, struct vtree_node *n)
{
	struct vtree_node *r = n->right;

	n->right = r->left;
	r->left = n;
	update(t, n);
	update(t, r);
	return r;
}

/* Restore the AVL invariant at @n after one of its subtrees changed by one. */
static struct vtree_node *rebalance(const struct vtree *t, struct vtree_node *n)
{
	int bal = height(n->left) - height(n->right);

	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(t, n->left);
		return rotate_right(t, n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(t, n->right);
		return rotate_left(t, n);
	}
	update(t, n);
	return n;
}

static struct vtree_node *insert(const struct vtree *t, struct vtree_node *root,
				 struct vtree_node *n)
{
	if (!root)
		return n;
	if (t->cmp(n, root) < 0)
		root->left = insert(t, root->left, n);
	else
		root->right = insert(t, root->right, n);
	return rebalance(t, root);
}

void vtree_insert(struct vtree *t, struct vtree_node *n)
{
	n->left = n->right = NULL;
	n->height = 1;
	if (t->augment)
		t->augment(n);
	t->root = insert(t, t->root, n);
}

/* Unlink the smallest node of @root into *@min; return the new subtree. */
static struct vtree_node *take_min(const struct vtree *t, struct vtree_node *root,
				   struct vtree_node **min)
{
	if (!root->left) {
		*min = root;
		return root->right;
	}
	root->left = take_min(t, root->left, min);
	return rebalance(t, root);
}

static struct vtree_node *erase(const struct vtree *t, struct vtree_node *root,
				struct vtree_node *n)
{
	struct vtree_node *min;
	int c;

	if (!root)
		return NULL;	/* not in the tree: nothing changes */
	if (root == n) {
		if (!n->left)
			return n->right;
		if (!n->right)
			return n->left;
		min = NULL;
		n->right = take_min(t, n->right, &min);
		min->left = n->left;
		min->right = n->right;
		return rebalance(t, min);
	}
	c = t->cmp(n, root);
	if (c < 0)
		root->left = erase(t, root->left, n);
	else
		root->right = erase(t, root->right, n);
	return rebalance(t, root);
}

void vtree_erase(struct vtree *t, struct vtree_node *n)
{
	t->root = erase(t, t->root, n);
	n->left = n->right = NULL;
}

struct vtree_node *vtree_lower_bound(const struct vtree *t, const struct vtree_node *key)
{
	struct vtree_node *n = t->root, *best = NULL;

	while (n) {
		if (t->cmp(n, key) >= 0) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct vtree_node *vtree_predecessor(const struct vtree *t, const struct vtree_node *key)
{
	struct vtree_node *n = t->root, *best = NULL;

	while (n) {
		if (t->cmp(n, key) < 0) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct vtree_node *vtree_first(const struct vtree *t)
{
	struct vtree_node *n = t->root;

	while (n && n->left)
		n = n->left;
	return n;
}

struct vtree_node *vtree_last(const struct vtree *t)
{
	struct vtree_node *n = t->root;

	while (n && n->right)
		n = n->right;
	return n;
}

static void walk(struct vtree_node *n, void (*fn)(struct vtree_node *, void *), void *arg)
{
	struct vtree_node *right;

	if (!n)
		return;
	walk(n->left, fn, arg);
	right = n->right;	/* @fn may free @n when tearing down */
	fn(n, arg);
	walk(right, fn, arg);
}

void vtree_walk(const struct vtree *t, void (*fn)(struct vtree_node *n, void *arg), void *arg)
{
	walk(t->root, fn, arg);
}

static int check(const struct vtree *t, const struct vtree_node *n,
		 const struct vtree_node *lo, const struct vtree_node *hi)
{
	int hl, hr;

	if (!n)
		return 0;
	if ((lo && t->cmp(n, lo) <= 0) || (hi && t->cmp(n, hi) >= 0))
		return -1;
	hl = check(t, n->left, lo, n);
	hr = check(t, n->right, n, hi);
	if (hl < 0 || hr < 0 || hl - hr > 1 || hr - hl > 1)
		return -1;
	if (n->height != (hl > hr ? hl : hr) + 1)
		return -1;
	return n->height;
}

bool vtree_check(const struct vtree *t)
{
	return check(t, t->root, NULL, NULL) >= 0;
}
