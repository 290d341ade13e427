/* The fsck passes in the kernel's order, and running them. */
#include "fsck/fsck.h"
#include "fsck/passes.h"
#include <stdlib.h>
#include <time.h>

#include "btree/iter.h"
#include "btree/trans.h"
#include "keys/key_types.h"
#include "util/names.h"
#include "core/shutdown.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"

/* name, stable id (recovery_passes_types.h), our function (NULL: not yet) */
#define BCH_FSCK_PASSES(p)	\
	p(check_topology,		 4, NULL)	\
	p(check_allocations,		 5, bch_fsck_check_allocations)	\
	p(check_alloc_info,		10, bch_fsck_check_alloc_info)	\
	p(check_lrus,			11, bch_fsck_check_lrus)	\
	p(check_btree_backpointers,	12, bch_fsck_check_btree_backpointers)	\
	p(check_backpointers_to_extents, 13, bch_fsck_check_backpointers_to_extents)	\
	p(check_extents_to_backpointers, 14, bch_fsck_check_extents_to_backpointers)	\
	p(check_alloc_to_lru_refs,	15, bch_fsck_check_alloc_to_lru_refs)	\
	p(reconstruct_snapshots,	38, bch_reconstruct_snapshots)	\
	p(check_snapshot_trees,		18, bch_check_snapshot_trees)	\
	p(check_snapshots,		19, bch_check_snapshots)	\
	p(check_subvols,		20, bch_check_subvols)	\
	p(check_subvol_children,	35, bch_check_subvol_children)	\
	p(delete_dead_snapshots,	21, bch_delete_dead_snapshots)	\
	p(check_inodes,			24, bch_check_inodes)	\
	p(check_extents,		25, bch_check_extents)	\
	p(check_indirect_extents,	26, bch_check_indirect_extents)	\
	p(check_dirents,		27, bch_check_dirents)	\
	p(check_xattrs,			28, bch_check_xattrs)	\
	p(check_root,			29, bch_check_root)	\
	p(check_unreachable_inodes,	40, bch_check_unreachable_inodes)	\
	p(check_subvolume_structure,	36, bch_check_subvolume_structure)	\
	p(check_directory_structure,	30, bch_check_directory_structure)	\
	p(check_nlinks,			31, bch_check_nlinks)	\
	p(resume_logged_ops,		23, bch_resume_logged_ops)	\
	p(delete_dead_inodes,		32, bch_delete_dead_inodes)

const struct bch_fsck_pass bch_fsck_passes[] = {
#define p(name, id, fn) { #name, id, fn },
	BCH_FSCK_PASSES(p)
#undef p
};
const unsigned bch_fsck_nr_passes = sizeof(bch_fsck_passes) / sizeof(bch_fsck_passes[0]);

/* ---- keys dropped as invalid by node reads ---- */

struct bch_fsck_invalid {
	enum btree_id btree;
	unsigned level;
	enum bch_fsck_err err;
	struct bpos pos;		/* the key's */
	struct bpos at;			/* where an update reaches its node */
	char *text;			/* the key and what is wrong with it */
	bool reported;
};

/* Past this many, more invalid keys are counted but not kept (each is repaired once found). */
#define INVALID_MAX	(1U << 20)

/* A problem of the node as a whole, reported through its first key. */
static bool node_err(unsigned err)
{
	return err == BCH_FSERR_bset_bad_csum || err == BCH_FSERR_bset_unknown_csum ||
	       err == BCH_FSERR_btree_node_data_missing || err == BCH_FSERR_bset_wrong_sector_offset ||
	       err == BCH_FSERR_btree_node_bset_older_than_sb_min;
}

static void invalid_key_seen(void *ctx, enum btree_id btree, unsigned level, struct bpos at,
			     struct bkey_s_c k, unsigned err_id, const char *msg)
{
	struct bch_fsck *f = ctx;
	struct bch_fsck_invalid *e;
	struct printbuf b = PRINTBUF;

	if (f->nr_invalid == f->invalid_size) {
		size_t n = f->invalid_size ? f->invalid_size * 2 : 16;

		if (n > INVALID_MAX || !(e = realloc(f->invalid, n * sizeof(*e)))) {
			bch_fsck_op_error(f, -BCH_ERR_nomem, "too many invalid keys to keep track of");
			return;
		}
		f->invalid = e;
		f->invalid_size = n;
	}
	if (node_err(err_id)) {
		pb_printf(&b, "btree %s level %u node with first key ", bch_btree_id_names[btree], level);
		bch_bpos_to_text(&b, k.k->p);
	} else {
		pb_printf(&b, "btree %s level %u: ", bch_btree_id_names[btree], level);
		bch_bkey_val_to_text(&b, f->c, k);
	}
	pb_printf(&b, ": %s", msg);
	f->invalid[f->nr_invalid++] = (struct bch_fsck_invalid) {
		.btree = btree, .level = level, .pos = k.k->p, .at = at,
		.err = err_id < BCH_FSCK_ERR_NR ? (enum bch_fsck_err)err_id : BCH_FSCK_ERR_NR - 1,
		.text = b.buf,
	};
}

