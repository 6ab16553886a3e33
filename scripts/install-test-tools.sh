#!/usr/bin/env bash
# Installs the servers the test suite starts on loopback from the npm registry, pinned by
# tests/tools/package-lock.json: s3rver, an S3-compatible server for the media store tests.
# Node.js and npm come from Debian when the machine has none. Safe to run again: nothing is
# downloaded when tests/tools/node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../tests/tools"

if ! command -v npm >/dev/null 2>&1; then
    echo "install-test-tools: installing Node.js and npm from Debian"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# npm writes node_modules/.package-lock.json after a successful install; it matches the lock
# file's packages when nothing has changed since.
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    echo "install-test-tools: up to date"
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "install-test-tools: installed $(ls node_modules | wc -l) packages"
