/* SipHash-2-4 (Aumasson and Bernstein, 2012) with bcachefs' streaming behaviour. */
#include <string.h>

#include "checksum/siphash.h"

#define SIP_COMPRESS_ROUNDS	2
#define SIP_FINAL_ROUNDS	4

static inline u64 rotl64(u64 x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static inline u64 load_le64(const u8 *p)
{
	u64 v = 0;

	for (unsigned i = 8; i--;)
		v = v << 8 | p[i];
	return v;
}

/* SipRound, in the paper's order. */
static void sip_round(u64 v[4])
{
	v[0] += v[1]; v[1] = rotl64(v[1], 13); v[1] ^= v[0]; v[0] = rotl64(v[0], 32);
	v[2] += v[3]; v[3] = rotl64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl64(v[1], 17); v[1] ^= v[2]; v[2] = rotl64(v[2], 32);
}

static void sip_compress(u64 v[4], u64 m)
{
	v[3] ^= m;
	for (unsigned i = 0; i < SIP_COMPRESS_ROUNDS; i++)
		sip_round(v);
	v[0] ^= m;
}

void bch_siphash_init(struct bch_siphash *s, const u8 key[BCH_SIPHASH_KEY_BYTES])
{
	u64 k0 = load_le64(key), k1 = load_le64(key + 8);

	/* "somepseudorandomlygeneratedbytes" */
	s->v[0] = k0 ^ 0x736f6d6570736575ULL;
	s->v[1] = k1 ^ 0x646f72616e646f6dULL;
	s->v[2] = k0 ^ 0x6c7967656e657261ULL;
	s->v[3] = k1 ^ 0x7465646279746573ULL;
	memset(s->tail, 0, sizeof(s->tail));
	s->len = 0;
}

/*
 * Keeps the bytes of an update that do not fill a word.  bcachefs' update
 * stores them starting at the fill level the update began with, not at
 * tail[0]: while the tail is still partly occupied the next bytes belong
 * there, but once the tail has been flushed as a full word this leaves
 * tail[0..at) holding bytes of that flushed word and shifts the new ones
 * up.  The finaliser then takes tail[0..len % 8) as the last message bytes.
 *
 * Where at + n passes the 8-byte buffer, the reference writes on into the
 * 32-bit length counter that follows it in memory (little-endian) and then
 * into padding.  No bcachefs caller gets there (dirents hash in one update,
 * xattrs as 1 byte then the name); the effect is modelled anyway so that
 * every update sequence hashes the same as the reference.
 */
static void sip_keep_tail(struct bch_siphash *s, unsigned at, const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++, at++) {
		if (at < 8) {
			s->tail[at] = p[i];
		} else if (at < 12) {
			unsigned shift = 8 * (at - 8);

			s->len = (s->len & ~(0xffU << shift)) | (u32) p[i] << shift;
		}
	}
}

void bch_siphash_update(struct bch_siphash *s, const void *data, size_t len)
{
	const u8 *p = data;
	unsigned start = s->len & 7;

	s->len += (u32) len;

	if (start) {
		size_t room = 8 - start;

		if (len < room) {
			memcpy(s->tail + start, p, len);
			return;
		}
		memcpy(s->tail + start, p, room);
		sip_compress(s->v, load_le64(s->tail));
		p += room;
		len -= room;
	}

	for (; len >= 8; p += 8, len -= 8)
		sip_compress(s->v, load_le64(p));

	sip_keep_tail(s, start, p, len);
}

/*
 * The last word is the pending tail bytes, zero padded, with the message
 * length mod 256 in its top byte.
 */
u64 bch_siphash_final(struct bch_siphash *s)
{
	unsigned fill = s->len & 7;

	memset(s->tail + fill, 0, 7 - fill);
	s->tail[7] = (u8) s->len;
	sip_compress(s->v, load_le64(s->tail));

	s->v[2] ^= 0xff;
	for (unsigned i = 0; i < SIP_FINAL_ROUNDS; i++)
		sip_round(s->v);

	return s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

u64 bch_siphash(const u8 key[BCH_SIPHASH_KEY_BYTES], const void *data, size_t len)
{
	struct bch_siphash s;

	bch_siphash_init(&s, key);
	bch_siphash_update(&s, data, len);
	return bch_siphash_final(&s);
}
