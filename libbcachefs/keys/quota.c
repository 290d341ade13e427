/* Quota keys: one per user, group or project id, with space and inode limits. */
#include "keys/key_ops.h"

static const char * const quota_counter_names[] = { "space", "inodes" };

/* p.inode is the quota type: usr, grp, prj */
#define QUOTA_TYPES_NR	3

int bch_quota_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (k.k->p.inode >= QUOTA_TYPES_NR)
		return bkey_invalid(chk, BCH_FSERR_quota_type_invalid,
				    "invalid quota type (%llu >= %u)",
				    (unsigned long long)k.k->p.inode, QUOTA_TYPES_NR);
	return 0;
}

/* The kernel prints the counters back to back, without a separator. */
void bch_quota_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_quota q;

	bkey_val_copy(&q, sizeof(q), k);
	for (unsigned i = 0; i < 2; i++)
		pb_printf(out, "%s hardlimit %llu softlimit %llu", quota_counter_names[i],
			  (unsigned long long)le64_to_cpu(q.c[i].hardlimit),
			  (unsigned long long)le64_to_cpu(q.c[i].softlimit));
}
