/* Typed lines of a log: which messages are problems of a known type. */
#include "util/grow.h"
#include "util/typed_log.h"

void bch_typed_log_add(struct bch_typed_log *t, const struct printbuf *log, size_t start,
		       unsigned id)
{
	if (start >= log->pos || bch_grow(&t->lines, &t->size, t->nr, 8))
		return;
	t->lines[t->nr++] = (struct bch_typed_line) { .id = id, .start = start, .end = log->pos };
}

void bch_typed_log_rest(struct printbuf *out, const struct printbuf *log,
			const struct bch_typed_log *t)
{
	size_t pos = 0;

	/* lines are added in the order they were written: increasing, not overlapping */
	for (size_t i = 0; i < t->nr; i++) {
		const struct bch_typed_line *l = &t->lines[i];

		if (l->end > log->pos || l->start < pos)
			continue;
		pb_bytes(out, log->buf + pos, l->start - pos);
		pos = l->end;
	}
	if (pos < log->pos)
		pb_bytes(out, log->buf + pos, log->pos - pos);
}

void bch_typed_log_exit(struct bch_typed_log *t)
{
	free(t->lines);
	*t = (struct bch_typed_log) { 0 };
}
