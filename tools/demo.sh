#!/bin/sh
# A first run: starts the collector on its embedded defaults (UDP 2055 and
# 6343 on all addresses, in-memory Kafka on loopback), sends it NetFlow v5
# flows with flowgen, reads them back from the Kafka topic with flowcat, and
# leaves the collector running until Ctrl-C, which stops it, prints its
# final counters and exits 0.
# DEMO_SECONDS=N stops it the same way after N seconds instead of waiting
# for Ctrl-C (for scripts and CI).
# Records are not compressed (the collector's default, as goflow2's), so any
# Kafka client can read them; DEMO_COMPRESSION=gzip|snappy|lz4|zstd tries a
# codec.
# usage: [DEMO_SECONDS=N] [DEMO_COMPRESSION=CODEC] tools/demo.sh [BUILD_DIR]
set -eu
B=${1:-build}
LOG=$(mktemp)
"$B/src/collector" --kafka-compression "${DEMO_COMPRESSION:-none}" 2>"$LOG" &
PID=$!
SHOWN=0
# Ctrl-C reaches the collector with the shell (same process group); a
# SIGTERM is sent as well, for a kill of the script alone.
trap 'kill -TERM $PID 2>/dev/null || true' INT TERM
trap 'kill -TERM $PID 2>/dev/null; rm -f "$LOG"' EXIT

i=0
while ! grep -q "embedded Kafka" "$LOG"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $PID 2>/dev/null; then
		cat "$LOG"
		exit 1
	fi
	sleep 0.1
done
cat "$LOG"
SHOWN=$(wc -l <"$LOG")
BROKER=$(sed -n 's/.*embedded Kafka.* at \([^,]*\),.*/\1/p' "$LOG" | head -1)
echo "== flowgen: 1000 NetFlow v5 flows to 127.0.0.1:2055"
"$B/tools/flowgen/flowgen" --proto nf5 --count 1000 --rate 20000 --to 127.0.0.1:2055
sleep 1
echo "== flowcat: the first 5 flows on topic 'flows' at $BROKER"
"$B/tools/flowcat/flowcat" -b "$BROKER" -t flows -o beginning -e -c 5
echo "== the same topic with kcat: $(kcat -b "$BROKER" -C -t flows -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) records"
SHOWN=$(wc -l <"$LOG")
if [ -n "${DEMO_SECONDS:-}" ]; then
	echo "== collector running (pid $PID); stopping in $DEMO_SECONDS s (DEMO_SECONDS)"
	sleep "$DEMO_SECONDS"
	kill -TERM $PID 2>/dev/null || true
else
	echo "== collector running (pid $PID); point exporters at UDP 2055/6343; Ctrl-C to stop"
fi
# A signal interrupts wait; wait again until the collector has exited.
rc=0
while kill -0 $PID 2>/dev/null; do
	if wait $PID; then rc=0; else rc=$?; fi
done
trap - INT TERM EXIT
# The collector flushed Kafka and printed its final counters to its log:
# show those that are not 0.
echo
echo "== collector stopped (status $rc); final counters (those at 0 not shown):"
tail -n +"$((SHOWN + 1))" "$LOG" | grep -v '^# \(HELP\|TYPE\) \| 0$' || true
rm -f "$LOG"
exit "$rc"
