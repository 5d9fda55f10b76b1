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

step() {
    [[ -n ${STEP_START:-} ]] && printf '    (%ss)\n' $((SECONDS - STEP_START))
    STEP_START=$SECONDS
    printf '\n==> %s\n' "$*"
}

# The crates published on their own, in dependency order.
LIBRARY_CRATES=(expo-manifest expo-sfv expo-accept expo-multipart expo-codesign expo-patch expo-updates)

if [[ "${SKIP_INSTALL:-}" != 1 ]]; then
    step "installing test prerequisites"
    bash scripts/install-test-deps.sh
fi

step "starting PostgreSQL and an S3-compatible server on loopback"
eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT

step "cargo fmt --check"
cargo fmt --all --check

step "no unused [workspace.dependencies] entry"
python3 scripts/unused-workspace-deps.py

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

step "the non-default crypto backend: expo-codesign and expo-updates tests with aws-lc-rs"
cargo test -p expo-codesign -p expo-updates --no-default-features \
    --features expo-codesign/aws-lc-rs,expo-updates/aws-lc-rs

step "feature matrix of the library crates (cargo hack)"
if command -v cargo-hack >/dev/null; then
    # Exactly one crypto backend is needed; both together is allowed (aws-lc-rs wins).
    # Pairs of features (--depth 2): the whole powerset of expo-updates is 245 builds,
    # and no feature of it interacts with more than one other.
    cargo hack check --no-dev-deps --feature-powerset --depth 2 --at-least-one-of ring,aws-lc-rs \
        -p expo-codesign -p expo-updates
    cargo hack check --no-dev-deps --each-feature \
        -p expo-manifest -p expo-sfv -p expo-accept -p expo-multipart -p expo-patch
elif [[ "${CI:-}" == true ]]; then
    echo "cargo-hack is missing (scripts/install-test-deps.sh installs it)" >&2
    exit 1
else
    echo "skipped: cargo-hack is missing (cargo install --locked cargo-hack)"
fi

step "cargo doc, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features

step "packaging: every library crate as it would be published"
# Packaged together so that each crate is verified against its siblings' packages
# (a local registry overlay), not against crates.io where they may not be yet.
cargo package --allow-dirty --workspace \
    $(printf -- '--exclude %s ' expo-benches expo-update-server embed-axum)
for crate in "${LIBRARY_CRATES[@]}"; do
    files=$(cargo package --allow-dirty --list -p "$crate")
    for required in README.md LICENSE-MIT LICENSE-APACHE; do
        grep -qx "$required" <<<"$files" || { echo "$crate: $required not packaged" >&2; exit 1; }
    done
done

step "benchmark smoke run (each benchmark once)"
cargo test -p expo-benches --benches --release

step "end-to-end load benchmark, 1-second mode (the server and nginx under wrk)"
bash benches/load/run.sh --smoke

if [[ "$FUZZ_SECONDS" != 0 ]]; then
    step "fuzz smoke run (${FUZZ_SECONDS}s per target)"
    bash scripts/fuzz-smoke.sh "$FUZZ_SECONDS"
fi

step "all checks passed"
