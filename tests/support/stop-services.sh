#!/usr/bin/env bash
# CTest cleanup fixture `services`: stops the PostgreSQL and memcached
# servers that tests started (support/services.h) and that are still
# running because a test crashed before its guards ran. Each server's pid
# was recorded in <tmp>/vodfs-test-services/<pid>; only a process with that
# pid whose command line is still postgres or memcached is stopped.
set -u
dir="${TMPDIR:-/tmp}/vodfs-test-services"
[ -d "$dir" ] || exit 0
for f in "$dir"/*; do
  [ -e "$f" ] || continue
  pid="$(basename "$f")"
  case "$pid" in *[!0-9]*) continue ;; esac
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -Eq '(^|/)(postgres|memcached) '; then
    echo "stop-services: stopping leftover $(cat "$f") (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done
exit 0
