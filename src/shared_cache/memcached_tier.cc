#include "vodfs/shared_cache/memcached_tier.h"

#include <libmemcached/memcached.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>
#include <thread>

#include "vodfs/util/crc64.h"
#include "vodfs/util/log.h"
#include "vodfs/util/strings.h"

namespace vodfs::shared_cache {

namespace {

constexpr uint32_t kMagic = 0x31424656;  // "VFB1" read as little-endian bytes
// memcached's default item size limit (-I 1m) less its item overhead: a
// larger value would be refused by every server, at the cost of a round trip.
constexpr size_t kMaxValue = 1024 * 1024 - 512;
// A failure is logged at most this often (a dead server fails every read).
constexpr int64_t kWarnEvery = 30;

void PutU32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t GetLe(std::string_view s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[at + static_cast<size_t>(i)])) << (8 * i);
  return v;
}

// Two independent 64-bit hashes of the object name the key; a third, of
// the object and the index, is the check stored in the value.
uint64_t KeyCheck(std::string_view object, uint64_t index) {
  return str::Mix64(str::StableHash64(object, 0x636865636bULL) ^ str::Mix64(index + 0x9e3779b97f4a7c15ULL));
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int64_t SteadySeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool IsMiss(memcached_return_t rc) { return rc == MEMCACHED_NOTFOUND; }

}  // namespace

std::string MemcachedKey(std::string_view object, uint64_t index) {
  return "vodfs1:" + Hex(str::StableHash64(object, 0x6f626a31ULL)) + Hex(str::StableHash64(object, 0x6f626a32ULL)) +
         ":" + std::to_string(index);
}

std::string EncodeValue(std::string_view object, uint64_t index, const cache::BlockData& block) {
  std::string v;
  v.reserve(kHeaderSize + block.size());
  PutU32(v, kMagic);
  PutU32(v, static_cast<uint32_t>(kHeaderSize));
  PutU64(v, block.size());
  PutU64(v, block.crc64());
  PutU64(v, KeyCheck(object, index));
  v.append(block.data(), block.size());
  return v;
}

cache::Block DecodeValue(std::string_view object, uint64_t index, std::string_view value, std::string* why) {
  auto reject = [why](const char* reason) {
    *why = reason;
    return cache::Block();
  };
  if (value.size() < kHeaderSize) return reject("shorter than its header");
  if (GetLe(value, 0, 4) != kMagic) return reject("not a vodfs block (magic)");
  if (GetLe(value, 4, 4) != kHeaderSize) return reject("an unknown header size");
  const uint64_t size = GetLe(value, 8, 8);
  if (size != value.size() - kHeaderSize) return reject("a length other than its header says");
  if (GetLe(value, 24, 8) != KeyCheck(object, index)) return reject("another block's (key check)");
  const std::string_view bytes = value.substr(kHeaderSize);
  const uint64_t crc = GetLe(value, 16, 8);
  if (Crc64(bytes.data(), bytes.size()) != crc) return reject("bytes that fail their CRC-64");
  auto b = cache::BlockData::Allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(b->data(), bytes.data(), bytes.size());
  b->set_crc64(crc);
  return b;
}

