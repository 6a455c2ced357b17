#!/usr/bin/env bash
# Installs the Debian 12 packages vodfs needs to build, test and run the demo.
# Idempotent: only missing packages are installed.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config libfuse3-dev libcurl4-openssl-dev nlohmann-json3-dev
  libssl-dev libgtest-dev libgmock-dev libsqlite3-dev libpq-dev libmemcached-dev
  # run, demo and tests
  fuse3 ffmpeg rsync attr curl ca-certificates procps sqlite3
  # the package test: dpkg-deb, readelf, unshare
  dpkg binutils util-linux
  # fleet tests: a throw-away PostgreSQL cluster and memcached on loopback
  postgresql memcached
)
if [ "$#" -gt 0 ]; then packages+=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
