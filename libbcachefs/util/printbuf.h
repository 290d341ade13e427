/* Growable text buffer with indentation and tabstops; all *_to_text() output goes here. */
#ifndef BCH_UTIL_PRINTBUF_H
#define BCH_UTIL_PRINTBUF_H

#include <stdarg.h>
#include "bcachefs/types.h"

#define PB_MAX_TABSTOPS 8

/*
 * Text layout rules (they decide byte-for-byte output, so they are fixed):
 *  - pb_printf() output is scanned for '\n', '\t' and '\r' once an indent or
 *    a tabstop is active: '\n' is followed by the indent, '\t' pads to the
 *    next tabstop, '\r' right-justifies the current field to it.
 *  - pb_str()/pb_bytes()/pb_char() copy bytes verbatim.
 *  - pb_newline() starts a line at the current indent.
 */
struct printbuf {
	char *buf;
	size_t size;
	size_t pos;
	size_t last_newline;	/* offset of the first byte of the line */
	size_t last_field;	/* offset where the current field began */
	unsigned indent;
	unsigned nr_tabstops;
	unsigned cur_tabstop;
	unsigned tabstops[PB_MAX_TABSTOPS];
	bool layout;		/* indent or tabstops active */
	bool human_units;	/* pb_units() prints 1.00 KiB instead of 1024 */
	bool oom;
};

#define PRINTBUF ((struct printbuf) { 0 })

void pb_exit(struct printbuf *);
void pb_reset(struct printbuf *);
const char *pb_cstr(const struct printbuf *);

void pb_bytes(struct printbuf *, const void *, size_t);
void pb_str(struct printbuf *, const char *);
void pb_char(struct printbuf *, char);
void pb_chars(struct printbuf *, char, unsigned);
void pb_printf(struct printbuf *, const char *, ...)
	__attribute__((format(printf, 2, 3)));
void pb_vprintf(struct printbuf *, const char *, va_list);
void pb_str_laid_out(struct printbuf *, const char *);

void pb_newline(struct printbuf *);
void pb_indent_add(struct printbuf *, unsigned);
void pb_indent_sub(struct printbuf *, unsigned);
void pb_tabstop_push(struct printbuf *, unsigned spaces);
void pb_tabstop_pop(struct printbuf *);
void pb_tabstops_reset(struct printbuf *);
void pb_tab(struct printbuf *);
void pb_tab_rjust(struct printbuf *);
void pb_strip_trailing_newline(struct printbuf *);

void pb_u64(struct printbuf *, u64);
void pb_hex_bytes(struct printbuf *, const void *, size_t, bool upper);
void pb_uuid(struct printbuf *, const u8 uuid[16]);
void pb_human_u64(struct printbuf *, u64 bytes);
void pb_human_s64(struct printbuf *, s64 bytes);
void pb_units_u64(struct printbuf *, u64 bytes);
void pb_units_s64(struct printbuf *, s64 bytes);
void pb_units_sectors(struct printbuf *, u64 sectors);
void pb_choice(struct printbuf *, const char * const names[], size_t selected);
void pb_bitflags(struct printbuf *, const char * const names[], u64 flags);
void pb_name_or_number(struct printbuf *, const char * const names[],
		       size_t nr_names, u64 v);

#endif
