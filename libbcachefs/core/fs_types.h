/* The filesystem handle: every piece of state of an open filesystem hangs off struct bch_fs. */
#ifndef BCH_CORE_FS_TYPES_H
#define BCH_CORE_FS_TYPES_H

#include "bcachefs/format.h"
#include "sb/sb_types.h"
#include "bkey/bkey.h"
#include "journal/journal_types.h"
#include "util/printbuf.h"
#include "util/typed_log.h"

/* An open member device. */
struct bch_dev {
	unsigned idx;
	char *path;
	int fd;
	u64 size;		/* bytes */
	unsigned logical_block_size; /* bytes */
	struct bch_sb_buf sb;	/* this device's superblock */
	struct bch_member_cpu mi;
	/* bucket generations, indexed by bucket (NULL until read at open) */
	u8 *bucket_gens;
	u64 nr_bucket_gens;
	/* journal buckets of this device, in ring order (from journal_v2/journal) */
	u64 *journal_buckets;
	unsigned nr_journal_buckets;
	/* writes left before a simulated crash (the filesystem's counter), or NULL */
	u64 *writes_left;
};

/* A btree root as the journal or the clean section gives it. */
struct btree_root {
	bool alive;		/* an entry was found */
	bool error;		/* the entry was empty: root unreadable */
	u8 level;
	union {
		struct bkey_i key;
		u8 _buf[sizeof(struct bkey) + 8 * 40];
	};
};

struct bch_open_opts {
	bool read_only;		/* never write (list, show-super, fsck -n) */
	bool no_journal;	/* do not read the journal even if unclean */
	bool read_journal;	/* read the journal even when clean (list_journal) */
	bool degraded;		/* allow missing devices */
	bool new_fs;		/* format: nothing to recover, every btree empty */
	bool verbose;
	u64 sb_sector;		/* read the superblock here instead of 8 (0: default) */
	u64 btree_cache_bytes;	/* node cache budget (0: the default) */
	bool read_ahead;	/* a second thread reads the nodes a walk wants next (btree/prefetch.h; cleared when it stops) */
	/*
	 * Testing: simulate a crash by failing every device write after this
	 * many have been made (0: no limit).  Crash-safety tests use it.
	 */
	u64 fail_after_writes;
};

struct btree_cache;
struct btree_prefetch;
struct bch_overlay;
struct bch_allocator;

struct bch_fs {
	struct bch_open_opts opts;
	struct bch_sb_buf disk_sb;	/* the newest superblock among the devices */
	struct bch_sb_cpu sb;
	struct bch_dev *devs[BCH_SB_MEMBERS_MAX];
	unsigned nr_devs;		/* devices opened */
	struct bch_journal journal;
	struct btree_root roots[BTREE_ID_NR_MAX];
	u64 roots_gen;			/* changed whenever a root changes (iterators' paths, btree/iter.c) */
	struct btree_cache *btree_cache;	/* created on first use */
	struct btree_prefetch *btree_prefetch;	/* created on first use */
	/* called before the superblock in memory changes (the read-ahead thread stops) */
	void (*sb_edit)(struct bch_fs *);
	/* updates not yet in nodes (btree/overlay.h): journal keys at recovery, then commits */
	struct bch_overlay *overlay;
	struct bch_allocator *allocator;	/* when writing (alloc/allocator.h) */
	/* messages (warnings, what recovery did) for the caller to show */
	struct printbuf log;
	/* damage found and worked around while reading (reported in log) */
	unsigned nr_errors;
	/* the lines of log that name damage of a 1.13 error type (fsck reports them) */
	struct bch_typed_log log_types;
	u64 writes_left;		/* opts.fail_after_writes, counting down */
	/* the in-memory superblocks changed in a way a crash must not lose */
	bool sb_dirty;
	/* in bch_btree_flush_all(): its own commits must not start another */
	bool flushing;
	/*
	 * bch_fs_start_memory_only(): commits change the overlay and the
	 * in-memory superblock only; nothing reaches a device (fsck -n)
	 */
	bool memory_only;
	u64 memory_seq;		/* the seq those commits are given */
	/*
	 * Called for each key a node read drops as invalid (after the message
	 * in log): its btree and level, a position inside the node's range
	 * (the key's own, unless the key lies outside that range), the key,
	 * the fsck error type of the failed check and the message.  fsck
	 * reports them and repairs them by an update at that position.
	 */
	void (*invalid_key)(void *ctx, enum btree_id, unsigned level, struct bpos at,
			    struct bkey_s_c, unsigned err_id, const char *msg);
	void *invalid_key_ctx;
	/*
	 * A node whose every copy fails its checksum is read anyway, its keys
	 * validated one by one (the kernel's fsck does so): invalid_key is
	 * called with its first key and bset_bad_csum, and a flush rewrites
	 * it.  Set by fsck; the scan for nodes reads strictly.
	 */
	bool node_csum_tolerant;
	/* the oldest bset version fsck's reads found below the superblock's version_min (0: none) */
	u16 bset_version_low;
	/*
	 * Called when a node cannot be read (after every replica failed): its
	 * btree, level, the pointer followed, why (a bch_sb_error_id, 0 for
	 * an I/O error or a bad pointer) and the message.  fsck repairs the
	 * btree's topology.
	 */
	void (*node_unreadable)(void *ctx, enum btree_id, unsigned level, const struct bkey_i *ptr,
				unsigned err_id, const char *msg);
	void *node_unreadable_ctx;
	/*
	 * Progress of long walks: keys_walked counts the keys iterators step
	 * over, and every BCH_PROGRESS_KEYS of them progress() is called with
	 * the count (fsck prints a line now and then).
	 */
	void (*progress)(void *ctx, u64 keys_walked);
	void *progress_ctx;
	u64 keys_walked;
};

#define BCH_PROGRESS_KEYS	4096

static inline struct bch_dev *bch_dev_get(const struct bch_fs *c, unsigned idx)
{
	return idx < BCH_SB_MEMBERS_MAX ? c->devs[idx] : NULL;
}

/*
 * Root `id`, about to change: every change of a root goes through here,
 * so that roots_gen counts them (iterators keep their path only while it
 * stands).
 */
static inline struct btree_root *bch_fs_root_change(struct bch_fs *c, unsigned id)
{
	c->roots_gen++;
	return &c->roots[id];
}

/* gen a is newer than gen b (8-bit generations wrap around) */
static inline int bch_gen_after(u8 a, u8 b)
{
	int r = (s8)(a - b);

	return r > 0 ? r : 0;
}

#endif
