#!/usr/bin/env bash
# RSA-2048 signing and verification with each crypto backend of expo-codesign (ring, the
# default, and aws-lc-rs), side by side with `openssl speed rsa2048`, in one run.
#
#   benches/codesign-backends.sh            # 3 rounds, 3 s per measurement
#   ROUNDS=5 SECONDS_PER=5 benches/codesign-backends.sh
#
# Each round runs openssl, then the criterion benchmark built with ring, then with
# aws-lc-rs, so all three see the same machine load. The benchmark's `cpu/` group measures
# thread CPU time, like `openssl speed` without `-elapsed` (user CPU time): the figures
# stay comparable on a busy machine. Prints every round, then the medians as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER=${SECONDS_PER:-3}
FILTER='^cpu/(sign|verify)/[a-z-]+/rsa2048/32B$'
out=$(mktemp)
trap 'rm -f "$out"' EXIT

bench() {
    cargo bench --quiet -p expo-benches --bench codesign "$@" -- \
        --warm-up-time 1 --measurement-time "$SECONDS_PER" --noplot "$FILTER" 2>/dev/null |
        awk -v round="$round" '
            /^cpu\// { id = $1 }
            /thrpt:/ && id != "" {
                # thrpt:  [low unit (cpu) median unit (cpu) high unit (cpu)]
                line = $0
                gsub(/[][]/, " ", line)
                split(line, f, " ")
                value = f[5]; unit = f[6]
                if (unit ~ /^Kelem/) value *= 1000
                if (unit ~ /^Melem/) value *= 1000000
                split(id, p, "/")
                printf "%s %s %s %.0f\n", round, p[3], p[2], value
                id = ""
            }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Build both variants first, so compiling does not fall inside a measurement.
cargo bench --quiet -p expo-benches --bench codesign --no-run 2>/dev/null
cargo bench --quiet -p expo-benches --bench codesign --no-default-features --features aws-lc-rs --no-run 2>/dev/null
for round in $(seq "$ROUNDS"); do
    openssl speed -seconds "$SECONDS_PER" rsa2048 2>/dev/null |
        awk -v round="$round" '$1 == "rsa" && $2 == "2048" {
            printf "%s openssl sign %.0f\n%s openssl verify %.0f\n", round, $6, round, $7 }' |
        tee -a "$out"
    bench | tee -a "$out"
    bench --no-default-features --features aws-lc-rs | tee -a "$out"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "| operation (per second, CPU time) | ring | aws-lc-rs | openssl speed | ring / openssl | aws-lc-rs / openssl |"
echo "|---|---:|---:|---:|---:|---:|"
for op in sign verify; do
    median() {
        awk -v lib="$1" -v op="$op" '$2 == lib && $3 == op { print $4 }' "$out" | sort -n |
            awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    }
    ring=$(median ring) aws=$(median aws-lc-rs) ossl=$(median openssl)
    awk -v op="$op" -v r="$ring" -v a="$aws" -v o="$ossl" 'BEGIN {
        printf "| RSA-2048 %s | %d | %d | %d | %.2f | %.2f |\n", op, r, a, o, r / o, a / o }'
done
