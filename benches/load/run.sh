#!/usr/bin/env bash
# End-to-end load benchmark: expo-update-server serving the committed real
# export, side by side with nginx serving the very same response bytes as
# static files and with the framework floor (benches/src/bin/load-floor.rs: a
# bare axum server answering each captured response, headers included, from
# memory), all hit by wrk on loopback in one run.
#
#   benches/load/run.sh                 # 10 s per measurement, 3 runs, 64 connections
#   benches/load/run.sh --smoke         # 1 s, 1 run: checks the script still works
#   RUNS=5 DURATION=20 CONNECTIONS=64 benches/load/run.sh
#   REFERENCE_URL=http://127.0.0.1:3001 benches/load/run.sh
#       also measures the official Node reference server (expo/custom-expo-updates-server),
#       started by hand on that URL with the same export (see BENCHMARKS.md)
#   APPS=50 benches/load/run.sh
#       also publishes the export to 50 more apps, starts a second server with all of them
#       configured (each with its own signing key entry) and compares its manifest
#       throughput, on /manifest and on /app25/manifest, with the single-app server's
#   HOSTILE=slowloris benches/load/run.sh    (or HOSTILE=flood)
#       measures only the manifest endpoints, each without and then with a hostile client
#       running beside wrk (benches/load/hostile.py: 1,000 slowloris connections trickling
#       header bytes, or 2,000 requests/s for made-up runtime versions), and fails when a
#       real request gets a non-2xx answer or keeps less than half its throughput
#   SPLIT=1 benches/load/run.sh
#       also publishes the export to a second branch, and measures /manifest with the
#       default channel serving one branch, then split 50/50 between the two (each request
#       names one of 1,000 installs, so both branches are served)
#   BIN=path/to/expo-update-server benches/load/run.sh
#       measures that binary instead of building this tree (to compare two versions)
#   ONLY=manifest-multipart-signed,asset-br benches/load/run.sh
#       measures only the named endpoints (for quick comparisons while working on one)
#
# Prints a Markdown table: requests/s (median of the runs), the ratios ours/nginx
# and ours/floor, p50/p99 latency, and the peak RSS of our server. Needs wrk, nginx, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
APPS=${APPS:-0}
SPLIT=${SPLIT:-0}
if [[ ${1:-} == --smoke ]]; then DURATION=1 RUNS=1; fi

# shellcheck source=benches/load/lib.sh
source benches/load/lib.sh
needs "the load benchmark" wrk nginx curl python3

if [[ -n ${BIN:-} ]]; then
    bin=$BIN
    cargo build --release -q -p expo-benches --bin load-floor
else
    cargo build --release -q -p expo-update-server -p expo-benches --bin expo-update-server --bin load-floor
    bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/expo-update-server
fi
floor_bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/load-floor
ours_port=$(free_port)
nginx_port=$(free_port)
floor_port=$(free_port)
ours=http://127.0.0.1:$ours_port
key=$ROOT/crates/expo-codesign/tests/fixtures/expo-private-key.pem
cert=$ROOT/crates/expo-codesign/tests/fixtures/expo-certificate.pem

"$bin" --data-dir "$work/data" publish "$ROOT/test-fixtures/sample-export/dist" \
    --runtime-version 1.0.0 --platform all >/dev/null 2>&1
"$bin" --data-dir "$work/data" serve --bind "127.0.0.1:$ours_port" --public-url "$ours" \
    --signing-key "main=$key" --signing-cert "main=$cert" >"$work/serve.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do curl -sf "$ours/health" >/dev/null && break; sleep 0.1; done

common=(-H 'expo-protocol-version: 1' -H 'expo-platform: ios' -H 'expo-runtime-version: 1.0.0')
signed=(-H 'expo-expect-signature: sig, keyid="main", alg="rsa-v1_5-sha256"')
declare -A headers=(
    [manifest-multipart-signed]="accept: multipart/mixed|expo-expect-signature: sig, keyid=\"main\", alg=\"rsa-v1_5-sha256\""
    [manifest-multipart]="accept: multipart/mixed"
    [manifest-json]="accept: application/expo+json"
    [manifest-json-signed]="accept: application/expo+json|expo-expect-signature: sig, keyid=\"main\", alg=\"rsa-v1_5-sha256\""
    [asset-br]="accept-encoding: br"
    [asset-gzip]="accept-encoding: gzip"
    [asset-identity]="accept-encoding: identity"
)
order=(manifest-multipart-signed manifest-multipart manifest-json-signed manifest-json asset-br asset-gzip asset-identity)

