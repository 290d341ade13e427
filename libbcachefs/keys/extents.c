/* Extent entries and the keys made of them: node pointers, extents, reflink, inline data. */
#include <string.h>

#include "checksum/checksum.h"
#include "keys/extents.h"
#include "keys/key_ops.h"
#include "sb/sb.h"
#include "util/names.h"

/* Targets: 0 none, then one per device, then one per disk group. */
#define TARGET_DEV_START	1U
#define TARGET_GROUP_START	(256U + TARGET_DEV_START)

#define DISK_PATH_MAX_DEPTH	32

static const u8 entry_bytes[BCH_EXTENT_ENTRY_MAX] = {
#define x(name, nr, bytes) [nr] = bytes,
	BCH_EXTENT_ENTRY_TYPES()
#undef x
};

unsigned bch_extent_entry_u64s(unsigned type)
{
	return type < BCH_EXTENT_ENTRY_MAX ? entry_bytes[type] / 8 : 1;
}

unsigned bch_extent_entry_type(const u64 *e, const u64 *end)
{
	unsigned type;

	if (e >= end || !*e)
		return BCH_EXTENT_ENTRY_MAX;
	type = __builtin_ctzll(le64_to_cpu(*e));
	if (type >= BCH_EXTENT_ENTRY_MAX || end - e < (long)bch_extent_entry_u64s(type))
		return BCH_EXTENT_ENTRY_MAX;
	return type;
}

/* The entries after a value's fixed header (bytes), at most max_u64s of them. */
static struct bkey_ptrs_c ptrs_from(struct bkey_s_c k, unsigned header, unsigned max_u64s)
{
	const u64 *end = bkey_val_end(k);
	const u64 *start;

	if (bkey_val_bytes(k.k) < header)
		return (struct bkey_ptrs_c) { end, end };
	start = (const u64 *)((const u8 *)k.v + header);
	if ((size_t)(end - start) > max_u64s)
		end = start + max_u64s;
	return (struct bkey_ptrs_c) { start, end };
}

struct bkey_ptrs_c bch_bkey_ptrs(struct bkey_s_c k)
{
	switch (k.k->type) {
	case KEY_TYPE_btree_ptr:
	case KEY_TYPE_extent:
		return ptrs_from(k, 0, ~0U);
	case KEY_TYPE_btree_ptr_v2:
		return ptrs_from(k, sizeof(struct bch_btree_ptr_v2), ~0U);
	case KEY_TYPE_reflink_v:
		return ptrs_from(k, sizeof(struct bch_reflink_v), ~0U);
	case KEY_TYPE_stripe: {
		struct bch_stripe s;

		bkey_val_copy(&s, sizeof(s), k);
		return ptrs_from(k, sizeof(s), s.nr_blocks);
	}
	default:
		return (struct bkey_ptrs_c) { NULL, NULL };
	}
}

static struct bch_extent_crc crc_default(const struct bkey *k)
{
	return (struct bch_extent_crc) {
		.compressed_size = k->size,
		.uncompressed_size = k->size,
		.live_size = k->size,
	};
}

struct bch_extent_crc bch_extent_crc_unpack(const struct bkey *k, const u64 *e,
					    unsigned type)
{
	struct bch_extent_crc r = crc_default(k);

	if (!e)
		return r;

	switch (type) {
	case BCH_EXTENT_ENTRY_crc32: {
		const struct bch_extent_crc32 *c = (const void *)e;

		r.compressed_size = crc32_compressed_size(c) + 1;
		r.uncompressed_size = crc32_uncompressed_size(c) + 1;
		r.offset = crc32_offset(c);
		r.csum_type = crc32_csum_type(c);
		r.compression_type = crc32_compression_type(c);
		r.csum.lo = crc32_csum(c);
		break;
	}
	case BCH_EXTENT_ENTRY_crc64: {
		const struct bch_extent_crc64 *c = (const void *)e;

		r.compressed_size = crc64_compressed_size(c) + 1;
		r.uncompressed_size = crc64_uncompressed_size(c) + 1;
		r.offset = crc64_offset(c);
		r.nonce = crc64_nonce(c);
		r.csum_type = crc64_csum_type(c);
		r.compression_type = crc64_compression_type(c);
		r.csum.lo = le64_to_cpu(c->csum_lo);
		r.csum.hi = crc64_csum_hi(c);
		break;
	}
	case BCH_EXTENT_ENTRY_crc128: {
		const struct bch_extent_crc128 *c = (const void *)e;

		r.compressed_size = crc128_compressed_size(c) + 1;
		r.uncompressed_size = crc128_uncompressed_size(c) + 1;
		r.offset = crc128_offset(c);
		r.nonce = crc128_nonce(c);
		r.csum_type = crc128_csum_type(c);
		r.compression_type = crc128_compression_type(c);
		r.csum = c->csum;
		break;
	}
	}
	return r;
}

