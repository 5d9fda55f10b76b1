#!/usr/bin/env bash
# Runs every check of the project, from a fresh machine: installs what the tests
# need, then formatting, lints, unit/integration/doc tests, benchmark smoke runs
# and fuzz smoke runs. `CI=true` turns every "skipped: tool missing" into a failure.
#
#   FUZZ_SECONDS=20   seconds per fuzz target (0 skips fuzzing)
#   SKIP_INSTALL=1    do not install anything (use what the machine has)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

step() { printf '\n==> %s\n' "$*"; }

if [[ "${SKIP_INSTALL:-}" != 1 ]]; then
    step "installing test prerequisites"
    bash scripts/install-test-deps.sh
fi

step "starting PostgreSQL and an S3-compatible server on loopback"
eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
if command -v cargo-nextest >/dev/null; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast --lib --bins --tests
fi

step "doc tests"
cargo test --workspace --doc

step "benchmark smoke run (each benchmark once)"
cargo test -p expo-benches --benches --release

step "end-to-end load benchmark, 1-second mode (the server and nginx under wrk)"
bash benches/load/run.sh --smoke

if [[ "$FUZZ_SECONDS" != 0 ]]; then
    step "fuzz smoke run (${FUZZ_SECONDS}s per target)"
    bash scripts/fuzz-smoke.sh "$FUZZ_SECONDS"
fi

step "all checks passed"
