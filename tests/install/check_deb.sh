#!/bin/sh
# The Debian package end to end, on the build machine (root, apt; CI runs it
# as its own step): builds the .deb with tools/make-deb.sh, installs it with
# `apt-get install ./flowcollector_*.deb` (dependencies from the archive),
# checks the installed files, the system user, the unit installed but not
# enabled, the conffile, runs `collector --version` and a short `--pcap`
# replay with the installed binaries, then purges the package and checks it
# is gone. The package is removed again on failure too.
# usage: tests/install/check_deb.sh [BUILD_DIR]    (default build-deb)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build-deb}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (apt-get install)"; exit 77; }
if dpkg-query -W -f='${Status}' flowcollector 2>/dev/null | grep -q installed; then
	echo "FAIL: flowcollector is already installed here; not touching it"
	exit 1
fi
TMP=$(mktemp -d)
APT="apt-get -y -q -o DPkg::Lock::Timeout=120"
cleanup() {
	if dpkg-query -W flowcollector >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive $APT purge flowcollector >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

DEB=$(sh "$SRC/tools/make-deb.sh" "$B" "$TMP")
echo "== built $DEB"
DEBIAN_FRONTEND=noninteractive $APT install "$DEB" >"$TMP/apt.log" 2>&1 ||
	{ cat "$TMP/apt.log"; fail "apt-get install $DEB"; }

for f in /usr/bin/collector /usr/bin/flowcat /usr/bin/flowgen \
	/usr/share/man/man1/collector.1.gz /usr/share/man/man1/flowcat.1.gz \
	/usr/share/man/man1/flowgen.1.gz /lib/systemd/system/flowcollector.service \
	/etc/flowcollector/collector.ini /usr/share/flowcollector/proto/flow.proto \
	/usr/share/flowcollector/proto/counter.proto /usr/share/flowcollector/clickhouse/schema.sql \
	/usr/share/doc/flowcollector/README.md /usr/share/doc/flowcollector/copyright; do
	[ -e "$f" ] || fail "$f not installed"
done
echo "ok: files installed"
getent passwd flowcollector >/dev/null || fail "no flowcollector system user"
uid=$(getent passwd flowcollector | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "flowcollector user has uid $uid, not a system uid"
echo "ok: system user flowcollector (uid $uid)"
if ls /etc/systemd/system/*.wants/flowcollector.service >/dev/null 2>&1; then
	fail "flowcollector.service is enabled"
fi
echo "ok: flowcollector.service installed, not enabled"
dpkg-query -W -f='${Conffiles}\n' flowcollector | grep -q '/etc/flowcollector/collector.ini' ||
	fail "collector.ini is not a conffile"
echo "ok: /etc/flowcollector/collector.ini is a conffile"

/usr/bin/collector --version | tee "$TMP/version"
grep -q '^collector ' "$TMP/version" && grep -q 'librdkafka' "$TMP/version" ||
	fail "collector --version"
/usr/bin/flowgen --proto nf5 --count 300 --pcap-out "$TMP/nf5.pcap" 2>/dev/null
/usr/bin/collector --pcap "$TMP/nf5.pcap" --output json:- 2>"$TMP/replay.err" >"$TMP/flows.json" ||
	{ cat "$TMP/replay.err"; fail "installed collector --pcap replay"; }
n=$(grep -c '"type":"NETFLOW_V5"' "$TMP/flows.json" || true)
[ "$n" -eq 300 ] || fail "replay published $n NetFlow v5 flows, not 300"
echo "ok: installed collector --pcap replayed 300 NetFlow v5 flows"

DEBIAN_FRONTEND=noninteractive $APT purge flowcollector >"$TMP/apt.log" 2>&1 ||
	{ cat "$TMP/apt.log"; fail "apt-get purge"; }
for f in /usr/bin/collector /lib/systemd/system/flowcollector.service /etc/flowcollector/collector.ini; do
	[ ! -e "$f" ] || fail "$f still there after purge"
done
echo "ok: purged, files gone"
echo "deb test passed"
