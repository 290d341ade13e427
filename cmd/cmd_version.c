/* bcachefs version: the tools' version and the newest on-disk format they know. */
#include "cmd.h"
#include "bcachefs/format.h"
#include "util/names.h"
#include "util/printbuf.h"

static const struct cmd_option version_opts[] = {
	{ 0 }
};

static int cmd_version(const struct cmd_def *def, int argc, char **argv)
{
	struct cmd_opts_state st;
	struct printbuf out = PRINTBUF;
	int o;

	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0)
		;
	o = cmd_opts_finish(def, &st, o, 0, 0);
	if (o)
		return o == CMD_OPTS_HELP ? CMD_EXIT_OK : o;
	pb_printf(&out, "%s (metadata version ", BCH_TOOLS_VERSION);
	bch_version_to_text(&out, bcachefs_metadata_version_current);
	pb_str(&out, ")\n");
	bool ok = cmd_write_stdout(pb_cstr(&out), out.pos);
	pb_exit(&out);
	return ok ? CMD_EXIT_OK : CMD_EXIT_ERROR;
}

const struct cmd_def cmd_version_def = {
	.name		= "version",
	.synopsis	= "",
	.summary	= "Display the version of the tools and of the on-disk format",
	.options	= version_opts,
	.run		= cmd_version,
	.group		= "Miscellaneous",
};
