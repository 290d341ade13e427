/* Journal entries (jsets) in memory: walking entries, checksums, validation with repair. */
#ifndef BCH_JOURNAL_JSET_H
#define BCH_JOURNAL_JSET_H

#include "core/fs_types.h"

/*
 * A jset read from disk is never bigger than this: the reference sizes its
 * read buffer to at most 4 MiB and gives up on the journal when an entry
 * claims more.
 */
#define JSET_BYTES_MAX		(4U << 20)

static inline size_t jset_bytes(const struct jset *j)
{
	return sizeof(*j) + 8 * (size_t)le32_to_cpu(j->u64s);
}

/* First byte past the entry area. */
static inline void *jset_entries_end(const struct jset *j)
{
	return (u64 *)j->start + le32_to_cpu(j->u64s);
}

static inline struct jset_entry *jset_entry_next(const struct jset_entry *e)
{
	return (struct jset_entry *)(e->_data + le16_to_cpu(e->u64s));
}

/* An entry is 8 bytes of header then u64s words. */
static inline size_t jset_entry_bytes(const struct jset_entry *e)
{
	return 8 + 8 * (size_t)le16_to_cpu(e->u64s);
}

/* True if the header and the payload of e both end at or before end. */
static inline bool jset_entry_fits(const struct jset_entry *e, const void *end)
{
	return (const void *)(e + 1) <= end &&
	       (const void *)jset_entry_next(e) <= end;
}

static inline struct bkey_i *jset_entry_keys_end(const struct jset_entry *e)
{
	return (struct bkey_i *)jset_entry_next(e);
}

static inline struct bkey_i *bkey_i_next(const struct bkey_i *k)
{
	return (struct bkey_i *)((u64 *)k + k->k.u64s);
}

/* The types whose payload is a run of whole keys (struct bkey_i). */
static inline bool jset_entry_has_keys(unsigned type)
{
	return type == BCH_JSET_ENTRY_btree_keys ||
	       type == BCH_JSET_ENTRY_btree_root ||
	       type == BCH_JSET_ENTRY_overwrite ||
	       type == BCH_JSET_ENTRY_write_buffer_keys;
}

/* The checksum and encryption nonce of a jset: seq in words 1-2, journal domain in 3. */
static inline struct bch_nonce jset_nonce(const struct jset *j)
{
	u64 seq = le64_to_cpu(j->seq);

	return (struct bch_nonce) {{ 0, (u32)seq, (u32)(seq >> 32), BCH_NONCE_JOURNAL }};
}

/*
 * Checksums [magic, end of entries) with the jset's own type; *computed
 * gets the value found (zero for an unknown or encryption type, which
 * never verifies).
 */
bool bch_jset_csum_good(const struct jset *, struct bch_csum *computed);

/* What the reference accepts as a journal entry's metadata version. */
static inline bool bch_jset_version_ok(u32 version)
{
	/* the on-disk field is 32 bits but versions are compared as 16 */
	u16 v = (u16)version;

	return BCH_VERSION_MAJOR(v) <= BCH_VERSION_MAJOR(bcachefs_metadata_version_current) &&
	       v >= bcachefs_metadata_version_min;
}

/*
 * State for validating the entries of one jset, or of the superblock's
 * clean section (j == NULL).  Damage is repaired in place the way the
 * reference repairs it, so that what is printed and replayed afterwards
 * is the same: bad keys are cut out, bad entries are turned into runs of
 * empty entries (zeroed 8-byte headers) so the jset keeps its size.  Each
 * repair is described in log, naming where the jset was read.
 */
struct jset_validate_ctx {
	const struct bch_fs *c;
	struct printbuf *log;
	struct jset *j;
	const struct journal_ptr *ptr;	/* where j was read from, if known */
	const u64 *area;		/* first word of the entry area */
	u32 area_u64s;
	unsigned version;
	unsigned nr_repaired;
	/* where each repair's message is recorded with its 1.13 error type (NULL: nowhere) */
	struct bch_typed_log *types;
};

void bch_jset_validate_ctx_init(struct jset_validate_ctx *, const struct bch_fs *,
				struct printbuf *log, struct jset *,
				const struct journal_ptr *);

/* One entry; 0, or a negative error when reading must stop. */
int bch_jset_entry_validate(struct jset_validate_ctx *, struct jset_entry *);

/* Header fields and every entry of ctx->j; an entry past the end truncates the jset. */
int bch_jset_validate(struct jset_validate_ctx *);

/*
 * bch_jset_entry_to_text() for an entry of a jset ending at limit: an
 * entry too short for its type is printed from the bytes that follow it,
 * as the reference prints it.
 */
void bch_jset_entry_to_text_within(struct printbuf *, const struct bch_fs *,
				   const struct jset_entry *, const void *limit);

/* Starts a message about ctx's jset (and entry e, if given) in ctx->log. */
void bch_jset_err_prefix(struct jset_validate_ctx *, const struct jset_entry *e);

#endif
