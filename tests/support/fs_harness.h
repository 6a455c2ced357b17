// The whole stack below the FUSE adapter, over fakes of the API and the
// origin, with a fake clock.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fakes.h"
#include "support/temp_dir.h"
#include "vodfs/cache/block_cache.h"
#include "vodfs/cache/disk_tier.h"
#include "vodfs/core/origin_reader.h"
#include "vodfs/core/vodfs.h"
#include "vodfs/index/store.h"
#include "vodfs/fetch/fetcher.h"
#include "vodfs/fetch/version_table.h"
#include "vodfs/ns/namespace.h"
#include "vodfs/read/reader.h"
#include "vodfs/resolve/url_broker.h"
#include "vodfs/resolve/vod_resolver.h"
#include "vodfs/sync/syncer.h"

namespace vodfs::testing {

class RecordingNotifier final : public ns::Notifier {
 public:
  void InvalidateInode(ns::Ino ino) override {
    std::lock_guard<std::mutex> lock(mu);
    inodes.push_back(ino);
  }
  void InvalidateEntry(ns::Ino parent, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    entries.emplace_back(parent, name);
  }
  std::mutex mu;
  std::vector<ns::Ino> inodes;
  std::vector<std::pair<ns::Ino, std::string>> entries;
};

// Deterministic bytes for fake objects.
std::string Bytes(const std::string& key, size_t n);

struct FsHarness {
  // With `disk`, blocks also go to (and come from) that persistent tier.
  // `index_dir` keeps the library index (a private temporary one if empty).
  // `threads`: read-ahead and head parts on an executor (else every fetch
  // on the reading thread).
  explicit FsHarness(ns::NsOptions no = {}, core::CoreOptions co = {}, bool threads = false,
                     cache::DiskTier* disk = nullptr, std::string index_dir = "", read::ReaderOptions ro = {});
  ~FsHarness();

  // One sync of the index with the fake library, as the mount's background
  // sync would run it.
  void Sync(bool full = false);

  // Adds a Normal video `id` with a source of `size` bytes, an LD stream
  // of size/2, `snapshots` snapshots and a cover, and syncs the index.
  FakeVodApi::Video& AddVideo(const std::string& id, const std::string& title, size_t size,
                              int snapshots = 2, const std::string& status = "Normal");
  // Inode of a path like "videos/<name>/source.mp4".
  Result<ns::Ino> Resolve(const std::string& path);
  Result<std::string> ReadAll(const std::string& path, size_t chunk = 128 * 1024);

  TempDir dir;
  FakeOrigin origin;
  FakeVodApi api{origin};
  FakeClock clock{1700000000};
  std::unique_ptr<resolve::VodUrlResolver> resolver;
  std::unique_ptr<resolve::UrlBroker> broker;
  std::unique_ptr<fetch::RangeFetcher> fetcher;
  fetch::VersionTable versions;
  Executor io{4, "test-io"};
  Executor ahead{8, "test-ahead"};
  std::unique_ptr<cache::BlockCache> cache;
  std::unique_ptr<index::IndexStore> store;
  std::unique_ptr<sync::Syncer> syncer;
  std::unique_ptr<core::FetcherOrigin> origin_reader;
  std::unique_ptr<ns::Namespace> names;
  std::unique_ptr<core::NamespaceEvents> events;
  std::unique_ptr<read::Reader> reader;
  std::unique_ptr<core::VodFs> fs;
  RecordingNotifier notifier;
};

}  // namespace vodfs::testing
