#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the default
# test tiers (unit, integration, mount).
#
#   scripts/test.sh             default tiers, RelWithDebInfo build in build/
#   scripts/test.sh --asan      the same under AddressSanitizer + UBSan (build-asan/)
#   scripts/test.sh --tsan      unit and integration tiers under ThreadSanitizer (build-tsan/)
#   scripts/test.sh -L unit     only one tier (any further arguments go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

build_dir=build
cmake_args=()
labels='unit|integration|mount'
case "${1:-}" in
  --asan) build_dir=build-asan; cmake_args=(-DVODFS_ENABLE_ASAN=ON -DVODFS_ENABLE_UBSAN=ON); shift ;;
  --tsan) build_dir=build-tsan; cmake_args=(-DVODFS_ENABLE_TSAN=ON); labels='unit|integration'; shift ;;
esac
./scripts/build.sh "$build_dir" "${cmake_args[@]}"

export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
ctest_args=(--test-dir "$build_dir" --output-on-failure -j "${VODFS_JOBS:-2}" --timeout 600)
if [ "$#" -gt 0 ]; then
  ctest "${ctest_args[@]}" "$@"
else
  ctest "${ctest_args[@]}" -L "$labels"
fi
