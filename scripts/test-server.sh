#!/usr/bin/env bash
# Throwaway servers that nobody on the team wrote, for the tests, on 127.0.0.1 and free ports
# (installed by scripts/install-test-tools.sh):
#
#   s3     s3rver, an S3-compatible server with the bucket herald-test (keys S3RVER / S3RVER);
#          it does not check V4 signatures (tests/unit/sigv4_test.cpp checks the signer)
#   pds    Bluesky's reference PDS with its PLC directory (accounts need no invite)
#   nostr  a Nostr relay that verifies every event's id and signature
#
#   scripts/test-server.sh start NAME DIR   start it; its URL is written to DIR/url
#   scripts/test-server.sh stop NAME DIR    stop it and delete DIR
#
# CTest starts one of each before the tests that need them and stops them after (the
# test_servers fixture); a test binary run by hand starts its own.
set -euo pipefail

cmd=${1:-}
name=${2:-}
dir=${3:-}
usage() {
    echo "usage: $0 start|stop s3|pds|nostr DIR" >&2
    exit 2
}
[ -n "$cmd" ] && [ -n "$name" ] && [ -n "$dir" ] || usage
dir="$(realpath -m "$dir")"
# DIR is deleted on start and stop: only ever a folder of this script's own (or a new one).
ours() { [ ! -e "$1" ] || { [ -d "$1" ] && { [ -f "$1/.herald-test-server" ] || [ -z "$(ls -A "$1")" ]; }; }; }
if ! ours "$dir"; then
    echo "test-server: $dir exists and is not a test server's folder; not touching it" >&2
    exit 2
fi
tools="$(cd "$(dirname "$0")/.." && pwd)/tests/tools"

case "$cmd" in
start)
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "test-server: $name is already running from $dir; stop it first" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir/data"
    touch "$dir/.herald-test-server"
    case "$name" in
    s3)
        need="$tools/node_modules/s3rver/bin/s3rver.js"
        run=(node "$need" -d "$dir/data" -a 127.0.0.1 -p 0 --silent --configure-bucket herald-test)
        url_of='s/.*listening on \(127\.0\.0\.1:[0-9]*\).*/http:\/\/\1/p'
        ;;
    pds)
        need="$tools/peers/node_modules/@atproto/dev-env"
        run=("$tools/peers/node/bin/node" "$tools/peers/start.mjs")
        url_of='s/.*"pds":"\([^"]*\)".*/\1/p'
        ;;
    nostr)
        need="$tools/peers/node_modules/@nostr-relay/core"
        run=("$tools/peers/node/bin/node" "$tools/peers/relay.mjs" "$dir/data")
        url_of='s/.*"relay":"\([^"]*\)".*/\1/p'
        ;;
    *) usage ;;
    esac
    if [ ! -e "$need" ]; then
        echo "test-server: $name is not installed (run scripts/install-test-tools.sh)" >&2
        exit 1
    fi
    (cd "$tools" && exec "${run[@]}") >"$dir/out" 2>"$dir/log" &
    echo $! >"$dir/pid"
    for _ in $(seq 1 600); do
        url=$(sed -n "$url_of" "$dir/out" | head -1)
        if [ -n "$url" ]; then
            echo "$url" >"$dir/url"
            echo "test-server: $name on $url"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "test-server: $name did not start:" >&2
    tail -n 20 "$dir/log" "$dir/out" >&2
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -rf "$dir"
    ;;
*) usage ;;
esac
