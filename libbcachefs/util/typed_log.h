/* Lines of a log that name damage of a known fsck error type, for fsck to report as problems. */
#ifndef BCH_UTIL_TYPED_LOG_H
#define BCH_UTIL_TYPED_LOG_H

#include "util/printbuf.h"

/* Bytes [start, end) of the log describe one problem of error type id. */
struct bch_typed_line {
	unsigned id;
	size_t start, end;
};

struct bch_typed_log {
	struct bch_typed_line *lines;
	size_t nr, size;
};

/*
 * Records that log, from start to its current end, describes a problem of
 * type id (its message was just written there).  Out of memory the line
 * stays in the log, untyped.
 */
void bch_typed_log_add(struct bch_typed_log *, const struct printbuf *log, size_t start,
		       unsigned id);

/* Appends log to out without the typed lines (those still inside it). */
void bch_typed_log_rest(struct printbuf *out, const struct printbuf *log,
			const struct bch_typed_log *);

void bch_typed_log_exit(struct bch_typed_log *);

#endif
