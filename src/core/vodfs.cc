#include "vodfs/core/vodfs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "vodfs/read/mp4_index.h"
#include "vodfs/util/log.h"

namespace vodfs::core {

VodFs::VodFs(ns::Namespace& ns, read::Reader& reader, CoreOptions options)
    : ns_(ns), reader_(reader), options_(options) {}

VodFs::~VodFs() = default;

Attr VodFs::ToAttr(const ns::NodeInfo& n) const {
  Attr a;
  a.ino = n.ino;
  a.uid = options_.uid;
  a.gid = options_.gid;
  a.mtime = n.mtime;
  a.blksize = static_cast<uint32_t>(std::min<uint64_t>(options_.block_size, 1 << 20));
  switch (n.kind) {
    case ns::Kind::kDir:
      a.mode = S_IFDIR | (options_.dir_mode & ~options_.umask);
      // 1: "unknown number of subdirectories", so tools never skip any.
      a.nlink = 1;
      a.size = 4096;
      break;
    case ns::Kind::kSymlink:
      a.mode = S_IFLNK | 0777;
      a.size = n.link.size();
      break;
    case ns::Kind::kFile:
      a.mode = S_IFREG | (options_.file_mode & ~options_.umask);
      a.size = n.content == ns::Content::kStats ? 0 : n.size;
      break;
  }
  a.blocks = (a.size + 511) / 512;
  return a;
}

Result<Entry> VodFs::Lookup(Ino parent, const std::string& name) {
  if (name.empty() || name.size() > ns::kMaxName) {
    return Error(ErrorCode::kNotFound, "bad name");
  }
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Lookup(parent, name));
  Entry e;
  e.attr = ToAttr(n);
  e.attr_timeout = options_.attr_timeout;
  e.entry_timeout = options_.entry_timeout;
  return e;
}

Result<Attr> VodFs::GetAttr(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  return ToAttr(n);
}

Result<std::string> VodFs::ReadLink(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (n.kind != ns::Kind::kSymlink) return Error(ErrorCode::kInvalidArgument, "not a symlink");
  return n.link;
}

Result<uint64_t> VodFs::OpenDir(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo self, ns_.Get(ino));
  if (self.kind != ns::Kind::kDir) return Error(ErrorCode::kNotADirectory, self.name);
  auto d = std::make_shared<DirHandle>();
  d->ino = ino;
  d->parent = self.parent;
  {
    MutexLock lock(&d->mu);
    VODFS_ASSIGN_OR_RETURN(d->cursor, ns_.OpenDir(ino));
  }
  MutexLock lock(&handles_mu_);
  const uint64_t fh = next_fh_++;
  dirs_[fh] = std::move(d);
  return fh;
}

Result<std::vector<DirEntry>> VodFs::ReadDir(uint64_t fh, uint64_t offset, size_t max) {
  std::shared_ptr<DirHandle> d;
  {
    MutexLock lock(&handles_mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return Error(ErrorCode::kInvalidArgument, "bad directory handle");
    d = it->second;
  }
  std::vector<DirEntry> out;
  for (; offset < 2 && out.size() < max; ++offset) {
    DirEntry e{offset == 0 ? "." : "..", {}};
    e.attr.ino = offset == 0 ? d->ino : d->parent;
    e.attr.mode = S_IFDIR;
    out.push_back(e);
  }
  if (out.size() >= max) return out;
  // The children come from the namespace a page at a time: a directory of
  // millions of entries is never copied whole.
  MutexLock lock(&d->mu);
  VODFS_ASSIGN_OR_RETURN(auto children, ns_.ReadDir(*d->cursor, offset - 2, max - out.size()));
  for (const auto& c : children) out.push_back({c.name, ToAttr(c)});
  return out;
}

void VodFs::ReleaseDir(uint64_t fh) {
  MutexLock lock(&handles_mu_);
  dirs_.erase(fh);
}

Result<OpenReply> VodFs::Open(Ino ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND | O_CREAT))) {
    return Error(ErrorCode::kReadOnly, "read-only filesystem");
  }
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (n.kind == ns::Kind::kDir) return Error(ErrorCode::kIsADirectory, n.name);
  auto h = std::make_shared<FileHandle>();
  h->content = n.content;
  OpenReply r;
  switch (n.content) {
    case ns::Content::kGenerated:
      h->text = n.text;
      r.keep_cache = true;  // a change of content invalidates the inode
      break;
    case ns::Content::kStats:
      h->text = ns_.StatsText();
      r.direct_io = true;
      break;
    case ns::Content::kMedia: {
      read::Reader::Opened o = reader_.Open(n.ref, ino, n.size, read::IsIsoMediaName(n.name));
      h->media = std::move(o.file);
      r.keep_cache = o.keep_cache;
      break;
    }
    case ns::Content::kNone:
      return Error(ErrorCode::kInvalidArgument, "not a regular file");
  }
  ++opens_;
  MutexLock lock(&handles_mu_);
  r.fh = next_fh_++;
  files_[r.fh] = std::move(h);
  return r;
}

