/* Reading a btree node from disk: checksums, bset and key validation, and the merge of bsets into sorted keys. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_read.h"
#include "bset.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"

/* A run of merged keys: bsets start as runs and are merged pairwise. */
struct key_run {
	size_t start, end;
};

#define MAX_BSETS	1024

void bch_btree_node_free(struct btree *b)
{
	free(b->data);
	free(b->keys);
	free(b->vals);
	memset(b, 0, sizeof(*b));
}

/* Room for want keys in keys[]/vals[] and as much again for merging. */
static int reserve_keys(struct btree *b, size_t want)
{
	size_t n = b->keys_size ? b->keys_size : 256;

	if (2 * want <= b->keys_size)
		return 0;
	while (n < 2 * want)
		n *= 2;
	struct bkey *k = realloc(b->keys, n * sizeof(*k));
	if (!k)
		return -BCH_ERR_nomem;
	b->keys = k;
	const void **v = realloc(b->vals, n * sizeof(*v));
	if (!v)
		return -BCH_ERR_nomem;
	b->vals = v;
	b->keys_size = n;
	return 0;
}

/* The device pointers of a btree_ptr / btree_ptr_v2 value. */
struct node_ptr_info {
	const struct bch_extent_ptr *ptrs;
	unsigned nr_ptrs;
	unsigned sectors_written;	/* 0: unknown (btree_ptr v1) */
	u64 seq;
	struct bpos min_key;
	bool range_updated;
};

static int node_ptr_info(const struct bkey_i *k, struct node_ptr_info *p)
{
	unsigned bytes = bkey_val_bytes(&k->k);

	memset(p, 0, sizeof(*p));
	if (k->k.type == KEY_TYPE_btree_ptr_v2 && bytes >= sizeof(struct bch_btree_ptr_v2)) {
		const struct bch_btree_ptr_v2 *v = (const void *)k->v;

		p->ptrs = v->start;
		p->nr_ptrs = (bytes - sizeof(*v)) / sizeof(struct bch_extent_ptr);
		p->sectors_written = le16_to_cpu(v->sectors_written);
		p->seq = le64_to_cpu(v->seq);
		p->min_key = v->min_key;
		p->range_updated = btree_ptr_range_updated(v);
		return 0;
	}
	if (k->k.type == KEY_TYPE_btree_ptr) {
		p->ptrs = (const void *)k->v;
		p->nr_ptrs = bytes / sizeof(struct bch_extent_ptr);
		return 0;
	}
	return -BCH_ERR_btree_node_invalid;
}

static const char *btree_name(unsigned id)
{
	return id < BTREE_ID_NR ? bch_btree_id_names[id] : "(unknown btree)";
}

/* Checks the node header against the pointer we followed to it. */
static int check_header(struct bch_fs *c, struct btree *b, const struct bkey_i *ptr,
			const struct node_ptr_info *pi, struct printbuf *err)
{
	const struct btree_node *bn = b->data;

	if (le64_to_cpu(bn->magic) != c->sb.bset_magic) {
		b->read_err = BCH_FSERR_btree_node_bad_magic;
		pb_printf(err, "bad magic: want %llx, got %llx",
			  (unsigned long long)c->sb.bset_magic,
			  (unsigned long long)le64_to_cpu(bn->magic));
		return -BCH_ERR_btree_node_invalid;
	}
	if (ptr->k.type == KEY_TYPE_btree_ptr_v2 ? le64_to_cpu(bn->keys.seq) != pi->seq
						 : !bn->keys.seq) {
		b->read_err = BCH_FSERR_btree_node_bad_seq;
		pb_printf(err, "wrong node: seq %llx, pointer wants %llx",
			  (unsigned long long)le64_to_cpu(bn->keys.seq),
			  (unsigned long long)pi->seq);
		return -BCH_ERR_btree_node_invalid;
	}
	if (btree_node_id(bn) != b->btree_id || btree_node_level(bn) != b->level) {
		b->read_err = btree_node_id(bn) != b->btree_id ? BCH_FSERR_btree_node_bad_btree
							       : BCH_FSERR_btree_node_bad_level;
		pb_printf(err, "node is btree %s level %u, expected %s level %u",
			  btree_name(btree_node_id(bn)), (unsigned)btree_node_level(bn),
			  btree_name(b->btree_id), b->level);
		return -BCH_ERR_btree_node_invalid;
	}
	/* a pointer whose range fsck moved gives the node its bounds */
	if (!pi->range_updated &&
	    (!bpos_eq(bn->max_key, ptr->k.p) ||
	     (ptr->k.type == KEY_TYPE_btree_ptr_v2 && !bpos_eq(bn->min_key, pi->min_key)))) {
		b->read_err = !bpos_eq(bn->max_key, ptr->k.p) ? BCH_FSERR_btree_node_bad_max_key
							      : BCH_FSERR_btree_node_bad_min_key;
		pb_str(err, "node covers ");
		bch_bpos_to_text(err, bn->min_key);
		pb_str(err, " - ");
		bch_bpos_to_text(err, bn->max_key);
		pb_str(err, ", its pointer says otherwise");
		return -BCH_ERR_btree_node_invalid;
	}
	if ((b->btree_id == BTREE_ID_extents || b->btree_id == BTREE_ID_reflink) &&
	    !btree_node_new_extent_overwrite(bn)) {
		b->read_err = BCH_FSERR_btree_node_unsupported_version;
		pb_str(err, "extents node without NEW_EXTENT_OVERWRITE is not supported");
		return -BCH_ERR_btree_node_invalid;
	}
	if (bch_bkey_format_validate(&bn->format, err)) {
		b->read_err = BCH_FSERR_btree_node_bad_format;
		return -BCH_ERR_btree_node_invalid;
	}
	return 0;
}