/* By place; among copies of one place (a node read again), the reported one first. */
static int invalid_cmp(const void *l, const void *r)
{
	const struct bch_fsck_invalid *a = l, *b = r;

	if (a->btree != b->btree)
		return a->btree < b->btree ? -1 : 1;
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	return bpos_cmp(a->pos, b->pos) ?: (int)a->err - (int)b->err ?:
	       (int)b->reported - (int)a->reported;
}

/* Sorts the keys and keeps one entry per place: the reported one, if any is. */
static void invalid_keys_dedup(struct bch_fsck *f)
{
	size_t n = 0;

	qsort(f->invalid, f->nr_invalid, sizeof(f->invalid[0]), invalid_cmp);
	for (size_t i = 0; i < f->nr_invalid; i++) {
		struct bch_fsck_invalid *e = &f->invalid[i];

		if (n && f->invalid[n - 1].btree == e->btree && f->invalid[n - 1].level == e->level &&
		    bpos_eq(f->invalid[n - 1].pos, e->pos) && f->invalid[n - 1].err == e->err)
			free(e->text);
		else
			f->invalid[n++] = *e;
	}
	f->nr_invalid = f->nr_invalid_done = n;
}

/*
 * The key a reader sees at an invalid key's place (an older version, or
 * none) is written again, so the next flush rewrites the node without
 * the invalid one.  A key outside its node's range is reached through the
 * nearest place inside it: the update there (the key found, or a deletion
 * of nothing) makes the flush rewrite that node whole.
 */
static int invalid_key_repair(struct bch_fsck *f, const struct bch_fsck_invalid *e)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } *k = malloc(sizeof(*k));
	struct printbuf err = PRINTBUF;
	struct btree_trans t;
	int ret = k ? bch_fsck_start_write(f) : -BCH_ERR_nomem;

	if (ret)
		goto out;
	bch_trans_init(&t, f->c);
	t.name = "fsck";
	ret = bch_trans_lookup(&t, e->btree, e->level, e->at, &k->k, BKEY_U64s_MAX, &err);
	if (ret > 0)
		ret = bch_trans_update(&t, e->btree, e->level, &k->k,
				       BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_FORCE);
	else if (!ret)
		ret = bch_trans_delete(&t, e->btree, e->level, e->at,
				       BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_FORCE);
	ret = ret ?: bch_trans_commit(&t, &err);
	bch_trans_exit(&t);
	if (ret)
		bch_fsck_op_error(f, ret, "removing an invalid key: %s", pb_cstr(&err));
	f->itab_stale = true;
out:
	pb_exit(&err);
	free(k);
	return ret;
}

static int invalid_keys_report(struct bch_fsck *f)
{
	int ret = 0;

	if (f->nr_invalid == f->nr_invalid_done)
		return 0;
	invalid_keys_dedup(f);
	/* a repair may read the node again and add its keys anew: those wait for the next dedup */
	size_t nr = f->nr_invalid;

	for (size_t i = 0; i < nr && !ret; i++) {
		struct bch_fsck_invalid *e = &f->invalid[i];

		if (e->reported)
			continue;
		e->reported = true;
		if (!bch_fsck_problem(f, e->err, node_err(e->err) ? "%s" : "invalid key in %s",
				      e->text ?: "(no memory)"))
			continue;
		if (e->err == BCH_FSCK_ERR_btree_node_bset_older_than_sb_min) {
			/* the node stays as it is: the superblock admits its version */
			ret = bch_fsck_start_write(f);
			if (!ret)
				bch_fs_version_min_lower(f->c, f->c->bset_version_low);
			continue;
		}
		/*
		 * a node pointer too: what a reader sees there is an older
		 * version or nothing, and a gap that leaves is the tiling
		 * check's (check_allocations), which ran after the node read
		 */
		ret = invalid_key_repair(f, e);
	}
	return ret;
}

void bch_fsck_invalid_exit(struct bch_fsck *f)
{
	if (f->c && f->c->invalid_key_ctx == f) {
		f->c->invalid_key = NULL;
		f->c->invalid_key_ctx = NULL;
		f->c->node_csum_tolerant = false;
	}
	if (f->c && f->c->progress_ctx == f) {
		f->c->progress = NULL;
		f->c->progress_ctx = NULL;
	}
	for (size_t i = 0; i < f->nr_invalid; i++)
		free(f->invalid[i].text);
	free(f->invalid);
	f->invalid = NULL;
	f->nr_invalid = f->invalid_size = f->nr_invalid_done = 0;
}

int bch_fsck_lost_data(struct bch_fsck *f, enum btree_id id)
{
	u64 bit = 1ULL << id;
	int ret;

	if (f->lost_data & bit)
		return 0;
	f->lost_data |= bit;
	bch_fsck_info(f, "btree %s lost data: what its keys named is rebuilt from the keys naming it",
		      bch_btree_id_names[id]);
	if (f->mode == BCH_FSCK_NO)
		return 0;
	ret = bch_fs_lost_data_set(f->c, f->lost_data, &f->err);
	return ret ? bch_fsck_op_error(f, ret, "recording the lost data in the superblock") : 0;
}