void VodFs::Release(uint64_t fh) {
  std::shared_ptr<FileHandle> h;
  {
    MutexLock lock(&handles_mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return;
    h = std::move(it->second);
    files_.erase(it);
  }
  if (h->media) reader_.Close(h->media);
}

std::shared_ptr<VodFs::FileHandle> VodFs::FindFile(uint64_t fh) const {
  MutexLock lock(&handles_mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

Result<size_t> VodFs::Read(uint64_t fh, uint64_t offset, size_t size, char* out) {
  VODFS_ASSIGN_OR_RETURN(ReadSlices r, ReadRef(fh, offset, size));
  size_t copied = 0;
  for (const auto& p : r.pieces) {
    std::memcpy(out + copied, p.data, p.size);
    copied += p.size;
  }
  return copied;
}

Result<ReadSlices> VodFs::ReadRef(uint64_t fh, uint64_t offset, size_t size) {
  std::shared_ptr<FileHandle> h = FindFile(fh);
  if (!h) return Error(ErrorCode::kInvalidArgument, "bad file handle");
  ++reads_;
  if (h->media) {
    VODFS_ASSIGN_OR_RETURN(ReadSlices r, reader_.Read(h->media, offset, size));
    bytes_read_ += r.size;
    return r;
  }
  ReadSlices out;
  if (offset >= h->text.size()) return out;
  const size_t n = std::min<size_t>(size, h->text.size() - offset);
  out.pieces.push_back({h->text.data() + offset, n});
  out.size = n;
  out.hold.push_back(h);  // the text lives in the handle
  bytes_read_ += n;
  return out;
}

Result<std::string> VodFs::GetXattr(Ino ino, const std::string& name) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  if (name.rfind("user.", 0) == 0) {
    const std::string key = name.substr(5);
    for (const auto& [k, v] : n.xattrs) {
      if (k == key) return v;
    }
  }
  return Error(ErrorCode::kNotFound, "no attribute " + name);
}

Result<std::vector<std::string>> VodFs::ListXattr(Ino ino) {
  VODFS_ASSIGN_OR_RETURN(ns::NodeInfo n, ns_.Get(ino));
  std::vector<std::string> names;
  for (const auto& [k, v] : n.xattrs) names.push_back("user." + k);
  return names;
}

FsStats VodFs::StatFs() const {
  FsStats s;
  s.block_size = options_.block_size;
  s.files = ns_.Stats().entries;
  s.name_max = 255;
  return s;
}

CoreStats VodFs::Stats() const {
  CoreStats s;
  s.opens = opens_;
  s.reads = reads_;
  s.bytes_read = bytes_read_;
  const read::ReaderStats r = reader_.Stats();
  s.stale_reads = r.stale_reads;
  s.read_errors = r.read_errors;
  s.readahead_blocks = r.readahead_blocks;
  s.readahead_resets = r.readahead_resets;
  s.index_prefetches = r.index_prefetches;
  s.corrupt_reads = r.corrupt_reads;
  MutexLock lock(&handles_mu_);
  s.open_handles = files_.size();
  return s;
}

}  // namespace vodfs::core
