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
	libinih-dev libmicrohttpd-dev check kcat prometheus curl zlib1g-dev \
	help2man man-db dpkg-dev \
	protobuf-compiler python3-protobuf \
	libhiredis-dev redis-server redis-tools \
	libpq-dev postgresql-15 >/dev/null
# libpq-dev: flowsink's PostgreSQL sink; postgresql-15: its tests make their
# own cluster with /usr/lib/postgresql/15/bin/initdb (the packaged cluster
# is not used).
# kafkajs, the Kafka client the e2e test e2e_kafkajs.py reads the topic with
# (not librdkafka), pinned by tests/e2e/kafkajs/package-lock.json.
command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
npm ci --prefix "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/kafkajs" --no-audit --no-fund >/dev/null ||
	echo "bootstrap: kafkajs not installed (npm registry unreachable?); its test will SKIP" >&2
# chdb, ClickHouse embedded in a Node.js addon (about 550 MB unpacked): the
# test clickhouse-schema runs deploy/clickhouse/schema.sql on it; pinned by
# tests/e2e/chdb/package-lock.json. `npm install --no-save` rather than
# `npm ci`: the lock holds only the linux-x64 engine package of chdb's
# per-platform optional dependencies (npm writes no others), which `npm ci`
# refuses as out of sync; install takes the locked versions all the same.
npm install --no-save --prefix "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/chdb" --no-audit --no-fund >/dev/null ||
	echo "bootstrap: chdb not installed (npm registry unreachable?); the clickhouse tests will SKIP" >&2
