#!/usr/bin/env bash
# Installs what Herald needs to build, run and test, from Debian bookworm packages only.
# Safe to run again: packages already present are skipped, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config clang-format
    libboost-dev libsqlite3-dev libpq-dev postgresql-15 nlohmann-json3-dev libspdlog-dev libcli11-dev
    libsodium-dev libhowardhinnant-date-dev tzdata libcurl4-openssl-dev
    libexpected-dev libgtest-dev libgmock-dev ca-certificates curl python3
    libmagic-dev libvips-dev libicu-dev libsecp256k1-dev libssl-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
