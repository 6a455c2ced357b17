#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the default
# test tiers (unit, integration, mount) under AddressSanitizer + UBSan.
#
#   scripts/test.sh             all tiers, ASan + UBSan build in build-asan/
#   scripts/test.sh --tsan      unit and integration tiers under ThreadSanitizer, built
#                               with clang and -Werror=thread-safety (build-tsan/)
#   scripts/test.sh --release   all tiers on the optimised build the demo runs (build/)
#   scripts/test.sh --all       the default, then --tsan (what CI runs)
#   scripts/test.sh -L unit     only one tier (any further arguments go to ctest)
#
# Two builds cover it all: every test runs under ASan + UBSan, and the
# threaded tiers again under TSan in the build whose lock annotations
# clang proves. A test that cannot run fails instead of skipping
# (VODFS_NO_SKIP=1): everything the tests need is installed by
# scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--all" ]; then
  shift
  start=$SECONDS
  "$0" "$@"
  echo "test.sh: all tiers passed under ASan + UBSan ($((SECONDS - start)) s)"
  "$0" --tsan "$@"
  echo "test.sh: the thread-safety build and TSan passed ($((SECONDS - start)) s)"
  exit 0
fi

build_dir=build-asan
labels='unit|integration|mount'
extra_packages=()
# Sanitizer builds trade optimisation for build time: -O1 keeps them fast
# enough to run, -g1 gives stack traces their lines.
san_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DVODFS_BUILD_BENCH=OFF)
cmake_args=("${san_flags[@]}" -DVODFS_ENABLE_ASAN=ON -DVODFS_ENABLE_UBSAN=ON)
case "${1:-}" in
  --release)
    build_dir=build
    cmake_args=()
    shift ;;
  --asan)  # the default, by name
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
