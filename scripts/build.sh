#!/usr/bin/env bash
# Configures and builds vodfs. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
shift || true
jobs="${VODFS_JOBS:-2}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVODFS_WERROR=ON "$@" >/dev/null
elif [ "$#" -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@" >/dev/null
fi
ninja -C "$build_dir" -j"$jobs"
