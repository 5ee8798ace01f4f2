#!/bin/bash
# What relaying a WebSocket costs per message (docs/BENCHMARKS.md, "Cluster without sticky
# sessions"). Usage: benches/forward/relay.sh target/release/agora 2000
# Starts two nodes on the local Redis (a random --redis-key, SQLite each, one worker each); for
# each run opens a session on the first by polling, upgrades it through the first (local) or the
# second (relayed over Redis), and times N WebSocket round trips; prints medians, p90 and both
# nodes' CPU per round trip.
N=${2:-2000}; KEY_PREFIX=relaybench
# shellcheck source=two_nodes.sh
. "$(dirname "$0")/two_nodes.sh"
node "$HERE/relay_rtt.mjs" $PA $PB $N $A,$B
stop_nodes