static bool entry_is_crc(unsigned type)
{
	return type == BCH_EXTENT_ENTRY_crc32 ||
	       type == BCH_EXTENT_ENTRY_crc64 ||
	       type == BCH_EXTENT_ENTRY_crc128;
}

void bch_ptr_iter_init(struct bch_ptr_iter *it, struct bkey_s_c k)
{
	struct bkey_ptrs_c ptrs = bch_bkey_ptrs(k);

	it->k = k.k;
	it->pos = ptrs.start;
	it->end = ptrs.end;
	it->crc = crc_default(k.k);
}

bool bch_ptr_iter_next(struct bch_ptr_iter *it, struct extent_ptr_decoded *p)
{
	p->has_ec = false;
	while (it->pos < it->end) {
		const u64 *e = it->pos;
		unsigned type = bch_extent_entry_type(e, it->end);

		if (type == BCH_EXTENT_ENTRY_MAX) {
			it->pos = it->end;
			break;
		}
		it->pos += bch_extent_entry_u64s(type);

		if (type == BCH_EXTENT_ENTRY_ptr) {
			p->ptr.v = *e;
			p->crc = it->crc;
			return true;
		}
		if (entry_is_crc(type))
			it->crc = bch_extent_crc_unpack(it->k, e, type);
		if (type == BCH_EXTENT_ENTRY_stripe_ptr) {
			p->ec.v = *e;
			p->has_ec = true;
		}
	}
	return false;
}

/* ---- dropping pointers ---- */

/* The entries of a key being changed in place. */
static u64 *entries_of(struct bkey_i *k, u64 **end)
{
	struct bkey_ptrs_c p = bch_bkey_ptrs(bkey_i_to_s_c(k));

	*end = (u64 *)p.end;
	return (u64 *)p.start;
}

/* Removes the entry of u64s words at e from k's value. */
static void entry_cut(struct bkey_i *k, u64 *e, unsigned u64s)
{
	u64 *val_end = k->v + bkey_val_u64s(&k->k);

	memmove(e, e + u64s, (val_end - e - u64s) * 8);
	memset(val_end - u64s, 0, u64s * 8);
	k->k.u64s -= u64s;
}

/* Counts the pointers of k: all of them, and the dirty ones into *dirty. */
static unsigned ptrs_count(struct bkey_i *k, unsigned *dirty)
{
	u64 *end, *e = entries_of(k, &end);
	unsigned nr = 0, type;

	*dirty = 0;
	for (; (type = bch_extent_entry_type(e, end)) < BCH_EXTENT_ENTRY_MAX; e += bch_extent_entry_u64s(type))
		if (type == BCH_EXTENT_ENTRY_ptr) {
			nr++;
			*dirty += !ptr_cached((const struct bch_extent_ptr *)e);
		}
	return nr;
}