# Capture each response once: its body is what nginx will serve.
mkdir -p "$work/www"
launch_url=$(curl -sf "$ours/manifest" "${common[@]}" -H 'accept: application/expo+json' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["launchAsset"]["url"])')
launch_path=${launch_url#"$ours"}
declare -A path content_type
for name in "${order[@]}"; do
    args=()
    IFS='|' read -ra hs <<<"${headers[$name]}"
    for h in "${hs[@]}"; do args+=(-H "$h"); done
    if [[ $name == manifest-* ]]; then
        path[$name]=/manifest
        curl -sf -D "$work/$name.h" -o "$work/www/$name" "$ours/manifest" "${common[@]}" "${args[@]}"
    else
        path[$name]=$launch_path
        curl -sf -D "$work/$name.h" -o "$work/www/$name" "$ours$launch_path" "${args[@]}"
    fi
    content_type[$name]=$(grep -i '^content-type:' "$work/$name.h" | head -1 | cut -d' ' -f2- | tr -d '\r')
done

# nginx: one location per captured body, same content type, no logging.
{
    echo "worker_processes 2; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon on;"
    echo "events { worker_connections 1024; }"
    echo "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;"
    echo "  server { listen 127.0.0.1:$nginx_port; root $work/www;"
    for name in "${order[@]}"; do
        echo "    location = /$name { default_type \"${content_type[$name]}\"; }"
    done
    echo "  }"
    echo "}"
} >"$work/nginx.conf"
# nginx's workers run as another user: let them read the captured bodies.
chmod 755 "$work"
chmod -R a+rX "$work/www"
nginx -c "$work/nginx.conf" -p "$work"

# The framework floor: the same bodies and headers, from memory, by a bare axum server.
"$floor_bin" "127.0.0.1:$floor_port" "$work" >"$work/floor.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$floor_port/${order[0]}" && break; sleep 0.1; done

# wrk prints "Requests/sec: N" and, with --latency, the 50% and 99% lines.
measure() { # url header...
    local url=$1
    shift
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    # WRK_SCRIPT: a Lua script shaping each request.
    [[ -n ${WRK_SCRIPT:-} ]] && args+=(-s "$WRK_SCRIPT")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${args[@]}" "$url" |
        python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)", text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(rps, ms("50%"), ms("99%"), non2xx.group(1) if non2xx else 0)'
}

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

if [[ -n ${HOSTILE:-} ]]; then
    case $HOSTILE in slowloris | flood) ;; *) echo "HOSTILE must be slowloris or flood" >&2; exit 1 ;; esac
    printf '\n%s connections, %s threads, %ss x %s runs (median), hostile client: %s, %s, load %s\n\n' \
        "$CONNECTIONS" "$THREADS" "$DURATION" "$RUNS" "$HOSTILE" "$(date -u +%Y-%m-%dT%H:%MZ)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "| endpoint | alone req/s | with $HOSTILE req/s | ratio | alone p50 / p99 ms | with $HOSTILE p50 / p99 ms | non-2xx |"
    echo "|---|---|---|---|---|---|---|"
    failed=0
    for name in manifest-multipart-signed manifest-json; do
        IFS='|' read -ra hs <<<"${headers[$name]}"
        req=("${hs[@]}" 'expo-protocol-version: 1' 'expo-platform: ios' 'expo-runtime-version: 1.0.0')
        a_rps=() a_p50=() a_p99=() h_rps=() h_p50=() h_p99=() bad_total=0
        for _ in $(seq "$RUNS"); do
            read -r rps p50 p99 bad < <(measure "$ours/manifest" "${req[@]}")
            a_rps+=("$rps") a_p50+=("$p50") a_p99+=("$p99") bad_total=$((bad_total + bad))
            python3 "$ROOT/benches/load/hostile.py" "$HOSTILE" "127.0.0.1:$ours_port" 2>>"$work/hostile.log" &
            hostile_pid=$!
            pids+=("$hostile_pid")
            sleep 3 # let it reach its full strength
            read -r rps p50 p99 bad < <(measure "$ours/manifest" "${req[@]}")
            h_rps+=("$rps") h_p50+=("$p50") h_p99+=("$p99") bad_total=$((bad_total + bad))
            kill "$hostile_pid"
            wait "$hostile_pid" 2>/dev/null || true
        done
        a=$(median "${a_rps[@]}") h=$(median "${h_rps[@]}")
        ratio=$(python3 -c "print($h / $a)")
        printf '| %s | %.0f | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f | %s |\n' "$name" "$a" "$h" "$ratio" \
            "$(median "${a_p50[@]}")" "$(median "${a_p99[@]}")" \
            "$(median "${h_p50[@]}")" "$(median "${h_p99[@]}")" "$bad_total"
        ((bad_total == 0)) || { echo "our server answered $bad_total non-2xx to $name" >&2; failed=1; }
        python3 -c "import sys; sys.exit(0 if $ratio >= 0.5 else 1)" ||
            { echo "$name kept less than half its throughput with $HOSTILE" >&2; failed=1; }
    done
    echo
    sed 's/^/    /' "$work/hostile.log"
    rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    printf '\npeak RSS of expo-update-server: %.1f MB\n' "$(python3 -c "print($rss_kb / 1024)")"
    exit "$failed"
