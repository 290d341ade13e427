/* Growable text buffer with indentation and tabstops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "printbuf.h"

static bool pb_reserve(struct printbuf *out, size_t extra)
{
	size_t need = out->pos + extra + 1;	/* room for the NUL */

	if (need <= out->size)
		return true;
	if (out->oom)
		return false;

	size_t size = out->size ? out->size : 64;
	while (size < need)
		size *= 2;
	char *p = realloc(out->buf, size);
	if (!p) {
		out->oom = true;
		return false;
	}
	out->buf = p;
	out->size = size;
	return true;
}

static void pb_terminate(struct printbuf *out)
{
	if (out->size)
		out->buf[out->pos < out->size ? out->pos : out->size - 1] = 0;
}

void pb_exit(struct printbuf *out)
{
	free(out->buf);
	*out = PRINTBUF;
}

void pb_reset(struct printbuf *out)
{
	out->pos = out->last_newline = out->last_field = 0;
	out->cur_tabstop = 0;
	pb_terminate(out);
}

const char *pb_cstr(const struct printbuf *out)
{
	return out->pos ? out->buf : "";
}

static size_t line_len(const struct printbuf *out, size_t pos)
{
	return pos - out->last_newline;
}

static unsigned next_tabstop(const struct printbuf *out)
{
	return out->cur_tabstop < out->nr_tabstops
		? out->tabstops[out->cur_tabstop] : 0;
}

/* Opens a gap of nr spaces at offset at, shifting what follows. */
static void insert_spaces(struct printbuf *out, size_t at, unsigned nr)
{
	if (!pb_reserve(out, nr))
		return;
	memmove(out->buf + at + nr, out->buf + at, out->pos - at);
	memset(out->buf + at, ' ', nr);
	out->pos += nr;
	pb_terminate(out);
}

static void remove_byte(struct printbuf *out, size_t at)
{
	memmove(out->buf + at, out->buf + at + 1, out->pos - at - 1);
	out->pos--;
	pb_terminate(out);
}

/* Applies the layout rules to the bytes from offset start to the end. */
static void apply_layout(struct printbuf *out, size_t start)
{
	size_t p = start;

	while (p < out->pos) {
		char c = out->buf[p];
		int pad;

		if (c == '\n') {
			p++;
			out->last_newline = p;
			insert_spaces(out, p, out->indent);
			p += out->indent;
			out->last_field = p;
			out->cur_tabstop = 0;
		} else if (c == '\r' && next_tabstop(out)) {
			remove_byte(out, p);
			pad = (int)next_tabstop(out) - (int)line_len(out, p);
			if (pad > 0) {
				insert_spaces(out, out->last_field, pad);
				p += pad;
			}
			out->last_field = p;
			out->cur_tabstop++;
		} else if (c == '\t' && next_tabstop(out)) {
			pad = (int)next_tabstop(out) - (int)line_len(out, p) - 1;
			if (pad > 0) {
				out->buf[p] = ' ';
				insert_spaces(out, p, pad - 1);
				p += pad;
			} else {
				remove_byte(out, p);
			}
			out->last_field = p;
			out->cur_tabstop++;
		} else {
			p++;
		}
	}
}

void pb_bytes(struct printbuf *out, const void *b, size_t n)
{
	if (!pb_reserve(out, n))
		return;
	memcpy(out->buf + out->pos, b, n);
	out->pos += n;
	pb_terminate(out);
}

void pb_str(struct printbuf *out, const char *s)
{
	pb_bytes(out, s, strlen(s));
}

void pb_char(struct printbuf *out, char c)
{
	pb_bytes(out, &c, 1);
}

void pb_chars(struct printbuf *out, char c, unsigned n)
{
	if (!pb_reserve(out, n))
		return;
	memset(out->buf + out->pos, c, n);
	out->pos += n;
	pb_terminate(out);
}

void pb_vprintf(struct printbuf *out, const char *fmt, va_list args)
{
	va_list copy;

	va_copy(copy, args);
	int len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0 || !pb_reserve(out, len))
		return;

	size_t start = out->pos;
	vsnprintf(out->buf + out->pos, len + 1, fmt, args);
	out->pos += len;
	if (out->layout)
		apply_layout(out, start);
}

void pb_printf(struct printbuf *out, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pb_vprintf(out, fmt, args);
	va_end(args);
}

void pb_str_laid_out(struct printbuf *out, const char *s)
{
	size_t start = out->pos;

	pb_str(out, s);
	if (out->layout)
		apply_layout(out, start);
}

void pb_newline(struct printbuf *out)
{
	pb_char(out, '\n');
	out->last_newline = out->pos;
	pb_chars(out, ' ', out->indent);
	out->last_field = out->pos;
	out->cur_tabstop = 0;
}

void pb_indent_add(struct printbuf *out, unsigned n)
{
	out->indent += n;
	pb_chars(out, ' ', n);
	out->layout = true;
}

void pb_indent_sub(struct printbuf *out, unsigned n)
{
	if (n > out->indent)
		n = out->indent;
	/* nothing but indent on this line yet: take those spaces back */
	if (out->last_newline + out->indent == out->pos) {
		out->pos -= n;
		pb_terminate(out);
	}
	out->indent -= n;
	if (!out->indent && !out->nr_tabstops)
		out->layout = false;
}

