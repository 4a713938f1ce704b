#!/bin/sh
# Builds a Debian package of flowcollector from the meson install tree:
#   tools/make-deb.sh [BUILD_DIR [OUT_DIR]]     (defaults: build-deb, .)
# prints the path of the .deb it wrote. Layout: prefix /usr, /etc for the
# config (a conffile), units in /lib/systemd/system, installed but not
# enabled. Depends are computed by dpkg-shlibdeps from the binaries (so they
# name the Debian 12 runtime packages: librdkafka1, libmaxminddb0, ...) plus
# adduser, which postinst uses to create the flowcollector system user.
# Needs: meson, ninja, help2man, dpkg-dev (dpkg-shlibdeps), fakeroot not
# needed (dpkg-deb --root-owner-group).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build-deb}
OUT=${2:-.}
PKG=flowcollector
MAINTAINER=${DEB_MAINTAINER:-flowcollector authors <flowcollector@example.org>}

if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B" "$SRC" --prefix=/usr --buildtype=debugoptimized -Dtests=false \
		-Dman=enabled -Dsystemdunitdir=/lib/systemd/system >/dev/null
fi
PREFIX=$(meson introspect --buildoptions "$B" | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
[ "$PREFIX" = /usr ] || { echo "make-deb: $B has prefix $PREFIX, not /usr: use a fresh build dir" >&2; exit 1; }
ninja -C "$B" >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
meson install -C "$B" --destdir "$ROOT" --strip --quiet --no-rebuild

VERSION=$(meson introspect --projectinfo "$B" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
ARCH=$(dpkg --print-architecture)
DOC=$ROOT/usr/share/doc/$PKG

# Debian policy: compressed man pages, a copyright file (it replaces
# LICENSE) and a changelog in the doc folder. README.md stays uncompressed:
# the unit's Documentation= names it.
gzip -9n "$ROOT"/usr/share/man/man1/*.1
rm "$DOC/LICENSE"
printf '%s (%s) unstable; urgency=medium\n\n  * Built from %s by tools/make-deb.sh.\n\n -- %s  %s\n' \
	"$PKG" "$VERSION" "$(git -C "$SRC" describe --always --dirty --tags 2>/dev/null || echo "$VERSION")" \
	"$MAINTAINER" "$(date -R ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH})" | gzip -9n >"$DOC/changelog.gz"
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: flowcollector"
	echo
	echo "Files: *"
	echo "Copyright: 2026, the flowcollector authors"
	echo "License: BSD-2-Clause"
	sed -n '/^Redistribution/,/^OF THIS SOFTWARE/p' "$SRC/LICENSE" | sed 's/^$/./; s/^/ /'
} >"$DOC/copyright"

# Runtime library packages of every ELF file, from the shlibs/symbols files
# of the installed -dev packages' libraries (needs a debian/control).
mkdir -p "$WORK/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" >"$WORK/debian/control"
BINS=$(find "$ROOT/usr/bin" -type f -perm -u+x)
SHLIBS=$(cd "$WORK" && dpkg-shlibdeps -O $BINS 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$SHLIBS" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$ROOT/DEBIAN"
cat >"$ROOT/DEBIAN/control" <<CONTROL
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
Depends: $SHLIBS, adduser
Section: net
Priority: optional
Description: NetFlow/IPFIX/sFlow collector publishing protobuf flows to Kafka
 collector receives NetFlow v5, NetFlow v9, IPFIX and sFlow v5 over UDP,
 decodes and enriches every record (MaxMind ASN and geo databases, your
 own networks) and publishes goflow2-compatible protobuf FlowMessages to
 Kafka. flowsink consumes that topic in a consumer group into Redis IP sets
 and per-IP counters and PostgreSQL tables, exactly once per record.
 flowcat prints a topic as JSON lines; flowgen sends test exports.
 The systemd units flowcollector.service and flowsink.service are installed
 but not enabled.
CONTROL
find "$ROOT/etc" -type f | sed "s|^$ROOT||" >"$ROOT/DEBIAN/conffiles"

cat >"$ROOT/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	if ! getent passwd flowcollector >/dev/null; then
		adduser --system --group --quiet --home /var/lib/flowcollector \
			--no-create-home --gecos "flowcollector daemon" flowcollector
	fi
	# The unit is installed, never enabled or started here.
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
	fi
fi
exit 0
SCRIPT
cat >"$ROOT/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop flowcollector.service flowsink.service >/dev/null || true
fi
exit 0
SCRIPT
cat >"$ROOT/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
# The system user stays (Debian practice: files it owned may remain).
if [ "$1" = purge ]; then
	rm -rf /var/lib/flowcollector /var/lib/private/flowcollector
fi
exit 0
SCRIPT
chmod 0755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/prerm" "$ROOT/DEBIAN/postrm"

mkdir -p "$OUT"
DEB=$OUT/${PKG}_${VERSION}_$ARCH.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
