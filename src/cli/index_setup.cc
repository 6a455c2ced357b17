#include "cli/index_setup.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cli/api_stack.h"
#include "vodfs/util/log.h"

namespace vodfs::cli {

Status MakePrivateDirs(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status(ErrorCode::kFailedPrecondition, dir + " is not a directory");
    return Status::Ok();
  }
  const size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) VODFS_RETURN_IF_ERROR(MakePrivateDirs(dir.substr(0, slash)));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(ErrorCode::kPermissionDenied, "Cannot create " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

namespace {

Result<std::unique_ptr<index::IndexStore>> TryOpen(const std::string& path) {
  VODFS_ASSIGN_OR_RETURN(auto db, index::OpenSqlite({.path = path}));
  return index::IndexStore::Open(std::move(db));
}

}  // namespace

std::string IndexPath(const Options& o) {
  if (!o.index.empty()) return o.index;
  return CacheDir(o) + "/index.db";
}

std::string ShownIndexPath(const std::string& location) { return index::RedactConninfo(IndexLocation(location)); }

std::string LibraryIdentity(const std::string& endpoint, const std::string& access_key_id) {
  return endpoint + " " + access_key_id;
}

std::string IndexLocation(const std::string& path) {
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    const size_t at = path.find(scheme);
    if (at != std::string::npos && (at == 0 || path[at - 1] == '/')) return path.substr(at);
  }
  return path;
}

Result<std::unique_ptr<index::IndexStore>> OpenIndex(const std::string& given) {
  const std::string path = IndexLocation(given);
  if (index::IsPostgresLocation(path)) {
    // A shared index: never moved aside nor recreated by one mount; a
    // damaged database is its administrator's to repair.
    VODFS_ASSIGN_OR_RETURN(auto db, index::OpenPostgres({.conninfo = path}));
    return index::IndexStore::Open(std::move(db));
  }
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    Status s = MakePrivateDirs(path.substr(0, slash));
    if (!s.ok()) return Error(s.code(), "Cannot make the index directory: " + s.error().message);
  }
  auto store = TryOpen(path);
  if (store.ok() || store.code() != ErrorCode::kDataLoss) return store;
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  const std::string aside = path + ".damaged-" + stamp;
  VODFS_LOG(kWarn) << "The index " << path << " is damaged (" << store.error().message << "); it is kept as " << aside
                   << " and a new one is listed from the library";
  if (std::rename(path.c_str(), aside.c_str()) != 0) {
    return Error(ErrorCode::kDataLoss, "the index " + path + " is damaged and cannot be moved aside: " +
                                           std::strerror(errno));
  }
  for (const char* suffix : {"-wal", "-shm"}) std::remove((path + suffix).c_str());
  return TryOpen(path);
}

}  // namespace vodfs::cli
