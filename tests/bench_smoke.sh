#!/usr/bin/env bash
# Benchmark smoke run: builds the bench server (benches/agora/bench.rs), the design floor (benches/floor),
# the raw reference (benches/raw) and the load generator (benches/loadgen) in release mode, then
# runs every workload at tiny sizes against Agora, the Node.js reference server (benches/node), the
# floor and the raw reference, with Agora's allocation counting on (so that path runs too) and the
# plots written to a temporary directory. It asserts nothing about speed; it fails only if a
# workload fails outright (lost deliveries, missing acks, dropped connections) or no plot is drawn.
# Then a short soak against Agora (--soak-smoke: 200 clients, WebSocket and polling, churn 20/s
# with resets, 20 s), which fails if a delivery is lost or the server's counts do not come back to
# zero.
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
passed=0
failed=0
if target/release/loadgen --smoke --servers agora,node,floor,raw --count-allocations \
    --svg-dir "$plots" &&
    [ -s "$plots/idle-memory.svg" ] && [ -s "$plots/latency-fanout.svg" ] &&
    [ -s "$plots/latency-echo.svg" ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
if target/release/loadgen --soak-smoke --servers agora; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
echo "bench_smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