/* Drops pointer number idx; false when k has no such pointer. */
static bool ptr_drop(struct bkey_i *k, unsigned idx)
{
	u64 *end, *start = entries_of(k, &end), *e, *at = NULL, *prev[BCH_BKEY_PTRS_MAX * 4];
	unsigned nr_prev = 0, n = 0, type, dirty;
	bool ec = false, drop_crc = true;

	/* the entries since the previous pointer, and whether one is a stripe entry */
	for (e = start; (type = bch_extent_entry_type(e, end)) < BCH_EXTENT_ENTRY_MAX;
	     e += bch_extent_entry_u64s(type)) {
		if (type == BCH_EXTENT_ENTRY_ptr && n++ == idx) {
			at = e;
			break;
		}
		if (type == BCH_EXTENT_ENTRY_ptr) {
			nr_prev = 0;
			ec = false;
		} else if (nr_prev < sizeof(prev) / sizeof(prev[0])) {
			prev[nr_prev++] = e;
			ec |= type == BCH_EXTENT_ENTRY_stripe_ptr;
		}
	}
	if (!at)
		return false;
	if (ec) {
		set_ptr_dev((struct bch_extent_ptr *)at, BCH_DEV_NONE);
		return true;
	}
	ptrs_count(k, &dirty);
	/* the checksum entry stays when a pointer after this one still uses it */
	for (e = at + 1; (type = bch_extent_entry_type(e, end)) < BCH_EXTENT_ENTRY_MAX;
	     e += bch_extent_entry_u64s(type)) {
		if (entry_is_crc(type))
			break;
		if (type == BCH_EXTENT_ENTRY_ptr) {
			drop_crc = false;
			break;
		}
	}
	entry_cut(k, at, 1);
	while (nr_prev--) {
		e = prev[nr_prev];
		type = bch_extent_entry_type(e, k->v + bkey_val_u64s(&k->k));
		if ((entry_is_crc(type) && drop_crc) || type == BCH_EXTENT_ENTRY_stripe_ptr)
			entry_cut(k, e, bch_extent_entry_u64s(type));
	}

	unsigned left_dirty, left = ptrs_count(k, &left_dirty);

	if ((dirty && !left_dirty) || !left) {
		k->k.type = dirty && !left_dirty ? KEY_TYPE_error : KEY_TYPE_deleted;
		memset(k->v, 0, bkey_val_bytes(&k->k));
		k->k.u64s = BKEY_U64s;
	}
	return true;
}

bool bch_extent_ptr_set_gen(struct bkey_i *k, unsigned idx, u8 gen)
{
	u64 *end, *e = entries_of(k, &end);
	unsigned n = 0, type;

	for (; (type = bch_extent_entry_type(e, end)) < BCH_EXTENT_ENTRY_MAX; e += bch_extent_entry_u64s(type))
		if (type == BCH_EXTENT_ENTRY_ptr && n++ == idx) {
			set_ptr_gen((struct bch_extent_ptr *)e, gen);
			return true;
		}
	return false;
}

void bch_extent_drop_ptrs(struct bkey_i *k, u32 mask)
{
	/* from the last, so that the numbers of those before stay */
	for (unsigned i = BCH_BKEY_PTRS_MAX; i-- > 0;)
		if (mask & (1U << i))
			ptr_drop(k, i);
}

unsigned bch_extent_drop_stripes(struct bkey_i *k, bool (*missing)(void *ctx, u64 idx), void *ctx)
{
	u64 *end, *e = entries_of(k, &end);
	unsigned type, nr = 0;

	while ((type = bch_extent_entry_type(e, end)) < BCH_EXTENT_ENTRY_MAX) {
		unsigned u64s = bch_extent_entry_u64s(type);

		if (type == BCH_EXTENT_ENTRY_stripe_ptr &&
		    missing(ctx, stripe_ptr_idx((const struct bch_extent_stripe_ptr *)e))) {
			entry_cut(k, e, u64s);
			end -= u64s;
			nr++;
			continue;
		}
		e += u64s;
	}
	return nr;
}

/* ---- durability and text ---- */

static unsigned ptr_durability(const struct bch_fs *c, const struct extent_ptr_decoded *p)
{
	const struct bch_member_cpu *m = bch_key_member(c, ptr_dev(&p->ptr));

	if (!m || m->state == BCH_MEMBER_STATE_failed || ptr_cached(&p->ptr))
		return 0;
	return p->has_ec ? stripe_ptr_redundancy(&p->ec) + 1 : m->durability;
}

unsigned bch_bkey_durability(const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	unsigned durability = 0;

	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p))
		durability += ptr_durability(c, &p);
	return durability;
}