fi

printf '\n%s connections, %s threads, %ss x %s runs (median), %s\n\n' \
    "$CONNECTIONS" "$THREADS" "$DURATION" "$RUNS" "$(date -u +%Y-%m-%dT%H:%MZ)"
echo "| endpoint | ours req/s | nginx req/s | floor req/s | ours/nginx | ours/floor | ours p50 / p99 ms | nginx p50 / p99 ms | floor p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
failed=0
declare -A ours_rps ours_lat
measured=("${order[@]}")
if [[ -n ${ONLY:-} ]]; then
    IFS=',' read -ra measured <<<"$ONLY"
    for name in "${measured[@]}"; do
        [[ -n ${headers[$name]:-} ]] || { echo "ONLY: no endpoint named $name (one of: ${order[*]})" >&2; exit 1; }
    done
fi
for name in "${measured[@]}"; do
    IFS='|' read -ra hs <<<"${headers[$name]}"
    req=("${hs[@]}")
    [[ $name == manifest-* ]] && req+=('expo-protocol-version: 1' 'expo-platform: ios' 'expo-runtime-version: 1.0.0')
    o_rps=() o_p50=() o_p99=() n_rps=() n_p50=() n_p99=() f_rps=() f_p50=() f_p99=()
    for _ in $(seq "$RUNS"); do
        read -r rps p50 p99 bad < <(measure "$ours${path[$name]}" "${req[@]}")
        o_rps+=("$rps") o_p50+=("$p50") o_p99+=("$p99")
        ((bad == 0)) || { echo "our server answered $bad non-2xx to $name" >&2; failed=1; }
        read -r rps p50 p99 bad < <(measure "http://127.0.0.1:$nginx_port/$name" "${req[@]}")
        n_rps+=("$rps") n_p50+=("$p50") n_p99+=("$p99")
        ((bad == 0)) || { echo "nginx answered $bad non-2xx to $name" >&2; failed=1; }
        read -r rps p50 p99 bad < <(measure "http://127.0.0.1:$floor_port/$name" "${req[@]}")
        f_rps+=("$rps") f_p50+=("$p50") f_p99+=("$p99")
        ((bad == 0)) || { echo "the floor server answered $bad non-2xx to $name" >&2; failed=1; }
    done
    o=$(median "${o_rps[@]}") n=$(median "${n_rps[@]}") f=$(median "${f_rps[@]}")
    ours_rps[$name]=$o ours_lat[$name]=$(printf '%.2f / %.2f' "$(median "${o_p50[@]}")" "$(median "${o_p99[@]}")")
    printf '| %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f |\n' \
        "$name" "$o" "$n" "$f" "$(python3 -c "print($o / $n)")" "$(python3 -c "print($o / $f)")" \
        "$(median "${o_p50[@]}")" "$(median "${o_p99[@]}")" \
        "$(median "${n_p50[@]}")" "$(median "${n_p99[@]}")" \
        "$(median "${f_p50[@]}")" "$(median "${f_p99[@]}")"
done

