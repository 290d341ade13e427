/* Dirent keys: name length, checks and text form. */
#include <string.h>

#include "keys/dirent.h"
#include "keys/key_ops.h"

/* Linux d_type values, and bcachefs' own for subvolume roots. */
static const char * const d_type_names[BCH_DT_MAX] = {
	[0]		= "unknown",
	[1]		= "fifo",
	[2]		= "chr",
	[4]		= "dir",
	[6]		= "blk",
	[8]		= "reg",
	[10]		= "lnk",
	[12]		= "sock",
	[14]		= "whiteout",
	[DT_SUBVOL]	= "subvol",
};

const char *bch_d_type_str(unsigned d_type)
{
	const char *s = d_type < BCH_DT_MAX ? d_type_names[d_type] : NULL;

	return s ? s : "(bad d_type)";
}

unsigned bch_dirent_name_len(struct bkey_s_c k)
{
	unsigned bytes = bkey_val_bytes(k.k);
	u64 last;
	unsigned padding;

	if (bytes < BCH_DIRENT_NAME_OFFSET)
		return 0;
	last = le64_to_cpu(((const u64 *)k.v)[bkey_val_u64s(k.k) - 1]);
	/* the padding is the high (last) bytes of the little-endian word */
	padding = last ? __builtin_clzll(last) / 8 : 8;
	return bytes - BCH_DIRENT_NAME_OFFSET - padding;
}

unsigned bch_dirent_name_len_safe(struct bkey_s_c k)
{
	unsigned bytes = bkey_val_bytes(k.k);
	unsigned len = bch_dirent_name_len(k);
	unsigned avail = bytes > BCH_DIRENT_NAME_OFFSET ? bytes - BCH_DIRENT_NAME_OFFSET : 0;

	return len < avail ? len : avail;
}

static bool name_is(const char *name, unsigned len, const char *s)
{
	return len == strlen(s) && !memcmp(name, s, len);
}

int bch_dirent_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	unsigned len = bch_dirent_name_len(k);
	unsigned safe = bch_dirent_name_len_safe(k);
	const char *name = bch_dirent_name(k);

	if (!len)
		return bkey_invalid(chk, BCH_FSERR_dirent_empty_name, "empty name");
	if (bkey_val_u64s(k.k) > bch_dirent_val_u64s(len))
		return bkey_invalid(chk, BCH_FSERR_dirent_val_too_big,
				    "value too big (%u > %u)",
				    bkey_val_u64s(k.k), bch_dirent_val_u64s(len));
	if (chk->where->commit && len > BCH_NAME_MAX)
		return bkey_invalid(chk, BCH_FSERR_dirent_name_too_long,
				    "dirent name too big (%u > %u)", len, BCH_NAME_MAX);
	if (strnlen(name, safe) != len)
		return bkey_invalid(chk, BCH_FSERR_dirent_name_embedded_nul,
				    "dirent has stray data after name's NUL");
	if (name_is(name, len, ".") || name_is(name, len, ".."))
		return bkey_invalid(chk, BCH_FSERR_dirent_name_dot_or_dotdot, "invalid name");
	if (memchr(name, '/', len))
		return bkey_invalid(chk, BCH_FSERR_dirent_name_has_slash, "name with /");
	if (bch_dirent_type(k) != DT_SUBVOL && bch_dirent_inum(k) == k.k->p.inode)
		return bkey_invalid(chk, BCH_FSERR_dirent_to_itself,
				    "dirent points to own directory");
	return 0;
}

void bch_dirent_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	pb_printf(out, "%.*s -> ", (int)bch_dirent_name_len_safe(k), bch_dirent_name(k));
	if (bch_dirent_type(k) != DT_SUBVOL)
		pb_printf(out, "%llu", (unsigned long long)bch_dirent_inum(k));
	else
		pb_printf(out, "%u -> %u", bch_dirent_parent_subvol(k),
			  bch_dirent_child_subvol(k));
	pb_printf(out, " type %s", bch_d_type_str(bch_dirent_type(k)));
}
