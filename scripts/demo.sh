#!/usr/bin/env bash
# The demo: installs what is missing, builds vodfs, makes the demo library
# (real clips made with ffmpeg), starts the VOD emulator with it and mounts
# the library at ./demo/mnt.
#
#   scripts/demo.sh         set up (or restart) the demo and mount it
#   scripts/demo.sh stop    unmount and stop the emulator
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=${VODFS_DEMO_DIR:-$root/demo}
mnt=$demo/mnt

stop() {
  if grep -qs " $mnt " /proc/mounts; then fusermount3 -u -z "$mnt" || true; fi
  if [ -f "$demo/emulator.pid" ]; then
    kill "$(cat "$demo/emulator.pid")" 2>/dev/null || true
    rm -f "$demo/emulator.pid"
  fi
}

if [ "${1:-}" = "stop" ]; then
  stop
  echo "demo stopped"
  exit 0
fi

./scripts/install-deps.sh
./scripts/build.sh build
vodfs=$root/build/mount/vodfs
emulator=$root/build/src/emulator/vodfs-emulator

mkdir -p "$demo" "$mnt"
echo "== making the demo library (ffmpeg; once) =="
"$emulator" make-demo "$demo/library"

stop
echo "== starting the VOD emulator =="
rm -f "$demo/addresses.json"
nohup "$emulator" --library "$demo/library" --address-file "$demo/addresses.json" \
  >"$demo/emulator.log" 2>&1 &
echo $! >"$demo/emulator.pid"
for _ in $(seq 100); do [ -s "$demo/addresses.json" ] && break; sleep 0.1; done
api=$(sed -n 's/.*"api": "\(.*\)".*/\1/p' "$demo/addresses.json")
control=$(sed -n 's/.*"control": "\(.*\)".*/\1/p' "$demo/addresses.json")
[ -n "$api" ] || { echo "the emulator did not start; see $demo/emulator.log" >&2; exit 1; }

# The emulator's demo account. A real account would come from the
# environment or an aliyun CLI profile instead (see README.md).
umask 077
cat >"$demo/vodfs.conf" <<CONF
endpoint = $api
access_key_id = LTAI5tEmulatorDemoKey
access_key_secret = EmulatorDemoSecret0123456789abcd
cache_dir = $demo/cache
log_file = $demo/vodfs.log
CONF
umask 022

echo "== checking the setup =="
"$vodfs" check --config "$demo/vodfs.conf"

echo "== mounting on $mnt =="
"$vodfs" --config "$demo/vodfs.conf" vod:emulator "$mnt"

video=$(ls -d "$mnt"/videos/Test\ pattern* | head -1)
echo
echo "\$ ls $mnt $mnt/videos"
ls "$mnt" "$mnt/videos"
echo
echo "\$ ls -l \"$video\""
ls -l "$video"
echo
echo "\$ ffprobe -v error -show_entries format=duration,format_name:stream=codec_name \"$video/source.mp4\""
ffprobe -v error -show_entries format=duration,format_name:stream=codec_name -of compact "$video/source.mp4"
echo
echo "\$ cp \"$video/HD.mp4\" /tmp/vodfs-demo-HD.mp4 && sha256sum ..."
cp "$video/HD.mp4" /tmp/vodfs-demo-HD.mp4
sha256sum /tmp/vodfs-demo-HD.mp4 "$video/HD.mp4"

cat <<NEXT

The demo library is mounted on $mnt (read-only). To try next:

  M=$mnt
  V="\$M/videos/$(basename "$video")"
  ls -l "\$M"/videos/*/                       every video: source, transcodes, snapshots, info.json
  ffprobe "\$V/SD.hls/index.m3u8"              HLS, straight from the mount
  ffmpeg -i "\$V/source.mp4" -c copy /tmp/copy.mp4
  rsync -a --stats "\$M"/ /tmp/backup/        twice: the second run copies nothing
  getfattr -d "\$V/HD.mp4"                     the user.vod.* attributes
  ls -l "\$M"/categories/*/                    the category tree, as symlinks
  cat "\$M"/.vodfs/stats                       counters: API calls, bytes, cache
  $vodfs api GetCategories --config $demo/vodfs.conf
  curl -s $control/counters                    what the emulator saw

Stop with: scripts/demo.sh stop
NEXT
