#!/usr/bin/env bash
# Benchmark smoke run: builds the bench server (examples/bench.rs), the design floor (benches/floor),
# the raw reference (benches/raw) and the load generator (benches/loadgen) in release mode, then
# runs every workload at tiny sizes against Agora, the Node.js reference server (benches/node), the
# floor and the raw reference, with Agora's allocation counting on (so that path runs too) and the
# plots written to a temporary directory. It asserts nothing about speed; it fails only if a
# workload fails outright (lost deliveries, missing acks, dropped connections) or no plot is drawn.
# Ends with one line: "bench_smoke: N passed, M failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -d benches/node/node_modules/socket.io ]; then
    npm ci --prefix benches/node --no-audit --no-fund --loglevel=error
fi
cargo build --release --example bench -p agora
cargo build --release -p loadgen -p floor -p raw
plots=$(mktemp -d)
trap 'rm -rf "$plots"' EXIT
if target/release/loadgen --smoke --servers agora,node,floor,raw --count-allocations \
    --svg-dir "$plots" &&
    [ -s "$plots/idle-memory.svg" ] && [ -s "$plots/latency-fanout.svg" ] &&
    [ -s "$plots/latency-echo.svg" ]; then
    echo "bench_smoke: 1 passed, 0 failed"
else
    echo "bench_smoke: 0 passed, 1 failed"
    exit 1
fi