Result<MemcachedOptions> ParseMemcachedUrl(std::string_view url) {
  constexpr std::string_view kScheme = "memcached://";
  if (!url.starts_with(kScheme)) {
    return Error(ErrorCode::kInvalidArgument, "shared_cache must be memcached://host:port[,host:port...]");
  }
  MemcachedOptions o;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  // ',' between servers, or ';' where a comma separates options (-o).
  std::string servers(rest);
  std::replace(servers.begin(), servers.end(), ';', ',');
  for (const auto& part : str::Split(servers, ',')) {
    std::string s(str::Trim(part));
    if (s.empty()) continue;
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) {
      s += ":11211";
    } else if (!str::ParseInt64(s.substr(colon + 1)).has_value()) {
      return Error(ErrorCode::kInvalidArgument, "shared_cache: bad port in " + s);
    }
    o.servers.push_back(s);
  }
  if (o.servers.empty()) return Error(ErrorCode::kInvalidArgument, "shared_cache names no server");
  for (const auto& kv : str::Split(query, '&')) {
    if (kv.empty()) continue;
    const size_t eq = kv.find('=');
    const std::string k(kv.substr(0, eq));
    const auto v = eq == std::string::npos ? std::nullopt : str::ParseInt64(kv.substr(eq + 1));
    if (!v || *v < 0) return Error(ErrorCode::kInvalidArgument, "shared_cache: bad parameter " + std::string(kv));
    if (k == "timeout_ms") {
      o.timeout_ms = static_cast<int>(*v);
    } else if (k == "ttl_s") {
      o.ttl_s = static_cast<uint32_t>(*v);
    } else if (k == "claim_ttl_s") {
      o.claim_ttl_s = static_cast<uint32_t>(*v);
    } else if (k == "retry_s") {
      o.retry_s = static_cast<int>(*v);
    } else if (k == "failure_limit") {
      o.failure_limit = static_cast<int>(*v);
    } else {
      return Error(ErrorCode::kInvalidArgument, "shared_cache: unknown parameter " + k);
    }
  }
  return o;
}

// A pooled connection for one caller: returned to the pool when it dies.
class MemcachedTier::Conn {
 public:
  Conn(MemcachedTier* t, memcached_st* m) : t_(t), m_(m) {}
  Conn(Conn&& o) noexcept : t_(o.t_), m_(o.m_) { o.m_ = nullptr; }
  ~Conn() {
    if (m_) t_->Give(m_);
  }
  memcached_st* get() const { return m_; }

 private:
  MemcachedTier* t_;
  memcached_st* m_;
};