void bch_extent_ptr_to_text(struct printbuf *out, const struct bch_fs *c,
			    const struct bch_extent_ptr *ptr)
{
	const struct bch_member_cpu *m = bch_key_member(c, ptr_dev(ptr));
	unsigned long long offset = ptr_offset(ptr), bucket;

	if (!m || !m->bucket_size) {
		pb_printf(out, "ptr: %u:%llu gen %u%s", (unsigned)ptr_dev(ptr), offset,
			  (unsigned)ptr_gen(ptr), ptr_cached(ptr) ? " cached" : "");
		return;
	}

	bucket = offset / m->bucket_size;
	pb_printf(out, "ptr: %u:%llu:%llu gen %u", (unsigned)ptr_dev(ptr), bucket,
		  offset % m->bucket_size, (unsigned)ptr_gen(ptr));
	if (m->durability != 1)
		pb_printf(out, " d=%u", m->durability);
	if (ptr_cached(ptr))
		pb_str(out, " cached");
	if (ptr_unwritten(ptr))
		pb_str(out, " unwritten");
	/* stale: the bucket was reused since (its gen moved past ours) */
	const struct bch_dev *ca = c ? bch_dev_get(c, ptr_dev(ptr)) : NULL;

	if (bucket - m->first_bucket >= m->nbuckets - m->first_bucket)
		pb_str(out, " invalid");
	else if (ca && ca->bucket_gens && bucket < ca->nr_bucket_gens &&
		 bch_gen_after(ca->bucket_gens[bucket], ptr_gen(ptr)))
		pb_str(out, " stale");
}

void bch_extent_crc_to_text(struct printbuf *out, const struct bch_extent_crc *crc)
{
	pb_printf(out, "crc: c_size %u size %u offset %u nonce %u csum ",
		  crc->compressed_size, crc->uncompressed_size, crc->offset, crc->nonce);
	bch_prt_name(out, bch_csum_type_names, BCH_CSUM_NR, "csum_type", crc->csum_type);
	pb_printf(out, " %llx:%llx  compress ", (unsigned long long)crc->csum.hi,
		  (unsigned long long)crc->csum.lo);
	bch_prt_name(out, bch_compression_type_names, BCH_COMPRESSION_TYPE_NR,
		     "compression_type", crc->compression_type);
}

void bch_compression_opt_to_text(struct printbuf *out, unsigned v)
{
	unsigned type = v & 15, level = v >> 4;

	/* invalid encodings read as "none" */
	if (type >= BCH_COMPRESSION_OPT_NR || (!type && level))
		type = level = 0;
	pb_str(out, bch_compression_opt_names[type]);
	if (level)
		pb_printf(out, ":%u", level);
}

static const struct bch_disk_group *disk_group(const struct bch_fs *c, unsigned idx)
{
	const struct bch_sb_field_disk_groups *f;
	size_t nr;

	if (!c || !c->disk_sb.sb)
		return NULL;
	f = bch_sb_field_get_t(c->disk_sb.sb, disk_groups);
	if (!f)
		return NULL;
	nr = (le32_to_cpu(f->field.u64s) * 8 - sizeof(f->field)) / sizeof(f->entries[0]);
	return idx < nr ? &f->entries[idx] : NULL;
}

void bch_disk_path_to_text(struct printbuf *out, const struct bch_fs *c, unsigned v)
{
	unsigned path[DISK_PATH_MAX_DEPTH], nr = 0;
	const struct bch_disk_group *g;

	while (1) {
		g = disk_group(c, v);
		if (nr == DISK_PATH_MAX_DEPTH || !g || group_deleted(g)) {
			pb_printf(out, "invalid label %u", v);
			return;
		}
		path[nr++] = v;
		if (!group_parent(g))
			break;
		v = group_parent(g) - 1;
	}

	while (nr--) {
		g = disk_group(c, path[nr]);
		pb_printf(out, "%.*s%s", (int)sizeof(g->label), (const char *)g->label,
			  nr ? "." : "");
	}
}

void bch_target_to_text(struct printbuf *out, const struct bch_fs *c, unsigned target)
{
	if (target < TARGET_DEV_START) {
		pb_str(out, "none");
	} else if (target < TARGET_GROUP_START) {
		unsigned dev = target - TARGET_DEV_START;
		const struct bch_dev *ca = bch_key_member(c, dev) ? bch_dev_get(c, dev) : NULL;

		/* the kernel names a device by the path it was opened with */
		if (ca)
			pb_printf(out, "/dev/%.31s", ca->path ? ca->path : "");
		else if (bch_key_member(c, dev))
			pb_printf(out, "offline device %u", dev);
		else
			pb_printf(out, "invalid device %u", dev);
	} else {
		bch_disk_path_to_text(out, c, target - TARGET_GROUP_START);
	}
}

