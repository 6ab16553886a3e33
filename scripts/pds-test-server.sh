#!/usr/bin/env bash
# A throwaway Bluesky PDS with its PLC directory (tests/tools/pds, on Node 22) for the Bluesky
# adapter's tests, on 127.0.0.1 and free ports.
#
#   scripts/pds-test-server.sh start DIR   start it; the PDS's URL is written to DIR/url
#   scripts/pds-test-server.sh stop DIR    stop it and delete DIR
#
# CTest runs `start` once before the tests that need it and `stop` once after them (a test
# fixture). Accounts are made by the tests (com.atproto.server.createAccount needs no invite).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
tools="$(cd "$(dirname "$0")/.." && pwd)/tests/tools/pds"

case "$cmd" in
start)
    if [ ! -x "$tools/node/bin/node" ] || [ ! -d "$tools/node_modules/@atproto/dev-env" ]; then
        echo "pds-test-server: the PDS is not installed (run scripts/install-test-tools.sh)" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$tools" && exec "$tools/node/bin/node" start.mjs) >"$dir/out" 2>"$dir/log" &
    echo $! >"$dir/pid"
    for _ in $(seq 1 600); do
        url=$(sed -n 's/.*"pds":"\([^"]*\)".*/\1/p' "$dir/out" | head -1)
        if [ -n "$url" ]; then
            echo "$url" >"$dir/url"
            echo "pds-test-server: PDS on $url"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "pds-test-server: the PDS did not start:" >&2
    tail -20 "$dir/log" >&2
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