/* Starts a message about damage in node b (and counts it). */
static void log_where(struct bch_fs *c, const struct btree *b)
{
	c->nr_errors++;
	pb_printf(&c->log, "btree %s level %u node at dev %u sector %llu: ",
		  btree_name(b->btree_id), b->level, b->dev,
		  (unsigned long long)b->sector);
}

/* Reports the invalid key k (in c->log and to the invalid_key hook); the caller drops it. */
static void invalid_key_drop(struct bch_fs *c, struct btree *b, struct bpos at, struct bkey_s_c k,
			     enum bch_sb_error_id err_id, const struct printbuf *msg)
{
	log_where(c, b);
	pb_str(&c->log, "invalid key ");
	bch_bkey_val_to_text(&c->log, c, k);
	pb_printf(&c->log, ": %s; dropping\n", pb_cstr(msg));
	b->dropped_keys = true;
	if (c->invalid_key)
		c->invalid_key(c->invalid_key_ctx, b->btree_id, b->level, at, k, err_id, pb_cstr(msg));
}

/*
 * A key outside the node's range (which a pointer with range_updated has
 * moved: drop_deleted() leaves such keys out quietly) is invalid, as the
 * kernel's node read finds.  *at becomes the nearest position inside the
 * range, where an update reaches this node.
 */
static bool outside_node(const struct btree *b, const struct bkey *k, struct bpos *at,
			 struct printbuf *msg, enum bch_sb_error_id *err_id)
{
	bool before = bpos_lt(k->p, b->min_key);

	if (b->range_updated || (!before && !bpos_gt(k->p, b->max_key)))
		return false;
	*err_id = before ? BCH_FSERR_bkey_before_start_of_btree_node
			 : BCH_FSERR_bkey_after_end_of_btree_node;
	*at = before ? b->min_key : b->max_key;
	pb_str(msg, before ? "key before start of btree node (" : "key past end of btree node (");
	bch_bpos_to_text(msg, *at);
	pb_str(msg, ")");
	return true;
}

/*
 * Unpacks and validates one bset's keys, appending them to b->keys.
 * Invalid keys are dropped with a message in c->log, as the kernel does;
 * but before the bsets are merged, so an older version of the key in an
 * earlier bset is what stays (the kernel checks values after the merge and
 * loses the key: a repair keeping the last good version loses less).
 */