int bch_fsck_start_write(struct bch_fsck *f)
{
	int ret;

	if (f->writing)
		return 0;
	/* -n: updates that are not fixes of a problem (and the passes after) see them in memory */
	ret = f->mode == BCH_FSCK_NO ? bch_fs_start_memory_only(f->c, &f->err) :
		bch_fs_start_write(f->c, &f->err);
	if (ret)
		return bch_fsck_op_error(f, ret, "could not start writing");
	f->writing = true;
	return 0;
}

/*
 * Damage the journal read found and repaired in memory (as the kernel
 * does, before any pass): a problem each.  A repair declined leaves
 * nothing to replay safely: fsck stops, having written nothing.
 */
static int journal_problems(struct bch_fsck *f)
{
	const struct bch_typed_log *t = &f->c->log_types;
	const struct printbuf *log = &f->c->log;
	bool declined = false;

	for (size_t i = 0; i < t->nr; i++) {
		const struct bch_typed_line *l = &t->lines[i];
		size_t len = l->end - l->start;

		if (l->end > log->pos)
			continue;
		while (len && log->buf[l->start + len - 1] == '\n')
			len--;
		if (!bch_fsck_problem(f, l->id < BCH_FSCK_ERR_NR ? (enum bch_fsck_err)l->id : BCH_FSCK_ERR_NR - 1,
				      "%.*s", (int)len, log->buf + l->start) &&
		    f->mode != BCH_FSCK_NO)
			declined = true;
	}
	if (declined)
		return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
					 "the journal cannot be replayed without the repairs declined; nothing was written");
	return 0;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Long passes say how far they are, as the kernel's fsck does, every progress_interval seconds. */
static void progress(void *ctx, u64 keys_walked)
{
	struct bch_fsck *f = ctx;
	u64 now = now_ns();

	if (!f->pass_name || now - f->progress_last < (u64)f->progress_interval * 1000000000ULL)
		return;
	f->progress_last = now;
	bch_fsck_info(f, "%s: %llu keys examined, %llu s", f->pass_name,
		      (unsigned long long)(keys_walked - f->pass_keys),
		      (unsigned long long)((now - f->pass_start) / 1000000000ULL));
}

/* Topology repairs that may each send the passes back to the start. */
#define TOPOLOGY_RESTARTS_MAX	16

int bch_fsck_run(struct bch_fsck *f)
{
	int ret;

	f->c->invalid_key = invalid_key_seen;
	f->c->invalid_key_ctx = f;
	f->c->node_csum_tolerant = true;
	f->c->progress = progress;
	f->c->progress_ctx = f;
	bch_fsck_topology_init(f);
	f->lost_data = bch_fs_lost_data(f->c);
	f->was_clean = f->c->sb.clean;
	/* an encrypted filesystem never gets here: bch_fs_open() refuses it */
	ret = journal_problems(f);
	if (ret)
		return ret;
	/* an unclean filesystem is left clean by any fixing mode: its journal replayed */
	if (f->mode != BCH_FSCK_NO && !f->c->sb.clean) {
		ret = bch_fsck_start_write(f);
		if (ret)
			return ret;
	}
	ret = bch_fsck_roots_check(f);
	if (ret)
		return ret;

	for (unsigned i = 0, restarts = 0; i < bch_fsck_nr_passes && !ret; i++) {
		const struct bch_fsck_pass *p = &bch_fsck_passes[i];

		if (!p->fn)
			continue;
		if (f->verbose)
			bch_fsck_info(f, "%s...", p->name);
		f->pass_name = p->name;
		f->pass_keys = f->c->keys_walked;
		f->pass_start = f->progress_last = now_ns();
		ret = p->fn(f);
		f->pass_name = NULL;
		if (ret && f->topology_btrees && restarts++ < TOPOLOGY_RESTARTS_MAX) {
			/*
			 * the pass met a node it could not read: the kernel's
			 * order, check_topology then every pass again
			 */
			f->op_error = false;
			pb_reset(&f->err);
			bch_fsck_alloc_exit(f);
			f->itab_stale = true;
			ret = bch_fsck_topology_repair(f);
			if (!ret && f->verbose)
				bch_fsck_info(f, "btree topology repaired, running the passes again");
			i = -1U;
			continue;
		}
		if (ret && !f->op_error)
			bch_fsck_op_error(f, ret, "%s failed", p->name);
		if (!ret)
			ret = invalid_keys_report(f);
	}
	if (f->writing && !ret && f->mode != BCH_FSCK_NO) {
		/* every pass ran and left nothing: what was lost is rebuilt */
		if (f->nr_found == f->nr_fixed)
			ret = bch_fs_lost_data_set(f->c, 0, &f->err);
		ret = ret ?: bch_fsck_record_errors(f, &f->err) ?:
			bch_fs_clean_shutdown(f->c, &f->err);
		if (ret)
			bch_fsck_op_error(f, ret, "shutting down");
	}
	return ret;
}
