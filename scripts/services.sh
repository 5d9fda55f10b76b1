#!/usr/bin/env bash
# Starts (or stops) the real servers the integration tests talk to, on loopback:
# a private PostgreSQL cluster and an S3-compatible server (moto). `start` prints
# the environment the tests read; the test command evals it:
#
#   eval "$(bash scripts/services.sh start)"   ...   bash scripts/services.sh stop
#
# EXPO_TEST_DATABASE_URL  postgres://... of a fresh database
# EXPO_TEST_S3_ENDPOINT   http://127.0.0.1:PORT with bucket EXPO_TEST_S3_BUCKET
set -euo pipefail
# Each `start` gets its own directory (printed as EXPO_TEST_SERVICES_DIR), so
# several test runs on one machine never share or clobber a cluster.
state=${EXPO_TEST_SERVICES_DIR:-}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
    state=$(mktemp -d "${TMPDIR:-/tmp}/expo-test-services.XXXXXX")
    chmod 755 "$state"
    echo "export EXPO_TEST_SERVICES_DIR=$state"
    local bin
    bin=$(pg_bin)
    if [[ -n $bin ]]; then
        local port=$(free_port) data=$state/pg
        rm -rf "$data"
        mkdir -p "$data"
        [[ $(id -u) == 0 ]] && chown postgres "$data"
        as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log" 2>&1
        as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
            -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
        as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres expo_test
        echo "$port" >"$state/pg.port"
        echo "export EXPO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/expo_test"
    else
        echo "services: PostgreSQL is not installed; Postgres tests will skip" >&2
    fi
    if command -v moto_server >/dev/null; then
        local port=$(free_port)
        moto_server -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
        echo $! >"$state/moto.pid"
        for _ in $(seq 100); do
            curl -s -o /dev/null "http://127.0.0.1:$port/" && break
            sleep 0.1
        done
        curl -s -X PUT -o /dev/null "http://127.0.0.1:$port/expo-test"
        echo "export EXPO_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
        echo "export EXPO_TEST_S3_BUCKET=expo-test"
        echo "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
    else
        echo "services: moto_server is not installed; S3 tests will skip" >&2
    fi
}

stop() {
    [[ -n $state && -d $state ]] || { echo "services: EXPO_TEST_SERVICES_DIR is not set" >&2; return 0; }
    local bin
    bin=$(pg_bin)
    if [[ -n $bin && -d $state/pg ]]; then
        as_postgres "$bin/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1 || true
    fi
    if [[ -f $state/moto.pid ]]; then
        kill "$(cat "$state/moto.pid")" 2>/dev/null || true
        rm -f "$state/moto.pid"
    fi
    rm -rf "$state"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