static int add_bset_keys(struct bch_fs *c, struct btree *b, const struct bset *i)
{
	const struct bkey_packed *k = (const void *)i->_data;
	const void *end = i->_data + le16_to_cpu(i->u64s);
	struct bkey_where where = { .btree = b->btree_id, .level = b->level };
	struct printbuf msg = PRINTBUF;
	enum bch_sb_error_id err_id;
	int ret;

	/* each key takes at least one u64: this bounds the count */
	ret = reserve_keys(b, b->nr_keys + le16_to_cpu(i->u64s));
	if (ret)
		return ret;

	for (; (const void *)k < end; k = bkeyp_next(k)) {
		struct bkey *u = &b->keys[b->nr_keys];

		if (!k->u64s || (const void *)bkeyp_next(k) > end ||
		    k->u64s < bkeyp_key_u64s(&b->unpacker, k)) {
			if (b->quiet) {
				ret = -BCH_ERR_btree_node_read_again;
				break;
			}
			log_where(c, b);
			pb_printf(&c->log, "key of bad size %u at u64 %zu of bset; rest of bset dropped\n",
				  k->u64s, (size_t)((const u64 *)k - i->_data));
			b->dropped_keys = true;
			break;
		}
		if (!bch_bkey_unpack(&b->unpacker, k, u)) {
			if (b->quiet) {
				ret = -BCH_ERR_btree_node_read_again;
				break;
			}
			log_where(c, b);
			pb_printf(&c->log, "key with unknown format %u dropped\n",
				  bkeyp_format_of(k));
			b->dropped_keys = true;
			continue;
		}

		struct bkey_s_c kc = { u, bkeyp_val(&b->unpacker, k) };

		u->pad = bkeyp_format_of(k) == KEY_FORMAT_LOCAL_BTREE ? BKEY_PAD_WAS_PACKED : 0;
		pb_reset(&msg);
		struct bpos at = u->p;

		if (bch_bkey_validate_id(c, kc, &where, &msg, &err_id) ||
		    outside_node(b, u, &at, &msg, &err_id)) {
			if (b->quiet) {
				ret = -BCH_ERR_btree_node_read_again;
				break;
			}
			invalid_key_drop(c, b, at, kc, err_id, &msg);
			continue;
		}
		b->vals[b->nr_keys++] = kc.v;
	}
	pb_exit(&msg);
	return ret;
}

__attribute__((format(printf, 3, 4)))
static void fixable(struct btree *b, unsigned err, const char *fmt, ...)
{
	va_list args;

	if (b->fixable_err)
		return;
	b->fixable_err = err;
	va_start(args, fmt);
	vsnprintf(b->fixable_msg, sizeof(b->fixable_msg), fmt, args);
	va_end(args);
}

/* Validates a bset header found at sector offset `written`. */
static int check_bset(struct bch_fs *c, struct btree *b, const struct bset *i,
		      unsigned written, unsigned sectors, unsigned limit,
		      struct printbuf *err)
{
	if (written + sectors > limit) {
		b->read_err = BCH_FSERR_bset_past_end_of_btree_node;
		pb_printf(err, "bset at sector %u runs past the end of the node (%u sectors)",
			  written, limit);
		return -BCH_ERR_btree_node_invalid;
	}
	if (le16_to_cpu(i->version) < bcachefs_metadata_version_min ||
	    BCH_VERSION_MAJOR(le16_to_cpu(i->version)) >
	    BCH_VERSION_MAJOR(bcachefs_metadata_version_current)) {
		b->read_err = BCH_FSERR_btree_node_unsupported_version;
		pb_printf(err, "bset at sector %u has unsupported version %u",
			  written, le16_to_cpu(i->version));
		return -BCH_ERR_btree_node_invalid;
	}
	if (bset_separate_whiteouts(i)) {
		b->read_err = BCH_FSERR_btree_node_unsupported_version;
		pb_printf(err, "bset at sector %u has SEPARATE_WHITEOUTS set", written);
		return -BCH_ERR_btree_node_invalid;
	}
	if (bset_offset(i) && bset_offset(i) != written) {
		if (b->quiet)
			return -BCH_ERR_btree_node_read_again;
		if (c->node_csum_tolerant) {
			/* fsck reads on and rewrites the node whole, as the kernel's does */
			b->dropped_keys = true;
			fixable(b, BCH_FSERR_bset_wrong_sector_offset, "bset at sector %u says it is at sector %u",
				written, (unsigned)bset_offset(i));
			return 0;
		}
		b->read_err = BCH_FSERR_bset_wrong_sector_offset;
		pb_printf(err, "bset at sector %u says it is at sector %u",
			  written, (unsigned)bset_offset(i));
		return -BCH_ERR_btree_node_invalid;
	}
	if (b->quiet && le16_to_cpu(i->version) < c->sb.version_min)
		return -BCH_ERR_btree_node_read_again;
	if (c->node_csum_tolerant && le16_to_cpu(i->version) < c->sb.version_min) {
		/* the superblock's version_min goes down to it, as the kernel's fsck does */
		if (!c->bset_version_low || le16_to_cpu(i->version) < c->bset_version_low)
			c->bset_version_low = le16_to_cpu(i->version);
		fixable(b, BCH_FSERR_btree_node_bset_older_than_sb_min,
			"bset at sector %u has version %u, older than the superblock's version_min %u",
			written, le16_to_cpu(i->version), c->sb.version_min);
	}
	return 0;
}

