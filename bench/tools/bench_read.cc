// vodfs-bench-read: the benchmark's reader.
//
//   vodfs-bench-read FILE [--from OFFSET] [--length N] [--buffer SIZE]
//       reads sequentially (one thread reads, another hashes, so hashing
//       overlaps the reads) and prints JSON: bytes, seconds, MiB/s, SHA-256.
//   vodfs-bench-read --ranges LIST --ref REFERENCE FILE
//       LIST holds "offset length" lines; each range is read from FILE and
//       compared with the same range of REFERENCE (the origin's copy).
//       Prints JSON: ranges, bytes, mismatches, zero-filled mismatches.
//
// Exit status 0 only if every read succeeded (and, with --ranges, every
// byte matched).
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

uint64_t ParseSize(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  switch (end && *end ? *end : ' ') {
    case 'K': case 'k': v *= 1024; break;
    case 'M': case 'm': v *= 1024 * 1024; break;
    case 'G': case 'g': v *= 1024.0 * 1024 * 1024; break;
    default: break;
  }
  return static_cast<uint64_t>(v);
}

std::string Hex(const unsigned char* d, unsigned n) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(k[d[i] >> 4]);
    out.push_back(k[d[i] & 15]);
  }
  return out;
}

ssize_t PreadFull(int fd, char* buf, size_t n, off_t off) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, off + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

int Sequential(const std::string& path, uint64_t from, uint64_t length, size_t buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Reader -> hasher through a small queue of buffers.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> full;
  std::vector<std::string> spare(8, std::string(buffer, '\0'));
  bool done = false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::thread hasher([&] {
    for (;;) {
      std::string b;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !full.empty() || done; });
        if (full.empty()) return;
        b = std::move(full.front());
        full.pop_front();
      }
      EVP_DigestUpdate(ctx, b.data(), b.size());
      b.resize(buffer);
      std::lock_guard<std::mutex> lock(mu);
      spare.push_back(std::move(b));
      cv.notify_all();
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t off = from, total = 0;
  int err = 0;
  while (length == 0 || total < length) {
    std::string b;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !spare.empty(); });
      b = std::move(spare.back());
      spare.pop_back();
    }
    size_t want = buffer;
    if (length) want = static_cast<size_t>(std::min<uint64_t>(want, length - total));
    const ssize_t n = PreadFull(fd, b.data(), want, static_cast<off_t>(off));
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) break;
    b.resize(static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    std::lock_guard<std::mutex> lock(mu);
    full.push_back(std::move(b));
    cv.notify_all();
  }
  const double read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  }
  hasher.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  ::close(fd);
  std::printf("{\"bytes\": %llu, \"seconds\": %.6f, \"read_seconds\": %.6f, \"mib_s\": %.2f, \"sha256\": \"%s\", "
              "\"error\": \"%s\"}\n",
              static_cast<unsigned long long>(total), seconds, read_seconds,
              seconds > 0 ? static_cast<double>(total) / 1048576.0 / seconds : 0.0, Hex(md, mdlen).c_str(),
              err ? std::strerror(err) : "");
  return err ? 1 : 0;
}

int Ranges(const std::string& path, const std::string& list, const std::string& ref) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int rfd = ::open(ref.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || rfd < 0) {
    std::fprintf(stderr, "cannot open %s or %s\n", path.c_str(), ref.c_str());
    return 1;
  }
  std::ifstream in(list);
  uint64_t off, len, ranges = 0, bytes = 0, mismatches = 0, zeros = 0, errors = 0;
  std::string a, b;
  while (in >> off >> len) {
    a.resize(len);
    b.resize(len);
    const ssize_t n = PreadFull(fd, a.data(), len, static_cast<off_t>(off));
    const ssize_t m = PreadFull(rfd, b.data(), len, static_cast<off_t>(off));
    ++ranges;
    if (n < 0 || m < 0) {
      ++errors;
      continue;
    }
    bytes += static_cast<uint64_t>(n);
    if (n != m || std::memcmp(a.data(), b.data(), static_cast<size_t>(n)) != 0) {
      ++mismatches;
      bool all_zero = n > 0;
      for (ssize_t i = 0; i < n && all_zero; ++i) all_zero = a[static_cast<size_t>(i)] == 0;
      if (all_zero) ++zeros;
    }
  }
  ::close(fd);
  ::close(rfd);
  std::printf("{\"ranges\": %llu, \"bytes\": %llu, \"mismatches\": %llu, \"zero_filled\": %llu, \"errors\": %llu}\n",
              static_cast<unsigned long long>(ranges), static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(mismatches), static_cast<unsigned long long>(zeros),
              static_cast<unsigned long long>(errors));
  return mismatches || errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, list, ref;
  uint64_t from = 0, length = 0;
  size_t buffer = 1 << 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--from") from = ParseSize(next());
    else if (a == "--length") length = ParseSize(next());
    else if (a == "--buffer") buffer = static_cast<size_t>(std::max<uint64_t>(4096, ParseSize(next())));
    else if (a == "--ranges") list = next();
    else if (a == "--ref") ref = next();
    else file = a;
  }
  if (file.empty() || (!list.empty() && ref.empty())) {
    std::fprintf(stderr,
                 "usage: vodfs-bench-read FILE [--from OFF] [--length N] [--buffer SIZE]\n"
                 "       vodfs-bench-read --ranges LIST --ref REFERENCE FILE\n");
    return 2;
  }
  return list.empty() ? Sequential(file, from, length, buffer) : Ranges(file, list, ref);
}