Result<std::unique_ptr<MemcachedTier>> MemcachedTier::Open(const MemcachedOptions& o) {
  if (o.servers.empty()) return Error(ErrorCode::kInvalidArgument, "no memcached server");
  memcached_st* m = memcached_create(nullptr);
  if (!m) return Error(ErrorCode::kResourceExhausted, "Cannot create a memcached client");
  for (const auto& s : o.servers) {
    const size_t colon = s.rfind(':');
    const std::string host = s.substr(0, colon);
    const auto port = str::ParseInt64(s.substr(colon + 1)).value_or(11211);
    if (memcached_server_add(m, host.c_str(), static_cast<in_port_t>(port)) != MEMCACHED_SUCCESS) {
      memcached_free(m);
      return Error(ErrorCode::kInvalidArgument, "Cannot use the memcached server " + s);
    }
  }
  // Consistent hashing (ketama, MD5 points as every ketama client places
  // them); bounded waits; a failing server skipped for retry_s seconds.
  const std::pair<memcached_behavior_t, uint64_t> settings[] = {
      {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
      {MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 0},
      {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
      {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
      {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, static_cast<uint64_t>(o.timeout_ms)},
      {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, static_cast<uint64_t>(o.timeout_ms)},
      {MEMCACHED_BEHAVIOR_SND_TIMEOUT, static_cast<uint64_t>(o.timeout_ms) * 1000},  // microseconds
      {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, static_cast<uint64_t>(o.timeout_ms) * 1000},
      {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, static_cast<uint64_t>(o.failure_limit)},
      {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, static_cast<uint64_t>(o.retry_s)},
      {MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, static_cast<uint64_t>(o.retry_s)},
  };
  for (const auto& [b, v] : settings) {
    if (memcached_behavior_set(m, b, v) != MEMCACHED_SUCCESS) {
      memcached_free(m);
      return Error(ErrorCode::kInternal, "Cannot configure the memcached client");
    }
  }
  return std::unique_ptr<MemcachedTier>(new MemcachedTier(o, m));
}

MemcachedTier::MemcachedTier(MemcachedOptions o, memcached_st* master) : o_(std::move(o)), master_(master) {}

MemcachedTier::~MemcachedTier() {
  {
    MutexLock lock(&queue_mu_);
    stopping_ = true;
    queue_cv_.SignalAll();
  }
  if (writer_.joinable()) writer_.join();
  MutexLock lock(&mu_);
  for (memcached_st* m : idle_) memcached_free(m);
  memcached_free(master_);
}

MemcachedTier::Conn MemcachedTier::Take() {
  MutexLock lock(&mu_);
  if (!idle_.empty()) {
    memcached_st* m = idle_.back();
    idle_.pop_back();
    return Conn(this, m);
  }
  return Conn(this, memcached_clone(nullptr, master_));
}

void MemcachedTier::Give(memcached_st* m) {
  MutexLock lock(&mu_);
  if (idle_.size() < o_.pool_size) {
    idle_.push_back(m);
    return;
  }
  lock.Unlock();
  memcached_free(m);
}

std::string MemcachedTier::ServerOf(memcached_st* m, const std::string& key) {
  memcached_return_t rc = MEMCACHED_SUCCESS;
  const memcached_instance_st* server = memcached_server_by_key(m, key.data(), key.size(), &rc);
  if (!server) return "";
  return std::string(memcached_server_name(server)) + ":" + std::to_string(memcached_server_port(server));
}

bool MemcachedTier::Skipped(const std::string& server) {
  MutexLock lock(&health_mu_);
  auto it = health_.find(server);
  if (it == health_.end() || it->second.skipped_until == 0) return false;
  if (SteadySeconds() < it->second.skipped_until) return true;
  // Time to try it again: one request goes; its outcome decides.
  it->second.skipped_until = 0;
  it->second.failures = o_.failure_limit - 1;
  return false;
}

void MemcachedTier::NoteOutcome(const std::string& server, bool failed) {
  MutexLock lock(&health_mu_);
  Health& h = health_[server];
  if (!failed) {
    h.failures = 0;
    return;
  }
  if (++h.failures >= o_.failure_limit && h.skipped_until == 0) {
    h.skipped_until = SteadySeconds() + o_.retry_s;
    VODFS_LOG(kWarn) << "The shared block cache's server " << server << " failed " << h.failures
                     << " times in a row; it is skipped for " << o_.retry_s << " s";
  }
}

cache::Block MemcachedTier::Get(const std::string& object, uint64_t index) {
  Conn c = Take();
  if (!c.get()) {
    ++n_.errors;
    return nullptr;
  }
  const std::string key = MemcachedKey(object, index);
  const std::string server = ServerOf(c.get(), key);
  if (Skipped(server)) {
    ++n_.skipped;
    return nullptr;
  }
  size_t len = 0;
  uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  char* raw = memcached_get(c.get(), key.data(), key.size(), &len, &flags, &rc);
  std::unique_ptr<char, decltype(&std::free)> value(raw, &std::free);
  NoteOutcome(server, !value && !IsMiss(rc));
  if (!value) {
    if (IsMiss(rc)) {
      ++n_.misses;
    } else {
      ++n_.errors;
      const int64_t now = SteadySeconds();
      int64_t last = last_warning_.load();
      if (now - last >= kWarnEvery && last_warning_.compare_exchange_strong(last, now)) {
        VODFS_LOG(kWarn) << "The shared block cache " << Describe() << " failed a read ("
                         << memcached_strerror(c.get(), rc) << "); reading from the origin meanwhile";
      }
    }
    return nullptr;
  }
  std::string why;
  cache::Block b = DecodeValue(object, index, std::string_view(value.get(), len), &why);
  if (!b) {
    ++n_.rejected;
    VODFS_LOG(kWarn) << "The shared block cache returned block " << index << " of " << object << " with " << why
                     << "; it is read from the origin instead";
    return nullptr;
  }
  ++n_.hits;
  n_.bytes_in += b->size();
  return b;
}

std::vector<cache::Block> MemcachedTier::GetRun(const std::string& object, uint64_t first, uint64_t count) {
  std::vector<cache::Block> out(count);
  if (count == 0) return out;
  Conn c = Take();
  if (!c.get()) {
    ++n_.errors;
    return out;
  }
  std::vector<std::string> keys;
  std::unordered_map<std::string, uint64_t> index_of;
  std::set<std::string> servers;
  for (uint64_t i = 0; i < count; ++i) {
    std::string key = MemcachedKey(object, first + i);
    const std::string server = ServerOf(c.get(), key);
    if (Skipped(server)) {
      ++n_.skipped;
      continue;
    }
    servers.insert(server);
    index_of.emplace(key, first + i);
    keys.push_back(std::move(key));
  }
  if (keys.empty()) return out;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& k : keys) {
    ptrs.push_back(k.data());
    lens.push_back(k.size());
  }
  memcached_return_t rc = memcached_mget(c.get(), ptrs.data(), lens.data(), keys.size());
  const bool sent = rc == MEMCACHED_SUCCESS || rc == MEMCACHED_SOME_ERRORS;
  size_t found = 0;
  while (sent) {
    memcached_result_st* r = memcached_fetch_result(c.get(), nullptr, &rc);
    if (!r) break;
    const std::string key(memcached_result_key_value(r), memcached_result_key_length(r));
    auto it = index_of.find(key);
    if (it != index_of.end()) {
      std::string why;
      cache::Block b = DecodeValue(object, it->second, std::string_view(memcached_result_value(r), memcached_result_length(r)), &why);
      if (b) {
        ++n_.hits;
        n_.bytes_in += b->size();
        out[it->second - first] = std::move(b);
        ++found;
      } else {
        ++n_.rejected;
        VODFS_LOG(kWarn) << "The shared block cache returned block " << it->second << " of " << object << " with "
                         << why << "; it is read from the origin instead";
      }
    }
    memcached_result_free(r);
  }
  // Health is kept by single requests, which name their server: a failed
  // multi-get does not say which of its servers failed.
  const bool failed = !sent || (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND);
  if (failed) {
    ++n_.errors;
  } else {
    for (const auto& server : servers) NoteOutcome(server, false);
  }
  n_.misses += keys.size() - found;
  return out;
}

void MemcachedTier::Put(const std::string& object, uint64_t index, const cache::Block& block) {
  if (!block) return;
  if (block->size() + kHeaderSize > kMaxValue) {
    ++n_.put_skipped;
    return;
  }
  MutexLock lock(&queue_mu_);
  if (queued_bytes_ + block->size() > o_.queue_bytes && !queue_.empty()) {
    ++n_.put_dropped;
    return;
  }
  queued_bytes_ += block->size();
  queue_.push_back({object, index, block});
  // Started by the first put, never before: a mount opens the tier before
  // it daemonises, and threads do not survive the fork.
  if (!writer_.joinable()) writer_ = std::thread([this] { Write(); });
  queue_cv_.SignalAll();
}

void MemcachedTier::Flush() {
  MutexLock lock(&queue_mu_);
  while (!queue_.empty() || sending_) queue_cv_.Wait(&queue_mu_);
}

void MemcachedTier::Write() {
  MutexLock lock(&queue_mu_);
  while (true) {
    while (queue_.empty() && !stopping_) queue_cv_.Wait(&queue_mu_);
    if (queue_.empty()) return;  // stopping, and everything sent
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= p.block->size();
    sending_ = true;
    lock.Unlock();
    Send(p.object, p.index, p.block);
    lock.Lock();
    sending_ = false;
    queue_cv_.SignalAll();
  }
}

void MemcachedTier::Send(const std::string& object, uint64_t index, const cache::Block& block) {
  const std::string value = EncodeValue(object, index, *block);
  const std::string key = MemcachedKey(object, index);
  Conn c = Take();
  if (!c.get()) {
    ++n_.put_errors;
    return;
  }
  const std::string server = ServerOf(c.get(), key);
  if (Skipped(server)) {
    ++n_.skipped;
    return;
  }
  const memcached_return_t rc =
      memcached_set(c.get(), key.data(), key.size(), value.data(), value.size(), static_cast<time_t>(o_.ttl_s), 0);
  NoteOutcome(server, rc != MEMCACHED_SUCCESS);
  if (rc == MEMCACHED_SUCCESS) {
    ++n_.puts;
    n_.bytes_out += block->size();
  } else {
    ++n_.put_errors;
  }
}

MemcachedTier::Claim& MemcachedTier::Claim::operator=(Claim&& o) noexcept {
  Release();
  tier_ = o.tier_;
  key_ = std::move(o.key_);
  owned_ = o.owned_;
  o.tier_ = nullptr;
  return *this;
}

void MemcachedTier::Erase(const std::string& object, uint64_t index) {
  const std::string key = MemcachedKey(object, index);
  Conn c = Take();
  if (c.get()) (void)memcached_delete(c.get(), key.data(), key.size(), 0);
}

void MemcachedTier::Claim::Release() {
  if (!tier_) return;
  MemcachedTier* t = tier_;
  tier_ = nullptr;
  Conn c = t->Take();
  if (c.get() && !t->Skipped(t->ServerOf(c.get(), key_))) (void)memcached_delete(c.get(), key_.data(), key_.size(), 0);
}

MemcachedTier::Claim MemcachedTier::TryClaim(const std::string& object, uint64_t index) {
  const std::string key = MemcachedKey(object, index) + ":claim";
  Conn c = Take();
  if (!c.get()) return Claim(nullptr, key, true);
  const std::string server = ServerOf(c.get(), key);
  if (Skipped(server)) {
    ++n_.skipped;
    return Claim(nullptr, key, true);
  }
  const memcached_return_t rc =
      memcached_add(c.get(), key.data(), key.size(), "1", 1, static_cast<time_t>(o_.claim_ttl_s), 0);
  NoteOutcome(server, rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS);
  if (rc == MEMCACHED_SUCCESS) {
    ++n_.claims_won;
    return Claim(this, key, true);
  }
  if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) {
    ++n_.claims_lost;
    return Claim(nullptr, key, false);
  }
  // The server cannot be asked: fetch it here rather than wait for nobody.
  ++n_.errors;
  return Claim(nullptr, key, true);
}

cache::Block MemcachedTier::WaitFor(const std::string& object, uint64_t index, std::chrono::milliseconds budget) {
  // Polls: a block fetched by another mount arrives within its fetch time;
  // 5 ms between polls costs a handful of small requests per wait.
  constexpr auto kPoll = std::chrono::milliseconds(5);
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (true) {
    if (cache::Block b = Get(object, index)) {
      ++n_.waits_served;
      return b;
    }
    if (std::chrono::steady_clock::now() + kPoll > deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  ++n_.waits_missed;
  return nullptr;
}

SharedCacheStats MemcachedTier::Stats() const {
  SharedCacheStats s;
  s.hits = n_.hits;
  s.misses = n_.misses;
  s.rejected = n_.rejected;
  s.errors = n_.errors;
  s.skipped = n_.skipped;
  s.puts = n_.puts;
  s.put_errors = n_.put_errors;
  s.put_skipped = n_.put_skipped;
  s.put_dropped = n_.put_dropped;
  s.claims_won = n_.claims_won;
  s.claims_lost = n_.claims_lost;
  s.waits_served = n_.waits_served;
  s.waits_missed = n_.waits_missed;
  s.bytes_in = n_.bytes_in;
  s.bytes_out = n_.bytes_out;
  return s;
}

std::string MemcachedTier::Describe() const {
  std::string d = "memcached://";
  for (size_t i = 0; i < o_.servers.size(); ++i) d += (i ? "," : "") + o_.servers[i];
  return d;
}

}  // namespace vodfs::shared_cache
