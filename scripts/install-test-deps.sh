#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust, Node
# and Python: system tools, the npm and PyPI packages of the interop tests, the
# nightly toolchain pieces for fuzzing. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

apt_packages=()
have openssl || apt_packages+=(openssl)
have basenc || apt_packages+=(coreutils)
have node || apt_packages+=(nodejs npm)
have curl || apt_packages+=(curl)
have bspatch || apt_packages+=(bsdiff)
have nginx || [[ -x /usr/sbin/nginx ]] || apt_packages+=(nginx)
have wrk || apt_packages+=(wrk)
# The admin page test drives Debian's Chromium (playwright-core, no browser download).
[[ -x /usr/bin/chromium ]] || apt_packages+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
if ((${#apt_packages[@]})); then
    if [[ $(id -u) == 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
    else
        echo "missing system packages (install them): ${apt_packages[*]}" >&2
    fi
fi

have moto_server || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'

rustup component add rustfmt clippy >/dev/null 2>&1 || true

for dir in crates/*/interop examples/*/interop; do
    [[ -d $dir ]] || continue
    if [[ -f $dir/package-lock.json ]]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [[ -f $dir/requirements.txt ]]; then
        python3 -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
    fi
done

# The feature matrix of the library crates (scripts/test.sh).
cargo hack --version >/dev/null 2>&1 || cargo install --locked cargo-hack

if rustup toolchain list | grep -q nightly && ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
