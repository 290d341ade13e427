/* Stable ids the superblock stores without a format header of their own: counters, passes. */
#ifndef BCH_SB_SB_NAMES_H
#define BCH_SB_SB_NAMES_H

#include "bcachefs/types.h"

/*
 * Persistent counters, x(name, stable id).  The counters section is
 * written by list position (the kernel's counter enum), not by stable id:
 * the two differ for read_split/read_retry, and the text follows position.
 */
#define BCH_SB_COUNTERS()					\
	x(io_read, 0) x(io_write, 1) x(io_move, 2) \
	x(bucket_invalidate, 3) x(bucket_discard, 4) x(bucket_alloc, 5) \
	x(bucket_alloc_fail, 6) x(btree_cache_scan, 7) x(btree_cache_reap, 8) \
	x(btree_cache_cannibalize, 9) x(btree_cache_cannibalize_lock, 10) x(btree_cache_cannibalize_lock_fail, 11) \
	x(btree_cache_cannibalize_unlock, 12) x(btree_node_write, 13) x(btree_node_read, 14) \
	x(btree_node_compact, 15) x(btree_node_merge, 16) x(btree_node_split, 17) \
	x(btree_node_rewrite, 18) x(btree_node_alloc, 19) x(btree_node_free, 20) \
	x(btree_node_set_root, 21) x(btree_path_relock_fail, 22) x(btree_path_upgrade_fail, 23) \
	x(btree_reserve_get_fail, 24) x(journal_entry_full, 25) x(journal_full, 26) \
	x(journal_reclaim_finish, 27) x(journal_reclaim_start, 28) x(journal_write, 29) \
	x(read_promote, 30) x(read_bounce, 31) x(read_split, 33) \
	x(read_retry, 32) x(read_reuse_race, 34) x(move_extent_read, 35) \
	x(move_extent_write, 36) x(move_extent_finish, 37) x(move_extent_fail, 38) \
	x(move_extent_start_fail, 39) x(copygc, 40) x(copygc_wait, 41) \
	x(gc_gens_end, 42) x(gc_gens_start, 43) x(trans_blocked_journal_reclaim, 44) \
	x(trans_restart_btree_node_reused, 45) x(trans_restart_btree_node_split, 46) x(trans_restart_fault_inject, 47) \
	x(trans_restart_iter_upgrade, 48) x(trans_restart_journal_preres_get, 49) x(trans_restart_journal_reclaim, 50) \
	x(trans_restart_journal_res_get, 51) x(trans_restart_key_cache_key_realloced, 52) x(trans_restart_key_cache_raced, 53) \
	x(trans_restart_mark_replicas, 54) x(trans_restart_mem_realloced, 55) x(trans_restart_memory_allocation_failure, 56) \
	x(trans_restart_relock, 57) x(trans_restart_relock_after_fill, 58) x(trans_restart_relock_key_cache_fill, 59) \
	x(trans_restart_relock_next_node, 60) x(trans_restart_relock_parent_for_fill, 61) x(trans_restart_relock_path, 62) \
	x(trans_restart_relock_path_intent, 63) x(trans_restart_too_many_iters, 64) x(trans_restart_traverse, 65) \
	x(trans_restart_upgrade, 66) x(trans_restart_would_deadlock, 67) x(trans_restart_would_deadlock_write, 68) \
	x(trans_restart_injected, 69) x(trans_restart_key_cache_upgrade, 70) x(trans_traverse_all, 71) \
	x(transaction_commit, 72) x(write_super, 73) x(trans_restart_would_deadlock_recursion_limit, 74) \
	x(trans_restart_write_buffer_flush, 75) x(trans_restart_split_race, 76) x(write_buffer_flush_slowpath, 77) \
	x(write_buffer_flush_sync, 78)

enum bch_sb_counter {
#define x(name, id) BCH_SB_COUNTER_##name,
	BCH_SB_COUNTERS()
#undef x
	BCH_SB_COUNTER_NR
};

/* By list position */
extern const char * const bch_sb_counter_names[];

/*
 * Recovery passes in the order they run, x(name, stable id).  The
 * superblock (ext and downgrade sections) stores bitmasks of stable ids.
 */
#define BCH_SB_RECOVERY_PASSES()				\
	x(scan_for_btree_nodes, 37) x(check_topology, 4) x(accounting_read, 39) \
	x(alloc_read, 0) x(stripes_read, 1) x(initialize_subvolumes, 2) \
	x(snapshots_read, 3) x(check_allocations, 5) x(trans_mark_dev_sbs, 6) \
	x(fs_journal_alloc, 7) x(set_may_go_rw, 8) x(journal_replay, 9) \
	x(check_alloc_info, 10) x(check_lrus, 11) x(check_btree_backpointers, 12) \
	x(check_backpointers_to_extents, 13) x(check_extents_to_backpointers, 14) x(check_alloc_to_lru_refs, 15) \
	x(fs_freespace_init, 16) x(bucket_gens_init, 17) x(reconstruct_snapshots, 38) \
	x(check_snapshot_trees, 18) x(check_snapshots, 19) x(check_subvols, 20) \
	x(check_subvol_children, 35) x(delete_dead_snapshots, 21) x(fs_upgrade_for_subvolumes, 22) \
	x(check_inodes, 24) x(check_extents, 25) x(check_indirect_extents, 26) \
	x(check_dirents, 27) x(check_xattrs, 28) x(check_root, 29) \
	x(check_unreachable_inodes, 40) x(check_subvolume_structure, 36) x(check_directory_structure, 30) \
	x(check_nlinks, 31) x(resume_logged_ops, 23) x(delete_dead_inodes, 32) \
	x(fix_reflink_p, 33) x(set_fs_needs_rebalance, 34)

enum bch_sb_recovery_pass {
#define x(name, id) BCH_SB_PASS_##name,
	BCH_SB_RECOVERY_PASSES()
#undef x
	BCH_SB_PASS_NR
};

/* By run order, NULL-terminated */
extern const char * const bch_sb_recovery_pass_names[];

/* A bitmask of stable pass ids as a bitmask of run-order positions. */
u64 bch_sb_recovery_passes_from_stable(u64 stable);

#endif
