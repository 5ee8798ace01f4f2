#!/bin/bash
# What forwarding costs per polling request (docs/BENCHMARKS.md, "Cluster without sticky
# sessions"). Usage: benches/forward/run.sh target/release/agora 2000
# Starts two nodes on the local Redis (a random --redis-key, SQLite each, one worker each), opens a
# session on the first, and times N POST+GET round trips sent to its own node (local) and to the
# other (forwarded), alternating runs; prints medians, p90 and both nodes' CPU per request.
N=${2:-2000}; KEY_PREFIX=fwdbench
# shellcheck source=two_nodes.sh
. "$(dirname "$0")/two_nodes.sh"
python3 "$HERE/polling_rtt.py" $PA $PB $N $A,$B
stop_nodes
