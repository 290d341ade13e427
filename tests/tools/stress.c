/* Test driver: a random mix of file creates, writes, truncates, renames, xattr changes and deletes through the transaction API, checked against an in-memory model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc/allocator.h"
#include "btree/flush.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/str_hash.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "journal/journal_write.h"
#include "keys/inode.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"

static const char usage[] =
"usage: stress [OPTION]... DEVICE...\n"
"Runs random file operations (create, write, punch, truncate, rename,\n"
"xattr set/remove, delete) on a formatted filesystem through the\n"
"transaction API, checks every key against a model of what it should\n"
"hold, shuts down cleanly, reopens and checks again.\n"
"  --seed N                 random seed (default 1)\n"
"  --ops N                  operations (default 20000)\n"
"  --flush-every N          write the overlay into btree nodes every N\n"
"                           operations (default 2000; 0: only at shutdown)\n"
"  --journal-flush-every N  flush the journal every N operations\n"
"                           (default 64; 0: never explicitly)\n"
"  --max-files N            live files at most (default 300)\n"
"  --max-file-blocks N      file size limit in blocks (default 128)\n"
"  --crash-after-writes N   simulated crash: every device write after the\n"
"                           first N fails; the run stops at the first\n"
"                           failure and exits with status 3\n"
"  --quiet                  print only the summary line\n"
"  --trace                  print every operation\n"
"Exit status: 0 done and verified, 1 error or mismatch, 2 usage,\n"
"3 simulated crash (the devices are left as the crash left them).\n";

#define EXIT_CRASH	3
#define SNAP		0xffffffffU
#define ROOT_INO	BCACHEFS_ROOT_INO
#define FIRST_INO	(ROOT_INO + 2)		/* after lost+found */
#define DT_REG_TYPE	8
#define MAX_XATTRS	4
#define XATTR_VAL_MAX	24
#define KEY_BUF_U64s	(BKEY_U64s + 64)

struct opts {
	u64 seed;
	u64 ops;
	u64 flush_every;
	u64 journal_flush_every;
	unsigned max_files;
	unsigned max_file_blocks;
	u64 crash_after;
	bool quiet;
	bool trace;
};

/* ---- the model ---- */

struct ext_m {
	u64 start, end;		/* sectors */
	u64 ptr;		/* the pointer entry, at start */
};

struct xattr_m {
	bool live;
	u64 pos;		/* hash offset in the xattrs btree */
	u8 val_len;
	u8 val[XATTR_VAL_MAX];
};

struct file_m {
	u64 inum;
	char name[40];
	u64 dir_offset;
	u64 size;		/* bytes */
	u64 hash_seed;
	u64 time;
	struct ext_m *ext;
	size_t nr_ext, size_ext;
	struct xattr_m xattrs[MAX_XATTRS];	/* xattr i is named "x<i>" */
};

static const char *const xattr_names[MAX_XATTRS] = { "x0", "attribute.one", "x.2", "last" };

struct stats {
	u64 create, write, punch, truncate, rename, xattr_set, xattr_rm, del;
	u64 extents_written, sectors_written, flushes, journal_flushes, no_space;
};

struct stress {
	struct bch_fs *c;
	const struct opts *o;
	u64 rng;
	struct file_m *files;
	size_t nr_files;
	u64 next_inum;
	u64 clock;
	unsigned hash_type;	/* of the root directory, for its dirents; files get it too */
	u64 root_seed;
	u64 lf_offset;		/* lost+found's dirent */
	unsigned block_sectors;
	struct stats st;
	u64 op;			/* current operation number */
	const char *op_name;
	u64 cur_inum;		/* the file of the current operation */
	struct printbuf err;
};

