#!/usr/bin/env bash
# The whole test suite: formatting and lints, every cargo test (unit, protocol, interop with the
# official socket.io-client, headless Chromium end to end; the storage-backed ones again on
# PostgreSQL), the fuzz smoke run, the benchmark smoke
# run and the static checks of the Docker files. Expects the tools .ci/run installs.
# Ends with one line: "suites: N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=0
failed=0
failures=()

suite() {
    local name=$1
    shift
    echo "=== $name: $*"
    local started=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - started)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - started)) s)"
    fi
}

suite fmt cargo fmt --all -- --check
suite clippy cargo clippy --workspace --all-targets -- -D warnings
# nextest runs every test in its own process: the tests that read /metrics see their own gauges.
# A failed test is run once more and reported as FLAKY if it then passes: on this 2-core machine
# the suite shares the CPU with browsers, nginx and Node clients, and a flaky result is a lead to
# follow in the log, not a reason to throw the whole run away. A real regression fails twice.
suite cargo-test cargo nextest run --workspace --no-fail-fast --retries 1
# The storage-backed suites again, each test on a fresh PostgreSQL database instead of SQLite.
suite cargo-test-postgres env AGORA_TEST_DATABASE=postgres \
    cargo nextest run --no-fail-fast --retries 1 --test it -E 'test(/^(accounts|apps|trades|hostile::accounts)::/)'
suite docker-files bash tests/docker_files.sh
suite fuzz-smoke bash tests/fuzz_smoke.sh
suite bench-smoke bash tests/bench_smoke.sh

if ((failed > 0)); then
    echo "failed suites: ${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
((failed == 0))
