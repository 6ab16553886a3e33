#!/usr/bin/env bash
# A throwaway S3-compatible server (s3rver, from tests/tools) for the media store tests, on
# 127.0.0.1 and a free port, with one bucket, herald-test. Credentials: S3RVER / S3RVER.
#
#   scripts/s3-test-server.sh start DIR   start it; data in DIR/data, endpoint written to DIR/url
#   scripts/s3-test-server.sh stop DIR    stop it and delete DIR
#
# CTest runs `start` once before the tests that need it and `stop` once after them (a test
# fixture). s3rver does not check V4 signatures; tests/unit/sigv4_test.cpp checks the signer
# against Amazon's documented examples instead.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/tests/tools/node_modules/s3rver/bin/s3rver.js"

case "$cmd" in
start)
    if [ ! -f "$bin" ]; then
        echo "s3-test-server: s3rver is not installed (run scripts/install-test-tools.sh)" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir/data"
    node "$bin" -d "$dir/data" -a 127.0.0.1 -p 0 --silent --configure-bucket herald-test >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log" | head -1)
        if [ -n "$port" ]; then
            echo "http://127.0.0.1:$port" >"$dir/url"
            echo "s3-test-server: s3rver on http://127.0.0.1:$port, bucket herald-test"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "s3-test-server: s3rver did not start:" >&2
    cat "$dir/log" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        kill "$(cat "$dir/pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
