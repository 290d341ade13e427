/* Variable-length integers of inode and alloc keys: current varints, legacy inode v1 fields. */
#ifndef BCH_UTIL_VARINT_H
#define BCH_UTIL_VARINT_H

#include <string.h>

#include "bcachefs/types.h"

#define BCH_VARINT_MAX_BYTES		9
#define BCH_INODE_V1_FIELD_MAX_BYTES	13

/* Bytes bch_varint_encode() writes for v: 1..9. */
unsigned bch_varint_bytes(u64 v);

/* Writes v to out (room for BCH_VARINT_MAX_BYTES); returns the bytes written. */
unsigned bch_varint_encode(u8 *out, u64 v);

/*
 * Reads one varint from [in, end).  Returns the bytes consumed, or
 * -EBADMSG if it would run past end (nothing is read beyond end).
 */
int bch_varint_decode_slow(const u8 *in, const u8 *end, u64 *v);

/*
 * The same, inline: with 9 bytes or more before end one load decodes any
 * varint (inode unpacking is hot); nearer the end, the bounds-checked way.
 */
static inline int bch_varint_decode(const u8 *in, const u8 *end, u64 *v)
{
	unsigned n;
	u64 x;

	if (end - in < 9)
		return bch_varint_decode_slow(in, end, v);
	if (in[0] == 0xff) {
		/* the marker, then the value as 8 bytes (times in nanoseconds) */
		memcpy(&x, in + 1, 8);
		*v = le64_to_cpu(x);
		return 9;
	}
	n = __builtin_ctz(~(unsigned)in[0]) + 1;
	memcpy(&x, in, 8);
	x = le64_to_cpu(x);
	*v = (n == 8 ? x : x & ((1ULL << (8 * n)) - 1)) >> n;
	return n;
}

/*
 * Reads one field of a legacy inode (type 8 without the new_varint inode
 * flag): up to 96 bits.  Returns the bytes consumed, or -EBADMSG for a
 * zero first byte or a field running past end.
 */
int bch_inode_v1_field_decode(const u8 *in, const u8 *end, u128 *v);

#endif
