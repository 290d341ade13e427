#!/bin/sh
# Installs the Debian packages needed to build and test bcachefs-tools
# (nothing when they are all present). Needs root when something is missing.
set -e
build="gcc make pkg-config libblkid-dev uuid-dev libkeyutils-dev liblz4-dev
libzstd-dev zlib1g-dev libxxhash-dev libsodium-dev libudev-dev libaio-dev"
test="check util-linux qemu-system-x86 busybox-static cpio kmod xz-utils
zstd python3"
want="$build"
[ "${1:-}" = "--test" ] && want="$build $test"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root to install:$missing" >&2
	exit 1
fi
apt-get -qq update >&2
DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends $missing >&2