static u64 rnd(struct stress *s)
{
	/* splitmix64 */
	u64 z = (s->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rnd_below(struct stress *s, u64 n)
{
	return n ? rnd(s) % n : 0;
}

static u64 sector_ceil_block(const struct stress *s, u64 bytes)
{
	u64 b = (u64)s->block_sectors << 9;

	return (bytes + b - 1) / b * s->block_sectors;
}

static u64 file_sectors(const struct file_m *f)
{
	u64 n = 0;

	for (size_t i = 0; i < f->nr_ext; i++)
		n += f->ext[i].end - f->ext[i].start;
	return n;
}

static u64 ptr_advance(u64 ptr, u64 sectors)
{
	struct bch_extent_ptr p = { cpu_to_le64(ptr) };

	set_ptr_offset(&p, ptr_offset(&p) + sectors);
	return le64_to_cpu(p.v);
}

static int ext_push(struct ext_m **v, size_t *nr, size_t *size, struct ext_m e)
{
	if (*nr == *size) {
		size_t n = *size ? *size * 2 : 8;
		struct ext_m *a = realloc(*v, n * sizeof(*a));

		if (!a)
			return -BCH_ERR_nomem;
		*v = a;
		*size = n;
	}
	(*v)[(*nr)++] = e;
	return 0;
}

/* The model's extents after [start, end) is overwritten by ptr (0: a hole). */
static int model_write(struct file_m *f, u64 start, u64 end, u64 ptr)
{
	struct ext_m *v = NULL;
	size_t nr = 0, size = 0;
	bool placed = false;
	int ret = 0;

	for (size_t i = 0; i < f->nr_ext && !ret; i++) {
		struct ext_m e = f->ext[i];

		if (e.end <= start || e.start >= end) {
			if (!placed && ptr && e.start >= end) {
				ret = ext_push(&v, &nr, &size, (struct ext_m) { start, end, ptr });
				placed = true;
			}
			ret = ret ?: ext_push(&v, &nr, &size, e);
			continue;
		}
		if (e.start < start)
			ret = ext_push(&v, &nr, &size, (struct ext_m) { e.start, start, e.ptr });
		if (!placed && ptr) {
			ret = ret ?: ext_push(&v, &nr, &size, (struct ext_m) { start, end, ptr });
			placed = true;
		}
		if (e.end > end)
			ret = ret ?: ext_push(&v, &nr, &size,
					      (struct ext_m) { end, e.end, ptr_advance(e.ptr, end - e.start) });
	}
	if (!ret && !placed && ptr)
		ret = ext_push(&v, &nr, &size, (struct ext_m) { start, end, ptr });
	if (ret) {
		free(v);
		return ret;
	}
	free(f->ext);
	f->ext = v;
	f->nr_ext = nr;
	f->size_ext = size;
	return 0;
}

static u64 file_end_sectors(const struct stress *s, const struct file_m *f)
{
	u64 end = sector_ceil_block(s, f->size);

	if (f->nr_ext && f->ext[f->nr_ext - 1].end > end)
		end = f->ext[f->nr_ext - 1].end;
	return end;
}

/* ---- keys ---- */

union key_buf {
	struct bkey_i k;
	u64 u64s[KEY_BUF_U64s];
};

static void key_init(union key_buf *b, unsigned type, struct bpos pos, unsigned val_bytes)
{
	memset(b, 0, sizeof(b->k) + ((val_bytes + 7) & ~7U));
	b->k.k.u64s = BKEY_U64s + (val_bytes + 7) / 8;
	b->k.k.format_whiteout = KEY_FORMAT_CURRENT;
	b->k.k.type = type;
	b->k.k.p = pos;
}

/* Our own keys must be valid as the kernel checks an update; a failure is a bug here. */
static int key_check(struct stress *s, enum btree_id btree, const struct bkey_i *k)
{
	struct bkey_where w = { .btree = btree, .write = true, .commit = true };
	struct printbuf msg = PRINTBUF;
	int ret = bch_bkey_validate(s->c, bkey_i_to_s_c(k), &w, &msg);

	if (ret)
		pb_printf(&s->err, "stress built an invalid %s key: %s", bch_btree_id_names[btree],
			  pb_cstr(&msg));
	pb_exit(&msg);
	return ret;
}

static int update(struct stress *s, struct btree_trans *t, enum btree_id btree,
		  const struct bkey_i *k)
{
	if (k->k.type != KEY_TYPE_deleted) {
		int ret = key_check(s, btree, k);

		if (ret)
			return ret;
	}
	return bch_trans_update(t, btree, 0, k, 0);
}

static void inode_unpacked(const struct stress *s, const struct file_m *f,
			   struct bch_inode_unpacked *u)
{
	memset(u, 0, sizeof(*u));
	u->bi_inum = f->inum;
	u->bi_snapshot = SNAP;
	u->bi_hash_seed = f->hash_seed;
	u->bi_flags = s->hash_type << 20;
	u->bi_mode = S_IFREG | 0644;
	u->bi_size = f->size;
	u->bi_sectors = file_sectors(f);
	u->bi_atime = u->bi_ctime = u->bi_mtime = f->time;
	u->bi_otime = f->time;
	u->bi_nlink = 0;	/* stored: links minus one for files */
	u->bi_dir = ROOT_INO;
	u->bi_dir_offset = f->dir_offset;
}

static int inode_update(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	struct bch_inode_unpacked u;
	union key_buf b;
	int ret;

	f->time = ++s->clock * 1000;
	inode_unpacked(s, f, &u);
	ret = bch_inode_pack(&u, &b.k, KEY_BUF_U64s);
	return ret ?: update(s, t, BTREE_ID_inodes, &b.k);
}

static int dirent_set(struct stress *s, struct btree_trans *t, const struct file_m *f)
{
	size_t len = strlen(f->name);
	union key_buf b;

	key_init(&b, KEY_TYPE_dirent, SPOS(ROOT_INO, f->dir_offset, SNAP),
		 offsetof(struct bch_dirent, d_name) + len);
	struct bch_dirent *d = (void *)b.k.v;

	d->d_inum = cpu_to_le64(f->inum);
	d->d_type = DT_REG_TYPE;
	memcpy(d->d_name, f->name, len);
	return update(s, t, BTREE_ID_dirents, &b.k);
}

static int extent_set(struct stress *s, struct btree_trans *t, u64 inum, u64 start, u64 end,
		      u64 ptr)
{
	union key_buf b;

	key_init(&b, KEY_TYPE_extent, SPOS(inum, end, SNAP), sizeof(ptr));
	b.k.k.size = end - start;
	b.k.v[0] = cpu_to_le64(ptr);
	return update(s, t, BTREE_ID_extents, &b.k);
}

/* A deleted key over [start, end): the transaction trims or deletes every extent there. */
static int extent_range_delete(struct btree_trans *t, u64 inum, u64 start, u64 end)
{
	union key_buf b;

	if (start >= end)
		return 0;
	key_init(&b, KEY_TYPE_deleted, SPOS(inum, end, SNAP), 0);
	b.k.k.size = end - start;
	return bch_trans_update(t, BTREE_ID_extents, 0, &b.k, 0);
}

static u64 xattr_pos(const struct stress *s, const struct file_m *f, unsigned i)
{
	return bch_xattr_hash(s->hash_type, f->hash_seed, 0, xattr_names[i],
			      strlen(xattr_names[i]));
}

static int xattr_set(struct stress *s, struct btree_trans *t, const struct file_m *f,
		     unsigned i)
{
	const struct xattr_m *x = &f->xattrs[i];
	size_t nlen = strlen(xattr_names[i]);
	union key_buf b;

	key_init(&b, KEY_TYPE_xattr, SPOS(f->inum, x->pos, SNAP),
		 offsetof(struct bch_xattr, x_name) + nlen + x->val_len);
	struct bch_xattr *v = (void *)b.k.v;

	v->x_type = 0;		/* user */
	v->x_name_len = nlen;
	v->x_val_len = cpu_to_le16(x->val_len);
	memcpy(v->x_name, xattr_names[i], nlen);
	memcpy(v->x_name + nlen, x->val, x->val_len);
	return update(s, t, BTREE_ID_xattrs, &b.k);
}

/* ---- operations ---- */

/* A name whose dirent slot is free (no hash collision with any entry). */
static int name_pick(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	union key_buf b;

	for (unsigned tries = 0; tries < 16; tries++) {
		int ret;

		snprintf(f->name, sizeof(f->name), "f%llu.%llx", (unsigned long long)f->inum,
			 (unsigned long long)(rnd(s) & 0xffffff));
		f->dir_offset = bch_dirent_hash(s->hash_type, s->root_seed, f->name,
						strlen(f->name));
		ret = bch_trans_lookup(t, BTREE_ID_dirents, 0, SPOS(ROOT_INO, f->dir_offset, SNAP),
				       &b.k, KEY_BUF_U64s, &s->err);
		if (ret <= 0)
			return ret;
	}
	pb_str(&s->err, "no free dirent slot after 16 names");
	return -BCH_ERR_bad_argument;
}

/*
 * New data for [start, end) of f: extents as the allocator hands out
 * space (a piece per open bucket), queued in t and applied to the model.
 */
static int write_range(struct stress *s, struct btree_trans *t, struct file_m *f,
		       u64 start, u64 end)
{
	for (u64 cur = start; cur < end;) {
		struct bch_extent_ptr ptrs[BCH_REPLICAS_MAX];
		unsigned nr, got;
		int ret = bch_alloc_data(s->c, 0, 1, end - cur, ptrs, &nr, &got, &s->err);

		if (ret == -BCH_ERR_no_space) {
			/* space freed by overwrites comes back after a flush and discards */
			s->st.no_space++;
			pb_reset(&s->err);
			ret = bch_btree_flush_all(s->c, &s->err) ?:
			      bch_alloc_data(s->c, 0, 1, end - cur, ptrs, &nr, &got, &s->err);
		}
		if (ret)
			return ret;
		if (nr != 1 || !got || got % s->block_sectors) {
			pb_printf(&s->err, "allocator gave %u pointers of %u sectors for %llu",
				  nr, got, (unsigned long long)(end - cur));
			return -BCH_ERR_bad_argument;
		}
		ret = extent_set(s, t, f->inum, cur, cur + got, le64_to_cpu(ptrs[0].v)) ?:
		      model_write(f, cur, cur + got, le64_to_cpu(ptrs[0].v));
		if (ret)
			return ret;
		s->st.extents_written++;
		s->st.sectors_written += got;
		cur += got;
	}
	return 0;
}

/* A random block-aligned range of at most 8 blocks within the size limit. */
static void range_pick(struct stress *s, u64 limit_blocks, u64 *start, u64 *end)
{
	u64 b = rnd_below(s, limit_blocks);
	u64 len = 1 + rnd_below(s, 8);

	if (b + len > limit_blocks)
		len = limit_blocks - b;
	*start = b * s->block_sectors;
	*end = (b + len) * s->block_sectors;
}

/* Size after a write ending at end (sectors): grows into its last block, not always to its end. */
static void size_extend(struct stress *s, struct file_m *f, u64 end)
{
	u64 bytes = end << 9;

	u64 r = rnd_below(s, (u64)s->block_sectors << 9);

	if (bytes > f->size)
		f->size = bytes - r > f->size ? bytes - r : f->size;
}

static int op_create(struct stress *s, struct btree_trans *t)
{
	struct file_m *f = &s->files[s->nr_files];
	int ret;

	memset(f, 0, sizeof(*f));
	f->inum = s->next_inum++;
	s->cur_inum = f->inum;
	f->hash_seed = rnd(s);
	ret = name_pick(s, t, f);
	for (unsigned n = rnd_below(s, 4); !ret && n; n--) {
		u64 start, end;

		range_pick(s, s->o->max_file_blocks, &start, &end);
		ret = write_range(s, t, f, start, end);
		if (!ret)
			size_extend(s, f, end);
	}
	ret = ret ?: dirent_set(s, t, f) ?: inode_update(s, t, f);
	if (ret) {
		free(f->ext);
		return ret;
	}
	s->nr_files++;
	s->st.create++;
	s->op_name = "create";
	return 0;
}

static int op_write(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	u64 start, end;
	int ret;

	range_pick(s, s->o->max_file_blocks, &start, &end);
	ret = write_range(s, t, f, start, end);
	if (ret)
		return ret;
	size_extend(s, f, end);
	s->st.write++;
	s->op_name = "write";
	return inode_update(s, t, f);
}

static int op_punch(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	u64 limit = sector_ceil_block(s, f->size) / s->block_sectors, start, end;
	int ret;

	if (!limit)
		return op_write(s, t, f);
	range_pick(s, limit, &start, &end);
	ret = extent_range_delete(t, f->inum, start, end) ?: model_write(f, start, end, 0);
	if (ret)
		return ret;
	s->st.punch++;
	s->op_name = "punch";
	return inode_update(s, t, f);
}

static int op_truncate(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	u64 old_end = file_end_sectors(s, f), new_end;
	int ret;

	f->size = rnd_below(s, f->size + 1);
	new_end = sector_ceil_block(s, f->size);
	ret = extent_range_delete(t, f->inum, new_end, old_end) ?:
	      model_write(f, new_end, old_end > new_end ? old_end : new_end, 0);
	if (ret)
		return ret;
	s->st.truncate++;
	s->op_name = "truncate";
	return inode_update(s, t, f);
}

static int op_rename(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	struct file_m n = *f;
	int ret = name_pick(s, t, &n) ?:
		bch_trans_delete(t, BTREE_ID_dirents, 0, SPOS(ROOT_INO, f->dir_offset, SNAP), 0);

	if (ret)
		return ret;
	memcpy(f->name, n.name, sizeof(f->name));
	f->dir_offset = n.dir_offset;
	s->st.rename++;
	s->op_name = "rename";
	return dirent_set(s, t, f) ?: inode_update(s, t, f);
}

static int op_xattr(struct stress *s, struct btree_trans *t, struct file_m *f)
{
	unsigned i = rnd_below(s, MAX_XATTRS);
	struct xattr_m *x = &f->xattrs[i];

	x->pos = xattr_pos(s, f, i);
	for (unsigned j = 0; j < MAX_XATTRS; j++)
		if (j != i && f->xattrs[j].live && f->xattrs[j].pos == x->pos)
			return op_write(s, t, f);	/* hash collision: not this time */
	if (x->live && rnd_below(s, 3) == 0) {
		x->live = false;
		s->st.xattr_rm++;
		s->op_name = "xattr remove";
		return bch_trans_delete(t, BTREE_ID_xattrs, 0, SPOS(f->inum, x->pos, SNAP), 0);
	}
	x->live = true;
	x->val_len = rnd_below(s, XATTR_VAL_MAX + 1);
	for (unsigned j = 0; j < x->val_len; j++)
		x->val[j] = 'a' + rnd_below(s, 26);
	s->st.xattr_set++;
	s->op_name = "xattr set";
	return xattr_set(s, t, f, i);
}

static int op_delete(struct stress *s, struct btree_trans *t, size_t idx)
{
	struct file_m *f = &s->files[idx];
	int ret = bch_trans_delete(t, BTREE_ID_dirents, 0, SPOS(ROOT_INO, f->dir_offset, SNAP), 0) ?:
		bch_trans_delete(t, BTREE_ID_inodes, 0, SPOS(0, f->inum, SNAP), 0) ?:
		extent_range_delete(t, f->inum, 0, file_end_sectors(s, f));

	for (unsigned i = 0; !ret && i < MAX_XATTRS; i++)
		if (f->xattrs[i].live)
			ret = bch_trans_delete(t, BTREE_ID_xattrs, 0,
					       SPOS(f->inum, f->xattrs[i].pos, SNAP), 0);
	if (ret)
		return ret;
	free(f->ext);
	s->files[idx] = s->files[--s->nr_files];
	s->st.del++;
	s->op_name = "delete";
	return 0;
}

static void trace_op(const struct stress *s)
{
	const struct file_m *f = NULL;

	for (size_t i = 0; i < s->nr_files; i++)
		if (s->files[i].inum == s->cur_inum)
			f = &s->files[i];
	printf("op %llu: %s inode %llu", (unsigned long long)s->op, s->op_name,
	       (unsigned long long)s->cur_inum);
	if (f) {
		printf(" size %llu:", (unsigned long long)f->size);
		for (size_t i = 0; i < f->nr_ext; i++)
			printf(" %llu-%llu", (unsigned long long)f->ext[i].start,
			       (unsigned long long)f->ext[i].end);
	}
	printf("\n");
}

/*
 * One random operation as one transaction.  The model is updated as the
 * updates are queued: an error is fatal to the run anyway.
 */
static int op_one(struct stress *s, struct btree_trans *t)
{
	unsigned r = rnd_below(s, 100);
	size_t idx;
	struct file_m *f;
	int ret;

	s->op_name = "?";
	if (!s->nr_files || (r < 15 && s->nr_files < s->o->max_files)) {
		ret = op_create(s, t);
	} else {
		idx = rnd_below(s, s->nr_files);
		f = &s->files[idx];
		s->cur_inum = f->inum;
		if (r < 50)
			ret = op_write(s, t, f);
		else if (r < 60)
			ret = op_punch(s, t, f);
		else if (r < 66)
			ret = op_truncate(s, t, f);
		else if (r < 74)
			ret = op_rename(s, t, f);
		else if (r < 88)
			ret = op_xattr(s, t, f);
		else
			ret = op_delete(s, t, idx);
	}
	if (s->o->trace)
		trace_op(s);
	if (!ret) {
		t->name = s->op_name;
		ret = bch_trans_commit(t, &s->err);
	}
	bch_trans_reset(t);
	return ret;
}

/* ---- checking what the filesystem holds against the model ---- */

/* One key as compared: (inum, off) orders; the rest must match. */
struct rec {
	u64 inum, off, a, b, c, d, e;
};

struct recs {
	struct rec *r;
	size_t nr, size;
};

static int recs_push(struct recs *v, struct rec r)
{
	if (v->nr == v->size) {
		size_t n = v->size ? v->size * 2 : 256;
		struct rec *a = realloc(v->r, n * sizeof(*a));

		if (!a)
			return -BCH_ERR_nomem;
		v->r = a;
		v->size = n;
	}
	v->r[v->nr++] = r;
	return 0;
}

static int rec_cmp(const void *_a, const void *_b)
{
	const struct rec *a = _a, *b = _b;

	if (a->inum != b->inum)
		return a->inum < b->inum ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

static u64 fnv(const void *p, size_t len)
{
	const u8 *b = p;
	u64 h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static struct rec inode_rec(const struct bch_inode_unpacked *u)
{
	return (struct rec) {
		u->bi_inum, 0, u->bi_size, u->bi_sectors, u->bi_dir_offset,
		u->bi_hash_seed ^ u->bi_dir,
		((u64)u->bi_mode << 48) | ((u64)(u->bi_flags & 0xffffff) << 16) | (u->bi_nlink & 0xffff),
	};
}

static struct rec dirent_rec(u64 offset, u64 inum, unsigned type, const void *name, size_t len)
{
	return (struct rec) { ROOT_INO, offset, inum, type, fnv(name, len), len, 0 };
}

static struct rec xattr_rec(u64 inum, u64 pos, unsigned type, const void *name, size_t nlen,
			    const void *val, size_t vlen)
{
	return (struct rec) { inum, pos, type, fnv(name, nlen), fnv(val, vlen), vlen, 0 };
}

enum { CHK_INODES, CHK_DIRENTS, CHK_EXTENTS, CHK_XATTRS, CHK_NR };
static const enum btree_id chk_btree[CHK_NR] = {
	BTREE_ID_inodes, BTREE_ID_dirents, BTREE_ID_extents, BTREE_ID_xattrs,
};

static int model_recs(struct stress *s, struct recs *m)
{
	int ret = 0;

	for (size_t i = 0; i < s->nr_files && !ret; i++) {
		const struct file_m *f = &s->files[i];
		struct bch_inode_unpacked u;

		inode_unpacked(s, f, &u);
		ret = recs_push(&m[CHK_INODES], inode_rec(&u)) ?:
		      recs_push(&m[CHK_DIRENTS], dirent_rec(f->dir_offset, f->inum, DT_REG_TYPE,
							    f->name, strlen(f->name)));
		for (size_t j = 0; j < f->nr_ext && !ret; j++)
			ret = recs_push(&m[CHK_EXTENTS], (struct rec) {
				f->inum, f->ext[j].end, f->ext[j].start, f->ext[j].ptr, 0, 0, 0 });
		for (unsigned j = 0; j < MAX_XATTRS && !ret; j++)
			if (f->xattrs[j].live)
				ret = recs_push(&m[CHK_XATTRS],
						xattr_rec(f->inum, f->xattrs[j].pos, 0, xattr_names[j],
							  strlen(xattr_names[j]), f->xattrs[j].val,
							  f->xattrs[j].val_len));
	}
	for (unsigned i = 0; i < CHK_NR; i++)
		qsort(m[i].r, m[i].nr, sizeof(struct rec), rec_cmp);
	return ret;
}

/* A key as a rec; 0 = skip it (root, lost+found), 1 = r set, negative = bad key. */
static int key_rec(struct stress *s, unsigned chk, struct bkey_s_c k, struct rec *r)
{
	switch (chk) {
	case CHK_INODES: {
		struct bch_inode_unpacked u;

		if (k.k->p.offset < FIRST_INO)
			return 0;
		if (!bkey_is_inode(k.k) || bch_inode_unpack(k, &u))
			return -BCH_ERR_bkey_invalid;
		*r = inode_rec(&u);
		return 1;
	}
	case CHK_DIRENTS: {
		const struct bch_dirent *d = k.v;
		size_t len;

		if (k.k->type != KEY_TYPE_dirent)
			return -BCH_ERR_bkey_invalid;
		if (le64_to_cpu(d->d_inum) == ROOT_INO + 1 && k.k->p.offset == s->lf_offset)
			return 0;
		len = strnlen((const char *)d->d_name,
			      bkey_val_bytes(k.k) - offsetof(struct bch_dirent, d_name));
		*r = dirent_rec(k.k->p.offset, le64_to_cpu(d->d_inum), d->d_type, d->d_name, len);
		return 1;
	}
	case CHK_EXTENTS:
		if (k.k->type != KEY_TYPE_extent || bkey_val_u64s(k.k) != 1)
			return -BCH_ERR_bkey_invalid;
		*r = (struct rec) { k.k->p.inode, k.k->p.offset, k.k->p.offset - k.k->size,
				    le64_to_cpu(*(const __le64 *)k.v), 0, 0, 0 };
		return 1;
	case CHK_XATTRS: {
		const struct bch_xattr *x = k.v;

		if (k.k->type != KEY_TYPE_xattr)
			return -BCH_ERR_bkey_invalid;
		*r = xattr_rec(k.k->p.inode, k.k->p.offset, x->x_type, x->x_name, x->x_name_len,
			       x->x_name + x->x_name_len, le16_to_cpu(x->x_val_len));
		return 1;
	}
	}
	return 0;
}

static void rec_to_text(struct printbuf *out, const struct rec *r)
{
	if (!r) {
		pb_str(out, "(none)");
		return;
	}
	pb_printf(out, "%llu:%llu [%llx %llx %llx %llx %llx]", (unsigned long long)r->inum,
		  (unsigned long long)r->off, (unsigned long long)r->a, (unsigned long long)r->b,
		  (unsigned long long)r->c, (unsigned long long)r->d, (unsigned long long)r->e);
}

static int mismatch(struct stress *s, unsigned chk, const char *how, const struct rec *want,
		    const struct rec *got)
{
	pb_printf(&s->err, "%s: %s: model ", bch_btree_id_names[chk_btree[chk]], how);
	rec_to_text(&s->err, want);
	pb_str(&s->err, ", filesystem ");
	rec_to_text(&s->err, got);
	return -BCH_ERR_bad_argument;
}

/* Every key of the btree, in order, against the model's sorted records. */
static int check_btree(struct stress *s, unsigned chk, const struct recs *m)
{
	struct btree_iter it;
	struct bkey_s_c k;
	size_t i = 0;
	int ret;

	bch_btree_iter_init(&it, s->c, chk_btree[chk], POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		struct rec r;
		int kr = k.k->p.snapshot == SNAP ? key_rec(s, chk, k, &r) : -BCH_ERR_bkey_invalid;

		if (kr < 0) {
			pb_printf(&s->err, "%s: unexpected key ", bch_btree_id_names[chk_btree[chk]]);
			bch_bkey_val_to_text(&s->err, s->c, k);
			ret = kr;
			break;
		}
		if (kr) {
			if (i >= m->nr || memcmp(&m->r[i], &r, sizeof(r))) {
				ret = mismatch(s, chk, "differs", i < m->nr ? &m->r[i] : NULL, &r);
				break;
			}
			i++;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && *pb_cstr(&it.err))
		pb_printf(&s->err, " (%s)", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	if (!ret && i < m->nr)
		ret = mismatch(s, chk, "missing", &m->r[i], NULL);
	return ret;
}

/* Exact-position lookups of every file's inode and dirent through a transaction. */
static int check_lookups(struct stress *s)
{
	struct btree_trans t;
	union key_buf b;
	int ret = 0;

	bch_trans_init(&t, s->c);
	for (size_t i = 0; i < s->nr_files && !ret; i++) {
		const struct file_m *f = &s->files[i];

		ret = bch_trans_lookup(&t, BTREE_ID_inodes, 0, SPOS(0, f->inum, SNAP), &b.k,
				       KEY_BUF_U64s, &s->err);
		if (ret == 1)
			ret = bch_trans_lookup(&t, BTREE_ID_dirents, 0,
					       SPOS(ROOT_INO, f->dir_offset, SNAP), &b.k,
					       KEY_BUF_U64s, &s->err);
		if (ret == 1 && le64_to_cpu(((struct bch_dirent *)b.k.v)->d_inum) != f->inum)
			ret = 0;
		if (!ret)
			pb_printf(&s->err, "lookup of file %llu (%s) found nothing or another",
				  (unsigned long long)f->inum, f->name);
		ret = ret == 1 ? 0 : ret ?: -BCH_ERR_bad_argument;
	}
	bch_trans_exit(&t);
	return ret;
}

struct disk_range {
	u64 start, end;		/* sectors on the device, dev in the top bits */
	u64 inum, offset;
};

static int disk_range_cmp(const void *_a, const void *_b)
{
	const struct disk_range *a = _a, *b = _b;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* No two live extents may share disk space: the allocator handed it out twice. */
static int check_disk_overlaps(struct stress *s)
{
	struct disk_range *r;
	size_t nr = 0, n = 0;
	int ret = 0;

	for (size_t i = 0; i < s->nr_files; i++)
		n += s->files[i].nr_ext;
	r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		return -BCH_ERR_nomem;
	for (size_t i = 0; i < s->nr_files; i++)
		for (size_t j = 0; j < s->files[i].nr_ext; j++) {
			const struct ext_m *e = &s->files[i].ext[j];
			struct bch_extent_ptr p = { cpu_to_le64(e->ptr) };
			u64 start = ((u64)ptr_dev(&p) << 56) | ptr_offset(&p);

			r[nr++] = (struct disk_range) { start, start + e->end - e->start,
							s->files[i].inum, e->start };
		}
	qsort(r, nr, sizeof(*r), disk_range_cmp);
	for (size_t i = 1; i < nr && !ret; i++)
		if (r[i].start < r[i - 1].end) {
			pb_printf(&s->err, "extents %llu:%llu and %llu:%llu share disk sectors %llu..%llu",
				  (unsigned long long)r[i - 1].inum, (unsigned long long)r[i - 1].offset,
				  (unsigned long long)r[i].inum, (unsigned long long)r[i].offset,
				  (unsigned long long)(r[i].start & ~(0xffULL << 56)),
				  (unsigned long long)(r[i - 1].end & ~(0xffULL << 56)));
			ret = -BCH_ERR_bad_argument;
		}
	free(r);
	return ret;
}

static int verify(struct stress *s, const char *when)
{
	struct recs m[CHK_NR] = { 0 };
	int ret = check_disk_overlaps(s) ?: model_recs(s, m) ?: check_lookups(s);

	for (unsigned i = 0; i < CHK_NR && !ret; i++)
		ret = check_btree(s, i, &m[i]);
	for (unsigned i = 0; i < CHK_NR; i++)
		free(m[i].r);
	if (ret)
		pb_printf(&s->err, " (checking %s)", when);
	else if (!s->o->quiet)
		printf("verified %s: %zu files, %zu extents, %zu xattrs\n", when, m[CHK_INODES].nr,
		       m[CHK_EXTENTS].nr, m[CHK_XATTRS].nr);
	return ret;
}

/* ---- the run ---- */

static int root_read(struct stress *s)
{
	struct btree_trans t;
	union key_buf b;
	struct bch_inode_unpacked u;
	int ret;

	bch_trans_init(&t, s->c);
	ret = bch_trans_lookup(&t, BTREE_ID_inodes, 0, SPOS(0, ROOT_INO, SNAP), &b.k,
			       KEY_BUF_U64s, &s->err);
	bch_trans_exit(&t);
	if (ret == 0) {
		pb_str(&s->err, "no root directory inode");
		ret = -BCH_ERR_bad_argument;
	}
	if (ret < 0 || (ret = bch_inode_unpack(bkey_i_to_s_c(&b.k), &u)))
		return ret;
	s->hash_type = bch_inode_str_hash(&u);
	s->root_seed = u.bi_hash_seed;
	s->lf_offset = bch_dirent_hash(s->hash_type, s->root_seed, "lost+found", 10);
	s->block_sectors = s->c->sb.block_size;
	return 0;
}

/* Stops the run at a simulated crash: the devices stay as the failed write left them. */
static bool crashed(const struct stress *s)
{
	return s->o->crash_after && !s->c->writes_left;
}

static u64 writes_done(const struct stress *s)
{
	return s->c->opts.fail_after_writes - s->c->writes_left;
}

static int ops_run(struct stress *s)
{
	struct btree_trans t;
	int ret = 0;

	bch_trans_init(&t, s->c);
	for (s->op = 1; s->op <= s->o->ops && !ret; s->op++) {
		ret = op_one(s, &t);
		if (!ret && s->o->journal_flush_every && s->op % s->o->journal_flush_every == 0) {
			s->op_name = "journal flush";
			s->st.journal_flushes++;
			ret = bch_journal_flush(s->c, &s->err);
		}
		if (!ret && s->o->flush_every && s->op % s->o->flush_every == 0) {
			u64 w = writes_done(s);

			s->op_name = "btree flush";
			s->st.flushes++;
			ret = check_disk_overlaps(s) ?: bch_btree_flush_all(s->c, &s->err);
			/* crash tests aim at these: N = the first number crashes at its first write */
			if (!ret && !s->o->quiet)
				printf("btree flush at op %llu: device writes %llu-%llu\n",
				       (unsigned long long)s->op, (unsigned long long)w + 1,
				       (unsigned long long)writes_done(s));
		}
	}
	bch_trans_exit(&t);
	if (ret)
		s->op--;
	return ret;
}

static void stats_print(const struct stress *s, const char *how)
{
	const struct stats *st = &s->st;

	printf("%s: %llu ops (create %llu write %llu punch %llu truncate %llu rename %llu "
	       "xattr set %llu rm %llu delete %llu), %llu extents %llu sectors written, "
	       "%llu btree flushes, %llu journal flushes, %llu no-space retries, %llu device writes\n",
	       how, (unsigned long long)(s->op > s->o->ops ? s->o->ops : s->op),
	       (unsigned long long)st->create, (unsigned long long)st->write,
	       (unsigned long long)st->punch, (unsigned long long)st->truncate,
	       (unsigned long long)st->rename, (unsigned long long)st->xattr_set,
	       (unsigned long long)st->xattr_rm, (unsigned long long)st->del,
	       (unsigned long long)st->extents_written, (unsigned long long)st->sectors_written,
	       (unsigned long long)st->flushes, (unsigned long long)st->journal_flushes,
	       (unsigned long long)st->no_space, (unsigned long long)writes_done(s));
}

static int fail(struct stress *s, const char *stage, int ret)
{
	if (s->c && crashed(s)) {
		printf("simulated crash at op %llu (%s) after %llu device writes: %s\n",
		       (unsigned long long)s->op, s->op_name ? s->op_name : stage,
		       (unsigned long long)writes_done(s), pb_cstr(&s->err));
		stats_print(s, "crashed");
		fflush(stdout);
		/* no close: nothing more may reach the devices, as after a crash */
		exit(EXIT_CRASH);
	}
	fprintf(stderr, "stress: %s, op %llu (%s): %s: %s\n", stage, (unsigned long long)s->op,
		s->op_name ? s->op_name : "-", bch_err_str(ret), pb_cstr(&s->err));
	return 1;
}

static int reopen_verify(struct stress *s, char **devs, unsigned nr)
{
	struct bch_open_opts oo = { .read_only = true };
	int ret;

	bch_fs_close(s->c);
	s->c = NULL;
	ret = bch_fs_open(devs, nr, &oo, &s->c, &s->err);
	if (ret)
		return ret;
	if (!s->c->sb.clean) {
		pb_str(&s->err, "the filesystem is not clean after the clean shutdown");
		return -BCH_ERR_bad_argument;
	}
	return verify(s, "after reopening");
}

static int run(char **devs, unsigned nr, const struct opts *o)
{
	/* counting writes down from the maximum gives the number made */
	struct bch_open_opts oo = { .fail_after_writes = o->crash_after ?: ~0ULL };
	struct stress s = { .o = o, .rng = o->seed, .next_inum = FIRST_INO, .err = PRINTBUF };
	int ret = bch_fs_open(devs, nr, &oo, &s.c, &s.err);

	if (ret) {
		s.c = NULL;
		return fail(&s, "open", ret);
	}
	s.files = calloc(o->max_files + 1, sizeof(*s.files));
	if (!s.files)
		return fail(&s, "setup", -BCH_ERR_nomem);
	if ((ret = root_read(&s)))
		return fail(&s, "reading the root directory", ret);
	s.op_name = "start write";
	if ((ret = bch_fs_start_write(s.c, &s.err)))
		return fail(&s, "going read-write", ret);
	if ((ret = ops_run(&s)))
		return fail(&s, "operations", ret);
	s.op_name = "verify";
	if ((ret = verify(&s, "before shutdown")))
		return fail(&s, "verify", ret);
	s.op_name = "clean shutdown";
	u64 w = writes_done(&s);
	if ((ret = bch_fs_clean_shutdown(s.c, &s.err)))
		return fail(&s, "clean shutdown", ret);
	if (!o->quiet)
		printf("clean shutdown: device writes %llu-%llu\n", (unsigned long long)w + 1,
		       (unsigned long long)writes_done(&s));
	stats_print(&s, "done");
	if (o->crash_after && !s.c->writes_left)
		printf("note: the write limit was reached exactly\n");
	s.op_name = "reopen";
	if ((ret = reopen_verify(&s, devs, nr)))
		return fail(&s, "reopen", ret);
	for (size_t i = 0; i < s.nr_files; i++)
		free(s.files[i].ext);
	free(s.files);
	pb_exit(&s.err);
	bch_fs_close(s.c);
	return 0;
}

static bool parse_u64(const char *arg, u64 *v)
{
	char *end;

	if (!arg || !*arg)
		return false;
	*v = strtoull(arg, &end, 0);
	return !*end;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.seed = 1, .ops = 20000, .flush_every = 2000, .journal_flush_every = 64,
		.max_files = 300, .max_file_blocks = 128,
	};
	int i = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *arg = argv[i + 1];
		u64 v;

		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "--trace")) {
			*(argv[i][2] == 'q' ? &o.quiet : &o.trace) = true;
			continue;
		}
		if (!parse_u64(arg, &v))
			break;
		if (!strcmp(argv[i], "--seed"))
			o.seed = v;
		else if (!strcmp(argv[i], "--ops"))
			o.ops = v;
		else if (!strcmp(argv[i], "--flush-every"))
			o.flush_every = v;
		else if (!strcmp(argv[i], "--journal-flush-every"))
			o.journal_flush_every = v;
		else if (!strcmp(argv[i], "--max-files") && v)
			o.max_files = v;
		else if (!strcmp(argv[i], "--max-file-blocks") && v && v < (1U << 20))
			o.max_file_blocks = v;
		else if (!strcmp(argv[i], "--crash-after-writes") && v)
			o.crash_after = v;
		else
			break;
		i++;
	}
	if (i >= argc || !strncmp(argv[i], "--", 2)) {
		fputs(usage, stderr);
		return 2;
	}
	return run(argv + i, argc - i, &o);
}