static int verify_csum(struct btree *b, const struct bset *i, const void *start, size_t hdr,
		       struct bch_csum stored, unsigned written, struct printbuf *err)
{
	unsigned type = bset_csum_type(i);

	if (!bch_csum_type_valid(type)) {
		b->read_err = BCH_FSERR_bset_unknown_csum;
		pb_printf(err, "bset at sector %u: unknown checksum type %u", written, type);
		/* nothing to check it with: taken as it is, like a bad checksum */
		if (b->csum_tolerate) {
			b->csum_bad = true;
			return 0;
		}
		return -BCH_ERR_btree_node_csum;
	}
	if (bch_csum_type_is_encryption(type)) {
		pb_str(err, "node is encrypted: not supported yet");
		return -BCH_ERR_encrypted;
	}
	struct bch_csum got = bch_bset_csum(start, i, hdr, written << 9);
	if (!bch_csum_eq(got, stored)) {
		b->read_err = BCH_FSERR_bset_bad_csum;
		pb_printf(err, "bset at sector %u: checksum error, type %s: got %016llx%016llx should be %016llx%016llx",
			  written, bch_csum_type_name(type),
			  (unsigned long long)le64_to_cpu(got.hi), (unsigned long long)le64_to_cpu(got.lo),
			  (unsigned long long)le64_to_cpu(stored.hi), (unsigned long long)le64_to_cpu(stored.lo));
		if (b->csum_tolerate) {
			b->csum_bad = true;
			return 0;
		}
		return -BCH_ERR_btree_node_csum;
	}
	return 0;
}

/* Walks the bsets of the node buffer, collecting keys and run boundaries. */
static int read_bsets(struct bch_fs *c, struct btree *b, unsigned limit,
		      struct key_run *runs, struct printbuf *err)
{
	unsigned block = c->sb.block_size;
	struct btree_node *bn = b->data;
	int ret;

	b->written = 0;
	b->fixable_err = 0;
	b->nr_bsets = 0;
	b->nr_keys = 0;
	b->max_journal_seq = 0;
	b->dropped_keys = false;

	while (b->written < limit && b->nr_bsets < MAX_BSETS) {
		bool first = !b->written;
		void *start = (u8 *)b->data + ((size_t)b->written << 9);
		struct bset *i = first ? &bn->keys : &((struct btree_node_entry *)start)->keys;
		size_t hdr = first ? sizeof(struct btree_node) : sizeof(struct btree_node_entry);

		if (!first && ((size_t)b->written << 9) + hdr > ((size_t)limit << 9))
			break;
		if (!first && i->seq != bn->keys.seq)
			break;

		size_t bytes = hdr + 8 * (size_t)le16_to_cpu(i->u64s);
		unsigned sectors = ((bytes + (block << 9) - 1) / (block << 9)) * block;

		ret = check_bset(c, b, i, b->written, sectors, limit, err);
		if (ret)
			return ret;
		ret = verify_csum(b, i, start, hdr, *(struct bch_csum *)start,
				  b->written, err);
		if (ret)
			return ret;

		u64 jseq = le64_to_cpu(i->journal_seq);
		bool blacklisted = bch_journal_seq_blacklisted(c, jseq);

		if (blacklisted && first) {
			if (b->quiet)
				return -BCH_ERR_btree_node_read_again;
			log_where(c, b);
			pb_printf(&c->log, "first bset has blacklisted journal seq %llu\n",
				  (unsigned long long)jseq);
		}
		b->written += sectors;
		if (blacklisted && !first)
			continue;

		runs[b->nr_bsets].start = b->nr_keys;
		ret = add_bset_keys(c, b, i);
		if (ret)
			return ret;
		runs[b->nr_bsets++].end = b->nr_keys;
		if (jseq > b->max_journal_seq)
			b->max_journal_seq = jseq;
	}
	return 0;
}

