/* Scanning the devices for btree nodes, newest winning where ranges overlap. */
#include <stdlib.h>
#include <string.h>

#include "node_scan.h"
#include "node_read.h"
#include "node_write.h"
#include "alloc/derive.h"
#include "core/fs.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

bool bch_btree_id_derived(enum btree_id id)
{
	return id == BTREE_ID_alloc || id == BTREE_ID_backpointers || id == BTREE_ID_need_discard ||
	       id == BTREE_ID_freespace || id == BTREE_ID_bucket_gens;
}

static void found_to_key(const struct bch_found_node *n, struct bkey_i *k)
{
	bch_btree_ptr_v2_init(k, n->max_key, n->min_key, n->cookie, n->sectors_written,
			      n->ptrs, n->nr_ptrs);
	set_btree_ptr_range_updated((struct bch_btree_ptr_v2 *)k->v, n->range_updated);
}

void bch_found_node_to_text(struct printbuf *out, const struct bch_found_node *n)
{
	pb_printf(out, "%s l=%u seq=%u journal_seq=%llu ",
		  n->btree_id < BTREE_ID_NR ? bch_btree_id_names[n->btree_id] : "?",
		  n->level, n->node_seq, (unsigned long long)n->journal_seq);
	bch_bpos_to_text(out, n->min_key);
	pb_str(out, " - ");
	bch_bpos_to_text(out, n->max_key);
	for (unsigned i = 0; i < n->nr_ptrs; i++)
		pb_printf(out, " %u:%llu", (unsigned)ptr_dev(&n->ptrs[i]),
			  (unsigned long long)ptr_offset(&n->ptrs[i]));
}

static int found_add(struct bch_node_scan *s, const struct bch_found_node *n)
{
	int ret = bch_grow(&s->nodes, &s->size, s->nr, 64);

	if (ret)
		return ret;
	s->nodes[s->nr++] = *n;
	return 0;
}

/*
 * The node at sector of ca, if one starts there: its header looks like a
 * node of ours, and it reads and validates whole through a pointer made
 * from the header (so every bset's checksum is checked).
 */
static int try_node(struct bch_fs *c, struct bch_dev *ca, u64 sector, struct btree_node *hdr,
		    struct btree *b, struct bch_node_scan *s)
{
	union { struct bkey_i k; u8 buf[sizeof(struct bkey) + sizeof(struct bch_btree_ptr_v2) + 8]; } ptr;
	struct printbuf err = PRINTBUF;
	u64 bucket = sector / ca->mi.bucket_size;
	struct bch_found_node n = { 0 };
	int ret;

	ret = bch_dev_pread(ca, hdr, 4096, sector << 9, &err);
	pb_exit(&err);
	if (ret)
		return 0;	/* an unreadable slot holds nothing we can use */
	s->sectors_read += 8;
	if (le64_to_cpu(hdr->magic) != c->sb.bset_magic ||
	    btree_node_id(hdr) >= BTREE_ID_NR || bch_btree_id_derived(btree_node_id(hdr)) ||
	    btree_node_level(hdr) >= BTREE_MAX_DEPTH)
		return 0;
	s->nodes_seen++;

	n.btree_id = btree_node_id(hdr);
	n.level = btree_node_level(hdr);
	n.node_seq = btree_node_seq(hdr);
	n.cookie = le64_to_cpu(hdr->keys.seq);
	n.min_key = hdr->min_key;
	n.max_key = hdr->max_key;
	n.nr_ptrs = 1;
	n.ptrs[0].v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_ptr);
	set_ptr_offset(&n.ptrs[0], sector);
	set_ptr_dev(&n.ptrs[0], ca->idx);
	set_ptr_gen(&n.ptrs[0], ca->bucket_gens && bucket < ca->nr_bucket_gens ?
		    ca->bucket_gens[bucket] : 0);
	found_to_key(&n, &ptr.k);

	/*
	 * a found node must pass its checksum: fsck's tolerance is for nodes it
	 * has no other copy of.  Its invalid keys are reported when a node put
	 * back in a btree is read there, not for every node the scan sees
	 */
	bool tolerant = c->node_csum_tolerant;
	typeof(c->invalid_key) invalid_key = c->invalid_key;

	c->node_csum_tolerant = false;
	c->invalid_key = NULL;
	ret = bch_btree_node_read(c, &ptr.k, n.btree_id, n.level, b, &err);
	c->node_csum_tolerant = tolerant;
	c->invalid_key = invalid_key;
	pb_exit(&err);
	if (ret == -BCH_ERR_nomem)
		return ret;
	if (ret)
		return 0;
	n.sectors_written = b->written;
	n.journal_seq = b->max_journal_seq;
	return found_add(s, &n);
}

