#include "support/fs_harness.h"

#include <stdexcept>

#include "vodfs/util/strings.h"

namespace vodfs::testing {

std::string Bytes(const std::string& key, size_t n) {
  std::string s(n, '\0');
  uint64_t x = str::StableHash64(key);
  for (size_t i = 0; i < n; ++i) {
    if (i % 8 == 0) x = str::Mix64(x + i);
    s[i] = static_cast<char>(x >> (8 * (i % 8)));
  }
  return s;
}

FsHarness::FsHarness(ns::NsOptions no, core::CoreOptions co, bool threads, cache::DiskTier* disk,
                     std::string index_dir, read::ReaderOptions ro) {
  resolver = std::make_unique<resolve::VodUrlResolver>(api, origin, resolve::ResolverOptions{});
  broker = std::make_unique<resolve::UrlBroker>(*resolver, clock, nullptr, resolve::BrokerOptions{});
  fetcher = std::make_unique<fetch::RangeFetcher>(origin, *broker, clock);
  cache = std::make_unique<cache::BlockCache>(64 << 20, 4);
  auto db = index::OpenSqlite({.path = (index_dir.empty() ? dir.path() : index_dir) + "/index.db"});
  if (!db.ok()) throw std::runtime_error(db.error().ToString());
  auto s = index::IndexStore::Open(std::move(db).value());
  if (!s.ok()) throw std::runtime_error(s.error().ToString());
  store = std::move(s).value();
  sync::SyncOptions so;
  so.id_names = no.id_names;
  so.identity = "fake-library";
  syncer = std::make_unique<sync::Syncer>(api, *store, clock, io, so);
  if (Status st = syncer->Init(); !st.ok()) throw std::runtime_error(st.ToString());
  origin_reader = std::make_unique<core::FetcherOrigin>(*fetcher, versions);
  names = std::make_unique<ns::Namespace>(api, *broker, *origin_reader, *store, *syncer, io, clock, no);
  if (Status st = names->Init(); !st.ok()) throw std::runtime_error(st.ToString());
  syncer->SetListener(names.get());
  names->SetNotifier(&notifier);
  events = std::make_unique<core::NamespaceEvents>(*names);
  ro.block_size = ro.head.block_size = ro.ahead.block_size = co.block_size;
  reader = std::make_unique<read::Reader>(*fetcher, versions, *cache, disk, disk, threads ? &ahead : nullptr, *events, ro);
  fs = std::make_unique<core::VodFs>(*names, *reader, co);
  if (threads) {
    io.Start();
    ahead.Start();
  }
}

FsHarness::~FsHarness() {
  if (syncer) syncer->Stop();
  ahead.Stop();
  fs.reset();
  reader.reset();
  io.Stop();
}

void FsHarness::Sync(bool full) {
  Status s = syncer->SyncNow(full);
  if (!s.ok()) throw std::runtime_error("sync failed: " + s.ToString());
}

FakeVodApi::Video& FsHarness::AddVideo(const std::string& id, const std::string& title, size_t size,
                                       int snapshots, const std::string& status) {
  FakeVodApi::Video v;
  v.info.id = id;
  v.info.title = title;
  v.info.status = status;
  v.info.size = static_cast<int64_t>(size);
  v.info.creation_time = 1690000000;
  v.info.modification_time = 1690000600;
  v.info.media_type = "video";
  if (status != "UploadFail") {
    v.source_key = "src/" + id;
    origin.Put(v.source_key, Bytes(v.source_key, size));
  }
  vod::PlayInfo ld;
  ld.definition = "LD";
  ld.format = "mp4";
  ld.job_id = "job-" + id;
  ld.status = "Normal";
  ld.size = static_cast<int64_t>(size / 2);
  ld.play_url = "ld/" + id;
  ld.creation_time = 1690000300;
  origin.Put(ld.play_url, Bytes(ld.play_url, size / 2));
  v.streams.push_back(ld);
  for (int i = 0; i < snapshots; ++i) {
    std::string k = "snap/" + id + "/" + std::to_string(i);
    origin.Put(k, Bytes(k, 1000 + static_cast<size_t>(i)));
    v.snapshots.push_back(k);
  }
  v.cover_key = "cover/" + id;
  origin.Put(v.cover_key, Bytes(v.cover_key, 777));
  api.AddVideo(v);
  Sync();  // the index lists it, as the mount's sync would
  return *api.Find(id);
}

Result<ns::Ino> FsHarness::Resolve(const std::string& path) {
  ns::Ino ino = ns::kRootIno;
  for (const auto& part : str::Split(path, '/', true)) {
    VODFS_ASSIGN_OR_RETURN(core::Entry e, fs->Lookup(ino, part));
    ino = e.attr.ino;
  }
  return ino;
}

Result<std::string> FsHarness::ReadAll(const std::string& path, size_t chunk) {
  VODFS_ASSIGN_OR_RETURN(ns::Ino ino, Resolve(path));
  VODFS_ASSIGN_OR_RETURN(core::OpenReply o, fs->Open(ino, 0));
  std::string out, buf(chunk, '\0');
  while (true) {
    auto n = fs->Read(o.fh, out.size(), chunk, buf.data());
    if (!n.ok()) {
      fs->Release(o.fh);
      return n.error();
    }
    if (*n == 0) break;
    out.append(buf.data(), *n);
  }
  fs->Release(o.fh);
  return out;
}

}  // namespace vodfs::testing
