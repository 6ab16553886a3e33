#!/usr/bin/env bash
# Installs what Herald needs (Debian packages), builds a release binary and starts
# `herald serve` on http://127.0.0.1:8080 with the embedded SQLite store in ./data.
# Extra arguments go to `herald serve` (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# ccache hits across checkouts in different directories (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target herald -j "${HERALD_BUILD_JOBS:-2}"
exec ./build-release/herald serve "$@"
