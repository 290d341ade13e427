/* Writing file data: extents (checksummed, compressed, replicated), inline data, reservations, with the inode's sizes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_write.h"
#include "alloc/allocator.h"
#include "btree/flush.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "data/compress.h"
#include "data/extent_build.h"
#include "journal/journal_write.h"
#include "keys/inode.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"

/*
 * The kernel bounces compressed writes through a bio of at most
 * BIO_MAX_VECS pages: an incompressible extent without a checksum is
 * never longer than that.
 */
#define BOUNCE_MAX_BYTES	(256U << 12)
/* inline data: at most half a block, and never more than this */
#define INLINE_MAX_BYTES	1024U
#define CHUNK_DEFAULT		(1U << 20)

struct data_writer {
	struct bch_fs *c;
	struct bch_write_req *req;
	struct printbuf *err;
	struct bch_compress_ctx *cctx;
	u8 *bounce;			/* compressed output */
	unsigned block_bytes;
	unsigned max_encoded;		/* bytes */
	unsigned csum_type;
	unsigned nr_replicas;
	unsigned target;
	u64 new_i_size;
};

/* One extent's worth: what goes on disk and what it stands for. */
struct piece {
	const u8 *data;
	size_t disk_bytes;
	size_t src_bytes;
	bool has_crc;
	struct bch_extent_crc crc;
};

static size_t round_up_to(size_t v, size_t m)
{
	return (v + m - 1) / m * m;
}

/* ---- the inode and overwritten sectors ---- */

/*
 * Sectors of [start, end) the committed keys of the file already
 * allocate: the new key's own allocation minus these is what bi_sectors
 * gains (the kernel's i_sectors_delta for a key that allocates).
 */
