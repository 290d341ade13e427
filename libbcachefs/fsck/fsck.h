/* fsck: the problem table's decisions (report, fix, fix what is safe, ask), counters, and the passes in the kernel's order. */
#ifndef BCH_FSCK_FSCK_H
#define BCH_FSCK_FSCK_H

#include <stdarg.h>

#include "bcachefs/errors_format.h"
#include "core/fs_types.h"
#include "fs/snapshot_table.h"
#include "util/printbuf.h"

/*
 * Problems are the 1.13 error types (include/bcachefs/errors_format.h,
 * BCH_SB_ERRS: stable id, name, BCH_FSCK_AUTOFIX when safe to repair
 * without asking).  Passes detect; bch_fsck_problem() alone decides,
 * reports and counts, so -n, -y, -p and the interactive mode behave
 * the same in every pass.
 */
enum bch_fsck_err {
#define x(id, name, flags) BCH_FSCK_ERR_##name = id,
	BCH_SB_ERRS()
#undef x
	BCH_FSCK_ERR_NR
};

enum bch_fsck_mode {
	BCH_FSCK_NO,		/* -n: report only, write nothing */
	BCH_FSCK_YES,		/* -y: fix everything */
	BCH_FSCK_PREEN,		/* -p: fix what is safe (AUTOFIX), report the rest */
	BCH_FSCK_ASK,		/* ask the caller (a terminal) for each problem */
};

/* Answers of the ask callback */
enum bch_fsck_answer {
	BCH_FSCK_ANSWER_NO,
	BCH_FSCK_ANSWER_YES,
	BCH_FSCK_ANSWER_ALL_NO,		/* no, and for every later problem */
	BCH_FSCK_ANSWER_ALL_YES,	/* yes, and for every later problem */
};

struct bch_fsck_alloc;
struct bch_node_scan;
struct ns_itab;

struct bch_fsck {
	struct bch_fs *c;
	enum bch_fsck_mode mode;
	bool verbose;			/* passes describe every key they examine in a problem */

	/* where messages go (one line each, no newline); the caller prints them */
	void (*msg)(void *ctx, const char *line);
	/* ASK mode: the question is the problem's message */
	enum bch_fsck_answer (*ask)(void *ctx, const char *question);
	void *ctx;

	/* per error type: seen, and fixed (the pass said the repair was made) */
	u32 found[BCH_FSCK_ERR_NR];
	u32 fixed[BCH_FSCK_ERR_NR];
	u64 nr_found, nr_fixed;
	bool all_yes, all_no;		/* ASK: the user answered for all */
	bool op_error;			/* a pass could not run (exit status 8) */
	bool writing;			/* bch_fsck_start_write() done */
	bool was_clean;			/* the superblock said clean when the run began */
	bool replicas_checked;		/* the accounting's replicas entries were looked up in the superblock */
	struct printbuf err;		/* why, when op_error */
	struct bch_fsck_alloc *alloc;	/* alloc_checks.c: differences shared by its passes */
	struct ns_itab *itab;		/* ns_common.c: the inode table shared by the namespace passes */
	bool itab_stale;		/* a namespace repair was committed since it was read */
	/* the snapshots btree (ns_snaps_get), read again after a repair wrote to it */
	struct bch_snapshot_table snaps;
	bool snaps_loaded;
	/*
	 * keys node reads dropped as invalid: reported and repaired after each
	 * pass (passes.c); the first nr_invalid_done are sorted and unique
	 */
	struct bch_fsck_invalid *invalid;
	size_t nr_invalid, invalid_size, nr_invalid_done;
	/*
	 * nodes that could not be read (fsck/topology.c), and the btrees
	 * holding one that were not checked since
	 */
	struct bch_fsck_bad_node *bad_nodes;
	size_t nr_bad_nodes, bad_nodes_size;
	u64 topology_btrees;
	u64 topology_tiles;	/* of those, the ones whose nodes do not tile their parents */
	struct bch_node_scan *scan;	/* nodes found on the devices, once a repair needed them */
	/*
	 * btrees that lost keys to unreadable nodes (this run's, and the
	 * superblock's btrees_lost_data from an earlier one): what their keys
	 * named is rebuilt instead of the keys naming it being deleted
	 */
	u64 lost_data;
	/* progress: a line every progress_interval seconds of a pass (0: every few thousand keys) */
	unsigned progress_interval;
	const char *pass_name;
	u64 pass_keys;			/* c->keys_walked when the pass started */
	u64 pass_start, progress_last;	/* monotonic nanoseconds */
};

