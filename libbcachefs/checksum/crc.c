/* CRC-32C (SSE4.2 or slicing-by-8 tables) and MSB-first CRC-64/ECMA-182 (slicing-by-8 tables). */
#include <pthread.h>
#include <string.h>

#include "checksum/crc.h"

#ifdef __x86_64__
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#endif

/* Castagnoli polynomial, bit-reversed because the CRC is reflected. */
#define CRC32C_POLY_REFLECTED	0x82F63B78U
/* ECMA-182 polynomial in normal (MSB-first) form. */
#define CRC64_ECMA_POLY		0x42F0E1EBA9EA3693ULL

/*
 * Slicing-by-8: table[0] advances the register by one byte; table[k] gives
 * the effect of a byte that still has k more bytes to travel through the
 * register, so eight bytes are folded in with eight independent lookups.
 */
static u32 crc32c_tab[8][256];
static u64 crc64_tab[8][256];
static bool crc32c_hw;
static pthread_once_t crc_tables_once = PTHREAD_ONCE_INIT;

static void crc32c_tables_build(void)
{
	for (unsigned i = 0; i < 256; i++) {
		u32 r = i;

		for (unsigned bit = 0; bit < 8; bit++)
			r = (r >> 1) ^ (r & 1 ? CRC32C_POLY_REFLECTED : 0);
		crc32c_tab[0][i] = r;
	}

	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++) {
			u32 prev = crc32c_tab[k - 1][i];

			crc32c_tab[k][i] = (prev >> 8) ^ crc32c_tab[0][prev & 0xff];
		}
}

static void crc64_tables_build(void)
{
	for (unsigned i = 0; i < 256; i++) {
		u64 r = (u64) i << 56;

		for (unsigned bit = 0; bit < 8; bit++)
			r = (r << 1) ^ (r >> 63 ? CRC64_ECMA_POLY : 0);
		crc64_tab[0][i] = r;
	}

	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++) {
			u64 prev = crc64_tab[k - 1][i];

			crc64_tab[k][i] = (prev << 8) ^ crc64_tab[0][prev >> 56];
		}
}

static void crc_tables_build(void)
{
	crc32c_tables_build();
	crc64_tables_build();
#ifdef CRC32C_HAVE_X86
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline void crc_tables_ready(void)
{
	pthread_once(&crc_tables_once, crc_tables_build);
}

/* Little-endian 32-bit load, independent of host byte order and alignment. */
static inline u32 load_le32(const u8 *p)
{
	return (u32) p[0] | (u32) p[1] << 8 | (u32) p[2] << 16 | (u32) p[3] << 24;
}

static inline u64 load_be64(const u8 *p)
{
	u64 v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static u32 crc32c_slice8(u32 crc, const u8 *p, size_t len)
{
	for (; len >= 8; p += 8, len -= 8) {
		u32 lo = crc ^ load_le32(p);

		crc = crc32c_tab[7][lo & 0xff] ^
		      crc32c_tab[6][(lo >> 8) & 0xff] ^
		      crc32c_tab[5][(lo >> 16) & 0xff] ^
		      crc32c_tab[4][lo >> 24] ^
		      crc32c_tab[3][p[4]] ^
		      crc32c_tab[2][p[5]] ^
		      crc32c_tab[1][p[6]] ^
		      crc32c_tab[0][p[7]];
	}

	while (len--)
		crc = (crc >> 8) ^ crc32c_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}

u32 bch_crc32c_table(u32 crc, const void *data, size_t len)
{
	crc_tables_ready();
	return crc32c_slice8(crc, data, len);
}

#ifdef CRC32C_HAVE_X86
/*
 * The crc32 instruction implements exactly this reflected Castagnoli
 * update; the 8-byte form consumes a little-endian word, which on x86 is
 * the bytes in memory order.
 */
__attribute__((target("sse4.2")))
static u32 crc32c_sse42(u32 crc, const u8 *p, size_t len)
{
	u64 r = crc;

	for (; len && ((uintptr_t) p & 7); len--)
		r = _mm_crc32_u8((u32) r, *p++);

	for (; len >= 8; p += 8, len -= 8) {
		u64 word;

		memcpy(&word, p, 8);
		r = _mm_crc32_u64(r, word);
	}

	for (; len; len--)
		r = _mm_crc32_u8((u32) r, *p++);
	return (u32) r;
}
#endif

u32 bch_crc32c(u32 crc, const void *data, size_t len)
{
	crc_tables_ready();
#ifdef CRC32C_HAVE_X86
	if (crc32c_hw)
		return crc32c_sse42(crc, data, len);
#endif
	return crc32c_slice8(crc, data, len);
}

bool bch_crc32c_hw_available(void)
{
	crc_tables_ready();
	return crc32c_hw;
}

u64 bch_crc64_be(u64 crc, const void *data, size_t len)
{
	const u8 *p = data;

	crc_tables_ready();

	for (; len >= 8; p += 8, len -= 8) {
		u64 x = crc ^ load_be64(p);

		crc = crc64_tab[7][x >> 56] ^
		      crc64_tab[6][(x >> 48) & 0xff] ^
		      crc64_tab[5][(x >> 40) & 0xff] ^
		      crc64_tab[4][(x >> 32) & 0xff] ^
		      crc64_tab[3][(x >> 24) & 0xff] ^
		      crc64_tab[2][(x >> 16) & 0xff] ^
		      crc64_tab[1][(x >> 8) & 0xff] ^
		      crc64_tab[0][x & 0xff];
	}

	while (len--)
		crc = (crc << 8) ^ crc64_tab[0][(crc >> 56) ^ *p++];
	return crc;
}
