# Sourced by run.sh and relay.sh: starts two Agora nodes (binary $1) on the local Redis under a
# random --redis-key (prefix $KEY_PREFIX), SQLite each, one worker each, and waits until both
# answer /healthz. Sets HERE, DIR, PA, PB (ports), A, B (pids); `stop_nodes` ends them.
BIN=$(realpath "$1"); KEY=$KEY_PREFIX$RANDOM$RANDOM; DIR=$(mktemp -d)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/../.." || exit 1
PA=$((20000 + RANDOM % 20000)); PB=$((PA + 1))
RUST_LOG=warn $BIN --port $PA --workers 1 --redis-url redis://127.0.0.1:6379 --redis-key $KEY --database-url sqlite://$DIR/a.db > $DIR/a.log 2>&1 & A=$!
RUST_LOG=warn $BIN --port $PB --workers 1 --redis-url redis://127.0.0.1:6379 --redis-key $KEY --database-url sqlite://$DIR/b.db > $DIR/b.log 2>&1 & B=$!
for _ in $(seq 100); do curl -sf localhost:$PA/healthz >/dev/null && curl -sf localhost:$PB/healthz >/dev/null && break; sleep 0.2; done

stop_nodes() {
    kill $A $B; wait $A $B 2>/dev/null
    rm -rf "$DIR"
}
