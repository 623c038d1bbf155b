/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mutate.h - the mutator of the fuzz targets' deterministic drivers
 * (test_fuzz_segment, test_fuzz_trace): a fixed-seed PRNG (FUZZ_SEED) and
 * byte-level mutations: bit flips, random bytes, a format's interesting
 * values in aligned 32- and 64-bit fields, runs of 0x00 or 0xff,
 * truncation, extension with garbage, and (when the format has text) its
 * tokens spliced in.
 */
#ifndef GPUVM_TESTS_FUZZ_MUTATE_H
#define GPUVM_TESTS_FUZZ_MUTATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_mutator {
	uint64_t state;			/* xorshift64*, never 0 */
	const uint64_t *values;		/* the format's interesting values */
	size_t nr_values;
	const char *const *tokens;	/* text to splice in, or none */
	size_t nr_tokens;
	size_t max_extend;		/* garbage bytes one extension adds, 0: any */
};

/* Seed from FUZZ_SEED, else a fixed constant: every run the same inputs. */
static inline void fuzz_seed(struct fuzz_mutator *m)
{
	const char *env = getenv("FUZZ_SEED");

	m->state = env ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ull;
	if (!m->state)
		m->state = 1;
}

static inline uint64_t fuzz_rnd(struct fuzz_mutator *m)
{
	m->state ^= m->state >> 12;
	m->state ^= m->state << 25;
	m->state ^= m->state >> 27;
	return m->state * 0x2545f4914f6cdd1dull;
}

/* One of the format's values, or a size near the input's own. */
static inline uint64_t fuzz_interesting(struct fuzz_mutator *m, size_t input_size)
{
	uint64_t r = fuzz_rnd(m) % (m->nr_values + 3);

	return r < m->nr_values ? m->values[r] : input_size + (r - m->nr_values) - 1;
}

static inline size_t fuzz_splice(struct fuzz_mutator *m, unsigned char *buf, size_t size,
				 size_t cap, size_t off)
{
	const char *tok = m->tokens[fuzz_rnd(m) % m->nr_tokens];
	size_t len = strlen(tok);

	if (size + len > cap)
		return size;
	memmove(buf + off + len, buf + off, size - off);
	memcpy(buf + off, tok, len);
	return size + len;
}

/* Mutate @size bytes of @buf (room for @cap) in place; the new size. */
static inline size_t fuzz_mutate(struct fuzz_mutator *m, unsigned char *buf, size_t size,
				 size_t cap)
{
	unsigned int n = 1 + fuzz_rnd(m) % 4, i;

	for (i = 0; i < n && size; i++) {
		size_t off = fuzz_rnd(m) % size, len;
		uint32_t w;
		uint64_t v;

		switch (fuzz_rnd(m) % (m->nr_tokens ? 9 : 8)) {
		case 0:
		case 1:
			buf[off] ^= 1u << (fuzz_rnd(m) % 8);
			break;
		case 2:
			buf[off] = fuzz_rnd(m);
			break;
		case 3:
			off &= ~(size_t)3;
			if (off + 4 <= size) {
				w = fuzz_interesting(m, size);
				memcpy(buf + off, &w, 4);
			}
			break;
		case 4:
			off &= ~(size_t)7;
			if (off + 8 <= size) {
				v = fuzz_interesting(m, size);
				memcpy(buf + off, &v, 8);
			}
			break;
		case 5:
			len = fuzz_rnd(m) % 64;
			if (off + len > size)
				len = size - off;
			memset(buf + off, fuzz_rnd(m) % 2 ? 0xff : 0, len);
			break;
		case 6:		/* truncate */
			size = fuzz_rnd(m) % 2 ? off : size - (size - off) / 2;
			break;
		case 7:		/* extend with garbage */
			if (size < cap) {
				len = 1 + fuzz_rnd(m) % (cap - size);
				if (m->max_extend && len > m->max_extend)
					len = m->max_extend;
				for (; len; len--)
					buf[size++] = fuzz_rnd(m);
			}
			break;
		case 8:
			size = fuzz_splice(m, buf, size, cap, off);
			break;
		}
	}
	return size;
}

#endif /* GPUVM_TESTS_FUZZ_MUTATE_H */
