/* Test helper: recompute derived metadata and list what differs from what is stored. */
#include <stdio.h>
#include <string.h>

#include "alloc/recompute.h"
#include "core/fs.h"

static const char usage[] =
	"usage: recompute [-a] DEVICE...\n"
	"\n"
	"Recomputes bucket usage, backpointers and accounting from every key and\n"
	"compares them, and the alloc keys' freespace, need_discard, lru and\n"
	"bucket_gens entries, with what is stored.  Prints one line per\n"
	"difference (at most 50 per kind without -a) and a summary; exits 1 if\n"
	"anything differs, 2 if the filesystem cannot be read.  (To damage a key\n"
	"first, see bcachefs debug.)\n";

static int open_fs(char **devs, int nr, bool read_only, struct bch_fs **c)
{
	struct bch_open_opts opts = { .read_only = read_only };
	struct printbuf err = PRINTBUF;
	int ret = bch_fs_open(devs, nr, &opts, c, &err);

	if (ret)
		fprintf(stderr, "recompute: %s\n", pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	struct bch_recompute_opts opts = { .max_reports = 50 };
	struct bch_recompute_result res;
	struct printbuf out = PRINTBUF;
	struct bch_fs *c;
	int ret;

	if (argc && !strcmp(argv[0], "-a")) {
		opts.max_reports = 0;
		argc--;
		argv++;
	}
	if (!argc || argv[0][0] == '-') {
		fputs(usage, stderr);
		return 2;
	}
	if (open_fs(argv, argc, true, &c))
		return 2;
	ret = bch_recompute(c, &opts, &out, &res);
	bch_recompute_result_to_text(&out, &res);
	pb_char(&out, '\n');
	fputs(pb_cstr(&out), stdout);
	pb_exit(&out);
	bch_fs_close(c);
	if (fflush(stdout) || ferror(stdout))
		return 2;
	return ret ? 2 : res.total ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		puts("\nWhat each line's first word compares:");
		for (unsigned k = 0; k < BCH_RECOMPUTE_NR; k++)
			printf("  %-15s %s\n", bch_recompute_kind_names[k], bch_recompute_kind_what[k]);
		return 0;
	}
	return cmd_check(argc - 1, argv + 1);
}