/*
 * Merges two adjacent runs (l older than r) into dst.  At equal positions
 * the newer key wins; deleted keys are kept here (they still mask keys of
 * older runs) and dropped at the end.
 */
static size_t merge_runs(struct btree *b, struct key_run l, struct key_run r, size_t dst)
{
	size_t i = l.start, j = r.start;
	struct bkey *k = b->keys;
	const void **v = b->vals;

	while (i < l.end || j < r.end) {
		size_t take;

		if (i == l.end) {
			take = j++;
		} else if (j == r.end) {
			take = i++;
		} else {
			int cmp = bpos_cmp(k[i].p, k[j].p);

			if (cmp < 0) {
				take = i++;
			} else {
				if (!cmp)
					i++;	/* the older key is masked */
				take = j++;
			}
		}
		k[dst] = k[take];
		v[dst++] = v[take];
	}
	return dst;
}

/*
 * Pairwise merging passes.  The keys live in the first half of the arrays;
 * each pass writes into the second half and copies back.
 */
static void merge_bsets(struct btree *b, struct key_run *runs)
{
	unsigned nr = b->nr_bsets;
	size_t half = b->keys_size / 2;

	while (nr > 1) {
		unsigned out = 0;
		size_t dst = half;

		for (unsigned r = 0; r < nr; r += 2) {
			struct key_run m = { dst - half, 0 };

			if (r + 1 < nr)
				dst = merge_runs(b, runs[r], runs[r + 1], dst);
			else
				dst = merge_runs(b, runs[r], (struct key_run) { runs[r].end, runs[r].end }, dst);
			m.end = dst - half;
			runs[out++] = m;
		}
		memcpy(b->keys, b->keys + half, (dst - half) * sizeof(*b->keys));
		memcpy(b->vals, b->vals + half, (dst - half) * sizeof(*b->vals));
		b->nr_keys = dst - half;
		nr = out;
	}
}

/*
 * Drops deleted keys, and keys outside a moved range, and counts what is
 * left as it is stored.
 */
static void drop_deleted(struct btree *b)
{
	size_t dst = 0;

	b->live_u64s = b->nr_packed = b->nr_unpacked = 0;
	for (size_t i = 0; i < b->nr_keys; i++) {
		const struct bkey *k = &b->keys[i];

		if (k->type == KEY_TYPE_deleted)
			continue;
		if (b->range_updated &&
		    (bpos_lt(k->p, b->min_key) || bpos_gt(k->p, b->max_key)))
			continue;
		if (k->pad == BKEY_PAD_WAS_PACKED) {
			b->nr_packed++;
			b->live_u64s += k->u64s - BKEY_U64s + b->format.key_u64s;
		} else {
			b->nr_unpacked++;
			b->live_u64s += k->u64s;
		}
		b->keys[dst] = *k;
		b->vals[dst++] = b->vals[i];
	}
	b->nr_keys = dst;
}