static int cmp_cookie(const void *l, const void *r)
{
	const struct bch_found_node *a = l, *b = r;

	if (a->btree_id != b->btree_id)
		return a->btree_id < b->btree_id ? -1 : 1;
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

/* Which of two nodes is newer: the header's seq, then the journal seq. */
static int cmp_time(const struct bch_found_node *a, const struct bch_found_node *b)
{
	if (a->node_seq != b->node_seq)
		return a->node_seq < b->node_seq ? -1 : 1;
	return a->journal_seq < b->journal_seq ? -1 : a->journal_seq > b->journal_seq;
}

/* By btree, level (interior first), min_key, newest first. */
static int cmp_pos(const void *l, const void *r)
{
	const struct bch_found_node *a = l, *b = r;

	if (a->btree_id != b->btree_id)
		return a->btree_id < b->btree_id ? -1 : 1;
	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	return bpos_cmp(a->min_key, b->min_key) ?: -cmp_time(a, b);
}

/* Moves n forward while it sorts after its successor (its min_key grew). */
static void resort_one(struct bch_found_node *n, struct bch_found_node *end)
{
	while (n + 1 < end && cmp_pos(n, n + 1) > 0) {
		struct bch_found_node t = n[0];

		n[0] = n[1];
		n[1] = t;
		n++;
	}
}

/*
 * Nodes after `start` (same btree and level) that begin inside it: the
 * older of each pair gives way, losing the overlap, or all of itself when
 * the other covers it.
 */
static void resolve_overlaps(struct bch_found_node *start, struct bch_found_node *end)
{
again:
	for (struct bch_found_node *n = start + 1;
	     n < end && n->btree_id == start->btree_id && n->level == start->level &&
	     bpos_lt(n->min_key, start->max_key);
	     n++) {
		int cmp = cmp_time(start, n);

		if (cmp < 0) {
			/* the later node is newer: start ends before it */
			start->max_key = bpos_predecessor(n->min_key);
			start->range_updated = true;
		} else if (cmp == 0 && n->level) {
			n->overwritten = true;
		} else if (!bpos_lt(n->max_key, start->max_key) && !bpos_eq(n->max_key, start->max_key)) {
			/* start is newer (or as new) and n goes further: n starts after it */
			n->min_key = bpos_successor(start->max_key);
			n->range_updated = true;
			resort_one(n, end);
			goto again;
		} else {
			n->overwritten = true;
		}
	}
}

int bch_node_scan(struct bch_fs *c, struct bch_node_scan *s, struct printbuf *err)
{
	struct btree_node *hdr = malloc(4096);
	struct btree *b = calloc(1, sizeof(*b));
	unsigned node_sectors = c->sb.btree_node_size;
	size_t dst;
	int ret = 0;

	if (s->done)
		goto out;
	if (!hdr || !b) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX && !ret; d++) {
		struct bch_dev *ca = bch_dev_get(c, d);

		if (!ca || !(ca->mi.data_allowed & (1U << BCH_DATA_btree)))
			continue;
		for (u64 bucket = ca->mi.first_bucket; bucket < ca->mi.nbuckets && !ret; bucket++)
			for (unsigned off = 0; off + node_sectors <= ca->mi.bucket_size && !ret;
			     off += node_sectors) {
				u64 sector = bucket * ca->mi.bucket_size + off;

				if (!bch_member_btree_bitmap_covers(&ca->mi, sector, node_sectors))
					continue;
				ret = try_node(c, ca, sector, hdr, b, s);
			}
	}
	if (ret) {
		pb_str(err, "scanning for btree nodes: out of memory");
		goto out;
	}

	/* replicas of one node share its cookie */
	qsort(s->nodes, s->nr, sizeof(s->nodes[0]), cmp_cookie);
	dst = 0;
	for (size_t i = 0; i < s->nr; i++) {
		struct bch_found_node *prev = dst ? &s->nodes[dst - 1] : NULL;

		if (prev && prev->btree_id == s->nodes[i].btree_id &&
		    prev->level == s->nodes[i].level && prev->cookie == s->nodes[i].cookie) {
			if (prev->nr_ptrs < BCH_REPLICAS_MAX)
				prev->ptrs[prev->nr_ptrs++] = s->nodes[i].ptrs[0];
		} else {
			s->nodes[dst++] = s->nodes[i];
		}
	}
	s->nr = dst;

	qsort(s->nodes, s->nr, sizeof(s->nodes[0]), cmp_pos);
	dst = 0;
	for (size_t i = 0; i < s->nr; i++) {
		if (s->nodes[i].overwritten)
			continue;
		resolve_overlaps(&s->nodes[i], s->nodes + s->nr);
		s->nodes[dst++] = s->nodes[i];
	}
	s->nr = dst;
	s->done = true;
out:
	if (b) {
		bch_btree_node_free(b);
		free(b);
	}
	free(hdr);
	return ret;
}

void bch_node_scan_exit(struct bch_node_scan *s)
{
	free(s->nodes);
	memset(s, 0, sizeof(*s));
}

bool bch_node_scan_has(const struct bch_node_scan *s, enum btree_id id)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->nodes[i].btree_id == id)
			return true;
	return false;
}

int bch_node_scan_range(const struct bch_node_scan *s, enum btree_id id, unsigned level,
			struct bpos min, struct bpos max,
			int (*fn)(void *ctx, const struct bkey_i *ptr), void *ctx)
{
	union { struct bkey_i k; u8 buf[sizeof(struct bkey) + sizeof(struct bch_btree_ptr_v2) +
					BCH_REPLICAS_MAX * sizeof(struct bch_extent_ptr)]; } k;
	int ret = 0;

	if (bch_btree_id_derived(id))
		return 0;
	for (size_t i = 0; i < s->nr && !ret; i++) {
		struct bch_found_node n = s->nodes[i];

		if (n.btree_id != id || n.level != level ||
		    bpos_lt(n.max_key, min) || bpos_gt(n.min_key, max))
			continue;
		n.range_updated |= bpos_lt(n.min_key, min) || bpos_gt(n.max_key, max);
		if (bpos_lt(n.min_key, min))
			n.min_key = min;
		if (bpos_gt(n.max_key, max))
			n.max_key = max;
		found_to_key(&n, &k.k);
		ret = fn(ctx, &k.k);
	}
	return ret;
}