static void rebalance_to_text(struct printbuf *out, const struct bch_fs *c,
			      const struct bch_extent_rebalance *r)
{
	pb_str(out, "rebalance: target ");
	if (c)
		bch_target_to_text(out, c, rebalance_target(r));
	else
		pb_printf(out, "%u", (unsigned)rebalance_target(r));
	pb_str(out, " compression ");
	bch_compression_opt_to_text(out, rebalance_compression(r));
}

/* One entry; false for an entry that cannot be decoded (the rest is not shown). */
static bool entry_to_text(struct printbuf *out, const struct bch_fs *c,
			  const struct bkey *k, const u64 *e, unsigned type)
{
	struct bch_extent_crc crc;

	switch (type) {
	case BCH_EXTENT_ENTRY_ptr:
		bch_extent_ptr_to_text(out, c, (const void *)e);
		return true;
	case BCH_EXTENT_ENTRY_crc32:
	case BCH_EXTENT_ENTRY_crc64:
	case BCH_EXTENT_ENTRY_crc128:
		crc = bch_extent_crc_unpack(k, e, type);
		bch_extent_crc_to_text(out, &crc);
		return true;
	case BCH_EXTENT_ENTRY_stripe_ptr: {
		const struct bch_extent_stripe_ptr *ec = (const void *)e;

		pb_printf(out, "ec: idx %llu block %u",
			  (unsigned long long)stripe_ptr_idx(ec),
			  (unsigned)stripe_ptr_block(ec));
		return true;
	}
	case BCH_EXTENT_ENTRY_rebalance:
		rebalance_to_text(out, c, (const void *)e);
		return true;
	default:
		pb_printf(out, "(invalid extent entry %.16llx)",
			  (unsigned long long)le64_to_cpu(*e));
		return false;
	}
}

void bch_bkey_ptrs_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bkey_ptrs_c ptrs = bch_bkey_ptrs(k);

	if (c)
		pb_printf(out, "durability: %u ", bch_bkey_durability(c, k));

	for (const u64 *e = ptrs.start; e < ptrs.end;) {
		unsigned type = bch_extent_entry_type(e, ptrs.end);

		if (e != ptrs.start)
			pb_char(out, ' ');
		if (!entry_to_text(out, c, k.k, e, type))
			return;
		e += bch_extent_entry_u64s(type);
	}
}

/* ---- validation ---- */

/* What the walk over a key's entries has seen so far. */
struct ptrs_state {
	struct bkey_ptrs_c ptrs;
	unsigned size_ondisk;	/* sectors the next pointer covers */
	unsigned nonce;		/* of encrypted data, UINT32_MAX until seen */
	unsigned nr_ptrs;
	bool have_written;
	bool have_unwritten;
	bool have_ec;
	bool crc_since_last_ptr;
};

static bool is_node_ptr(const struct bkey *k)
{
	return k->type == KEY_TYPE_btree_ptr || k->type == KEY_TYPE_btree_ptr_v2;
}

static int check_ptr_dup(struct bkey_check *chk, const struct ptrs_state *s, const u64 *e)
{
	unsigned dev = ptr_dev((const struct bch_extent_ptr *)e);

	for (const u64 *o = s->ptrs.start; o < s->ptrs.end;) {
		unsigned type = bch_extent_entry_type(o, s->ptrs.end);

		if (type == BCH_EXTENT_ENTRY_MAX)
			break;
		if (type == BCH_EXTENT_ENTRY_ptr && o != e &&
		    ptr_dev((const struct bch_extent_ptr *)o) == dev)
			return bkey_invalid(chk, BCH_FSERR_ptr_to_duplicate_device,
					    "multiple pointers to same device (%u)", dev);
		o += bch_extent_entry_u64s(type);
	}
	return 0;
}

