#!/usr/bin/env bash
# Installs what Herald needs (Debian packages) and the servers the tests run against (npm),
# builds everything with the tests and runs the whole suite through CTest. The last line is CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-tools.sh
# ccache hits across checkouts in different directories (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${HERALD_BUILD_JOBS:-2}"
cd build
ctest --output-on-failure --timeout 600 -j "${HERALD_TEST_JOBS:-2}"
