/* Reading file data: extents (any replica, checksums verified, decompressed), inline data, holes, reflinks. */
#include <stdlib.h>
#include <string.h>

#include "data/data_read.h"
#include "btree/iter.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "data/compress.h"
#include "keys/extents.h"
#include "util/errcode.h"

struct data_reader {
	struct bch_fs *c;
	const struct bch_snapshot_table *snaps;	/* NULL: only keys of the snapshot itself */
	struct printbuf *err;
	u8 *enc;			/* encoded data of one extent, as on disk */
	size_t enc_size;
	u8 *dec;			/* the same decompressed */
	size_t dec_size;
};

static int scratch(u8 **buf, size_t *size, size_t want)
{
	u8 *n;

	if (*size >= want)
		return 0;
	n = realloc(*buf, want);
	if (!n)
		return -BCH_ERR_nomem;
	*buf = n;
	*size = want;
	return 0;
}

static int read_range(struct data_reader *r, enum btree_id btree, u64 inode, u32 snap,
		      u64 offset, u8 *out, size_t len);

/* ---- one pointer ---- */

static bool ptr_readable(const struct bch_fs *c, const struct extent_ptr_decoded *p)
{
	unsigned dev = ptr_dev(&p->ptr);
	const struct bch_dev *ca = bch_dev_get(c, dev);
	u64 bucket;

	if (!ca || ptr_unwritten(&p->ptr))
		return false;
	bucket = ptr_offset(&p->ptr) / c->sb.members[dev].bucket_size;
	/* a cached copy whose bucket was reused since holds other data */
	return !ptr_cached(&p->ptr) || !ca->bucket_gens || bucket >= ca->nr_bucket_gens ||
	       ca->bucket_gens[bucket] == ptr_gen(&p->ptr);
}

/* The extent's whole encoded data, checked and decoded; *data its uncompressed bytes. */
static int read_encoded(struct data_reader *r, const struct bch_dev *ca,
			const struct extent_ptr_decoded *p, const u8 **data)
{
	const struct bch_extent_crc *crc = &p->crc;
	size_t disk = (size_t)crc->compressed_size << 9, full = (size_t)crc->uncompressed_size << 9;
	int ret = scratch(&r->enc, &r->enc_size, disk) ?:
		bch_dev_pread(ca, r->enc, disk, ptr_offset(&p->ptr) << 9, r->err);

	if (ret)
		return ret;
	if (crc->csum_type) {
		struct bch_csum got = bch_checksum(crc->csum_type, bch_nonce_null(), r->enc, disk);

		if (!bch_csum_eq(got, crc->csum)) {
			pb_printf(r->err, "dev %u sector %llu: data checksum error (%s: got %016llx%016llx, want %016llx%016llx)",
				  ca->idx, (unsigned long long)ptr_offset(&p->ptr),
				  bch_csum_type_name(crc->csum_type),
				  (unsigned long long)got.hi, (unsigned long long)got.lo,
				  (unsigned long long)crc->csum.hi, (unsigned long long)crc->csum.lo);
			return -BCH_ERR_data_csum;
		}
	}
	*data = r->enc;
	if (!bch_compression_is_encoded(crc->compression_type))
		return 0;
	ret = scratch(&r->dec, &r->dec_size, full) ?:
	      bch_decompress(crc->compression_type, r->enc, disk, r->dec, full);
	if (ret == -BCH_ERR_decompress)
		pb_printf(r->err, "dev %u sector %llu: decompression error", ca->idx,
			  (unsigned long long)ptr_offset(&p->ptr));
	*data = r->dec;
	return ret;
}

/* n bytes at rel bytes into the key's range, from pointer p. */
static int read_ptr(struct data_reader *r, const struct extent_ptr_decoded *p, u64 rel,
		    u8 *out, size_t n)
{
	const struct bch_dev *ca = bch_dev_get(r->c, ptr_dev(&p->ptr));
	const struct bch_extent_crc *crc = &p->crc;
	u64 skip = ((u64)crc->offset << 9) + rel;
	const u8 *data;
	int ret;

	if (bch_csum_type_is_encryption(crc->csum_type)) {
		pb_str(r->err, "encrypted extent: reading is not implemented");
		return -BCH_ERR_encrypted;
	}
	if (!crc->csum_type && !bch_compression_is_encoded(crc->compression_type))
		return bch_dev_pread(ca, out, n, (ptr_offset(&p->ptr) << 9) + skip, r->err);
	if (skip + n > (u64)crc->uncompressed_size << 9) {
		pb_str(r->err, "extent larger than its checksum entry");
		return -BCH_ERR_bkey_invalid;
	}
	ret = read_encoded(r, ca, p, &data);
	if (!ret)
		memcpy(out, data + skip, n);
	return ret;
}

/* From the first replica that reads back whole; errors of the others in err. */
static int read_extent(struct data_reader *r, struct bkey_s_c k, u64 rel, u8 *out, size_t n)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	int ret = -BCH_ERR_data_read;
	bool tried = false;

	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p)) {
		if (!ptr_readable(r->c, &p))
			continue;
		tried = true;
		ret = read_ptr(r, &p, rel, out, n);
		if (!ret || ret == -BCH_ERR_nomem || ret == -BCH_ERR_encrypted)
			return ret;
		pb_str(r->err, "; ");
	}
	if (!tried)
		pb_str(r->err, "no pointer to a readable device");
	return ret;
}

/* ---- one key ---- */