/* Pointers to devices that are not members are left to fsck's repair. */
static int check_ptr(struct bkey_check *chk, const struct ptrs_state *s, const u64 *e)
{
	const struct bch_extent_ptr *ptr = (const void *)e;
	const struct bch_member_cpu *m = bch_key_member(chk->c, ptr_dev(ptr));
	u64 bucket;
	u32 bucket_offset;
	int ret;

	if (!m || !m->bucket_size)
		return 0;
	ret = check_ptr_dup(chk, s, e);
	if (ret)
		return ret;

	bucket = ptr_offset(ptr) / m->bucket_size;
	bucket_offset = ptr_offset(ptr) % m->bucket_size;
	if (bucket >= m->nbuckets)
		return bkey_invalid(chk, BCH_FSERR_ptr_after_last_bucket,
				    "pointer past last bucket (%llu > %llu)",
				    (unsigned long long)bucket, (unsigned long long)m->nbuckets);
	if (bucket < m->first_bucket)
		return bkey_invalid(chk, BCH_FSERR_ptr_before_first_bucket,
				    "pointer before first bucket (%llu < %u)",
				    (unsigned long long)bucket, m->first_bucket);
	if (bucket_offset + s->size_ondisk > m->bucket_size)
		return bkey_invalid(chk, BCH_FSERR_ptr_spans_multiple_buckets,
				    "pointer spans multiple buckets (%u + %u > %u)",
				    bucket_offset, s->size_ondisk, m->bucket_size);
	return 0;
}

static bool csum_type_usable(const struct bch_fs *c, unsigned type)
{
	if (type >= BCH_CSUM_NR)
		return false;
	return !bch_csum_type_is_encryption(type) || (c && c->sb.encryption_type);
}

bool bch_crc_is_encoded(const struct bch_extent_crc *crc)
{
	return crc->csum_type != BCH_CSUM_none ||
	       (crc->compression_type != BCH_COMPRESSION_TYPE_none &&
		crc->compression_type != BCH_COMPRESSION_TYPE_incompressible);
}

static int check_crc(struct bkey_check *chk, struct ptrs_state *s, const struct bkey *k,
		     const u64 *e, unsigned type)
{
	struct bch_extent_crc crc = bch_extent_crc_unpack(k, e, type);
	const struct bch_fs *c = chk->c;

	if ((u32)(crc.offset + crc.live_size) > crc.uncompressed_size)
		return bkey_invalid(chk, BCH_FSERR_ptr_crc_uncompressed_size_too_small,
				    "checksum offset + key size > uncompressed size");
	if (!csum_type_usable(c, crc.csum_type))
		return bkey_invalid(chk, BCH_FSERR_ptr_crc_csum_type_unknown,
				    "invalid checksum type");
	if (crc.compression_type >= BCH_COMPRESSION_TYPE_NR)
		return bkey_invalid(chk, BCH_FSERR_ptr_crc_compression_type_unknown,
				    "invalid compression type");
	if (bch_csum_type_is_encryption(crc.csum_type)) {
		if (s->nonce == UINT32_MAX)
			s->nonce = crc.offset + crc.nonce;
		else if (s->nonce != crc.offset + crc.nonce)
			return bkey_invalid(chk, BCH_FSERR_ptr_crc_nonce_mismatch,
					    "incorrect nonce");
	}
	if (s->crc_since_last_ptr)
		return bkey_invalid(chk, BCH_FSERR_ptr_crc_redundant, "redundant crc entry");
	s->crc_since_last_ptr = true;

	if ((chk->where->write || chk->where->commit) && c &&
	    bch_crc_is_encoded(&crc) && crc.uncompressed_size > c->sb.encoded_extent_max)
		return bkey_invalid(chk, BCH_FSERR_ptr_crc_uncompressed_size_too_big,
				    "too large encoded extent");
	s->size_ondisk = crc.compressed_size;
	return 0;
}

