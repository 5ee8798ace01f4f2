#!/usr/bin/env bash
# Benchmark smoke run: builds the bench server (examples/bench.rs) and the load generator
# (benches/loadgen) in release mode, then runs every workload at tiny sizes against Agora and the
# Node.js reference server (benches/node). It asserts nothing about speed; it fails only if a
# workload fails outright (lost deliveries, missing acks, dropped connections).
# Ends with one line: "bench_smoke: N passed, M failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -d benches/node/node_modules/socket.io ]; then
    npm ci --prefix benches/node --no-audit --no-fund --loglevel=error
fi
cargo build --release --example bench -p agora
cargo build --release -p loadgen
if target/release/loadgen --smoke; then
    echo "bench_smoke: 1 passed, 0 failed"
else
    echo "bench_smoke: 0 passed, 1 failed"
    exit 1
fi
