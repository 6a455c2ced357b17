#!/usr/bin/env bash
# The benchmark, end to end (docs/PERFORMANCE.md): installs what it needs,
# builds vodfs and the bench tools, makes a >= 1 GiB library, starts an nginx
# origin in a network namespace with 20 ms added round trip, and measures
# vodfs, rclone mount and httpdirfs on the same files with curl and the local
# disk as limits. Prints the table; raw numbers go to bench/results/.
#
#   bench/run.sh                    everything (about an hour on 2 cores)
#   bench/run.sh --only seq fio     some workloads (seq reread fio ffprobe
#                                   remux rsync readers scale)
#   bench/run.sh --configs vodfs    only some mount configurations
#
# Needs root. Work files go to /var/tmp/vodfs-bench (--work DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: needs root (network namespace, iptables, drop_caches, FUSE)" >&2
  exit 1
fi
./scripts/install-deps.sh python3 nginx-light iptables rclone httpdirfs fio libnetfilter-queue-dev time
./scripts/build.sh build
mkdir -p bench/results
exec python3 bench/bench.py --build build --raw bench/results/raw.json --table bench/results/table.txt "$@"