static int check_entry(struct bkey_check *chk, struct ptrs_state *s, struct bkey_s_c k,
		       const u64 *e, unsigned type)
{
	const struct bch_extent_ptr *ptr = (const void *)e;
	int ret;

	switch (type) {
	case BCH_EXTENT_ENTRY_ptr:
		ret = check_ptr(chk, s, e);
		if (ret)
			return ret;
		if (ptr_cached(ptr) && s->have_ec)
			return bkey_invalid(chk, BCH_FSERR_ptr_cached_and_erasure_coded,
					    "cached, erasure coded ptr");
		if (ptr_unwritten(ptr))
			s->have_unwritten = true;
		else
			s->have_written = true;
		s->have_ec = false;
		s->crc_since_last_ptr = false;
		s->nr_ptrs++;
		return 0;
	case BCH_EXTENT_ENTRY_crc32:
	case BCH_EXTENT_ENTRY_crc64:
	case BCH_EXTENT_ENTRY_crc128:
		return check_crc(chk, s, k.k, e, type);
	case BCH_EXTENT_ENTRY_stripe_ptr:
		if (s->have_ec)
			return bkey_invalid(chk, BCH_FSERR_ptr_stripe_redundant,
					    "redundant stripe entry");
		s->have_ec = true;
		return 0;
	default:
		/* rebalance entries may carry options of newer versions */
		return 0;
	}
}

static int check_ptrs_end(struct bkey_check *chk, const struct ptrs_state *s,
			  struct bkey_s_c k)
{
	if (!s->nr_ptrs)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_no_ptrs, "no ptrs");
	if (s->nr_ptrs > BCH_BKEY_PTRS_MAX)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_too_many_ptrs,
				    "too many ptrs: %u > %u", s->nr_ptrs, BCH_BKEY_PTRS_MAX);
	if (s->have_written && s->have_unwritten)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_written_and_unwritten,
				    "extent with unwritten and written ptrs");
	if (k.k->type != KEY_TYPE_extent && s->have_unwritten)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_unwritten, "has unwritten ptrs");
	if (s->crc_since_last_ptr)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_redundant_crc,
				    "redundant crc entry");
	if (s->have_ec)
		return bkey_invalid(chk, BCH_FSERR_extent_ptrs_redundant_stripe,
				    "redundant stripe entry");
	return 0;
}

int bch_bkey_ptrs_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct ptrs_state s = {
		.ptrs = bch_bkey_ptrs(k),
		.size_ondisk = k.k->size,
		.nonce = UINT32_MAX,
	};
	int ret;

	if (is_node_ptr(k.k))
		s.size_ondisk = chk->c ? chk->c->sb.btree_node_size : 0;

	for (const u64 *e = s.ptrs.start; e < s.ptrs.end;) {
		unsigned type = bch_extent_entry_type(e, s.ptrs.end);

		if (type == BCH_EXTENT_ENTRY_MAX)
			return bkey_invalid(chk, BCH_FSERR_extent_ptrs_invalid_entry,
					    "invalid extent entry type (got %u, max %u)",
					    *e ? __builtin_ctzll(*e) : BCH_EXTENT_ENTRY_MAX,
					    BCH_EXTENT_ENTRY_MAX);
		if (is_node_ptr(k.k) && type != BCH_EXTENT_ENTRY_ptr)
			return bkey_invalid(chk, BCH_FSERR_btree_ptr_has_non_ptr,
					    "has non ptr field");
		ret = check_entry(chk, &s, k, e, type);
		if (ret)
			return ret;
		e += bch_extent_entry_u64s(type);
	}
	return check_ptrs_end(chk, &s, k);
}

/* ---- the key types ---- */

int bch_btree_ptr_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (bkey_val_u64s(k.k) > BCH_REPLICAS_MAX)
		return bkey_invalid(chk, BCH_FSERR_btree_ptr_val_too_big,
				    "value too big (%u > %u)", bkey_val_u64s(k.k),
				    BCH_REPLICAS_MAX);
	return bch_bkey_ptrs_validate(chk, k);
}

void bch_btree_ptr_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	bch_bkey_ptrs_to_text(out, c, k);
}

/* The header and at most BCH_REPLICAS_MAX pointers. */
#define BTREE_PTR_V2_VAL_U64s_MAX \
	((sizeof(struct bch_btree_ptr_v2) + 8 * BCH_REPLICAS_MAX) / 8)

