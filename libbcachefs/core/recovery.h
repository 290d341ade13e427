/* What opening a filesystem does after the superblocks: journal, roots, and the journal key overlay. */
#ifndef BCH_CORE_RECOVERY_H
#define BCH_CORE_RECOVERY_H

#include "core/fs_types.h"

int bch_fs_recover(struct bch_fs *c, struct printbuf *err);

#endif
