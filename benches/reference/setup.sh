#!/usr/bin/env bash
# Sets up the official Node reference server (expo/custom-expo-updates-server) on loopback
# with the committed real export and the test code-signing key, so `check` (and the load
# benchmark) can be pointed at it. Nothing of that repository is kept in this one: the
# user passes a local checkout of it.
#
#   benches/reference/setup.sh start CHECKOUT [WORKDIR]
#       copies CHECKOUT/expo-updates-server to WORKDIR (default /tmp/expo-reference-server),
#       runs npm install and next build, publishes test-fixtures/sample-export as runtime
#       version 1.0.0, and starts it on http://127.0.0.1:${PORT:-3001} (pid in WORKDIR/server.pid)
#   benches/reference/setup.sh publish [WORKDIR]
#       publishes test-fixtures/sample-export-v2 as a newer update (for the two-phase
#       asset-URL stability check; the running server picks it up from disk)
#   benches/reference/setup.sh stop [WORKDIR]
#
# Needs node 20+ and npm with access to the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PORT=${PORT:-3001}
command=${1:-}

publish() { # export-dir work-dir timestamp
    local dest=$2/updates/1.0.0/$3
    mkdir -p "$dest"
    cp -R "$1/dist/." "$dest/"
    # The reference server reads the public app config from expoConfig.json.
    cp "$ROOT/test-fixtures/sample-export/app-config.json" "$dest/expoConfig.json"
}

case $command in
start)
    checkout=${2:?usage: setup.sh start CHECKOUT [WORKDIR]}
    work=${3:-/tmp/expo-reference-server}
    [[ -d $checkout/expo-updates-server ]] || { echo "$checkout has no expo-updates-server/" >&2; exit 1; }
    mkdir -p "$work"
    # Its sources without node_modules or earlier builds.
    (cd "$checkout/expo-updates-server" && tar --exclude=node_modules --exclude=.next -cf - .) | (cd "$work" && tar -xf -)
    cd "$work"
    [[ -d node_modules/next ]] || npm install --no-audit --no-fund
    rm -rf updates && mkdir -p updates
    publish "$ROOT/test-fixtures/sample-export" "$work" 1763900000
    cp "$ROOT/crates/expo-codesign/tests/fixtures/expo-private-key.pem" code-signing-keys/private-key.pem
    cp "$ROOT/crates/expo-codesign/tests/fixtures/expo-public-key.pem" code-signing-keys/public-key.pem
    NEXT_TELEMETRY_DISABLED=1 npx next build >build.log 2>&1 || { tail -30 build.log >&2; exit 1; }
    HOSTNAME=http://127.0.0.1:$PORT PRIVATE_KEY_PATH=code-signing-keys/private-key.pem \
        NEXT_TELEMETRY_DISABLED=1 setsid nohup npx next start -p "$PORT" -H 127.0.0.1 >server.log 2>&1 &
    echo $! >server.pid
    for _ in $(seq 60); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/manifest" -H 'expo-platform: ios' \
            -H 'expo-runtime-version: 1.0.0' -H 'expo-protocol-version: 1' && break
        sleep 1
    done
    echo "reference server: http://127.0.0.1:$PORT/api/manifest (pid $(cat server.pid), logs in $work/server.log)"
    ;;
publish)
    work=${2:-/tmp/expo-reference-server}
    publish "$ROOT/test-fixtures/sample-export-v2" "$work" "$(date +%s)"
    echo "published test-fixtures/sample-export-v2 to $work/updates/1.0.0"
    ;;
stop)
    work=${2:-/tmp/expo-reference-server}
    # npx starts next as a child: end the whole process group started above.
    [[ -f $work/server.pid ]] && { kill -- "-$(cat "$work/server.pid")" 2>/dev/null || kill "$(cat "$work/server.pid")" 2>/dev/null || true; }
    rm -f "$work/server.pid"
    ;;
*)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
