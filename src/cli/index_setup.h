// Opening the library index from options: where it is, making its
// directory, and what to do with one that cannot be used.
#pragma once

#include <memory>
#include <string>

#include "cli/options.h"
#include "vodfs/index/store.h"

namespace vodfs::cli {

// The index location: the `index` option (an SQLite file, or a PostgreSQL
// connection URI "postgresql://..." for an index a fleet shares), else
// <cache_dir>/index.db.
std::string IndexPath(const Options& o);
// The location as it may be shown: a connection URI without its password.
std::string ShownIndexPath(const std::string& location);
// The connection URI in a location that names one, also where a caller
// made it absolute as it would a file path ("/home/u/postgresql://db1/vod"
// is "postgresql://db1/vod"); any other location unchanged.
std::string IndexLocation(const std::string& path);

// Opens (creating) the index. On PostgreSQL the database must exist (the
// index makes its tables in it). A damaged file is moved aside as
// "<path>.damaged-<time>" (with a warning) and a new index made in its
// place: the index is a cache of the library, rebuilt by a sync. An index
// of a newer schema is refused (it belongs to a newer vodfs).
Result<std::unique_ptr<index::IndexStore>> OpenIndex(const std::string& path);

// mkdir -p: what it creates gets mode 0700 (the cache directory holds the
// index and the cached media). An existing non-directory is an error.
Status MakePrivateDirs(const std::string& dir);

// The library an index belongs to: the endpoint and the AccessKey ID (never
// a secret).
std::string LibraryIdentity(const std::string& endpoint, const std::string& access_key_id);

}  // namespace vodfs::cli
