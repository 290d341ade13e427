/* One journal entry changed on disk precisely: damage for fsck tests and bug reports. */
#ifndef BCH_DEBUG_JOURNAL_EDIT_H
#define BCH_DEBUG_JOURNAL_EDIT_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/* What to change: the jset of seq, one of its entries, or one key of that entry. */
struct bch_journal_edit {
	u64 seq;		/* 0: the first of the replay range with such an entry */
	int entry;		/* index among the jset's entries, -1: the jset header */
	int entry_type;		/* counting entries of this type only (-1: every entry) */
	int btree;		/* and of this btree only (-1: any) */
	int key;		/* index among the entry's keys, -1: the entry header */
	const char *const *sets;	/* FIELD=VALUE */
	unsigned nr_sets;
	bool keep_csum;		/* leave the old checksum (a torn write) */
	int dev;		/* only the copy on this device (-1: every copy) */
};

/*
 * Applies e->sets to every copy (or e->dev's) of jset e->seq as it lies on disk (not as
 * the journal read repaired it) and writes them back, checksummed again
 * with the jset's own checksum type unless keep_csum.  FIELD is u64s or
 * type (every level), last_seq or version (the jset), btree_id or level
 * (an entry), format (a key), or WIDTH@OFF (bytes OFF bytes into the
 * chosen jset header, entry or key).  A description of what was changed
 * goes to out.  0, or a negative error with the reason in err.
 */
int bch_journal_edit(struct bch_fs *c, const struct bch_journal_edit *e,
		     struct printbuf *out, struct printbuf *err);

#endif
