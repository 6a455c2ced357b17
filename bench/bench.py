#!/usr/bin/env python3
"""The vodfs benchmark (docs/PERFORMANCE.md): vodfs against rclone mount and
httpdirfs on one nginx origin with 20 ms added round trip, with curl and the
local disk as limits. Run it through bench/run.sh, which installs and builds
what it needs; this script expects root, the tools on PATH and a build tree.

Every configuration reads the same files from the same origin; every read is
checked against the origin's bytes; every number lands in the raw JSON file.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NS = "vodfsb"
HOST_IP = "10.213.0.1"
NS_IP = "10.213.0.2"
NGINX_PORT = 8080
QUEUE = 7
MiB = 1 << 20
GiB = 1 << 30

DEMO_ID = "LTAI5tEmulatorDemoKey"
DEMO_SECRET = "EmulatorDemoSecret0123456789abcd"

BIG_ID = "b16b16b16b16b16b16b16b16b16b16b1"
SMALL_ID = "5a115a115a115a115a115a115a115a11"


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=check, **kw)


def out(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True, text=True, **kw).stdout


TOOLS = [["ffprobe", "-version"], ["ffmpeg", "-version"], ["rsync", "--version"], ["fio", "--version"],
         ["curl", "--version"], ["openssl", "version"]]


def drop_caches(build=None):
    """Empties the page cache, then loads the measuring tools again: cold
    means the data, not the binaries of ffprobe or rsync."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    for t in TOOLS:
        subprocess.run(t, capture_output=True)
    if build:
        subprocess.run([str(Path(build) / "bench" / "vodfs-bench-read")], capture_output=True)


