#!/bin/bash
# What relaying a WebSocket costs per message (docs/BENCHMARKS.md, "Cluster without sticky
# sessions"). Usage: benches/forward/relay.sh target/release/agora 2000
# Starts two nodes on the local Redis (a random --redis-key, SQLite each, one worker each); for
# each run opens a session on the first by polling, upgrades it through the first (local) or the
# second (relayed over Redis), and times N WebSocket round trips; prints medians, p90 and both
# nodes' CPU per round trip.
BIN=$(realpath "$1"); N=${2:-2000}; KEY=relaybench$RANDOM$RANDOM; DIR=$(mktemp -d)
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.." || exit 1
PA=$((20000 + RANDOM % 20000)); PB=$((PA + 1))
RUST_LOG=warn $BIN --port $PA --workers 1 --redis-url redis://127.0.0.1:6379 --redis-key $KEY --database-url sqlite://$DIR/a.db > $DIR/a.log 2>&1 & A=$!
RUST_LOG=warn $BIN --port $PB --workers 1 --redis-url redis://127.0.0.1:6379 --redis-key $KEY --database-url sqlite://$DIR/b.db > $DIR/b.log 2>&1 & B=$!
for _ in $(seq 100); do curl -sf localhost:$PA/healthz >/dev/null && curl -sf localhost:$PB/healthz >/dev/null && break; sleep 0.2; done
node "$HERE/relay_rtt.mjs" $PA $PB $N $A,$B
kill $A $B; wait $A $B 2>/dev/null
rm -rf "$DIR"
