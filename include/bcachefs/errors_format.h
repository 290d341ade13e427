/* fsck error types of metadata version 1.13: stable ids as stored in the errors and downgrade sb fields. */
#ifndef BCACHEFS_ERRORS_FORMAT_H
#define BCACHEFS_ERRORS_FORMAT_H

/* An error type that is safe to repair without asking */
#define BCH_FSCK_AUTOFIX	(1U << 0)

/* x(stable id, name, flags); ids are contiguous and never reused */
#define BCH_SB_ERRS()	\
	x(0, clean_but_journal_not_empty, 0) x(1, dirty_but_no_journal_entries, 0) \
	x(2, dirty_but_no_journal_entries_post_drop_nonflushes, 0) x(3, sb_clean_journal_seq_mismatch, 0) \
	x(4, sb_clean_btree_root_mismatch, 0) x(5, sb_clean_missing, 0) \
	x(6, jset_unsupported_version, 0) x(7, jset_unknown_csum, 0) \
	x(8, jset_last_seq_newer_than_seq, 0) x(9, jset_past_bucket_end, 0) \
	x(10, jset_seq_blacklisted, 0) x(11, journal_entries_missing, 0) \
	x(12, journal_entry_replicas_not_marked, BCH_FSCK_AUTOFIX) x(13, journal_entry_past_jset_end, 0) \
	x(14, journal_entry_replicas_data_mismatch, 0) x(15, journal_entry_bkey_u64s_0, 0) \
	x(16, journal_entry_bkey_past_end, 0) x(17, journal_entry_bkey_bad_format, 0) \
	x(18, journal_entry_bkey_invalid, 0) x(19, journal_entry_btree_root_bad_size, 0) \
	x(20, journal_entry_blacklist_bad_size, 0) x(21, journal_entry_blacklist_v2_bad_size, 0) \
	x(22, journal_entry_blacklist_v2_start_past_end, 0) x(23, journal_entry_usage_bad_size, 0) \
	x(24, journal_entry_data_usage_bad_size, 0) x(25, journal_entry_clock_bad_size, 0) \
	x(26, journal_entry_clock_bad_rw, 0) x(27, journal_entry_dev_usage_bad_size, 0) \
	x(28, journal_entry_dev_usage_bad_dev, 0) x(29, journal_entry_dev_usage_bad_pad, 0) \
	x(30, btree_node_unreadable, 0) x(31, btree_node_fault_injected, 0) \
	x(32, btree_node_bad_magic, 0) x(33, btree_node_bad_seq, 0) \
	x(34, btree_node_unsupported_version, 0) x(35, btree_node_bset_older_than_sb_min, 0) \
	x(36, btree_node_bset_newer_than_sb, 0) x(37, btree_node_data_missing, 0) \
	x(38, btree_node_bset_after_end, 0) x(39, btree_node_replicas_sectors_written_mismatch, 0) \
	x(40, btree_node_replicas_data_mismatch, 0) x(41, bset_unknown_csum, 0) \
	x(42, bset_bad_csum, 0) x(43, bset_past_end_of_btree_node, 0) \
	x(44, bset_wrong_sector_offset, 0) x(45, bset_empty, 0) \
	x(46, bset_bad_seq, 0) x(47, bset_blacklisted_journal_seq, 0) \
	x(48, first_bset_blacklisted_journal_seq, 0) x(49, btree_node_bad_btree, 0) \
	x(50, btree_node_bad_level, 0) x(51, btree_node_bad_min_key, 0) \
	x(52, btree_node_bad_max_key, 0) x(53, btree_node_bad_format, 0) \
	x(54, btree_node_bkey_past_bset_end, 0) x(55, btree_node_bkey_bad_format, 0) \
	x(56, btree_node_bad_bkey, 0) x(57, btree_node_bkey_out_of_order, 0) \
	x(58, btree_root_bkey_invalid, 0) x(59, btree_root_read_error, 0) \
	x(60, btree_root_bad_min_key, 0) x(61, btree_root_bad_max_key, 0) \
	x(62, btree_node_read_error, 0) x(63, btree_node_topology_bad_min_key, 0) \
	x(64, btree_node_topology_bad_max_key, 0) x(65, btree_node_topology_overwritten_by_prev_node, 0) \
	x(66, btree_node_topology_overwritten_by_next_node, 0) x(67, btree_node_topology_interior_node_empty, 0) \
	x(68, fs_usage_hidden_wrong, BCH_FSCK_AUTOFIX) x(69, fs_usage_btree_wrong, BCH_FSCK_AUTOFIX) \
	x(70, fs_usage_data_wrong, BCH_FSCK_AUTOFIX) x(71, fs_usage_cached_wrong, BCH_FSCK_AUTOFIX) \
	x(72, fs_usage_reserved_wrong, BCH_FSCK_AUTOFIX) x(73, fs_usage_persistent_reserved_wrong, BCH_FSCK_AUTOFIX) \
	x(74, fs_usage_nr_inodes_wrong, BCH_FSCK_AUTOFIX) x(75, fs_usage_replicas_wrong, BCH_FSCK_AUTOFIX) \
	x(76, dev_usage_buckets_wrong, BCH_FSCK_AUTOFIX) x(77, dev_usage_sectors_wrong, BCH_FSCK_AUTOFIX) \
	x(78, dev_usage_fragmented_wrong, BCH_FSCK_AUTOFIX) x(79, dev_usage_buckets_ec_wrong, BCH_FSCK_AUTOFIX) \
	x(80, bkey_version_in_future, 0) x(81, bkey_u64s_too_small, 0) \
	x(82, bkey_invalid_type_for_btree, 0) x(83, bkey_extent_size_zero, 0) \
	x(84, bkey_extent_size_greater_than_offset, 0) x(85, bkey_size_nonzero, 0) \
	x(86, bkey_snapshot_nonzero, 0) x(87, bkey_snapshot_zero, 0) \
	x(88, bkey_at_pos_max, 0) x(89, bkey_before_start_of_btree_node, 0) \
	x(90, bkey_after_end_of_btree_node, 0) x(91, bkey_val_size_nonzero, 0) \
	x(92, bkey_val_size_too_small, 0) x(93, alloc_v1_val_size_bad, 0) \
	x(94, alloc_v2_unpack_error, 0) x(95, alloc_v3_unpack_error, 0) \
	x(96, alloc_v4_val_size_bad, 0) x(97, alloc_v4_backpointers_start_bad, 0) \
	x(98, alloc_key_data_type_bad, 0) x(99, alloc_key_empty_but_have_data, 0) \
	x(100, alloc_key_dirty_sectors_0, 0) x(101, alloc_key_data_type_inconsistency, 0) \
	x(102, alloc_key_to_missing_dev_bucket, 0) x(103, alloc_key_cached_inconsistency, 0) \
	x(104, alloc_key_cached_but_read_time_zero, BCH_FSCK_AUTOFIX) x(105, alloc_key_to_missing_lru_entry, BCH_FSCK_AUTOFIX) \
	x(106, alloc_key_data_type_wrong, BCH_FSCK_AUTOFIX) x(107, alloc_key_gen_wrong, BCH_FSCK_AUTOFIX) \
	x(108, alloc_key_dirty_sectors_wrong, BCH_FSCK_AUTOFIX) x(109, alloc_key_cached_sectors_wrong, BCH_FSCK_AUTOFIX) \
	x(110, alloc_key_stripe_wrong, BCH_FSCK_AUTOFIX) x(111, alloc_key_stripe_redundancy_wrong, BCH_FSCK_AUTOFIX) \
	x(112, bucket_sector_count_overflow, 0) x(113, bucket_metadata_type_mismatch, 0) \
	x(114, need_discard_key_wrong, 0) x(115, freespace_key_wrong, 0) \
	x(116, freespace_hole_missing, 0) x(117, bucket_gens_val_size_bad, 0) \
	x(118, bucket_gens_key_wrong, BCH_FSCK_AUTOFIX) x(119, bucket_gens_hole_wrong, BCH_FSCK_AUTOFIX) \
	x(120, bucket_gens_to_invalid_dev, BCH_FSCK_AUTOFIX) x(121, bucket_gens_to_invalid_buckets, BCH_FSCK_AUTOFIX) \
	x(122, bucket_gens_nonzero_for_invalid_buckets, BCH_FSCK_AUTOFIX) x(123, need_discard_freespace_key_to_invalid_dev_bucket, 0) \
	x(124, need_discard_freespace_key_bad, 0) x(125, backpointer_bucket_offset_wrong, 0) \
	x(126, backpointer_to_missing_device, 0) x(127, backpointer_to_missing_alloc, 0) \
	x(128, backpointer_to_missing_ptr, 0) x(129, lru_entry_at_time_0, BCH_FSCK_AUTOFIX) \
	x(130, lru_entry_to_invalid_bucket, BCH_FSCK_AUTOFIX) x(131, lru_entry_bad, BCH_FSCK_AUTOFIX) \
	x(132, btree_ptr_val_too_big, 0) x(133, btree_ptr_v2_val_too_big, 0) \
	x(134, btree_ptr_has_non_ptr, 0) x(135, extent_ptrs_invalid_entry, 0) \
	x(136, extent_ptrs_no_ptrs, 0) x(137, extent_ptrs_too_many_ptrs, 0) \
	x(138, extent_ptrs_redundant_crc, 0) x(139, extent_ptrs_redundant_stripe, 0) \
	x(140, extent_ptrs_unwritten, 0) x(141, extent_ptrs_written_and_unwritten, 0) \
	x(142, ptr_to_invalid_device, 0) x(143, ptr_to_duplicate_device, 0) \
	x(144, ptr_after_last_bucket, 0) x(145, ptr_before_first_bucket, 0) \
	x(146, ptr_spans_multiple_buckets, 0) x(147, ptr_to_missing_backpointer, BCH_FSCK_AUTOFIX) \
	x(148, ptr_to_missing_alloc_key, BCH_FSCK_AUTOFIX) x(149, ptr_to_missing_replicas_entry, BCH_FSCK_AUTOFIX) \
	x(150, ptr_to_missing_stripe, 0) x(151, ptr_to_incorrect_stripe, 0) \
	x(152, ptr_gen_newer_than_bucket_gen, 0) x(153, ptr_too_stale, 0) \
	x(154, stale_dirty_ptr, 0) x(155, ptr_bucket_data_type_mismatch, 0) \
	x(156, ptr_cached_and_erasure_coded, 0) x(157, ptr_crc_uncompressed_size_too_small, 0) \
	x(158, ptr_crc_csum_type_unknown, 0) x(159, ptr_crc_compression_type_unknown, 0) \
	x(160, ptr_crc_redundant, 0) x(161, ptr_crc_uncompressed_size_too_big, 0) \
	x(162, ptr_crc_nonce_mismatch, 0) x(163, ptr_stripe_redundant, 0) \
	x(164, reservation_key_nr_replicas_invalid, 0) x(165, reflink_v_refcount_wrong, 0) \
	x(166, reflink_p_to_missing_reflink_v, 0) x(167, stripe_pos_bad, 0) \
	x(168, stripe_val_size_bad, 0) x(169, stripe_sector_count_wrong, 0) \
	x(170, snapshot_tree_pos_bad, 0) x(171, snapshot_tree_to_missing_snapshot, 0) \
	x(172, snapshot_tree_to_missing_subvol, 0) x(173, snapshot_tree_to_wrong_subvol, 0) \
	x(174, snapshot_tree_to_snapshot_subvol, 0) x(175, snapshot_pos_bad, 0) \
	x(176, snapshot_parent_bad, 0) x(177, snapshot_children_not_normalized, 0) \
	x(178, snapshot_child_duplicate, 0) x(179, snapshot_child_bad, 0) \
	x(180, snapshot_skiplist_not_normalized, 0) x(181, snapshot_skiplist_bad, 0) \
	x(182, snapshot_should_not_have_subvol, 0) x(183, snapshot_to_bad_snapshot_tree, BCH_FSCK_AUTOFIX) \
	x(184, snapshot_bad_depth, 0) x(185, snapshot_bad_skiplist, 0) \
	x(186, subvol_pos_bad, 0) x(187, subvol_not_master_and_not_snapshot, 0) \
	x(188, subvol_to_missing_root, 0) x(189, subvol_root_wrong_bi_subvol, 0) \
	x(190, bkey_in_missing_snapshot, 0) x(191, inode_pos_inode_nonzero, 0) \
	x(192, inode_pos_blockdev_range, 0) x(193, inode_unpack_error, 0) \
	x(194, inode_str_hash_invalid, 0) x(195, inode_v3_fields_start_bad, 0) \
	x(196, inode_snapshot_mismatch, 0) x(197, inode_unlinked_but_clean, 0) \
	x(198, inode_unlinked_but_nlink_nonzero, 0) x(199, inode_checksum_type_invalid, 0) \
	x(200, inode_compression_type_invalid, 0) x(201, inode_subvol_root_but_not_dir, 0) \
	x(202, inode_i_size_dirty_but_clean, BCH_FSCK_AUTOFIX) x(203, inode_i_sectors_dirty_but_clean, BCH_FSCK_AUTOFIX) \
	x(204, inode_i_sectors_wrong, BCH_FSCK_AUTOFIX) x(205, inode_dir_wrong_nlink, BCH_FSCK_AUTOFIX) \
	x(206, inode_dir_multiple_links, BCH_FSCK_AUTOFIX) x(207, inode_multiple_links_but_nlink_0, BCH_FSCK_AUTOFIX) \
	x(208, inode_wrong_backpointer, BCH_FSCK_AUTOFIX) x(209, inode_wrong_nlink, BCH_FSCK_AUTOFIX) \
	x(210, inode_unreachable, BCH_FSCK_AUTOFIX) x(211, deleted_inode_but_clean, BCH_FSCK_AUTOFIX) \
	x(212, deleted_inode_missing, BCH_FSCK_AUTOFIX) x(213, deleted_inode_is_dir, BCH_FSCK_AUTOFIX) \
	x(214, deleted_inode_not_unlinked, BCH_FSCK_AUTOFIX) x(215, extent_overlapping, 0) \
	x(216, key_in_missing_inode, 0) x(217, key_in_wrong_inode_type, 0) \
	x(218, extent_past_end_of_inode, 0) x(219, dirent_empty_name, 0) \
	x(220, dirent_val_too_big, 0) x(221, dirent_name_too_long, 0) \
	x(222, dirent_name_embedded_nul, 0) x(223, dirent_name_dot_or_dotdot, 0) \
	x(224, dirent_name_has_slash, 0) x(225, dirent_d_type_wrong, 0) \
	x(226, inode_bi_parent_wrong, 0) x(227, dirent_in_missing_dir_inode, 0) \
	x(228, dirent_in_non_dir_inode, 0) x(229, dirent_to_missing_inode, 0) \
	x(230, dirent_to_missing_subvol, 0) x(231, dirent_to_itself, 0) \
	x(232, quota_type_invalid, 0) x(233, xattr_val_size_too_small, 0) \
	x(234, xattr_val_size_too_big, 0) x(235, xattr_invalid_type, 0) \
	x(236, xattr_name_invalid_chars, 0) x(237, xattr_in_missing_inode, 0) \
	x(238, root_subvol_missing, 0) x(239, root_dir_missing, 0) \
	x(240, root_inode_not_dir, 0) x(241, dir_loop, 0) \
	x(242, hash_table_key_duplicate, 0) x(243, hash_table_key_wrong_offset, 0) \
	x(244, unlinked_inode_not_on_deleted_list, BCH_FSCK_AUTOFIX) x(245, reflink_p_front_pad_bad, 0) \
	x(246, journal_entry_dup_same_device, 0) x(247, inode_bi_subvol_missing, 0) \
	x(248, inode_bi_subvol_wrong, 0) x(249, inode_points_to_missing_dirent, 0) \
	x(250, inode_points_to_wrong_dirent, 0) x(251, inode_bi_parent_nonzero, 0) \
	x(252, dirent_to_missing_parent_subvol, 0) x(253, dirent_not_visible_in_parent_subvol, 0) \
	x(254, subvol_fs_path_parent_wrong, 0) x(255, subvol_root_fs_path_parent_nonzero, 0) \
	x(256, subvol_children_not_set, 0) x(257, subvol_children_bad, 0) \
	x(258, subvol_loop, 0) x(259, subvol_unreachable, BCH_FSCK_AUTOFIX) \
	x(260, btree_node_bkey_bad_u64s, 0) x(261, btree_node_topology_empty_interior_node, 0) \
	x(262, btree_ptr_v2_min_key_bad, 0) x(263, btree_root_unreadable_and_scan_found_nothing, 0) \
	x(264, snapshot_node_missing, 0) x(265, dup_backpointer_to_bad_csum_extent, 0) \
	x(266, btree_bitmap_not_marked, 0) x(267, sb_clean_entry_overrun, 0) \
	x(268, btree_ptr_v2_written_0, 0) x(269, subvol_snapshot_bad, 0) \
	x(270, subvol_inode_bad, 0) x(271, alloc_key_stripe_sectors_wrong, BCH_FSCK_AUTOFIX) \
	x(272, accounting_mismatch, BCH_FSCK_AUTOFIX) x(273, accounting_replicas_not_marked, 0) \
	x(274, invalid_btree_id, 0) x(275, alloc_key_io_time_bad, 0) \
	x(276, alloc_key_fragmentation_lru_wrong, BCH_FSCK_AUTOFIX) x(277, accounting_key_junk_at_end, BCH_FSCK_AUTOFIX) \
	x(278, accounting_key_replicas_nr_devs_0, BCH_FSCK_AUTOFIX) x(279, accounting_key_replicas_nr_required_bad, BCH_FSCK_AUTOFIX) \
	x(280, accounting_key_replicas_devs_unsorted, BCH_FSCK_AUTOFIX) x(281, inode_unlinked_and_not_open, 0) \
	x(282, accounting_key_version_0, BCH_FSCK_AUTOFIX) x(283, logged_op_but_clean, BCH_FSCK_AUTOFIX) \
	x(284, inode_dir_missing_backpointer, BCH_FSCK_AUTOFIX) x(285, inode_unlinked_but_has_dirent, 0) \
	x(286, inode_dir_unlinked_but_not_empty, BCH_FSCK_AUTOFIX) x(287, inode_has_child_snapshots_wrong, 0) \
	x(288, deleted_inode_has_child_snapshots, BCH_FSCK_AUTOFIX) x(289, accounting_to_invalid_device, 0)

enum bch_sb_error_id {
#define x(id, name, flags) BCH_FSERR_##name = id,
	BCH_SB_ERRS()
#undef x
	BCH_FSERR_MAX
};

#endif
