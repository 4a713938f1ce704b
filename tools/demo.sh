#!/bin/sh
# A first run: starts the collector on its embedded defaults (UDP 2055 and
# 6343 on all addresses, in-memory Kafka on loopback), sends it NetFlow v5
# flows with flowgen, reads them back from the Kafka topic with flowcat, and
# leaves the collector running (Ctrl-C stops it and prints its counters).
# DEMO_SECONDS=N stops it after N seconds instead.
# usage: tools/demo.sh [BUILD_DIR]
set -eu
B=${1:-build}
LOG=$(mktemp)
"$B/src/collector" 2>"$LOG" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG"' EXIT INT TERM
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
BROKER=$(sed -n 's/.*embedded Kafka.* at \([^,]*\),.*/\1/p' "$LOG" | head -1)
echo "== flowgen: 1000 NetFlow v5 flows to 127.0.0.1:2055"
"$B/tools/flowgen/flowgen" --proto nf5 --count 1000 --rate 20000 --to 127.0.0.1:2055
sleep 1
echo "== flowcat: the first 5 flows on topic 'flows' at $BROKER"
"$B/tools/flowcat/flowcat" -b "$BROKER" -t flows -o beginning -e -c 5
echo "== the same topic with kcat: $(kcat -b "$BROKER" -C -t flows -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) records"
echo "== collector running (pid $PID); point exporters at UDP 2055/6343; Ctrl-C to stop"
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	wait $PID
fi
