/* The pass functions, one file per pass group (fsck/alloc_checks.c, fsck/ns_checks.c, ...). */
#ifndef BCH_FSCK_PASSES_H
#define BCH_FSCK_PASSES_H

#include "fsck/fsck.h"
#include "fsck/ns_common.h"

#endif