void pb_tabstop_push(struct printbuf *out, unsigned spaces)
{
	unsigned prev = out->nr_tabstops ? out->tabstops[out->nr_tabstops - 1] : 0;

	if (out->nr_tabstops == PB_MAX_TABSTOPS)
		return;
	out->tabstops[out->nr_tabstops++] = prev + spaces;
	out->layout = true;
}

void pb_tabstop_pop(struct printbuf *out)
{
	if (out->nr_tabstops)
		out->nr_tabstops--;
}

void pb_tabstops_reset(struct printbuf *out)
{
	out->nr_tabstops = 0;
}

void pb_tab(struct printbuf *out)
{
	if (!next_tabstop(out))
		return;
	int pad = (int)next_tabstop(out) - (int)line_len(out, out->pos);
	if (pad > 0)
		pb_chars(out, ' ', pad);
	out->last_field = out->pos;
	out->cur_tabstop++;
}

void pb_tab_rjust(struct printbuf *out)
{
	if (!next_tabstop(out))
		return;
	int pad = (int)next_tabstop(out) - (int)line_len(out, out->pos);
	if (pad > 0)
		insert_spaces(out, out->last_field, pad);
	out->last_field = out->pos;
	out->cur_tabstop++;
}

void pb_strip_trailing_newline(struct printbuf *out)
{
	for (size_t p = out->pos; p-- > 0;) {
		if (out->buf[p] == '\n') {
			out->pos = p;
			break;
		}
		if (out->buf[p] != ' ')
			break;
	}
	pb_terminate(out);
}

void pb_u64(struct printbuf *out, u64 v)
{
	pb_printf(out, "%llu", (unsigned long long)v);
}

void pb_hex_bytes(struct printbuf *out, const void *p, size_t n, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	const u8 *b = p;

	if (!pb_reserve(out, 2 * n))
		return;
	for (size_t i = 0; i < n; i++) {
		out->buf[out->pos++] = digits[b[i] >> 4];
		out->buf[out->pos++] = digits[b[i] & 15];
	}
	pb_terminate(out);
}

void pb_uuid(struct printbuf *out, const u8 u[16])
{
	pb_printf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		  "%02x%02x%02x%02x%02x%02x",
		  u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		  u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/*
 * Sizes for people: three significant figures in binary units, rounded half
 * up ("4.00 KiB", "64.0 KiB", "128 KiB"), the way the kernel's tools print.
 */
void pb_human_u64(struct printbuf *out, u64 v)
{
	static const char *const unit[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB",
	};
	unsigned i = 0, frac = 0, digits = 0;

	if (!v) {
		pb_str(out, "0 B");
		return;
	}
	while (v >> 32) {
		v /= 1024;
		i++;
	}
	while (v >= 1024) {
		frac = v % 1024;
		v /= 1024;
		i++;
	}
	/* how many fractional digits make three significant figures */
	for (u64 t = v; t * 10 < 1000; t *= 10)
		digits++;
	frac = frac * 1000 >> 10;
	frac += digits == 0 ? 500 : digits == 1 ? 50 : 5;
	if (frac >= 1000) {
		frac -= 1000;
		v++;
	}
	if (digits) {
		char f[8];
		snprintf(f, sizeof(f), "%03u", frac);
		f[digits] = 0;
		pb_printf(out, "%u.%s %s", (unsigned)v, f, unit[i]);
	} else {
		pb_printf(out, "%u %s", (unsigned)v, unit[i]);
	}
}

void pb_human_s64(struct printbuf *out, s64 v)
{
	if (v < 0)
		pb_char(out, '-');
	pb_human_u64(out, v < 0 ? -(u64)v : (u64)v);
}

void pb_units_u64(struct printbuf *out, u64 v)
{
	if (out->human_units)
		pb_human_u64(out, v);
	else
		pb_u64(out, v);
}

void pb_units_s64(struct printbuf *out, s64 v)
{
	if (v < 0)
		pb_char(out, '-');
	pb_units_u64(out, v < 0 ? -(u64)v : (u64)v);
}

void pb_units_sectors(struct printbuf *out, u64 sectors)
{
	pb_units_u64(out, sectors << 9);
}

void pb_choice(struct printbuf *out, const char * const names[], size_t selected)
{
	for (size_t i = 0; names[i]; i++)
		pb_printf(out, i == selected ? "[%s] " : "%s ", names[i]);
}

void pb_bitflags(struct printbuf *out, const char * const names[], u64 flags)
{
	unsigned nr = 0;
	bool first = true;

	while (names[nr])
		nr++;
	while (flags) {
		unsigned bit = __builtin_ctzll(flags);
		if (bit >= nr)
			break;
		if (!first)
			pb_char(out, ',');
		first = false;
		pb_str(out, names[bit]);
		flags &= flags - 1;
	}
}

void pb_name_or_number(struct printbuf *out, const char * const names[],
		       size_t nr_names, u64 v)
{
	if (v < nr_names && names[v])
		pb_str(out, names[v]);
	else
		pb_printf(out, "(unknown %llu)", (unsigned long long)v);
}
