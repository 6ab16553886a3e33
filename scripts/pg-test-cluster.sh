#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the test suite, on 127.0.0.1 and a free port.
#
#   scripts/pg-test-cluster.sh start DIR   initdb in DIR/data, start, write the URL to DIR/url
#   scripts/pg-test-cluster.sh stop DIR    stop it (fast) and delete DIR
#   scripts/pg-test-cluster.sh down DIR    stop it (fast shutdown), keep its data
#   scripts/pg-test-cluster.sh up DIR      start it again, on the same port
#
# CTest runs `start` once before the storage tests and `stop` once after them (a test
# fixture), so every test shares one server and makes its own database in it. fsync is off:
# these are functional tests; benchmarks start their own durable server (bench/queue.sh).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|down|up DIR" >&2
    exit 2
fi

bin=""
for v in 15 16 17; do
    if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
        bin="/usr/lib/postgresql/$v/bin"
        break
    fi
done
if [ -z "$bin" ]; then
    echo "pg-test-cluster: PostgreSQL server binaries not found (apt-get install postgresql-15)" >&2
    exit 1
fi

# initdb refuses to run as root: run the server as the postgres user then.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    # A cluster left by an interrupted run: stop it and start afresh.
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/url.tmp"
    mv "$dir/url.tmp" "$dir/url"
    echo "pg-test-cluster: started on 127.0.0.1:$port ($dir)"
    ;;
down)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    echo "pg-test-cluster: down ($dir)"
    ;;
up)
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "pg-test-cluster: up on 127.0.0.1:$port ($dir)"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    echo "pg-test-cluster: stopped ($dir)"
    ;;
*)
    echo "usage: $0 start|stop|down|up DIR" >&2
    exit 2
    ;;
esac
