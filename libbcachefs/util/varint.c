/* Encoding and bounds-checked decoding of bcachefs' variable-length integers. */
#include <errno.h>

#include "util/varint.h"

/*
 * Current varint (feature new_varint): n = ceil(significant bits / 7)
 * bytes, n = 1..8, hold (v << n) | (2^(n-1) - 1) little-endian, so the
 * first byte starts with n-1 one bits then a zero.  Values needing more
 * than 56 bits are the byte 0xff followed by v as a little-endian u64.
 */
unsigned bch_varint_bytes(u64 v)
{
	unsigned bits = 64 - __builtin_clzll(v | 1);
	unsigned n = (bits + 6) / 7;

	return n < 9 ? n : 9;
}

static void store_le(u8 *out, u64 v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, v >>= 8)
		out[i] = (u8) v;
}

static u64 load_le(const u8 *in, unsigned bytes)
{
	u64 v = 0;

	while (bytes--)
		v = v << 8 | in[bytes];
	return v;
}

unsigned bch_varint_encode(u8 *out, u64 v)
{
	unsigned n = bch_varint_bytes(v);

	if (n == 9) {
		out[0] = 0xff;
		store_le(out + 1, v, 8);
	} else {
		store_le(out, v << n | ((1ULL << (n - 1)) - 1), n);
	}
	return n;
}

int bch_varint_decode_slow(const u8 *in, const u8 *end, u64 *v)
{
	unsigned n;

	if (in >= end)
		return -EBADMSG;

	n = __builtin_ctz(~(unsigned) in[0]) + 1;
	if (n > (size_t) (end - in))
		return -EBADMSG;

	if (n == 9)
		*v = load_le(in + 1, 8);
	else
		*v = load_le(in, n) >> n;
	return n;
}

/*
 * Legacy inode field: the count k of leading zero bits of the first byte
 * (0..7) gives the field's total length; the first one bit is a marker.
 * With the marker cleared the bytes are one big-endian number.
 */
static const u8 inode_v1_field_bytes[8] = { 1, 2, 3, 4, 6, 8, 10, 13 };

int bch_inode_v1_field_decode(const u8 *in, const u8 *end, u128 *v)
{
	unsigned zeros, n;
	u128 r;

	if (in >= end || !in[0])
		return -EBADMSG;

	zeros = __builtin_clz((unsigned) in[0]) - (8 * sizeof(unsigned) - 8);
	n = inode_v1_field_bytes[zeros];
	if (n > (size_t) (end - in))
		return -EBADMSG;

	r = in[0] & (0x7f >> zeros);
	for (unsigned i = 1; i < n; i++)
		r = r << 8 | in[i];
	*v = r;
	return n;
}