def sha256_file(path, offset=0, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while True:
            n = 8 * MiB if left is None else min(8 * MiB, left)
            if n == 0:
                break
            b = f.read(n)
            if not b:
                break
            h.update(b)
            if left is not None:
                left -= len(b)
    return h.hexdigest()


def peak_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# ---------------------------------------------------------------- the library

def make_library(root: Path):
    """A folder library: a >= 1 GiB MP4 with its moov atom at the end, a
    smaller video with a transcode, covers and an image. Reused if present."""
    lib = root / "library"
    manifest = lib / "manifest.json"
    if manifest.exists():
        return lib
    log("making the library (ffmpeg) in", lib)
    tmp = root / "gen"
    tmp.mkdir(parents=True, exist_ok=True)
    big_dir = lib / "media" / BIG_ID
    small_dir = lib / "media" / SMALL_ID
    for d in (big_dir, small_dir, lib / "images"):
        d.mkdir(parents=True, exist_ok=True)
    clip = tmp / "clip.mp4"
    # Noise keeps the bitrate high (about 150 Mbit/s), so 1 GiB is a minute.
    sh(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=11",
        "-f", "lavfi", "-i", "sine=f=440:r=48000:d=11", "-vf", "noise=alls=30:allf=t",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "14", "-g", "50",
        "-c:a", "aac", "-b:a", "128k", "-y", str(clip)])
    copies = -(-int(1.08 * GiB) // clip.stat().st_size)
    (tmp / "list.txt").write_text("".join(f"file '{clip}'\n" for _ in range(copies)))
    # The mp4 muxer writes moov after mdat unless told otherwise.
    sh(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(tmp / "list.txt"),
        "-c", "copy", "-y", str(big_dir / "source.mp4")])
    sh(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(tmp / "list.txt"),
        "-t", "5", "-c", "copy", "-y", str(small_dir / "source.mp4")])
    sh(["ffmpeg", "-v", "error", "-i", str(small_dir / "source.mp4"), "-vf", "scale=640:360",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-c:a", "copy", "-y", str(small_dir / "SD.mp4")])
    for d in (big_dir, small_dir):
        sh(["ffmpeg", "-v", "error", "-ss", "1", "-i", str(d / "source.mp4"), "-frames:v", "1", "-y",
            str(d / "cover.jpg")])
    shutil.copy(big_dir / "cover.jpg", lib / "images" / "poster.jpg")
    shutil.rmtree(tmp)
    big = big_dir / "source.mp4"
    assert big.stat().st_size >= GiB, "the big file must be at least 1 GiB"

    def video(vid, title, d, streams):
        return {"id": vid, "type": "video", "title": title, "status": "Normal", "duration": 60,
                "creation_time": "2024-05-01T10:00:00Z", "modification_time": "2024-05-01T10:00:00Z",
                "cover": f"media/{vid}/cover.jpg",
                "source": {"file": f"media/{vid}/source.mp4", "file_name": f"{title.lower()}.mp4"},
                "streams": streams}

    m = {"categories": [],
         "media": [video(BIG_ID, "Big", big_dir, []),
                   video(SMALL_ID, "Small", small_dir,
                         [{"definition": "SD", "format": "mp4", "file": f"media/{SMALL_ID}/SD.mp4",
                           "width": 640, "height": 360, "duration": 5}])],
         "images": [{"id": "1a2e1a2e1a2e1a2e1a2e1a2e1a2e1a2e", "title": "Poster", "file": "images/poster.jpg",
                     "image_type": "default", "original_file_name": "poster.jpg",
                     "creation_time": "2024-05-01T10:00:00Z"}]}
    manifest.write_text(json.dumps(m, indent=1))
    return lib


# ---------------------------------------------------------------- the network

class Network:
    """A namespace behind a veth pair; packets both ways wait `delay_ms` in an
    NFQUEUE delayer, so the round trip grows by twice that."""

    def __init__(self, build: Path, work: Path, delay_ms: float):
        self.build, self.work, self.delay_ms = build, work, delay_ms
        self.delayer = None

    def up(self):
        self.down()
        sh(f"ip netns add {NS}")
        sh(f"ip link add vb0 type veth peer name vb1")
        sh(f"ip link set vb1 netns {NS}")
        sh(f"ip addr add {HOST_IP}/24 dev vb0 && ip link set vb0 up")
        sh(f"ip netns exec {NS} sh -c 'ip addr add {NS_IP}/24 dev vb1 && ip link set vb1 up && ip link set lo up'")
        self.delayer = subprocess.Popen([str(self.build / "bench" / "vodfs-nfq-delay"), "--queue", str(QUEUE),
                                         "--delay-ms", str(self.delay_ms / 2)],
                                        stderr=open(self.work / "delayer.log", "w"))
        time.sleep(0.3)
        if self.delayer.poll() is not None:
            raise RuntimeError("the NFQUEUE delayer did not start: " + (self.work / "delayer.log").read_text())
        # No --queue-bypass: without the delayer, packets wait, never skip it.
        sh(f"iptables -I OUTPUT -d {NS_IP}/32 -j NFQUEUE --queue-num {QUEUE}")
        sh(f"iptables -I INPUT -s {NS_IP}/32 -j NFQUEUE --queue-num {QUEUE}")

    def down(self):
        for chain, flag in (("OUTPUT", "-d"), ("INPUT", "-s")):
            while subprocess.run(f"iptables -D {chain} {flag} {NS_IP}/32 -j NFQUEUE --queue-num {QUEUE}",
                                 shell=True, capture_output=True).returncode == 0:
                pass
        if self.delayer and self.delayer.poll() is None:
            self.delayer.send_signal(signal.SIGTERM)
            self.delayer.wait(10)
        subprocess.run(f"ip netns pids {NS} 2>/dev/null | xargs -r kill", shell=True)
        subprocess.run(f"ip link del vb0 2>/dev/null; ip netns del {NS} 2>/dev/null", shell=True)

    def rtt_ms(self):
        # A TCP handshake is one round trip.
        t = out(["curl", "-s", "-o", "/dev/null", "-w", "%{time_connect}", f"http://{NS_IP}:{NGINX_PORT}/"])
        return float(t) * 1000


class Nginx:
    def __init__(self, lib: Path, work: Path):
        self.lib, self.work = lib, work
        self.access = work / "nginx-access.log"
        self.mark = 0

    def start(self):
        conf = self.work / "nginx.conf"
        conf.write_text(f"""
worker_processes 2;
daemon on;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log;
events {{ worker_connections 8192; }}
http {{
  log_format bench '$request_method $uri $status $body_bytes_sent $http_range';
  access_log {self.access} bench;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  types {{ video/mp4 mp4; image/jpeg jpg; application/json json; }}
  server {{
    listen {NS_IP}:{NGINX_PORT};
    root {self.lib};
    autoindex on;
  }}
}}
""")
        self.access.write_text("")
        sh(["ip", "netns", "exec", NS, "nginx", "-c", str(conf)])

    def stop(self):
        pid = self.work / "nginx.pid"
        if pid.exists():
            subprocess.run(["kill", pid.read_text().strip()], capture_output=True)
            time.sleep(0.3)

    def begin(self):
        # nginx writes a line when a response ends; give stragglers a moment.
        time.sleep(0.5)
        self.mark = self.access.stat().st_size

    def since(self):
        """(media bytes, requests) logged since begin(): file bodies only,
        not directory listings."""
        time.sleep(0.5)
        with open(self.access, "rb") as f:
            f.seek(self.mark)
            text = f.read().decode(errors="replace")
        nbytes = nreq = 0
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4 or parts[1].endswith("/"):
                continue
            nbytes += int(parts[3])
            nreq += 1
        return nbytes, nreq


class Emulator:
    def __init__(self, build: Path, work: Path, args):
        self.build, self.work, self.args = build, work, args
        self.proc = None
        self.addr = {}

    def start(self):
        addr_file = self.work / "emulator-addr.json"
        if addr_file.exists():
            addr_file.unlink()
        cmd = ["ip", "netns", "exec", NS, str(self.build / "src" / "emulator" / "vodfs-emulator"),
               "--bind", NS_IP, "--address-file", str(addr_file)] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.work / "emulator.log", "w"))
        for _ in range(600):
            if addr_file.exists() and addr_file.stat().st_size > 0:
                self.addr = json.loads(addr_file.read_text())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("the emulator did not start: " + (self.work / "emulator.log").read_text()[-2000:])

    def control(self, path):
        # The control endpoint listens on the namespace's loopback.
        return json.loads(out(["ip", "netns", "exec", NS, "curl", "-s", "-f", self.addr["control"] + path]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------- the mounts

class Mount:
    """One mounted configuration; `big` and `tree` are paths on it."""
    name = ""

    def __init__(self, bench):
        self.b = bench
        self.mnt = Path(tempfile.mkdtemp(prefix=f"mnt-{self.name}-", dir=bench.work))
        self.pid = None

    def unmount(self, keep_cache=False):
        """Unmounts and waits for the process to end; the cache directory
        goes too unless kept for a remount."""
        subprocess.run(["fusermount3", "-u", "-z", str(self.mnt)], capture_output=True)
        if self.pid:
            for _ in range(300):
                if not Path(f"/proc/{self.pid}").exists():
                    break
                time.sleep(0.1)
        try:
            self.mnt.rmdir()
        except OSError:
            pass
        cache = getattr(self, "cache_dir", None)
        if cache and not keep_cache:
            shutil.rmtree(cache, ignore_errors=True)

    def wait_mounted(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.ismount(self.mnt):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not mount")

    def find_pid(self, pattern):
        r = subprocess.run(["pgrep", "-n", "-f", pattern], capture_output=True, text=True)
        return int(r.stdout.split()[0]) if r.returncode == 0 and r.stdout.strip() else None

    def alive(self):
        return bool(self.pid) and Path(f"/proc/{self.pid}").exists()

    def peak_rss_mib(self):
        k = peak_rss_kib(self.pid) if self.pid else None
        return None if k is None else k / 1024

    def origin_bytes(self):
        return None  # from nginx's log


class VodfsMount(Mount):
    name = "vodfs"

    def __init__(self, bench, cache_dir=None, extra=(), find_big=True):
        super().__init__(bench)
        self.cache_dir = cache_dir or Path(tempfile.mkdtemp(prefix="vodfs-cache-", dir=bench.work))
        env = dict(os.environ, ALIBABA_CLOUD_ACCESS_KEY_ID=DEMO_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET=DEMO_SECRET,
                   ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
        log_file = bench.work / "vodfs.log"
        self.proc = subprocess.Popen([str(bench.build / "mount" / "vodfs"), bench.emulator.addr["api"], str(self.mnt),
                                      "-f", "--cache_dir", str(self.cache_dir), *extra],
                                     env=env, stdout=subprocess.DEVNULL, stderr=open(log_file, "a"))
        self.pid = self.proc.pid
        self.wait_mounted()
        self.big = None  # not in a synthetic library
        if find_big:
            videos = self.mnt / "videos"
            big = next((p for p in videos.iterdir() if p.name.endswith(f"[{BIG_ID}]")), None)
            self.big = big / "source.mp4" if big else None
        self.tree = self.mnt

    def stats(self):
        return json.loads((self.mnt / ".vodfs" / "stats").read_text())

    def unmount(self, keep_cache=False):
        super().unmount(keep_cache)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class RcloneMount(Mount):
    def __init__(self, bench, mode):
        self.name = f"rclone-{mode}"
        super().__init__(bench)
        self.cache_dir = Path(tempfile.mkdtemp(prefix="rclone-cache-", dir=bench.work))
        conf = bench.work / "rclone.conf"
        conf.touch()
        sh(["rclone", "mount", ":http:", str(self.mnt), "--http-url", f"http://{NS_IP}:{NGINX_PORT}/",
            "--read-only", "--vfs-cache-mode", mode, "--cache-dir", str(self.cache_dir), "--config", str(conf),
            "--daemon", "--log-file", str(bench.work / f"{self.name}.log")])
        self.wait_mounted()
        self.pid = self.find_pid(f"rclone mount :http: {self.mnt}")
        self.big = self.mnt / "media" / BIG_ID / "source.mp4"
        self.tree = self.mnt


class HttpdirfsMount(Mount):
    def __init__(self, bench, cache):
        self.name = "httpdirfs-cache" if cache else "httpdirfs"
        super().__init__(bench)
        args = ["httpdirfs", "--no-range-check"]
        if cache:
            self.cache_dir = Path(tempfile.mkdtemp(prefix="httpdirfs-cache-", dir=bench.work))
            args += ["--cache", "--cache-location", str(self.cache_dir)]
        sh(args + [f"http://{NS_IP}:{NGINX_PORT}/", str(self.mnt)], stdout=subprocess.DEVNULL,
           stderr=open(bench.work / f"{self.name}.log", "a"))
        self.wait_mounted()
        self.pid = self.find_pid(f"httpdirfs.*{self.mnt}")
        self.big = self.mnt / "media" / BIG_ID / "source.mp4"
        self.tree = self.mnt


# ---------------------------------------------------------------- the workloads

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = Path(args.build).resolve()
        self.work = Path(args.work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.results = {"rows": {}, "checks": [], "environment": {}}
        self.failures = []
        self.timeout = args.timeout

    # -- helpers
    PEERS = ("rclone-off", "rclone-full", "httpdirfs", "httpdirfs-cache")

    def check(self, what, ok, detail=""):
        # A peer's wrong bytes are a finding of the benchmark; vodfs' (or the
        # limits') fail it.
        peer = next((p for p in self.PEERS if f" {p} " in f" {what} "), None)
        self.results["checks"].append({"check": what, "ok": bool(ok), "detail": detail, "peer": peer})
        if not ok:
            if not peer:
                self.failures.append(f"{what}: {detail}")
            log("CHECK FAILED:", what, detail)

    def record(self, row, config, **values):
        self.results["rows"].setdefault(row, {})[config] = values
        log(f"{row:<22} {config:<16} " + " ".join(f"{k}={v}" for k, v in values.items()))
        self.save()

    def save(self):
        Path(self.args.raw).write_text(json.dumps(self.results, indent=1))

    def repeated(self, row, config, once, key, higher):
        """Runs `once` (one cold measurement: a dict of values, None on a
        timeout) up to --repeats times, fewer when a run takes longer than
        --repeat-under seconds, and records the median run by `key` along
        with every run's value of it."""
        runs = []
        for _ in range(self.args.repeats):
            r = once()
            if r is None:
                break
            runs.append(r)
            if r.get("seconds", 0) > self.args.repeat_under:
                break
        if not runs:
            self.record(row, config, timeout=self.timeout)
            return
        ordered = sorted(runs, key=lambda r: r[key], reverse=higher)
        chosen = dict(ordered[len(ordered) // 2])
        chosen["runs"] = [r[key] for r in runs]
        self.record(row, config, **chosen)

    def run_timed(self, cmd, **kw):
        """(seconds, CompletedProcess) or (None, None) on timeout."""
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, **kw)
        except subprocess.TimeoutExpired:
            return None, None
        return time.monotonic() - t0, p

    def mounts(self, which):
        makers = {
            "vodfs": lambda: VodfsMount(self),
            "rclone-off": lambda: RcloneMount(self, "off"),
            "rclone-full": lambda: RcloneMount(self, "full"),
            "httpdirfs": lambda: HttpdirfsMount(self, False),
            "httpdirfs-cache": lambda: HttpdirfsMount(self, True),
        }
        return [(n, makers[n]) for n in which]

    def cold(self, make):
        drop_caches(self.build)
        m = make()
        drop_caches(self.build)
        return m

    def read_file(self, path, **kw):
        cmd = [str(self.build / "bench" / "vodfs-bench-read"), str(path)]
        for k, v in kw.items():
            cmd += [f"--{k}", str(v)]
        t, p = self.run_timed(cmd)
        if t is None:
            return None
        r = json.loads(p.stdout) if p.stdout.strip() else {"error": p.stderr}
        r["wall"] = t
        return r

    # -- set-up
    def setup(self):
        # What an interrupted run left behind.
        for d in self.work.iterdir():
            if d.is_dir() and re.match(r"(mnt|vodfs-cache|rclone-cache|httpdirfs-cache|rsync)-", d.name):
                subprocess.run(["fusermount3", "-u", "-z", str(d)], capture_output=True)
                shutil.rmtree(d, ignore_errors=True)
        self.lib = make_library(self.work)
        self.big_local = self.lib / "media" / BIG_ID / "source.mp4"
        self.big_size = self.big_local.stat().st_size
        log("hashing the origin's copy")
        self.big_sha = sha256_file(self.big_local)
        self.net = Network(self.build, self.work, self.args.rtt_ms)
        self.net.up()
        self.nginx = Nginx(self.lib, self.work)
        self.nginx.start()
        self.emulator = Emulator(self.build, self.work, ["--library", str(self.lib), "--external-origin",
                                                         f"http://{NS_IP}:{NGINX_PORT}"])
        self.emulator.start()
        rtt = sum(self.net.rtt_ms() for _ in range(5)) / 5
        self.results["environment"] = {
            "rtt_ms": round(rtt, 2), "kernel": os.uname().release, "cpus": os.cpu_count(),
            "big_file_bytes": self.big_size,
            "rclone": out(["rclone", "version"]).splitlines()[0],
            "httpdirfs": out("httpdirfs --version 2>&1 | head -1").strip(),
            "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        log(f"origin up: RTT {rtt:.1f} ms")
        self.check("round trip near the target", abs(rtt - self.args.rtt_ms) < 0.5 * self.args.rtt_ms + 2,
                   f"{rtt:.1f} ms")

    def teardown(self):
        subprocess.run("for m in $(grep -o '/[^ ]*/mnt-[^ ]*' /proc/mounts); do fusermount3 -u -z $m; done",
                       shell=True, capture_output=True)
        subprocess.run(["pkill", "-f", "rclone mount :http:"], capture_output=True)
        if hasattr(self, "emulator"):
            self.emulator.stop()
        if hasattr(self, "nginx"):
            self.nginx.stop()
        if hasattr(self, "net"):
            self.net.down()

    # -- limits
    def curl_sequential(self):
        url = f"http://{NS_IP}:{NGINX_PORT}/media/{BIG_ID}/source.mp4"
        shm = Path(tempfile.mkdtemp(prefix="vodfs-bench-", dir="/dev/shm"))

        def once(streams):
            part = -(-self.big_size // streams)
            t0 = time.monotonic()
            procs = [subprocess.Popen(["curl", "-s", "-f", "-r", f"{i * part}-{min(self.big_size, (i + 1) * part) - 1}",
                                       "-o", str(shm / f"p{i}"), url]) for i in range(streams)]
            ok = all(p.wait() == 0 for p in procs)
            t = time.monotonic() - t0
            h = hashlib.sha256()
            for i in range(streams):
                with open(shm / f"p{i}", "rb") as f:
                    while b := f.read(8 * MiB):
                        h.update(b)
                (shm / f"p{i}").unlink()
            self.check(f"curl {streams} stream(s) bytes", ok and h.hexdigest() == self.big_sha)
            return {"mib_s": round(self.big_size / MiB / t, 1), "seconds": round(t, 2)}

        try:
            for streams in (1, 4):
                self.repeated("seq_cold", f"curl-{streams}", lambda: once(streams), "mib_s", True)
        finally:
            shutil.rmtree(shm, ignore_errors=True)

    def local_sequential(self, row):
        def once():
            drop_caches(self.build)
            r = self.read_file(self.big_local)
            self.check(f"{row} local bytes", r and r["sha256"] == self.big_sha)
            return {"mib_s": round(r["mib_s"], 1), "seconds": round(r["seconds"], 2)}

        self.repeated(row, "local", once, "mib_s", True)

    # -- workloads
    def seq_cold(self, configs):
        for name, make in self.mounts(configs):
            def once():
                m = self.cold(make)
                try:
                    self.nginx.begin()
                    r = self.read_file(m.big)
                    fetched, _ = self.nginx.since()
                    if r is None:
                        return None
                    self.check(f"seq_cold {name} bytes", r.get("sha256") == self.big_sha, r.get("error", ""))
                    rss = m.peak_rss_mib()
                    return {"mib_s": round(r["mib_s"], 1), "seconds": round(r["seconds"], 2),
                            "origin_mib": round(fetched / MiB, 1), "peak_rss_mib": round(rss, 1) if rss else None}
                finally:
                    m.unmount()

            self.repeated("seq_cold", name, once, "mib_s", True)

    def reread_after_remount(self, configs):
        """Read once through a mount, unmount, drop caches, mount again on the
        same cache and read again: what a persistent cache gives."""
        for name, make in self.mounts(configs):
            m = make()
            try:
                warm = self.read_file(m.big)
            finally:
                m.unmount(keep_cache=True)
            if warm is None:
                self.record("reread_remount", name, timeout=self.timeout)
                continue
            cache = getattr(m, "cache_dir", None)
            if name == "vodfs":
                again = lambda: VodfsMount(self, cache_dir=cache)
            elif name.startswith("rclone"):
                again = lambda: self._rclone_again(m)
            else:
                again = lambda: self._httpdirfs_again(m)

            def once():
                m2 = self.cold(again)
                try:
                    self.nginx.begin()
                    r = self.read_file(m2.big)
                    fetched, _ = self.nginx.since()
                    if r is None:
                        return None
                    self.check(f"reread_remount {name} bytes", r.get("sha256") == self.big_sha)
                    return {"mib_s": round(r["mib_s"], 1), "seconds": round(r["seconds"], 2),
                            "origin_mib": round(fetched / MiB, 2)}
                finally:
                    m2.unmount(keep_cache=True)

            self.repeated("reread_remount", name, once, "mib_s", True)
            if cache:
                shutil.rmtree(cache, ignore_errors=True)

    def _rclone_again(self, old):
        m = RcloneMount.__new__(RcloneMount)
        m.name = old.name
        Mount.__init__(m, self)
        m.cache_dir = old.cache_dir
        mode = old.name.split("-", 1)[1]
        sh(["rclone", "mount", ":http:", str(m.mnt), "--http-url", f"http://{NS_IP}:{NGINX_PORT}/",
            "--read-only", "--vfs-cache-mode", mode, "--cache-dir", str(m.cache_dir),
            "--config", str(self.work / "rclone.conf"), "--daemon", "--log-file", str(self.work / f"{m.name}.log")])
        m.wait_mounted()
        m.pid = m.find_pid(f"rclone mount :http: {m.mnt}")
        m.big = m.mnt / "media" / BIG_ID / "source.mp4"
        m.tree = m.mnt
        return m

    def _httpdirfs_again(self, old):
        m = HttpdirfsMount.__new__(HttpdirfsMount)
        m.name = old.name
        Mount.__init__(m, self)
        args = ["httpdirfs", "--no-range-check"]
        if getattr(old, "cache_dir", None):
            m.cache_dir = old.cache_dir
            args += ["--cache", "--cache-location", str(m.cache_dir)]
        sh(args + [f"http://{NS_IP}:{NGINX_PORT}/", str(m.mnt)], stdout=subprocess.DEVNULL,
           stderr=open(self.work / f"{m.name}.log", "a"))
        m.wait_mounted()
        m.pid = m.find_pid(f"httpdirfs.*{m.mnt}")
        m.big = m.mnt / "media" / BIG_ID / "source.mp4"
        m.tree = m.mnt
        return m

    def random_ranges(self, seed, count, size=64 * 1024):
        rng = random.Random(seed)
        blocks = self.big_size // size
        return [(rng.randrange(blocks) * size, size) for _ in range(count)]

    def fio_random(self, configs):
        count = self.args.random_reads
        url = f"http://{NS_IP}:{NGINX_PORT}/media/{BIG_ID}/source.mp4"
        for jobs in (1, 4):
            row = f"fio_rand_{jobs}job"
            lists = [self.random_ranges(1000 * jobs + j, count) for j in range(jobs)]
            asked = sum(l for lst in lists for _, l in lst)
            ranges_file = self.work / f"ranges-{jobs}.txt"
            ranges_file.write_text("".join(f"{o} {l}\n" for lst in lists for o, l in lst))
            # curl issuing the same ranges, one connection per job.
            cfgs = []
            for j, lst in enumerate(lists):
                c = self.work / f"curl-ranges-{jobs}-{j}.conf"
                c.write_text("next\n".join(f'url = "{url}"\nrange = "{o}-{o + l - 1}"\noutput = "/dev/null"\nfail\n'
                                           for o, l in lst))
                cfgs.append(c)

            def curl_once():
                t0 = time.monotonic()
                procs = [subprocess.Popen(["curl", "-s", "-K", str(c)]) for c in cfgs]
                ok = all(p.wait() == 0 for p in procs)
                t = time.monotonic() - t0
                self.check(f"curl random {jobs} job(s)", ok)
                return {"iops": round(jobs * count / t, 1), "seconds": round(t, 2)}

            self.repeated(row, "curl", curl_once, "iops", True)
            for name, make in self.mounts(configs):
                def once():
                    m = self.cold(make)
                    try:
                        # fio's iolog is space-separated: a name without spaces.
                        target = self.work / "fio-target"
                        if target.is_symlink() or target.exists():
                            target.unlink()
                        target.symlink_to(m.big)
                        text = "[global]\nioengine=psync\nthread=1\ngroup_reporting=1\ninvalidate=1\nfadvise_hint=random\n"
                        for j, lst in enumerate(lists):
                            log_path = self.work / f"fio-{jobs}-{j}.iolog"
                            log_path.write_text("fio version 2 iolog\n" + f"{target} add\n{target} open\n" +
                                                "".join(f"{target} read {o} {l}\n" for o, l in lst) +
                                                f"{target} close\n")
                            text += f"[job{j}]\nread_iolog={log_path}\n"
                        job = self.work / f"fio-{jobs}.fio"
                        job.write_text(text)
                        self.nginx.begin()
                        t, p = self.run_timed(["fio", "--output-format=json", str(job)])
                        fetched, nreq = self.nginx.since()
                        if t is None:
                            return None
                        if p.returncode != 0:
                            self.check(f"fio {name} {jobs} job(s) ran", False, p.stderr[-500:])
                            return None
                        rd = json.loads(p.stdout[p.stdout.index("{"):])["jobs"][0]["read"]
                        # The same ranges read back through the mount, checked.
                        v = subprocess.run([str(self.build / "bench" / "vodfs-bench-read"), "--ranges", str(ranges_file),
                                            "--ref", str(self.big_local), str(m.big)], capture_output=True, text=True,
                                           timeout=self.timeout)
                        vr = json.loads(v.stdout) if v.stdout.strip() else {}
                        self.check(f"{row} {name} bytes", v.returncode == 0,
                                   (v.stdout.strip() or v.stderr.strip())[-500:] +
                                   ("" if m.alive() else f" ({name} is no longer running)"))
                        rss = m.peak_rss_mib()
                        return {"iops": round(rd["iops"], 1), "seconds": round(t, 2), "ios": rd["total_ios"],
                                "origin_mib": round(fetched / MiB, 2), "asked_mib": round(asked / MiB, 2),
                                "origin_ratio": round(fetched / asked, 2), "requests": nreq,
                                "zero_filled": vr.get("zero_filled"), "peak_rss_mib": round(rss, 1) if rss else None}
                    finally:
                        m.unmount()

                self.repeated(row, name, once, "iops", True)

    def ffprobe_cold(self, configs):
        cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json"]
        ref_j = json.loads(out(cmd + [str(self.big_local)]))

        def local():
            drop_caches(self.build)
            t, _ = self.run_timed(cmd + [str(self.big_local)])
            return {"seconds": round(t, 3)}

        self.repeated("ffprobe_cold", "local", local, "seconds", False)
        for name, make in self.mounts(configs):
            def once():
                m = self.cold(make)
                try:
                    self.nginx.begin()
                    t, p = self.run_timed(cmd + [str(m.big)])
                    fetched, nreq = self.nginx.since()
                    if t is None:
                        return None
                    got = json.loads(p.stdout) if p.returncode == 0 else {}
                    same = got.get("streams") == ref_j["streams"] and \
                        got.get("format", {}).get("duration") == ref_j["format"]["duration"]
                    self.check(f"ffprobe {name} output", same, p.stderr[-300:])
                    return {"seconds": round(t, 3), "origin_mib": round(fetched / MiB, 2), "requests": nreq}
                finally:
                    m.unmount()

            self.repeated("ffprobe_cold", name, once, "seconds", False)

    def remux_cold(self, configs):
        def remux(path):
            cmd = (f"ffmpeg -v error -i '{path}' -map 0 -c copy -fflags +bitexact -flags:v +bitexact "
                   f"-flags:a +bitexact -f matroska - | openssl dgst -sha256 -r")
            t, p = self.run_timed(["bash", "-o", "pipefail", "-c", cmd])
            return t, (p.stdout.split()[0] if p and p.returncode == 0 and p.stdout else None)

        ref = remux(self.big_local)[1]

        def local():
            drop_caches(self.build)
            t, h = remux(self.big_local)
            return {"seconds": round(t, 2)}

        self.repeated("remux_cold", "local", local, "seconds", False)
        for name, make in self.mounts(configs):
            def once():
                m = self.cold(make)
                try:
                    self.nginx.begin()
                    t, h = remux(m.big)
                    fetched, _ = self.nginx.since()
                    if t is None:
                        return None
                    self.check(f"remux {name} output", h == ref, f"{h} vs {ref}")
                    return {"seconds": round(t, 2), "origin_mib": round(fetched / MiB, 1)}
                finally:
                    m.unmount()

            self.repeated("remux_cold", name, once, "seconds", False)

    def rsync(self, configs):
        for name, make in self.mounts(configs):
            second = {}

            def once():
                m = self.cold(make)
                dest = Path(tempfile.mkdtemp(prefix=f"rsync-{name}-", dir=self.work))
                try:
                    self.nginx.begin()
                    t, p = self.run_timed(["rsync", "-a", "--stats", f"{m.tree}/", f"{dest}/"])
                    fetched, _ = self.nginx.since()
                    if t is None:
                        return None
                    self.check(f"rsync {name} first run", p.returncode == 0, p.stderr[-300:])
                    copied_big = dest / m.big.relative_to(m.tree)
                    self.check(f"rsync {name} bytes", copied_big.exists() and sha256_file(copied_big) == self.big_sha)
                    # The second run, on the same mount: nothing changed.
                    self.nginx.begin()
                    t2, p2 = self.run_timed(["rsync", "-a", "--stats", f"{m.tree}/", f"{dest}/"])
                    fetched2, _ = self.nginx.since()
                    files = re.search(r"Number of regular files transferred: ([\d,]+)", p2.stdout if p2 else "")
                    nfiles = int(files.group(1).replace(",", "")) if files else None
                    second.update(seconds=round(t2, 2) if t2 else None, files=nfiles, origin_bytes=fetched2)
                    if name == "vodfs":
                        self.check("rsync vodfs second run copies nothing", nfiles == 0 and fetched2 == 0,
                                   f"{nfiles} files, {fetched2} bytes")
                    return {"seconds": round(t, 2), "origin_mib": round(fetched / MiB, 1)}
                finally:
                    m.unmount()
                    shutil.rmtree(dest, ignore_errors=True)

            self.repeated("rsync_first", name, once, "seconds", False)
            if second:
                self.record("rsync_second", name, **second)

    def parallel_readers(self, configs, readers=16):
        budget = self.args.memory_budget_mib
        span = -(-self.big_size // readers)
        expect = [sha256_file(self.big_local, i * span, min(span, self.big_size - i * span)) for i in range(readers)]
        for name, make in self.mounts(configs):
            if name == "vodfs":
                make = lambda: VodfsMount(self, extra=["--memory_cache_size", f"{budget}M"])

            def once():
                m = self.cold(make)
                try:
                    self.nginx.begin()
                    t0 = time.monotonic()
                    procs = [subprocess.Popen([str(self.build / "bench" / "vodfs-bench-read"), str(m.big),
                                               "--from", str(i * span), "--length", str(span)],
                                              stdout=subprocess.PIPE, text=True) for i in range(readers)]
                    results = []
                    for p in procs:
                        try:
                            o, _ = p.communicate(timeout=self.timeout)
                            results.append(json.loads(o) if o.strip() else None)
                        except subprocess.TimeoutExpired:
                            p.kill()
                            results.append(None)
                    t = time.monotonic() - t0
                    fetched, _ = self.nginx.since()
                    good = all(r and r["sha256"] == e for r, e in zip(results, expect))
                    self.check(f"16 readers {name} bytes", good)
                    rss = m.peak_rss_mib()
                    return {"seconds": round(t, 2), "mib_s": round(self.big_size / MiB / t, 1),
                            "peak_rss_mib": round(rss, 1) if rss else None,
                            "budget_mib": budget if name == "vodfs" else None, "origin_mib": round(fetched / MiB, 1)}
                finally:
                    m.unmount()

            # The worst run counts for memory: no median here.
            runs = [r for r in (once() for _ in range(self.args.repeats)) if r]
            if not runs:
                self.record("readers_16", name, timeout=self.timeout)
                continue
            worst = max(runs, key=lambda r: r["peak_rss_mib"] or 0)
            worst = dict(worst)
            worst["runs"] = [r["peak_rss_mib"] for r in runs]
            self.record("readers_16", name, **worst)

    # -- the library index at scale
    def control_post(self, em, path, body):
        return json.loads(out(["ip", "netns", "exec", NS, "curl", "-s", "-f", "-X", "POST", "-H",
                               "Content-Type: application/json", "--data-binary", json.dumps(body),
                               em.addr["control"] + path]))

    def control_delete(self, em, path):
        out(["ip", "netns", "exec", NS, "curl", "-s", "-f", "-X", "DELETE", em.addr["control"] + path])

    def api_calls(self, em, since=None):
        """(total, by operation) of the emulator's API calls, less `since`
        (an earlier result) when given: /reset would also undo the library's
        changes."""
        c = em.control("/counters")["api"]
        total, by_op = c["total"], dict(c["calls"])
        if since:
            total -= since[0]
            by_op = {k: v - since[1].get(k, 0) for k, v in by_op.items() if v - since[1].get(k, 0)}
        return total, by_op

    def wait_sync(self, m, syncs_before, timeout=3600):
        """Waits until the mount finished a sync after `syncs_before`; the
        sync's own numbers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            i = m.stats()["index"]
            if i["syncs"] > syncs_before and not i["sync"]["running"]:
                return i
            time.sleep(0.2)
        raise RuntimeError("the sync did not finish")

    def scale(self):
        """The library index at scale, at the documented QPS: the first sync
        of a large synthetic library, a warm remount, syncs of it unchanged,
        with 1% of its media changed and with a few deleted; then a remount,
        find and rsync of a smaller one (per-video API calls)."""
        n = self.args.index_videos
        self.emulator.stop()
        em = Emulator(self.build, self.work, ["--synthetic", str(n), "--synthetic-size", "1M"])
        em.start()
        saved, self.emulator = self.emulator, em
        cache = Path(tempfile.mkdtemp(prefix="vodfs-cache-", dir=self.work))
        try:
            # First sync: the mount appears at once, the listing waits for it.
            t0 = time.monotonic()
            m = VodfsMount(self, cache_dir=cache, find_big=False)
            mounted = time.monotonic() - t0
            while not m.stats()["index"]["complete"]:
                time.sleep(0.5)
            t_sync = time.monotonic() - t0
            total, by_op = self.api_calls(em)
            # The paging minimum: a call per 100 videos, one for the (empty)
            # audio and images; at SearchMedia's 50 calls/s.
            minimum = -(-n // 100) + 2
            min_seconds = minimum / 50
            rss = m.peak_rss_mib()
            self.record("index_first_sync", str(n), seconds=round(t_sync, 1), mount_seconds=round(mounted, 2),
                        api_calls=total, min_calls=minimum, calls_ratio=round(total / minimum, 4),
                        min_seconds=round(min_seconds, 1), time_ratio=round(t_sync / min_seconds, 3),
                        peak_rss_mib=round(rss, 1) if rss else None, calls_by_op=by_op)
            m.unmount(keep_cache=True)

            # Warm remount: every API call now takes 5 s, so that a listing
            # that needed one could not answer sooner, and none is counted
            # (the emulator counts a call when it answers) before it does.
            self.control_post(em, "/faults", {"target": "api", "match": "*", "kind": "latency", "ms": 5000,
                                              "count": -1})
            base = self.api_calls(em)
            drop_caches(self.build)
            t0 = time.monotonic()
            m = VodfsMount(self, cache_dir=cache, find_big=False)
            mounted = time.monotonic() - t0
            entries = 0
            first = None
            with os.scandir(m.mnt / "videos") as it:  # ls -f: names only, in the order served
                for _ in it:
                    if first is None:
                        first = time.monotonic() - t0
                        answered_before, _ = self.api_calls(em, base)
                    entries += 1
            t_all = time.monotonic() - t0
            rss = m.peak_rss_mib()
            self.check(f"index warm remount lists {n} videos", entries == n, f"{entries}")
            self.record("index_warm_remount", str(n), mount_seconds=round(mounted, 3),
                        first_entries_seconds=round(first or 0, 3), ls_seconds=round(t_all, 2), entries=entries,
                        api_calls_before_listing=answered_before, peak_rss_mib=round(rss, 1) if rss else None)
            self.control_delete(em, "/faults")
            # The sync the remount started, still waiting behind the delay.
            self.wait_sync(m, 0)

            # An unchanged library.
            base = self.api_calls(em)
            before = m.stats()["index"]["syncs"]
            os.kill(m.pid, signal.SIGHUP)
            self.wait_sync(m, before)
            total, by_op = self.api_calls(em, base)
            self.record("index_unchanged_sync", str(n), api_calls=total, calls_by_op=by_op)

            # 1% of the media changed: most modified (titles), some added.
            added = max(1, n // 1000)
            modified = n // 100 - added
            changed = self.control_post(em, "/library/changes", [
                {"op": "modify", "kind": "media", "count": modified, "seed": 7, "title": "Renamed"},
                {"op": "add", "kind": "media", "type": "video", "count": added, "title": "New clip"}])
            base = self.api_calls(em)
            before = m.stats()["index"]["syncs"]
            os.kill(m.pid, signal.SIGHUP)
            info = self.wait_sync(m, before)
            total, by_op = self.api_calls(em, base)
            # The minimum: the changed media in pages of 100, and the checks
            # an unchanged library costs.
            minimum = -(-(modified + added) // 100) + 6
            listed = sum(1 for _ in os.scandir(m.mnt / "videos"))
            self.check("index 1% changed: every video listed", listed == n + added, f"{listed}")
            renamed = sum(1 for e in os.scandir(m.mnt / "videos") if e.name.startswith("Renamed"))
            self.check("index 1% changed: renames moved", renamed == modified, f"{renamed}")
            self.record("index_changed_sync", str(n), changed=modified + added, api_calls=total, min_calls=minimum,
                        calls_ratio=round(total / minimum, 3), seconds=info["last_duration_seconds"],
                        calls_by_op=by_op)

            # A few deletions, found by counting partitions.
            deleted = 10
            self.control_post(em, "/library/changes", [{"op": "delete", "kind": "media", "count": deleted,
                                                        "seed": 11}])
            base = self.api_calls(em)
            before = m.stats()["index"]["syncs"]
            os.kill(m.pid, signal.SIGHUP)
            info = self.wait_sync(m, before)
            total, by_op = self.api_calls(em, base)
            listed = sum(1 for _ in os.scandir(m.mnt / "videos"))
            self.check("index deletions: every deletion seen", listed == n + added - deleted, f"{listed}")
            self.record("index_deleted_sync", str(n), deleted=deleted, api_calls=total,
                        calls_per_deletion=round((total - 6) / deleted, 1), seconds=info["last_duration_seconds"],
                        calls_by_op=by_op)
            m.unmount()
        finally:
            em.stop()
            shutil.rmtree(cache, ignore_errors=True)
            self.emulator = saved
            self.emulator.start()
        self.rsync_remount()

    def rsync_remount(self):
        """Remount, find and rsync -a of an unchanged library: API calls per
        video (none: sizes, times and details come from the index)."""
        n = self.args.rsync_videos
        self.emulator.stop()
        em = Emulator(self.build, self.work, ["--synthetic", str(n), "--synthetic-size", "16K"])
        em.start()
        saved, self.emulator = self.emulator, em
        cache = Path(tempfile.mkdtemp(prefix="vodfs-cache-", dir=self.work))
        dst = Path(tempfile.mkdtemp(prefix="rsync-", dir=self.work))
        try:
            m = VodfsMount(self, cache_dir=cache, find_big=False)
            t, p = self.run_timed(["rsync", "-a", f"{m.mnt}/", f"{dst}/"])
            self.check("index rsync first run", p is not None and p.returncode == 0, p.stderr[-500:] if p else "timeout")
            m.unmount(keep_cache=True)
            base = self.api_calls(em)
            drop_caches(self.build)
            m = VodfsMount(self, cache_dir=cache, find_big=False)
            t0 = time.monotonic()
            subprocess.run(["find", str(m.mnt), "-type", "f"], capture_output=True)
            t_find = time.monotonic() - t0
            t, p = self.run_timed(["rsync", "-a", "--stats", f"{m.mnt}/", f"{dst}/"])
            copied = re.search(r"Number of regular files transferred: ([\d,]+)", p.stdout if p else "")
            total, by_op = self.api_calls(em, base)
            per_video = sum(by_op.get(op, 0) for op in ("GetMezzanineInfo", "GetPlayInfo", "ListSnapshots",
                                                        "GetVideoInfo", "GetVideoInfos"))
            self.record("index_rsync_remount", str(n), find_seconds=round(t_find, 2),
                        rsync_seconds=round(t, 2) if t else None,
                        files_copied=int(copied.group(1).replace(",", "")) if copied else None,
                        per_video_calls=per_video, api_calls=total, calls_by_op=by_op)
            m.unmount()
        finally:
            em.stop()
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(dst, ignore_errors=True)
            self.emulator = saved
            self.emulator.start()

    # -- the report
    def report(self):
        rows = self.results["rows"]
        peers = ["rclone-off", "rclone-full", "httpdirfs", "httpdirfs-cache"]

        def val(row, cfg, key):
            v = rows.get(row, {}).get(cfg, {})
            return v.get(key)

        def best(row, key, higher):
            vals = [val(row, p, key) for p in peers if val(row, p, key) is not None]
            if not vals:
                return None
            return max(vals) if higher else min(vals)

        targets = []

        def target(name, measured, op, limit, note=""):
            ok = measured is not None and (measured >= limit if op == ">=" else measured <= limit)
            targets.append((name, measured, op, limit, ok, note))

        v = val("seq_cold", "vodfs", "mib_s")
        b = best("seq_cold", "mib_s", True)
        c4 = val("seq_cold", "curl-4", "mib_s")
        target("seq cold vs best peer", v / b if v and b else None, ">=", 2.5, f"{v} vs {b} MiB/s")
        target("seq cold vs curl 4 streams", v / c4 if v and c4 else None, ">=", 0.8, f"{v} vs {c4} MiB/s")
        v = val("reread_remount", "vodfs", "mib_s")
        loc = val("reread_remount", "local", "mib_s")
        target("re-read after remount vs local", v / loc if v and loc else None, ">=", 0.8, f"{v} vs {loc} MiB/s")
        for j in (1, 4):
            row = f"fio_rand_{j}job"
            v = val(row, "vodfs", "iops")
            c = val(row, "curl", "iops")
            target(f"fio {j} job(s) IOPS vs curl", v / c if v and c else None, ">=", 0.9, f"{v} vs {c} IOPS")
            target(f"fio {j} job(s) origin/asked", val(row, "vodfs", "origin_ratio"), "<=", 2.0)
        v = val("ffprobe_cold", "vodfs", "seconds")
        b = best("ffprobe_cold", "seconds", False)
        target("ffprobe time vs best peer", v / b if v and b else None, "<=", 0.7, f"{v} vs {b} s")
        target("ffprobe origin MiB", val("ffprobe_cold", "vodfs", "origin_mib"), "<=", 3.0)
        v = val("remux_cold", "vodfs", "seconds")
        b = best("remux_cold", "seconds", False)
        target("remux time vs best peer", v / b if v and b else None, "<=", 0.6, f"{v} vs {b} s")
        v = val("rsync_first", "vodfs", "seconds")
        b = best("rsync_first", "seconds", False)
        target("rsync first run vs best peer", v / b if v and b else None, "<=", 0.7, f"{v} vs {b} s")
        target("rsync second run files copied", val("rsync_second", "vodfs", "files"), "<=", 0)
        target("rsync second run media bytes", val("rsync_second", "vodfs", "origin_bytes"), "<=", 0)
        rss = val("readers_16", "vodfs", "peak_rss_mib")
        target("16 readers peak RSS (MiB)", rss, "<=", self.args.memory_budget_mib + 64)
        n = str(self.args.index_videos)
        target(f"index {n}: warm remount, first entries (s)", val("index_warm_remount", n, "first_entries_seconds"),
               "<=", 1.0)
        target(f"index {n}: warm remount, ls -f (s)", val("index_warm_remount", n, "ls_seconds"), "<=", 20.0)
        target(f"index {n}: warm remount, peak RSS (MiB)", val("index_warm_remount", n, "peak_rss_mib"), "<=", 150)
        target(f"index {n}: warm remount, API calls before listing",
               val("index_warm_remount", n, "api_calls_before_listing"), "<=", 0)
        target(f"index {n}: first sync, calls / minimum", val("index_first_sync", n, "calls_ratio"), "<=", 1.05)
        target(f"index {n}: first sync, time / minimum", val("index_first_sync", n, "time_ratio"), "<=", 1.2)
        target(f"index {n}: first sync, peak RSS (MiB)", val("index_first_sync", n, "peak_rss_mib"), "<=", 150)
        target(f"index {n}: unchanged sync, API calls", val("index_unchanged_sync", n, "api_calls"), "<=", 50)
        target(f"index {n}: 1% changed, calls / minimum", val("index_changed_sync", n, "calls_ratio"), "<=", 1.2)
        r = str(self.args.rsync_videos)
        target(f"index {r}: remount + rsync, per-video calls", val("index_rsync_remount", r, "per_video_calls"),
               "<=", 0)
        target(f"index {r}: remount + rsync, files copied", val("index_rsync_remount", r, "files_copied"), "<=", 0)
        self.results["targets"] = [{"target": n, "measured": m, "op": o, "limit": l, "met": ok, "note": note}
                                   for n, m, o, l, ok, note in targets]
        self.save()

        configs = ["vodfs"] + peers + ["curl-1", "curl-4", "curl", "local"]
        lines = []
        env = self.results["environment"]
        lines.append(f"vodfs benchmark  {env.get('date')}  RTT {env.get('rtt_ms')} ms  "
                     f"file {self.big_size / GiB:.2f} GiB  {env.get('cpus')} CPUs")
        lines.append("")
        shown = {"seq_cold": ("mib_s", "MiB/s"), "reread_remount": ("mib_s", "MiB/s"),
                 "fio_rand_1job": ("iops", "IOPS"), "fio_rand_4job": ("iops", "IOPS"),
                 "ffprobe_cold": ("seconds", "s"), "remux_cold": ("seconds", "s"),
                 "rsync_first": ("seconds", "s"), "rsync_second": ("files", "files"),
                 "readers_16": ("peak_rss_mib", "RSS MiB")}
        head = f"{'workload':<16}{'unit':<8}" + "".join(f"{c:>16}" for c in configs)
        lines.append(head)
        for row, (key, unit) in shown.items():
            if row not in rows:
                continue
            cells = []
            for c in configs:
                d = rows[row].get(c)
                if d is None:
                    cells.append(f"{'':>16}")
                elif "timeout" in d:
                    cells.append(f"{'>' + str(d['timeout']) + 's':>16}")
                else:
                    cells.append(f"{str(d.get(key)):>16}")
            lines.append(f"{row:<16}{unit:<8}" + "".join(cells))
        index_rows = [r for r in ("index_first_sync", "index_warm_remount", "index_unchanged_sync",
                                  "index_changed_sync", "index_deleted_sync", "index_rsync_remount") if r in rows]
        if index_rows:
            lines.append("")
            for row in index_rows:
                for cfg, d in rows[row].items():
                    shown_values = {k: v for k, v in d.items() if k != "calls_by_op"}
                    lines.append(f"{row:<22}{cfg:>9}  " + "  ".join(f"{k}={v}" for k, v in shown_values.items()))
        lines.append("")
        lines.append(f"{'target':<40}{'measured':>12}  {'need':<10}{'':<8}note")
        for n, m, o, l, ok, note in targets:
            ms = "n/a" if m is None else (f"{m:.3g}" if isinstance(m, float) else str(m))
            verdict = "not run" if m is None else ("met" if ok else "MISSED")
            lines.append(f"{n:<40}{ms:>12}  {o + ' ' + str(l):<10}{verdict:<8}{note}")
        lines.append("")
        checks = self.results["checks"]
        lines.append(f"byte checks: {sum(c['ok'] for c in checks)} passed, "
                     f"{sum(not c['ok'] and not c.get('peer') for c in checks)} failed")
        for peer in self.PEERS:
            bad = [c["check"] for c in checks if not c["ok"] and c.get("peer") == peer]
            if bad:
                lines.append(f"  {peer} failed {len(bad)}: " + "; ".join(sorted(set(bad))))
        text = "\n".join(lines)
        Path(self.args.table).write_text(text + "\n")
        print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the build tree (vodfs, emulator, bench tools)")
    ap.add_argument("--work", default="/var/tmp/vodfs-bench", help="library, caches, mounts, logs")
    ap.add_argument("--raw", default="bench/results/raw.json")
    ap.add_argument("--table", default="bench/results/table.txt")
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--timeout", type=int, default=600, help="seconds one measured command may take")
    ap.add_argument("--random-reads", type=int, default=300, help="random 64 KiB reads per fio job")
    ap.add_argument("--repeats", type=int, default=3, help="cold runs per measurement (the median counts)")
    ap.add_argument("--repeat-under", type=float, default=30.0,
                    help="repeat only measurements whose run took at most this many seconds")
    ap.add_argument("--memory-budget-mib", type=int, default=256, help="vodfs' budget in the 16-reader run")
    ap.add_argument("--index-videos", type=int, default=2000000, help="the library of the index rows")
    ap.add_argument("--rsync-videos", type=int, default=10000, help="the library of the remount + rsync row")
    ap.add_argument("--only", nargs="*", help="workloads to run (default: all)")
    ap.add_argument("--report-only", action="store_true", help="print the table of the run in --raw again")
    ap.add_argument("--configs", nargs="*",
                    default=["vodfs", "rclone-off", "rclone-full", "httpdirfs", "httpdirfs-cache"])
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("the benchmark needs root (network namespace, iptables, drop_caches, FUSE)")
    Path(args.raw).parent.mkdir(parents=True, exist_ok=True)
    b = Bench(args)
    if args.report_only:
        # The table again, from an earlier run's raw numbers.
        b.results = json.loads(Path(args.raw).read_text())
        b.big_size = b.results["environment"]["big_file_bytes"]
        for c in b.results["checks"]:
            c["peer"] = next((p for p in b.PEERS if f" {p} " in f" {c['check']} "), None)
            if not c["ok"] and not c["peer"]:
                b.failures.append(f"{c['check']}: {c.get('detail', '')}")
        b.report()
        sys.exit(1 if b.failures else 0)
    workloads = ["seq", "reread", "fio", "ffprobe", "remux", "rsync", "readers", "scale"]
    only = args.only or workloads
    try:
        b.setup()
        if "seq" in only:
            b.curl_sequential()
            b.seq_cold(args.configs)
        if "reread" in only:
            b.local_sequential("reread_remount")
            b.reread_after_remount([c for c in args.configs if c in ("vodfs", "rclone-full", "httpdirfs-cache")])
        if "fio" in only:
            b.fio_random(args.configs)
        if "ffprobe" in only:
            b.ffprobe_cold(args.configs)
        if "remux" in only:
            b.remux_cold(args.configs)
        if "rsync" in only:
            b.rsync(args.configs)
        if "readers" in only:
            b.parallel_readers(args.configs)
        if "scale" in only:
            b.scale()
    finally:
        b.teardown()
    b.report()
    if b.failures:
        log("byte or behaviour checks failed:")
        for f in b.failures:
            log("  " + f)
        sys.exit(1)


if __name__ == "__main__":
    main()
