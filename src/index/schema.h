// The parts of the index schema that a full sync's apply rebuilds: the
// staging table becomes `media`, and gets the indexes `media` has.
// Private to the index module.
#pragma once

#include <string>

namespace vodfs::index {

// The columns of a media record (`media` and `media_next`).
std::string MediaColumns(bool postgres);
// The indexes of `media` (unique id, name per kind, inode prefix; creation
// time per kind; category and name).
std::string MediaIndexes();
// An empty staging table.
std::string MediaNextTable(bool postgres);

}  // namespace vodfs::index