static int read_replica(struct bch_fs *c, struct btree *b, const struct bkey_i *ptr,
			const struct node_ptr_info *pi, unsigned p, struct printbuf *err)
{
	const struct bch_extent_ptr *ep = &pi->ptrs[p];
	struct bch_dev *ca = bch_dev_get(c, ptr_dev(ep));
	unsigned node_sectors = c->sb.btree_node_size;
	unsigned limit = pi->sectors_written ? pi->sectors_written : node_sectors;
	struct key_run *runs;
	int ret;

	b->dev = ptr_dev(ep);
	b->sector = ptr_offset(ep);
	if (!ca) {
		pb_printf(err, "device %u is not available", (unsigned)ptr_dev(ep));
		return -BCH_ERR_sb_missing_device;
	}
	if (limit > node_sectors) {
		pb_printf(err, "pointer says %u sectors written, node size is %u",
			  limit, node_sectors);
		return -BCH_ERR_btree_node_invalid;
	}
	if (b->data_size < (size_t)node_sectors << 9) {
		void *d = realloc(b->data, (size_t)node_sectors << 9);
		if (!d)
			return -BCH_ERR_nomem;
		b->data = d;
		b->data_size = (size_t)node_sectors << 9;
	}
	ret = bch_dev_pread(ca, b->data, (size_t)limit << 9, b->sector << 9, err);
	if (ret)
		return ret;
	ret = check_header(c, b, ptr, pi, err);
	if (ret)
		return ret;

	const struct btree_node *bn = b->data;

	b->format = bn->format;
	bch_bkey_unpacker_init(&b->unpacker, &b->format);
	b->range_updated = pi->range_updated;
	b->min_key = pi->range_updated ? pi->min_key : bn->min_key;
	b->max_key = pi->range_updated ? ptr->k.p : bn->max_key;
	b->seq = le64_to_cpu(bn->keys.seq);
	b->node_seq = btree_node_seq(bn);

	runs = malloc(MAX_BSETS * sizeof(*runs));
	if (!runs)
		return -BCH_ERR_nomem;
	ret = read_bsets(c, b, limit, runs, err);
	if (!ret && pi->sectors_written && b->written < pi->sectors_written) {
		b->read_err = BCH_FSERR_btree_node_data_missing;
		pb_printf(err, "node data missing: expected %u sectors, found %u",
			  pi->sectors_written, b->written);
		/* tolerated: what was written is used, as the kernel's fsck does */
		if (!b->csum_tolerate)
			ret = -BCH_ERR_btree_node_invalid;
	}
	if (!ret) {
		merge_bsets(b, runs);
		drop_deleted(b);
	}
	free(runs);
	return ret;
}

/*
 * No copy of the node passes its checksum, or has all its pointer says
 * was written: replica p (whose only fault that was) is read again taking
 * the bsets as they are, as the kernel's fsck does; its keys are
 * validated as always.  fsck hears of it through the first key, and the
 * node is rewritten at the next flush.
 */
static int read_csum_bad(struct bch_fs *c, struct btree *b, const struct node_ptr_info *pi,
			 unsigned p, unsigned why, struct printbuf *err)
{
	struct printbuf msg = PRINTBUF;
	int ret;

	b->csum_tolerate = true;
	ret = read_replica(c, b, &b->key, pi, p, &msg);
	b->csum_tolerate = false;
	if (ret) {
		b->nr_keys = 0;
		pb_printf(err, "\nread again without checksums: %s", pb_cstr(&msg));
		pb_exit(&msg);
		return ret;
	}
	pb_reset(err);
	b->read_err = 0;
	b->dropped_keys = true;
	log_where(c, b);
	pb_printf(&c->log, "%s; the node's keys are used as they are\n", pb_cstr(&msg));
	if (c->invalid_key && b->nr_keys && why == BCH_FSERR_btree_node_data_missing) {
		c->invalid_key(c->invalid_key_ctx, b->btree_id, b->level, b->keys[0].p,
			       (struct bkey_s_c) { &b->keys[0], b->vals[0] },
			       BCH_FSERR_btree_node_data_missing, pb_cstr(&msg));
		pb_exit(&msg);
		return 0;
	}
	/* an unknown checksum type is a bad checksum too, as the kernel counts it */
	if (c->invalid_key && b->nr_keys && why == BCH_FSERR_bset_unknown_csum)
		c->invalid_key(c->invalid_key_ctx, b->btree_id, b->level, b->keys[0].p,
			       (struct bkey_s_c) { &b->keys[0], b->vals[0] },
			       BCH_FSERR_bset_unknown_csum, pb_cstr(&msg));
	if (c->invalid_key && b->nr_keys)
		c->invalid_key(c->invalid_key_ctx, b->btree_id, b->level, b->keys[0].p,
			       (struct bkey_s_c) { &b->keys[0], b->vals[0] },
			       BCH_FSERR_bset_bad_csum, pb_cstr(&msg));
	pb_exit(&msg);
	return 0;
}

int bch_btree_node_read(struct bch_fs *c, const struct bkey_i *ptr,
			enum btree_id id, unsigned level, struct btree *b,
			struct printbuf *err)
{
	struct node_ptr_info pi;
	int ret = -BCH_ERR_btree_node_read;

