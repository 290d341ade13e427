/* Fixed-width and little-endian integer types used by the on-disk format. */
#ifndef BCACHEFS_TYPES_H
#define BCACHEFS_TYPES_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The same types as the kernel's UAPI headers, so both can be included. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned __int128 u128;

/*
 * On-disk integers are little-endian.  The typedefs document that; the
 * conversion helpers below do the byte swapping on big-endian hosts.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "keys and nodes are used in place: only little-endian hosts are supported"
#endif

typedef unsigned short __le16;
typedef unsigned int __le32;
typedef unsigned long long __le64;

static inline u16 le16_to_cpu(__le16 v) { return le16toh(v); }
static inline u32 le32_to_cpu(__le32 v) { return le32toh(v); }
static inline u64 le64_to_cpu(__le64 v) { return le64toh(v); }
static inline __le16 cpu_to_le16(u16 v) { return htole16(v); }
static inline __le32 cpu_to_le32(u32 v) { return htole32(v); }
static inline __le64 cpu_to_le64(u64 v) { return htole64(v); }

#define __packed	__attribute__((packed))
#define __aligned(n)	__attribute__((aligned(n)))

#define BCH_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

/* The 16-byte identifiers (uuids, magics) are stored as raw bytes. */
struct bch_uuid {
	u8 b[16];
};

#endif

/*
 * Accessors for a bit range of a little-endian on-disk word:
 * BCH_LE64_BITS(name, struct type, member, first bit, width) defines
 * name(p) and set_name(p, v).
 */
#define BCH_LEx_BITS(bits, name, type, member, shift, width)			\
static inline u64 name(const type *p)						\
{										\
	return ((u64)le##bits##_to_cpu(p->member) >> (shift)) &			\
		(~0ULL >> (64 - (width)));					\
}										\
static inline void set_##name(type *p, u64 v)					\
{										\
	u64 mask = (~0ULL >> (64 - (width))) << (shift);			\
	u64 old = le##bits##_to_cpu(p->member);					\
	p->member = cpu_to_le##bits((old & ~mask) | ((v << (shift)) & mask));	\
}
#define BCH_LE64_BITS(...)	BCH_LEx_BITS(64, __VA_ARGS__)
#define BCH_LE32_BITS(...)	BCH_LEx_BITS(32, __VA_ARGS__)
#define BCH_LE16_BITS(...)	BCH_LEx_BITS(16, __VA_ARGS__)