static void read_inline(struct bkey_s_c k, unsigned skip, u64 rel, u8 *out, size_t n)
{
	size_t bytes = bkey_val_bytes(k.k) - skip;
	const u8 *d = (const u8 *)k.v + skip;
	size_t have = rel < bytes ? bytes - rel : 0;

	if (have > n)
		have = n;
	memcpy(out, d + rel, have);
	memset(out + have, 0, n - have);
}

static int read_key(struct data_reader *r, struct bkey_s_c k, u64 rel, u8 *out, size_t n)
{
	switch (k.k->type) {
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v:
		return read_extent(r, k, rel, out, n);
	case KEY_TYPE_inline_data:
		read_inline(k, 0, rel, out, n);
		return 0;
	case KEY_TYPE_indirect_inline_data:
		read_inline(k, sizeof(__le64), rel, out, n);	/* after the refcount */
		return 0;
	case KEY_TYPE_reflink_p: {
		const struct bch_reflink_p *v = k.v;

		return read_range(r, BTREE_ID_reflink, 0, 0, (le64_to_cpu(v->idx) << 9) + rel,
				  out, n);
	}
	case KEY_TYPE_error:
		pb_str(r->err, "the extent is marked lost (error key)");
		return -BCH_ERR_data_read;
	}
	/* reservations, whiteouts: zeros */
	memset(out, 0, n);
	return 0;
}

/* ---- ranges ---- */

static void key_err(struct data_reader *r, enum btree_id btree, struct bkey_s_c k, size_t mark)
{
	struct printbuf msg = PRINTBUF;

	pb_str(&msg, pb_cstr(r->err) + mark);
	r->err->pos = mark;
	pb_printf(r->err, "%s %llu:%llu:%u: %s", btree == BTREE_ID_reflink ? "reflink" : "extent",
		  (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset,
		  k.k->p.snapshot, pb_cstr(&msg));
	pb_exit(&msg);
}

/*
 * Whether k is what snapshot snap sees at its position: its own key, else
 * the key of its nearest ancestor there (keys of one position come in
 * snapshot id order, nearest ancestors first: *taken is the position
 * already given one). A whiteout seen hides its ancestors' keys.
 */
static bool key_visible(const struct data_reader *r, u32 snap, struct bkey_s_c k,
			struct bpos *taken)
{
	if (!r->snaps || !snap)
		return k.k->p.snapshot == snap;
	if (taken->snapshot && k.k->p.inode == taken->inode && k.k->p.offset == taken->offset)
		return false;
	if (!bch_snapshot_is_ancestor(r->snaps, snap, k.k->p.snapshot))
		return false;
	*taken = k.k->p;
	return true;
}

/*
 * len bytes at byte offset of (inode, snap) in an extents-like btree:
 * keys end at their position, gaps are zeros (in the extents btree; in
 * the reflink btree, which a reflink pointer reads, a gap is an error).
 */
static int read_range(struct data_reader *r, enum btree_id btree, u64 inode, u32 snap,
		      u64 offset, u8 *out, size_t len)
{
	struct btree_iter it;
	struct bkey_s_c k;
	struct bpos taken = POS_MIN;
	u64 pos = offset, end = offset + len;
	int ret = 0;

	bch_btree_iter_init(&it, r->c, btree, SPOS(inode, (offset >> 9) + 1, 0), 0);
	while (pos < end && (ret = bch_btree_iter_peek(&it, &k)) > 0) {
		u64 ks = (k.k->p.offset - k.k->size) << 9, ke = k.k->p.offset << 9;
		size_t mark = r->err->pos;

		if (k.k->p.inode != inode)
			break;
		/*
		 * Keys come in order of their ends: past the first seen one
		 * starting at or after end there is nothing more to read. A
		 * key not seen, or a whiteout (seen: it hides its ancestors'
		 * keys at its position), has no say: it has no size.
		 */
		if (!key_visible(r, snap, k, &taken) || k.k->type == KEY_TYPE_whiteout) {
			bch_btree_iter_advance(&it);
			continue;
		}
		if (ks >= end)
			break;
		if (ke > pos) {
			u64 from = ks > pos ? ks : pos, to = ke < end ? ke : end;

			if (from > pos && btree == BTREE_ID_reflink)
				break;
			memset(out + (pos - offset), 0, from - pos);
			ret = read_key(r, k, from - ks, out + (from - offset), to - from);
			if (ret) {
				key_err(r, btree, k, mark);
				break;
			}
			pos = to;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && !r->err->pos)
		pb_printf(r->err, "%s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	if (ret < 0)
		return ret;
	if (pos < end && btree == BTREE_ID_reflink) {
		/* a reflink pointer into a gap: the kernel's read fails there too */
		pb_printf(r->err, "no indirect extent at reflink sector %llu", (unsigned long long)(pos >> 9));
		return -BCH_ERR_data_read;
	}
	memset(out + (pos - offset), 0, end - pos);
	return 0;
}

int bch_data_read(struct bch_fs *c, u64 inum, u32 snapshot, u64 offset, void *buf, size_t len,
		  struct printbuf *err)
{
	return bch_data_read_snap(c, NULL, inum, snapshot, offset, buf, len, err);
}

int bch_data_read_snap(struct bch_fs *c, const struct bch_snapshot_table *snaps, u64 inum,
		       u32 snapshot, u64 offset, void *buf, size_t len, struct printbuf *err)
{
	struct data_reader r = { .c = c, .snaps = snaps, .err = err };
	int ret = read_range(&r, BTREE_ID_extents, inum, snapshot, offset, buf, len);

	free(r.enc);
	free(r.dec);
	return ret;
}
