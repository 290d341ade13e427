/* Names of the format's enumerations, generated from the format's x-macro lists. */
#include <string.h>

#include "names.h"
#include "printbuf.h"

const char * const bch_btree_id_names[] = {
#define x(name, nr, ...) [nr] = #name,
	BCH_BTREE_IDS()
#undef x
	NULL
};

const char * const bch_bkey_type_names[] = {
#define x(name, nr, min) [nr] = #name,
	BCH_BKEY_TYPES()
#undef x
	NULL
};

#define SIMPLE_NAMES(var, list)			\
const char * const var[] = {			\
	list()					\
	NULL					\
}

#define x(name, nr) [nr] = #name,
SIMPLE_NAMES(bch_data_type_names, BCH_DATA_TYPES);
SIMPLE_NAMES(bch_sb_feature_names, BCH_SB_FEATURES);
SIMPLE_NAMES(bch_sb_compat_names, BCH_SB_COMPAT);
SIMPLE_NAMES(bch_sb_field_names, BCH_SB_FIELDS);
SIMPLE_NAMES(bch_compression_type_names, BCH_COMPRESSION_TYPES);
SIMPLE_NAMES(bch_compression_opt_names, BCH_COMPRESSION_OPTS);
SIMPLE_NAMES(bch_str_hash_type_names, BCH_STR_HASH_TYPES);
SIMPLE_NAMES(bch_str_hash_opt_names, BCH_STR_HASH_OPTS);
SIMPLE_NAMES(bch_jset_entry_type_names, BCH_JSET_ENTRY_TYPES);
SIMPLE_NAMES(bch_fs_usage_type_names, BCH_FS_USAGE_TYPES);
SIMPLE_NAMES(bch_member_state_names, BCH_MEMBER_STATES);
SIMPLE_NAMES(bch_error_action_names, BCH_ERROR_ACTIONS);
SIMPLE_NAMES(bch_version_upgrade_names, BCH_VERSION_UPGRADE_OPTS);
SIMPLE_NAMES(bch_disk_accounting_type_names, BCH_DISK_ACCOUNTING_TYPES);
SIMPLE_NAMES(bch_inode_flag_names, BCH_INODE_FLAGS);
SIMPLE_NAMES(bch_xattr_type_names, BCH_XATTR_TYPES);
SIMPLE_NAMES(bch_iops_names, BCH_IOPS_MEASUREMENTS);
SIMPLE_NAMES(bch_member_error_names, BCH_MEMBER_ERROR_TYPES);
#undef x

const char * const bch_csum_type_names[] = {
#define x(name, nr, bytes) [nr] = #name,
	BCH_CSUM_TYPES()
#undef x
	NULL
};

const char * const bch_csum_opt_names[] = {
#define x(name, nr) [nr] = #name,
	BCH_CSUM_OPTS()
#undef x
	NULL
};

const char * const bch_extent_entry_type_names[] = {
#define x(name, nr, bytes) [nr] = #name,
	BCH_EXTENT_ENTRY_TYPES()
#undef x
	NULL
};

const char * const bch_sb_err_names[] = {
#define x(id, name, flags) [id] = #name,
	BCH_SB_ERRS()
#undef x
	NULL
};

static const struct {
	unsigned version;
	const char *name;
} bch_versions[] = {
#define x(name, major, minor) { BCH_VERSION(major, minor), #name },
	BCH_METADATA_VERSIONS()
#undef x
};

int bch_name_index(const char * const names[], unsigned nr, const char *s)
{
	for (unsigned i = 0; i < nr; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return -1;
}

const char *bch_version_name(unsigned version)
{
	for (unsigned i = 0; i < sizeof(bch_versions) / sizeof(bch_versions[0]); i++)
		if (bch_versions[i].version == version)
			return bch_versions[i].name;
	return "(unknown version)";
}

void bch_version_to_text(struct printbuf *out, unsigned v)
{
	pb_printf(out, "%u.%u: %s", BCH_VERSION_MAJOR(v), BCH_VERSION_MINOR(v),
		  bch_version_name(v));
}
