#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz targets under fuzz/ and runs each for a short time on its
# seed corpus (fuzz/seeds/<target>/, copied into a fresh fuzz/corpus/smoke-<target>/).
#
# Fails (exit 1) when a target crashes, panics, times out or runs out of memory; the input that did
# it is left in fuzz/artifacts/<target>/ and dumped below. Ends with
#   fuzz_smoke: N passed, M failed
#
# Settings (environment):
#   FUZZ_SECONDS     seconds of fuzzing per target (default 20)
#   FUZZ_TARGETS     targets to run (default: every target in fuzz/Cargo.toml)
#   FUZZ_SANITIZER   cargo-fuzz sanitizer: address (default) or none (faster build and runs)
#   FUZZ_TARGET_DIR  cargo target dir for the fuzz build (default fuzz/target); point it outside
#                    the checkout to keep the instrumented build between fresh clones
#
# cargo-fuzz needs nightly compiler flags (-Z sanitizer, -C passes=sancov-module); the stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1. Everything is built into fuzz/target (or
# FUZZ_TARGET_DIR), never into the root target dir.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-address}
build_opts=(--fuzz-dir fuzz --sanitizer "$sanitizer")
if [[ -n ${FUZZ_TARGET_DIR:-} ]]; then
    build_opts+=(--target-dir "$FUZZ_TARGET_DIR")
fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [[ -n ${FUZZ_TARGETS:-} ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz smoke: no fuzz targets found" >&2
    exit 1
fi

echo "fuzz smoke: building ${targets[*]} (sanitizer: $sanitizer)"
start=$SECONDS
cargo fuzz build "${build_opts[@]}"
echo "fuzz smoke: build took $((SECONDS - start))s"

passed=0
failed=0
failures=()
for target in "${targets[@]}"; do
    corpus=$root/fuzz/corpus/smoke-$target
    artifacts=$root/fuzz/artifacts/$target
    rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    if [[ -d fuzz/seeds/$target ]]; then
        cp fuzz/seeds/"$target"/* "$corpus"/
    fi
    log=$root/fuzz/artifacts/smoke-$target.log
    marker=$root/fuzz/artifacts/smoke-$target.started
    touch "$marker"
    echo "fuzz smoke: running $target for ${seconds}s on $(find "$corpus" -type f | wc -l) seeds"
    # The fuzzer's own exit code decides; its log goes to the console and to $log.
    set +e
    cargo fuzz run "${build_opts[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    stats=$(grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" | tr '\n' ' ' || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1 || true)
    if [[ $status -eq 0 ]]; then
        passed=$((passed + 1))
        echo "fuzz smoke: $target ok: $cov $stats"
    else
        failed=$((failed + 1))
        failures+=("$target")
        echo "fuzz smoke: $target FAILED (exit $status): $cov $stats" >&2
        grep -E "panicked at|^thread '|ERROR: (libFuzzer|AddressSanitizer)" "$log" >&2 || true
        while IFS= read -r artifact; do
            echo "fuzz smoke: failing input $artifact ($(wc -c <"$artifact") bytes):" >&2
            od -A d -c "$artifact" | head -n 20 >&2
            echo "fuzz smoke: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_opts[*]} $target $artifact" >&2
        done < <(find "$artifacts" -type f -newer "$marker" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \))
    fi
done

if [[ $failed -gt 0 ]]; then
    echo "fuzz smoke: failed targets: ${failures[*]}" >&2
fi
echo "fuzz_smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
