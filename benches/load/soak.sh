#!/usr/bin/env bash
# Soak test (not in CI): expo-update-server under steady, modest manifest and asset load
# for an hour, with a publish every few minutes and a rollback now and then, its RSS
# sampled every 10 s. Run it once for BENCHMARKS.md; it prints the RSS every 5 minutes,
# the trend after warm-up and the error count, and exits non-zero on any error response.
#
#   benches/load/soak.sh                        # 3600 s, 200 requests/s, publish every 240 s
#   DURATION=600 RATE=100 benches/load/soak.sh  # shorter
#   BIN=path/to/expo-update-server OUT=dir benches/load/soak.sh
#
# The client (benches/load/soak.py) paces its requests: the soak watches memory over time,
# not throughput, and leaves the machine's cores to other work. Every third change is a
# rollback to the previous update (`rollback --runtime-version`), the others publishes of
# the committed export as a new update. OUT (default: a temporary directory) keeps
# rss.csv (seconds, RSS kB), changes.log, client.log and serve.log.
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=${DURATION:-3600}
RATE=${RATE:-200}
CHANGE_EVERY=${CHANGE_EVERY:-240}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
TABLE_EVERY=${TABLE_EVERY:-300}

# shellcheck source=benches/load/lib.sh
source benches/load/lib.sh
needs "the soak test" curl python3

out=${OUT:-$work/out}
mkdir -p "$out"

if [[ -n ${BIN:-} ]]; then
    bin=$BIN
else
    cargo build --release -q -p expo-update-server --bin expo-update-server
    bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/expo-update-server
fi
port=$(free_port)
url=http://127.0.0.1:$port
key=$ROOT/crates/expo-codesign/tests/fixtures/expo-private-key.pem
cert=$ROOT/crates/expo-codesign/tests/fixtures/expo-certificate.pem
export_dir=$ROOT/test-fixtures/sample-export/dist

publish() {
    "$bin" --data-dir "$work/data" publish "$export_dir" --runtime-version 1.0.0 \
        --platform all --message "soak $1" >/dev/null 2>>"$out/changes.log"
}
publish 0
"$bin" --data-dir "$work/data" serve --bind "127.0.0.1:$port" --public-url "$url" \
    --signing-key "main=$key" --signing-cert "main=$cert" >"$out/serve.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done

python3 "$ROOT/benches/load/soak.py" "127.0.0.1:$port" "$RATE" "$DURATION" \
    >"$out/client.json" 2>"$out/client.log" &
client_pid=$!
pids+=("$client_pid")

printf 'seconds,rss_kb\n' >"$out/rss.csv"
started=$(date +%s)
next_change=$CHANGE_EVERY
changes=0
change_failures=0
while kill -0 "$client_pid" 2>/dev/null; do
    sleep "$SAMPLE_EVERY"
    elapsed=$(($(date +%s) - started))
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
    printf '%s,%s\n' "$elapsed" "$rss" >>"$out/rss.csv"
    if ((elapsed >= next_change && elapsed < DURATION)); then
        changes=$((changes + 1))
        next_change=$((next_change + CHANGE_EVERY))
        if ((changes % 3 == 0)); then
            what="rollback"
            "$bin" --data-dir "$work/data" rollback --runtime-version 1.0.0 \
                >/dev/null 2>>"$out/changes.log" || { what="rollback FAILED"; change_failures=$((change_failures + 1)); }
        else
            what="publish"
            publish "$changes" || { what="publish FAILED"; change_failures=$((change_failures + 1)); }
        fi
        printf '%s s: %s\n' "$elapsed" "$what" >>"$out/changes.log"
    fi
done
wait "$client_pid" || true
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")

python3 - "$out" "$TABLE_EVERY" "$peak_kb" "$changes" "$change_failures" <<'EOF'
import csv, json, statistics, sys
out, every, peak_kb, changes, change_failures = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [(int(r["seconds"]), int(r["rss_kb"])) for r in csv.DictReader(open(f"{out}/rss.csv"))]
counts = json.loads(open(f"{out}/client.json").read())
print("| minute | RSS MB |")
print("|---|---|")
mark = 0
for seconds, kb in rows:
    if seconds >= mark:
        print(f"| {seconds // 60} | {kb / 1024:.1f} |")
        mark = (seconds // every + 1) * every
print(f"| {rows[-1][0] // 60} (end) | {rows[-1][1] / 1024:.1f} |")
# The trend after warm-up (the first tenth): least-squares slope, MB per hour.
steady = rows[len(rows) // 10:]
xs = [s for s, _ in steady]
ys = [kb / 1024 for _, kb in steady]
slope = statistics.linear_regression(xs, ys).slope * 3600 if len(steady) > 2 else 0.0
print()
print(f"requests: {counts['requests']} ({counts['2xx']} 2xx, {counts['3xx']} 3xx), "
      f"error responses: {counts['4xx'] + counts['5xx']}, failures: {counts['failures']}")
print(f"changes: {changes} ({change_failures} failed); RSS after warm-up: min {min(ys):.1f} MB, "
      f"max {max(ys):.1f} MB, trend {slope:+.2f} MB/hour; peak RSS {peak_kb / 1024:.1f} MB")
errors = counts["4xx"] + counts["5xx"] + counts["failures"] + change_failures
sys.exit(1 if errors else 0)
EOF