int bch_btree_ptr_v2_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_btree_ptr_v2 bp;

	bkey_val_copy(&bp, sizeof(bp), k);
	if (bkey_val_u64s(k.k) > BTREE_PTR_V2_VAL_U64s_MAX)
		return bkey_invalid(chk, BCH_FSERR_btree_ptr_v2_val_too_big,
				    "value too big (%u > %zu)", bkey_val_u64s(k.k),
				    BTREE_PTR_V2_VAL_U64s_MAX);
	if (bpos_ge(bp.min_key, k.k->p))
		return bkey_invalid(chk, BCH_FSERR_btree_ptr_v2_min_key_bad, "min_key > key");
	if (chk->where->write && !bp.sectors_written)
		return bkey_invalid(chk, BCH_FSERR_btree_ptr_v2_written_0,
				    "sectors_written == 0");
	return bch_bkey_ptrs_validate(chk, k);
}

void bch_btree_ptr_v2_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_btree_ptr_v2 bp;

	bkey_val_copy(&bp, sizeof(bp), k);
	pb_printf(out, "seq %llx written %u min_key %s",
		  (unsigned long long)le64_to_cpu(bp.seq), le16_to_cpu(bp.sectors_written),
		  btree_ptr_range_updated(&bp) ? "R " : "");
	bch_bpos_to_text(out, bp.min_key);
	pb_char(out, ' ');
	bch_bkey_ptrs_to_text(out, c, k);
}

int bch_extent_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	return bch_bkey_ptrs_validate(chk, k);
}

void bch_extent_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	bch_bkey_ptrs_to_text(out, c, k);
}

int bch_reservation_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_reservation r;

	bkey_val_copy(&r, sizeof(r), k);
	if (!r.nr_replicas || r.nr_replicas > BCH_REPLICAS_MAX)
		return bkey_invalid(chk, BCH_FSERR_reservation_key_nr_replicas_invalid,
				    "invalid nr_replicas (%u)", r.nr_replicas);
	return 0;
}

void bch_reservation_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_reservation r;

	bkey_val_copy(&r, sizeof(r), k);
	pb_printf(out, "generation %u replicas %u", le32_to_cpu(r.generation), r.nr_replicas);
}

int bch_reflink_p_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_reflink_p p;

	bkey_val_copy(&p, sizeof(p), k);
	if (le64_to_cpu(p.idx) < le32_to_cpu(p.front_pad))
		return bkey_invalid(chk, BCH_FSERR_reflink_p_front_pad_bad,
				    "idx < front_pad (%llu < %u)",
				    (unsigned long long)le64_to_cpu(p.idx),
				    le32_to_cpu(p.front_pad));
	return 0;
}

void bch_reflink_p_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_reflink_p p;

	bkey_val_copy(&p, sizeof(p), k);
	pb_printf(out, "idx %llu front_pad %u back_pad %u",
		  (unsigned long long)le64_to_cpu(p.idx),
		  le32_to_cpu(p.front_pad), le32_to_cpu(p.back_pad));
}

int bch_reflink_v_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	return bch_bkey_ptrs_validate(chk, k);
}

void bch_reflink_v_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_reflink_v r;

	bkey_val_copy(&r, sizeof(r), k);
	pb_printf(out, "refcount: %llu ", (unsigned long long)le64_to_cpu(r.refcount));
	bch_bkey_ptrs_to_text(out, c, k);
}

/*
 * The kernel's format prints the first 32 data bytes as hex; the reference
 * tool's printf lacks that conversion, so only "datalen N:" is comparable.
 */
static void inline_bytes_to_text(struct printbuf *out, const u8 *data, unsigned len)
{
	pb_printf(out, "datalen %u: ", len);
	pb_hex_bytes(out, data, len < 32 ? len : 32, false);
}

void bch_inline_data_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	inline_bytes_to_text(out, k.v, bkey_val_bytes(k.k));
}

void bch_indirect_inline_data_to_text(struct printbuf *out, const struct bch_fs *c,
				      struct bkey_s_c k)
{
	struct bch_indirect_inline_data d;
	unsigned bytes = bkey_val_bytes(k.k);

	bkey_val_copy(&d, sizeof(d), k);
	pb_printf(out, "refcount %llu ", (unsigned long long)le64_to_cpu(d.refcount));
	if (bytes < sizeof(d))
		bytes = sizeof(d);
	inline_bytes_to_text(out, (const u8 *)k.v + sizeof(d), bytes - sizeof(d));
}
