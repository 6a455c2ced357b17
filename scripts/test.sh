#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the default
# test tiers (unit, integration, mount).
#
#   scripts/test.sh             default tiers, RelWithDebInfo build in build/
#   scripts/test.sh --asan      the same under AddressSanitizer + UBSan (build-asan/)
#   scripts/test.sh --tsan      unit and integration tiers under ThreadSanitizer, built
#                               with clang and -Werror=thread-safety (build-tsan/)
#   scripts/test.sh --all       all three, one after the other (what CI runs)
#   scripts/test.sh -L unit     only one tier (any further arguments go to ctest)
#
# A test that cannot run here fails instead of skipping (VODFS_NO_SKIP=1):
# everything the tests need is installed by scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--all" ]; then
  shift
  start=$SECONDS
  "$0" "$@"
  echo "test.sh: default tiers passed ($((SECONDS - start)) s)"
  "$0" --tsan "$@"
  echo "test.sh: thread-safety build and TSan passed ($((SECONDS - start)) s)"
  "$0" --asan "$@"
  echo "test.sh: ASan + UBSan passed ($((SECONDS - start)) s)"
  exit 0
fi

build_dir=build
cmake_args=()
labels='unit|integration|mount'
extra_packages=()
# Sanitizer builds trade optimisation for build time: -O1 keeps them fast
# enough to run, -g1 gives stack traces their lines.
san_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DVODFS_BUILD_BENCH=OFF)
case "${1:-}" in
  --asan)
    build_dir=build-asan
    cmake_args=("${san_flags[@]}" -DVODFS_ENABLE_ASAN=ON -DVODFS_ENABLE_UBSAN=ON)
    shift ;;
  --tsan)
    build_dir=build-tsan
    extra_packages=(clang)
    cmake_args=("${san_flags[@]}" -DCMAKE_CXX_COMPILER=clang++ -DVODFS_ENABLE_TSAN=ON)
    labels='unit|integration'
    shift ;;
esac
./scripts/install-deps.sh "${extra_packages[@]}"
./scripts/build.sh "$build_dir" "${cmake_args[@]}"

export VODFS_NO_SKIP=1
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
ctest_args=(--test-dir "$build_dir" --output-on-failure --no-tests=error -j "${VODFS_JOBS:-2}" --timeout 600)
if [ "$#" -gt 0 ]; then
  ctest "${ctest_args[@]}" "$@"
else
  ctest "${ctest_args[@]}" -L "$labels"
fi