	b->btree_id = id;
	b->level = level;
	b->read_err = 0;
	if (ptr->k.u64s * 8 > sizeof(b->_key_buf) || node_ptr_info(ptr, &pi) || !pi.nr_ptrs) {
		pb_printf(err, "btree %s level %u: bad node pointer", btree_name(id), level);
		return -BCH_ERR_btree_node_invalid;
	}
	memcpy(&b->key, ptr, ptr->k.u64s * 8);
	b->csum_tolerate = b->csum_bad = false;

	int csum_only = -1;	/* a replica that failed its checksum and nothing before */
	unsigned csum_why = 0;	/* and how: bset_bad_csum or bset_unknown_csum */

	for (unsigned p = 0; p < pi.nr_ptrs; p++) {
		struct printbuf msg = PRINTBUF;

		/* keep the pointer's values: b->key is a copy of ptr */
		ret = read_replica(c, b, &b->key, &pi, p, &msg);
		if (!ret) {
			pb_exit(&msg);
			if (b->fixable_err && c->invalid_key && b->nr_keys)
				c->invalid_key(c->invalid_key_ctx, b->btree_id, b->level, b->keys[0].p,
					       (struct bkey_s_c) { &b->keys[0], b->vals[0] },
					       b->fixable_err, b->fixable_msg);
			return 0;
		}
		if (b->quiet) {
			/* the walker's thread reads it again, and says what is wrong */
			pb_exit(&msg);
			b->nr_keys = 0;
			return ret;
		}
		if ((b->read_err == BCH_FSERR_bset_bad_csum ||
		     b->read_err == BCH_FSERR_bset_unknown_csum ||
		     b->read_err == BCH_FSERR_btree_node_data_missing) && csum_only < 0) {
			csum_only = p;
			csum_why = b->read_err;
		}
		pb_printf(err, "btree %s level %u node at dev %u sector %llu (max key ",
			  btree_name(id), level, b->dev, (unsigned long long)b->sector);
		bch_bpos_to_text(err, ptr->k.p);
		pb_printf(err, "): %s", pb_cstr(&msg));
		if (p + 1 < pi.nr_ptrs)
			pb_str(err, "; trying another replica\n");
		pb_exit(&msg);
	}
	if (c->node_csum_tolerant && csum_only >= 0)
		return read_csum_bad(c, b, &pi, csum_only, csum_why, err);
	b->nr_keys = 0;
	return ret;
}

int bch_btree_node_read_quiet(struct bch_fs *c, const struct bkey_i *ptr,
			      enum btree_id id, unsigned level, struct btree *b)
{
	struct printbuf err = PRINTBUF;
	int ret;

	b->quiet = true;
	ret = bch_btree_node_read(c, ptr, id, level, b, &err);
	b->quiet = false;
	pb_exit(&err);
	return ret;
}

size_t bch_btree_node_lower_bound(const struct btree *b, struct bpos pos)
{
	size_t l = 0, r = b->nr_keys;

	while (l < r) {
		size_t m = l + (r - l) / 2;

		if (bpos_lt(b->keys[m].p, pos))
			l = m + 1;
		else
			r = m;
	}
	return l;
}

/*
 * `list -m formats`: the node's range, pointer, format and fill.  The
 * kernel adds two counts of its in-memory search tree ("floats", "failed
 * unpacked"), which a reader that keeps sorted arrays does not have; the
 * unpack function length is 0 outside the kernel.
 */
void bch_btree_node_to_text(struct printbuf *out, const struct bch_fs *c,
			    const struct btree *b)
{
	size_t space = ((size_t)c->sb.btree_node_size << 9) - sizeof(struct btree_node);
	size_t max_u64s = space / 8;

	pb_printf(out, "l %u ", b->level);
	bch_bpos_to_text(out, b->min_key);
	pb_str(out, " - ");
	bch_bpos_to_text(out, b->max_key);
	pb_str(out, ":\n    ptrs: ");
	bch_val_to_text(out, c, bkey_i_to_s_c(&b->key));
	pb_newline(out);
	pb_str(out, "    format: ");
	bch_bkey_format_to_text(out, &b->format);
	/* no newline before "unpack fn len": the kernel prints it so */
	pb_printf(out, "    unpack fn len: 0\n"
		  "    bytes used %zu/%zu (%zu%% full)\n"
		  "    sib u64s: %zu, %zu (merge threshold %zu)\n"
		  "    nr packed keys %zu\n"
		  "    nr unpacked keys %zu\n",
		  b->live_u64s * 8, space, b->live_u64s * 100 / max_u64s,
		  b->live_u64s, b->live_u64s, max_u64s / 3,
		  b->nr_packed, b->nr_unpacked);
}

