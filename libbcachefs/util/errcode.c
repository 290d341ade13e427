/* Messages and classes for the library's error codes. */
#include <string.h>

#include "errcode.h"

static const struct {
	const char *text;
	int class;
} bch_errs[] = {
#define x(name, cls, txt) [BCH_ERR_##name - BCH_ERR_START] = { txt, cls },
	BCH_ERRCODES()
#undef x
};

const char *bch_err_str(int ret)
{
	int e = ret < 0 ? -ret : ret;

	if (e > BCH_ERR_START && e < BCH_ERR_MAX)
		return bch_errs[e - BCH_ERR_START].text;
	return strerror(e);
}

int bch_err_class(int ret)
{
	int e = ret < 0 ? -ret : ret;

	if (e > BCH_ERR_START && e < BCH_ERR_MAX)
		return -bch_errs[e - BCH_ERR_START].class;
	return ret;
}
