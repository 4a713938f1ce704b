#!/bin/sh
# Installs every package flowcollector needs to build, test and run on a
# fresh Debian 12 machine (run as root, or with sudo available).
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential clang libclang-rt-14-dev meson ninja-build pkg-config python3 git \
	librdkafka-dev libprotobuf-c-dev protobuf-c-compiler libpcap-dev libmaxminddb-dev \
	libinih-dev check kcat \
	help2man man-db dpkg-dev \
	protobuf-compiler python3-protobuf \
	libhiredis-dev redis-server redis-tools >/dev/null
# kafkajs, the Kafka client the e2e test e2e_kafkajs.py reads the topic with
# (not librdkafka), pinned by tests/e2e/kafkajs/package-lock.json.
command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
npm ci --prefix "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/kafkajs" --no-audit --no-fund >/dev/null ||
	echo "bootstrap: kafkajs not installed (npm registry unreachable?); its test will SKIP" >&2