if [[ -n ${REFERENCE_URL:-} ]]; then
    # The reference server always answers multipart and serves identity bytes only; its
    # launch asset URL comes from its own manifest.
    ref_common=('expo-protocol-version: 1' 'expo-platform: ios' 'expo-runtime-version: 1.0.0')
    ref_asset=$(curl -sf "$REFERENCE_URL/api/manifest" -H 'accept: multipart/mixed' \
        "${ref_common[@]/#/-H}" | python3 -c '
import re, sys
print(re.search(r"\"launchAsset\":\{[^}]*\"url\":\"([^\"]+)\"", sys.stdin.read()).group(1))')
    echo
    echo "| endpoint | ours req/s | reference req/s | ours/reference | ours p50 / p99 ms | reference p50 / p99 ms |"
    echo "|---|---|---|---|---|---|"
    for name in manifest-multipart-signed manifest-multipart asset-identity; do
        [[ -n ${ours_rps[$name]:-} ]] || continue # left out by ONLY
        IFS='|' read -ra hs <<<"${headers[$name]}"
        if [[ $name == manifest-* ]]; then
            url=$REFERENCE_URL/api/manifest req=("${hs[@]}" "${ref_common[@]}")
        else
            url=$ref_asset req=("${hs[@]}")
        fi
        r_rps=() r_p50=() r_p99=()
        for _ in $(seq "$RUNS"); do
            read -r rps p50 p99 bad < <(measure "$url" "${req[@]}")
            r_rps+=("$rps") r_p50+=("$p50") r_p99+=("$p99")
            ((bad == 0)) || { echo "the reference server answered $bad non-2xx to $name" >&2; failed=1; }
        done
        r=$(median "${r_rps[@]}")
        printf '| %s | %.0f | %.0f | %.1f | %s | %.2f / %.2f |\n' "$name" "${ours_rps[$name]}" "$r" \
            "$(python3 -c "print(${ours_rps[$name]} / $r)")" "${ours_lat[$name]}" \
            "$(median "${r_p50[@]}")" "$(median "${r_p99[@]}")"
    done
fi

if ((APPS > 0)); then
    # The same store, served by a second server that has every app configured.
    for i in $(seq "$APPS"); do
        printf '[apps.app%s]\n[[apps.app%s.signing-keys]]\nkey = "%s"\ncertificate = "%s"\n' \
            "$i" "$i" "$key" "$cert"
    done >"$work/apps.toml"
    for i in $(seq "$APPS"); do
        "$bin" --data-dir "$work/data" --app "app$i" publish "$ROOT/test-fixtures/sample-export/dist" \
            --runtime-version 1.0.0 --platform all >/dev/null 2>&1
    done
    apps_port=$(free_port)
    apps=http://127.0.0.1:$apps_port
    "$bin" --data-dir "$work/data" --config "$work/apps.toml" serve --bind "127.0.0.1:$apps_port" \
        --public-url "$apps" --signing-key "main=$key" --signing-cert "main=$cert" \
        >"$work/serve-apps.log" 2>&1 &
    apps_pid=$!
    pids+=("$apps_pid")
    for _ in $(seq 100); do curl -sf "$apps/health" >/dev/null && break; sleep 0.1; done
    probe=app$(((APPS + 1) / 2))
    curl -sf "$apps/$probe/manifest" "${common[@]}" -H 'accept: application/expo+json' |
        grep -q "$apps/$probe/assets/" || { echo "/$probe/manifest does not serve its app" >&2; exit 1; }
    echo
    echo "$APPS apps configured (plus the default app), the same update published to each:"
    echo
    echo "| endpoint | 1 app: /manifest req/s | $APPS apps: /manifest req/s | $APPS apps: /$probe/manifest req/s | /$probe vs 1 app | /$probe p50 / p99 ms |"
    echo "|---|---|---|---|---|---|"
    for name in manifest-multipart-signed manifest-json; do
        IFS='|' read -ra hs <<<"${headers[$name]}"
        req=("${hs[@]}" 'expo-protocol-version: 1' 'expo-platform: ios' 'expo-runtime-version: 1.0.0')
        s_rps=() d_rps=() a_rps=() a_p50=() a_p99=()
        for _ in $(seq "$RUNS"); do
            read -r rps _ _ bad < <(measure "$ours/manifest" "${req[@]}")
            s_rps+=("$rps")
            read -r rps _ _ bad2 < <(measure "$apps/manifest" "${req[@]}")
            d_rps+=("$rps")
            read -r rps p50 p99 bad3 < <(measure "$apps/$probe/manifest" "${req[@]}")
            a_rps+=("$rps") a_p50+=("$p50") a_p99+=("$p99")
            ((bad + bad2 + bad3 == 0)) || { echo "non-2xx answers to $name" >&2; failed=1; }
        done
        single=$(median "${s_rps[@]}") app=$(median "${a_rps[@]}")
        printf '| %s | %.0f | %.0f | %.0f | %.2f | %.2f / %.2f |\n' "$name" "$single" \
            "$(median "${d_rps[@]}")" "$app" "$(python3 -c "print($app / $single)")" \
            "$(median "${a_p50[@]}")" "$(median "${a_p99[@]}")"
    done
    apps_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$apps_pid/status")
    printf '\npeak RSS of the %s-app server: %.1f MB\n' "$APPS" "$(python3 -c "print($apps_rss_kb / 1024)")"
fi

if ((SPLIT > 0)); then
    # wrk names one of 1,000 installs per request, in turn, with or without a split.
    cat >"$work/installs.lua" <<'LUA'
local ids, n = {}, 0
for i = 1, 1000 do ids[i] = string.format("%08x-0000-4000-8000-%012x", i, i * 7919) end
request = function()
    n = n % #ids + 1
    wrk.headers["eas-client-id"] = ids[n]
    return wrk.format()
end
LUA
    "$bin" --data-dir "$work/data" publish "$ROOT/test-fixtures/sample-export/dist" \
        --runtime-version 1.0.0 --platform all --branch canary >/dev/null 2>&1
    split_on() { "$bin" --data-dir "$work/data" channel split default --split-branch canary --percent 50 >/dev/null; }
    split_off() { "$bin" --data-dir "$work/data" channel set default --branch default >/dev/null; }
    echo
    echo "the default channel: one branch, then split 50/50 between two (1,000 installs in turn):"
    echo
    echo "| endpoint | one branch req/s | split req/s | split / one | one p50 / p99 ms | split p50 / p99 ms |"
    echo "|---|---|---|---|---|---|"
    for name in manifest-multipart-signed manifest-json; do
        IFS='|' read -ra hs <<<"${headers[$name]}"
        req=("${hs[@]}" 'expo-protocol-version: 1' 'expo-platform: ios' 'expo-runtime-version: 1.0.0')
        u_rps=() u_p50=() u_p99=() s_rps=() s_p50=() s_p99=()
        for _ in $(seq "$RUNS"); do
            split_off
            sleep 1.5 # the server notices the change (it polls the store's change counter)
            read -r rps p50 p99 bad < <(WRK_SCRIPT=$work/installs.lua measure "$ours/manifest" "${req[@]}")
            u_rps+=("$rps") u_p50+=("$p50") u_p99+=("$p99")
            split_on
            sleep 1.5
            read -r rps p50 p99 bad2 < <(WRK_SCRIPT=$work/installs.lua measure "$ours/manifest" "${req[@]}")
            s_rps+=("$rps") s_p50+=("$p50") s_p99+=("$p99")
            ((bad + bad2 == 0)) || { echo "non-2xx answers to $name" >&2; failed=1; }
        done
        # Both branches were served during the split.
        served=$(for i in $(seq 16); do
            curl -sf "$ours/manifest" "${common[@]}" -H 'accept: application/expo+json' \
                -H "eas-client-id: $(printf '%08x-0000-4000-8000-%012x' "$i" $((i * 7919)))" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
        done | sort -u | wc -l)
        ((served == 2)) || { echo "the split served $served distinct updates to 16 installs, not 2" >&2; failed=1; }
        u=$(median "${u_rps[@]}") sp=$(median "${s_rps[@]}")
        printf '| %s | %.0f | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f |\n' "$name" "$u" "$sp" \
            "$(python3 -c "print($sp / $u)")" "$(median "${u_p50[@]}")" "$(median "${u_p99[@]}")" \
            "$(median "${s_p50[@]}")" "$(median "${s_p99[@]}")"
    done
fi

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
printf '\npeak RSS of expo-update-server: %.1f MB\n' "$(python3 -c "print($rss_kb / 1024)")"
exit "$failed"