/*
 * `list -m nodes-ondisk`: the node as written, bset by bset, every key
 * including deleted ones.  The whole node is read again, past
 * sectors_written, up to the first block that is not one of its bsets.
 */
void bch_btree_node_ondisk_to_text(struct printbuf *out, struct bch_fs *c,
				   const struct btree *b)
{
	struct node_ptr_info pi;
	struct bch_dev *ca = NULL;
	unsigned node_sectors = c->sb.btree_node_size, block = c->sb.block_size;
	struct printbuf err = PRINTBUF;
	struct btree_node *n = NULL;
	struct bkey_unpacker unp;

	if (!node_ptr_info(&b->key, &pi))
		for (unsigned i = 0; i < pi.nr_ptrs && !ca; i++)
			ca = bch_dev_get(c, ptr_dev(&pi.ptrs[i])) ? bch_dev_get(c, ptr_dev(&pi.ptrs[i])) : NULL;
	if (!ca) {
		pb_str(out, "error getting device to read from: invalid device\n");
		return;
	}
	n = malloc((size_t)node_sectors << 9);
	if (!n) {
		pb_str(out, "memory allocation failure\n");
		return;
	}
	u64 sector = ptr_offset(&pi.ptrs[0]);
	for (unsigned i = 0; i < pi.nr_ptrs; i++)
		if (bch_dev_get(c, ptr_dev(&pi.ptrs[i])) == ca)
			sector = ptr_offset(&pi.ptrs[i]);
	if (bch_dev_pread(ca, n, (size_t)node_sectors << 9, sector << 9, &err)) {
		pb_printf(out, "IO error reading btree node: %s\n", pb_cstr(&err));
		goto out;
	}
	bch_bkey_unpacker_init(&unp, &n->format);

	for (unsigned offset = 0; offset < node_sectors;) {
		void *start = (u8 *)n + ((size_t)offset << 9);
		struct bset *i = offset ? &((struct btree_node_entry *)start)->keys : &n->keys;
		size_t hdr = offset ? sizeof(struct btree_node_entry) : sizeof(struct btree_node);
		size_t bytes;

		if (offset && i->seq != n->keys.seq)
			break;
		if (!bch_csum_type_valid(bset_csum_type(i))) {
			pb_printf(out, "unknown checksum type at offset %u: %u\n",
				  offset, (unsigned)bset_csum_type(i));
			goto out;
		}
		bytes = hdr + 8 * (size_t)le16_to_cpu(i->u64s);
		if (((size_t)offset << 9) + bytes > ((size_t)node_sectors << 9) ||
		    !bch_csum_eq(bch_bset_csum(start, i, hdr, offset << 9),
				 *(struct bch_csum *)start)) {
			/* the kernel ends this message with a newline only for the first bset */
			pb_str(out, offset ? "invalid checksum" : "invalid checksum\n");
			goto out;
		}
		pb_printf(out, "  offset %u version %u, journal seq %llu\n", offset,
			  le16_to_cpu(i->version), (unsigned long long)le64_to_cpu(i->journal_seq));
		offset += ((bytes + (block << 9) - 1) / (block << 9)) * block;

		pb_indent_add(out, 4);
		const struct bkey_packed *k = (const void *)i->_data;
		const void *end = i->_data + le16_to_cpu(i->u64s);
		for (; (const void *)k < end && k->u64s; k = bkeyp_next(k)) {
			struct bkey u;

			if ((const void *)bkeyp_next(k) > end || !bch_bkey_unpack(&unp, k, &u))
				break;
			bch_bkey_val_to_text(out, c, (struct bkey_s_c) { &u, bkeyp_val(&unp, k) });
			pb_newline(out);
		}
		pb_indent_sub(out, 4);
	}
out:
	pb_exit(&err);
	free(n);
}
