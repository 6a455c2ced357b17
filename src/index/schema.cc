// The index schema, as migrations from an empty database. Each entry takes
// the schema from version - 1 to version; a released migration is never
// edited, only followed by new ones.
//
// The two engines get the same tables. Where their DDL differs: names
// compare byte-wise in both (SQLite's default BINARY collation, "C" in
// PostgreSQL, whose default collation would follow the locale), and the
// change log's sequence is AUTOINCREMENT in SQLite, BIGSERIAL in PostgreSQL.
#include "index/schema.h"

#include "vodfs/index/store.h"

namespace vodfs::index {

namespace {

std::string Collate(bool postgres) { return postgres ? " COLLATE \"C\"" : ""; }

std::string Version1(bool postgres) {
  const std::string seq = postgres ? "seq BIGSERIAL PRIMARY KEY" : "seq INTEGER PRIMARY KEY AUTOINCREMENT";
  return "CREATE TABLE media (" + MediaColumns(postgres) + ");" + MediaIndexes() + MediaNextTable(postgres) +
         "CREATE TABLE categories (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, name TEXT NOT NULL,"
         " level BIGINT NOT NULL);"
         "CREATE TABLE details (key TEXT PRIMARY KEY, media_id TEXT NOT NULL, modification_time BIGINT NOT NULL,"
         " fetched_at BIGINT NOT NULL, body TEXT NOT NULL);"
         "CREATE INDEX details_media ON details (media_id);"
         "CREATE TABLE objects (ref TEXT PRIMARY KEY, media_id TEXT NOT NULL, size BIGINT NOT NULL,"
         " etag TEXT NOT NULL, last_modified TEXT NOT NULL, seen_at BIGINT NOT NULL);"
         "CREATE INDEX objects_media ON objects (media_id);"
         "CREATE TABLE changes (" + seq + ", at BIGINT NOT NULL, op INTEGER NOT NULL, kind INTEGER NOT NULL,"
         " id TEXT NOT NULL, old_name TEXT" + Collate(postgres) + " NOT NULL, new_name TEXT" + Collate(postgres) +
         " NOT NULL, ino BIGINT NOT NULL, old_cate BIGINT NOT NULL, new_cate BIGINT NOT NULL);";
}

}  // namespace

// Constraints are indexes rather than column constraints: the staging table
// carries none while it fills (appending is what makes a listing of
// 2,000,000 fast), and gets them, sorted in bulk, when it becomes `media`.
std::string MediaColumns(bool postgres) {
  return "id TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT" + Collate(postgres) +
         " NOT NULL, ino BIGINT NOT NULL,"
         " title TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL,"
         " cate_id BIGINT NOT NULL, cate_name TEXT NOT NULL, duration DOUBLE PRECISION NOT NULL,"
         " size BIGINT NOT NULL, status TEXT NOT NULL, storage_class TEXT NOT NULL,"
         " creation_time BIGINT NOT NULL, modification_time BIGINT NOT NULL,"
         " width BIGINT NOT NULL, height BIGINT NOT NULL, image_type TEXT NOT NULL, file_name TEXT NOT NULL";
}

std::string MediaIndexes() {
  return "CREATE UNIQUE INDEX media_id ON media (id);"
         "CREATE UNIQUE INDEX media_name ON media (kind, name);"
         "CREATE UNIQUE INDEX media_ino ON media (ino);"
         "CREATE INDEX media_created ON media (kind, creation_time);"
         "CREATE INDEX media_category ON media (cate_id, name);";
}

std::string MediaNextTable(bool postgres) { return "CREATE TABLE media_next (" + MediaColumns(postgres) + ");"; }

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, Version1(false), Version1(true)},
  };
  return kMigrations;
}

}  // namespace vodfs::index
