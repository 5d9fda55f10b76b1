#!/usr/bin/env bash
# Runs every cargo-fuzz target for a few seconds from its committed seeds and
# fails on the first crash. Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-20}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    if [[ "${CI:-}" == true ]]; then
        echo "cargo-fuzz or the nightly toolchain is missing" >&2
        exit 1
    fi
    echo "SKIPPED fuzz smoke: cargo-fuzz or the nightly toolchain is missing" >&2
    exit 0
fi

cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
    corpus=corpus/$target
    mkdir -p "$corpus"
    seeds=()
    [[ -d seeds/$target ]] && seeds=("seeds/$target")
    dict=()
    [[ -f dicts/$target.dict ]] && dict=("-dict=dicts/$target.dict")
    echo "fuzz $target for ${seconds}s"
    log=$(mktemp)
    if ! cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" "${dict[@]}" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed" >&2
        exit 1
    fi
    grep -E '^Done [0-9]+ runs|^#[0-9]+ +DONE|stat::number_of_executed_units' "$log" || tail -n 3 "$log"
    rm -f "$log"
done
