/* Growable arrays: room for one more element, the size doubling. */
#ifndef BCH_UTIL_GROW_H
#define BCH_UTIL_GROW_H

#include <stdlib.h>

#include "util/errcode.h"

/*
 * bch_grow(&arr, &size, nr, first): make sure the array *arr, of *size
 * elements of which nr are used, has room for element nr. A full array
 * is reallocated at twice its size (first elements when it had none).
 * 0, or -BCH_ERR_nomem with the array and *size as they were.
 */
#define bch_grow(arr, size, nr, first) ({				\
	int _ret = 0;							\
									\
	if ((size_t)(nr) >= (size_t)*(size)) {				\
		__typeof__(*(size)) _n = *(size) ? *(size) * 2 : (first); \
		__typeof__(*(arr)) _p = realloc(*(arr), (size_t)_n * sizeof(**(arr))); \
									\
		if (_p) {						\
			*(arr) = _p;					\
			*(size) = _n;					\
		} else {						\
			_ret = -BCH_ERR_nomem;				\
		}							\
	}								\
	_ret;								\
})

#endif
