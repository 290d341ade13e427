# apt.sh: sourced by ref-bcachefs and kernel-vm; fetches Debian packages
# without touching the machine's own apt configuration or package state.
#
# The reference implementations come from Debian suites newer than the
# machine's (sid/experimental for bcachefs-tools, trixie for Linux 6.12), so
# each set of suites gets a private apt tree under the cache directory:
#
#   $BCH_ORACLE_CACHE/apt-<suites joined by _>/  debian.sources, lists/,
#                                                archives/, updated (stamp)
#   $BCH_ORACLE_CACHE/ref-tools/                 unpacked bcachefs-tools
#   $BCH_ORACLE_CACHE/kernel/                    vmlinuz, initrd.base, version
#
# Packages are only downloaded (apt-get download) and unpacked with dpkg -x,
# never installed, so nothing outside the cache changes.

BCH_ORACLE_CACHE=${BCH_ORACLE_CACHE:-/var/cache/bch-oracle}
mkdir -p "$BCH_ORACLE_CACHE"

# oracle_mirror: print the URI of the Debian archive the machine already uses
# (deb822 sources first, then the one-line format).
oracle_mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		sed -n 's/^URIs:[[:space:]]*//p' "$f"
	done | tr ' ' '\n' | grep -m1 '/debian/*$' && return 0
	if [ -f /etc/apt/sources.list ]; then
		awk '$1 == "deb" { for (i = 2; i <= NF; i++)
			if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/*$/) { print $i; exit } }' \
			/etc/apt/sources.list | grep . && return 0
	fi
	echo "oracle: cannot find a Debian archive in /etc/apt" >&2
	return 1
}

# oracle_apt SUITE... -- APT-GET-ARGS...: run apt-get against a private
# package list for SUITEs (component main), updating it once.
oracle_apt() {
	_suites=
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		_suites="${_suites:+$_suites }$1"
		shift
	done
	[ "$1" = "--" ] || { echo "oracle_apt: missing --" >&2; return 2; }
	shift
	_tree="$BCH_ORACLE_CACHE/apt-$(echo "$_suites" | tr ' ' '_')"
	mkdir -p "$_tree/lists/partial" "$_tree/archives/partial"
	if [ ! -s "$_tree/debian.sources" ]; then
		_uri=$(oracle_mirror) || return 1
		cat > "$_tree/debian.sources" <<-EOF
		Types: deb
		URIs: $_uri
		Suites: $_suites
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	if [ ! -e "$_tree/updated" ]; then
		oracle_apt_in_ "$_tree" update >&2 || return 1
		: > "$_tree/updated"
	elif ! oracle_apt_in_ "$_tree" "$@"; then
		# package lists from an earlier run may name files the archive
		# has dropped since: refresh them once and try again
		echo "oracle: refreshing the package lists in $_tree" >&2
		oracle_apt_in_ "$_tree" update >&2 || return 1
	else
		return 0
	fi
	oracle_apt_in_ "$_tree" "$@"
}

# oracle_apt_in_ TREE APT-GET-ARGS...: apt-get confined to a private tree.
oracle_apt_in_() {
	_t=$1
	shift
	apt-get -qq \
		-o "Dir::Etc::sourcelist=$_t/debian.sources" \
		-o Dir::Etc::sourceparts=/dev/null \
		-o "Dir::State::Lists=$_t/lists" \
		-o Dir::State::status=/dev/null \
		-o "Dir::Cache::archives=$_t/archives" \
		-o APT::Sandbox::User=root \
		"$@"
}

# oracle_host_need COMMAND:PACKAGE...: install (on the host, with the
# machine's own apt) each PACKAGE whose COMMAND is missing.
oracle_host_need() {
	_missing=
	for _pair in "$@"; do
		command -v "${_pair%%:*}" >/dev/null 2>&1 ||
			_missing="$_missing ${_pair#*:}"
	done
	[ -z "$_missing" ] || oracle_host_install $_missing
}

# oracle_host_install PACKAGE...: install PACKAGEs with the machine's apt.
oracle_host_install() {
	echo "oracle: installing $*" >&2
	{ apt-get -qq update &&
	  DEBIAN_FRONTEND=noninteractive apt-get -qq install -y "$@"; } >&2
}

# oracle_lock NAME / oracle_unlock: serialise first-use setup between
# parallel test runs (file descriptor 9, flock from util-linux).
oracle_lock() {
	exec 9>"$BCH_ORACLE_CACHE/$1.lock"
	flock 9
}

oracle_unlock() {
	flock -u 9
	exec 9>&-
}
