/* fsck problems: the one place that decides whether a problem is fixed, reports it and counts it; the superblock errors section; the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsck/fsck.h"
#include "fsck/passes.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"

static const struct {
	const char *name;
	unsigned flags;
} problems[BCH_FSCK_ERR_NR] = {
#define x(id, n, f) [id] = { #n, f },
	BCH_SB_ERRS()
#undef x
};

void bch_fsck_init(struct bch_fsck *f, struct bch_fs *c, enum bch_fsck_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->mode = mode;
	f->progress_interval = 10;
}

void bch_fsck_exit(struct bch_fsck *f)
{
	bch_fsck_invalid_exit(f);
	bch_fsck_topology_exit(f);
	bch_fsck_alloc_exit(f);
	bch_fsck_ns_exit(f);
	pb_exit(&f->err);
}

const char *bch_fsck_err_name(enum bch_fsck_err id)
{
	return id < BCH_FSCK_ERR_NR && problems[id].name ? problems[id].name : "(unknown error)";
}

bool bch_fsck_err_autofix(enum bch_fsck_err id)
{
	return id < BCH_FSCK_ERR_NR && (problems[id].flags & BCH_FSCK_AUTOFIX);
}

void bch_fsck_err_to_text(struct printbuf *out, enum bch_fsck_err id)
{
	for (const char *p = bch_fsck_err_name(id); *p; p++)
		pb_char(out, *p == '_' ? ' ' : *p);
}

static void emit(struct bch_fsck *f, const char *line)
{
	if (f->msg)
		f->msg(f->ctx, line);
}

static bool decide(struct bch_fsck *f, enum bch_fsck_err id, const char *question)
{
	switch (f->mode) {
	case BCH_FSCK_NO:
		return false;
	case BCH_FSCK_YES:
		return true;
	case BCH_FSCK_PREEN:
		return bch_fsck_err_autofix(id);
	case BCH_FSCK_ASK:
		break;
	}
	if (f->all_yes || f->all_no || !f->ask)
		return f->all_yes;
	switch (f->ask(f->ctx, question)) {
	case BCH_FSCK_ANSWER_ALL_YES:
		f->all_yes = true;
		return true;
	case BCH_FSCK_ANSWER_ALL_NO:
		f->all_no = true;
		return false;
	case BCH_FSCK_ANSWER_YES:
		return true;
	case BCH_FSCK_ANSWER_NO:
		break;
	}
	return false;
}

bool bch_fsck_vproblem(struct bch_fsck *f, enum bch_fsck_err id, const char *fmt, va_list args)
{
	struct printbuf m = PRINTBUF;
	bool fix;

	if (id >= BCH_FSCK_ERR_NR)
		id = BCH_FSCK_ERR_NR - 1;
	pb_vprintf(&m, fmt, args);
	pb_printf(&m, " [%s]", bch_fsck_err_name(id));
	f->found[id]++;
	f->nr_found++;
	fix = decide(f, id, pb_cstr(&m));
	pb_str(&m, fix ? ": fixing" : f->mode == BCH_FSCK_NO ? "" : ": not fixed");
	emit(f, pb_cstr(&m));
	if (fix) {
		f->fixed[id]++;
		f->nr_fixed++;
	}
	pb_exit(&m);
	/*
	 * -n repairs too, in memory only (the filesystem is memory-only, see
	 * bch_fsck_start_write()): the passes after see what -y would leave,
	 * so -n reports the problems -y would fix, not their consequences.
	 */
	return fix || f->mode == BCH_FSCK_NO;
}

bool bch_fsck_problem(struct bch_fsck *f, enum bch_fsck_err id, const char *fmt, ...)
{
	va_list args;
	bool fix;

	va_start(args, fmt);
	fix = bch_fsck_vproblem(f, id, fmt, args);
	va_end(args);
	return fix;
}

void bch_fsck_fix_failed(struct bch_fsck *f, enum bch_fsck_err id)
{
	if (id < BCH_FSCK_ERR_NR && f->fixed[id]) {
		f->fixed[id]--;
		f->nr_fixed--;
	}
}

void bch_fsck_info(struct bch_fsck *f, const char *fmt, ...)
{
	struct printbuf m = PRINTBUF;
	va_list args;

	va_start(args, fmt);
	pb_vprintf(&m, fmt, args);
	va_end(args);
	emit(f, pb_cstr(&m));
	pb_exit(&m);
}

int bch_fsck_op_error(struct bch_fsck *f, int ret, const char *fmt, ...)
{
	va_list args;

	f->op_error = true;
	if (f->err.pos)
		pb_str(&f->err, "; ");
	va_start(args, fmt);
	pb_vprintf(&f->err, fmt, args);
	va_end(args);
	return ret ? ret : -BCH_ERR_fs_inconsistent;
}

/* The errors section as the kernel keeps it: sorted by id, a count and the time of the last. */
static int record_dev(struct bch_sb_buf *sb, const struct bch_fsck *f, u64 now,
		      struct printbuf *err)
{
	const struct bch_sb_field_errors *old = bch_sb_field_get_t(sb->sb, errors);
	size_t old_nr = old ? (le32_to_cpu(old->field.u64s) * 8 - sizeof(*old)) /
				sizeof(old->entries[0]) : 0;
	struct bch_sb_field_error_entry *e = calloc(old_nr + BCH_FSCK_ERR_NR, sizeof(*e));
	size_t nr = 0, o = 0;
	int ret = 0;

	if (!e)
		return -BCH_ERR_nomem;
	for (unsigned id = 0; id < BCH_FSCK_ERR_NR; id++) {
		const struct bch_sb_field_error_entry *prev = NULL;

		while (o < old_nr && sb_error_entry_id(&old->entries[o]) < id)
			e[nr++] = old->entries[o++];
		if (o < old_nr && sb_error_entry_id(&old->entries[o]) == id)
			prev = &old->entries[o++];
		if (!f->found[id]) {
			if (prev)
				e[nr++] = *prev;
			continue;
		}
		set_sb_error_entry_id(&e[nr], id);
		set_sb_error_entry_nr(&e[nr], f->found[id] + (prev ? sb_error_entry_nr(prev) : 0));
		e[nr++].last_error_time = cpu_to_le64(now);
	}
	while (o < old_nr)
		e[nr++] = old->entries[o++];

	unsigned u64s = (sizeof(struct bch_sb_field_errors) + nr * sizeof(e[0]) + 7) / 8;
	struct bch_sb_field_errors *n = bch_sb_field_resize_t(sb, errors, u64s, err);

	if (!n)
		ret = -BCH_ERR_nomem;
	else
		memcpy(n->entries, e, nr * sizeof(e[0]));
	free(e);
	return ret;
}

int bch_fsck_record_errors(struct bch_fsck *f, struct printbuf *err)
{
	struct bch_fs *c = f->c;
	u64 now = time(NULL);
	int ret = 0;

	if (f->mode == BCH_FSCK_NO || !f->nr_found)
		return 0;
	bch_fs_sb_edit_begin(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = record_dev(&c->devs[i]->sb, f, now, err);
	bch_fs_sb_refresh(c);
	c->sb_dirty = true;
	return ret;
}

int bch_fsck_exit_status(const struct bch_fsck *f)
{
	if (f->op_error)
		return BCH_FSCK_EXIT_ERROR;
	if (f->nr_found > f->nr_fixed)
		return BCH_FSCK_EXIT_UNFIXED;
	return f->nr_fixed ? BCH_FSCK_EXIT_FIXED : BCH_FSCK_EXIT_OK;
}
