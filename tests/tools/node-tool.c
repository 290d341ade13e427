/* Test helper for the node writer: compares computed formats with an image's, and rewrites a node in place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bkey/format_calc.h"
#include "btree/iter.h"
#include "btree/node_read.h"
#include "btree/node_write.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "util/names.h"

static const char usage[] =
	"usage: node-tool formats [-v] DEVICE...\n"
	"       node-tool rewrite BTREE LEVEL POS DEVICE...\n"
	"\n"
	"formats: for every node of every btree, the format computed from its\n"
	"  range and live keys against the stored one; a single-bset node whose\n"
	"  format matches is also recompacted and compared byte for byte.\n"
	"rewrite: replaces the node at LEVEL holding POS, in place (same seq and\n"
	"  generation), by its compaction; if that changes how many sectors it\n"
	"  uses, the parent's btree_ptr_v2.sectors_written is patched in its bset\n"
	"  and that bset re-checksummed.\n";

struct counts {
	unsigned nodes, single, single_match, single_identical;
	unsigned multi, multi_match;
};

static void node_line(struct printbuf *out, const struct btree *b,
		      const struct bkey_format *calc, const char *verdict)
{
	pb_printf(out, "%s l %u ", bch_btree_id_names[b->btree_id], b->level);
	bch_bpos_to_text(out, b->min_key);
	pb_str(out, " - ");
	bch_bpos_to_text(out, b->max_key);
	pb_printf(out, " bsets %u keys %zu: stored ", b->nr_bsets, b->nr_keys);
	bch_bkey_format_to_text(out, &b->format);
	pb_str(out, " computed ");
	bch_bkey_format_to_text(out, calc);
	pb_printf(out, " %s\n", verdict);
}

/* Is the compaction of single-bset node b the node as stored, byte for byte? */
static bool recompacts_identically(struct bch_fs *c, const struct btree *b, void *buf,
				   size_t bytes)
{
	struct printbuf err = PRINTBUF;
	int sectors = bch_btree_node_compact(c, b, b->seq, b->node_seq, buf, bytes, &err);
	bool same = sectors == (int)b->written &&
		!memcmp(buf, b->data, (size_t)sectors << 9);

	if (sectors < 0)
		fprintf(stderr, "compact: %s\n", pb_cstr(&err));
	pb_exit(&err);
	return same;
}

static void check_node(struct bch_fs *c, const struct btree *b, struct counts *n,
		       bool verbose, void *buf, size_t bytes)
{
	struct bkey_format calc = bch_format_calc_node(b->min_key, b->max_key,
						       b->keys, b->nr_keys);
	bool match = !memcmp(&calc, &b->format, sizeof(calc));
	const char *verdict = match ? "match" : "differ";
	struct printbuf out = PRINTBUF;

	n->nodes++;
	if (b->nr_bsets == 1) {
		n->single++;
		n->single_match += match;
		if (match && recompacts_identically(c, b, buf, bytes)) {
			n->single_identical++;
			verdict = "match identical";
		}
	} else {
		n->multi++;
		n->multi_match += match;
	}
	if (verbose) {
		node_line(&out, b, &calc, verdict);
		fputs(pb_cstr(&out), stdout);
	}
	pb_exit(&out);
}

