/* Names of the format's enumerations, NULL-terminated and indexed by value. */
#ifndef BCH_UTIL_NAMES_H
#define BCH_UTIL_NAMES_H

#include "bcachefs/format.h"

extern const char * const bch_btree_id_names[];
extern const char * const bch_bkey_type_names[];
extern const char * const bch_data_type_names[];
extern const char * const bch_sb_feature_names[];
extern const char * const bch_sb_compat_names[];
extern const char * const bch_sb_field_names[];
extern const char * const bch_csum_type_names[];
extern const char * const bch_csum_opt_names[];
extern const char * const bch_compression_type_names[];
extern const char * const bch_compression_opt_names[];
extern const char * const bch_str_hash_type_names[];
extern const char * const bch_str_hash_opt_names[];
extern const char * const bch_jset_entry_type_names[];
extern const char * const bch_fs_usage_type_names[];
extern const char * const bch_member_state_names[];
extern const char * const bch_error_action_names[];
extern const char * const bch_version_upgrade_names[];
extern const char * const bch_sb_err_names[];
extern const char * const bch_disk_accounting_type_names[];
extern const char * const bch_inode_flag_names[];
extern const char * const bch_extent_entry_type_names[];
extern const char * const bch_xattr_type_names[];
extern const char * const bch_iops_names[];
extern const char * const bch_member_error_names[];

/* "1.13: inode_has_child_snapshots"; unknown versions print as numbers */
const char *bch_version_name(unsigned version);
struct printbuf;
void bch_version_to_text(struct printbuf *, unsigned version);

/* The value named s among the first nr entries of names (empty ones skipped), or -1. */
int bch_name_index(const char * const names[], unsigned nr, const char *s);

/* Name or "(unknown N)"-style fallback chosen by the caller. */
static inline const char *bch_name_or_null(const char * const names[],
					   unsigned nr, unsigned v)
{
	return v < nr ? names[v] : NULL;
}

#endif