void bch_fsck_init(struct bch_fsck *, struct bch_fs *, enum bch_fsck_mode);
void bch_fsck_exit(struct bch_fsck *);

/* "alloc key data type wrong": the name of an error type as words. */
void bch_fsck_err_to_text(struct printbuf *, enum bch_fsck_err);
const char *bch_fsck_err_name(enum bch_fsck_err);
bool bch_fsck_err_autofix(enum bch_fsck_err);

/*
 * A problem of type `id` found: the message (fmt, which should name the
 * key or object) goes out with the type's name, is counted, and the
 * decision comes back: true when the caller must repair it now (-y;
 * -p and the type is safe; ASK and the answer was yes; -n, where the
 * filesystem is memory-only and the repair is not counted as a fix),
 * false to leave it.  A caller that then fails to repair calls
 * bch_fsck_fix_failed().
 */
bool bch_fsck_problem(struct bch_fsck *, enum bch_fsck_err id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool bch_fsck_vproblem(struct bch_fsck *, enum bch_fsck_err id, const char *fmt, va_list);
void bch_fsck_fix_failed(struct bch_fsck *, enum bch_fsck_err id);

/*
 * Btree id lost keys: remembered for the passes, and (when writing) in the
 * superblocks until a run ends with everything repaired.
 */
int bch_fsck_lost_data(struct bch_fsck *, enum btree_id id);

/* An informational line (progress, what a pass did). */
void bch_fsck_info(struct bch_fsck *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the run as failed for an operational reason (exit status 8). */
int bch_fsck_op_error(struct bch_fsck *, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Adds every error type found to the superblocks' errors section (count
 * and time of the last, as the kernel records them); the caller writes
 * the superblocks.  Not in -n mode.
 */
int bch_fsck_record_errors(struct bch_fsck *, struct printbuf *err);

/*
 * Before a pass commits its first repair: starts writing (the superblock
 * marked dirty, the journal and allocator started), once.  Passes never
 * call it in -n mode, as nothing is fixed then.
 */
int bch_fsck_start_write(struct bch_fsck *);

/*
 * The passes of metadata version 1.13 in the kernel's order, with their
 * stable ids (recovery_passes_types.h); those with no function here yet
 * are listed as not run.  bch_fsck_run() runs every implemented pass,
 * with an info line per pass when verbose; a pass returning an error
 * stops the run (op_error).  Then, when anything was written: the error
 * types found go to the superblocks and the filesystem is shut down
 * cleanly.
 */
struct bch_fsck_pass {
	const char *name;
	unsigned stable_id;
	int (*fn)(struct bch_fsck *);
};
extern const struct bch_fsck_pass bch_fsck_passes[];
extern const unsigned bch_fsck_nr_passes;

int bch_fsck_run(struct bch_fsck *);

/* fsck(8) exit status: 0 clean, 1 errors fixed, 4 errors left, 8 operational error (16: usage). */
#define BCH_FSCK_EXIT_OK	0
#define BCH_FSCK_EXIT_FIXED	1
#define BCH_FSCK_EXIT_UNFIXED	4
#define BCH_FSCK_EXIT_ERROR	8
#define BCH_FSCK_EXIT_USAGE	16
int bch_fsck_exit_status(const struct bch_fsck *);

#endif
