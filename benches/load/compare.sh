#!/usr/bin/env bash
# Interleaved comparison of server builds on signed multipart manifests, with nginx and the
# framework floor (load-floor per-core) serving the captured answer in the same rounds: on
# a shared machine, builds measured minutes apart differ by more than most changes do,
# builds measured in turn within each round do not.
#
#   benches/load/compare.sh NAME=BINARY[:VAR=VALUE...] ...
#   benches/load/compare.sh before=/tmp/old-server after=target/release/expo-update-server
#   benches/load/compare.sh threads=target/release/expo-update-server \
#       shared=target/release/expo-update-server:EXPO_UPDATE_SERVER_CONNECTION_THREADS=0
#   ROUNDS=5 DURATION=5 CONNECTIONS=64 benches/load/compare.sh ...
#
# Each round runs wrk once against nginx, the floor and every build, in that order. Prints
# each one's median requests/s with every round's figure, and each build's peak RSS.
# Needs wrk, nginx, curl, python3; builds load-floor.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
(($# > 0)) || { sed -n '2,15p' "$0" >&2; exit 1; }
# shellcheck source=benches/load/lib.sh
source benches/load/lib.sh
needs compare.sh wrk nginx curl python3

cargo build --release -q -p expo-benches --bin load-floor
floor_bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/load-floor

key=$ROOT/crates/expo-codesign/tests/fixtures/expo-private-key.pem
cert=$ROOT/crates/expo-codesign/tests/fixtures/expo-certificate.pem
request=(-H 'accept: multipart/mixed' -H 'expo-expect-signature: sig, keyid="main", alg="rsa-v1_5-sha256"'
    -H 'expo-protocol-version: 1' -H 'expo-platform: ios' -H 'expo-runtime-version: 1.0.0')

declare -A url pid_of
names=()
for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=}
    bin=${rest%%:*} vars=()
    [[ $rest == *:* ]] && IFS=':' read -ra vars <<<"${rest#*:}"
    [[ -x $bin ]] || { echo "$name: $bin is not an executable" >&2; exit 1; }
    # Every build serves its own copy of the same store.
    "$bin" --data-dir "$work/$name" publish "$ROOT/test-fixtures/sample-export/dist" \
        --runtime-version 1.0.0 --platform all >/dev/null 2>&1
    port=$(free_port)
    env "${vars[@]}" "$bin" --data-dir "$work/$name" serve --bind "127.0.0.1:$port" \
        --public-url "http://127.0.0.1:$port" --signing-key "main=$key" \
        --signing-cert "main=$cert" >"$work/$name.log" 2>&1 &
    pids+=("$!")
    pid_of[$name]=$!
    url[$name]=http://127.0.0.1:$port/manifest
    names+=("$name")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done

# nginx and the floor serve the first build's answer.
mkdir -p "$work/www"
curl -sf -D "$work/m.h" -o "$work/www/m" "${url[${names[0]}]}" "${request[@]}"
content_type=$(grep -i '^content-type:' "$work/m.h" | cut -d' ' -f2- | tr -d '\r')
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<EOF
worker_processes 2; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon on;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server { listen 127.0.0.1:$nginx_port; root $work/www; location = /m { default_type "$content_type"; } } }
EOF
chmod 755 "$work"
chmod -R a+rX "$work/www"
nginx -c "$work/nginx.conf" -p "$work"
url[nginx]=http://127.0.0.1:$nginx_port/m
floor_port=$(free_port)
"$floor_bin" "127.0.0.1:$floor_port" "$work" per-core >"$work/floor.log" 2>&1 &
pids+=("$!")
url[floor]=http://127.0.0.1:$floor_port/m
for _ in $(seq 100); do curl -sf -o /dev/null "${url[floor]}" && break; sleep 0.1; done

declare -A runs
for round in $(seq "$ROUNDS"); do
    for name in nginx floor "${names[@]}"; do
        rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "${request[@]}" "${url[$name]}" |
            awk '/Requests\/sec/ {print $2}')
        runs[$name]="${runs[$name]:-} $rps"
    done
    echo "round $round of $ROUNDS done" >&2
done

printf '\n%s connections, %s threads, %ss x %s rounds, %s\n\n' "$CONNECTIONS" "$THREADS" \
    "$DURATION" "$ROUNDS" "$(date -u +%Y-%m-%dT%H:%MZ)"
echo "| server | median req/s | / nginx | / floor | rounds | peak RSS MB |"
echo "|---|---|---|---|---|---|"
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
# shellcheck disable=SC2086 # the runs are a space-separated list
nginx_median=$(median ${runs[nginx]}) floor_median=$(median ${runs[floor]})
for name in nginx floor "${names[@]}"; do
    # shellcheck disable=SC2086
    m=$(median ${runs[$name]})
    rss=-
    [[ -n ${pid_of[$name]:-} ]] &&
        rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/${pid_of[$name]}/status")
    printf '| %s | %.0f | %.2f | %.2f | %s | %s |\n' "$name" "$m" \
        "$(python3 -c "print($m / $nginx_median)")" "$(python3 -c "print($m / $floor_median)")" \
        "$(echo ${runs[$name]} | xargs printf '%.0f ')" "$rss"
done
