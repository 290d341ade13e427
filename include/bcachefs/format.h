/* The bcachefs on-disk format, metadata version 1.13: every header in one include. */
#ifndef BCACHEFS_FORMAT_H
#define BCACHEFS_FORMAT_H

#include "bcachefs/types.h"
#include "bcachefs/csum_format.h"
#include "bcachefs/bkey_format.h"
#include "bcachefs/sb_format.h"
#include "bcachefs/btree_format.h"
#include "bcachefs/journal_format.h"
#include "bcachefs/val_format.h"
#include "bcachefs/errors_format.h"

#endif