static int sectors_allocated(struct bch_fs *c, u64 inum, u32 snap, u64 start, u64 end,
			     u64 *out, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	*out = 0;
	bch_btree_iter_init(&it, c, BTREE_ID_extents, SPOS(inum, start + 1, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		u64 kstart = k.k->p.offset - k.k->size;

		if (k.k->p.inode != inum || kstart >= end)
			break;
		if (k.k->p.snapshot == snap && bch_key_is_allocation(k.k))
			*out += (k.k->p.offset < end ? k.k->p.offset : end) -
				(kstart > start ? kstart : start);
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "extents of inode %llu: %s", (unsigned long long)inum,
			  pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

union inode_buf {
	struct bkey_i k;
	u64 u64s[BKEY_U64s_MAX];
};

/* Queues the inode with bi_sectors + delta and bi_size grown to new_size. */
static int inode_update(struct btree_trans *t, u64 inum, u32 snap, s64 delta, u64 new_size,
			struct printbuf *err)
{
	union inode_buf b;
	struct bch_inode_unpacked u;
	int ret = bch_trans_lookup(t, BTREE_ID_inodes, 0, SPOS(0, inum, snap), &b.k,
				   BKEY_U64s_MAX, err);

	if (ret == 0 || (ret > 0 && !bkey_is_inode(&b.k.k))) {
		pb_printf(err, "inode %llu:%u not found", (unsigned long long)inum, snap);
		return -BCH_ERR_inode_not_found;
	}
	if (ret < 0 || (ret = bch_inode_unpack(bkey_i_to_s_c(&b.k), &u)))
		return ret;
	u.bi_sectors += delta;
	if (!(u.bi_flags & (1U << BCH_INODE_i_size_dirty)) && new_size > u.bi_size)
		u.bi_size = new_size;
	ret = bch_inode_pack(&u, &b.k, BKEY_U64s_MAX);
	return ret ?: bch_trans_update(t, BTREE_ID_inodes, 0, &b.k, 0);
}

/*
 * Commits k (an allocation of its whole range) with the inode update, as
 * the kernel's bch2_extent_update does; new_size as for inode_update.
 */
static int index_update(struct data_writer *w, const struct bkey_i *k, u64 new_size)
{
	struct bch_fs *c = w->c;
	struct bch_write_req *r = w->req;
	u64 end = k->k.p.offset, start = end - k->k.size, had;
	struct btree_trans t;
	s64 delta;
	int ret = sectors_allocated(c, r->inum, r->snapshot, start, end, &had, w->err);

	if (ret)
		return ret;
	delta = (s64)k->k.size - (s64)had;
	bch_trans_init(&t, c);
	t.name = "data_write";
	ret = inode_update(&t, r->inum, r->snapshot, delta, new_size, w->err) ?:
	      bch_trans_update(&t, BTREE_ID_extents, 0, k, 0) ?:
	      bch_trans_commit(&t, w->err);
	bch_trans_exit(&t);
	if (ret)
		return ret;
	r->nr_extents++;
	r->i_sectors_delta += delta;
	return 0;
}

static u64 size_after(const struct data_writer *w, const struct bkey_i *k)
{
	u64 end = k->k.p.offset << 9;

	return end < w->new_i_size ? end : w->new_i_size;
}

/* ---- inline data ---- */

/* data_len bytes (those below new_i_size; len of them given) in a key of padded bytes. */
static int write_inline(struct data_writer *w, const void *buf, size_t len, size_t data_len,
			size_t padded)
{
	union inode_buf b;
	struct bch_write_req *r = w->req;
	u64 start = r->offset >> 9, sectors = padded >> 9;
	unsigned val_u64s = (data_len + 7) / 8;

	bch_key_init(&b.k, KEY_TYPE_inline_data, SPOS(r->inum, start + sectors, r->snapshot),
		     sectors, val_u64s);
	memcpy(b.k.v, buf, len < data_len ? len : data_len);
	bch_fs_feature_set(w->c, BCH_FEATURE_inline_data);
	return index_update(w, &b.k, size_after(w, &b.k));
}

/* ---- extents ---- */

/* Space at hand in the open buckets; a flush (discards included) when there is none. */
static int space_avail(struct data_writer *w, unsigned *avail)
{
	int ret = bch_alloc_data_avail(w->c, w->target, w->nr_replicas, avail, w->err);

	if (ret == -BCH_ERR_no_space) {
		pb_reset(w->err);
		ret = bch_btree_flush_all(w->c, w->err) ?:
		      bch_alloc_data_avail(w->c, w->target, w->nr_replicas, avail, w->err);
	}
	return ret;
}

/* Compressed, when the option is on and it saves a block; type incompressible otherwise. */
static int piece_compress(struct data_writer *w, struct piece *p, const u8 *src, size_t rem,
			  size_t room)
{
	size_t src_len = rem < w->max_encoded ? rem : w->max_encoded, dst_len = 0;
	int type = bch_compress(w->cctx, w->req->opts.compression, w->block_bytes, src, &src_len,
				w->bounce, room, &dst_len);

	if (type < 0)
		return type;
	p->crc.compression_type = type;
	if (!bch_compression_is_encoded(type))
		return 0;
	p->data = w->bounce;
	p->disk_bytes = dst_len;
	p->src_bytes = src_len;
	return 0;
}

/* The next extent of the rem bytes at src, with room bytes of space. */
static int piece_make(struct data_writer *w, struct piece *p, const u8 *src, size_t rem,
		      size_t room)
{
	int ret;

	memset(p, 0, sizeof(*p));
	if (w->req->opts.compression) {
		ret = piece_compress(w, p, src, rem, room);
		if (ret)
			return ret;
	}
	if (!bch_compression_is_encoded(p->crc.compression_type)) {
		size_t len = rem < room ? rem : room;

		if (w->csum_type && len > w->max_encoded)
			len = w->max_encoded;
		if (w->req->opts.compression && len > BOUNCE_MAX_BYTES)
			len = BOUNCE_MAX_BYTES;
		p->data = src;
		p->disk_bytes = p->src_bytes = len;
	}
	p->has_crc = w->csum_type || p->crc.compression_type;
	p->crc.csum_type = w->csum_type;
	p->crc.compressed_size = p->disk_bytes >> 9;
	p->crc.uncompressed_size = p->crc.live_size = p->src_bytes >> 9;
	if (w->csum_type)
		p->crc.csum = bch_checksum(w->csum_type, bch_nonce_null(), p->data, p->disk_bytes);
	return 0;
}

/* Writes the piece on every replica allocated; the key gets the pointers. */
static int piece_write(struct data_writer *w, const struct piece *p, struct bkey_i *k)
{
	struct bch_extent_ptr ptrs[BCH_REPLICAS_MAX];
	unsigned sectors = p->disk_bytes >> 9, nr, got;
	int ret = bch_alloc_data(w->c, w->target, w->nr_replicas, sectors, ptrs, &nr, &got, w->err);

	if (ret)
		return ret;
	if (got != sectors) {
		pb_printf(w->err, "allocator gave %u sectors of the %u it had", got, sectors);
		return -BCH_ERR_no_space;
	}
	for (unsigned i = 0; i < nr; i++) {
		unsigned dev = ptr_dev(&ptrs[i]);
		struct bch_dev *ca = bch_dev_get(w->c, dev);

		if (!ca)
			return -BCH_ERR_sb_missing_device;
		ret = bch_dev_pwrite(ca, p->data, p->disk_bytes, ptr_offset(&ptrs[i]) << 9, w->err);
		if (ret)
			return ret;
		/* a device of durability 0 only caches user data */
		if (!w->c->sb.members[dev].durability)
			set_ptr_cached(&ptrs[i], 1);
		bch_extent_ptr_append(k, ptrs[i]);
		w->req->sectors_written += sectors;
	}
	return 0;
}

/* One extent from src: made, written, indexed; *used the source bytes it took. */
static int extent_write(struct data_writer *w, const u8 *src, size_t rem, u64 sector,
			size_t *used)
{
	struct bch_write_req *r = w->req;
	union bch_extent_buf b;
	struct piece p;
	unsigned avail;
	int ret = space_avail(w, &avail);

	if (ret)
		return ret;
	ret = piece_make(w, &p, src, rem, (size_t)avail << 9);
	if (ret)
		return ret;
	bch_key_init(&b.k, KEY_TYPE_extent,
		     SPOS(r->inum, sector + p.crc.uncompressed_size, r->snapshot),
		     p.crc.uncompressed_size, 0);
	if (p.has_crc && (ret = bch_extent_crc_append(&b.k, &p.crc)))
		return ret;
	ret = piece_write(w, &p, &b.k);
	if (ret)
		return ret;
	if (bch_compression_is_encoded(p.crc.compression_type))
		bch_fs_feature_set(w->c, BCH_FEATURE_lz4 + (r->opts.compression & 15) - 1);
	bch_extent_set_needs_rebalance(w->c, &b.k, &r->opts);
	*used = p.src_bytes;
	return index_update(w, &b.k, size_after(w, &b.k));
}

/* ---- the request ---- */

static int writer_init(struct data_writer *w, struct bch_fs *c, struct bch_write_req *r,
		       bool aligned, struct printbuf *err)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->req = r;
	w->err = err;
	w->block_bytes = c->sb.block_size << 9;
	w->max_encoded = c->sb.encoded_extent_max << 9;
	w->csum_type = bch_io_opts_csum_type(&r->opts);
	w->nr_replicas = r->nr_replicas ? r->nr_replicas : r->opts.data_replicas;
	w->nr_replicas = w->nr_replicas ? w->nr_replicas : 1;
	w->target = r->opts.foreground_target;
	if (c->sb.encryption_type) {
		pb_str(err, "writing data to an encrypted filesystem is not implemented");
		return -BCH_ERR_encrypted;
	}
	if (!c->allocator) {
		pb_str(err, "the filesystem is not open for writing");
		return -BCH_ERR_bad_argument;
	}
	if (!w->block_bytes || (aligned && r->offset % w->block_bytes)) {
		pb_printf(err, "write at byte %llu: not a multiple of the block size (%u)",
			  (unsigned long long)r->offset, w->block_bytes);
		return -BCH_ERR_bad_argument;
	}
	if (r->opts.compression) {
		w->cctx = bch_compress_ctx_new();
		w->bounce = malloc(w->max_encoded);
		if (!w->cctx || !w->bounce)
			return -BCH_ERR_nomem;
	}
	return 0;
}

static void writer_exit(struct data_writer *w)
{
	bch_compress_ctx_free(w->cctx);
	free(w->bounce);
}

static int extents_write(struct data_writer *w, const u8 *data, size_t padded)
{
	u64 sector = w->req->offset >> 9;
	int ret = 0;

	for (size_t done = 0, used; done < padded && !ret; done += used) {
		ret = extent_write(w, data + done, padded - done, sector + (done >> 9), &used);
		if (!ret && !used)
			ret = -BCH_ERR_no_space;
	}
	return ret;
}

int bch_data_write(struct bch_fs *c, struct bch_write_req *r, const void *buf, size_t len,
		   struct printbuf *err)
{
	struct data_writer w;
	const u8 *data = buf;
	u8 *padded_copy = NULL;
	size_t padded, data_len;
	int ret = writer_init(&w, c, r, true, err);

	if (ret || !len)
		goto out;
	w.new_i_size = r->new_i_size ? r->new_i_size : r->offset + len;
	padded = round_up_to(len, w.block_bytes);
	data_len = w.new_i_size > r->offset ? w.new_i_size - r->offset : 0;
	data_len = data_len < padded ? data_len : padded;
	if (!r->no_inline_data && data_len <= w.block_bytes / 2 && data_len <= INLINE_MAX_BYTES) {
		ret = write_inline(&w, buf, len, data_len, padded);
		goto out;
	}
	if (padded != len) {
		/* the kernel writes whole blocks: the tail is zero padded */
		padded_copy = calloc(1, padded);
		if (!padded_copy) {
			ret = -BCH_ERR_nomem;
			goto out;
		}
		memcpy(padded_copy, buf, len);
		data = padded_copy;
	}
	ret = extents_write(&w, data, padded);
out:
	free(padded_copy);
	writer_exit(&w);
	return ret;
}

/* ---- from a file ---- */

static int fd_range_write(struct bch_fs *c, struct bch_write_req *r, int fd, u64 start,
			  u64 end, u8 *buf, size_t chunk, u64 base, struct printbuf *err)
{
	int ret = 0;

	for (u64 pos = start; pos < end && !ret;) {
		size_t n = end - pos < chunk ? end - pos : chunk;
		ssize_t got = pread(fd, buf, n, pos);

		if (got <= 0) {
			pb_printf(err, "reading at byte %llu: %s", (unsigned long long)pos,
				  got ? strerror(errno) : "unexpected end of file");
			return -BCH_ERR_device_read;
		}
		r->offset = base + pos;
		ret = bch_data_write(c, r, buf, got, err);
		pos += got;
	}
	return ret;
}

/* The next data range at or after pos: [*start, *end), or *start == size at the end. */
static void fd_next_data(int fd, u64 pos, u64 size, u64 *start, u64 *end)
{
	off_t d = lseek(fd, pos, SEEK_DATA), h;

	if (d < 0) {
		/* ENXIO: no data after pos; other errors: no hole support */
		*start = errno == ENXIO ? size : pos;
		*end = size;
		return;
	}
	h = lseek(fd, d, SEEK_HOLE);
	*start = d;
	*end = h < 0 || (u64)h > size ? size : (u64)h;
}

int bch_data_write_fd(struct bch_fs *c, struct bch_write_req *r, int fd, size_t chunk,
		      struct printbuf *err)
{
	u64 base = r->offset, size, start, end;
	unsigned block = c->sb.block_size << 9;
	off_t sz = lseek(fd, 0, SEEK_END);
	u8 *buf;
	int ret = 0;

	if (sz < 0) {
		pb_printf(err, "file size: %s", strerror(errno));
		return -BCH_ERR_device_read;
	}
	size = sz;
	chunk = round_up_to(chunk ? chunk : CHUNK_DEFAULT, block);
	if (!r->new_i_size)
		r->new_i_size = base + size;
	buf = malloc(chunk);
	if (!buf)
		return -BCH_ERR_nomem;
	for (u64 pos = 0; pos < size && !ret; pos = end) {
		fd_next_data(fd, pos, size, &start, &end);
		if (start >= size)
			break;
		/* data ranges start on a block: the kernel's writes are whole blocks */
		start -= start % block;
		ret = fd_range_write(c, r, fd, start, end, buf, chunk, base, err);
	}
	r->offset = base;
	free(buf);
	return ret;
}

/* ---- fallocate ---- */

static bool key_is_data(const struct bkey *k)
{
	return k->type == KEY_TYPE_extent || k->type == KEY_TYPE_reflink_p ||
	       k->type == KEY_TYPE_reflink_v || k->type == KEY_TYPE_inline_data ||
	       k->type == KEY_TYPE_indirect_inline_data;
}

/*
 * The next range of [pos, end) to reserve: a hole, or a reservation of
 * fewer replicas than wanted.  *rstart == end when there is none.
 */
static int next_unreserved(struct bch_fs *c, const struct bch_write_req *r, u64 pos, u64 end,
			   unsigned replicas, u64 *rstart, u64 *rend, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	*rstart = *rend = end;
	bch_btree_iter_init(&it, c, BTREE_ID_extents, SPOS(r->inum, pos + 1, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		u64 kstart = k.k->p.offset - k.k->size;

		if (k.k->p.inode != r->inum || kstart >= end)
			break;
		if (k.k->p.snapshot == r->snapshot) {
			bool reserved = k.k->type == KEY_TYPE_reservation &&
				bch_key_ptrs_fully_allocated(k) >= replicas;

			if (kstart > pos) {
				*rstart = pos;
				*rend = kstart;
				break;
			}
			if (!key_is_data(k.k) && !reserved) {
				*rstart = pos;
				*rend = k.k->p.offset < end ? k.k->p.offset : end;
				break;
			}
			pos = k.k->p.offset;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret > 0 || !ret) {
		if (*rstart == end && pos < end)
			*rstart = pos;
		ret = 0;
	} else {
		pb_printf(err, "extents of inode %llu: %s", (unsigned long long)r->inum,
			  pb_cstr(&it.err));
	}
	bch_btree_iter_exit(&it);
	return ret;
}

static int reserve_range(struct data_writer *w, u64 start, u64 end)
{
	union bch_extent_buf b;
	struct bch_reservation *v;
	int ret = 0;

	while (start < end && !ret) {
		u64 n = end - start < UINT32_MAX ? end - start : UINT32_MAX;

		bch_key_init(&b.k, KEY_TYPE_reservation,
			     SPOS(w->req->inum, start + n, w->req->snapshot), n,
			     sizeof(*v) / 8);
		v = (void *)b.k.v;
		v->nr_replicas = w->nr_replicas;
		ret = index_update(w, &b.k, 0);
		start += n;
	}
	return ret;
}

int bch_data_fallocate(struct bch_fs *c, struct bch_write_req *r, u64 len, bool keep_size,
		       struct printbuf *err)
{
	struct data_writer w;
	u64 start, end, rs, re;
	int ret;

	ret = writer_init(&w, c, r, false, err);
	if (ret)
		goto out;
	start = r->offset / w.block_bytes * w.block_bytes >> 9;
	end = round_up_to(r->offset + len, w.block_bytes) >> 9;
	for (u64 pos = start; pos < end && !ret; pos = re) {
		ret = next_unreserved(c, r, pos, end, w.nr_replicas, &rs, &re, err);
		if (!ret && rs < end)
			ret = reserve_range(&w, rs, re);
	}
	if (!ret && !keep_size) {
		struct btree_trans t;

		bch_trans_init(&t, c);
		ret = inode_update(&t, r->inum, r->snapshot, 0, r->offset + len, err) ?:
		      bch_trans_commit(&t, err);
		bch_trans_exit(&t);
	}
out:
	writer_exit(&w);
	return ret;
}