static int check_btree(struct bch_fs *c, enum btree_id id, struct counts *n,
		       bool verbose, void *buf, size_t bytes)
{
	struct btree_iter it;
	const struct btree *b;
	int ret;

	bch_btree_iter_init(&it, c, id, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek_node(&it, &b)) > 0 && it.have_root) {
		check_node(c, b, n, verbose, buf, bytes);
		bch_btree_iter_next_node(&it);
	}
	if (ret < 0)
		fprintf(stderr, "btree %s: %s\n", bch_btree_id_names[id], pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static int open_fs(char **devs, int nr, struct bch_fs **c)
{
	struct bch_open_opts opts = { .read_only = true };
	struct printbuf err = PRINTBUF;
	int ret = bch_fs_open(devs, nr, &opts, c, &err);

	if (ret)
		fprintf(stderr, "node-tool: %s\n", pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

static int cmd_formats(int argc, char **argv)
{
	bool verbose = argc > 0 && !strcmp(argv[0], "-v");
	struct counts n = { 0 };
	struct bch_fs *c;
	int ret = 0;

	argc -= verbose;
	argv += verbose;
	if (argc < 1 || open_fs(argv, argc, &c))
		return 2;

	size_t bytes = (size_t)c->sb.btree_node_size << 9;
	void *buf = malloc(bytes);

	for (unsigned id = 0; id < BTREE_ID_NR && buf && !ret; id++)
		ret = check_btree(c, id, &n, verbose, buf, bytes);
	printf("nodes %u single-bset %u matched %u identical %u multi-bset %u matched %u\n",
	       n.nodes, n.single, n.single_match, n.single_identical, n.multi, n.multi_match);
	free(buf);
	bch_fs_close(c);
	return ret || !buf ? 1 : 0;
}

/* ---- rewrite ---- */

/* Writes sectors [0, sectors) of buf to every replica the pointer names. */
static int write_replicas(struct bch_fs *c, const struct bkey_i *ptr, const void *buf,
			  unsigned sectors)
{
	const struct bch_btree_ptr_v2 *v = (const void *)ptr->v;
	unsigned nr = (bkey_val_bytes(&ptr->k) - sizeof(*v)) / sizeof(struct bch_extent_ptr);

	for (unsigned i = 0; i < nr; i++) {
		struct bch_dev *ca = bch_dev_get(c, ptr_dev(&v->start[i]));
		int fd = ca ? open(ca->path, O_WRONLY) : -1;
		size_t len = (size_t)sectors << 9;
		bool ok = fd >= 0 &&
			pwrite(fd, buf, len, ptr_offset(&v->start[i]) << 9) == (ssize_t)len &&
			!fsync(fd);

		if (fd >= 0)
			close(fd);
		if (!ok) {
			fprintf(stderr, "node-tool: writing dev %u: %s\n",
				(unsigned)ptr_dev(&v->start[i]), strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Finds, in data (a copy of the raw bsets of parent node p, up to what was
 * written), the newest copy of the pointer
 * whose key is at pos; sets *val to its value and *bset_start to the start
 * of its write (btree_node or btree_node_entry).
 */
static bool find_ptr(const struct bch_fs *c, const struct btree *p, u8 *data,
		     struct bpos pos, u8 **val, u8 **bset_start)
{
	size_t block = (size_t)c->sb.block_size << 9;
	bool found = false;

	for (unsigned off = 0; off < p->written;) {
		u8 *start = data + ((size_t)off << 9);
		struct bset *i = off ? &((struct btree_node_entry *)start)->keys
				     : &((struct btree_node *)start)->keys;
		size_t hdr = off ? sizeof(struct btree_node_entry) : sizeof(struct btree_node);
		size_t bytes = hdr + 8 * (size_t)le16_to_cpu(i->u64s);
		const struct bkey_packed *k = (const void *)i->_data;
		const void *end = i->_data + le16_to_cpu(i->u64s);

		for (; (const void *)k < end; k = bkeyp_next(k)) {
			struct bkey u;

			if (bch_bkey_unpack(&p->unpacker, k, &u) && bpos_eq(u.p, pos) &&
			    u.type == KEY_TYPE_btree_ptr_v2) {
				*val = (u8 *)bkeyp_val(&p->unpacker, k);
				*bset_start = start;
				found = true;
			}
		}
		off += (bytes + block - 1) / block * block >> 9;
	}
	return found;
}

static void reseal(u8 *start, bool first, unsigned offset)
{
	struct bset *i = first ? &((struct btree_node *)start)->keys
			       : &((struct btree_node_entry *)start)->keys;
	size_t hdr = first ? sizeof(struct btree_node) : sizeof(struct btree_node_entry);
	size_t bytes = hdr + 8 * (size_t)le16_to_cpu(i->u64s);
	u64 seq = le64_to_cpu(i->seq);
	struct bch_nonce nonce = { {
		offset << 9, (u32)seq, (u32)(seq >> 32),
		(u32)le64_to_cpu(i->journal_seq) ^ (2U << 28),
	} };

	*(struct bch_csum *)start = bch_checksum(bset_csum_type(i), nonce,
						 start + sizeof(struct bch_csum),
						 bytes - sizeof(struct bch_csum));
}

static bool has_parent(struct bch_fs *c, enum btree_id id, const struct btree *child)
{
	struct btree_iter it;
	const struct btree *p;
	bool ret;

	bch_btree_iter_init(&it, c, id, child->max_key, child->level + 1);
	ret = bch_btree_iter_peek_node(&it, &p) > 0 && it.have_root &&
		p->level == child->level + 1;
	bch_btree_iter_exit(&it);
	return ret;
}

/*
 * Points the parent at the node's new length: a copy of the parent (the
 * cached node stays as read) is patched and written back whole.
 */
static int patch_parent(struct bch_fs *c, enum btree_id id, const struct btree *child,
			unsigned sectors)
{
	struct btree_iter it;
	const struct btree *p;
	u8 *data = NULL, *val, *start;
	int ret = -1;

	bch_btree_iter_init(&it, c, id, child->max_key, child->level + 1);
	if (bch_btree_iter_peek_node(&it, &p) <= 0 || p->level != child->level + 1) {
		fprintf(stderr, "node-tool: the node is a root: its pointer is in the journal\n");
		goto out;
	}
	data = malloc((size_t)p->written << 9);
	if (!data)
		goto out;
	memcpy(data, p->data, (size_t)p->written << 9);
	if (!find_ptr(c, p, data, child->max_key, &val, &start)) {
		fprintf(stderr, "node-tool: the parent has no pointer to the node\n");
		goto out;
	}
	((struct bch_btree_ptr_v2 *)val)->sectors_written = cpu_to_le16(sectors);
	reseal(start, start == data, (unsigned)((start - data) >> 9));
	ret = write_replicas(c, &p->key, data, p->written);
	printf("parent at dev %u sector %llu: pointer now says %u sectors written\n",
	       p->dev, (unsigned long long)p->sector, sectors);
out:
	free(data);
	bch_btree_iter_exit(&it);
	return ret;
}

static int rewrite(struct bch_fs *c, enum btree_id id, unsigned level, struct bpos pos)
{
	size_t bytes = (size_t)c->sb.btree_node_size << 9;
	struct printbuf err = PRINTBUF;
	struct btree_iter it;
	const struct btree *b;
	u8 *buf = calloc(1, bytes);
	int sectors, ret = -1;

	bch_btree_iter_init(&it, c, id, pos, level);
	if (!buf || bch_btree_iter_peek_node(&it, &b) <= 0 || !it.have_root ||
	    b->level != level || b->key.k.type != KEY_TYPE_btree_ptr_v2) {
		fprintf(stderr, "node-tool: no btree_ptr_v2 node at that level and position\n");
		goto out;
	}
	sectors = bch_btree_node_compact(c, b, b->seq, b->node_seq, buf, bytes, &err);
	if (sectors < 0) {
		fprintf(stderr, "node-tool: %s\n", pb_cstr(&err));
		goto out;
	}
	if ((unsigned)sectors != b->written && !has_parent(c, id, b)) {
		fprintf(stderr, "node-tool: the node is a root: its pointer is in the journal\n");
		goto out;
	}
	printf("node at dev %u sector %llu: %u bsets in %u sectors -> 1 bset in %d sectors\n",
	       b->dev, (unsigned long long)b->sector, b->nr_bsets, b->written, sectors);
	/* clear what the old bsets left behind, up to what was written */
	ret = write_replicas(c, &b->key, buf,
			     (unsigned)sectors > b->written ? (unsigned)sectors : b->written);
	if (!ret && (unsigned)sectors != b->written)
		ret = patch_parent(c, id, b, sectors);
out:
	bch_btree_iter_exit(&it);
	pb_exit(&err);
	free(buf);
	return ret;
}

static int cmd_rewrite(int argc, char **argv)
{
	struct bpos pos;
	struct bch_fs *c;
	int id = argc >= 4 ? bch_name_index(bch_btree_id_names, BTREE_ID_NR, argv[0]) : -1;

	if (id < 0 || !bch_bpos_parse(argv[2], &pos)) {
		fputs(usage, stderr);
		return 2;
	}
	if (open_fs(argv + 3, argc - 3, &c))
		return 2;
	int ret = rewrite(c, id, atoi(argv[1]), pos);
	bch_fs_close(c);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "formats"))
		return cmd_formats(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "rewrite"))
		return cmd_rewrite(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}
